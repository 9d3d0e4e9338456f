"""The statutory report (issue 14): exact counts of verified cases, per regime, persons
counted once; checked cell by cell against counts made here, by hand, from the mix filed."""

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import PASSWORD, report_data

from incidents import access
from incidents.accounts.service import unlock_personal_key
from incidents.cases import actions, service, verification
from incidents.cases.keys import MemberKeyring
from incidents.stats import exports, statutory
from incidents.timeutil import ward_today
from incidents.vocab import (
    CHILD_ABUSE_ENVIRONMENTS,
    CHILD_ABUSE_FORMS,
    OFFICIAL_AGE_GROUPS,
    PROTECTION_MEASURES,
    SEXES,
    SUPPORT_SERVICES,
    TRAFFICKING_PURPOSES,
    codes,
)

# The mix: what each case is reported as (changes to report_data) and verified as (changes
# to its facts), who verifies it, and what is recorded after.
MIX = {
    "dv1": dict(
        report=dict(victim_age_band="unknown", consent="refused", harm_forms=["physical"]),
        facts=dict(harm_forms=["physical", "psychological"], acts=["a", "b"],
                   perpetrator_age_band="41_59", gbv_type="physical_assault"),
        measures=["community_criticism", "contact_ban"], services=["health_care"],
        outcome=(True, False),
    ),
    # The same victim and the same man, later: one person each; her age is known now.
    "dv2": dict(
        report=dict(victim_age_band="26_40"),
        facts=dict(acts=["c"], perpetrator_age_band="41_59", gbv_type="psychological_abuse"),
        outcome=(False, False),
    ),
    "dv3": dict(
        report=dict(victim_age_band="60_plus", perpetrator_relationship="son",
                    harm_forms=["physical"]),
        facts=dict(acts=["a"], gbv_type="physical_assault"),
        measures=["behaviour_change", "shelter"], outcome=(False, True),
    ),
    "child": dict(
        report=dict(kinds=["child_abuse"], victim_sex="male", victim_age_band="under_12",
                    perpetrator_relationship="father", harm_forms=["physical"],
                    child_serious_risk=False),
        facts=dict(child_abuse_forms=["violence"], child_abuse_environments=["family"],
                   gbv_type="non_gbv"),
    ),
    "both": dict(
        report=dict(kinds=["domestic_violence", "child_abuse"], victim_age_band="14_15",
                    perpetrator_relationship="stepfather", harm_forms=["sexual"],
                    child_serious_risk=True),
        facts=dict(acts=["g"], child_abuse_forms=["sexual_abuse"],
                   child_abuse_environments=["family"], perpetrator_age_band="41_59",
                   gbv_type="rape"),
        services=["psychological_support"],
    ),
    "traffic1": dict(
        report=dict(kinds=["trafficking"], victim_age_band="18_25",
                    perpetrator_relationship="stranger", trafficking_indicators=["false_promise"]),
        facts=dict(trafficking_status="confirmed_victim", trafficking_whereabouts="returned",
                   trafficking_purposes=["sexual_exploitation"], gbv_type="sexual_assault"),
        verifier="police", services=["legal_aid"],
    ),
    "traffic2": dict(
        report=dict(kinds=["trafficking"], victim_age_band="16_17",
                    perpetrator_relationship="acquaintance",
                    trafficking_indicators=["false_promise"]),
        facts=dict(trafficking_status="being_identified", trafficking_whereabouts="still_away",
                   trafficking_purposes=["forced_labour"], gbv_type="non_gbv"),
        verifier="police",
    ),
    "gbv": dict(
        report=dict(kinds=["gbv_outside_family"], victim_age_band="16_17",
                    perpetrator_relationship="neighbour", perpetrator_age_band="18_25",
                    harm_forms=["sexual"]),
        facts=dict(gbv_type="sexual_assault"),
        services=["health_care"], outcome=(True, False),
    ),
    "unfounded": dict(report=dict(), facts=dict(), verifier="chairman", found="unfounded"),
    "pending": dict(report=dict(), facts=None),
}  # fmt: skip
SAME_PERSON = ("dv1", "dv2")  # linked: the same victim, and the same person who caused it


def _keyring(user):
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


@pytest.fixture()
def mix(db, make_user):
    """File, verify and follow the mix; returns the officer and the cases by name."""
    leader = make_user("reporter")
    desks = {role: make_user(role) for role in ("police", "officer", "chairman")}
    today = ward_today()
    cases = {}
    for name, spec in MIX.items():
        changes = {"incident_date": today - timedelta(days=3), **spec["report"]}
        case = service.file_report(leader, report_data(leader.groups[0].id, **changes))
        db.session.flush()
        cases[name] = case
        if spec["facts"] is None:
            continue
        member = desks[spec.get("verifier", "officer")]
        keys = _keyring(member)
        facts = replace(verification.Facts.of(case), **spec["facts"])
        found = spec.get("found", "verified")
        why = "Đã xác minh tại nhà" if found == "unfounded" else ""
        verification.verify(member, case, facts, keys, outcome=found, why=why)
        # The chairman applies measures, the officer records services and outcomes.
        chairman, officer = desks["chairman"], desks["officer"]
        for measure in spec.get("measures", ()):
            actions.add_measure(chairman, case, measure, today, _keyring(chairman))
        for service_ in spec.get("services", ()):
            actions.add_service(officer, case, service_, today, _keyring(officer))
        if "outcome" in spec:
            answers = actions.OutcomeAnswers(*spec["outcome"])
            actions.record_outcome(desks["officer"], case, answers, _keyring(desks["officer"]))
    keys = _keyring(desks["officer"])
    for kind in ("same_victim", "same_perpetrator"):
        verification.link(desks["officer"], cases["dv1"], cases["dv2"], kind, keys)
    db.session.commit()
    return desks["officer"], cases


def _report(officer):
    today = ward_today()
    return statutory.compute(officer, today - timedelta(days=30), today)


def _column(report, key) -> dict:
    """A one-column table as {label: count}."""
    return {str(label): cells[0].value for label, cells in report.table(key).rows}


def _by_code(report, key, choices) -> dict:
    """A one-column table as {code: count}, for the rows of these choices (vocab)."""
    label_of = {str(label): code for code, label in choices}
    column = _column(report, key)
    return {label_of[label]: count for label, count in column.items() if label in label_of}


def _matrix(report, key) -> list[list[int]]:
    return [[cell.value for cell in cells] for _label, cells in report.table(key).rows]


def _verified(regime: str) -> list[str]:
    return [
        name
        for name, spec in MIX.items()
        if spec["facts"] is not None
        and spec.get("found", "verified") == "verified"
        and regime in spec["report"].get("kinds", ["domestic_violence"])
    ]


def _fact(name: str, field: str):
    """The case's verified value of a fact, as the mix gives it (report_data's default)."""
    spec = MIX[name]
    defaults = report_data(1)
    return spec["facts"].get(field, spec["report"].get(field, getattr(defaults, field, None)))


def _persons(names: list[str]) -> list[str]:
    """One name per person: of the linked ones, the latest (dv2)."""
    return [name for name in names if not (name == SAME_PERSON[0] and SAME_PERSON[1] in names)]


def _sex_age_by_hand(names, sex_field, band_field, groups=OFFICIAL_AGE_GROUPS):
    return [
        [
            sum(
                1
                for name in names
                if _fact(name, sex_field) == sex and _fact(name, band_field) in bands
            )
            for _code, _label, bands in groups
        ]
        for sex in codes(SEXES)
    ]


def test_the_summary_counts_reports_and_verified_cases_exactly(db, mix):
    officer, _cases = mix
    report = _report(officer)
    summary = [cells[0].value for _label, cells in report.table("summary").rows]
    assert summary == [
        len(MIX),  # reports received, the one without consent included
        1,  # found unfounded
        1,  # not verified yet
        len(MIX) - 2,  # verified cases
        len(_verified("domestic_violence")),
        len(_verified("child_abuse")),
        len(_verified("trafficking")),
        len(_verified("gbv_outside_family")),
    ]
    assert summary[4:] == [4, 2, 2, 1]  # the hand count, written out
    assert report.received == len(MIX)
    for table in report.tables:  # nothing is hidden in a statutory report
        cells = [cell for _label, row in table.rows for cell in row]
        assert not any(cell.hidden for cell in cells + table.column_totals + table.row_totals)


def test_domestic_violence_tables_count_persons_and_cases_exactly(db, mix):
    officer, _cases = mix
    report = _report(officer)
    cases = _verified("domestic_violence")
    persons = _persons(cases)
    assert _matrix(report, "dv_victims") == _sex_age_by_hand(
        persons, "victim_sex", "victim_age_band"
    )
    # dv1's victim was of unknown age; as the same victim as dv2, she counts once, 26-40:
    # the girl of "both" under 16, that woman 16-59, dv3's mother 60 and over; no man.
    assert _matrix(report, "dv_victims") == [[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert report.table("dv_victims").total.value == 3
    assert _matrix(report, "dv_perpetrators") == _sex_age_by_hand(
        persons, "perpetrator_sex", "perpetrator_age_band"
    )
    harm = _column(report, "dv_harm_forms")
    for code, label in (("physical", "Thể chất"), ("psychological", "Tinh thần"),
                        ("sexual", "Tình dục"), ("economic", "Kinh tế")):  # fmt: skip
        expected = sum(1 for name in cases if code in _fact(name, "harm_forms"))
        assert harm[label] == expected, code
    acts = {label[:2]: count for label, count in _column(report, "dv_acts").items()}
    for letter in "abcg":
        assert acts[f"{letter}."] == sum(1 for n in cases if letter in _fact(n, "acts"))
    assert sum(acts.values()) == 5
    relationship = report.table("dv_relationship")
    assert relationship.column_totals[0].value == len(cases)
    measures = _by_code(report, "dv_perpetrator_measures", PROTECTION_MEASURES)
    assert measures["community_criticism"] == measures["contact_ban"] == 1  # dv1
    assert measures["behaviour_change"] == 1  # dv3
    assert measures["summons"] == measures["administrative"] == 0
    outcomes = [cells[0].value for _label, cells in report.table("dv_perpetrator_outcomes").rows]
    # Counselled: dv1 (the gbv case's man is not of this block); prosecuted: dv3.
    assert outcomes == [1, 1]
    assert "shelter" not in measures  # the victim's: the next table
    support = _by_code(report, "dv_victim_support", PROTECTION_MEASURES + SUPPORT_SERVICES)
    assert support["shelter"] == 1  # dv3
    assert support["medical_care"] == 0
    assert support["health_care"] == 1  # dv1
    assert support["psychological_support"] == 1  # the girl of "both", of this block too


def test_child_trafficking_and_outside_the_family_blocks(db, mix):
    officer, _cases = mix
    report = _report(officer)
    from incidents.stats.statutory import CHILD_AGE_GROUPS

    children = _verified("child_abuse")
    assert _matrix(report, "child_victims") == _sex_age_by_hand(
        children, "victim_sex", "victim_age_band", CHILD_AGE_GROUPS
    )
    assert report.table("child_victims").total.value == 2
    forms = _by_code(report, "child_forms", CHILD_ABUSE_FORMS)
    assert (forms["violence"], forms["sexual_abuse"], forms["abandonment"]) == (1, 1, 0)
    assert _by_code(report, "child_environments", CHILD_ABUSE_ENVIRONMENTS)["family"] == 2
    status = _column(report, "trafficking_status")
    assert list(status.values()) == [1, 1, 0]
    assert list(_column(report, "trafficking_whereabouts").values()) == [1, 1, 0]
    assert report.table("trafficking_status").column_totals[0].value == 2
    assert _by_code(report, "trafficking_support", SUPPORT_SERVICES)["legal_aid"] == 1
    assert _matrix(report, "gbv_victims") == _sex_age_by_hand(
        _verified("gbv_outside_family"), "victim_sex", "victim_age_band"
    )
    types = _column(report, "gbv_type")
    assert sum(types.values()) == len(MIX) - 2  # every verified case once
    assert report.table("gbv_type").column_totals[0].value == len(MIX) - 2


def test_the_indicators_count_persons(db, mix):
    officer, _cases = mix
    report = _report(officer)
    shares = {i.key: (i.numerator.value, i.denominator.value) for i in report.indicators}
    # Victims of DV or GBV: dv1+dv2 (one woman, served), dv3, both (served), gbv (served).
    violence = _persons(_verified("domestic_violence") + _verified("gbv_outside_family"))
    violence = sorted(set(violence))
    served = {"dv2", "both", "gbv"}  # dv2 stands for dv1's woman, who was served
    assert shares["victims_supported"] == (len(served), len(violence)) == (3, 4)
    # Men not prosecuted with an outcome recorded: dv1/dv2 (one man, counselled), gbv's.
    assert shares["perpetrators_counselled"] == (2, 2)
    # Confirmed, returned trafficking victims: traffic1, served.
    assert shares["trafficking_supported"] == (1, 1)


def test_the_statutory_report_is_exact_where_the_dashboard_would_hide(db, mix):
    """No threshold: a count of 1 is 1 (DOMAIN.md section 4)."""
    officer, _cases = mix
    report = _report(officer)
    purposes = _by_code(report, "trafficking_purposes", TRAFFICKING_PURPOSES)
    assert purposes["sexual_exploitation"] == purposes["forced_labour"] == 1
    assert any(cell.value == 1 for _l, cells in report.table("summary").rows for cell in cells)


def test_an_indicator_lists_the_cases_that_make_it_up_as_far_as_the_reader_reads(
    db, client, mix, make_user, login_as
):
    officer, cases = mix
    first, last = ward_today() - timedelta(days=30), ward_today()
    found = statutory.indicator_cases(officer, "victims_supported", first, last)
    # Cases of DV or violence outside the family, verified: dv1, dv2, dv3, both, gbv; the
    # women of dv1 and dv2 are one person. Served: dv1 (health care), both, gbv.
    names = ("dv1", "dv2", "dv3", "both", "gbv")
    readable = [n for n in names if access.can(officer, "case.read", cases[n])]
    assert {item.reference for item in found.cases} == {cases[n].reference for n in readable}
    assert found.unreadable == len(names) - len(readable)
    met = {item.reference: item.met for item in found.cases}
    for name in readable:
        assert met[cases[name].reference] == (name in {"dv1", "both", "gbv"}), name
    assert (found.indicator.numerator.value, found.indicator.denominator.value) == (3, 4)

    login_as(officer)
    query = f"first={first.isoformat()}&last={last.isoformat()}"
    page = client.get(f"/stats/indicator/victims_supported?{query}").get_data(as_text=True)
    for name in readable:
        assert f">{cases[name].reference}</a>" in page
    assert cases["traffic1"].reference not in page and cases["unfounded"].reference not in page
    assert client.get(f"/stats/indicator/nonsense?{query}").status_code == 404
    dashboard = client.get(f"/stats/?{query}").get_data(as_text=True)
    assert f'href="/stats/indicator/victims_supported?first={first.isoformat()}' in dashboard
    login_as(make_user("police"))
    assert client.get(f"/stats/indicator/victims_supported?{query}").status_code == 404


def test_the_publication_of_the_same_mix_is_gated_and_suppressed(db, mix):
    """Published or shared, the same cases count only with the victim's consent, and no
    count from 1 to 9 shows (DOMAIN.md section 4): the statutory report's 8 verified
    cases are 7 there (dv1's victim refused), written "<10"."""
    officer, _cases = mix
    first, last = ward_today() - timedelta(days=30), ward_today()
    published = exports.statistics_for_export(officer, first, last, 10)
    assert (published.rule, published.total.value) == ("consent", len(MIX) - 3)
    assert published.total.hidden and published.total.shown(10) == "<10"
    for table in published.tables:
        for _label, cells in table.rows:
            assert all(cell.hidden or cell.value == 0 or cell.value >= 10 for cell in cells)
    made = exports.export(officer, "csv", first, last, 10).body.decode()
    assert '"<10"' in made and not re.search(r'"[1-9]"', made)
