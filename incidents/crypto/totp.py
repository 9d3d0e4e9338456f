"""The second factor: TOTP codes (RFC 6238) and one-time codes written on paper.

TOTP as every authenticator app speaks it: 6 digits, 30-second steps, HMAC-SHA1, a
160-bit secret. A code is accepted for the step before and after the current one (a phone
clock a little off) and never for a step already used, so a code seen over a shoulder is
useless once it has been typed.

The secret is stored sealed under a key derived from the member's personal seed: a copy of
the database alone computes no code, and the secret opens only when his password has
opened his seed at sign-in.
"""

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from incidents.crypto.fields import open_sealed, seal

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20
WINDOW_STEPS = 1
CODE_PATTERN = re.compile(r"[0-9]{6}")

# One-time codes (recovery codes, activation codes): 16 base32 characters, 80 bits, in
# groups of four; 0/1/8 typed for O/I/B are read as the letters they look like.
ONE_TIME_CODE_CHARACTERS = 16
_ONE_TIME_CODE = re.compile(r"[A-Z2-7]{16}")


def new_secret() -> bytes:
    """A fresh TOTP secret."""
    return os.urandom(SECRET_BYTES)


def secret_text(secret: bytes) -> str:
    """The secret as an authenticator app takes it when typed: base32 in groups of four."""
    text = base64.b32encode(secret).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP_SECONDS)  # noqa: S303 (RFC 6238's default)


def provisioning_uri(secret: bytes, account: str, issuer: str) -> str:
    """The otpauth:// address a QR code carries to the authenticator app."""
    return _totp(secret).get_provisioning_uri(account, issuer)


def step_at(now: float) -> int:
    """The time step (a counter of 30-second periods) that the Unix time now falls in."""
    return int(now // STEP_SECONDS)


def code_at(secret: bytes, step: int) -> str:
    """The code of one time step."""
    return _totp(secret).generate(step * STEP_SECONDS).decode()


def matching_step(secret: bytes, code: str, now: float, used_up_to: int | None) -> int | None:
    """The step within one of now's whose code this is, if it is later than used_up_to.

    None for a wrong code, a code outside the window and a code already used (a replay).
    Every candidate is compared, in constant time, whatever matches first.
    """
    if not CODE_PATTERN.fullmatch(code):
        return None
    current = step_at(now)
    found = None
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step).encode(), code.encode()):
            found = step
    if found is None or (used_up_to is not None and found <= used_up_to):
        return None
    return found


def _secret_key(seed: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"incidents/totp-key/v1"
    ).derive(seed)


def _secret_context(user_id: int) -> bytes:
    return f"incidents/totp-secret/v1|{user_id}".encode()


def seal_secret(seed: bytes, secret: bytes, user_id: int) -> bytes:
    """The secret sealed under the member's personal seed, bound to his account."""
    return seal(_secret_key(seed), secret, _secret_context(user_id))


def open_secret(seed: bytes, sealed: bytes, user_id: int) -> bytes:
    """The secret of seal_secret(); DecryptionError for another seed or account."""
    return open_sealed(_secret_key(seed), sealed, _secret_context(user_id))


def new_one_time_code() -> str:
    """A code to write down and type once: 'ABCD-EFGH-JKLM-NPQR' (80 bits)."""
    text = base64.b32encode(os.urandom(10)).decode()
    return "-".join(text[i : i + 4] for i in range(0, ONE_TIME_CODE_CHARACTERS, 4))


def normalise_one_time_code(text: str) -> str | None:
    """The canonical form of a typed one-time code, or None if it cannot be one."""
    compact = "".join(text.split()).replace("-", "").upper()
    compact = compact.replace("0", "O").replace("1", "I").replace("8", "B")
    return compact if _ONE_TIME_CODE.fullmatch(compact) else None


def one_time_code_digest(code: str, user_id: int) -> bytes:
    """What is stored of a recovery code: 80 random bits need no slow hash."""
    return hashlib.sha256(f"incidents/recovery-code/v1|{user_id}|{code}".encode()).digest()
