"""A report is never lost: sent after the session ended, it is kept as its owner's draft,
sealed to the key his form's token names, and he finds it after signing in again; a form
whose CSRF token fails shows the answers again, never a bare 400 page. CSRF is on here,
as in production."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from conftest import PASSWORD, login_data, report_form
from sqlalchemy import delete, func, select, update

from incidents.accounts.models import SessionRecord, User
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.crypto.keys import new_seed, public_key
from incidents.reporting import drafts, submission
from incidents.reporting.models import Draft
from incidents.timeutil import as_utc, utcnow

NARRATIVE = "Chị Lò Thị Hoa bị chồng chửi mắng, đe dọa suốt đêm qua."
_FIELD = r'name="{name}" type="hidden" value="([^"]*)"'


def _hidden(page: str, name: str) -> str:
    match = re.search(_FIELD.format(name=name), page)
    assert match, f"no {name} on the page"
    return match.group(1)


def _cases(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def _drafts(db, user) -> list[Draft]:
    db.session.expire_all()
    return db.session.scalars(select(Draft).where(Draft.user_id == user.id)).all()


@pytest.fixture()
def web(csrf_app, db):
    """A browser on the app with CSRF on (tests/conftest.py's csrf_app)."""
    return csrf_app.test_client()


@pytest.fixture()
def leader(make_user):
    return make_user("reporter")


def _sign_in(web, user, next_url: str | None = None):
    page = web.get("/login").get_data(as_text=True)
    form = login_data(user, csrf_token=_hidden(page, "csrf_token"))
    query = {"next": next_url} if next_url else {}
    response = web.post("/login", data=form, query_string=query)
    assert response.status_code == 302, "sign-in failed"
    return response


def _open_form(web, leader) -> dict:
    """The report form as the leader's phone holds it: his answers and its hidden tokens."""
    page = web.get("/report/new").get_data(as_text=True)
    return {
        **report_form(leader.groups[0].id, narrative=NARRATIVE),
        "csrf_token": _hidden(page, "csrf_token"),
        "submission_token": _hidden(page, "submission_token"),
        "draft_id": "",
    }


def _session_ends(db, user) -> None:
    """What 15 minutes without a request do: the server forgets the session."""
    db.session.execute(delete(SessionRecord).where(SessionRecord.user_id == user.id))
    db.session.commit()


@pytest.mark.parametrize("action", ["send", "draft"])
def test_a_form_sent_after_the_session_ended_is_kept_and_files_one_case_after_sign_in(
    db, web, leader, action
):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)

    kept = web.post("/report/new", data={**form, "action": action})
    assert kept.status_code == 302
    target = urlsplit(kept.headers["Location"])
    assert target.path == "/login"
    next_url = parse_qs(target.query)["next"][0]
    [draft] = _drafts(db, leader)
    assert next_url == f"/report/new?draft={draft.id}"
    assert _cases(db) == 0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "draft.save")).one()
    assert (entry.actor_id, entry.detail) == (leader.id, "kept after sign-out")
    login_page = web.get(kept.headers["Location"]).get_data(as_text=True)
    assert "kept as a draft" in login_page or "giữ lại thành bản nháp" in login_page
    # Sealed to his own key: the server cannot read it; his key (his password) can.
    seed = unlock_personal_key(db.session.get(User, leader.id), PASSWORD)
    assert drafts.open_draft(leader, draft, seed)["narrative"] == NARRATIVE
    assert NARRATIVE.encode() not in draft.sealed
    db.session.rollback()  # this check's own opening (audited) is not the leader's

    back = _sign_in(web, leader, next_url)
    assert back.headers["Location"] == next_url
    restored = web.get(next_url).get_data(as_text=True)
    assert NARRATIVE in restored
    # The same form, one tap from sending: its own one-time token came back with it.
    assert _hidden(restored, "submission_token") == form["submission_token"]
    send = {
        **form,
        "csrf_token": _hidden(restored, "csrf_token"),
        "draft_id": draft.id,
        "action": "send",
    }
    filed = web.post("/report/new", data=send)
    assert filed.status_code == 302 and "/report/filed/" in filed.headers["Location"]
    assert _cases(db) == 1 and _drafts(db, leader) == []
    # The old copy of the form, sent again from another tab, finds the case it filed.
    again = web.post("/report/new", data={**send, "draft_id": ""})
    assert again.headers["Location"] == filed.headers["Location"]
    assert _cases(db) == 1


def test_the_same_form_kept_twice_is_one_draft(db, web, leader):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    for _ in range(2):  # a tap, and a tap again on the slow phone
        assert web.post("/report/new", data={**form, "action": "send"}).status_code == 302
    assert len(_drafts(db, leader)) == 1


def test_an_autosave_after_the_session_ended_keeps_the_draft_and_says_where_to_sign_in(
    db, web, leader
):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    answer = web.post("/report/new", data={**form, "action": "autosave"})
    assert answer.status_code == 200 and answer.is_json
    [draft] = _drafts(db, leader)
    assert answer.json["signed_out"] is True and answer.json["draft"] == draft.id
    assert answer.json["login"].startswith("/login?next=")


@pytest.mark.parametrize("token", [None, "", "forged", "x" * 300])
def test_a_form_whose_token_is_not_ours_keeps_nothing(db, web, leader, token):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    sent = {**form, "action": "send"}
    if token is None:
        del sent["submission_token"]
    else:
        sent["submission_token"] = token
    response = web.post("/report/new", data=sent)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _drafts(db, leader) == [] and _cases(db) == 0


def test_a_public_key_swapped_in_the_database_gets_nothing(db, web, leader):
    """The token names the key the leader's session held: a row changed since (a database
    writer's own key) is not sealed to (SECURITY.md property 26)."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    db.session.execute(
        update(User).where(User.id == leader.id).values(public_key=public_key(new_seed()))
    )
    db.session.commit()
    response = web.post("/report/new", data={**form, "action": "send"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _drafts(db, leader) == []
    # Loudly: audited, and he is told nothing was kept.
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "key.mismatch")
    ).all()
    assert (entry.actor_id, entry.detail) == (leader.id, "own key (draft)")
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Không thể giữ lại báo cáo của bạn một cách an toàn" in page


def test_a_token_copied_out_of_the_page_keeps_nothing_from_another_browser(
    db, web, csrf_app, leader
):
    """The token is in the page; the session's cookie is not (HttpOnly): someone who
    copied the form, even with a session of his own, writes nothing into the drafts."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    stranger = csrf_app.test_client()
    assert stranger.post("/report/new", data={**form, "action": "send"}).status_code == 302
    other = csrf_app.test_client()
    _sign_in(other, leader)  # another session of his: not the one that opened the form
    _session_ends(db, leader)
    other.post("/report/new", data={**form, "action": "send"})
    assert _drafts(db, leader) == []


def test_a_form_older_than_its_lifetime_or_from_before_a_password_change_keeps_nothing(
    db, web, csrf_app, leader
):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    lifetime = csrf_app.config["REPORT_FORM_LIFETIME"]
    with time_machine.travel(utcnow() + lifetime + timedelta(minutes=1)):
        web.post("/report/new", data={**form, "action": "send"})
    assert _drafts(db, leader) == []
    db.session.execute(update(User).where(User.id == leader.id).values(password_hash="changed"))
    db.session.commit()
    web.post("/report/new", data={**form, "action": "send"})
    assert _drafts(db, leader) == []


def test_an_earlier_draft_is_never_written_from_outside_a_session(db, web, leader):
    """A form sent after sign-out keeps a draft of its own; the draft the page saved before
    (whose id the form carries) stays as it was."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    saved = web.post("/report/new", data={**form, "action": "autosave"}).json
    [earlier] = _drafts(db, leader)
    sealed = earlier.sealed
    _session_ends(db, leader)
    changed = {**form, "narrative": "Không có gì xảy ra.", "draft_id": saved["draft"]}
    web.post("/report/new", data={**changed, "action": "send"})
    drafts_now = {draft.id: draft.sealed for draft in _drafts(db, leader)}
    assert drafts_now[earlier.id] == sealed and len(drafts_now) == 2


def test_a_filing_whose_key_was_swapped_in_the_database_files_nothing_and_says_so(db, web, leader):
    """The leader's copy of the case key is sealed only to the key his session holds."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    db.session.execute(
        update(User).where(User.id == leader.id).values(public_key=public_key(new_seed()))
    )
    db.session.commit()
    response = web.post("/report/new", data={**form, "action": "send"})
    assert response.status_code == 409
    assert NARRATIVE in response.get_data(as_text=True)  # nothing typed is lost
    assert _cases(db) == 0
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "key.mismatch")
    ).all()
    assert (entry.actor_id, entry.target, entry.detail) == (
        leader.id,
        f"user:{leader.id}",
        "own key",
    )


def test_when_the_pages_idle_time_ends_the_draft_is_kept_and_the_session_ends(db, web, leader):
    """The page sends the form as a draft when its idle time runs out; if the server's
    session has not ended yet, it ends now: saving then is not activity."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    response = web.post("/report/new", data={**form, "action": "draft", "idle": "1"})
    assert response.status_code == 302
    [draft] = _drafts(db, leader)
    assert response.headers["Location"] == (f"/login?next=/report/new?draft%3D{draft.id}")
    assert db.session.scalars(select(SessionRecord)).all() == []
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "logout")).one()
    assert entry.detail == "idle"
    assert web.get("/report/new").headers["Location"].startswith("/login")


def test_forms_sent_after_sign_out_count_per_owner_and_junk_per_address(app, db, leader):
    """A carrier's shared address flooded with junk does not use up a leader's own count."""
    from incidents.reporting.views import _form_owner_or_address

    # The test's own app: leader's row loads on its database (another app's engine would
    # check out a connection for this session and leave it to the garbage collector).
    with app.test_request_context():
        token = submission.new_token(leader)
    for sent, expected in ((token, f"kept-form:{leader.id}"), ("junk", "127.0.0.1")):
        with app.test_request_context(
            "/report/new", method="POST", data={"submission_token": sent}
        ):
            assert _form_owner_or_address() == expected


def test_a_deactivated_leader_gets_nothing_kept(db, web, leader):
    _sign_in(web, leader)
    form = _open_form(web, leader)
    _session_ends(db, leader)
    db.session.execute(update(User).where(User.id == leader.id).values(active=False))
    db.session.commit()
    web.post("/report/new", data={**form, "action": "send"})
    assert _drafts(db, leader) == []


def test_a_csrf_token_of_another_session_shows_the_answers_again_not_a_bare_400(db, web, leader):
    """Signed out and in again in another tab: the form's CSRF token is stale."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    web.post("/logout", data={"csrf_token": form["csrf_token"]})
    _sign_in(web, leader)  # this browser's session is a new one now
    response = web.post("/report/new", data={**form, "action": "send"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert NARRATIVE in page and 'id="report-form"' in page
    assert "could not be checked" in page or "Không kiểm tra được" in page
    assert _hidden(page, "csrf_token") != form["csrf_token"]
    assert _cases(db) == 0
    resent = {**form, "csrf_token": _hidden(page, "csrf_token"), "action": "send"}
    resent["submission_token"] = _hidden(page, "submission_token")
    assert web.post("/report/new", data=resent).status_code == 302
    assert _cases(db) == 1


def test_an_autosave_is_activity_that_keeps_the_session(db, web, leader):
    """Typing saves the draft every 30 s, and each save moves the idle clock on: a leader
    who is typing is not signed out (a page read touches it at most once a minute)."""
    _sign_in(web, leader)
    form = _open_form(web, leader)
    earlier = utcnow() - timedelta(seconds=50)
    db.session.execute(update(SessionRecord).values(last_seen_at=earlier))
    db.session.commit()

    def last_seen():
        db.session.expire_all()
        return as_utc(db.session.scalars(select(SessionRecord.last_seen_at)).one())

    web.get("/reports")  # reading a page 50 s later: not yet worth a write
    assert last_seen() == earlier
    answer = web.post("/report/new", data={**form, "action": "autosave"})
    assert answer.status_code == 200 and answer.json["saved"] is True
    assert last_seen() > earlier + timedelta(seconds=45)
