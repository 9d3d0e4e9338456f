"""Known devices: a browser in which an account has signed in keeps a throttle of its own.

The per-account sign-in throttle is shared by everyone who types that username, so anyone
could spend it and keep the owner out (a police officer locked out while a case waits).
After a sign-in, the browser gets a cookie naming neither the account nor the person: a
random nonce, the day it was issued, and an HMAC binding both to the account's id and its
current password hash. Its attempts on that account then count against a throttle of the
nonce's own, as strict as the shared one, and no longer against the shared one (OWASP,
"Slow down online guessing attacks with device cookies"). So a copy of the cookie is worth
one more allowance at most, and only until the password changes (a change, a reset or a
restore), KNOWN_DEVICE_LIFETIME passes (checked here, not left to the browser), or the
server's secret changes. A sign-out deletes it with the rest of the site's data, so a
browser signed out of is a stranger again (one whose session timed out stays known).
"""

import hashlib
import hmac
import re
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g, request
from sqlalchemy import select

from incidents.accounts.models import User
from incidents.accounts.service import USERNAME_MAX, normalise_username
from incidents.extensions import db

_CONTEXT = b"known device cookie"
_NONCE_BYTES = 16
_VALUE = re.compile(r"([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([0-9a-f]{64})")
# What the sign-in form itself refuses (LoginForm): never sent to the database.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Computed for a name that is no account, so that no time tells the two apart.
_NO_ACCOUNT = (0, "")


def cookie_name() -> str:
    return current_app.config["KNOWN_DEVICE_COOKIE_NAME"]


def _key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(
        current_app.config["SECRET_KEY"].encode()
    )


def _tag(user_id: int, password_hash: str, nonce: str, issued: int) -> str:
    message = f"{user_id}:{nonce}:{issued}:{password_hash}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def _lifetime() -> int:
    return int(current_app.config["KNOWN_DEVICE_LIFETIME"].total_seconds())


def _cookie_attributes() -> dict:
    # Path / and no domain, as the __Host- prefix of production requires (SECURITY.md 14).
    secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
    return {"path": "/", "secure": secure, "httponly": True, "samesite": "Strict"}


def remember(response, user: User) -> None:
    """Mark this browser as one the user has signed in with."""
    nonce, issued = secrets.token_urlsafe(_NONCE_BYTES), int(time.time())
    value = f"{nonce}.{issued}.{_tag(user.id, user.password_hash, nonce, issued)}"
    response.set_cookie(cookie_name(), value, max_age=_lifetime(), **_cookie_attributes())


def forget(response) -> None:
    """A signed-out browser is a stranger again (Clear-Site-Data says so too, to browsers
    that honour it)."""
    response.delete_cookie(cookie_name(), **_cookie_attributes())


def known_nonce() -> str | None:
    """The nonce of this browser's cookie when it still holds for the account typed."""
    if "known_device" not in g:
        g.known_device = _checked_nonce()
    return g.known_device


def is_known() -> bool:
    return known_nonce() is not None


def is_stranger() -> bool:
    return known_nonce() is None


def _checked_nonce() -> str | None:
    found = _VALUE.fullmatch(request.cookies.get(cookie_name(), ""))
    typed = request.form.get("username", "")
    if found is None or len(typed) > 4 * USERNAME_MAX or _CONTROL.search(typed):
        return None
    nonce, issued, tag = found.group(1), int(found.group(2)), found.group(3)
    if not 0 <= time.time() - issued <= _lifetime():
        return None
    account = db.session.execute(
        select(User.id, User.password_hash).where(User.username == normalise_username(typed))
    ).first()
    expected = _tag(*(account or _NO_ACCOUNT), nonce, issued)
    return nonce if hmac.compare_digest(tag, expected) and account is not None else None
