"""Which public keys the server may seal to (SECURITY.md property 26).

HPKE base mode authenticates no sender, so a key sealed to a swapped public key goes to
whoever swapped it. Whoever can write to the database must therefore not be able to choose
a key the server seals to:

- the ward's recovery key is **pinned** outside the database: a digest of its public half
  and of its signing key in the configuration (RECOVERY_KEY_PINS) or in a file of the
  instance folder, written when the ward is made (and printed on the recovery page);
- each desk's public key is **signed** with the ward's signing key, which is derived from
  the recovery seed and so exists only where the recovery key is typed;
- a member's key is bound to him by the member who seats him, after comparing its code
  with him in person (wards.service.grant_seat); a leader's own key is taken from his
  session (cases.keys.MemberKeyring.own_public_key).

A key that does not match what vouches for it raises KeyMismatch: the operation is refused
and audited (record_mismatch), never carried out to the wrong key.
"""

import hashlib
import hmac
import os
from pathlib import Path

from flask import current_app

from incidents.audit.service import record
from incidents.crypto.keys import (
    key_fingerprint,
    public_key,
    sign,
    signature_holds,
    signing_public_key,
)


class KeyMismatch(Exception):
    """A public key in the database is not the one that is vouched for."""

    def __init__(self, what: str, target: str, ward_id: int | None):
        super().__init__(f"the {what} of {target} is not the one vouched for")
        self.what = what
        self.target = target
        self.ward_id = ward_id


def ward_pin(recovery_public: bytes, signing_public: bytes) -> str:
    """The pin of a ward's recovery key: SHA-256 of its public half and its signing key."""
    return hashlib.sha256(
        b"incidents/recovery-pin/v1|" + recovery_public + b"|" + signing_public
    ).hexdigest()


def pins_file() -> Path:
    """Where this server keeps its pins: RECOVERY_KEY_PINS_FILE, or the instance folder's."""
    configured = current_app.config.get("RECOVERY_KEY_PINS_FILE")
    return Path(configured or Path(current_app.instance_path) / "recovery_key_pins")


# A pin no key matches: the file and the environment disagree about a ward.
_CONFLICT = "conflict"
# The mark of a ward whose desks were all signed: none is ever signed again.
_DESKS_SIGNED = "desks-signed"


def _pins() -> dict[str, tuple[str, bool]]:
    """Each ward code's pin, and whether its desks were all signed. The file's lines are
    appended, never rewritten: a later line may only mark the desks signed."""
    pins: dict[str, tuple[str, bool]] = {}
    path = pins_file()
    if path.exists():
        for line in path.read_text().splitlines():
            code, pin, *mark = line.split() + [""]
            if not code or not pin or pin.startswith("desk:"):
                continue
            known = pins.get(code)
            if known is not None and known[0] != pin:
                pins[code] = (_CONFLICT, True)
            else:
                pins[code] = (pin, _DESKS_SIGNED in mark or (known is not None and known[1]))
    # The environment may pin a ward the file does not know; it never overrides the file.
    for entry in (current_app.config.get("RECOVERY_KEY_PINS") or "").split(","):
        code, _, pin = entry.strip().partition("=")
        code, pin = code.strip().upper(), pin.strip().lower()
        if code and pin:
            known = pins.get(code)
            pins[code] = (pin, True) if known is None or known[0] == pin else (_CONFLICT, True)
    return pins


def _desk_key_digest(public: bytes) -> str:
    return hashlib.sha256(b"incidents/desk-key-pin/v1|" + public).hexdigest()


def _renewed_desk_keys() -> dict[tuple[str, int], str]:
    """The key each renewed desk has now, by (ward code, desk id): the latest line wins.
    A desk never renewed has its one signed key; a renewed one only its latest."""
    keys = {}
    path = pins_file()
    if path.exists():
        for line in path.read_text().splitlines():
            code, desk, digest = (line.split() + ["", "", ""])[:3]
            if desk.startswith("desk:") and desk[5:].isdigit() and digest:
                keys[(code, int(desk[5:]))] = digest
    return keys


def pin_desk_key(desk) -> None:
    """Record a renewed desk's new key on this server (an appended line of the pins file):
    an earlier key of the desk, though signed, is then refused (put back from a backup by
    someone who left the desk, it would send him every new case)."""
    descriptor = os.open(pins_file(), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(f"{desk.ward.code} desk:{desk.id} {_desk_key_digest(desk.public_key)}\n")


def pinned(ward) -> str | None:
    """The pin this server holds for the ward, if any."""
    entry = _pins().get(ward.code)
    return entry[0] if entry else None


def _desks_signed(ward) -> bool:
    entry = _pins().get(ward.code)
    return entry is not None and entry[1]


def pin_ward(ward, *, desks_signed: bool) -> str:
    """Pin the ward's recovery key on this server (an appended line of its file, mode 0600;
    only the command line writes it); returns the pin. A ward pinned already keeps its
    pin: a different one is a swapped key. desks_signed marks its desks all signed.
    """
    pin = ward_pin(ward.recovery_public_key, ward.signing_public_key)
    existing = pinned(ward)
    if existing is not None and not hmac.compare_digest(existing, pin):
        raise KeyMismatch("recovery key", f"ward:{ward.id}", ward.id)
    if existing is not None and (_desks_signed(ward) or not desks_signed):
        return pin
    line = f"{ward.code} {pin}" + (f" {_DESKS_SIGNED}" if desks_signed else "")
    descriptor = os.open(pins_file(), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(line + "\n")
    return pin


def trusted_recovery_key(ward) -> bytes:
    """The ward's recovery public key, once its pin vouches for it (else KeyMismatch)."""
    existing = pinned(ward)
    if (
        existing is None
        or ward.signing_public_key is None
        or not hmac.compare_digest(
            existing, ward_pin(ward.recovery_public_key, ward.signing_public_key)
        )
    ):
        raise KeyMismatch("recovery key", f"ward:{ward.id}", ward.id)
    return ward.recovery_public_key


def _desk_statement(desk) -> bytes:
    return (
        f"incidents/desk-key/v1|ward:{desk.ward_id}|desk:{desk.id}|{desk.kind}|".encode()
        + desk.public_key
    )


def sign_desk(desk, recovery_seed: bytes) -> None:
    """Vouch for the desk's public key with the ward's signing key."""
    desk.key_signature = sign(recovery_seed, _desk_statement(desk))
    record(
        "key.desk",
        target=f"desk:{desk.id}",
        detail=f"key {key_fingerprint(desk.public_key)}",
        ward_id=desk.ward_id,
    )


def trusted_desk_key(desk) -> bytes:
    """The desk's public key, once the pinned ward's signature vouches for it."""
    trusted_recovery_key(desk.ward)
    if desk.key_signature is None or not signature_holds(
        desk.ward.signing_public_key, desk.key_signature, _desk_statement(desk)
    ):
        raise KeyMismatch("desk key", f"desk:{desk.id}", desk.ward_id)
    renewed = _renewed_desk_keys().get((desk.ward.code, desk.id))
    if renewed is not None and not hmac.compare_digest(renewed, _desk_key_digest(desk.public_key)):
        raise KeyMismatch("desk key (an earlier one)", f"desk:{desk.id}", desk.ward_id)
    return desk.public_key


def certify_ward(ward, recovery_seed: bytes) -> int:
    """With the typed recovery key, at the command line: pin a ward made before signing
    keys and sign its desks, or sign the desks of a ward made with an offline key. Returns
    how many desks were signed.

    Only the recovery seed proves the ward's row, and only once: a ward whose desks this
    server marked signed has none signed again, so a database writer who drops a desk's
    signature (and swaps its key) gets a refusal here, never his key signed.
    """
    if public_key(recovery_seed) != ward.recovery_public_key:
        raise KeyMismatch("recovery key", f"ward:{ward.id}", ward.id)
    signing = signing_public_key(recovery_seed)
    if ward.signing_public_key is None:
        ward.signing_public_key = signing
    elif ward.signing_public_key != signing:
        raise KeyMismatch("signing key", f"ward:{ward.id}", ward.id)
    if _desks_signed(ward):
        for desk in ward.desks:
            trusted_desk_key(desk)  # a dropped or broken signature: refused
        return 0
    pin_ward(ward, desks_signed=False)  # refuses a pin that is not this key's
    for desk in ward.desks:
        if desk.key_signature is not None:
            trusted_desk_key(desk)  # a signature that is there must hold
    unsigned = [desk for desk in ward.desks if desk.key_signature is None]
    for desk in unsigned:
        sign_desk(desk, recovery_seed)
    pin_ward(ward, desks_signed=True)
    return len(unsigned)


def record_mismatch(error: KeyMismatch, actor=None) -> None:
    """Audit a refused seal (in the caller's transaction, after its rollback)."""
    record(
        "key.mismatch", actor=actor, target=error.target, detail=error.what, ward_id=error.ward_id
    )


def untrusted_wards(wards) -> list[str]:
    """The codes of the wards whose recovery key is not pinned here, or whose desk keys
    are not all vouched for once this server marked them signed (a ward made with an
    offline key takes no case before 'ward certify', and is not refused for it)."""
    refused = []
    for ward in wards:
        try:
            trusted_recovery_key(ward)
            for desk in ward.desks:
                if _desks_signed(ward) or desk.key_signature is not None:
                    trusted_desk_key(desk)
        except KeyMismatch:
            refused.append(ward.code)
    return refused
