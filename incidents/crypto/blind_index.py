"""A blind index of a person: a keyed hash of the normalised name and birth year.

Two reports of the same person, spelled a little differently by two group leaders, give
the same index within a ward, so a desk member can be told "this may be a case you already
have"; two reports of the same person who caused the harm, "this person was reported
before". The index is HMAC-SHA256 under a per-ward random key (the index key) that is sealed
to the ward's desks only, never held by the server: see incidents.cases.duplicates.

The index is never stored as it is: each case keeps its own sealed under its case key, and
indexes are compared only in a desk member's session, over the cases he can read. Keyed
rather than a plain hash, so that whoever holds one case's key (its reporter, say) holds
no value he could test guessed names against.
"""

import hashlib
import hmac
import os
import re
import unicodedata

INDEX_KEY_BYTES = 32

# đ/Đ have no decomposition, so NFKD keeps them; Ð (U+00D0, the Icelandic eth) is often
# typed for Đ by keyboards and fonts that lack it, and folds to ð.
_LETTER_D = str.maketrans({"đ": "d", "ð": "d"})
# Anything that is not a letter or a digit separates words: spaces, dots, hyphens, commas.
_SEPARATORS = re.compile(r"[\W_]+")
_YEAR = re.compile(r"[0-9]+")


def new_index_key() -> bytes:
    """A fresh random index key for one ward."""
    return os.urandom(INDEX_KEY_BYTES)


def index_key_info(ward_id: int, desk_id: int) -> str:
    """What a ward's index key sealed to one of its desks is bound to."""
    return f"incidents/index-key/v1|ward:{ward_id}|desk:{desk_id}"


def normalise_name(name: str) -> str:
    """The name as the index compares it: no diacritics, no case, single spaces.

    "Nguyễn  Thị Lan", "nguyen thi lan" and "NGUYỄN THỊ LAN" are all "nguyen thi lan".
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", bare.translate(_LETTER_D)).strip()


def normalise_year(year: str) -> str:
    """The birth year as given, trimmed; empty unless it is digits only."""
    year = year.strip()
    return year if _YEAR.fullmatch(year) else ""


def victim_index(index_key: bytes, name: str, birth_year: str) -> str | None:
    """HMAC-SHA256(index key, normalised name | birth year) in hex; None without both."""
    return _index(index_key, "", name, birth_year)


def perpetrator_index(index_key: bytes, name: str, birth_year: str) -> str | None:
    """The same for a person who caused the harm, in a domain of its own: a victim's and a
    perpetrator's index never compare equal, even for one person."""
    return _index(index_key, "perpetrator|", name, birth_year)


def _index(index_key: bytes, domain: str, name: str, birth_year: str) -> str | None:
    if len(index_key) != INDEX_KEY_BYTES:
        raise ValueError("an index key is 32 bytes")
    name, year = normalise_name(name), normalise_year(birth_year)
    if not name or not year:
        return None
    message = f"{domain}{name}|{year}".encode()
    return hmac.new(index_key, message, hashlib.sha256).hexdigest()
