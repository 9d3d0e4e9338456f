"""One's own account and the administrator's account pages (SECURITY.md 13, 18, 21, 22).

Re-authentication before sensitive steps, activation codes, role changes, one's devices,
sign-in history, the idle warning, neutral titles, and what the audit and the logs keep.
"""

import base64
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import (
    PASSWORD,
    activation_code_on,
    code_from_desks,
    enrol_on_page,
    login_data,
    make_test_app,
    without_csrf_token,
)
from flask import url_for
from sqlalchemy import func, select, text, update

from incidents.accounts.models import RecoveryCode, SessionRecord, User
from incidents.accounts.service import new_activation_code
from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.crypto.keys import key_fingerprint
from incidents.crypto.passwords import verify_password
from incidents.crypto.totp import code_at, step_at
from incidents.extensions import db as _db
from incidents.timeutil import as_utc, format_datetime, utcnow
from incidents.wards.models import DeskMember
from incidents.web import AUTHENTICATED_AT, argon2_params

NEW_PASSWORD = "mây trắng bay qua đồi chè 42"
OWN_PASSWORD = "sông Hồng chảy về biển xa 17"
REFUSED_SIGN_IN = "The username, password or code is not correct."
REFUSED_CONFIRM = "The password or code is not correct."
CONFIRM = "/account/confirm"
SESSION_COOKIE = "session"


# --- Helpers -------------------------------------------------------------------------------


def _english(web):
    """English pages, so that the assertions read the messages as written in the code."""
    web.set_cookie("lang", "en")
    return web


@pytest.fixture(autouse=True)
def _english_client(client):
    _english(client)


def _new_client(app, address=None, browser=None):
    web = _english(app.test_client())
    if address:
        web.environ_base["REMOTE_ADDR"] = address
    if browser:
        web.environ_base["HTTP_USER_AGENT"] = browser
    return web


def _page(response) -> str:
    return response.get_data(as_text=True)


def _entries(action=None) -> list[AuditEntry]:
    _db.session.expire_all()
    statement = select(AuditEntry).order_by(AuditEntry.seq)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    return _db.session.scalars(statement).all()


def _fresh(user) -> User:
    _db.session.expire_all()
    return _db.session.get(User, user.id)


def _confirm_next(response) -> str:
    """The page a refusal sends back to after re-authentication (asserting it is one)."""
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.path == CONFIRM, response.headers["Location"]
    [target] = parse_qs(location.query)["next"]
    return target


def _age_session(web, seconds: float) -> None:
    """Move the session's last proof of identity back (as if time had passed)."""
    with web.session_transaction() as session:
        session[AUTHENTICATED_AT] -= int(seconds)


def _stale(app, web) -> None:
    _age_session(web, app.config["REAUTH_WINDOW"].total_seconds() + 1)


def _current_code(user, totp_secrets, forget_last_step=True) -> str:
    """The authenticator's code now; by default the account may use this step again."""
    if forget_last_step:
        _db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
        _db.session.commit()
    return code_at(totp_secrets[user.id], step_at(time.time()))


def _confirm(web, next_page, password=PASSWORD, code=None):
    data = {"password": password}
    if code is not None:
        data["code"] = code
    return web.post(CONFIRM, query_string={"next": next_page}, data=data)


def _on_site(location: str) -> bool:
    parts = urlsplit(location)
    return (
        parts.scheme in ("", "http")
        and parts.netloc in ("", "localhost")
        and parts.path.startswith("/")
        and not parts.path.startswith("//")
        and "\\" not in location
        and not re.search(r"[\x00-\x20]", location)
    )


def _signed_out(web) -> bool:
    response = web.get("/account")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def _token_of(web) -> bytes:
    raw = base64.urlsafe_b64decode(web.get_cookie(SESSION_COOKIE).value)
    return raw[:16]


def _record_id_of(web) -> str:
    return hashlib.sha256(_token_of(web)).hexdigest()


def _sessions_of(user) -> list[SessionRecord]:
    _db.session.expire_all()
    return _db.session.scalars(select(SessionRecord).where(SessionRecord.user_id == user.id)).all()


def _recovery_digests(user) -> set[bytes]:
    _db.session.expire_all()
    rows = select(RecoveryCode.digest).where(RecoveryCode.user_id == user.id)
    return {bytes(digest) for digest in _db.session.scalars(rows)}


# --- Re-authentication before sensitive steps ---------------------------------------------


@dataclass
class Step:
    """A step that needs a recent proof of identity."""

    back_to: str  # where the confirmation sends the member back
    attempt: Callable  # (web, world) -> the responses of the attempt
    done: Callable  # (world) -> whether the step took effect
    finish: Callable  # (web, world) -> None: the step again, after confirming; it works


def _export(web, world):
    return [web.get("/audit/export.csv?action=login.success")]


def _export_done(world):
    return bool(_entries("audit.export"))


def _export_finish(web, world):
    response = web.get("/audit/export.csv?action=login.success")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "login.success" in _page(response)


def _seat(web, world):
    data = {
        "desk_id": world.desk.id,
        "user_id": world.other.id,
        "key_code": key_fingerprint(world.other.public_key),
        "second_username": world.witness.username,
        "second_password": PASSWORD,
        # the next step's code: the current one went to his enrolment
        "second_code": code_at(world.totp_secrets[world.witness.id], step_at(time.time()) + 1),
    }
    return [web.post("/desks/seat", data=data)]


def _seat_done(world):
    _db.session.expire_all()
    return (
        _db.session.scalar(
            select(func.count()).select_from(DeskMember).where(DeskMember.user_id == world.other.id)
        )
        > 0
    )


def _seat_finish(web, world):
    [response] = _seat(web, world)
    assert response.status_code == 302 and response.headers["Location"] == "/desks/"


def _password(web, world):
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return [web.post("/account/password", data=data)]


def _password_done(world):
    return verify_password(NEW_PASSWORD, _fresh(world.officer).password_hash)


def _password_finish(web, world):
    [response] = _password(web, world)
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def _authenticator(web, world):
    code = code_at(world.totp_secrets[world.officer.id], step_at(time.time()))
    return [
        web.get("/account/second-factor"),
        web.post("/account/second-factor", data={"code": code}),
    ]


def _authenticator_done(world):
    return _fresh(world.officer).totp_secret_sealed != world.sealed_before


def _authenticator_finish(web, world):
    enrol_on_page(web, world.officer)


def _codes(web, world):
    return [web.post("/account/recovery-codes")]


def _codes_done(world):
    return _recovery_digests(world.officer) != world.digests_before


def _codes_finish(web, world):
    [response] = _codes(web, world)
    assert response.status_code == 200 and 'class="codes"' in _page(response)


STEPS = {
    "audit export": Step(
        "/audit/export.csv?action=login.success", _export, _export_done, _export_finish
    ),
    "seat grant": Step("/desks/", _seat, _seat_done, _seat_finish),
    "password change": Step("/account/password", _password, _password_done, _password_finish),
    "new authenticator": Step(
        "/account/second-factor", _authenticator, _authenticator_done, _authenticator_finish
    ),
    "new recovery codes": Step("/account", _codes, _codes_done, _codes_finish),
}


@pytest.fixture()
def officer_world(db, ward, make_user, totp_secrets):
    officer = make_user("officer")
    other = make_user("officer", seated=False)
    return SimpleNamespace(
        officer=officer,
        other=other,
        witness=make_user("police"),  # the second member a seat needs, present
        desk=ward.desk("officer"),
        totp_secrets=totp_secrets,
        sealed_before=officer.totp_secret_sealed,
        digests_before=_recovery_digests(officer),
    )


@pytest.mark.parametrize("name", STEPS)
def test_a_stale_session_confirms_first_and_then_the_step_works(
    app, client, login_as, officer_world, totp_secrets, name
):
    step, world = STEPS[name], officer_world
    login_as(world.officer)
    _stale(app, client)
    for response in step.attempt(client, world):
        assert _confirm_next(response) == step.back_to
        assert response.mimetype != "text/csv" and 'class="codes"' not in _page(response)
    assert not step.done(world), "the step took effect without a recent confirmation"

    page = client.get(CONFIRM, query_string={"next": step.back_to})
    assert page.status_code == 200
    assert 'name="password"' in _page(page) and 'name="code"' in _page(page)
    assert not step.done(world)

    confirmed = _confirm(client, step.back_to, code=_current_code(world.officer, totp_secrets))
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == step.back_to
    [entry] = _entries("account.reauth")
    assert entry.actor_id == world.officer.id and entry.target == f"user:{world.officer.id}"
    step.finish(client, world)
    assert step.done(world)


def test_a_sign_in_counts_for_the_window_and_no_longer(app, client, login_as, make_user):
    officer = make_user("officer")
    login_as(officer)
    assert client.get("/audit/export.csv").status_code == 200  # just signed in
    window = app.config["REAUTH_WINDOW"].total_seconds()
    assert window == 300
    _age_session(client, window - 10)
    assert client.get("/audit/export.csv").status_code == 200
    _age_session(client, 11)
    assert _confirm_next(client.get("/audit/export.csv")) == "/audit/export.csv"
    codes_before = _recovery_digests(officer)
    assert _confirm_next(client.post("/account/recovery-codes")) == "/account"
    assert _recovery_digests(officer) == codes_before


def test_the_configured_window_is_the_one_used(app, db, tmp_path, make_user):
    """A window of zero: not even the sign-in a moment ago is recent enough."""
    strict = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        str(tmp_path),
        REAUTH_WINDOW=timedelta(seconds=0),
        LOG_TO_INSTANCE=False,
    )
    try:
        officer = make_user("officer")
        web = _english(strict.test_client())
        assert web.post("/login", data=login_data(officer)).status_code == 302
        time.sleep(0.01)
        response = web.get("/audit/export.csv")
        assert _confirm_next(response) == "/audit/export.csv"
        assert not _entries("audit.export")
    finally:
        with strict.app_context():
            _db.engine.dispose()


def test_a_group_leader_confirms_with_his_password_alone(app, client, login_as, make_user):
    leader = make_user("reporter")
    login_as(leader)
    _stale(app, client)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert _confirm_next(client.post("/account/password", data=data)) == "/account/password"
    assert verify_password(PASSWORD, _fresh(leader).password_hash)
    page = _page(client.get(CONFIRM, query_string={"next": "/account/password"}))
    assert 'name="password"' in page and 'name="code"' not in page
    refused = _confirm(client, "/account/password", password=NEW_PASSWORD)
    assert refused.status_code == 200 and REFUSED_CONFIRM in _page(refused)
    confirmed = _confirm(client, "/account/password")
    assert confirmed.headers["Location"] == "/account/password"
    assert client.post("/account/password", data=data).headers["Location"] == "/account"
    assert verify_password(NEW_PASSWORD, _fresh(leader).password_hash)


def _a_wrong_code(user, totp_secrets) -> str:
    now = step_at(time.time())
    near = {code_at(totp_secrets[user.id], step) for step in range(now - 2, now + 3)}
    return next(f"{n:06d}" for n in range(123456, 10**6) if f"{n:06d}" not in near)


def test_a_wrong_password_or_a_wrong_or_replayed_code_confirms_nothing(
    app, client, login_as, make_user, totp_secrets
):
    officer = make_user("officer")
    login_as(officer)
    _stale(app, client)
    target = "/audit/export.csv"
    attempts = {
        "wrong password": ("correct horse battery stapel", _current_code(officer, totp_secrets)),
        "wrong code": (PASSWORD, _a_wrong_code(officer, totp_secrets)),
        "no code": (PASSWORD, ""),
        "a recovery code that is not his": (PASSWORD, "ABCD-EFGH-IJKL-MNOP"),
    }
    for what, (password, code) in attempts.items():
        _current_code(officer, totp_secrets)  # a refusal is never for a used-up step
        refused = _confirm(client, target, password=password, code=code)
        assert refused.status_code == 200, what
        assert REFUSED_CONFIRM in _page(refused), what
        assert _confirm_next(client.get(target)) == target, what
    failures = _entries("account.reauth_failure")
    assert len(failures) == len(attempts)
    assert {(e.actor_id, e.target) for e in failures} == {(officer.id, f"user:{officer.id}")}
    assert not _entries("audit.export") and not _entries("account.reauth")

    code = _current_code(officer, totp_secrets)
    assert _confirm(client, target, code=code).headers["Location"] == target
    assert client.get(target).status_code == 200
    _stale(app, client)
    replayed = _confirm(client, target, code=code)  # the same code, seen over a shoulder
    assert replayed.status_code == 200 and REFUSED_CONFIRM in _page(replayed)
    assert _confirm_next(client.get(target)) == target
    assert len(_entries("account.reauth_failure")) == len(attempts) + 1
    assert len(_entries("account.reauth")) == 1
    history = _page(client.get("/account"))
    assert history.count("<td>Failed identity confirmation</td>") == len(attempts) + 1


FORGED_NEXT = [
    "https://evil.example",
    "https://evil.example/account",
    "http://evil.example",
    "//evil.example",
    "//evil.example/account",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
]


def test_a_forged_next_never_leaves_the_site(client, login_as, make_user, totp_secrets):
    officer = make_user("officer")
    login_as(officer)
    for forged in FORGED_NEXT:
        response = _confirm(client, forged, code=_current_code(officer, totp_secrets))
        assert response.status_code == 302, forged
        assert response.headers["Location"] == "/account", (forged, response.headers["Location"])
    # The same rule at sign-in, where the confirmation's links come from.
    for forged in FORGED_NEXT:
        client.post("/logout")
        response = client.post("/login", query_string={"next": forged}, data=login_data(officer))
        assert response.status_code == 302, forged
        assert _on_site(response.headers["Location"]), (forged, response.headers["Location"])
    assert len(_entries("account.reauth")) == len(FORGED_NEXT)


@pytest.mark.parametrize("forged", ["/\r\nSet-Cookie: injected=1", "/account\nX-Injected: 1"])
def test_a_next_with_a_line_break_falls_back_instead_of_failing(
    app, client, login_as, make_user, totp_secrets, forged
):
    """A link whose next holds a line break must not turn a good step into a server error."""
    officer = make_user("officer")
    login_as(officer)
    answers = {
        "confirm": _confirm(client, forged, code=_current_code(officer, totp_secrets)),
        "language (public)": _new_client(app).get("/language/en", query_string={"next": forged}),
    }
    client.post("/logout")
    answers["sign-in"] = client.post(
        "/login", query_string={"next": forged}, data=login_data(officer)
    )
    failed = {
        where: response.status_code
        for where, response in answers.items()
        if response.status_code != 302 or not _on_site(response.headers["Location"])
    }
    assert not failed, failed


# --- Activation codes ------------------------------------------------------------------------


def _create_account(client, ward, role="reporter", username="newleader"):
    data = {"username": username, "display_name": "Trần Văn Mới", "role": role}
    if role == "reporter":
        data["groups"] = [str(ward.groups[0].id)]
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 200, _page(response)[-1500:]
    user = _db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    # Once an officer or chairman sits at a desk, he hands the code out, not the admin.
    shown = 'class="codes"' in _page(response)
    return user, activation_code_on(response) if shown else None


def test_the_admin_creates_an_account_with_a_code_that_leads_only_to_choosing_a_password(
    app, client, ward, login_as, make_user
):
    admin = make_user("admin")
    login_as(admin)
    form = _page(client.get("/admin/users/new"))
    assert 'type="password"' not in form and 'name="password"' not in form
    user, code = _create_account(client, ward)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)
    assert user.needs_own_password and user.public_key is None
    assert not verify_password(code, user.password_hash)  # stored only in canonical form
    lifetime = as_utc(user.activation_expires_at) - utcnow()
    expected = app.config["ACTIVATION_CODE_LIFETIME"]
    assert expected - timedelta(minutes=1) < lifetime <= expected
    [created] = [e for e in _entries("account.create") if e.actor_id == admin.id]
    assert created.target == f"user:{user.id}" and created.detail == "reporter"

    owner = _new_client(app)
    ways_of_typing = [
        lambda shown: shown,
        str.lower,
        lambda shown: shown.lower().replace("-", " "),
        lambda shown: shown.replace("-", ""),
        lambda shown: f"  {shown.lower().replace('-', '')}  ",
        lambda shown: shown.lower().replace("-", " - "),
    ]
    for number, way in enumerate(ways_of_typing):
        if number:
            # A code works once: the one just used is refused, and the admin gives a new one.
            owner.post("/logout")
            again = owner.post("/login", data=login_data(user, code))
            assert again.status_code == 200 and REFUSED_SIGN_IN in _page(again)
            code = new_activation_code(
                _fresh(user), argon2_params(), app.config["ACTIVATION_CODE_LIFETIME"]
            )
            _db.session.commit()
        typed = way(code)
        owner.post("/logout")
        response = owner.post("/login", data=login_data(user, typed))
        assert response.status_code == 302, typed
        for url in ("/", "/account", "/reports", "/report/new", "/account/password", CONFIRM):
            answer = owner.get(url)
            assert answer.status_code == 302, (typed, url)
            assert answer.headers["Location"] == "/account/own-password", (typed, url)
        for url in ("/account/password", "/account/sessions/end", "/report/new"):
            assert owner.post(url).headers["Location"] == "/account/own-password", url
        assert owner.get("/account/own-password").status_code == 200

    chosen = owner.post(
        "/account/own-password", data={"new_password": OWN_PASSWORD, "confirm": OWN_PASSWORD}
    )
    assert chosen.status_code == 302
    assert owner.get("/reports").status_code == 200
    owned = _fresh(user)
    assert not owned.needs_own_password and owned.activation_expires_at is None
    assert owned.public_key is not None
    owner.post("/logout")
    for typed in (code, code.lower()):
        refused = owner.post("/login", data=login_data(user, typed))
        assert refused.status_code == 200 and REFUSED_SIGN_IN in _page(refused)
    assert owner.post("/login", data=login_data(user, OWN_PASSWORD)).status_code == 302
    assert owner.get("/").headers["Location"] == "/reports"


def test_an_expired_activation_code_is_refused_like_a_wrong_password(
    client, ward, login_as, make_user
):
    login_as(make_user("admin"))
    user, code = _create_account(client, ward)
    client.post("/logout")
    wrong = client.post("/login", data=login_data(user, "ABCD-EFGH-IJKL-MNOP"))
    _db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(activation_expires_at=utcnow() - timedelta(minutes=1))
    )
    _db.session.commit()
    expired = client.post("/login", data=login_data(user, code.lower()))
    assert expired.status_code == wrong.status_code == 200
    assert REFUSED_SIGN_IN in _page(expired)
    # nothing tells an expired code from a wrong one (the CSRF token carries its second)
    assert without_csrf_token(_page(expired)) == without_csrf_token(_page(wrong))
    assert _signed_out(client)
    failure = _entries("login.failure")[-1]
    assert failure.target == f"user:{user.id}" and failure.detail == "activation code expired"
    assert _entries("login.failure")[-2].detail == "password"


@pytest.mark.parametrize("as_typed", ["shown", "lowercase", "compact"])
def test_the_activation_code_itself_is_refused_as_ones_own_password(
    app, client, ward, login_as, make_user, as_typed
):
    """The administrator has seen the code: it must not become the owner's password."""
    login_as(make_user("admin"))
    user, code = _create_account(client, ward)
    owner = _new_client(app)
    assert owner.post("/login", data=login_data(user, code)).status_code == 302
    typed = {"shown": code, "lowercase": code.lower(), "compact": code.replace("-", "")}[as_typed]
    response = owner.post("/account/own-password", data={"new_password": typed, "confirm": typed})
    assert response.status_code == 200, "the activation code was taken as the own password"
    assert _fresh(user).needs_own_password


def test_an_admin_reset_issues_a_new_code_and_drops_key_seats_and_authenticator(
    app, client, login_as, make_user, totp_secrets
):
    admin = make_user("admin")
    police = make_user("police")
    assert police.seats and police.has_second_factor and _recovery_digests(police)
    phone = _new_client(app)
    login_as(police, on=phone)
    login_as(admin)
    confirm_page = client.get(f"/admin/users/{police.id}/reset")
    assert confirm_page.status_code == 200 and _fresh(police).public_key is not None
    response = client.post(f"/admin/users/{police.id}/reset")
    assert response.status_code == 200
    code = activation_code_on(response)

    reset = _fresh(police)
    assert reset.needs_own_password and reset.activation_expires_at is not None
    assert reset.public_key is None and reset.password_wrapped_key is None
    assert reset.recovery_sealed_key is None and reset.key_salt is None
    assert reset.seats == [] and not reset.has_second_factor and reset.totp_last_step is None
    assert _recovery_digests(police) == set()
    assert _signed_out(phone) and _sessions_of(police) == []
    [entry] = _entries("account.key_reset")
    assert entry.actor_id == admin.id and entry.detail == "seats:1"

    totp_secrets.pop(police.id)  # the authenticator is gone: no code is asked
    refused = phone.post("/login", data=login_data(police))
    assert refused.status_code == 200 and REFUSED_SIGN_IN in _page(refused)
    signed_in = phone.post("/login", data=login_data(police, code.lower().replace("-", " ")))
    assert signed_in.status_code == 302
    assert phone.get("/cases/").headers["Location"] == "/account/own-password"


# --- Role changes -----------------------------------------------------------------------------


def test_a_role_change_signs_the_member_out_everywhere_and_ends_his_seats(
    app, client, login_as, make_user
):
    admin = make_user("admin")
    police = make_user("police")
    phone, laptop = _new_client(app), _new_client(app)
    login_as(police, on=phone)
    login_as(police, on=laptop)
    assert phone.get("/cases/").status_code == 200 and len(_sessions_of(police)) == 2
    login_as(admin)
    assert client.get(f"/admin/users/{police.id}/role").status_code == 200
    response = client.post(f"/admin/users/{police.id}/role", data={"role": "officer"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"

    assert _signed_out(phone) and _signed_out(laptop)
    assert _sessions_of(police) == []
    changed = _fresh(police)
    assert changed.role == "officer" and changed.seats == []
    [entry] = _entries("account.role")
    assert entry.actor_id == admin.id and entry.target == f"user:{police.id}"
    assert entry.detail == "police->officer"
    assert client.get("/admin/users").status_code == 200  # the admin's own session goes on


def test_the_role_page_is_only_for_another_staff_member_of_the_ward(
    client, login_as, make_ward, make_user
):
    admin = make_user("admin")
    leader = make_user("reporter")
    elsewhere = make_user("police", in_ward=make_ward(code="EL"))
    login_as(admin)
    for user in (leader, admin, elsewhere):
        assert client.get(f"/admin/users/{user.id}/role").status_code == 404
        assert (
            client.post(f"/admin/users/{user.id}/role", data={"role": "officer"}).status_code == 404
        )
    assert client.get("/admin/users/999999/role").status_code == 404
    assert _fresh(leader).role == "reporter" and _fresh(admin).role == "admin"
    assert _fresh(elsewhere).role == "police" and not _entries("account.role")
    officer = make_user("officer")
    login_as(officer)
    assert client.get(f"/admin/users/{leader.id}/role").status_code == 404


# --- One's own devices ------------------------------------------------------------------------


def test_the_account_page_lists_ones_devices_and_signs_them_out(app, client, login_as, make_user):
    leader = make_user("reporter")
    stranger = make_user("reporter")
    phone = _new_client(app, address="10.1.2.3", browser="PhoneBrowser/7.1")
    tablet = _new_client(app, address="10.4.5.6", browser="TabletBrowser/2.0")
    theirs = _new_client(app)
    login_as(leader)
    login_as(leader, on=phone)
    login_as(leader, on=tablet)
    login_as(stranger, on=theirs)

    page = _page(client.get("/account"))
    assert page.count("this device") == 1
    assert "10.1.2.3 PhoneBrowser/7.1" in page and "10.4.5.6 TabletBrowser/2.0" in page
    rows = {record.id: record for record in _sessions_of(leader)}
    assert len(rows) == 3
    for record in rows.values():  # since when, and when last active, on the ward's clock
        assert format_datetime(record.created_at) in page
        assert format_datetime(record.last_seen_at) in page
    offered = set(re.findall(r'name="which" value="([0-9a-f]{64})"', page))
    assert offered == set(rows) - {_record_id_of(client)}
    assert 'name="which" value="others"' in page
    assert _record_id_of(theirs) not in page

    # Another user's device: nothing ends.
    response = client.post("/account/sessions/end", data={"which": _record_id_of(theirs)})
    assert response.status_code == 302 and theirs.get("/account").status_code == 200
    assert len(_sessions_of(leader)) == 3 and _entries("account.sessions_end")[-1].detail == "0"
    # This device: it signs out with the sign-out button, not here.
    client.post("/account/sessions/end", data={"which": _record_id_of(client)})
    assert client.get("/account").status_code == 200 and len(_sessions_of(leader)) == 3

    response = client.post("/account/sessions/end", data={"which": _record_id_of(phone)})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _signed_out(phone) and not _signed_out(tablet) and not _signed_out(client)
    assert _entries("account.sessions_end")[-1].detail == "1"

    login_as(leader, on=phone)
    client.post("/account/sessions/end", data={"which": "others"})
    assert _signed_out(phone) and _signed_out(tablet)
    assert not _signed_out(client) and not _signed_out(theirs)
    assert [record.id for record in _sessions_of(leader)] == [_record_id_of(client)]
    assert _entries("account.sessions_end")[-1].detail == "2"
    assert _entries("account.sessions_end")[-1].actor_id == leader.id


@pytest.mark.parametrize(
    "which",
    ["", "all", "0" * 63, "0" * 65, "A" * 64, "g" * 64, "others ", "1 OR 1=1", "' OR ''='"],
)
def test_a_malformed_device_is_refused(app, client, login_as, make_user, which):
    leader = make_user("reporter")
    phone = _new_client(app)
    login_as(leader)
    login_as(leader, on=phone)
    response = client.post("/account/sessions/end", data={"which": which})
    assert response.status_code == 400
    assert len(_sessions_of(leader)) == 2 and not _entries("account.sessions_end")


# --- Sign-in history, and no case content on account pages -----------------------------------


def _history_rows(page: str) -> list[str]:
    section = page.split("Recent sign-ins", 1)[-1] if "Recent sign-ins" in page else page
    return re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", section)


def test_the_owner_and_the_admin_see_an_accounts_sign_ins(app, client, login_as, make_user):
    admin = make_user("admin")
    leader = make_user("reporter")
    other = make_user("reporter")
    intruder = _new_client(app, address="10.9.8.7")
    intruder.post("/login", data=login_data(leader, "correct horse battery stapel"))
    for _ in range(2):
        intruder.post("/login", data=login_data(other, "not the right password"))
    login_as(leader)

    rows = _history_rows(_page(client.get("/account")))
    assert ("Failed sign-in", "10.9.8.7") in rows
    assert ("Signed in", "127.0.0.1") in rows
    assert [what for what, _ in rows].count("Failed sign-in") == 1  # not the other's

    # The administrator sees when, not where from: addresses are for the audit's readers.
    login_as(admin)
    page = _page(client.get(f"/admin/users/{leader.id}/history"))
    assert "10.9.8.7" not in page and "127.0.0.1" not in page
    whats = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td></tr>", page)
    assert "Failed sign-in" in whats and "Signed out" in whats
    assert whats.count("Failed sign-in") == 1
    other_page = _page(client.get(f"/admin/users/{other.id}/history"))
    assert re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td></tr>", other_page) == [
        "Failed sign-in",
        "Failed sign-in",
    ]


CANARY_NAME = "Nguyễn Thị CANARY-a61f"
CANARY_STORY = "Bị đánh ở bếp CANARY-b72e"


def _admin_urls(app, users) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods:
                continue
            if "user_id" in rule.arguments:
                urls += [url_for(rule.endpoint, user_id=user.id) for user in users]
            else:
                urls.append(url_for(rule.endpoint))
    return urls


def test_no_account_or_admin_page_shows_any_case_content(
    app, client, login_as, make_user, file_report
):
    admin = make_user("admin")
    leader = make_user("reporter")
    staff = [make_user(role) for role in ("police", "officer", "chairman")]
    case_id = file_report(
        leader,
        immediate_danger="yes",
        victim_name=CANARY_NAME,
        narrative=CANARY_STORY,
        perpetrator_name="Lê Văn CANARY-c83d",
    )
    reference = _db.session.get(Case, case_id).reference
    assert CANARY_NAME in _page(client.get(f"/reports/{case_id}"))
    readers = 0
    for member in staff:
        login_as(member)
        readers += CANARY_NAME in _page(client.get(f"/cases/{case_id}"))
    assert readers >= 1  # the case was read: its reads are in the audit
    needles = ("CANARY", case_id, reference)

    for user in (leader, *staff):
        login_as(user)
        page = _page(client.get("/account"))
        assert "Recent sign-ins" in page
        assert not [needle for needle in needles if needle in page], user.role
    login_as(admin)
    users = [admin, leader, *staff]
    shown = 0
    for url in ["/account", *_admin_urls(app, users)]:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        shown += response.status_code == 200
        page = _page(response)
        assert not [needle for needle in needles if needle in page], url
    assert shown >= 3 * len(users)


# --- Every signed-in page: the idle warning, neutral titles -----------------------------------

SKIPPED_PAGES = {"static", "accounts.login", "accounts.set_language", "audit.export"}


def _pages_of(app, arguments) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
            if rule.endpoint in SKIPPED_PAGES or "GET" not in rule.methods:
                continue
            if set(rule.arguments) <= set(arguments):
                urls.append(url_for(rule.endpoint, **{k: arguments[k] for k in rule.arguments}))
    return urls


@pytest.fixture()
def everyone(app, make_user, file_report):
    people = {
        role: make_user(role) for role in ("reporter", "police", "officer", "chairman", "partner")
    }
    people["admin"] = make_user("admin")
    case_id = file_report(people["reporter"], immediate_danger="yes", victim_name=CANARY_NAME)
    arguments = {"case_id": case_id, "user_id": people["police"].id}
    return people, _pages_of(app, arguments), case_id


def _signed_in_pages(client, login_as, everyone, languages=("en",)):
    """Every GET page each role reaches (status 200, HTML), in each language."""
    people, urls, _case_id = everyone
    for role, user in people.items():
        login_as(user)
        seen = 0
        for language in languages:
            client.set_cookie("lang", language)
            for url in urls:
                if url == "/leave":  # the quick exit's blank last step, reached signed out
                    continue
                response = client.get(url)
                if response.status_code == 200 and response.mimetype == "text/html":
                    seen += 1
                    yield role, url, _page(response)
        assert seen >= 3 * len(languages), role
        client.set_cookie("lang", "en")


class _VisibleText(HTMLParser):
    """The text a page shows: its text nodes, less scripts and styles."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


# What must never show on a Vietnamese page: an audit action's code (case.read), an
# internal reference (desk:3, user:5), a vocabulary code (domestic_violence), and the
# English a field shows when it was given no label.
INTERNAL = re.compile(
    r"\b(account|audit|case|desk|draft|group|login|notice|question|referral|stats|ward)"
    r"\.[a-z_]+\b|\b(desk|user|draft|referral):\S|\b[a-z]+_[a-z0-9_]+\b|\bClocks?\b"
)


def test_no_vietnamese_page_shows_an_internal_code_or_a_default_english_label(
    client, login_as, everyone
):
    shown = {}
    for role, url, page in _signed_in_pages(client, login_as, everyone, languages=("vi",)):
        for shown_text in _VisibleText(page).parts:
            for found in INTERNAL.finditer(shown_text):
                shown.setdefault(found.group(), (role, url))
    assert shown == {}


FOOTER = re.compile(r'<footer class="session-note">(.*?)</footer>', re.S)


# Paper, not app pages: no script, so no warning; they leave the screen when the idle
# sign-out comes (a meta refresh).
PRINTABLE_PAGES = re.compile(r"/cases/[0-9a-f]{32}/intake")


def test_every_signed_in_page_warns_before_the_idle_sign_out(app, client, login_as, everyone):
    minutes = int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds() // 60)
    pages = 0
    for role, url, page in _signed_in_pages(client, login_as, everyone):
        where = (role, url)
        if PRINTABLE_PAGES.fullmatch(url):
            assert "<script" not in page and not FOOTER.findall(page), where
            refresh = f'http-equiv="refresh" content="{minutes * 60};url=/login"'
            assert refresh in page, where
            continue
        [footer] = FOOTER.findall(page)
        assert f"signed out after {minutes} minutes without activity" in footer, where
        warning = re.search(r'<div id="session-warning"[^>]*>', footer)
        assert warning and re.search(r"\shidden[\s>]", warning.group()), where
        assert re.search(
            r'<form method="post" action="/account/keep-alive"',
            footer.split('id="session-warning"')[1],
        ), where
        assert '<script src="/static/app.js" defer></script>' in page, where
        pages += 1
    assert pages >= 20
    anonymous = _page(_new_client(app).get("/login"))
    assert "session-warning" not in anonymous
    assert "keep-alive" not in anonymous


def test_the_keep_alive_moves_the_idle_clock(app, client, login_as, make_user):
    police = make_user("police")
    login_as(police)
    assert client.post("/account/keep-alive").status_code == 204

    def seen_at():
        [record] = _sessions_of(police)
        return as_utc(record.last_seen_at)

    def set_seen(moment):
        _db.session.execute(
            update(SessionRecord)
            .where(SessionRecord.user_id == police.id)
            .values(last_seen_at=moment)
        )
        _db.session.commit()

    # Within the minute in which a page view does not touch the row: keep-alive does.
    set_seen(utcnow() - timedelta(seconds=30))
    before = seen_at()
    assert client.get("/cases/").status_code == 200
    assert seen_at() == before
    response = client.post("/account/keep-alive")
    assert response.status_code == 204 and response.get_data() == b""
    assert seen_at() > before + timedelta(seconds=25)

    # Near the idle timeout: still signed in, and the clock starts again.
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    set_seen(utcnow() - idle + timedelta(seconds=20))
    assert client.post("/account/keep-alive").status_code == 204
    assert utcnow() - seen_at() < timedelta(seconds=5)
    assert client.get("/cases/").status_code == 200

    client.post("/logout")
    assert client.post("/account/keep-alive").status_code != 204


FORBIDDEN_IN_TITLES = (
    "bạo lực", "bạo hành", "violence", "buôn bán", "mua bán người", "trafficking",
    "xâm hại", "abuse", "hiếp", "rape", "nạn nhân", "victim", "canary", "gbv",
)  # fmt: skip


def test_no_title_says_what_the_service_is_about(app, client, login_as, everyone):
    titles = set()
    for role, url, page in _signed_in_pages(client, login_as, everyone, ("vi", "en")):
        [title] = re.findall(r"<title>(.*?)</title>", page, re.S)
        titles.add(title.strip())
        lowered = title.casefold()
        assert not [word for word in FORBIDDEN_IN_TITLES if word in lowered], (role, url, title)
    assert titles  # the walk did read titles


def test_case_urls_carry_only_random_ids(client, make_user, file_report):
    leader = make_user("reporter")
    first, second = file_report(leader), file_report(leader)
    for case_id in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", case_id)
        reference = _db.session.get(Case, case_id).reference
        assert reference not in case_id
    assert sum(a != b for a, b in zip(first, second, strict=True)) > 16  # not a counter


# --- Property 21: what the audit and the logs keep --------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture()
def logged_app(app, db, tmp_path):
    """An app on the test database whose log file is this test's alone."""
    before = list(app.logger.handlers)
    instance = tmp_path / "instance"
    application = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], str(instance))
    yield application, instance / "logs" / "app.log"
    for handler in list(application.logger.handlers):
        filename = getattr(handler, "baseFilename", None)
        if filename and Path(filename).is_relative_to(instance):
            application.logger.removeHandler(handler)
            handler.close()
    for handler in before:  # the shared app's own log goes on
        if handler not in application.logger.handlers:
            application.logger.addHandler(handler)
    with application.app_context():
        _db.engine.dispose()


def _audit_text() -> list[str]:
    _db.session.expire_all()
    rows = _db.session.execute(text("SELECT * FROM audit_entries ORDER BY seq")).all()
    return [value for row in rows for value in row if isinstance(value, str)]


def test_the_audit_and_the_logs_keep_no_secret(logged_app, ward, make_user, totp_secrets):
    application, log_file = logged_app
    officer, admin = make_user("officer"), make_user("admin")
    police = make_user("police", enrolled=False)
    web = _english(application.test_client())
    passwords = [PASSWORD, NEW_PASSWORD, OWN_PASSWORD]
    totp_codes, one_time, cookies = [], [], []

    def sign_in(user, password=PASSWORD, code=None, expect=302):
        web.post("/logout")
        form = login_data(user, password)
        if code is not None:
            form["code"] = code
        if form.get("code"):
            totp_codes.append(form["code"])
        response = web.post("/login", data=form)
        assert response.status_code == expect, (user.username, _page(response)[-800:])
        if expect == 302:
            cookies.append(web.get_cookie(SESSION_COOKIE).value)

    # Sign-ins with a code, a password change, a typo, and the password in the username box.
    sign_in(officer)
    changed = web.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    cookies.append(web.get_cookie(SESSION_COOKIE).value)
    typo = NEW_PASSWORD[:-2] + "24"
    passwords.append(typo)
    sign_in(officer, typo, expect=200)
    web.post("/login", data={"username": NEW_PASSWORD, "password": NEW_PASSWORD})
    web.post("/login", data={"username": NEW_PASSWORD, "password": ""})
    sign_in(officer, NEW_PASSWORD)
    # A confirmation, and an export whose username filter carries control characters.
    code = _current_code(officer, totp_secrets)
    totp_codes.append(code)
    assert _confirm(web, "/audit/", password=NEW_PASSWORD, code=code).status_code == 302
    export = web.get("/audit/export.csv", query_string={"actor": "evil\x1b[31m\nlogin.success"})
    assert export.status_code == 200

    # An enrolment, and a sign-in with one of its recovery codes.
    sign_in(police)
    page = _page(web.get("/account/second-factor"))
    secret_text = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1)
    compact = secret_text.replace(" ", "")
    secret = base64.b32decode(compact + "=" * (-len(compact) % 8))
    totp_codes.append(code_at(secret, step_at(time.time())))
    enrolled = web.post("/account/second-factor", data={"code": totp_codes[-1]})
    codes = re.findall(r"<li>([A-Z2-7-]{19})</li>", _page(enrolled))
    assert len(codes) == 10
    totp_secrets[police.id] = secret
    one_time += codes
    sign_in(police, code=codes[3].lower().replace("-", " "))
    assert "recovery code" in _page(web.get("/account"))

    # An activation code, and the owner's own password.
    sign_in(admin)
    newcomer, activation = _create_account(web, ward)
    assert activation is None  # the seated officer hands it out
    sign_in(officer, NEW_PASSWORD)
    activation = code_from_desks(web, newcomer)
    one_time.append(activation)
    sign_in(newcomer, activation.lower())
    chosen = web.post(
        "/account/own-password", data={"new_password": OWN_PASSWORD, "confirm": OWN_PASSWORD}
    )
    assert chosen.status_code == 302
    cookies.append(web.get_cookie(SESSION_COOKIE).value)

    # Control characters typed into the username box.
    typed_names = [
        "evil\x1b[2J",
        "x\r\nlogin.success user=1",
        "bidi\u202egnp",
        "nel\x85x",
        "ls\u2028x",
    ]
    web.post("/logout")
    for name in typed_names:
        assert web.post("/login", data={"username": name, "password": "x" * 12}).status_code == 200
    web.post("/logout")

    for handler in application.logger.handlers:
        handler.flush()
    log = log_file.read_text(encoding="utf-8")
    assert "sign-in user=" in log  # the log is the one this flow wrote
    audit = _audit_text()
    assert len(_entries("login.success")) >= 5 and _entries("account.reauth")
    stored = {"audit": "\n".join(audit), "log": log}

    secrets = {f"password {p!r}": p for p in passwords}
    for value in one_time:
        for form in {value, value.lower(), value.lower().replace("-", " ")}:
            secrets[f"one-time {form}"] = form
        compact = value.replace("-", "")
        secrets |= {f"one-time {compact}": compact, f"one-time {compact.lower()}": compact.lower()}
    for cookie in cookies:
        raw = base64.urlsafe_b64decode(cookie)
        token, key = raw[:16], raw[16:]
        secrets |= {
            "cookie": cookie,
            f"token {token.hex()}": token.hex(),
            "token b64": base64.urlsafe_b64encode(token).decode().rstrip("="),
            "token std b64": base64.b64encode(token).decode().rstrip("="),
            "cookie secret": key.hex(),
        }
    for user_id, totp_secret in totp_secrets.items():
        secrets[f"totp secret {user_id}"] = base64.b32encode(totp_secret).decode().rstrip("=")
    for where, content in stored.items():
        found = [name for name, value in secrets.items() if value in content]
        assert not found, (where, found)
        codes_found = [c for c in totp_codes if re.search(rf"(?<!\d){c}(?!\d)", content)]
        assert not codes_found, (where, codes_found)

    # Control characters: escaped where input lands, and never raw anywhere.
    assert not [value for value in audit if CONTROL.search(value)]
    assert not CONTROL.search(log.replace("\n", ""))
    [exported] = _entries("audit.export")
    assert "\\x1b" in exported.detail and "\\x0a" in exported.detail
    for name in typed_names:
        assert name not in stored["audit"] and name not in log


def test_a_username_with_control_characters_is_refused_at_creation(
    client, ward, login_as, make_user
):
    """An account name is shown on pages, in the CSV export and on the command line."""
    login_as(make_user("admin"))
    for name in ("new\x1b[2Juser", "two\nlines", "tab\tname", "bell\x07"):
        data = {"username": name, "display_name": "Người Mới", "role": "police"}
        response = client.post("/admin/users/new", data=data)
        assert 'class="codes"' not in _page(response), repr(name)
        assert _db.session.scalar(select(User).where(User.username == name.lower())) is None
    assert not [entry for entry in _entries("account.create") if entry.actor_id is not None]


def test_the_administrators_changes_need_a_recent_confirmation(
    app, client, login_as, make_user, totp_secrets
):
    admin, member = make_user("admin"), make_user("police")
    login_as(admin)
    _stale(app, client)
    hash_before = _fresh(member).password_hash
    attempts = (
        ("GET", "/admin/users/new", {}, "/admin/users/new"),
        ("POST", "/admin/users/new", {"username": "x1", "display_name": "X", "role": "police"},
         "/admin/users"),
        ("POST", f"/admin/users/{member.id}/reset", {}, "/admin/users"),
        ("POST", f"/admin/users/{member.id}/active", {"active": "0"}, "/admin/users"),
        ("POST", f"/admin/users/{member.id}/role", {"role": "officer"}, "/admin/users"),
    )  # fmt: skip
    for method, url, data, back in attempts:
        assert _confirm_next(client.open(url, method=method, data=data)) == back, url
    unchanged = _fresh(member)
    assert unchanged.active and unchanged.role == "police" and unchanged.public_key is not None
    assert unchanged.password_hash == hash_before
    assert _db.session.scalar(select(User).where(User.username == "x1")) is None
    # Looking needs no confirmation.
    assert client.get("/admin/users").status_code == 200
    assert client.get(f"/admin/users/{member.id}/history").status_code == 200

    confirmed = _confirm(client, "/admin/users", code=_current_code(admin, totp_secrets))
    assert confirmed.headers["Location"] == "/admin/users"
    assert (
        client.post(f"/admin/users/{member.id}/role", data={"role": "officer"}).status_code == 302
    )
    assert _fresh(member).role == "officer"
