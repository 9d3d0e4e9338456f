"""Refuse new passwords that are common or follow an easily guessed pattern.

NIST SP 800-63B §5.1.1.2 (and OWASP ASVS 4.0 V2.1.7) asks that a new memorized secret be compared
against a list of values known to be commonly used, expected or compromised: passwords from
breach corpuses, dictionary words, repetitive or sequential characters ("aaaaaa", "1234abcd")
and context-specific words such as the username. A match is refused and the user asked for
another. It also says not to impose composition rules (a capital, a digit, a symbol): they make
passwords harder to remember, not harder to guess. So this is the only content check; the
length (12 to 128 characters) is checked by the caller, before this.

The users are residential-group leaders and ward staff in Vietnam. The list therefore also
holds common Vietnamese passwords, and the comparison ignores case, Vietnamese diacritics and
spaces: "Mật Khẩu 2024!" is refused like "matkhau2024!".

The list is the file common_passwords.txt beside this module (where it comes from, and its
licence, are in its header). It is read once, on first use. This module is pure: no Flask, no
database, no network.
"""

import re
import unicodedata
from collections.abc import Callable, Collection
from functools import cache
from importlib import resources

__all__ = ["is_common"]

_LIST_FILE = "common_passwords.txt"

# The rest of a password beside a weak part must be at least this long for the weak part to be
# tolerated: with fewer characters the whole is still within reach of a guessing attack that
# tries the weak part with every short ending (rules (c), (d) and (e)).
_ENOUGH_REST = 8

# Sequences whose stretches people type as "random": the alphabet, the digits ("0" follows "9"
# on the keyboard), keyboard rows unshifted and shifted, the letter rows read on one after the
# other ("qwertyuiopas"), keyboard columns ("1qaz") and keypad lines ("147", "159").
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "qwertyuiop{}|",
    "asdfghjkl;'",
    'asdfghjkl:"',
    "zxcvbnm,./",
    "zxcvbnm<>?",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "1qaz",
    "2wsx",
    "3edc",
    "4rfv",
    "5tgb",
    "6yhn",
    "7ujm",
    "8ik,",
    "9ol.",
    "0p;/",
    "147",
    "258",
    "369",
    "159",
    "357",
)
_MIN_RUN = 3  # "ab" next to "xy" is chance; "abc" is a run
# Every stretch of MIN_RUN or more characters of a sequence, forwards or backwards.
_RUNS = frozenset(
    seq[i:j]
    for base in _SEQUENCES
    for seq in (base, base[::-1])
    for i in range(len(seq))
    for j in range(i + _MIN_RUN, len(seq) + 1)
)
_LONGEST_RUN = max(map(len, _SEQUENCES))
_SHORT_UNIT = 4  # "abcd" repeated is refused whatever it is; longer units only if guessable

_Known = Callable[[str], bool]


def is_common(password: str, username: str | None = None) -> bool:
    """Whether a new password must be refused as too guessable.

    The password is compared without case, after Unicode NFKC and stripping surrounding spaces,
    and again without Vietnamese diacritics (đ as d) and without any spaces. It is refused if,
    in either form, it is:

    (a) a listed common password;
    (b) a listed password, or the username, with only digits and punctuation before and/or
        after it ("password2024!!", "!!!anhyeuem2024");
    (c) one character or a short unit repeated ("aaaaaaaaaaaa", "abcabcabcabc"), or a listed
        password repeated ("matkhaumatkhau");
    (d) made of keyboard, alphabet or digit runs ("123456789012", "qwertyuiopas", "1qaz2wsx3edc");
        (c) and (d) also hold for letters padded with fewer than 8 other characters
        ("abcdefghijkl2024");
    (e) mostly the username (4 characters or more): fewer than 8 characters are left when it
        is taken out.

    An empty password, or one of spaces only, is refused. Any string is accepted as input; the
    work is linear in its length, but call this after the length check all the same.
    """
    plain, bare = _forms(password)
    if not plain:
        return True
    user_plain, user_bare = _forms(username) if username else ("", "")
    return any(
        _refused(text, _user_tokens(user))
        for text, user in ((plain, user_plain), (bare, user_bare))
        if text
    )


def _forms(text: str) -> tuple[str, str]:
    """The two forms compared: NFKC, stripped and case-folded; then also bare of marks and spaces.

    Vietnamese is often typed without its diacritics (old phones, keyboards without an input
    method), so "mật khẩu" and "matkhau" are the same password to a guesser. NFD splits "ậ" into
    "a" and two combining marks, which are dropped; "đ" has no decomposition and is mapped by hand.
    """
    plain = unicodedata.normalize("NFKC", text).strip().casefold()
    decomposed = unicodedata.normalize("NFD", plain)
    no_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = "".join(no_marks.replace("đ", "d").split())
    return plain, unicodedata.normalize("NFC", bare)


@cache
def _common() -> frozenset[str]:
    """The listed passwords, in the bare form, read from the file once on first use.

    A missing file raises: refusing nothing would be a silent failure.
    """
    text = resources.files(__package__).joinpath(_LIST_FILE).read_text(encoding="utf-8")
    return frozenset(
        _forms(line)[1] for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@cache
def _longest_common() -> int:
    return max(map(len, _common()))


def _user_tokens(user: str) -> frozenset[str]:
    """The username and its parts of 4+ characters ("lan.nguyen": also "nguyen")."""
    if not user:
        return frozenset()
    parts = {part for part in re.split(r"[\W_]+", user) if len(part) >= 4}
    return frozenset({user} | parts)


def _refused(text: str, tokens: Collection[str]) -> bool:
    """Rules (a) to (e) on one form of the password; tokens come from the username."""

    def known(core: str) -> bool:
        return core in _common() or core in tokens

    longest = max([_longest_common(), *map(len, tokens)])
    if known(text) or _is_padded(text, known, longest):  # (a), (b)
        return True
    if _is_repetition(text, known, longest) or _is_runs(text):  # (c), (d)
        return True
    # (c), (d) on the letters with a short padding: "abcdefghijkl2024", "aaaaaaaaaaaa!".
    span = _letter_span(text)
    if span is not None:
        first, end = span
        core = text[first:end]
        rest = len(text) - len(core)
        if 0 < rest < _ENOUGH_REST and (_is_repetition(core, known, longest) or _is_runs(core)):
            return True
    # (e): every copy of the username taken out, too little is left. Short usernames are left
    # out, being found by chance inside ordinary words.
    return any(len(token) >= 4 and len(text.replace(token, "")) < _ENOUGH_REST for token in tokens)


def _letter_span(text: str) -> tuple[int, int] | None:
    """Where the letters start and end, or None when there are none."""
    first = next((i for i, ch in enumerate(text) if ch.isalpha()), None)
    if first is None:
        return None
    last = next(i for i in range(len(text) - 1, -1, -1) if text[i].isalpha())
    return first, last + 1


def _is_padded(text: str, known: _Known, longest: int) -> bool:
    """Rule (b): a known word with only digits and punctuation (anything but letters) around it."""
    n = len(text)
    span = _letter_span(text)
    if span is None:
        # Digits and punctuation only. The word must start or end the digits: were digits
        # allowed on both sides, almost any long number would be refused, since most contain a
        # listed number ("2000", "1984", "5150") somewhere inside.
        digits = [i for i, ch in enumerate(text) if ch.isalnum()]
        # Also with the punctuation around the digits taken off: "!!123456789!!" -> "123456789".
        inner = text[digits[0] : digits[-1] + 1] if digits else text
        return any(
            known(candidate[:k]) or known(candidate[-k:])
            for candidate in {text, inner}
            for k in range(1, min(len(candidate), longest) + 1)
        )
    # The word starts at or before the first letter and ends at or after the last one.
    first, end = span
    for i in range(max(0, end - longest), first + 1):
        for j in range(end, min(n, i + longest) + 1):
            if known(text[i:j]):
                return True
    return False


def _is_repetition(text: str, known: _Known, longest: int) -> bool:
    """Rule (c): a short unit repeated (the last copy may be cut), or a guessable unit repeated."""
    n = len(text)
    for size in range(1, min(_SHORT_UNIT, n // 2) + 1):
        unit = text[:size]
        if (unit * (n // size + 1))[:n] == text:
            return True
    # The smallest unit the text is whole copies of: text is found again in text + text at that
    # offset, and only at offset n when it is no repetition.
    size = (text + text).find(text, 1)
    if size >= n:
        return False
    unit = text[:size]
    return known(unit) or _is_padded(unit, known, longest) or _is_runs(unit)


def _is_runs(text: str) -> bool:
    """Rule (d): the text is a chain of runs of 3+ characters of a sequence, or of one character.

    Found left to right like a path: position i is reachable if the text up to i is such a
    chain. Most text has no run at its start, so this stops after a few characters.
    """
    n = len(text)
    if n < _MIN_RUN:
        return False
    reachable = [False] * (n + 1)
    reachable[0] = True
    furthest = 0
    for i in range(n):
        if i > furthest:
            return False
        if not reachable[i]:
            continue
        # A stretch of a sequence: a longer one contains the shorter, so stop at the first miss.
        for j in range(i + _MIN_RUN, min(n, i + _LONGEST_RUN) + 1):
            if text[i:j] not in _RUNS:
                break
            reachable[j] = True
            furthest = max(furthest, j)
        # One character repeated ("aaa").
        j = i + 1
        while j < n and text[j] == text[i] and j - i < _LONGEST_RUN:
            j += 1
            if j - i >= _MIN_RUN:
                reachable[j] = True
                furthest = max(furthest, j)
    return reachable[n]
