"""Server-side sessions (SECURITY.md property 13): opaque cookie, new id, timeouts, sign-out."""

import json
import re
from base64 import urlsafe_b64decode
from datetime import timedelta

import pytest
from conftest import login_data, make_test_app
from sqlalchemy import delete, func, select, update

from incidents.accounts import session_keys
from incidents.accounts.models import SessionRecord
from incidents.accounts.session_keys import epoch_of, server_key
from incidents.accounts.sessions import row_key
from incidents.crypto import DecryptionError
from incidents.crypto.fields import open_sealed
from incidents.extensions import db as _db
from incidents.timeutil import utcnow
from incidents.web import PERSONAL_KEY

COOKIE = "session"


def _cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _sign_in(client, user):
    response = client.post("/login", data=login_data(user))
    assert response.status_code == 302
    return _cookie(client)


def _records(db):
    db.session.expire_all()
    return db.session.scalars(select(SessionRecord)).all()


def test_the_cookie_holds_only_a_token_and_a_secret(db, client, make_user):
    user = make_user("police")
    value = _sign_in(client, user)
    raw = urlsafe_b64decode(value)
    assert len(raw) == 48  # a 128-bit token and a 256-bit secret, nothing else
    for readable in (user.username.encode(), b"_user_id", b"csrf"):
        assert readable not in raw
    [record] = _records(db)
    # the row is found by the token's hash: the database holds neither token nor secret
    assert raw[:16].hex() not in record.id and len(record.id) == 64
    assert b"_user_id" not in record.data and user.username.encode() not in record.data
    for wrong_secret in (bytes(32), raw[16:][::-1]):
        try:
            open_sealed(wrong_secret, record.data, f"incidents/session/v2|{record.id}".encode())
        except DecryptionError:
            continue
        raise AssertionError("the session data opened without the cookie's secret")


def test_a_database_copy_and_a_live_cookie_open_no_seed(app, db, client, make_user):
    """The thief holds every row and the cookie, not the server key (Redis or memory)."""
    user = make_user("officer")
    raw = urlsafe_b64decode(_sign_in(client, user))
    secret = raw[16:]
    [record] = _records(db)
    context = f"incidents/session/v2|{record.id}".encode()
    with pytest.raises(DecryptionError):
        open_sealed(secret, record.data, context)  # the cookie's secret alone
    with pytest.raises(DecryptionError):
        open_sealed(row_key(secret, bytes(32), record.id), record.data, context)
    with app.app_context():  # the server, with its key, opens it: the test can fail
        server = server_key(epoch_of(record.created_at.timestamp()), create=False)
        assert server is not None
        opened = open_sealed(row_key(secret, server, record.id), record.data, context)
    assert PERSONAL_KEY.encode() in opened


def test_the_session_cookie_is_not_kept_on_disk_and_ends_with_its_server_key(
    app, db, client, make_user
):
    user = make_user("police")
    response = client.post("/login", data=login_data(user))
    set_cookie = next(
        header for header in response.headers.getlist("Set-Cookie") if header.startswith(COOKIE)
    )
    assert "Expires" not in set_cookie and "Max-Age" not in set_cookie
    assert client.get("/cases/").status_code == 200
    session_keys._memory.clear()  # a restart without Redis, or Redis forgetting the key
    assert client.get("/cases/").status_code == 302
    assert _records(db) == []  # the row it sealed is gone too


def test_a_sign_in_deletes_the_sessions_past_their_timeouts(app, db, client, make_user):
    first, second = make_user("police"), make_user("officer")
    _sign_in(client, first)
    db.session.execute(update(SessionRecord).values(last_seen_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    other = app.test_client()
    _sign_in(other, second)
    assert [record.user_id for record in _records(db)] == [second.id]


@pytest.fixture()
def csrf_web(app, db, tmp_path):
    """A client of an app with CSRF on (so the sign-in page opens an anonymous session)."""
    csrf_app = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), WTF_CSRF_ENABLED=True
    )
    yield csrf_app.test_client()
    with csrf_app.app_context():
        _db.engine.dispose()


def _csrf_sign_in(web, user):
    page = web.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = web.post("/login", data=login_data(user, csrf_token=token))
    assert response.status_code == 302
    return _cookie(web)


def test_sign_in_issues_a_new_session_id(db, csrf_web, make_user):
    user = make_user("officer")
    csrf_web.get("/login")
    before = _cookie(csrf_web)
    assert before.startswith("a.")  # the anonymous visitor's session: no row
    assert _records(db) == []
    first = _csrf_sign_in(csrf_web, user)
    assert first != before and not first.startswith("a.")
    logout_page = csrf_web.get("/cases/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', logout_page).group(1)
    csrf_web.post("/logout", data={"csrf_token": token})
    second = _csrf_sign_in(csrf_web, user)
    assert second != first
    assert len(_records(db)) == 1  # the first session's row is gone


def test_a_session_id_from_before_sign_in_is_not_signed_in(db, csrf_web, app, make_user):
    user = make_user("officer")
    csrf_web.get("/login")
    planted = _cookie(csrf_web)  # an attacker's fixed session
    _csrf_sign_in(csrf_web, user)
    other = app.test_client()
    other.set_cookie(COOKIE, planted)
    assert other.get("/cases/").status_code == 302


def test_sign_out_deletes_the_record_and_the_old_cookie_opens_nothing(db, client, app, make_user):
    user = make_user("chairman")
    stolen = _sign_in(client, user)
    assert client.get("/cases/").status_code == 200
    client.post("/logout")
    assert _records(db) == []
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/cases/").status_code == 302


def test_the_idle_timeout_ends_the_session(db, client, app, make_user):
    user = make_user("police")
    _sign_in(client, user)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    db.session.execute(
        update(SessionRecord).values(last_seen_at=utcnow() - idle - timedelta(seconds=1))
    )
    db.session.commit()
    response = client.get("/cases/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _records(db) == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "không hoạt động" in page  # "signed out after a time without activity"


def test_the_absolute_timeout_ends_an_active_session(db, client, app, make_user):
    user = make_user("police")
    _sign_in(client, user)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    db.session.execute(
        update(SessionRecord).values(created_at=utcnow() - lifetime - timedelta(seconds=1))
    )
    db.session.commit()
    assert client.get("/cases/").status_code == 302
    assert _records(db) == []


def test_an_active_session_is_kept_alive(db, client, app, make_user):
    user = make_user("police")
    _sign_in(client, user)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    db.session.execute(
        update(SessionRecord).values(last_seen_at=utcnow() - idle + timedelta(minutes=1))
    )
    db.session.commit()
    assert client.get("/cases/").status_code == 200
    [record] = _records(db)
    assert utcnow() - record.last_seen_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)


def test_forged_or_tampered_cookies_open_nothing(db, client, app, make_user):
    user = make_user("police")
    value = _sign_in(client, user)
    raw = bytearray(urlsafe_b64decode(value))
    raw[-1] ^= 1  # the right token with a wrong secret
    from base64 import urlsafe_b64encode

    [record] = _records(db)
    forgeries = [
        urlsafe_b64encode(bytes(raw)).decode(),
        record.id,  # what a database holder sees
        "a." + urlsafe_b64encode(json.dumps({"_user_id": str(user.id)}).encode()).decode(),
        "x" * 200,
        "",
    ]
    for forged in forgeries:
        web = app.test_client()
        web.set_cookie(COOKIE, forged)
        assert web.get("/cases/").status_code == 302, forged


def test_anonymous_visits_write_no_row(db, client):
    for url in ("/login", "/cases/", "/no-such-page", "/language/en"):
        client.get(url)
    client.post("/login", data={"username": "nobody", "password": "wrong password!!"})
    assert db.session.scalar(select(func.count()).select_from(SessionRecord)) == 0


def test_purge_deletes_only_expired_sessions(db, app, make_user):
    active, stale = make_user("police"), make_user("officer")
    for user in (active, stale):
        _sign_in(app.test_client(), user)
    db.session.execute(
        update(SessionRecord)
        .where(SessionRecord.user_id == stale.id)
        .values(last_seen_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sessions", "purge"])
    assert result.exit_code == 0 and "1 expired" in result.output
    assert [record.user_id for record in _records(db)] == [active.id]


def test_a_forged_remember_me_cookie_signs_nobody_in(db, app, make_user):
    # Flask-Login's "remember me" cookie is "<id>|<hmac with SECRET_KEY>": whoever holds
    # the secret could forge it. The app never honours it.
    from flask_login.utils import _cookie_digest

    officer = make_user("officer")
    with app.test_request_context():
        forged = f"{officer.id}|{_cookie_digest(str(officer.id))}"
    web = app.test_client()
    web.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), forged)
    assert web.get("/cases/").status_code == 302


def _saved(app, session) -> str:
    """Save a session as the end of a request would; returns the Set-Cookie header."""
    from flask import make_response

    from incidents.accounts.sessions import ServerSessionInterface

    with app.test_request_context():
        response = make_response("")
        ServerSessionInterface().save_session(app, session, response)
    return response.headers.get("Set-Cookie", "")


def test_a_request_in_flight_cannot_revive_a_deleted_session(db, client, app, make_user):
    from incidents.accounts.sessions import ServerSessionInterface

    user = make_user("police")
    cookie = _sign_in(client, user)
    with app.test_request_context():
        loaded = ServerSessionInterface()._load(app, cookie)  # a request begins...
    db.session.execute(delete(SessionRecord))  # ...and sign-out elsewhere deletes the row
    db.session.commit()
    loaded["touched"] = True  # the request changes its session, and saves it at its end
    header = _saved(app, loaded)
    assert _records(db) == []  # not re-inserted
    assert header.startswith(f"{COOKIE}=;")  # and the browser's cookie is removed


def test_the_anonymous_cookie_carries_only_its_own_keys_and_expires(db, app, monkeypatch):
    from incidents.accounts.sessions import ServerSession, ServerSessionInterface

    session = ServerSession({"csrf_token": "t", "_flashes": [("info", "m")], "key": b"k" * 32})
    session.modified = True
    value = _saved(app, session).split(";")[0].split("=", 1)[1]
    assert value.startswith("a.")
    with app.test_request_context():
        opened = ServerSessionInterface()._load(app, value)
    assert dict(opened) == {"csrf_token": "t", "_flashes": [("info", "m")]}
    # past the session lifetime an anonymous cookie opens nothing either
    later = utcnow() + app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(seconds=1)
    monkeypatch.setattr("incidents.accounts.sessions.utcnow", lambda: later)
    with app.test_request_context():
        assert ServerSessionInterface()._load(app, value) is None


def test_with_redis_the_server_key_lives_there_with_a_time_to_live(app, db, make_user, tmp_path):
    """Every worker and server shares the key through Redis, which forgets it after two
    lifetimes; the database never sees it."""
    import os
    import uuid

    import redis

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    shared = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        str(tmp_path / "redis-instance"),
        RATELIMIT_STORAGE_URI=url,
        RATELIMIT_KEY_PREFIX=prefix,
    )
    user = make_user("police")
    web = shared.test_client()
    _sign_in(web, user)
    [record] = _records(db)
    with shared.app_context():
        epoch = epoch_of(record.created_at.timestamp())
    name = f"incidents:session-key:{prefix}{epoch}"
    store = redis.Redis.from_url(url)
    try:
        lifetime = shared.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
        assert 0 < store.ttl(name) <= 2 * lifetime
        assert store.get(name) not in record.data
        assert web.get("/cases/").status_code == 200
        store.delete(name)  # Redis forgot it: the session is over
        assert web.get("/cases/").status_code == 302
    finally:
        store.delete(name)
        store.close()
        with shared.app_context():
            _db.engine.dispose()
