"""Server-side sessions: the cookie holds an opaque token and a secret, nothing else.

A signed-in session's data (the user, the CSRF token, flash messages and, with
end-to-end keys, the member's private key) lives in a database row, sealed with
AES-256-GCM under a key derived from a random secret that exists only in the cookie and
a server key that exists only in Redis or in memory (session_keys), never in the
database. The row is found by the SHA-256 of the token. Neither the database (nor a
backup) with the cookie, nor the cookie alone, yields the data. The cookie is a browser
session cookie: it is never written to the browser's disk to outlive the browser.
A session ends after SESSION_IDLE_TIMEOUT without a request or PERMANENT_SESSION_LIFETIME
after it began, or when its server key is forgotten; sign-out deletes its row, and every
sign-in deletes the rows past their timeouts (accounts.views).

An anonymous visitor's session (a CSRF token for the sign-in form, a flash message) holds
nothing worth a row: it travels in the cookie itself, sealed under a key derived from
SECRET_KEY, so that no anonymous request writes to the database.
"""

import hashlib
import secrets
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, select, update
from werkzeug.datastructures import CallbackDict

from incidents.accounts.models import SessionRecord
from incidents.accounts.session_keys import epoch_of, server_key
from incidents.crypto import DecryptionError
from incidents.crypto.fields import open_sealed, seal
from incidents.extensions import db
from incidents.timeutil import as_utc, utcnow

TOKEN_BYTES = 16  # 128 bits: the session id
SECRET_BYTES = 32  # 256 bits: the key of the session's data
# A request refreshes last_seen_at at most this often, so reading pages costs no write.
TOUCH_EVERY = timedelta(seconds=60)
# Flask's own session serializer: it keeps bytes, tuples and markup (flash messages).
_SERIALIZER = TaggedJSONSerializer()


ANONYMOUS_PREFIX = "a."
# What an anonymous visitor's sealed cookie may carry: the sign-in form's CSRF token and
# flash messages. Anything else (a key, a user id) is dropped when sealing and opening.
ANONYMOUS_KEYS = ("csrf_token", "_flashes")
_ANONYMOUS_CONTEXT = b"incidents/anonymous-session/v1"


def _anonymous_key(app) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_ANONYMOUS_CONTEXT).derive(
        app.config["SECRET_KEY"].encode()
    )


def _record_id(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def _context(record_id: str) -> bytes:
    return f"incidents/session/v2|{record_id}".encode()


def row_key(secret: bytes, server: bytes, record_id: str) -> bytes:
    """The key of a session row: both the cookie's secret and the server key are needed."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=server, info=_context(record_id)).derive(
        secret
    )


class ServerSession(CallbackDict, SessionMixin):
    """The session dict of one request, and what it needs to be saved again."""

    def __init__(self, initial=None, token=None, secret=None, created_at=None, last_seen=None):
        def on_update(session):
            session.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.secret = secret
        self.created_at = created_at
        self.last_seen = last_seen
        self.modified = False
        self.ended = False  # set when an existing session timed out on this request
        self.had_cookie = token is not None
        self._regenerate = False

    def regenerate(self) -> None:
        """Give this session a new token and secret (at sign-in: no fixation)."""
        self._regenerate = True
        self.modified = True


class ServerSessionInterface(SessionInterface):
    """Flask's session, kept server-side as described in the module docstring."""

    def open_session(self, app, request):
        session = self._load(app, request.cookies.get(self.get_cookie_name(app)))
        return session if session is not None else ServerSession()

    def _load(self, app, cookie: str | None) -> ServerSession | None:
        if cookie and cookie.startswith(ANONYMOUS_PREFIX):
            return _open_anonymous(app, cookie[len(ANONYMOUS_PREFIX) :])
        raw = _decode_cookie(cookie)
        if raw is None:
            return None
        token, secret = raw[:TOKEN_BYTES], raw[TOKEN_BYTES:]
        record_id = _record_id(token)
        record = db.session.get(SessionRecord, record_id)
        if record is None:
            return None
        now = utcnow()
        created, seen = as_utc(record.created_at), as_utc(record.last_seen_at)
        if (
            now - seen > app.config["SESSION_IDLE_TIMEOUT"]
            or now - created > app.config["PERMANENT_SESSION_LIFETIME"]
        ):
            return self._ended(record_id)
        server = server_key(epoch_of(created.timestamp()), create=False)
        if server is None:
            return self._ended(record_id)  # its server key is forgotten: it is over
        try:
            sealed_key = row_key(secret, server, record_id)
            data = _SERIALIZER.loads(open_sealed(sealed_key, record.data, _context(record_id)))
        except (DecryptionError, ValueError):
            return None
        return ServerSession(data, token=token, secret=secret, created_at=created, last_seen=seen)

    @staticmethod
    def _ended(record_id: str) -> ServerSession:
        db.session.execute(delete(SessionRecord).where(SessionRecord.id == record_id))
        db.session.commit()
        ended = ServerSession()
        ended.ended = ended.had_cookie = True
        return ended

    def save_session(self, app, session: ServerSession, response):
        name = self.get_cookie_name(app)
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": True,
            "samesite": self.get_cookie_samesite(app),
        }
        signed_in = _user_id(session) is not None
        if session.token is not None and (not signed_in or session._regenerate):
            # Signed out, or signed in anew: the old row goes, and its cookie with it.
            self._delete(session.token)
            session.token = None
            session.modified = True
        if not session:
            if session.had_cookie:
                response.delete_cookie(name, **cookie)
            return
        if not signed_in:
            if session.modified:
                # Only what an anonymous visitor needs, never a key, plus when it was issued.
                kept = {key: session[key] for key in ANONYMOUS_KEYS if key in session}
                kept["_issued"] = int(utcnow().timestamp())
                sealed = seal(
                    _anonymous_key(app), _SERIALIZER.dumps(kept).encode(), _ANONYMOUS_CONTEXT
                )
                value = ANONYMOUS_PREFIX + urlsafe_b64encode(sealed).decode()
                response.set_cookie(name, value, **cookie)
                response.vary.add("Cookie")
            return
        now = utcnow()
        new = session.token is None
        if new:
            session.token = secrets.token_bytes(TOKEN_BYTES)
            session.secret = secrets.token_bytes(SECRET_BYTES)
            session.created_at = now
        elif not session.modified and now - session.last_seen < TOUCH_EVERY:
            return
        record_id = _record_id(session.token)
        server = server_key(epoch_of(session.created_at.timestamp()), create=new)
        if server is None:  # forgotten while this request ran: the session is over
            self._delete(session.token)
            response.delete_cookie(name, **cookie)
            return
        sealed = seal(
            row_key(session.secret, server, record_id),
            _SERIALIZER.dumps(dict(session)).encode(),
            _context(record_id),
        )
        values = {"user_id": _user_id(session), "last_seen_at": now, "data": sealed}
        if new:
            device = {
                "client_address": (request.remote_addr or "")[:45] or None,
                "user_agent": request.user_agent.string[:160] or None,
            }
            db.session.add(SessionRecord(id=record_id, created_at=now, **values, **device))
        else:
            # UPDATE, never upsert: a row that sign-out or a password change deleted while
            # this request ran must stay deleted, and the cookie with it.
            updated = db.session.execute(
                update(SessionRecord).where(SessionRecord.id == record_id).values(**values)
            )
            if updated.rowcount == 0:
                db.session.rollback()
                response.delete_cookie(name, **cookie)
                return
        db.session.commit()
        # No max_age: a browser session cookie, never kept on disk past the browser's life.
        response.set_cookie(
            name, urlsafe_b64encode(session.token + session.secret).decode(), **cookie
        )
        response.vary.add("Cookie")

    @staticmethod
    def _delete(token: bytes) -> None:
        db.session.execute(delete(SessionRecord).where(SessionRecord.id == _record_id(token)))
        db.session.commit()


def _open_anonymous(app, value: str) -> ServerSession | None:
    if len(value) > 4096:
        return None
    try:
        sealed = urlsafe_b64decode(value.encode("ascii"))
        data = _SERIALIZER.loads(open_sealed(_anonymous_key(app), sealed, _ANONYMOUS_CONTEXT))
    except (DecryptionError, ValueError):
        return None
    if not isinstance(data, dict) or "_user_id" in data:
        return None  # a signed-in session is never carried in a cookie
    issued = data.get("_issued")
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if not isinstance(issued, int) or utcnow().timestamp() - issued > lifetime:
        return None
    session = ServerSession({key: data[key] for key in ANONYMOUS_KEYS if key in data})
    session.had_cookie = True
    return session


def _decode_cookie(cookie: str | None) -> bytes | None:
    if not cookie or len(cookie) > 128:
        return None
    try:
        raw = urlsafe_b64decode(cookie.encode("ascii"))
    except ValueError:
        return None
    return raw if len(raw) == TOKEN_BYTES + SECRET_BYTES else None


def _user_id(session) -> int | None:
    value = session.get("_user_id")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def end_sessions_of(user_id: int, *, keep: str | None = None) -> int:
    """Delete every session of a user (after a password change, say), but keep's.

    Returns how many ended.
    """
    condition = SessionRecord.user_id == user_id
    if keep is not None:
        condition &= SessionRecord.id != keep
    return db.session.execute(delete(SessionRecord).where(condition)).rowcount


def end_session_of(user_id: int, record_id: str) -> bool:
    """Delete one session of this user (by its row id); False if he has no such session."""
    ended = db.session.execute(
        delete(SessionRecord).where(SessionRecord.user_id == user_id, SessionRecord.id == record_id)
    )
    return ended.rowcount == 1


def sessions_of(user_id: int) -> list[SessionRecord]:
    """A user's sessions, the most recently used first."""
    return db.session.scalars(
        select(SessionRecord)
        .where(SessionRecord.user_id == user_id)
        .order_by(SessionRecord.last_seen_at.desc())
    ).all()


def record_id_of(session) -> str | None:
    """The row id of this request's session (None before its first save)."""
    token = getattr(session, "token", None)
    return _record_id(token) if token is not None else None


def presented_record_id(app, request) -> str | None:
    """The row id of the session whose cookie this request carries, even one the server
    has ended since (its row gone): which browser a request comes from."""
    interface = app.session_interface
    raw = _decode_cookie(request.cookies.get(interface.get_cookie_name(app)))
    return _record_id(raw[:TOKEN_BYTES]) if raw is not None else None


def purge_expired(idle: timedelta, lifetime: timedelta) -> int:
    """Delete sessions past either timeout; returns how many."""
    now = utcnow()
    result = db.session.execute(
        delete(SessionRecord).where(
            (SessionRecord.last_seen_at < now - idle) | (SessionRecord.created_at < now - lifetime)
        )
    )
    return result.rowcount
