"""The second factor of staff accounts: enrolment, checking a code, recovery codes.

A code is claimed with a conditional UPDATE, so two requests racing with the same code
(a replay sent at once) cannot both be accepted.
"""

import logging

from sqlalchemy import delete, func, select, update

from incidents.accounts.models import RecoveryCode, User
from incidents.audit.service import record
from incidents.crypto import DecryptionError
from incidents.crypto.totp import (
    CODE_PATTERN,
    matching_step,
    new_one_time_code,
    normalise_one_time_code,
    one_time_code_digest,
    open_secret,
    seal_secret,
)
from incidents.extensions import db
from incidents.timeutil import utcnow

log = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Wrong authenticator codes after the right password before only a recovery code will do
# (NIST SP 800-63B allows at most 100; the throttle already slows each try).
MAX_FAILURES = 10
CODE_MAX = 32  # longer input is no code of ours, and is refused before any work


def enrol(user: User, seed: bytes, secret: bytes, code: str, now: float) -> list[str] | None:
    """Take the authenticator whose secret this is, proven by one of its codes.

    Returns the new recovery codes (to be shown once), or None when the code is wrong.
    Any earlier authenticator and recovery codes of the account stop working.
    """
    step = matching_step(secret, _compact(code), now, None)
    if step is None:
        return None
    user.totp_secret_sealed = seal_secret(seed, secret, user.id)
    user.totp_last_step = step
    user.totp_enrolled_at = utcnow()
    record("account.second_factor", actor=user, target=f"user:{user.id}", detail="enrolled")
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes with fresh ones; returns them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_one_time_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        digest = one_time_code_digest(normalise_one_time_code(code), user.id)
        db.session.add(RecoveryCode(user_id=user.id, digest=digest))
    record("account.recovery_codes", actor=user, target=f"user:{user.id}")
    db.session.flush()
    return codes


def remove(user: User) -> None:
    """Forget the account's authenticator and recovery codes (its key is being reset)."""
    user.totp_secret_sealed = user.totp_last_step = user.totp_enrolled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def remaining_recovery_codes(user: User) -> int:
    """How many unused recovery codes the account has."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def verify(user: User, seed: bytes | None, code: str, now: float) -> str | None:
    """Check and use up a second factor: "totp" or "recovery" when it is good, else None.

    Without the personal seed the secret cannot be opened, so nothing is accepted. After
    MAX_FAILURES wrong codes only a recovery code is; a good factor resets the count, a
    wrong one adds to it.
    """
    factor = _verify(user, seed, _compact(code), now)
    if factor is None:
        db.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(second_factor_failures=User.second_factor_failures + 1)
            .execution_options(synchronize_session=False)
        )
    else:
        user.second_factor_failures = 0
    return factor


def locked(user: User) -> bool:
    """Whether wrong codes have shut the authenticator out, leaving the recovery codes."""
    return user.second_factor_failures >= MAX_FAILURES


def _verify(user: User, seed: bytes | None, code: str, now: float) -> str | None:
    if seed is None or user.totp_secret_sealed is None or len(code) > CODE_MAX:
        return None
    if CODE_PATTERN.fullmatch(code):
        if locked(user):
            return None
        try:
            secret = open_secret(seed, user.totp_secret_sealed, user.id)
        except DecryptionError:
            log.error("the second-factor secret did not open for user=%s", user.id)
            return None
        step = matching_step(secret, code, now, user.totp_last_step)
        return "totp" if step is not None and _claim_step(user, step) else None
    typed = normalise_one_time_code(code)
    if typed is not None and _claim_recovery_code(user, typed):
        record("account.recovery_code_used", actor=user, target=f"user:{user.id}")
        return "recovery"
    return None


def _compact(code: str | None) -> str:
    return "".join((code or "").split())


def _claim_step(user: User, step: int) -> bool:
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def _claim_recovery_code(user: User, code: str) -> bool:
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.digest == one_time_code_digest(code, user.id),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1
