"""The report path never loses or duplicates a report: one-time forms, drafts, quick exit."""

import re
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from conftest import post_report, report_form, submission_token
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from config import Config
from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.reporting import drafts, submission
from incidents.reporting.models import Draft
from incidents.timeutil import utcnow

NARRATIVE = "Bà Lò Thị Mai kể lại: chồng đánh nhiều lần."


def _cases(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def _page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture()
def leader(make_user):
    return make_user("reporter")


@pytest.fixture()
def signed_in(client, login_as, leader):
    login_as(leader)
    return client


# --- one case per form ------------------------------------------------------------------


def test_a_form_sent_twice_files_one_case_and_shows_the_same_confirmation(db, signed_in, leader):
    form = report_form(leader.groups[0].id, submission_token=submission_token(signed_in))
    first = signed_in.post("/report/new", data=form)
    again = signed_in.post("/report/new", data=form)  # a double tap, or a retry
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert _cases(db) == 1
    shown = _page(signed_in.get(again.headers["Location"]))
    assert "already been sent" in shown or "đã được gửi trước đó" in shown
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.file")) == 1  # fmt: skip


def test_two_forms_file_two_cases(db, signed_in, leader):
    for _ in range(2):
        assert post_report(signed_in, report_form(leader.groups[0].id)).status_code == 302
    assert _cases(db) == 2


def test_a_race_between_two_copies_of_a_form_files_one_case(app, db, leader):
    # What two requests with one token do at once, through the service: the second
    # finds the first one's case (on PostgreSQL through the unique key and a retry).
    from conftest import report_data

    with app.test_request_context():
        key = submission.submission_key(submission.new_token(leader), leader.id)
        first = submission.file_once(leader, report_data(leader.groups[0].id), key, None)
        second = submission.file_once(leader, report_data(leader.groups[0].id), key, None)
    assert first == (first[0], False) and second == (first[0], True)
    assert _cases(db) == 1


@pytest.mark.parametrize(
    "token",
    [None, "", "forged", "x" * 300, "eyJ1IjoxLCJuIjoiYWJjIn0.AAAAAA.forgedsignature"],
)
def test_a_forged_or_missing_token_files_nothing_and_keeps_every_answer(
    db, signed_in, leader, token
):
    form = report_form(leader.groups[0].id, narrative=NARRATIVE)
    if token is not None:
        form["submission_token"] = token
    response = signed_in.post("/report/new", data=form)
    assert response.status_code == 400
    page = _page(response)
    assert "could not be checked" in page or "Không kiểm tra được" in page
    assert NARRATIVE in page and 'value="Nguyễn Thị A"' in page  # nothing typed is lost
    fresh = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', page)
    assert fresh and fresh.group(1) != token
    assert _cases(db) == 0
    # Sent again with the fresh token, the same answers are filed.
    form["submission_token"] = fresh.group(1)
    assert signed_in.post("/report/new", data=form).status_code == 302
    assert _cases(db) == 1


def test_another_leaders_token_is_refused(db, client, login_as, make_user, leader):
    other = make_user("reporter")
    login_as(other)
    stolen = submission_token(client)
    login_as(leader)
    form = report_form(leader.groups[0].id, submission_token=stolen)
    assert client.post("/report/new", data=form).status_code == 400
    assert _cases(db) == 0


def test_an_expired_form_is_refused_with_its_answers_kept(app, db, signed_in, leader):
    form = report_form(
        leader.groups[0].id, narrative=NARRATIVE, submission_token=submission_token(signed_in)
    )
    lifetime = app.config["REPORT_FORM_LIFETIME"]
    app.config["REPORT_FORM_LIFETIME"] = timedelta(seconds=-1)  # every token is too old
    try:
        response = signed_in.post("/report/new", data=form)
    finally:
        app.config["REPORT_FORM_LIFETIME"] = lifetime
    assert response.status_code == 400
    page = _page(response)
    assert "too old" in page or "quá cũ" in page
    assert NARRATIVE in page
    assert _cases(db) == 0


def test_invalid_answers_keep_the_token_so_the_corrected_form_files_once(db, signed_in, leader):
    token = submission_token(signed_in)
    bad = report_form(leader.groups[0].id, victim_sex="", submission_token=token)
    page = _page(signed_in.post("/report/new", data=bad))
    assert f'value="{token}"' in page  # the same form, the same token
    good = report_form(leader.groups[0].id, submission_token=token)
    assert signed_in.post("/report/new", data=good).status_code == 302
    assert signed_in.post("/report/new", data=good).status_code == 302
    assert _cases(db) == 1


# --- drafts -------------------------------------------------------------------------------


def _save_draft(web, leader, **changes):
    form = report_form(leader.groups[0].id, **changes)
    return web.post("/report/new", data={**form, "action": "draft"})


def _draft_id(page: str) -> str:
    return re.search(r'name="draft_id" type="hidden" value="([0-9a-f]{32})"', page).group(1)


def test_a_draft_keeps_what_was_typed_even_if_invalid_and_opens_again(db, signed_in, leader):
    response = _save_draft(
        signed_in, leader, narrative=NARRATIVE, incident_date="2999-01-01", kinds=[]
    )
    assert response.status_code == 200
    page = _page(response)
    assert "Draft saved" in page or "Đã lưu bản nháp" in page
    draft_id = _draft_id(page)
    assert _cases(db) == 0
    listed = _page(signed_in.get("/reports"))
    assert f"/report/new?draft={draft_id}" in listed
    opened = _page(signed_in.get(f"/report/new?draft={draft_id}"))
    assert NARRATIVE in opened and "2999-01-01" in opened
    assert f'value="{draft_id}"' in opened
    # Opening it is in the audit trail, like reading a case (who, which draft).
    opening = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "draft.open")).one()
    assert (opening.actor_id, opening.target) == (leader.id, f"draft:{draft_id}")
    # Saving again replaces the same draft.
    again = _save_draft(signed_in, leader, narrative="Một lần nữa.", draft_id=draft_id)
    assert _draft_id(_page(again)) == draft_id
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 1


def test_sending_the_report_deletes_its_draft(db, signed_in, leader):
    draft_id = _draft_id(_page(_save_draft(signed_in, leader, narrative=NARRATIVE)))
    sent = post_report(signed_in, report_form(leader.groups[0].id, draft_id=draft_id))
    assert sent.status_code == 302
    db.session.expire_all()
    assert db.session.get(Draft, draft_id) is None
    assert f"draft={draft_id}" not in _page(signed_in.get("/reports"))


def test_the_autosave_answers_in_json(db, signed_in, leader):
    form = report_form(leader.groups[0].id, narrative=NARRATIVE)
    answer = signed_in.post("/report/new", data={**form, "action": "autosave"})
    assert answer.status_code == 200 and answer.is_json
    saved = answer.get_json()
    assert saved["saved"] is True and re.fullmatch(r"[0-9a-f]{32}", saved["draft"])
    assert db.session.get(Draft, saved["draft"]) is not None


def test_a_draft_is_sealed_and_only_its_leader_opens_or_deletes_it(
    app, db, client, login_as, make_user, leader
):
    login_as(leader)
    canary = "Đinh Thị CANARY-draft-5b1e"
    draft_id = _draft_id(_page(_save_draft(client, leader, victim_name=canary)))
    db.session.expire_all()
    sealed = bytes(db.session.get(Draft, draft_id).sealed)
    assert canary.encode() not in sealed and b"CANARY" not in sealed
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        database = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                assert b"CANARY-draft" not in path.read_bytes(), path
    other = make_user("reporter")
    login_as(other)
    assert client.get(f"/report/new?draft={draft_id}").status_code == 404
    assert client.post(f"/report/drafts/{draft_id}/delete").status_code == 404
    assert f"draft={draft_id}" not in _page(client.get("/reports"))
    assert db.session.get(Draft, draft_id) is not None
    login_as(leader)
    assert client.post(f"/report/drafts/{draft_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Draft, draft_id) is None


def test_a_draft_expires(app, db, signed_in, leader):
    draft_id = _draft_id(_page(_save_draft(signed_in, leader, narrative=NARRATIVE)))
    lifetime = app.config["DRAFT_LIFETIME"]
    db.session.execute(
        update(Draft)
        .where(Draft.id == draft_id)
        .values(updated_at=utcnow() - lifetime - timedelta(minutes=1))
    )
    db.session.commit()
    assert f"draft={draft_id}" not in _page(signed_in.get("/reports"))
    assert signed_in.get(f"/report/new?draft={draft_id}").status_code == 404
    with app.app_context():
        assert drafts.purge_expired(lifetime) == 1


def test_an_oversized_draft_is_refused_and_the_answers_stay_on_the_page(db, signed_in, leader):
    huge = "ễ" * 8_000  # 24 KB of UTF-8 each, past the 64 KB a draft may hold (and the
    # 4,000 characters a field may: only a client past the browser's maxlength sends it)
    form = report_form(
        leader.groups[0].id, narrative=huge, witnesses=huge, perpetrator_details=huge
    )
    response = signed_in.post("/report/new", data={**form, "action": "draft"})
    assert response.status_code == 422
    page = _page(response)
    assert huge in page
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0


# --- quick exit -----------------------------------------------------------------------------


def test_the_quick_exit_leaves_signs_out_and_clears_the_browser(db, signed_in, leader):
    response = signed_in.post("/exit")
    assert response.status_code == 303
    assert response.headers["Location"] == "/leave"
    assert "cookies" in response.headers["Clear-Site-Data"]
    # A page of this site moves on to the neutral one by itself: a form's redirect to
    # another site is refused by the CSP (form-action 'self'), a refresh is not.
    leave = _page(signed_in.get("/leave"))
    assert f'http-equiv="refresh" content="0; url={escape(Config.QUICK_EXIT_URL)}"' in leave
    assert "<script" not in leave and "form" not in leave
    assert signed_in.get("/reports").headers["Location"].startswith("/login")
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "logout")).all()
    assert entry.detail == "quick exit"


def test_the_quick_exit_is_on_the_leaders_pages_and_the_sign_in_page_only(
    client, login_as, make_user, leader
):
    assert 'id="quick-exit"' in _page(client.get("/login"))
    login_as(leader)
    for url in ("/reports", "/report/new", "/account"):
        assert 'id="quick-exit"' in _page(client.get(url)), url
    login_as(make_user("officer"))
    assert 'id="quick-exit"' not in _page(client.get("/cases/"))


def test_an_anonymous_quick_exit_writes_nothing(db, client):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.post("/exit")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


# --- questions asked only when they apply ------------------------------------------------


def test_a_child_victim_needs_the_risk_answered_and_at_risk_is_most_urgent(db, signed_in, leader):
    child = {"victim_age_band": "12_13", "kinds": ["child_abuse"], "child_caregiver": "parents"}
    unanswered = post_report(signed_in, report_form(leader.groups[0].id, **child))
    assert unanswered.status_code == 200 and _cases(db) == 0
    assert "child_serious_risk-error" in _page(unanswered)
    filed = post_report(
        signed_in, report_form(leader.groups[0].id, child_serious_risk="yes", **child)
    )
    assert filed.status_code == 302
    case = db.session.get(Case, filed.headers["Location"].rsplit("/", 1)[-1])
    assert case.child_serious_risk is True and case.child_caregiver == "parents"
    assert case.urgency == "immediate"
    assert "12" in _page(signed_in.get(filed.headers["Location"]))


def test_answers_that_do_not_apply_are_not_kept(db, signed_in, leader):
    filed = post_report(
        signed_in,
        report_form(
            leader.groups[0].id,
            child_serious_risk="yes",
            child_caregiver="nobody",
            trafficking_indicators=["debt"],
        ),
    )
    case = db.session.get(Case, filed.headers["Location"].rsplit("/", 1)[-1])
    assert case.victim_age_band == "26_40" and case.child_serious_risk is None
    assert case.child_caregiver is None and case.trafficking_indicators == []
    assert case.urgency != "immediate"


def test_signs_of_trafficking_are_kept_for_a_trafficking_report(db, signed_in, leader):
    filed = post_report(
        signed_in,
        report_form(
            leader.groups[0].id,
            kinds=["trafficking"],
            trafficking_indicators=["false_promise", "moved_away"],
        ),
    )
    case = db.session.get(Case, filed.headers["Location"].rsplit("/", 1)[-1])
    assert case.trafficking_indicators == ["false_promise", "moved_away"]
    assert "3" in _page(signed_in.get(filed.headers["Location"]))


def test_the_form_marks_the_questions_that_apply_only_sometimes(signed_in):
    page = _page(signed_in.get("/report/new"))
    assert 'data-when-field="kinds" data-when-values="trafficking"' in page
    # Every band of a child under 16, the earlier coarse ones of a kept draft included.
    assert (
        'data-when-field="victim_age_band" '
        'data-when-values="0_11 12_13 14_15 under_12 under_16"' in page
    )
