"""Argon2id password hashes in the PHC string format."""

import os
import re
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

SALT_BYTES = 16
HASH_BYTES = 32
_PHC_PARAMS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
# Two Argon2id computations with several lanes running at once in one process never
# return (cryptography 50 on OpenSSL 4: seen with the threaded development server). One at
# a time per process: on two cores that costs nothing, each one already uses them all.
ARGON2_LOCK = threading.Lock()


@dataclass(frozen=True)
class Argon2Params:
    """Cost parameters of an Argon2id hash."""

    memory_kib: int
    iterations: int
    lanes: int


def hash_password(password: str, params: Argon2Params) -> str:
    """Return the Argon2id PHC string of password, with a fresh random salt."""
    kdf = Argon2id(
        salt=os.urandom(SALT_BYTES),
        length=HASH_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with ARGON2_LOCK:
        return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password: str, encoded: str) -> bool:
    """Return True when password matches the PHC string, in constant time."""
    try:
        with ARGON2_LOCK:
            Argon2id.verify_phc_encoded(password.encode("utf-8"), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def needs_rehash(encoded: str, params: Argon2Params) -> bool:
    """Return True when the hash was made with other parameters than params."""
    match = _PHC_PARAMS.match(encoded)
    if not match:
        return True
    memory, iterations, lanes = (int(group) for group in match.groups())
    return (memory, iterations, lanes) != (params.memory_kib, params.iterations, params.lanes)
