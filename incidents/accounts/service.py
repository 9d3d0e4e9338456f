"""Account operations: create users and their key pairs, passwords, sign-in bookkeeping."""

import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from incidents.access import STAFF_ROLES, needs_second_factor
from incidents.accounts import factors
from incidents.accounts.models import ROLE_CODES, User
from incidents.accounts.password_policy import is_common
from incidents.accounts.sessions import end_sessions_of
from incidents.audit.service import record
from incidents.crypto import DecryptionError
from incidents.crypto.keys import (
    key_encryption_key,
    new_seed,
    open_with,
    public_key,
    seal_to,
    unwrap_seed,
    wrap_seed,
)
from incidents.crypto.passwords import Argon2Params, hash_password, needs_rehash, verify_password
from incidents.crypto.totp import new_one_time_code, normalise_one_time_code
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import as_utc, utcnow
from incidents.wards.models import DeskMember, ResidentialGroup, Ward
from incidents.wards.service import mark_left, seat_vouches_for
from incidents.wards.trust import trusted_recovery_key

log = logging.getLogger(__name__)

PASSWORD_MIN = 12
PASSWORD_MAX = 128
USERNAME_MAX = 64
# Plain ASCII names that print safely everywhere: pages, CSV exports, terminals.
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# What an account waiting for an activation code has instead of a password hash: no
# password verifies against it.
NO_PASSWORD = "!"  # noqa: S105


class AccountError(ValueError):
    """An account request the rules refuse; the message says which rule, in English for
    the command line, and reason names it for pages that speak the user's language."""

    def __init__(self, message: str, reason: str = "other"):
        super().__init__(message)
        self.reason = reason


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive and trimmed."""
    return username.strip().lower()


def check_password_rules(password: str, username: str | None = None) -> None:
    """Refuse passwords outside 12–128 characters, or too common (checked before hashing)."""
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"password must have at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"password must have at most {PASSWORD_MAX} characters")
    if is_common(password, username):
        raise CommonPassword("this password is too common or too easy to guess")


class CommonPassword(AccountError):
    """A password of the right length that is on the list of common ones, or like one."""


def create_user(
    actor,
    *,
    ward: Ward,
    username: str,
    display_name: str,
    role: str,
    password: str | None,
    params: Argon2Params,
    groups: list[ResidentialGroup] = (),
    chosen_by_owner: bool = False,
    lifetime: timedelta | None = None,
) -> User:
    """Create an account of one role; a reporter leads at least one group of his ward.

    The password is a first one, given for `lifetime` (see give_first_password), unless
    chosen_by_owner (the development demo and the tests): the key pair is made only when
    the owner chooses his own password. Without a password, the caller gives the account
    an activation code (see new_activation_code).
    """
    username = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "username must be 1–64 letters, digits, dots, dashes or underscores", "username"
        )
    if role not in ROLE_CODES:
        raise AccountError(f"unknown role {role!r}")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"username {username!r} is taken", "taken")
    groups = list(groups)
    if role == "reporter" and not groups:
        raise AccountError("a group leader must lead at least one residential group", "no_group")
    if role != "reporter" and groups:
        raise AccountError("only group leaders lead residential groups", "groups")
    if any(group.ward_id != ward.id for group in groups):
        raise AccountError("every group must belong to the user's ward")
    if password is not None:
        check_password_rules(password, username)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        ward_id=ward.id,
        ward=ward,
        password_hash=NO_PASSWORD,
        groups=groups,
        needs_own_password=True,
    )
    db.session.add(user)
    db.session.flush()  # the user's id is part of what his keys are bound to
    if password is not None and chosen_by_owner:
        user.password_hash = hash_password(password, params)
        _new_key_pair(user, password, params)
    elif password is not None:
        give_first_password(user, password, params, lifetime)
    record("account.create", actor=actor, target=f"user:{user.id}", detail=role, ward_id=ward.id)
    return user


def _new_key_pair(user: User, password: str, params: Argon2Params) -> bytes:
    """Make the user's key pair under his own password; returns the new seed."""
    seed = new_seed()
    user.public_key = public_key(seed)
    user.recovery_sealed_key = seal_to(
        trusted_recovery_key(user.ward), seed, recovery_info(user.id, user.ward_id)
    )
    _wrap_personal_key(user, seed, password, params)
    user.needs_own_password = False
    db.session.flush()
    return seed


def choose_own_password(user: User, new_password: str, params: Argon2Params) -> bytes:
    """The owner's first password of his own: it makes his key pair. Returns the seed.

    It must differ from the one he was given, which someone else knows.
    """
    check_password_rules(new_password, user.username)
    if not user.needs_own_password:
        raise AccountError("this account already has its own password")
    # The activation code counts in any form it may be typed in: the administrator saw it.
    if verify_password(_typed_secret(user, new_password), user.password_hash):
        raise AccountError("choose a password different from the one you were given")
    user.password_hash = hash_password(new_password, params)
    user.activation_expires_at = None
    seed = _new_key_pair(user, new_password, params)
    record("account.activate", actor=user, target=f"user:{user.id}")
    return seed


def password_context(user_id: int) -> str:
    """What a personal seed wrapped under the password-derived key is bound to."""
    return f"incidents/user-key/v1|{user_id}|password"


def recovery_info(user_id: int, ward_id: int) -> str:
    """What a personal seed sealed to the ward's recovery key is bound to."""
    return f"incidents/user-key/v1|{user_id}|recovery:{ward_id}"


def _params_text(params: Argon2Params) -> str:
    return f"{params.memory_kib},{params.iterations},{params.lanes}"


def _params_of(text: str) -> Argon2Params:
    memory, iterations, lanes = (int(part) for part in text.split(","))
    return Argon2Params(memory_kib=memory, iterations=iterations, lanes=lanes)


def _wrap_personal_key(user: User, seed: bytes, password: str, params: Argon2Params) -> None:
    """Wrap the seed under a fresh salt's Argon2id of the password (not the login hash)."""
    user.key_salt = os.urandom(16)
    user.key_params = _params_text(params)
    kek = key_encryption_key(password, user.key_salt, params)
    user.password_wrapped_key = wrap_seed(kek, seed, password_context(user.id))


def unlock_personal_key(user: User, password: str) -> bytes | None:
    """The user's personal seed, from his password; None if it awaits restoration."""
    if user.password_wrapped_key is None:
        return None
    kek = key_encryption_key(password, user.key_salt, _params_of(user.key_params))
    return unwrap_seed(kek, user.password_wrapped_key, password_context(user.id))


def change_password(
    user: User, current_password: str, new_password: str, params: Argon2Params
) -> None:
    """Change a password: the personal key is re-wrapped, nothing else changes.

    No case, desk or seat is touched: they are sealed to the personal key, not the password.
    """
    check_password_rules(new_password, user.username)
    if not verify_password(current_password, user.password_hash):
        raise AccountError("the current password is not correct")
    seed = unlock_personal_key(user, current_password)
    user.password_hash = hash_password(new_password, params)
    if seed is not None:
        _wrap_personal_key(user, seed, new_password, params)
    record("account.password", actor=user, target=f"user:{user.id}")
    db.session.flush()


def restore_with_recovery_key(
    actor, user: User, recovery_seed: bytes, new_password: str, params: Argon2Params
) -> None:
    """Give a member who forgot his password a new one, keeping his key (and his access).

    The ward's recovery key opens the copy of his seed sealed to it; the seed is then
    wrapped under the new password. Nothing else changes. Anyone can seal a seed of his
    own to the ward's public recovery key, so the copy counts only if a seat of his
    vouches for it: it opens to the desk's signed key, whose MAC names this key. A group
    leader (no seat) or a seat from before the MACs is reset instead (reset_password).
    """
    check_password_rules(new_password, user.username)
    if user.recovery_sealed_key is None:
        raise AccountError("this account has no key yet: its owner has to choose a password")
    if public_key(recovery_seed) != trusted_recovery_key(user.ward):
        raise AccountError("this is not the recovery key of the user's ward")
    try:
        seed = open_with(
            recovery_seed, user.recovery_sealed_key, recovery_info(user.id, user.ward_id)
        )
    except DecryptionError as error:
        raise AccountError("the user's key cannot be opened with this recovery key") from error
    if public_key(seed) != user.public_key or not any(
        seat_vouches_for(seat, seed) for seat in user.seats
    ):
        raise AccountError(
            "no seat of this account vouches for its recovery copy (a group leader, a seat "
            "granted before key MACs, or a copy swapped in the database): reset it instead "
            "('user reset'), and seat him again in person"
        )
    user.password_hash = hash_password(new_password, params)
    _wrap_personal_key(user, seed, new_password, params)
    end_sessions_of(user.id)  # a new password: every session of the old one ends
    record("account.restore", actor=actor, target=f"user:{user.id}", ward_id=user.ward_id)
    db.session.flush()


def codes_come_from_desks(ward: Ward) -> bool:
    """Whether a seated officer or chairman of the ward hands out its activation codes.

    Then the administrator, who makes and resets accounts, never sees one: with a code
    he could sign in as the account before its owner (SECURITY.md property 25). Until
    someone sits at those desks (a ward being set up), he issues them himself.
    """
    return any(
        seat.user.active for kind in ("officer", "chairman") for seat in ward.desk(kind).members
    )


def awaiting_code(ward: Ward) -> list[User]:
    """The ward's active accounts that wait for an activation code (made or reset, and
    none given yet, or the one given expired)."""
    now = utcnow()
    return [
        user
        for user in db.session.scalars(
            select(User)
            .where(User.ward_id == ward.id, User.active.is_(True), User.needs_own_password)
            .order_by(User.display_name)
        )
        if user.activation_expires_at is None or as_utc(user.activation_expires_at) <= now
    ]


def issue_activation_code(actor, user: User, params: Argon2Params, lifetime: timedelta) -> str:
    """A seated officer or chairman gives an account its activation code, in person."""
    if user not in awaiting_code(user.ward) or actor.ward_id != user.ward_id:
        raise AccountError("this account waits for no activation code", "no_code")
    code = new_activation_code(user, params, lifetime)
    record("account.activation_code", actor=actor, target=f"user:{user.id}")
    return code


def new_activation_code(user: User, params: Argon2Params, lifetime: timedelta) -> str:
    """Give the account a one-time activation code that expires; returns it (shown once).

    It stands in for a first password: at sign-in it leads only to choosing one's own.
    """
    code = new_one_time_code()
    user.password_hash = hash_password(normalise_one_time_code(code), params)
    user.activation_expires_at = utcnow() + lifetime
    user.needs_own_password = True
    db.session.flush()
    return code


def give_first_password(
    user: User, password: str, params: Argon2Params, lifetime: timedelta | None
) -> None:
    """A first password chosen by someone else (the operator at the command line).

    It is held to an activation code's terms, since someone else knows it too: it works
    once, until `lifetime` has passed, and leads only to choosing one's own.
    """
    if lifetime is None:
        raise ValueError("a password chosen for someone else needs a lifetime")
    check_password_rules(password, user.username)
    user.activation_expires_at = utcnow() + lifetime
    user.password_hash = hash_password(_typed_secret(user, password), params)
    user.needs_own_password = True
    db.session.flush()


def reset_password(actor, user: User, params: Argon2Params) -> int:
    """No password and no key, for a member whose key cannot be restored.

    The caller then issues an activation code (new_activation_code) or a first password
    (give_first_password). At his next sign-in he chooses his own password, which makes
    a new key pair, and enrols his authenticator again. What was sealed to the old key is
    lost to him: his seats (to be granted again by a desk member or with the recovery key)
    and the reports he filed. Returns how many seats he lost.
    """
    user.password_hash = NO_PASSWORD
    user.activation_expires_at = None
    user.public_key = user.recovery_sealed_key = None
    user.key_salt = user.key_params = user.password_wrapped_key = None
    user.needs_own_password = True
    factors.remove(user)  # its secret was sealed under the key that is now gone
    lost = _end_seats_and_sessions(user)
    record(
        "account.key_reset",
        actor=actor,
        target=f"user:{user.id}",
        detail=f"seats:{lost}",
        ward_id=user.ward_id,
    )
    db.session.flush()
    return lost


def _end_seats_and_sessions(user: User) -> int:
    """Take away every desk seat of the user and end his sessions; how many seats. He
    left those desks: their keys are due for renewal (wards.service.rotate_desk)."""
    lost = len(user.seats)
    mark_left([seat.desk for seat in user.seats])
    db.session.execute(delete(DeskMember).where(DeskMember.user_id == user.id))
    db.session.expire(user, ["seats"])
    end_sessions_of(user.id)
    return lost


def change_role(actor, user: User, role: str) -> int:
    """Give a staff member another staff role: his seats and sessions end with the old one.

    A group leader's account is bound to his groups and a staff account to its desks,
    so changing between the two means a new account. Returns how many seats he lost.
    """
    if role not in STAFF_ROLES or user.role not in STAFF_ROLES:
        raise AccountError("only staff roles can be changed; make a new account instead")
    if actor is not None and actor.id == user.id:
        raise AccountError("an administrator cannot change his own role")
    if role == user.role:
        return 0
    previous, user.role = user.role, role
    lost = _end_seats_and_sessions(user)
    record(
        "account.role",
        actor=actor,
        target=f"user:{user.id}",
        detail=f"{previous}->{role}",
        ward_id=user.ward_id,
    )
    db.session.flush()
    return lost


# Verified against when the username is unknown, so both failures cost the same time.
_dummy_hashes: dict[Argon2Params, str] = {}


def _dummy_hash(params: Argon2Params) -> str:
    if params not in _dummy_hashes:
        _dummy_hashes[params] = hash_password("unknown-user-placeholder", params)
    return _dummy_hashes[params]


@dataclass
class SignIn:
    """A successful sign-in: the user, his personal seed, and which second factor served."""

    user: User
    seed: bytes | None
    second_factor: str | None  # "totp", "recovery", or None (not needed or not enrolled)
    # Wrong codes typed after his right password since his last sign-in: he is told.
    wrong_codes: int = 0


def _spend_like_unlock(password: str, params: Argon2Params) -> None:
    """Do the work of opening a personal key, so that every refusal costs the same time."""
    key_encryption_key(password, b"\0" * 16, params)


def _typed_secret(user: User | None, password: str) -> str:
    """An activation code is compared in its canonical form (dashes and case are free)."""
    if user is not None and user.activation_expires_at is not None:
        return normalise_one_time_code(password) or password
    return password


def _activation_expired(user: User) -> bool:
    expires = user.activation_expires_at
    return expires is not None and utcnow() > as_utc(expires)


def sign_in(
    username: str, password: str, code: str | None, params: Argon2Params, now: float
) -> SignIn | None:
    """Check a username, password and (for staff) code; audits success and failure.

    Every refusal looks the same to the person signing in, and costs the same time: a
    password hash and a key derivation, whichever check failed.
    """
    username = normalise_username(username)
    user, reason = None, "password"
    if len(password) <= PASSWORD_MAX and len(username) <= USERNAME_MAX:
        user = db.session.scalar(select(User).where(User.username == username))
        encoded = user.password_hash if user is not None else _dummy_hash(params)
        if not verify_password(_typed_secret(user, password), encoded):
            user = None
        elif not user.active:
            user, reason = None, "deactivated"
        elif _activation_expired(user):
            user, reason = None, "activation code expired"
    seed = None
    if user is not None and user.password_wrapped_key is not None:
        try:
            seed = unlock_personal_key(user, password)
        except DecryptionError:  # a wrap out of step with the hash: no key, no crash
            log.error("personal key did not open for user=%s", user.id)
    else:
        _spend_like_unlock(password, params)
    factor, wrong_codes = None, 0
    if user is not None and needs_second_factor(user) and user.has_second_factor:
        wrong_codes, was_locked = user.second_factor_failures, factors.locked(user)
        factor = factors.verify(user, seed, code, now)
        if factor is None:
            user, reason = None, "second factor locked" if was_locked else "second factor"
    if user is None:
        # The attempted name is kept only if it is a real account: a mistyped password
        # in the username box must not land in the log.
        known = db.session.execute(
            select(User.id, User.ward_id).where(User.username == username)
        ).first()
        record(
            "login.failure",
            target=f"user:{known.id}" if known else None,
            detail=reason if known else None,
            ward_id=known.ward_id if known else None,
        )
        db.session.flush()
        return None
    if needs_rehash(user.password_hash, params) and user.activation_expires_at is None:
        user.password_hash = hash_password(password, params)
        if seed is not None:
            _wrap_personal_key(user, seed, password, params)
    if user.activation_expires_at is not None:
        # An activation code works once: this session chooses the password, or a new
        # code is needed. (It stays the hash that choose_own_password refuses to reuse.)
        user.activation_expires_at = min(as_utc(user.activation_expires_at), utcnow())
    user.last_login_at = utcnow()
    record("login.success", actor=user, target=f"user:{user.id}", detail=factor)
    db.session.flush()
    return SignIn(user=user, seed=seed, second_factor=factor, wrong_codes=wrong_codes)


def reauthenticate(user: User, password: str, code: str | None, seed: bytes | None, now: float):
    """Confirm, before a sensitive step, that the signed-in person is the account's owner.

    True when the password (and, for staff, a fresh second-factor code) is right; audited.
    """
    good = len(password) <= PASSWORD_MAX and verify_password(password, user.password_hash)
    if good and needs_second_factor(user):
        good = factors.verify(user, seed, code, now) is not None
    record(
        "account.reauth" if good else "account.reauth_failure",
        actor=user,
        target=f"user:{user.id}",
    )
    db.session.flush()
    return good


def set_active(actor, user: User, active: bool) -> None:
    """Deactivate (every session and seat ends at once) or reactivate an account."""
    if actor is not None and actor.id == user.id:
        raise AccountError("an administrator cannot deactivate his own account")
    user.active = active
    if not active:
        # He leaves his desks (their keys are due for renewal); a reactivation does not
        # seat him again: that takes a member, in person, as for anyone.
        _end_seats_and_sessions(user)
    record(
        "account.activate_again" if active else "account.deactivate",
        actor=actor,
        target=f"user:{user.id}",
    )
    db.session.flush()


def record_refused_login() -> None:
    """Audit a sign-in whose form was refused before any password was checked."""
    record("login.failure", detail="form refused")


def record_logout(user, quick: bool = False, idle: bool = False) -> None:
    """Audit a sign-out (quick: by the quick-exit button; idle: by the page, when the time
    without activity ran out)."""
    detail = "quick exit" if quick else "idle" if idle else None
    record("logout", actor=user, target=f"user:{user.id}", detail=detail)
    db.session.flush()


def record_sessions_ended(user, count: int) -> None:
    """Audit a member signing out his other devices."""
    record("account.sessions_end", actor=user, target=f"user:{user.id}", detail=str(count))
    db.session.flush()


EMAIL_MAX = 254  # RFC 5321: the longest path a mail server must accept
# An address as mail servers take it, in plain ASCII: a dot-atom local part (no quoting)
# and a domain of at least two labels. No space, line break or control character can
# pass, so an address can never add a header to a message.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)


def normalise_email(email: str | None) -> str | None:
    """The address trimmed, None when empty; AccountError("email") when it is not one."""
    email = (email or "").strip()
    if not email:
        return None
    local, _, _domain = email.rpartition("@")
    if len(email) > EMAIL_MAX or len(local) > 64 or not EMAIL_PATTERN.fullmatch(email):
        raise AccountError("not an e-mail address", "email")
    return email


def set_email(actor, user: User, email: str | None) -> bool:
    """Set or clear the address notices are e-mailed to; returns whether it changed.

    Group leaders have none: a message on a phone someone else may pick up could
    endanger them (their notices stay in the app). The audit says that the address
    changed, never what it is.
    """
    email = normalise_email(email)
    if email is not None and user.role == "reporter":
        raise AccountError("group leaders get their notices in the app only", "email_leader")
    if email == user.email:
        return False
    user.email = email
    record(
        "account.email",
        actor=actor,
        target=f"user:{user.id}",
        detail="set" if email else "cleared",
        ward_id=user.ward_id,
    )
    # The administrator could point a member's notices at a mailbox of his own: the
    # member is told, in the app, where only he reads it.
    if actor is not None and actor.id != user.id:
        notices.notify_user(user, None, "email_changed")
    db.session.flush()
    return True
