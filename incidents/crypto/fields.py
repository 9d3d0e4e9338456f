"""Per-case data keys and AES-256-GCM sealing of single field values.

Every value is sealed with a fresh 96-bit nonce, and its associated data binds it to
(case id, field name, key version): a ciphertext copied to another field or another case
fails to open instead of showing the wrong person's data.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto import DecryptionError

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def field_context(case_id: str, field: str, key_version: int) -> bytes:
    """Return the associated data that binds a value to its case, field and key version."""
    for part in (case_id, field):
        if "|" in part:
            raise ValueError("case ids and field names may not contain '|'")
    return f"incidents/field/v1|{case_id}|{field}|{key_version}".encode()


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt plaintext under key, bound to context; returns version || nonce || ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_sealed(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """Decrypt what seal() produced, or raise DecryptionError; never returns partial data."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_VERSION:
        raise DecryptionError("malformed ciphertext")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag as error:
        raise DecryptionError("ciphertext failed to authenticate") from error


def seal_text(key: bytes, text: str, case_id: str, field: str, key_version: int) -> bytes:
    """Seal a text value of one field of one case."""
    return seal(key, text.encode("utf-8"), field_context(case_id, field, key_version))


def open_text(key: bytes, sealed: bytes, case_id: str, field: str, key_version: int) -> str:
    """Open a text value sealed by seal_text() for exactly this case, field and version."""
    return open_sealed(key, sealed, field_context(case_id, field, key_version)).decode("utf-8")
