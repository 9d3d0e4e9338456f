"""Operations on cases. Each one checks the policy, changes state, audits and flushes.

Callers (views, CLI, tests, benchmarks) pass the acting user and plain values; the
request or command commits once.
"""

import hmac
import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, insert, select, update

from incidents import access
from incidents.accounts.models import User
from incidents.audit.models import AuditEntry
from incidents.audit.service import record
from incidents.cases import clocks, duplicates
from incidents.cases.classify import context_flags, urgency
from incidents.cases.keys import MemberKeyring, seal_for_reporter, sealed_route
from incidents.cases.models import (
    CODED_FACTS,
    SEALED_FIELDS,
    Case,
    CaseDeadline,
    CaseEvent,
    CaseLink,
    CaseNote,
    CaseQuestion,
    CaseRoute,
    new_case_id,
)
from incidents.cases.routing import case_facts, decide_routing
from incidents.crypto.fields import new_data_key, open_text, seal_text
from incidents.crypto.keys import key_fingerprint
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import as_utc, utcnow, ward_today
from incidents.vocab import (
    ACTS,
    AGE_BANDS,
    CHANNELS,
    CHILD_AGE_BANDS,
    CHILD_CAREGIVERS,
    CONSENTS,
    GBV_TYPES,
    HARM_FORMS,
    KINDS,
    RECORDED_RECEIVING_POINTS,
    RELATIONSHIPS,
    SEXES,
    SOURCES,
    TRAFFICKING_INDICATORS,
    VICTIM_CIRCUMSTANCES,
    codes,
)
from incidents.wards.models import DESK_KINDS, ResidentialGroup, Ward
from incidents.wards.trust import KeyMismatch

SEALED_MAX_LENGTH = 4000
NOTE_MAX_LENGTH = 4000
# The reporter's own sealed details a desk corrected since: their field name in the context.
REPORTED_DETAILS = "reported_details"


class CaseError(ValueError):
    """A request the rules refuse; message is a code the web layer turns into text."""


class NotAllowed(CaseError):
    """The policy refused the action."""


@dataclass
class ReportData:
    """What a report says: clear categories, and the values to be sealed.

    A group leader (or a partner) gives the short form's facts; a desk member who records
    a report received elsewhere also says where and how it came (receiving_point, channel)
    and may classify it. Everything else defaults to "not known yet".
    """

    group_id: int
    kinds: list[str]
    harm_forms: list[str]
    immediate_danger: bool
    victim_sex: str
    victim_age_band: str
    source: str
    consent: str
    incident_date: date
    signs_of_crime: bool = False
    sealed: dict[str, str] = field(default_factory=dict)
    channel: str | None = None
    receiving_point: str | None = None
    victim_circumstances: list[str] = field(default_factory=list)
    perpetrator_relationship: str = "unknown"
    perpetrator_sex: str = "unknown"
    perpetrator_age_band: str = "unknown"
    # Asked only when they apply (a trafficking report; a child victim), else ignored.
    trafficking_indicators: list[str] = field(default_factory=list)
    child_serious_risk: bool | None = None
    child_caregiver: str | None = None
    # The desks' own coding, when the one recording it can already give it.
    acts: list[str] = field(default_factory=list)
    gbv_type: str | None = None
    # Another victim of the event of this case (its id): the two cases are linked.
    same_event_as: str | None = None


# Fields whose values must come from a vocabulary list.
_SINGLE_CHOICES = {
    "victim_sex": SEXES,
    "victim_age_band": AGE_BANDS,
    "perpetrator_relationship": RELATIONSHIPS,
    "perpetrator_sex": SEXES,
    "perpetrator_age_band": AGE_BANDS,
    "source": SOURCES,
    "consent": CONSENTS,
}
_OPTIONAL_CHOICES = {
    "channel": CHANNELS,
    "child_caregiver": CHILD_CAREGIVERS,
    "gbv_type": GBV_TYPES,
}
_MULTI_CHOICES = {
    "kinds": KINDS,
    "harm_forms": HARM_FORMS,
    "acts": ACTS,
    "victim_circumstances": VICTIM_CIRCUMSTANCES,
    "trafficking_indicators": TRAFFICKING_INDICATORS,
}


def groups_for(filer) -> list[ResidentialGroup]:
    """The residential groups a report of this filer may be about: a group leader's own;
    for the ward's desks and partners, every group of the ward."""
    return list(filer.groups) if filer.role == "reporter" else list(filer.ward.groups)


def receiving_point_of(filer, data: ReportData) -> str | None:
    """Where the report was received (Law 13/2022 Art. 19.1): a group leader and a partner
    receive it themselves; a desk member records where it was received."""
    if filer.role == "reporter":
        return "group_leader"
    if filer.role == "partner":
        return next((seat.desk.kind for seat in filer.seats), None)
    return data.receiving_point if data.receiving_point in RECORDED_RECEIVING_POINTS else None


def validate_report(filer, data: ReportData) -> None:
    """Raise CaseError naming the first field the rules refuse (the form checks first)."""
    if data.group_id not in {group.id for group in groups_for(filer)}:
        raise CaseError("group_id")
    for name, choices in _SINGLE_CHOICES.items():
        if getattr(data, name) not in codes(choices):
            raise CaseError(name)
    for name, choices in _OPTIONAL_CHOICES.items():
        if getattr(data, name) is not None and getattr(data, name) not in codes(choices):
            raise CaseError(name)
    for name, choices in _MULTI_CHOICES.items():
        if not set(getattr(data, name)) <= set(codes(choices)):
            raise CaseError(name)
    if not data.kinds:
        raise CaseError("kinds")
    # Abuse of a child is of a child: under 16 (a minor of 16 or 17 is reported as the
    # other kinds, and reaches the police all the same).
    if "child_abuse" in data.kinds and data.victim_age_band not in CHILD_AGE_BANDS:
        raise CaseError("victim_age_band")
    if receiving_point_of(filer, data) is None:
        raise CaseError("receiving_point")
    if filer.role in access.DESK_ROLES and data.channel is None:
        raise CaseError("channel")
    if data.incident_date > ward_today():
        raise CaseError("incident_date")
    if data.same_event_as is not None and _event_case(filer, data.same_event_as) is None:
        raise CaseError("same_event")
    for name, value in data.sealed.items():
        if name not in SEALED_FIELDS or len(value) > SEALED_MAX_LENGTH:
            raise CaseError(name)


def _event_case(filer, case_id: str) -> Case | None:
    """The case a report of another victim of the same event names, if the filer may see
    it: his own report (a leader, a partner), or a case his desk reads."""
    case = (
        db.session.get(Case, case_id) if isinstance(case_id, str) and len(case_id) == 32 else None
    )
    action = "case.track" if filer.role in access.FILER_ROLES else "case.read"
    if case is None or case.ward_id != filer.ward_id or not access.can(filer, action, case):
        return None
    return case


def add_link(user, case: Case, other: Case, kind: str) -> CaseLink:
    """Link two cases (vocab.CASE_LINKS), once, each timeline saying so; the caller has
    checked the policy. Idempotent."""
    first, second = sorted((case.id, other.id))
    existing = db.session.scalar(
        select(CaseLink).where(
            CaseLink.case_id == first, CaseLink.other_case_id == second, CaseLink.kind == kind
        )
    )
    if existing is not None:
        return existing
    made = CaseLink(case_id=first, other_case_id=second, kind=kind, linked_by_id=user.id)
    db.session.add(made)
    for one, two in ((case, other), (other, case)):
        db.session.add(
            CaseEvent(
                case_id=one.id,
                actor_id=user.id,
                kind="linked",
                detail={"kind": kind, "case": two.id},
            )
        )
    record("case.link", actor=user, target=case.id, detail=f"{kind}:{other.reference}")
    db.session.flush()
    return made


def _next_sequence(ward_id: int, year: int) -> int:
    # Filings of one ward take their numbers one after the other: the ward's row is locked
    # until the filing commits (PostgreSQL; on SQLite a request's transaction holds the
    # write lock from its first statement, see incidents._sqlite_begin_immediate). Racing
    # on the unique (ward, year, sequence) and retrying instead lost a report when eight
    # leaders sent at once: each round let one through, and the last ran out of retries.
    connection = db.session.connection()
    connection.execute(select(Ward.id).where(Ward.id == ward_id).with_for_update())
    current = connection.scalar(
        select(func.max(Case.sequence)).where(Case.ward_id == ward_id, Case.year == year)
    )
    return (current or 0) + 1


def file_report(
    filer,
    data: ReportData,
    submission_key: str | None = None,
    own_public_key: bytes | None = None,
) -> Case:
    """File a report: route, seal, record; returns the new case.

    A group leader or a partner files what he was told (access "case.file"); a desk
    member records a report received at the ward (the same action): the same sealing,
    routing, clocks and audit. Sealing needs only public keys: the case key goes to each
    routed desk and, for a leader or partner, to him (to read it back and answer questions);
    the server keeps no key that opens it. own_public_key is the filer's key as his
    session's private key gives it: his copy is sealed only if the row still holds it
    (trust.KeyMismatch otherwise), and every desk's key must carry the ward's signature.
    Without a session (the tests, the benchmarks) it is None.
    """
    if not access.can(filer, "case.file"):
        raise NotAllowed("case.file")
    validate_report(filer, data)
    if (
        filer.role in access.FILER_ROLES
        and own_public_key is not None
        and own_public_key != filer.public_key
    ):
        # His row no longer holds the key his session's private key gives: swapped since
        # he signed in. Nothing is sealed to it (SECURITY.md property 26).
        raise KeyMismatch("own key", f"user:{filer.id}", filer.ward_id)

    rule = decide_routing(
        case_facts(
            kinds=data.kinds,
            harm_forms=data.harm_forms,
            acts=data.acts,
            gbv_type=data.gbv_type,
            victim_age_band=data.victim_age_band,
            immediate_danger=data.immediate_danger,
            signs_of_crime=data.signs_of_crime,
        )
    )
    desks = list(rule.desks)
    if filer.role in access.DESK_ROLES and filer.role not in desks:
        desks.insert(0, filer.role)  # the desk that received it keeps it too
    # The questions asked only when they apply are kept only when they do.
    trafficking = "trafficking" in data.kinds
    child = data.victim_age_band in CHILD_AGE_BANDS
    received_at = utcnow()
    year = received_at.year
    sequence = _next_sequence(filer.ward_id, year)
    # The id is chosen before sealing: every ciphertext is bound to it.
    case = Case(
        id=new_case_id(),
        ward_id=filer.ward_id,
        group_id=data.group_id,
        reporter_id=filer.id,
        year=year,
        sequence=sequence,
        reference=f"{filer.ward.code}-{year}-{sequence:04d}",
        kinds=sorted(set(data.kinds)),
        harm_forms=sorted(set(data.harm_forms)),
        acts=sorted(set(data.acts)),
        gbv_type=data.gbv_type,
        context_flags=context_flags(
            data.gbv_type,
            set(data.kinds),
            data.perpetrator_relationship,
            data.victim_age_band,
            set(data.harm_forms),
            set(data.trafficking_indicators) if trafficking else set(),
        ),
        immediate_danger=data.immediate_danger,
        signs_of_crime=data.signs_of_crime,
        # A child to be protected within 12 hours is as urgent as danger now.
        urgency=urgency(
            data.immediate_danger or clocks.child_emergency_applies(data), "police" in desks
        ),
        status="new",
        victim_sex=data.victim_sex,
        victim_age_band=data.victim_age_band,
        victim_circumstances=sorted(set(data.victim_circumstances)),
        trafficking_indicators=sorted(set(data.trafficking_indicators)) if trafficking else [],
        child_serious_risk=data.child_serious_risk if child else None,
        child_caregiver=data.child_caregiver if child else None,
        perpetrator_relationship=data.perpetrator_relationship,
        perpetrator_sex=data.perpetrator_sex,
        perpetrator_age_band=data.perpetrator_age_band,
        # Someone who saw it himself learned of it in person.
        channel=data.channel or ("in_person" if data.source == "witnessed" else None),
        source=data.source,
        receiving_point=receiving_point_of(filer, data),
        consent=data.consent,
        # The one question covers sharing for every purpose; "not asked" leaves it open.
        consent_statistics=None if data.consent == "not_asked" else data.consent == "agreed",
        incident_date=data.incident_date,
        received_at=received_at,
        routing_reason=rule.reason,
        key_version=1,
        submission_key=submission_key,
        verification="pending",
        trafficking_purposes=[],
        child_abuse_forms=[],
        child_abuse_environments=[],
    )
    # What the reporter said, kept as he said it: the desks verify and correct the columns.
    case.reported = {name: getattr(case, name) for name in CODED_FACTS}
    data_key = new_data_key()
    for name, value in data.sealed.items():
        if value:
            setattr(case, name, seal_text(data_key, value, case.id, name, case.key_version))
    if filer.role in access.FILER_ROLES and own_public_key is not None:
        # His copy goes to the key his session's private key gives; a session without it
        # files without a copy for him (the desks still get the report), never to the row.
        case.reporter_sealed_key = seal_for_reporter(case, filer, own_public_key, data_key)
        case.reporter_sealed_to = own_public_key
    db.session.add(case)
    db.session.flush()
    # The case's first rows go in as plain INSERTs: a report is filed once and these rows
    # are only ever read back, so the ORM's bookkeeping would be pure cost on this path.
    connection = db.session.connection()
    connection.execute(
        insert(CaseRoute.__table__),
        [sealed_route(case, filer.ward.desk(kind), data_key, received_at) for kind in desks],
    )
    connection.execute(
        insert(CaseEvent.__table__),
        [
            {
                "case_id": case.id,
                "at": received_at,
                "actor_id": filer.id,
                "kind": "filed",
                "detail": {"receiving_point": case.receiving_point},
            },
            {
                "case_id": case.id,
                "at": received_at,
                "actor_id": None,
                "kind": "routed",
                "detail": {"desks": desks, "reason": rule.reason},
            },
        ],
    )
    for kind in clocks.clocks_at_filing(case):
        clocks.start(case, kind, received_at)
    # One entry: the case filed and the desks it went to (a later routing gets its own).
    record("case.file", actor=filer, target=case.id, detail=",".join(desks))
    notices.notify_desks(case, desks, "new_case")
    if data.same_event_as is not None:
        add_link(filer, case, _event_case(filer, data.same_event_as), "same_event")
    return case


@dataclass
class CaseContent:
    """The decrypted content of a case, as its reader may see it."""

    fields: dict[str, str]
    notes: list[tuple[CaseNote, str]]
    # The reasons typed for timeline steps, by event id (desk readers only).
    reasons: dict[int, str] = field(default_factory=dict)


def _reported_details(case: Case, data_key) -> dict[str, str]:
    """The reporter's own values of the sealed details a desk corrected since, if any
    (verification keeps them before the first correction)."""
    if case.reported_details is None:
        return {}
    return json.loads(
        open_text(data_key, case.reported_details, case.id, REPORTED_DETAILS, case.key_version)
    )


def read_case(user, case: Case, keyring: MemberKeyring) -> CaseContent:
    """Decrypt a case for a reader and audit the read; all or nothing (DecryptionError).

    A filer reads back what he wrote: the reporter's own values of the details a desk has
    corrected since, not the ward's verified record."""
    if not access.can(user, "case.read", case):
        raise NotAllowed("case.read")
    data_key = keyring.case_key(case)
    fields = {
        name: open_text(data_key, getattr(case, name), case.id, name, case.key_version)
        for name in SEALED_FIELDS
        if getattr(case, name) is not None
    }
    # Notes are the desks' working record (a shelter's address, say): never the leader's.
    desk_reader = user.role not in access.FILER_ROLES
    if not desk_reader:
        for name, value in _reported_details(case, data_key).items():
            if value:
                fields[name] = value
            else:
                fields.pop(name, None)
    notes = [
        (note, open_text(data_key, note.body, case.id, f"note:{note.id}", case.key_version))
        for note in case.notes
        if desk_reader
    ]
    reasons = {
        event.id: open_text(data_key, event.body, case.id, f"event:{event.id}", case.key_version)
        for event in case.events
        if desk_reader and event.body is not None
    }
    record("case.read", actor=user, target=case.id)
    db.session.flush()
    return CaseContent(fields=fields, notes=notes, reasons=reasons)


def add_note(user, case: Case, text: str, keyring: MemberKeyring) -> CaseNote:
    """Add a sealed note to a case the user can work on."""
    if not access.can(user, "case.note", case):
        raise NotAllowed("case.note")
    text = text.strip()
    if not text or len(text) > NOTE_MAX_LENGTH:
        raise CaseError("note")
    data_key = keyring.case_key(case)
    note = CaseNote(case_id=case.id, author_id=user.id, body=b"")
    db.session.add(note)
    db.session.flush()  # the note's id is part of its ciphertext's context
    note.body = seal_text(data_key, text, case.id, f"note:{note.id}", case.key_version)
    db.session.add(CaseEvent(case_id=case.id, actor_id=user.id, kind="note", detail={}))
    record("case.note", actor=user, target=case.id)
    db.session.flush()
    return note


WHY_MAX_LENGTH = 1000
# Receiving a case is its own reason; every other step says why, in the person's words.
WHY_OPTIONAL = frozenset({"acknowledged"})


class Conflict(CaseError):
    """Someone changed the case since the person acting saw it: nothing was changed."""


def _check_version(case: Case, seen_version: int | None) -> None:
    if seen_version is not None and seen_version != case.version:
        raise Conflict("version")


def _sealed_event(user, case: Case, kind: str, detail: dict, why: str, data_key) -> CaseEvent:
    """A timeline step whose typed reason is sealed under the case key (context: its id)."""
    event = CaseEvent(case_id=case.id, actor_id=user.id, kind=kind, detail=detail)
    db.session.add(event)
    if why:
        db.session.flush()  # the event's id is part of its ciphertext's context
        event.body = seal_text(data_key, why, case.id, f"event:{event.id}", case.key_version)
    return event


def change_status(
    user,
    case: Case,
    new_status: str,
    keyring: MemberKeyring,
    *,
    why: str = "",
    close_reason: str | None = None,
    merge_into: Case | None = None,
    seen_version: int | None = None,
) -> None:
    """Move a case along the workflow (access.TRANSITIONS), recording who, when and why.

    Closing needs a reason the user may give; closing as a duplicate merges the case into
    another open case of the ward he can read, and both timelines say so. seen_version is
    the version of the case the user acted on: if it moved since, Conflict, nothing changed.
    The keyring must open the case's key: a write needs the same proof as a read.
    """
    if not access.can(user, "case.change_status", case):
        raise NotAllowed("case.change_status")
    data_key = keyring.case_key(case)
    _check_version(case, seen_version)
    if new_status not in access.allowed_moves(user, case):
        raise CaseError("status")
    why = (why or "").strip()
    if len(why) > WHY_MAX_LENGTH or (not why and new_status not in WHY_OPTIONAL):
        raise CaseError("why")
    if new_status == "closed":
        if close_reason not in access.close_reasons_for(user):
            raise CaseError("close_reason")
        if (close_reason == "duplicate") != (merge_into is not None):
            raise CaseError("merge_into")
        if merge_into is not None and (
            merge_into.id == case.id
            or merge_into.ward_id != case.ward_id
            or merge_into.status == "closed"
            or not access.can(user, "case.read", merge_into)
        ):
            raise CaseError("merge_into")
    else:
        close_reason, merge_into = None, None
    if merge_into is not None:
        _join(user, case, merge_into, keyring)
    old_status = case.status
    case.status = new_status
    case.close_reason = close_reason
    case.merged_into_id = merge_into.id if merge_into is not None else None
    detail = {"from": old_status, "to": new_status}
    if close_reason:
        detail["reason"] = close_reason
    if merge_into is not None:
        detail["merged_into"] = merge_into.id
        # The case it joined keeps its own timeline and gains a step pointing back.
        db.session.add(
            CaseEvent(
                case_id=merge_into.id, actor_id=user.id, kind="merged", detail={"from": case.id}
            )
        )
        record("case.merge", actor=user, target=merge_into.id, detail=case.id)
    duplicates.index_case(user, case, keyring)
    _sealed_event(user, case, "status", detail, why, data_key)
    record("case.status", actor=user, target=case.id, detail=f"{old_status}>{new_status}")
    if new_status == "closed":
        _close_open_questions(user, case)
    # The chairman must handle or assign the case at once (Law 13/2022 Art. 20): his
    # first step on it is that. (Reading is not: a GET changes nothing.)
    if user.role == "chairman":
        clocks.meet(user, case, "chairman_informed")
    db.session.flush()


def _close_open_questions(user, case: Case) -> None:
    """A closed case waits for no answer: its open questions close with it, each on the
    timeline, so that the group leader is no longer asked (cases/questions.py)."""
    closed_at = utcnow()
    closed = db.session.scalars(
        update(CaseQuestion)
        .where(CaseQuestion.case_id == case.id, CaseQuestion.closed_at.is_(None))
        .values(closed_at=closed_at, closed_by_id=user.id)
        .returning(CaseQuestion.id)
    ).all()
    for question_id in sorted(closed):
        db.session.add(
            CaseEvent(
                case_id=case.id,
                at=closed_at,
                actor_id=user.id,
                kind="question_closed",
                detail={"question": question_id},
            )
        )
        record("question.close", actor=user, target=case.id, detail=str(question_id))


def _join(user, duplicate: Case, target: Case, keyring: MemberKeyring) -> None:
    """Let the case a duplicate joins carry on what the duplicate held.

    The target is claimed first (its version moved on only if it is still open as the user
    saw it), so two merges racing each other (A into B, B into A) cannot both pass. Every
    desk the duplicate reached is given the target too, and the duplicate's running clocks
    run on there (the earlier due time wins): closing the duplicate loses no one's case
    and stops no legal clock.
    """
    claimed = db.session.execute(
        update(Case)
        .where(Case.id == target.id, Case.version == target.version, Case.status != "closed")
        .values(version=Case.version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict("merge_into")
    db.session.expire(target, ["version"])
    now = utcnow()
    target_key = keyring.case_key(target)
    reached = {route.desk_id for route in target.routes}
    for route in duplicate.routes:
        if route.desk_id not in reached:
            db.session.add(CaseRoute(**sealed_route(target, route.desk, target_key, now)))
            db.session.add(
                CaseEvent(
                    case_id=target.id,
                    at=now,
                    actor_id=user.id,
                    kind="routed",
                    detail={"desks": [route.desk.kind], "reason": "merged"},
                )
            )
            record("case.route", actor=user, target=target.id, detail=route.desk.kind)
    for deadline in duplicate.deadlines:
        if deadline.met_at is not None:
            continue
        running = clocks.open_clock(target, deadline.kind)
        if running is None:
            db.session.add(
                CaseDeadline(
                    case_id=target.id,
                    kind=deadline.kind,
                    started_at=deadline.started_at,
                    due_at=deadline.due_at,
                )
            )
        elif as_utc(deadline.due_at) < as_utc(running.due_at):
            running.due_at = deadline.due_at


def meet_clock(user, case: Case, kind: str, keyring: MemberKeyring, *, why: str = "") -> None:
    """Record by hand that the act a clock asks for was done (access.CLOCK_ROLES)."""
    if not access.may_meet_clock(user, case, kind):
        raise NotAllowed("case.clock")
    data_key = keyring.case_key(case)
    why = (why or "").strip()
    if not why or len(why) > WHY_MAX_LENGTH:
        raise CaseError("why")
    if case.status == "closed" or clocks.meet(user, case, kind) is None:
        raise CaseError("clock")
    _sealed_event(user, case, "clock_note", {"clock": kind}, why, data_key)
    db.session.flush()


def route_to_desk(user, case: Case, desk, keyring: MemberKeyring) -> None:
    """Route a case to one more desk of its ward; only someone who can read it can.

    Routing is sealing: the reader's keyring opens the case key, which is then sealed to
    the new desk. The server alone could not do it.
    """
    if not access.can(user, "case.route", case):
        raise NotAllowed("case.route")
    # Never to a partner desk: a partner gets what a referral shares, not the case key.
    if (
        desk.ward_id != case.ward_id
        or desk.kind not in DESK_KINDS
        or desk.id in {route.desk_id for route in case.routes}
    ):
        raise CaseError("desk")
    routed_at = utcnow()
    db.session.add(CaseRoute(**sealed_route(case, desk, keyring.case_key(case), routed_at)))
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=routed_at,
            actor_id=user.id,
            kind="routed",
            detail={"desks": [desk.kind], "reason": "by_hand"},
        )
    )
    record("case.route", actor=user, target=case.id, detail=desk.kind)
    notices.notify_desks(case, [desk.kind], "new_case")
    db.session.flush()


def reporter_access(case: Case) -> str:
    """Whether the case's reporter can open his copy of the case key (clear columns only).

    "sealed": it is sealed to his key; "none": the case never had a copy for him (filed
    before end-to-end keys); "awaiting_key": his key was reset and he has not chosen his
    own password yet (which makes the new key); "lost": sealed to a key he had before,
    which a desk member may mend (reseal_for_reporter) while he still needs it.
    """
    if case.reporter_sealed_key is None:
        return "none"
    public = case.reporter.public_key
    if public is None:
        return "awaiting_key"
    return "sealed" if case.reporter_sealed_to == public else "lost"


def last_key_reset(user: User) -> AuditEntry | None:
    """The audit entry of the user's latest key reset (when, and by whom), if any."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "account.key_reset", AuditEntry.target == f"user:{user.id}")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()


def reporter_needs_key(case: Case) -> bool:
    """Whether the reporter would use the case key: within his read-back window, or to
    read and answer a question still open. Past both, resealing would only widen the
    reach of an account just reset."""
    reporter = case.reporter
    return access.can(reporter, "case.read", case) or any(q.is_open for q in case.questions)


def reseal_for_reporter(
    user, case: Case, keyring: MemberKeyring, *, checked_key: str, second
) -> None:
    """Seal the case key again to its reporter, whose copy is sealed to a key he lost.

    Only a reader of the case can (his keyring opens the key), and only to the key whose
    code (crypto.keys.key_fingerprint) he checked with the leader, who reads it from his
    account page: an administrator's reset followed by his own sign-in would otherwise be
    enough to read the case, and a second reset while the page was open would go unseen.
    His new key came from a code the administrator issued, so a second member, present,
    vouches too (second: wards.service.witness), as for a seat (SECURITY.md property 25).
    """
    if not access.can(user, "case.reseal_reporter", case):
        raise NotAllowed("case.reseal_reporter")
    reporter = case.reporter
    if not reporter.active or reporter_access(case) != "lost" or not reporter_needs_key(case):
        raise CaseError("reseal_not_needed")
    typed = "".join(checked_key.split()).replace("-", "").upper()  # as read out, or typed
    expected = key_fingerprint(reporter.public_key).replace("-", "")
    if not hmac.compare_digest(typed.encode(), expected.encode()):
        raise CaseError("reseal_key_changed")
    if second is None or second.id in (user.id, reporter.id):
        raise CaseError("reseal_needs_second")
    data_key = keyring.case_key(case)
    case.reporter_sealed_key = seal_for_reporter(case, reporter, reporter.public_key, data_key)
    case.reporter_sealed_to = reporter.public_key
    db.session.add(CaseEvent(case_id=case.id, actor_id=user.id, kind="reporter_resealed"))
    record(
        "case.reseal_reporter",
        actor=user,
        target=case.id,
        detail=(
            f"user:{reporter.id} key {key_fingerprint(reporter.public_key)} with user:{second.id}"
        ),
    )
    db.session.flush()


def visible_cases(user, statement=None, action: str = "case.read"):
    """A select of the cases the user may take action on (read, by default), for lists."""
    statement = statement if statement is not None else select(Case)
    return statement.where(access.case_scope(user, action))
