"""The audit trail's hash chain: canonical encoding, hashing and verification. Pure.

One chain for the whole installation, not one per ward: an administrator's or a
command's entries belong to no ward, a chain per ward would let entries move between
chains unnoticed, and one head is one thing to checkpoint and keep elsewhere.

Each entry's hash is SHA-256(previous hash || canonical encoding of its own fields), the
first entry's previous hash being 32 zero bytes. Editing, deleting, inserting or
reordering any entry breaks every hash after it; a signed checkpoint of (seq, hash)
kept outside the database also catches a truncated tail.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = bytes(32)
# The fields an entry's hash covers, in this order.
FIELDS = (
    "seq",
    "at",
    "ward_id",
    "actor_id",
    "actor_role",
    "action",
    "target",
    "client_address",
    "detail",
)


def _time(moment: datetime) -> str:
    # e.g. 2026-12-01T09:02:03.000456Z; isoformat is several times cheaper than strftime.
    if moment.tzinfo is not None:  # SQLite gives naive UTC back, PostgreSQL aware
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def canonical(entry) -> bytes:
    """The bytes an entry's hash covers: its fields as a compact JSON array."""
    values = [entry[name] for name in FIELDS]
    values[1] = _time(values[1])
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(previous: bytes, entry) -> bytes:
    """The hash of an entry after the entry whose hash is previous."""
    return hashlib.sha256(previous + canonical(entry)).digest()


@dataclass
class Verdict:
    """What the verifier found."""

    ok: bool
    count: int
    last_seq: int
    last_hash: bytes
    bad_seq: int | None = None
    reason: str = ""


def verify(entries: Iterable) -> Verdict:
    """Walk the entries in seq order (each a mapping with FIELDS, prev_hash and hash).

    Stops at the first entry that is out of sequence, does not link to the one before,
    or does not hash to what it says. Memory stays flat: entries are streamed.
    """
    previous, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        seq = entry["seq"]
        if seq != expected_seq:
            return Verdict(False, count, expected_seq - 1, previous, seq, "out of sequence")
        if bytes(entry["prev_hash"]) != previous:
            return Verdict(False, count, seq - 1, previous, seq, "does not follow the entry before")
        digest = entry_hash(previous, entry)
        if bytes(entry["hash"]) != digest:
            return Verdict(False, count, seq - 1, previous, seq, "its content was changed")
        previous, expected_seq, count = digest, seq + 1, count + 1
    return Verdict(True, count, expected_seq - 1, previous)
