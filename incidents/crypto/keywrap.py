"""Provisional wrapping of case data keys under one server key.

This is the single place "End-to-end keys" replaces with HPKE sealing to desks: callers
only ever ask wrap_case_key() / unwrap_case_key().
"""

import base64

from incidents.crypto import DecryptionError
from incidents.crypto.fields import KEY_BYTES, open_sealed, seal

WRAP_SCHEME = "server-aesgcm-v1"


def decode_server_key(encoded: str) -> bytes:
    """Decode a base64 server key and check that it is 256 bits."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as error:
        raise ValueError("SERVER_KEY is not valid base64") from error
    if len(key) != KEY_BYTES:
        raise ValueError("SERVER_KEY must decode to 32 bytes")
    return key


def _context(case_id: str, key_version: int) -> bytes:
    return f"incidents/case-key/{WRAP_SCHEME}|{case_id}|{key_version}".encode()


def wrap_case_key(server_key: bytes, data_key: bytes, case_id: str, key_version: int) -> bytes:
    """Wrap a case's data key under the server key, bound to the case id and key version."""
    return seal(server_key, data_key, _context(case_id, key_version))


def unwrap_case_key(server_key: bytes, wrapped: bytes, case_id: str, key_version: int) -> bytes:
    """Unwrap a case data key; raises DecryptionError for a key of another case or version."""
    data_key = open_sealed(server_key, wrapped, _context(case_id, key_version))
    if len(data_key) != KEY_BYTES:
        raise DecryptionError("unwrapped key has the wrong length")
    return data_key
