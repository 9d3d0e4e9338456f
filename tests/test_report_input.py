"""Bad input to the report form: a field error or stored and shown escaped, never a 500.

Every refusal is checked three ways: the page is the form again (200) with the error on the
named field, what the leader typed is still in it, and no case was created.
"""

import re
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from conftest import post_report, report_form, submission_token
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select
from wtforms.fields.core import UnboundField

from incidents.cases.models import SEALED_FIELDS, Case
from incidents.forms import without_hidden_characters
from incidents.reporting.forms import NAME_MAX, TEXT_MAX, ReportForm
from incidents.timeutil import ward_today
from incidents.vocab import (
    AGE_BANDS,
    CHANNELS,
    CHILD_CAREGIVERS,
    CONSENTS,
    HARM_FORMS,
    KINDS,
    LEADER_SOURCES,
    RELATIONSHIPS,
    SEXES,
    TRAFFICKING_INDICATORS,
    VICTIM_CIRCUMSTANCES,
    codes,
)

# The free-text fields and the most characters each accepts.
TEXT_LIMITS = {
    "narrative": TEXT_MAX,
    "witnesses": TEXT_MAX,
    "reporter_contact": NAME_MAX,
    "victim_name": NAME_MAX,
    "victim_address": NAME_MAX,
    "victim_phone": 40,
    "perpetrator_name": NAME_MAX,
    "perpetrator_details": TEXT_MAX,
}

# Something typed in every field, so a re-shown form can be checked for what it lost.
TYPED = {
    "harm_forms": ["physical", "psychological"],
    "signs_of_crime": "y",
    "narrative": 'Chồng đánh vợ ở nhà, "nhiều lần" & hàng xóm nghe thấy.\nLần cuối: tối qua.',
    "channel": "phone",
    "source": "other",
    "witnesses": "Bà Tư, số nhà 12",
    "reporter_contact": "0912 345 678",
    "victim_name": "Nguyễn Thị Lan",
    "victim_birth_year": "1985",
    "victim_sex": "female",
    "victim_age_band": "26_40",
    "victim_circumstances": ["pregnant"],
    "victim_address": "Số 5, ngõ 3, Tổ dân phố số 1",
    "victim_phone": "0987 654 321",
    "perpetrator_name": "Trần Văn Bình",
    "perpetrator_relationship": "husband",
    "perpetrator_sex": "male",
    "perpetrator_age_band": "26_40",
    "perpetrator_details": "Có dao trong nhà; uống rượu.",
    "consent": "not_asked",
}


class ShownForm(HTMLParser):
    """The values a rendered page's form fields hold, and the fields marked with an error."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = defaultdict(list)
        self.errors: set[str] = set()
        self._textarea = None
        self._select = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.values[name].append(attributes.get("value") or "")
            elif kind not in ("submit", "button") and name not in ReportForm.NOT_ANSWERS:
                # hidden: a leader's only group is shown as text and sent as a hidden field
                self.values[name].append(attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name].append("")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.values[self._select].append(attributes.get("value") or "")
        elif tag == "p" and "error" in (attributes.get("class") or "").split():
            identifier = attributes.get("id") or ""
            if identifier.endswith("-error"):
                self.errors.add(identifier.removesuffix("-error"))

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            text = self.values[self._textarea][-1]
            # A textarea's first newline is markup, not content (HTML parsing rules).
            self.values[self._textarea][-1] = text.removeprefix("\r\n").removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data


def _case_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Case))


@pytest.fixture()
def leader(db, ward, make_user, login_as):
    """A group leader of the ward's first group, signed in on the shared client."""
    user = make_user("reporter", groups=[ward.groups[0]])
    login_as(user)
    return user


@pytest.fixture()
def other_group(ward, leader):
    """A group of the same ward that the leader does not lead."""
    led = {group.id for group in leader.groups}
    return next(group for group in ward.groups if group.id not in led)


def _with(leader, changes: dict) -> dict:
    """The conftest's valid report for the leader's group, with changes (group_id too)."""
    form = report_form(leader.groups[0].id)
    form.update(changes)
    return form


def _typed_form(leader, **changes) -> dict:
    return _with(leader, {**TYPED, **changes})


def _assert_refused(db, client, form, field, *, keep_all=False):
    """Posting form re-shows it (200) with an error on field, keeps what was typed, files
    nothing."""
    before = _case_count(db)
    response = post_report(client, form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (field, response.status_code, page[-1500:])
    shown = ShownForm(page)
    assert field in shown.errors, (field, shown.errors)
    assert _case_count(db) == before
    for name, value in form.items():
        if name == field and not keep_all:
            continue  # a value that was not offered cannot be re-selected
        posted = sorted(value) if isinstance(value, list) else [value]
        assert sorted(shown.values.get(name, [])) == posted or (
            posted == [""] and not shown.values.get(name)
        ), (name, posted, shown.values.get(name))
    return shown


# Over-long free text: the field's error, nothing typed lost, no case.


@pytest.mark.parametrize("field", sorted(TEXT_LIMITS))
def test_over_long_text_gets_its_field_error_and_keeps_what_was_typed(db, client, leader, field):
    limit = TEXT_LIMITS[field]
    form = _typed_form(leader, **{field: "ễ" * (limit + 1)})
    shown = _assert_refused(db, client, form, field, keep_all=True)
    assert shown.errors == {field}


@pytest.mark.parametrize("field", sorted(TEXT_LIMITS))
def test_text_of_exactly_the_maximum_length_is_filed(db, client, leader, field):
    limit = TEXT_LIMITS[field]
    response = post_report(client, _typed_form(leader, **{field: "ễ" * limit}))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert _case_count(db) == 1


@pytest.mark.parametrize(
    "value",
    ["19850", "abcd", "19x5", "1899", str(ward_today().year + 1), "²⁰²⁰", "①⑨⑨⓪", "-1990"],
)
def test_a_bad_birth_year_gets_its_field_error(db, client, leader, value):
    # Superscript and circled digits pass str.isdigit() but not int(): still a field error.
    form = _typed_form(leader, victim_birth_year=value)
    _assert_refused(db, client, form, "victim_birth_year", keep_all=True)


# Choices that the form does not offer.

NOT_OFFERED = [
    ("kinds", ["not_a_kind"]),
    ("kinds", ["domestic_violence", "not_a_kind"]),
    ("kinds", []),
    ("victim_sex", "alien"),
    ("victim_sex", ""),
    ("perpetrator_relationship", "lover"),
    ("perpetrator_relationship", ""),
    ("group_id", "not-a-number"),
    ("group_id", "999999999"),
    ("group_id", ""),
    ("harm_forms", ["spiritual"]),
    ("channel", "pigeon"),
    ("source", "rumour"),
    ("source", "neighbour"),  # a leader says how he knows: saw it, was told by her, by others
    ("immediate_danger", "maybe"),
    ("victim_age_band", "ancient"),
    ("perpetrator_age_band", "0_200"),
    ("consent", "perhaps"),
    ("consent", ""),
    ("child_caregiver", "uncle"),
]


@pytest.mark.parametrize(("field", "value"), NOT_OFFERED)
def test_a_choice_not_offered_gets_a_field_error(db, client, leader, field, value):
    _assert_refused(db, client, _typed_form(leader, **{field: value}), field)


def test_a_group_the_leader_does_not_lead_is_refused(db, client, leader, other_group):
    form = _typed_form(leader, group_id=str(other_group.id))
    _assert_refused(db, client, form, "group_id")
    assert db.session.scalars(select(Case).where(Case.group_id == other_group.id)).all() == []


# Dates.


@pytest.mark.parametrize("days_ahead", [1, 365 * 20])
def test_a_future_incident_date_gets_a_field_error(db, client, leader, days_ahead):
    future = (ward_today() + timedelta(days=days_ahead)).isoformat()
    _assert_refused(db, client, _typed_form(leader, incident_date=future), "incident_date")


@pytest.mark.parametrize(
    "value",
    ["2024-02-30", "2023-13-01", "31/13/2023", "30/02/2024", "hôm qua", "", "2023-12", "0-0-0"],
)
def test_a_malformed_incident_date_gets_a_field_error(db, client, leader, value):
    form = _typed_form(leader, incident_date=value)
    _assert_refused(db, client, form, "incident_date", keep_all=True)


def test_today_on_the_ward_clock_is_accepted(db, client, leader):
    form = _typed_form(leader, incident_date=ward_today().isoformat())
    assert post_report(client, form).status_code == 302
    assert _case_count(db) == 1


# Abuse of a child is of a child (under 16).


@pytest.mark.parametrize("band", ["16_17", "26_40", "60_plus", "unknown"])
def test_abuse_of_a_child_who_is_not_under_16_gets_the_age_error(db, client, leader, band):
    form = _typed_form(leader, kinds=["child_abuse"], victim_age_band=band)
    shown = _assert_refused(db, client, form, "victim_age_band", keep_all=True)
    assert shown.errors == {"victim_age_band"}


# Bytes that are not UTF-8.

BAD_BYTES = ["%FF%FE", "%C3%28", "%ED%A0%80", "abc%80def", "%F4%90%80%80"]


@pytest.mark.parametrize("raw", BAD_BYTES)
@pytest.mark.parametrize("field", ["victim_name", "narrative", "victim_phone"])
def test_invalid_utf8_in_a_text_field_is_stored_or_refused_never_a_500(
    db, client, leader, field, raw
):
    body = urlencode(
        {**_typed_form(leader, **{field: "MARKER"}), "submission_token": submission_token(client)},
        doseq=True,
    )
    assert body.count("MARKER") == 1
    before = _case_count(db)
    response = client.post(
        "/report/new",
        data=body.replace("MARKER", raw).encode("ascii"),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert field in ShownForm(response.get_data(as_text=True)).errors
        assert _case_count(db) == before
    else:
        assert _case_count(db) == before + 1
        case_id = response.headers["Location"].rsplit("/", 1)[-1]
        assert client.get(f"/reports/{case_id}").status_code == 200


def test_invalid_utf8_in_a_choice_field_is_refused(db, client, leader):
    body = urlencode(
        {**_typed_form(leader, victim_sex="MARKER"), "submission_token": submission_token(client)},
        doseq=True,
    )
    response = client.post(
        "/report/new",
        data=body.replace("MARKER", "%FF%FE").encode("ascii"),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "victim_sex" in ShownForm(response.get_data(as_text=True)).errors
    assert _case_count(db) == 0


# HTML and script: stored as typed, shown escaped.

PAYLOADS = {
    "victim_name": "<script>alert(1)</script>",
    "narrative": '"><img src=x onerror=alert(1)>',
    "witnesses": "</textarea><script>alert(2)</script>",
    "perpetrator_details": "' onmouseover='alert(3)' x='",
    "victim_address": "<svg/onload=alert(4)>",
}
NOTE_PAYLOAD = "<iframe src=javascript:alert(5)></iframe>"


def _assert_escaped(page: str, payloads):
    for payload in payloads:
        assert payload not in page, payload
        assert str(escape(payload)) in page, payload


def test_html_in_text_fields_is_stored_as_typed_and_shown_escaped(
    db, client, leader, make_user, login_as
):
    police, officer = make_user("police"), make_user("officer")
    response = post_report(client, _typed_form(leader, immediate_danger="yes", **PAYLOADS))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    case_id = response.headers["Location"].rsplit("/", 1)[-1]
    _assert_escaped(client.get(f"/reports/{case_id}").get_data(as_text=True), PAYLOADS.values())

    login_as(police)
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    _assert_escaped(page.get_data(as_text=True), PAYLOADS.values())
    assert client.post(f"/cases/{case_id}/notes", data={"text": NOTE_PAYLOAD}).status_code == 302

    login_as(officer)
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    _assert_escaped(page.get_data(as_text=True), [*PAYLOADS.values(), NOTE_PAYLOAD])


def test_html_in_a_refused_form_is_shown_escaped(db, client, leader):
    future = (ward_today() + timedelta(days=3)).isoformat()
    form = _typed_form(leader, incident_date=future, **PAYLOADS)
    response = post_report(client, form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_escaped(page, PAYLOADS.values())
    shown = ShownForm(page)
    for name, payload in PAYLOADS.items():
        assert shown.values[name] == [payload]


# Random input: the answer is a filed case (302) or the form with errors (200), never a 500.

_any_char = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from("\x00\x01\x08\x0b\x0c\x1b\x7f\x85\u2028\u202e\ufeff\r\n\t <>&\"'%+"),
)
_junk = st.text(alphabet=_any_char, max_size=12)
_text = st.text(alphabet=_any_char, max_size=260)


def _one_of_codes(choices):
    return st.one_of(st.sampled_from(codes(choices)), _junk)


def _some_codes(choices):
    return st.lists(_one_of_codes(choices), max_size=4)


_YES_NO = st.one_of(st.sampled_from(["yes", "no"]), _junk)
FIELD_VALUES = {
    "group_id": st.one_of(st.sampled_from(["OWN", "OTHER"]), _junk, st.integers().map(str)),
    "kinds": _some_codes(KINDS),
    "immediate_danger": _YES_NO,
    "incident_date": st.one_of(st.dates().map(lambda day: day.isoformat()), _junk),
    "harm_forms": _some_codes(HARM_FORMS),
    "signs_of_crime": st.one_of(st.sampled_from(["y", ""]), _junk),
    "channel": _one_of_codes(CHANNELS),
    "source": _one_of_codes(LEADER_SOURCES),
    "victim_birth_year": st.one_of(st.integers(1800, 2200).map(str), _junk),
    "victim_sex": _one_of_codes(SEXES),
    "victim_age_band": _one_of_codes(AGE_BANDS),
    "victim_circumstances": _some_codes(VICTIM_CIRCUMSTANCES),
    "perpetrator_relationship": _one_of_codes(RELATIONSHIPS),
    "perpetrator_sex": _one_of_codes(SEXES),
    "perpetrator_age_band": _one_of_codes(AGE_BANDS),
    "perpetrator_birth_year": st.one_of(st.integers(1800, 2200).map(str), _junk),
    "consent": _one_of_codes(CONSENTS),
    "trafficking_indicators": _some_codes(TRAFFICKING_INDICATORS),
    "child_serious_risk": st.one_of(st.sampled_from(["", "yes", "no", "unknown"]), _junk),
    "child_caregiver": st.one_of(st.sampled_from(["", *codes(CHILD_CAREGIVERS)]), _junk),
    **{name: _text for name in TEXT_LIMITS},
}
FORM_FIELDS = {
    name for name, value in vars(ReportForm).items() if isinstance(value, UnboundField)
} - ReportForm.NOT_ANSWERS
assert set(FIELD_VALUES) == FORM_FIELDS, "every field of the form gets random values"

_names = sorted(FIELD_VALUES)
# Mostly a valid report with a few fields changed (so some are filed), sometimes all random.
_changes = st.one_of(
    st.lists(st.sampled_from(_names), unique=True, max_size=4).flatmap(
        lambda names: st.fixed_dictionaries({name: FIELD_VALUES[name] for name in names})
    ),
    st.fixed_dictionaries({}, optional=FIELD_VALUES),
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=_changes, missing=st.sets(st.sampled_from(_names), max_size=3))
def test_random_input_is_filed_or_refused_never_a_500(
    db, client, leader, other_group, changes, missing
):
    groups = {"OWN": str(leader.groups[0].id), "OTHER": str(other_group.id)}
    if "group_id" in changes:
        changes["group_id"] = groups.get(changes["group_id"], changes["group_id"])
    form = {name: value for name, value in _with(leader, changes).items() if name not in missing}
    before = _case_count(db)
    response = post_report(client, form)
    assert response.status_code in (200, 302), (response.status_code, form)
    event(f"answer {response.status_code}")
    if response.status_code == 200:
        assert ShownForm(response.get_data(as_text=True)).errors, form
        assert _case_count(db) == before, form
        return
    assert _case_count(db) == before + 1, form
    case_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"].endswith(f"/report/filed/{case_id}")
    case = db.session.get(Case, case_id)
    assert case is not None and case.group_id == leader.groups[0].id
    own = client.get(f"/reports/{case_id}")
    assert own.status_code == 200, form
    page = own.get_data(as_text=True)
    for name in SEALED_FIELDS:
        # Kept as typed, but for the characters that would disguise it on the page.
        typed = without_hidden_characters(form.get(name) or "").strip()
        if typed:
            assert str(escape(typed)) in page, (name, typed)


def test_a_skipped_age_is_refused_not_filed_with_its_first_answer(db, client, leader):
    page = client.get("/report/new").get_data(as_text=True)
    # the select starts on the empty choice, so a skipped question is noticed
    assert re.search(r"<select[^>]*name=\"victim_age_band\"[^>]*><option value=\"\">", page)
    response = post_report(client, report_form(leader.groups[0].id, victim_age_band=""))
    assert response.status_code == 200
    assert 'id="victim_age_band-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("field", ["perpetrator_relationship", "perpetrator_age_band"])
def test_what_a_leader_may_not_know_of_the_perpetrator_starts_on_unknown(db, client, leader, field):
    """Folded away among the details: left alone, it says "unknown", which is true."""
    page = client.get("/report/new").get_data(as_text=True)
    assert re.search(
        rf'<select[^>]*name="{field}"[^>]*>(<option value="[^"]*">[^<]*</option>)*'
        r'<option selected value="unknown">',
        page,
    )
    form = {k: v for k, v in report_form(leader.groups[0].id).items() if k != field}
    response = post_report(client, form)
    assert response.status_code == 302
    assert getattr(db.session.scalars(select(Case)).one(), field) == "unknown"
