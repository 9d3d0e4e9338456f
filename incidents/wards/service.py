"""Wards, their residential groups, their desks and the seats at those desks."""

import hmac

from sqlalchemy import select

from incidents.accounts.models import User
from incidents.audit.models import AuditEntry
from incidents.audit.service import record
from incidents.cases.keys import desk_key_info_for_member, desk_key_info_for_recovery
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import index_key_info, new_index_key
from incidents.crypto.keys import (
    PUBLIC_KEY_BYTES,
    SIGNING_PUBLIC_BYTES,
    binding,
    key_fingerprint,
    new_seed,
    open_with,
    public_key,
    seal_to,
    signing_public_key,
)
from incidents.crypto.passwords import verify_password
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.wards import trust
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
    """A ward request the rules refuse; reason names which rule, for the pages."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


# The audit entries that say where an account's key came from.
_KEY_EVENTS = ("account.create", "account.activate", "account.key_reset")


def key_provenance(member) -> dict:
    """Where the member's key comes from, for whoever seats him: when and by whom the
    account was made or last reset, when its key was made and from which address.

    "issued": the key was made at a sign-in with a secret someone else gave (an
    activation code or a first password, which the administrator saw). Shown only: the
    rules never rest on the audit trail (an appended row could change it), and every seat
    needs a second seated member or the recovery key (SECURITY.md property 25).
    """
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target == f"user:{member.id}", AuditEntry.action.in_(_KEY_EVENTS))
        .order_by(AuditEntry.seq)
    ).all()
    made = next((e for e in reversed(entries) if e.action != "account.activate"), None)
    activated = next((e for e in reversed(entries) if e.action == "account.activate"), None)
    if activated is not None and made is not None and activated.seq < made.seq:
        activated = None  # reset since: no key yet, or one made some other way
    return {
        "given_at": made.at if made else None,
        "given_by": db.session.get(User, made.actor_id) if made and made.actor_id else None,
        "reset": made is not None and made.action == "account.key_reset",
        "key_made_at": activated.at if activated else None,
        "key_made_from": activated.client_address if activated else None,
        "issued": activated is not None,
    }


def _same_code(typed: str, public: bytes) -> bool:
    """Whether a key code as typed (any case, spaces or dashes) is public's."""
    compact = "".join(typed.split()).replace("-", "").upper()
    expected = key_fingerprint(public).replace("-", "")
    return hmac.compare_digest(compact.encode(), expected.encode())


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
    Given only recovery_public_key (a key made offline: its public half followed by its
    signing key), the server never sees the seed, and None is returned in its place; the
    desks then take cases once the recovery key's first use signs them (certify_ward).
    The ward is pinned on this server (wards.trust). The ward's index key (the duplicate
    hint's) is sealed to each of its desks and kept nowhere else, like the desks' seeds.
    """
    code = code.strip().upper()
    if not code.isascii() or not code.isalnum() or len(code) > 16:
        raise WardError("ward code must be 1–16 letters or digits")
    if db.session.scalar(select(Ward.id).where(Ward.code == code)) is not None:
        raise WardError(f"ward code {code!r} is taken")
    if recovery_public_key is None:
        recovery_seed = recovery_seed or new_seed()
        recovery_public_key = public_key(recovery_seed) + signing_public_key(recovery_seed)
    elif len(recovery_public_key) != PUBLIC_KEY_BYTES + SIGNING_PUBLIC_BYTES:
        raise WardError("this is not a recovery public key (make it with 'recovery-key new')")
    ward = Ward(
        code=code,
        name=name.strip(),
        recovery_public_key=recovery_public_key[:PUBLIC_KEY_BYTES],
        signing_public_key=recovery_public_key[PUBLIC_KEY_BYTES:],
    )
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
    record(
        "ward.create",
        actor=actor,
        target=f"ward:{ward.id}",
        detail=f"recovery key {key_fingerprint(ward.recovery_public_key)}",
        ward_id=ward.id,
    )
    if recovery_seed is not None:
        for desk in ward.desks:
            trust.sign_desk(desk, recovery_seed)
    trust.pin_ward(ward, desks_signed=recovery_seed is not None)
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
    """A desk's private seed, opened with the ward's recovery key.

    Only a ward pinned on this server (trust.KeyMismatch otherwise: 'ward certify').
    """
    if public_key(recovery_seed) != trust.trusted_recovery_key(desk.ward):
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


def witness(ward, granter, member, username: str, password: str, code: str, now: float):
    """The second member who vouches, in person, for a seat or for a leader's key: he
    sits at a core desk of the ward, and his password (which must open that seat, not
    merely match a row) and a fresh code from his authenticator are both right.
    WardError("witness") otherwise: the caller audits it as a failed sign-in of his."""
    from incidents.accounts import factors
    from incidents.accounts.service import normalise_username, unlock_personal_key

    second = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    refused = WardError("the second member's name, password or code is wrong", "witness")
    if (
        second is None
        or not second.active
        or second.ward_id != ward.id
        or second.id in (getattr(granter, "id", None), member.id)
        or len(password) > 256
        or not verify_password(password, second.password_hash)
    ):
        raise refused
    try:
        seed = unlock_personal_key(second, password)
        seat = next(
            seat
            for seat in second.seats
            if seat.desk.ward_id == ward.id and seat.desk.kind in DESK_KINDS
        )
        desk_seed = open_with(
            seed, seat.sealed_key, desk_key_info_for_member(seat.desk_id, second.id)
        )
    except (DecryptionError, StopIteration, TypeError) as error:
        raise refused from error
    # A seat row a database writer made seals a seed of his own: it must be the desk's,
    # as the ward's signature vouches for it.
    if public_key(desk_seed) != trust.trusted_desk_key(seat.desk):
        raise refused
    if factors.verify(second, seed, code or "", now) is None:
        raise refused
    return second


def record_refused_witness(username: str) -> None:
    """A second member's password or code refused: a failed sign-in of his account."""
    from incidents.accounts.service import normalise_username

    known = db.session.execute(
        select(User.id, User.ward_id).where(User.username == normalise_username(username))
    ).first()
    if known is not None:
        record("login.failure", target=f"user:{known.id}", detail="witness", ward_id=known.ward_id)
        db.session.flush()


def grant_seat(
    actor,
    desk: Desk,
    member,
    desk_seed: bytes,
    *,
    checked_code: str,
    by_recovery: bool = False,
    second=None,
) -> DeskMember:
    """Seat member at desk by sealing the desk's key to him; only his own role's desk.

    desk_seed comes from someone who can already open the desk (a member's keyring) or
    from the recovery key: the administrator, who has neither, cannot grant. checked_code
    is the code of the member's key as the granter typed it while the member read it out
    from his own account page (which shows his session's key): a key swapped in the row,
    or an account someone else activated, does not match. It also needs the recovery key
    or a second seated member, present (witness).
    """
    if member.public_key is None:
        raise WardError(f"{member.username} has to choose his own password first (no key yet)")
    if not may_sit_at(member, desk):
        raise WardError(f"a {member.role} cannot sit at the {desk.kind} desk of this ward")
    if public_key(desk_seed) != desk.public_key:
        raise WardError("this is not the key of this desk")
    if any(seat.user_id == member.id for seat in desk.members):
        raise WardError(f"{member.username} already sits at this desk")
    if not _same_code(checked_code, member.public_key):
        raise WardError("the key code does not match this account's key", "code")
    if not by_recovery and second is None:
        # Every key a member is seated with came from a secret someone else issued (the
        # administrator's activation code): one member's word for it is not enough.
        raise WardError("a seat needs the recovery key or a second member", "second")
    seat = DeskMember(
        desk=desk,
        user_id=member.id,
        sealed_key=seal_to(
            member.public_key, desk_seed, desk_key_info_for_member(desk.id, member.id)
        ),
        key_binding=_seat_binding(desk_seed, desk.id, member.id, member.public_key),
        granted_by_id=actor.id if actor is not None else None,
    )
    db.session.add(seat)
    vouched = "recovery key" if by_recovery else f"user:{second.id}" if second else "seat"
    record(
        "desk.grant",
        actor=actor,
        target=f"user:{member.id}",
        detail=f"desk:{desk.id} key {key_fingerprint(member.public_key)} with {vouched}",
        ward_id=desk.ward_id,
    )
    db.session.flush()
    return seat


def _seat_binding(desk_seed: bytes, desk_id: int, user_id: int, public: bytes) -> bytes:
    return binding(desk_seed, f"incidents/seat/v1|desk:{desk_id}|user:{user_id}|".encode() + public)


def seat_vouches_for(seat, personal_seed: bytes) -> bool:
    """Whether the seat opens, with this seed, to the desk's own signed key, and the
    desk's MAC names the seed's public key: then the seed is the member's, as checked."""
    try:
        desk_seed = open_with(
            personal_seed, seat.sealed_key, desk_key_info_for_member(seat.desk_id, seat.user_id)
        )
    except DecryptionError:
        return False
    return (
        public_key(desk_seed) == trust.trusted_desk_key(seat.desk)
        and seat.key_binding is not None
        and hmac.compare_digest(
            seat.key_binding,
            _seat_binding(desk_seed, seat.desk_id, seat.user_id, public_key(personal_seed)),
        )
    )


def bind_own_seats(member, personal_seed: bytes) -> int:
    """Give the member's seats granted before the desks' MACs their MAC, vouching for the
    key his own private key gives; returns how many. A seat that does not open with his
    key (its row swapped meanwhile) is left without one, and a renewal drops it."""
    own = public_key(personal_seed)
    bound = 0
    for seat in member.seats:
        if seat.key_binding is not None:
            continue
        try:
            desk_seed = open_with(
                personal_seed, seat.sealed_key, desk_key_info_for_member(seat.desk_id, member.id)
            )
        except DecryptionError:
            continue
        if public_key(desk_seed) == seat.desk.public_key:
            seat.key_binding = _seat_binding(desk_seed, seat.desk_id, member.id, own)
            bound += 1
    return bound


def mark_left(desks, when=None) -> None:
    """A member left these desks: their keys must be renewed (rotate_desk)."""
    for desk in desks:
        desk.rotation_due_since = desk.rotation_due_since or when or utcnow()


def remove_seat(actor, desk: Desk, member) -> None:
    """Take a member's seat at a desk away (he left the post); the desk's key is then due
    for renewal, and until it is renewed he could still open, from a copy of the
    database, what is sealed to it."""
    seat = next((seat for seat in desk.members if seat.user_id == member.id), None)
    if seat is None:
        raise WardError(f"{member.username} does not sit at this desk", "not_seated")
    db.session.delete(seat)
    mark_left([desk])
    record(
        "desk.remove",
        actor=actor,
        target=f"user:{member.id}",
        detail=f"desk:{desk.id}",
        ward_id=desk.ward_id,
    )
    db.session.flush()


def rotate_desk(actor, desk: Desk, recovery_seed: bytes, keep: set[int] | None = None) -> dict:
    """Renew a desk's key pair with the ward's recovery key, which opens the old one and
    signs the new one: every case and referral sealed to the desk is sealed again to the
    new key, and so is the ward's index key; the new desk key goes to each member whose
    key the desk's MAC still vouches for, and to nobody else (a member who left, one
    deactivated, a seat from before the MACs: seated again, in person). keep, when
    given, is who the recovery key's holder confirmed still holds the post, seeing the
    list: a seat row for someone else (made by a writer who knows the old desk seed, so
    its MAC holds) is dropped too. What the old key opened stays in the old copies of the
    database only. Returns what was done, counted.
    """
    from incidents.cases.keys import case_key_info_for_desk
    from incidents.cases.models import Case, CaseRoute, Referral
    from incidents.cases.referrals import referral_key_info

    # The ward's row, as a filing takes it: no case is sealed to the old key meanwhile.
    db.session.execute(select(Ward.id).where(Ward.id == desk.ward_id).with_for_update())
    db.session.refresh(desk)
    old_seed = desk_seed_by_recovery(desk, recovery_seed)
    fresh = new_seed()
    desk.public_key = public_key(fresh)
    trust.sign_desk(desk, recovery_seed)
    new_public = desk.public_key
    desk.recovery_sealed_key = seal_to(
        trust.trusted_recovery_key(desk.ward),
        fresh,
        desk_key_info_for_recovery(desk.id, desk.ward_id),
    )
    if desk.index_sealed_key is not None:
        info = index_key_info(desk.ward_id, desk.id)
        index_key = open_with(old_seed, desk.index_sealed_key, info)
        desk.index_sealed_key = seal_to(new_public, index_key, info)
    routes = db.session.execute(
        select(CaseRoute, Case.key_version)
        .join(Case, Case.id == CaseRoute.case_id)
        .where(CaseRoute.desk_id == desk.id)
    ).all()
    unreadable = 0
    for route, key_version in routes:
        info = case_key_info_for_desk(route.case_id, key_version, desk.id)
        unreadable += not _reseal(route, old_seed, new_public, info, actor, desk)
    referrals = db.session.scalars(select(Referral).where(Referral.desk_id == desk.id)).all()
    for referral in referrals:
        info = referral_key_info(referral.id, referral.key_version, desk.id)
        unreadable += not _reseal(referral, old_seed, new_public, info, actor, desk)
    kept, dropped = 0, 0
    for seat in list(desk.members):
        member = seat.user
        vouched = seat.key_binding is not None and hmac.compare_digest(
            seat.key_binding, _seat_binding(old_seed, desk.id, member.id, member.public_key or b"")
        )
        confirmed = keep is None or member.id in keep
        if not vouched or not member.active or not confirmed:
            db.session.delete(seat)
            record(
                "desk.grant.dropped",
                actor=actor,
                target=f"user:{member.id}",
                detail=f"desk:{desk.id} "
                + (
                    "key not vouched for"
                    if not vouched
                    else "inactive"
                    if not member.active
                    else "not confirmed"
                ),
                ward_id=desk.ward_id,
            )
            dropped += 1
            continue
        seat.sealed_key = seal_to(
            member.public_key, fresh, desk_key_info_for_member(desk.id, member.id)
        )
        seat.key_binding = _seat_binding(fresh, desk.id, member.id, member.public_key)
        kept += 1
    desk.rotation_due_since = None
    db.session.flush()
    # Last, once everything is sealed: from now on an earlier key of the desk is refused.
    # (Should the commit still fail, seals to the desk are refused until it is renewed.)
    trust.pin_desk_key(desk)
    done = {
        "routes": len(routes),
        "referrals": len(referrals),
        "unreadable": unreadable,
        "kept": kept,
        "dropped": dropped,
    }
    record(
        "desk.rotate",
        actor=actor,
        target=f"desk:{desk.id}",
        detail=f"key {key_fingerprint(new_public)} "
        + " ".join(f"{name}:{count}" for name, count in done.items()),
        ward_id=desk.ward_id,
    )
    db.session.flush()
    return done


def _reseal(row, old_seed: bytes, new_public: bytes, info: str, actor, desk) -> bool:
    """Seal a route's or a referral's key again to the desk's new key. One that does not
    open (tampered with) is audited and left as it is: it never stops the renewal."""
    try:
        row.sealed_key = seal_to(new_public, open_with(old_seed, row.sealed_key, info), info)
    except DecryptionError:
        record("case.decrypt_failure", actor=actor, detail=info[:120], ward_id=desk.ward_id)
        return False
    return True


def seat_by_recovery(actor, desk: Desk, member, recovery_seed: bytes, *, checked_code: str):
    """Seat member at desk with the ward's recovery key (its holder checked his key code)."""
    seed = desk_seed_by_recovery(desk, recovery_seed)
    return grant_seat(actor, desk, member, seed, checked_code=checked_code, by_recovery=True)


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
