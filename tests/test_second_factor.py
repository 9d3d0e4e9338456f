"""The second factor and the password rules (SECURITY.md properties 10 and 12, and bad input).

Staff sign in with a password and a TOTP code: a wrong, missing, replayed or out-of-window
code gives no session and the same answer as a wrong password. A recovery code works once.
An un-enrolled staff account reaches only the enrolment page. The secret is never stored
in the clear. Malformed codes and passwords are refused without an error page. Passwords
are 12 to 128 characters and not common; an old hash is renewed at sign-in.

These tests build their own sign-in forms: login_data() forgets the account's last used
step, which would hide a replay.
"""

import base64
import binascii
import io
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD, enrol_on_page, login_data, without_csrf_token
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from incidents.accounts import service
from incidents.accounts.factors import enrol, verify
from incidents.accounts.models import RecoveryCode, SessionRecord, User
from incidents.accounts.service import create_user, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.babel_setup import LANGUAGE_COOKIE
from incidents.crypto.keys import public_key
from incidents.crypto.passwords import Argon2Params, needs_rehash, verify_password
from incidents.crypto.totp import STEP_SECONDS, code_at, new_secret, secret_text, step_at
from incidents.web import argon2_params

GENERIC_ERROR = "The username, password or code is not correct."
FLASH_ERROR = re.compile(r'<p class="flash flash-error" role="status">(.*?)</p>', re.S)
FIELD_ERROR = re.compile(r'<p class="error" id="[^"]*">(.*?)</p>', re.S)
SECRET_ON_PAGE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
CODES_ON_PAGE = re.compile(r'<ol class="codes">(.*?)</ol>', re.S)
# What an un-enrolled staff account may reach: its enrolment page, and signing out.
ENROLMENT_ONLY = {"accounts.second_factor", "accounts.logout", "accounts.keep_alive"}
PUBLIC = {
    "accounts.login",
    "accounts.set_language",
    "accounts.quick_exit",
    "accounts.leave",
    "static",
}


# --- helpers ---------------------------------------------------------------------------


def _steady_step(margin: float = 1.5) -> None:
    """Wait, if the current 30-second step is about to end, for the next one to begin.

    A code computed relative to now is then judged in the same step by the server.
    """
    left = STEP_SECONDS - time.time() % STEP_SECONDS
    if left < margin:
        time.sleep(left + 0.05)


def _code(secret: bytes, steps: int = 0) -> str:
    return code_at(secret, step_at(time.time()) + steps)


def _forget_last_step(db, user) -> None:
    """No step used yet, no wrong code counted: only the window rule judges a code
    (make_user's enrolment used the current step)."""
    db.session.execute(
        update(User).where(User.id == user.id).values(totp_last_step=None, second_factor_failures=0)
    )
    db.session.commit()


def _form(user, password=PASSWORD, code=None) -> dict:
    form = {"username": user.username, "password": password}
    if code is not None:
        form["code"] = code
    return form


def _english(web):
    web.get("/language/en")
    return web


def _assert_no_session(db, web) -> None:
    page = web.get("/cases/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SessionRecord)) == 0


def _entries(db, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    ).all()


def _last(db, action: str) -> AuditEntry:
    return _entries(db, action)[-1]


def _snapshot(db, user) -> tuple:
    """What a refused sign-in must leave as it was: the account's secrets, its last used
    step and last sign-in, and its recovery codes."""
    db.session.expire_all()
    row = db.session.get(User, user.id)
    codes = db.session.execute(
        select(RecoveryCode.digest, RecoveryCode.used_at)
        .where(RecoveryCode.user_id == user.id)
        .order_by(RecoveryCode.digest)
    ).all()
    return (
        row.password_hash,
        row.password_wrapped_key,
        row.key_salt,
        row.key_params,
        row.totp_secret_sealed,
        row.totp_last_step,
        row.last_login_at,
        tuple(codes),
    )


def _secret_on(page: str) -> bytes:
    text = SECRET_ON_PAGE.search(page).group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _enrol_showing_codes(web) -> tuple[bytes, list[str]]:
    """Enrol on the page as the owner does; the secret and the recovery codes it shows."""
    secret = _secret_on(web.get("/account/second-factor").text)
    _steady_step()
    shown = web.post("/account/second-factor", data={"code": _code(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<li>([A-Z2-7-]+)</li>", CODES_ON_PAGE.search(shown.text).group(1))
    assert len(codes) == 10 and all(re.fullmatch(r"([A-Z2-7]{4}-){3}[A-Z2-7]{4}", c) for c in codes)
    return secret, codes


def _compact(code: str) -> str:
    return "".join(code.split())


# --- property 10: the code ---------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["no code", "empty code", "wrong code", "two steps old", "two steps ahead"]
)
def test_a_right_password_with_a_bad_code_gives_no_session_and_the_generic_answer(
    db, client, make_user, totp_secrets, case
):
    police = make_user("police")
    secret = totp_secrets[police.id]
    _forget_last_step(db, police)
    _english(client)
    _steady_step()
    window = {_code(secret, steps) for steps in (-1, 0, 1)}
    code = {
        "no code": None,
        "empty code": "",
        "wrong code": next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window),
        "two steps old": _code(secret, -2),
        "two steps ahead": _code(secret, 2),
    }[case]
    if code in window:  # a one-in-a-million collision of two steps' codes
        pytest.skip("this step's code happens to equal a code of the window")
    before = _snapshot(db, police)

    refused = client.post("/login", data=_form(police, code=code))
    wrong_password = client.post("/login", data=_form(police, "not the password!", code))

    assert refused.status_code == 200
    assert FLASH_ERROR.findall(refused.text) == [GENERIC_ERROR]
    assert without_csrf_token(refused.text) == without_csrf_token(
        wrong_password.text
    )  # word for word: nothing tells them apart
    _assert_no_session(db, client)
    by_code, by_password = _entries(db, "login.failure")[-2:]
    assert (by_code.target, by_code.detail) == (f"user:{police.id}", "second factor")
    assert (by_password.target, by_password.detail) == (f"user:{police.id}", "password")
    assert _entries(db, "login.success") == []
    assert _snapshot(db, police) == before  # the step was not used up


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_a_code_of_the_step_before_now_or_after_signs_in(
    db, client, make_user, totp_secrets, steps
):
    officer = make_user("officer")
    _forget_last_step(db, officer)
    _steady_step()
    code = _code(totp_secrets[officer.id], steps)
    response = client.post("/login", data=_form(officer, code=code))
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 200
    success = _last(db, "login.success")
    assert (success.actor_id, success.detail) == (officer.id, "totp")
    db.session.expire_all()
    assert db.session.get(User, officer.id).totp_last_step == step_at(time.time()) + steps


def test_a_replayed_code_is_refused(db, client, make_user, totp_secrets):
    chairman = make_user("chairman")
    _forget_last_step(db, chairman)
    _english(client)
    _steady_step()
    code = _code(totp_secrets[chairman.id])
    assert client.post("/login", data=_form(chairman, code=code)).status_code == 302
    assert client.post("/logout").status_code == 302

    replay = client.post("/login", data=_form(chairman, code=code))

    assert replay.status_code == 200
    assert FLASH_ERROR.findall(replay.text) == [GENERIC_ERROR]
    _assert_no_session(db, client)
    assert _last(db, "login.failure").detail == "second factor"


def test_a_code_older_than_the_last_one_used_is_refused(db, client, make_user, totp_secrets):
    police = make_user("police")
    secret = totp_secrets[police.id]
    _forget_last_step(db, police)
    _steady_step()
    assert client.post("/login", data=_form(police, code=_code(secret, 1))).status_code == 302
    client.post("/logout")
    # Both are within the window, but step +1 has been used: the codes only move forward.
    for older in (_code(secret, 0), _code(secret, -1)):
        assert client.post("/login", data=_form(police, code=older)).status_code == 200
    _assert_no_session(db, client)


def test_a_replay_racing_the_first_use_is_refused_by_the_claim(db, make_user, totp_secrets):
    """Two requests with one code, both reading the account before either wrote: the
    conditional UPDATE lets only one of them claim the step."""
    from sqlalchemy.orm.attributes import set_committed_value

    police = make_user("police")
    _forget_last_step(db, police)
    db.session.refresh(police)
    seed = unlock_personal_key(police, PASSWORD)
    _steady_step()
    code, now = _code(totp_secrets[police.id]), time.time()
    assert verify(police, seed, code, now) == "totp"
    db.session.commit()
    set_committed_value(police, "totp_last_step", None)  # what the racing request read
    assert verify(police, seed, code, now) is None
    db.session.rollback()


def test_a_recovery_code_signs_in_once(db, client, make_user):
    police = make_user("police", enrolled=False)
    _english(client)
    assert client.post("/login", data=_form(police)).status_code == 302
    _secret, codes = _enrol_showing_codes(client)
    client.post("/logout")

    first = client.post("/login", data=_form(police, code=codes[3]))
    assert first.status_code == 302
    shown = client.get(first.headers["Location"], follow_redirects=True).text
    assert re.search(r'<p class="flash flash-info" role="status">[^<]*\b9\b', shown)  # left
    assert client.get("/cases/").status_code == 200
    assert _last(db, "login.success").detail == "recovery"
    client.post("/logout")

    again = client.post("/login", data=_form(police, code=codes[3]))
    assert again.status_code == 200
    assert FLASH_ERROR.findall(again.text) == [GENERIC_ERROR]
    _assert_no_session(db, client)
    assert _last(db, "login.failure").detail == "second factor"
    # As written on paper and typed on a phone: lower case, spaces for dashes. Once too.
    typed = codes[7].lower().replace("-", " ")
    assert client.post("/login", data=_form(police, code=typed)).status_code == 302
    client.post("/logout")
    assert client.post("/login", data=_form(police, code=codes[7])).status_code == 200
    db.session.expire_all()
    used = db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == police.id, RecoveryCode.used_at.is_not(None))
    )
    assert used == 2


def test_the_recovery_codes_are_the_members_own(db, client, make_user):
    """A recovery code of one member opens no other account."""
    first, second = make_user("officer", enrolled=False), make_user("officer", enrolled=False)
    client.post("/login", data=_form(first))
    _secret, codes = _enrol_showing_codes(client)
    client.post("/logout")
    client.post("/login", data=_form(second))
    _enrol_showing_codes(client)
    client.post("/logout")
    assert client.post("/login", data=_form(second, code=codes[0])).status_code == 200
    _assert_no_session(db, client)


def _url_of(app, rule) -> str:
    """The rule's address with "1" for every part (the gate answers before any lookup)."""
    with app.test_request_context():
        return url_for(rule.endpoint, **dict.fromkeys(rule.arguments, "1"))


@pytest.mark.parametrize("role", ["police", "officer", "chairman", "admin"])
def test_an_unenrolled_staff_account_reaches_only_the_enrolment_page(
    app, db, client, make_user, role
):
    member = make_user(role, enrolled=False)
    assert client.post("/login", data=_form(member)).status_code == 302
    before = _snapshot(db, member)
    audited = len(_entries(db, "login.success"))
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC | ENROLMENT_ONLY:
            continue
        url = _url_of(app, rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"] == "/account/second-factor", (method, url)
    assert client.get("/account/second-factor").status_code == 200
    assert client.post("/account/keep-alive").status_code == 204
    assert _snapshot(db, member) == before and len(_entries(db, "login.success")) == audited
    signed_out = client.post("/logout")
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/login"
    assert client.get("/account/second-factor").headers["Location"].startswith("/login")


def test_enrolment_with_a_wrong_code_is_refused_and_stores_nothing(db, client, make_user):
    officer = make_user("officer", enrolled=False)
    _english(client)
    client.post("/login", data=_form(officer))
    secret = _secret_on(client.get("/account/second-factor").text)
    _steady_step()
    window = {_code(secret, steps) for steps in (-1, 0, 1)}
    wrong = [
        _code(secret, 3),
        next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window),
        "abcdef",
        "1" * 33,
    ]
    before = _snapshot(db, officer)
    for code in wrong:
        if code in window:
            continue
        response = client.post("/account/second-factor", data={"code": code})
        assert response.status_code == 200
        errors = " ".join(FIELD_ERROR.findall(response.text))
        assert "not the right one" in errors or "too long" in errors, code
        assert 'class="codes"' not in response.text
    empty = client.post("/account/second-factor", data={"code": ""})
    assert "Enter the 6-digit code" in " ".join(FIELD_ERROR.findall(empty.text))
    assert _snapshot(db, officer) == before
    db.session.expire_all()
    assert db.session.get(User, officer.id).totp_secret_sealed is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert _entries(db, "account.second_factor") == []
    assert client.get("/cases/").headers["Location"] == "/account/second-factor"
    # The same secret is still offered, and its right code finishes the enrolment.
    assert SECRET_ON_PAGE.search(client.get("/account/second-factor").text).group(1) == (
        secret_text(secret)
    )
    _steady_step()
    done = client.post("/account/second-factor", data={"code": _code(secret)})
    assert 'class="codes"' in done.text
    assert client.get("/cases/").status_code == 200


def test_a_group_leader_needs_no_code(db, client, make_user):
    leader = make_user("reporter")
    response = client.post("/login", data=_form(leader))
    assert response.status_code == 302
    assert client.get("/reports").status_code == 200
    success = _last(db, "login.success")
    assert (success.actor_id, success.detail) == (leader.id, None)


def _stored_bytes(app) -> bytes:
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    files = [path, *(path.with_name(path.name + end) for end in ("-wal", "-journal", "-shm"))]
    return b"".join(f.read_bytes() for f in files if f.exists())


def _clear_forms_of(secret: bytes) -> list[bytes]:
    text = base64.b32encode(secret).rstrip(b"=")
    return [
        secret,
        text,
        text.lower(),
        secret_text(secret).encode(),
        binascii.hexlify(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def test_the_secret_and_the_recovery_codes_are_never_stored_in_the_clear(
    app, db, client, make_user, totp_secrets
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the raw database file is searched on SQLite")
    enrolled = make_user("police")  # enrolled by the service
    member = make_user("officer", enrolled=False)
    client.post("/login", data=_form(member))
    pending = _secret_on(client.get("/account/second-factor").text)
    stored = _stored_bytes(app)
    for form in _clear_forms_of(pending):  # while it waits in the session record
        assert form not in stored
    secret, codes = _enrol_showing_codes(client)
    assert secret == pending
    client.post("/logout")
    client.post("/login", data=_form(member, code=codes[0]))
    db.session.expire_all()
    assert db.session.get(User, member.id).totp_secret_sealed is not None
    stored = _stored_bytes(app)
    for form in _clear_forms_of(secret) + _clear_forms_of(totp_secrets[enrolled.id]):
        assert form not in stored
    for code in codes:
        assert code.encode() not in stored and code.replace("-", "").encode() not in stored


# --- bad input -------------------------------------------------------------------------

MALFORMED = {
    "letters": "abcdef",
    "five digits": "12345",
    "seven digits": "1234567",
    "fullwidth digits": "１２３４５６",
    "arabic-indic digits": "١٢٣٤٥٦",
    "33 characters": "1" * 33,
    "40 letters": "A" * 40,
    "NUL inside": "123\x00456",
    "NUL only": "\x00" * 6,
    "a million characters": "1" * 1_000_000,
    "a recovery code's shape": "AAAA-BBBB-CCCC-DDDD",
    "a negative number": "-12345",
    "spaces only": "      ",
}


def _refused_without_harm(db, web, response, before, user, allowed=(200, 400, 413)) -> None:
    assert response.status_code in allowed, response.status_code
    if response.status_code == 200:
        assert 'name="code"' in response.text and 'name="password"' in response.text
    _assert_no_session(db, web)
    assert _snapshot(db, user) == before
    assert _entries(db, "login.success") == []
    refusals = (
        "password",
        "second factor",
        "form refused",
        "refused 400",
        "refused 413",
        "refused 415",
    )
    assert _last(db, "login.failure").detail in refusals


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_code_is_refused_plainly(db, client, make_user, name):
    police = make_user("police")
    _forget_last_step(db, police)
    before = _snapshot(db, police)
    response = client.post("/login", data=_form(police, code=MALFORMED[name]))
    _refused_without_harm(db, client, response, before, police)


@pytest.mark.parametrize(
    "body",
    [
        b"code=%ff%fe%fd%fc%fb%fa",  # percent-encoded bytes that are not UTF-8
        b"code=\xff\xfe\xfd\xfc\xfb\xfa",  # the same bytes raw
        b"code=\xc0\xb1\xc0\xb2\xc0\xb3\xc0\xb4\xc0\xb5\xc0\xb6",  # overlong "123456"
        b"code=%ed%a0%80%ed%b0%80",  # an encoded surrogate pair
    ],
)
def test_a_code_that_is_not_utf8_is_refused_plainly(db, client, make_user, body):
    police = make_user("police")
    _forget_last_step(db, police)
    before = _snapshot(db, police)
    form = f"username={police.username}&password={PASSWORD.replace(' ', '+')}&".encode()
    response = client.post(
        "/login", data=form + body, content_type="application/x-www-form-urlencoded"
    )
    _refused_without_harm(db, client, response, before, police)


def test_a_form_that_is_not_utf8_at_all_is_refused_plainly(db, client, make_user):
    police = make_user("police")
    before = _snapshot(db, police)
    for body in (b"\xff\xfe\x00\x01", b"username=\xffpolice&password=\xfe\xff", b"%%%=&&=%zz"):
        response = client.post(
            "/login", data=body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code in (200, 400, 413)
        _assert_no_session(db, client)
    assert _snapshot(db, police) == before


@pytest.mark.parametrize("field", ["username", "password", "code"])
def test_a_sign_in_field_sent_as_a_file_is_refused_plainly(db, client, make_user, field):
    """A multipart form whose field is a file part: Flask-WTF hands the form a file."""
    police = make_user("police")
    _forget_last_step(db, police)
    before = _snapshot(db, police)
    form = _form(police, code="000000")
    form[field] = (io.BytesIO(form[field].encode()), f"{field}.txt")
    response = client.post("/login", data=form, content_type="multipart/form-data")
    _refused_without_harm(db, client, response, before, police, allowed=(200, 400, 413, 415))


JSON_BODIES = {
    "a number": 5,
    "a list": [1, 2],
    "a string": "abc",
    "null": None,
    "a number for the password": {"password": 5},
    "a number for the code": {"code": 123456},
    "an object for the username": {"username": {"$ne": ""}},
    "a list for the password": {"password": ["x", "y"]},
}


@pytest.mark.parametrize("name", list(JSON_BODIES))
def test_a_sign_in_sent_as_odd_json_is_refused_plainly(db, client, make_user, name):
    police = make_user("police")
    _forget_last_step(db, police)
    before = _snapshot(db, police)
    body = JSON_BODIES[name]
    if isinstance(body, dict):
        body = {**_form(police, code="000000"), **body}
    response = client.post("/login", data=json.dumps(body), content_type="application/json")
    _refused_without_harm(db, client, response, before, police, allowed=(200, 400, 413, 415))


@pytest.fixture()
def police(make_user):
    """One police member for every example of a hypothesis test."""
    return make_user("police")


WHITESPACE = st.text(alphabet=" \t\r\n\u00a0\u2003", max_size=3)
TYPED = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789 ", min_size=5, max_size=8),
    # A code of a step near now, with whitespace around or inside it.
    st.tuples(st.integers(-2, 2), WHITESPACE, WHITESPACE, st.integers(0, 6)),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=TYPED)
def test_any_typed_code_never_errors_and_signs_in_only_when_right(
    db, client, police, totp_secrets, typed
):
    secret = totp_secrets[police.id]
    _forget_last_step(db, police)
    _steady_step()
    if isinstance(typed, tuple):
        steps, before, inside, where = typed
        code = _code(secret, steps)
        typed = before + code[:where] + inside + code[where:] + before
    window = {_code(secret, steps) for steps in (-1, 0, 1)}
    response = client.post("/login", data=_form(police, code=typed))
    assert response.status_code in (200, 302, 400, 413), response.status_code
    signed_in = client.get("/cases/").status_code == 200
    assert signed_in == (response.status_code == 302)
    assert signed_in == (_compact(typed) in window), repr(typed)
    if signed_in:
        client.post("/logout")


# --- property 12: passwords ------------------------------------------------------------

TOO_SHORT = "vfkq8m2zrtw"  # 11 characters
GOOD_12 = "vfkq8m2zrtw4"
GOOD_128 = ("Đêm nay trăng sáng quá, ta đi bộ ra bờ sông " * 3)[:128]
TOO_LONG = GOOD_128 + "x"  # 129 characters
LENGTH_ERROR = "The password must have 12 to 128 characters."
COMMON_ERROR = "This password is too common or too easy to guess."


def test_the_password_samples_are_what_their_names_say():
    assert (len(TOO_SHORT), len(GOOD_12), len(GOOD_128), len(TOO_LONG)) == (11, 12, 128, 129)
    assert not service.is_common(GOOD_12) and not service.is_common(GOOD_128)


def _gated_newcomer(db, ward):
    """An account with a password someone else chose: it must choose its own first."""
    user = create_user(
        None,
        ward=ward,
        username=f"newcomer{time.time_ns()}",
        display_name="Người mới",
        role="reporter",
        password=PASSWORD,
        params=argon2_params(),
        groups=[ward.groups[0]],
        lifetime=timedelta(hours=1),
    )
    db.session.commit()
    return user


def _post_new_password(web, route, new_password):
    data = {"new_password": new_password, "confirm": new_password}
    if route == "/account/password":
        data["current_password"] = PASSWORD
    return web.post(route, data=data)


def _signed_in_for(db, client, ward, make_user, route):
    _english(client)
    own = route == "/account/own-password"
    user = _gated_newcomer(db, ward) if own else make_user("reporter")
    assert client.post("/login", data=_form(user)).status_code == 302
    return user


@pytest.mark.parametrize("route", ["/account/own-password", "/account/password"])
@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        (TOO_SHORT, LENGTH_ERROR),
        (TOO_LONG, LENGTH_ERROR),
        ("matkhau123456", COMMON_ERROR),
        ("password1234", COMMON_ERROR),
        ("Mật Khẩu 123456", COMMON_ERROR),
    ],
    ids=["11 characters", "129 characters", "matkhau123456", "password1234", "with diacritics"],
)
def test_a_bad_new_password_is_refused_clearly_and_changes_nothing(
    db, client, ward, make_user, route, new_password, message
):
    user = _signed_in_for(db, client, ward, make_user, route)
    before = _snapshot(db, user)
    response = _post_new_password(client, route, new_password)
    assert response.status_code == 200
    assert message in " ".join(FIELD_ERROR.findall(response.text))
    assert _snapshot(db, user) == before
    assert _entries(db, "account.password") == _entries(db, "account.activate") == []


@pytest.mark.parametrize("route", ["/account/own-password", "/account/password"])
@pytest.mark.parametrize("new_password", [GOOD_12, GOOD_128], ids=["12 characters", "128"])
def test_a_good_new_password_of_12_to_128_characters_is_taken(
    app, db, client, ward, make_user, route, new_password
):
    user = _signed_in_for(db, client, ward, make_user, route)
    before = _snapshot(db, user)
    response = _post_new_password(client, route, new_password)
    assert response.status_code == 302, FIELD_ERROR.findall(response.text)
    db.session.expire_all()
    row = db.session.get(User, user.id)
    assert _snapshot(db, user)[0] != before[0]
    assert verify_password(new_password, row.password_hash)
    assert not verify_password(PASSWORD, row.password_hash)
    assert public_key(unlock_personal_key(row, new_password)) == row.public_key
    client.post("/logout")
    assert client.post("/login", data=_form(user, new_password)).status_code == 302


@pytest.mark.parametrize("length", [129, 200_000, 1_000_000])
def test_an_over_long_password_at_sign_in_is_refused_before_hashing(
    db, client, make_user, monkeypatch, length
):
    leader = make_user("reporter")
    checked = []
    real = service.sign_in
    monkeypatch.setattr(service, "sign_in", lambda *a, **k: checked.append(a) or real(*a, **k))
    response = client.post("/login", data=_form(leader, "p" * length))
    assert response.status_code in (200, 413)
    assert checked == []  # no password was compared, so nothing was hashed
    _assert_no_session(db, client)
    detail = _last(db, "login.failure").detail
    assert detail == ("form refused" if response.status_code == 200 else "refused 413")


def test_an_old_hash_is_renewed_at_sign_in_and_still_opens_the_key(db, client, ward):
    older = Argon2Params(memory_kib=2048, iterations=2, lanes=2)
    configured = argon2_params()
    assert older != configured
    user = create_user(
        None,
        ward=ward,
        username="oldhash",
        display_name="Old hash",
        role="reporter",
        password=PASSWORD,
        params=older,
        groups=[ward.groups[0]],
        chosen_by_owner=True,
    )
    db.session.commit()
    old_hash, key = user.password_hash, user.public_key
    assert needs_rehash(old_hash, configured) and user.key_params == "2048,2,2"

    assert client.post("/login", data=login_data(user)).status_code == 302
    assert client.get("/reports").status_code == 200

    db.session.expire_all()
    row = db.session.get(User, user.id)
    assert row.password_hash != old_hash
    assert row.password_hash.startswith(
        f"$argon2id$v=19$m={configured.memory_kib},t={configured.iterations},p={configured.lanes}$"
    )
    assert not needs_rehash(row.password_hash, configured)
    assert row.key_params == f"{configured.memory_kib},{configured.iterations},{configured.lanes}"
    assert public_key(unlock_personal_key(row, PASSWORD)) == key == row.public_key
    client.post("/logout")
    assert client.post("/login", data=login_data(user)).status_code == 302


# --- property 21: nothing of the secrets in the audit or the logs -------------------------


def test_codes_and_passwords_reach_neither_the_audit_nor_the_log(
    app, db, client, make_user, totp_secrets
):
    police = make_user("police", enrolled=False)
    client.post("/login", data=_form(police))
    secret, codes = _enrol_showing_codes(client)
    client.post("/logout")
    _forget_last_step(db, police)
    _steady_step()
    typed = [_code(secret, 1), _code(secret, 5), codes[0], "SECRET-TYPED-INTO-CODE"]
    client.post("/login", data=_form(police, code=typed[0]))
    client.post("/logout")
    for code in typed[1:]:
        client.post("/login", data=_form(police, code=code))
        client.post("/logout")
    client.post("/login", data=_form(police, "a mistyped password!", typed[1]))
    db.session.expire_all()
    rows = db.session.execute(
        select(
            AuditEntry.action,
            AuditEntry.target,
            AuditEntry.detail,
            AuditEntry.actor_role,
            AuditEntry.client_address,
        )
    ).all()
    audit = "\n".join(" ".join(str(value) for value in row) for row in rows)
    log = "".join(
        Path(handler.baseFilename).read_text(errors="replace")
        for handler in app.logger.handlers
        if getattr(handler, "incidents_instance_log", False)
    )
    assert "login.success" in audit and "login.failure" in audit
    secrets = [*typed, codes[0].replace("-", ""), PASSWORD, "a mistyped password!"]
    secrets += [secret_text(secret), secret_text(secret).replace(" ", "")]
    for text in secrets:
        assert text not in audit and text not in log, text


# --- a session opened before the account had an authenticator ---------------------------


def test_a_session_from_before_enrolment_does_not_inherit_the_authenticator(app, db, make_user):
    member = make_user("police", enrolled=False)
    attacker, owner = app.test_client(), app.test_client()
    assert attacker.post("/login", data=login_data(member)).status_code == 302  # password only
    assert attacker.get("/cases/").headers["Location"] == "/account/second-factor"
    assert owner.post("/login", data=login_data(member)).status_code == 302
    enrol_on_page(owner, member)
    assert owner.get("/cases/").status_code == 200
    for url in ("/cases/", "/account/second-factor", "/account"):
        refused = attacker.get(url)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_a_password_only_session_ends_when_the_account_gets_an_authenticator_elsewhere(
    app, db, make_user
):
    # Enrolled outside this session (the web enrolment also ends the other sessions, as
    # above; here the row survives, and the session's own record of its sign-in decides).
    member = make_user("officer", enrolled=False)
    web = app.test_client()
    assert web.post("/login", data=login_data(member)).status_code == 302
    secret, now = new_secret(), time.time()
    seed = unlock_personal_key(db.session.get(User, member.id), PASSWORD)
    assert enrol(db.session.get(User, member.id), seed, secret, code_at(secret, step_at(now)), now)
    db.session.commit()
    refused = web.get("/cases/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert web.get("/cases/").headers["Location"].startswith("/login")  # it stays ended


# --- a cap on wrong codes ---------------------------------------------------------------


def test_after_ten_wrong_codes_only_a_recovery_code_opens_and_the_owner_is_told(
    db, client, make_user
):
    member = make_user("police", enrolled=False)
    client.set_cookie(LANGUAGE_COOKIE, "en")
    client.post("/login", data=login_data(member))
    page = client.get("/account/second-factor").get_data(as_text=True)
    text = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    shown = client.post(
        "/account/second-factor", data={"code": code_at(secret, step_at(time.time()))}
    ).get_data(as_text=True)
    recovery = re.findall(r"<li>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</li>", shown)
    client.post("/logout")
    form = {"username": member.username, "password": PASSWORD}
    for _ in range(10):
        assert client.post("/login", data={**form, "code": "000000"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, member.id).second_factor_failures == 10
    _forget_last_step_only(db, member)
    right = code_at(secret, step_at(time.time()))
    locked = client.post("/login", data={**form, "code": right})
    assert locked.status_code == 200  # the right code no longer opens it
    assert _entries(db, "login.failure")[-1].detail == "second factor locked"
    opened = client.post("/login", data={**form, "code": recovery[0]}, follow_redirects=True)
    assert "(11 times)" in opened.get_data(as_text=True)  # told at once
    db.session.expire_all()
    assert db.session.get(User, member.id).second_factor_failures == 0


def _forget_last_step_only(db, user) -> None:
    db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    db.session.commit()
