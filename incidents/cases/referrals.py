"""Referrals to partner desks: consent first, and only what the referrer chooses to share.

GBVIMS: nothing is shared without the survivor's consent, unless the law's emergency
exception (danger to life or health) is recorded with its reason. A referral carries its
own random key, sealed with HPKE to the partner desk and, for the case's desks, under the
case key; the shared values and the message are sealed under it. The partner desk thus
opens exactly what was shared and never the case key (no CaseRoute row is made for it).
"""

import json
from dataclasses import dataclass, field

from sqlalchemy import select, update

from incidents import access
from incidents.audit.service import record
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseEvent, Referral, ReferralAnswer, new_case_id
from incidents.crypto.fields import (
    field_context,
    new_data_key,
    open_sealed,
    open_text,
    seal,
    seal_text,
)
from incidents.crypto.keys import open_with, seal_to
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.vocab import (
    CONSENT_GIVERS,
    CONSENT_MEANS,
    REFERRAL_BASES,
    REFERRAL_SHARES,
    codes,
)
from incidents.wards.models import PARTNER_KINDS
from incidents.wards.trust import trusted_desk_key

MESSAGE_MAX_LENGTH = 2000
WHY_MAX_LENGTH = 1000
NOTE_MAX_LENGTH = 2000
# The answers a partner may give, from each state (sent → accepted/declined → closed).
ANSWERS: dict[str, tuple[str, ...]] = {
    "sent": ("accepted", "declined"),
    "accepted": ("closed",),
    "declined": ("closed",),
}
# A referral still open at its desk: a second one to the same desk is refused meanwhile.
OPEN_STATES = frozenset({"sent", "accepted"})


class ReferralError(ValueError):
    """A referral request the rules refuse; message is a code the web layer turns into text."""


class NotAllowed(ReferralError):
    """The policy refused the action."""


def referral_key_info(referral_id: str, key_version: int, desk_id: int) -> str:
    """What a referral key sealed to a partner desk is bound to."""
    return f"incidents/referral-key/v1|referral|{referral_id}|{key_version}|desk:{desk_id}"


def _case_copy_context(case: Case, referral_id: str) -> bytes:
    return field_context(case.id, f"referral-key:{referral_id}", case.key_version)


def _seal(referral_key: bytes, referral: Referral, name: str, text: str) -> bytes:
    return seal_text(referral_key, text, referral.id, f"referral:{name}", referral.key_version)


def _open(referral_key: bytes, referral: Referral, name: str, sealed: bytes) -> str:
    return open_text(referral_key, sealed, referral.id, f"referral:{name}", referral.key_version)


def _shared_value(case: Case, name: str, case_key: bytes) -> str:
    """The text a shared field carries: a sealed case field, or codes as JSON."""
    if name == "victim_profile":
        return json.dumps({"sex": case.victim_sex, "age_band": case.victim_age_band})
    if name == "kinds":
        return json.dumps(list(case.kinds))
    sealed = getattr(case, name)
    return "" if sealed is None else open_text(case_key, sealed, case.id, name, case.key_version)


def _validate(case, desk, fields, basis, consent_by, consent_how, why, message) -> None:
    """Raise ReferralError naming the first thing refused; nothing is written before."""
    if desk is None or desk.ward_id != case.ward_id or desk.kind not in PARTNER_KINDS:
        raise ReferralError("desk")
    if not set(fields) <= set(codes(REFERRAL_SHARES)):
        raise ReferralError("fields")
    if basis not in codes(REFERRAL_BASES):
        raise ReferralError("basis")
    # Consent may be given after the report: a case whose victim did not agree, or was not
    # asked yet (cases.consent), is referred with the consent recorded now, or on
    # the emergency basis. Silence is never consent: who and how are both required.
    if basis == "consent":
        if consent_by not in codes(CONSENT_GIVERS):
            raise ReferralError("consent_by")
        if consent_how not in codes(CONSENT_MEANS):
            raise ReferralError("consent_how")
    elif not why or len(why) > WHY_MAX_LENGTH:
        raise ReferralError("why")
    if not message or len(message) > MESSAGE_MAX_LENGTH:
        raise ReferralError("message")
    if any(
        referral.desk_id == desk.id and referral.state in OPEN_STATES
        for referral in referrals_of(case)
    ):
        raise ReferralError("open")


def referrals_of(case: Case) -> list[Referral]:
    """The case's referrals, oldest first."""
    return list(
        db.session.scalars(
            select(Referral).where(Referral.case_id == case.id).order_by(Referral.referred_at)
        )
    )


def refer(
    user,
    case: Case,
    desk,
    *,
    fields,
    basis: str,
    consent_by: str | None,
    consent_how: str | None,
    why: str,
    message: str,
    keyring: MemberKeyring,
) -> Referral:
    """Refer a case to a partner desk of its ward, sharing the chosen fields and a message.

    Needs a recorded consent (who gave it, how; recorded by user, now) or the emergency
    basis with its reason, which is sealed under the case key on the timeline event.
    """
    if not access.can(user, "case.refer", case):
        raise NotAllowed("case.refer")
    why, message = (why or "").strip(), (message or "").strip()
    _validate(case, desk, set(fields), basis, consent_by, consent_how, why, message)
    fields = [name for name in codes(REFERRAL_SHARES) if name in set(fields)]
    case_key = keyring.case_key(case)  # a referral needs the same proof as a read
    referral_key = new_data_key()
    now = utcnow()
    referral = Referral(
        id=new_case_id(),
        case_id=case.id,
        desk_id=desk.id,
        referred_by_id=user.id,
        referred_at=now,
        fields=fields,
        basis=basis,
        consent_by=consent_by if basis == "consent" else None,
        consent_how=consent_how if basis == "consent" else None,
        state="sent",
        key_version=1,
    )
    referral.sealed_key = seal_to(
        trusted_desk_key(desk), referral_key, referral_key_info(referral.id, 1, desk.id)
    )
    referral.case_sealed_key = seal(case_key, referral_key, _case_copy_context(case, referral.id))
    referral.message = _seal(referral_key, referral, "message", message)
    for name in fields:
        setattr(
            referral, name, _seal(referral_key, referral, name, _shared_value(case, name, case_key))
        )
    db.session.add(referral)
    event = CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=user.id,
        kind="referred",
        detail={"desk": desk.kind, "basis": basis, "fields": fields, "referral": referral.id},
    )
    db.session.add(event)
    if basis == "emergency":
        db.session.flush()  # the event's id is part of its reason's context
        event.body = seal_text(case_key, why, case.id, f"event:{event.id}", case.key_version)
    record(
        "case.refer",
        actor=user,
        target=case.id,
        detail=f"referral:{referral.id} desk:{desk.kind} basis:{basis} fields:{','.join(fields)}",
    )
    db.session.flush()
    return referral


def _partner_key(referral: Referral, keyring: MemberKeyring) -> bytes:
    return open_with(
        keyring.desk_seed(referral.desk_id),
        referral.sealed_key,
        referral_key_info(referral.id, referral.key_version, referral.desk_id),
    )


@dataclass
class ReferralContent:
    """A referral opened: the values shared (by field code), the message, the answers."""

    referral: Referral
    values: dict[str, object]
    message: str
    answers: list[tuple[ReferralAnswer, str]] = field(default_factory=list)


def _content(referral: Referral, referral_key: bytes) -> ReferralContent:
    values: dict[str, object] = {}
    for name in referral.fields:
        text = _open(referral_key, referral, name, getattr(referral, name))
        values[name] = json.loads(text) if name in ("victim_profile", "kinds") else text
    answers = [
        (answer, _open(referral_key, referral, f"answer:{answer.id}", answer.note))
        if answer.note is not None
        else (answer, "")
        for answer in referral.answers
    ]
    return ReferralContent(
        referral=referral,
        values=values,
        message=_open(referral_key, referral, "message", referral.message),
        answers=answers,
    )


def open_referral(user, referral: Referral, keyring: MemberKeyring) -> ReferralContent:
    """The partner's view: what the referral shares, with the desk's key; audited."""
    if not access.can(user, "referral.read", referral):
        raise NotAllowed("referral.read")
    content = _content(referral, _partner_key(referral, keyring))
    record("referral.read", actor=user, target=referral.case_id, detail=f"referral:{referral.id}")
    db.session.flush()
    return content


def referrals_for_desks(user, case: Case, keyring: MemberKeyring) -> list[ReferralContent]:
    """The case's referrals as its desks see them (the partners' answers included)."""
    if not access.can(user, "case.refer", case):
        return []
    case_key = keyring.case_key(case)
    return [
        _content(
            referral,
            open_sealed(case_key, referral.case_sealed_key, _case_copy_context(case, referral.id)),
        )
        for referral in reversed(referrals_of(case))
    ]


def respond(user, referral: Referral, state: str, note: str, keyring: MemberKeyring) -> None:
    """A partner accepts, declines or closes a referral to his desk, with a sealed note.

    Declining says why. A state the referral has left (a colleague answered first) is
    refused, never overwritten.
    """
    if not access.can(user, "referral.answer", referral):
        raise NotAllowed("referral.answer")
    note = (note or "").strip()
    if state not in ANSWERS.get(referral.state, ()):
        raise ReferralError("state")
    if len(note) > NOTE_MAX_LENGTH or (state == "declined" and not note):
        raise ReferralError("note")
    referral_key = _partner_key(referral, keyring)
    previous, now = referral.state, utcnow()
    # Only from the state the partner saw: of two answers at once, the second is refused.
    moved = db.session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.state == previous)
        .values(state=state)
    )
    if moved.rowcount != 1:
        raise ReferralError("state")
    answer = ReferralAnswer(referral_id=referral.id, author_id=user.id, at=now, state=state)
    db.session.add(answer)
    db.session.flush()  # the answer's id is part of its note's context
    if note:
        answer.note = _seal(referral_key, referral, f"answer:{answer.id}", note)
    db.session.add(
        CaseEvent(
            case_id=referral.case_id,
            at=now,
            actor_id=user.id,
            kind="referral_answered",
            detail={"desk": referral.desk.kind, "state": state, "referral": referral.id},
        )
    )
    record(
        "referral.respond",
        actor=user,
        target=referral.case_id,
        detail=f"referral:{referral.id} {previous}>{state}",
    )
    db.session.flush()


def desk_referrals(user) -> list[Referral]:
    """The referrals to the partner's desk, newest first."""
    if not access.can(user, "referral.list"):
        return []
    return list(
        db.session.scalars(
            select(Referral)
            .where(Referral.desk_id.in_(user.desk_ids))
            .order_by(Referral.referred_at.desc(), Referral.id)
        )
    )
