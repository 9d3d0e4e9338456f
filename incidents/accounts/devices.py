"""Known devices: a browser in which an account has signed in keeps a throttle of its own.

The per-account sign-in throttle is shared by everyone who types that username, so anyone
could spend it and keep the owner out (a police officer locked out while a case waits).
After a sign-in, the browser gets a cookie naming neither the account nor the person: a
random nonce and an HMAC binding it to the account's id. Its attempts on that account then
count against a throttle of the nonce's own, as strict as the shared one, and no longer
against the shared one (OWASP, "Slow down online guessing attacks with device cookies").
The cookie is sent to the sign-in page only; a sign-out deletes it with the rest of the
site's data, so a browser signed out of is a stranger again (one left signed in until
its session timed out stays known).
"""

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g, request, url_for
from sqlalchemy import select

from incidents.accounts.models import User
from incidents.accounts.service import USERNAME_MAX, normalise_username
from incidents.extensions import db

COOKIE = "known_device"
_CONTEXT = b"known device cookie"
_NONCE_BYTES = 16


def _key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(
        current_app.config["SECRET_KEY"].encode()
    )


def _tag(user_id: int, nonce: str) -> str:
    return hmac.new(_key(), f"{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()


def remember(response, user: User) -> None:
    """Mark this browser as one the user has signed in with."""
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    response.set_cookie(
        COOKIE,
        f"{nonce}.{_tag(user.id, nonce)}",
        max_age=int(current_app.config["KNOWN_DEVICE_LIFETIME"].total_seconds()),
        path=url_for("accounts.login"),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Strict",
    )


def forget(response) -> None:
    """A signed-out browser is a stranger again (Clear-Site-Data says so too, to browsers
    that honour it)."""
    response.delete_cookie(
        COOKIE,
        path=url_for("accounts.login"),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Strict",
    )


def known_nonce() -> str | None:
    """The nonce of this browser's cookie when it was given for the account being typed."""
    if "known_device" not in g:
        g.known_device = _checked_nonce()
    return g.known_device


def is_known() -> bool:
    return known_nonce() is not None


def is_stranger() -> bool:
    return known_nonce() is None


def _checked_nonce() -> str | None:
    nonce, _, tag = request.cookies.get(COOKIE, "").partition(".")
    username = normalise_username(request.form.get("username", ""))
    if not nonce or not tag or len(username) > USERNAME_MAX:
        return None
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    # The tag is computed for an unknown name too, so that no time tells the two apart.
    # (compared as bytes: the cookie may hold any character)
    matches = hmac.compare_digest(tag.encode(), _tag(user_id or 0, nonce).encode())
    return nonce if matches and user_id is not None else None
