"""Account operations: create users, check passwords, sign-in bookkeeping."""

from sqlalchemy import select

from incidents.accounts.models import ROLE_CODES, User
from incidents.audit.service import record
from incidents.crypto.passwords import Argon2Params, hash_password, needs_rehash, verify_password
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.wards.models import ResidentialGroup, Ward

PASSWORD_MIN = 12
PASSWORD_MAX = 128
USERNAME_MAX = 64


class AccountError(ValueError):
    """An account request the rules refuse; the message says which rule."""


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive and trimmed."""
    return username.strip().lower()


def check_password_rules(password: str) -> None:
    """Refuse passwords outside 12–128 characters (checked before any hashing)."""
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"password must have at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"password must have at most {PASSWORD_MAX} characters")


def create_user(
    actor,
    *,
    ward: Ward,
    username: str,
    display_name: str,
    role: str,
    password: str,
    params: Argon2Params,
    groups: list[ResidentialGroup] = (),
) -> User:
    """Create an account of one role; a reporter leads at least one group of his ward."""
    username = normalise_username(username)
    if not username or len(username) > USERNAME_MAX or not username.isascii():
        raise AccountError("username must be 1–64 ASCII characters")
    if role not in ROLE_CODES:
        raise AccountError(f"unknown role {role!r}")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"username {username!r} is taken")
    groups = list(groups)
    if role == "reporter" and not groups:
        raise AccountError("a group leader must lead at least one residential group")
    if role != "reporter" and groups:
        raise AccountError("only group leaders lead residential groups")
    if any(group.ward_id != ward.id for group in groups):
        raise AccountError("every group must belong to the user's ward")
    check_password_rules(password)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        ward_id=ward.id,
        password_hash=hash_password(password, params),
        groups=groups,
    )
    db.session.add(user)
    db.session.flush()
    record("account.create", actor=actor, target=f"user:{user.id}", detail=role)
    return user


# Verified against when the username is unknown, so both failures cost the same time.
_dummy_hashes: dict[Argon2Params, str] = {}


def _dummy_hash(params: Argon2Params) -> str:
    if params not in _dummy_hashes:
        _dummy_hashes[params] = hash_password("unknown-user-placeholder", params)
    return _dummy_hashes[params]


def authenticate(username: str, password: str, params: Argon2Params) -> User | None:
    """Return the active user whose password matches, or None; audits success and failure."""
    username = normalise_username(username)
    user = None
    if len(password) <= PASSWORD_MAX and len(username) <= USERNAME_MAX:
        user = db.session.scalar(select(User).where(User.username == username))
        encoded = user.password_hash if user is not None else _dummy_hash(params)
        if not verify_password(password, encoded) or user is None or not user.active:
            user = None
    if user is None:
        # The attempted name is kept only if it is a real account: a mistyped password
        # in the username box must not land in the log.
        known = db.session.scalar(select(User.id).where(User.username == username))
        record("login.failure", target=f"user:{known}" if known else None)
        db.session.flush()
        return None
    if needs_rehash(user.password_hash, params):
        user.password_hash = hash_password(password, params)
    user.last_login_at = utcnow()
    record("login.success", actor=user, target=f"user:{user.id}")
    db.session.flush()
    return user


def record_refused_login() -> None:
    """Audit a sign-in whose form was refused before any password was checked."""
    record("login.failure", detail="form refused")


def record_logout(user) -> None:
    """Audit a sign-out."""
    record("logout", actor=user, target=f"user:{user.id}")
    db.session.flush()
