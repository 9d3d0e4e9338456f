"""Wards, their residential groups, their desks and the seats at those desks."""

from sqlalchemy import select

from incidents.audit.service import record
from incidents.cases.keys import desk_key_info_for_member, desk_key_info_for_recovery
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import index_key_info, new_index_key
from incidents.crypto.keys import PUBLIC_KEY_BYTES, new_seed, open_with, public_key, seal_to
from incidents.extensions import db
from incidents.wards.models import (
    DESK_KINDS,
    GROUP_KINDS,
    PARTNER_KINDS,
    Desk,
    DeskMember,
    ResidentialGroup,
    Ward,
)


class WardError(ValueError):
    """A ward request the rules refuse."""


def create_ward(
    actor,
    *,
    code: str,
    name: str,
    recovery_seed: bytes | None = None,
    recovery_public_key: bytes | None = None,
) -> tuple[Ward, bytes | None]:
    """Create a ward with its desks (three core, four partners); returns it with its
    recovery key's seed.

    The recovery seed is returned once, to be shown to the people setting the ward up,
    and is never stored: only its public half is (the demo passes a fixed one). Each
    desk's private key is sealed to it, so the recovery key can seat a desk's first member.
    Given only recovery_public_key (a key made offline), the server never sees the seed,
    and None is returned in its place. The ward's index key (the duplicate hint's) is
    sealed to each of its desks and kept nowhere else, like the desks' own seeds.
    """
    code = code.strip().upper()
    if not code.isascii() or not code.isalnum() or len(code) > 16:
        raise WardError("ward code must be 1–16 letters or digits")
    if db.session.scalar(select(Ward.id).where(Ward.code == code)) is not None:
        raise WardError(f"ward code {code!r} is taken")
    if recovery_public_key is None:
        recovery_seed = recovery_seed or new_seed()
        recovery_public_key = public_key(recovery_seed)
    elif len(recovery_public_key) != PUBLIC_KEY_BYTES:
        raise WardError("this is not a recovery public key")
    ward = Ward(code=code, name=name.strip(), recovery_public_key=recovery_public_key)
    db.session.add(ward)
    db.session.flush()
    index_key = new_index_key()
    for kind in (*DESK_KINDS, *PARTNER_KINDS):
        desk_seed = new_seed()
        desk = Desk(
            ward=ward,
            kind=kind,
            public_key=public_key(desk_seed),
            recovery_sealed_key=b"",
        )
        db.session.add(desk)
        db.session.flush()  # the desk's id is part of what its keys are bound to
        desk.recovery_sealed_key = seal_to(
            ward.recovery_public_key, desk_seed, desk_key_info_for_recovery(desk.id, ward.id)
        )
        # The index key compares victims across the ward's cases: the core desks' alone;
        # a partner sees only what a referral shares, never a way to test a name.
        if kind in DESK_KINDS:
            desk.index_sealed_key = seal_to(
                desk.public_key, index_key, index_key_info(ward.id, desk.id)
            )
    record("ward.create", actor=actor, target=f"ward:{ward.id}", ward_id=ward.id)
    db.session.flush()
    return ward, recovery_seed


def add_group(actor, ward: Ward, *, name: str, kind: str | None = None) -> ResidentialGroup:
    """Add a residential group (tổ dân phố or bản) to a ward."""
    name = name.strip()
    if not name:
        raise WardError("a group needs a name")
    kind = kind or ("ban" if name.lower().startswith("bản") else "to_dan_pho")
    if kind not in GROUP_KINDS:
        raise WardError(f"group kind must be one of {', '.join(GROUP_KINDS)}")
    if any(group.name == name for group in ward.groups):
        raise WardError(f"group {name!r} already exists in this ward")
    group = ResidentialGroup(ward=ward, name=name, kind=kind)
    db.session.add(group)
    db.session.flush()
    record("group.create", actor=actor, target=f"group:{group.id}", ward_id=ward.id)
    return group


def ward_by_code(code: str) -> Ward | None:
    """Find a ward by its code."""
    return db.session.scalar(select(Ward).where(Ward.code == code.strip().upper()))


def desk_seed_by_recovery(desk: Desk, recovery_seed: bytes) -> bytes:
    """A desk's private seed, opened with the ward's recovery key."""
    if public_key(recovery_seed) != desk.ward.recovery_public_key:
        raise WardError("this is not the recovery key of this ward")
    try:
        return open_with(
            recovery_seed,
            desk.recovery_sealed_key,
            desk_key_info_for_recovery(desk.id, desk.ward_id),
        )
    except DecryptionError as error:
        raise WardError("the desk's key cannot be opened with this recovery key") from error


def may_sit_at(member, desk: Desk) -> bool:
    """Whether member's role fits desk: his own role's desk of his ward, or, for a
    partner, one partner desk of his ward (a second one is refused)."""
    if member.ward_id != desk.ward_id:
        return False
    if member.role == "partner":
        return desk.kind in PARTNER_KINDS and all(seat.desk_id == desk.id for seat in member.seats)
    return member.role == desk.kind


def grant_seat(actor, desk: Desk, member, desk_seed: bytes) -> DeskMember:
    """Seat member at desk by sealing the desk's key to him; only his own role's desk.

    desk_seed comes from someone who can already open the desk (a member's keyring) or
    from the recovery key: the administrator, who has neither, cannot grant.
    """
    if member.public_key is None:
        raise WardError(f"{member.username} has to choose his own password first (no key yet)")
    if not may_sit_at(member, desk):
        raise WardError(f"a {member.role} cannot sit at the {desk.kind} desk of this ward")
    if public_key(desk_seed) != desk.public_key:
        raise WardError("this is not the key of this desk")
    if any(seat.user_id == member.id for seat in desk.members):
        raise WardError(f"{member.username} already sits at this desk")
    seat = DeskMember(
        desk=desk,
        user_id=member.id,
        sealed_key=seal_to(
            member.public_key, desk_seed, desk_key_info_for_member(desk.id, member.id)
        ),
        granted_by_id=actor.id if actor is not None else None,
    )
    db.session.add(seat)
    record(
        "desk.grant",
        actor=actor,
        target=f"user:{member.id}",
        detail=f"desk:{desk.id}",
        ward_id=desk.ward_id,
    )
    db.session.flush()
    return seat


def record_refused_grant(actor, desk: Desk, member) -> None:
    """Audit a seat that was asked for and refused (a wrong key, not a member...)."""
    record(
        "desk.grant.refused",
        actor=actor,
        ward_id=desk.ward_id,
        target=f"user:{member.id}" if member is not None else None,
        detail=f"desk:{desk.id}",
    )
    db.session.flush()
