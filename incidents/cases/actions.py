"""The desks' actions on a case: its handler, contact bans, protection measures, the
support the victim received and what became of the person who caused the harm.

Each operation checks the policy (access.CASE_ACTIONS), refuses bad input with a
service.CaseError code before anything changes, then changes state, writes a timeline
event and an audit entry (codes only) and flushes; the request or command commits. These
rows hold codes, ids and times in the clear, so the statistics count them with plain SQL;
the only typed text, a reason, is sealed under the case key.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from incidents import access
from incidents.accounts.models import User
from incidents.audit.service import record
from incidents.cases import clocks
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import (
    Case,
    CaseEvent,
    ContactBan,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.cases.service import (
    WHY_MAX_LENGTH,
    CaseError,
    Conflict,
    NotAllowed,
    _check_version,
    _sealed_event,
)
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import WARD_ZONE, as_utc, utcnow, ward_today
from incidents.vocab import (
    CONTACT_BAN_REQUESTERS,
    PROTECTION_MEASURES,
    SUPPORT_SERVICES,
    codes,
)
from incidents.wards.models import DeskMember

CLOSED = "closed"
GRANTED, REFUSED = "granted", "refused"


def _allow(user, action: str, case: Case, keyring: MemberKeyring) -> bytes:
    """Check the policy and open the case key: a write needs the same proof as a read."""
    if not access.can(user, action, case):
        raise NotAllowed(action)
    return keyring.case_key(case)


def _open(case: Case) -> None:
    if case.status == CLOSED:
        raise CaseError("closed")


def _chairman_step(user, case: Case) -> None:
    # His first step on the case is handling it (Law 13/2022 Art. 20), as in change_status.
    if user.role == "chairman":
        clocks.meet(user, case, "chairman_informed")


def _event(user, case: Case, kind: str, detail: dict) -> CaseEvent:
    event = CaseEvent(case_id=case.id, actor_id=user.id, kind=kind, detail=detail)
    db.session.add(event)
    return event


# --- The handler --------------------------------------------------------------------------


def handler_candidates(case: Case) -> list[User]:
    """Who may handle the case: active desk members seated at a desk it is routed to."""
    desk_ids = [route.desk_id for route in case.routes]
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(select(DeskMember.user_id).where(DeskMember.desk_id.in_(desk_ids))),
                User.ward_id == case.ward_id,
                User.role.in_(access.DESK_ROLES),
                User.active.is_(True),
            )
            .order_by(User.display_name, User.id)
        )
    )


def assign_handler(
    user, case: Case, handler: User | None, keyring: MemberKeyring, *, seen_version=None
) -> None:
    """Make handler the case's handler (the chairman only); meets the chairman's clock.

    seen_version is the version of the case the chairman acted on: if it moved since,
    Conflict, nothing changed (a race past this check is SQLAlchemy's StaleDataError).
    """
    _allow(user, "case.assign_handler", case, keyring)
    _check_version(case, seen_version)
    _open(case)
    if handler is None or handler.id not in {member.id for member in handler_candidates(case)}:
        raise CaseError("handler")
    if case.handler_id == handler.id:
        raise CaseError("handler_unchanged")
    case.handler_id = handler.id
    _event(user, case, "handler", {"handler": handler.id, "role": handler.role})
    record("case.handler", actor=user, target=case.id, detail=str(handler.id))
    notices.notify_user(handler, case, "assigned")
    clocks.meet(user, case, "chairman_informed")
    db.session.flush()


# --- Contact bans ---------------------------------------------------------------------------


def contact_bans(case: Case) -> list[ContactBan]:
    """The case's contact-ban requests and bans, latest request first."""
    return list(
        db.session.scalars(
            select(ContactBan)
            .where(ContactBan.case_id == case.id)
            .order_by(ContactBan.requested_at.desc(), ContactBan.id.desc())
        )
    )


def pending_contact_ban(case: Case) -> ContactBan | None:
    """The request waiting for the chairman's decision, if any (there is one at most)."""
    return next((ban for ban in contact_bans(case) if ban.decision is None), None)


def ban_state(ban: ContactBan, now: datetime | None = None) -> str:
    """Where a ban stands (vocab.CONTACT_BAN_STATES): pending, in force, upcoming, ..."""
    if ban.decision is None:
        return "pending"
    if ban.decision == REFUSED:
        return "refused"
    now = now or utcnow()
    if now < as_utc(ban.starts_at):
        return "upcoming"
    return "in_force" if now < as_utc(ban.ends_at) else "ended"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, WARD_ZONE)


def request_contact_ban(
    user, case: Case, keyring: MemberKeyring, *, requester: str, requested_at: datetime
) -> ContactBan:
    """Record a request for a contact ban; it starts the chairman's 12-hour clock from
    requested_at (an aware datetime: now or earlier, not before the incident's day).

    One request waits at a time, and a new one (a renewal) comes after the previous one.
    """
    _allow(user, "case.contact_ban_request", case, keyring)
    _open(case)
    if requester not in codes(CONTACT_BAN_REQUESTERS):
        raise CaseError("requester")
    requested_at = as_utc(requested_at)
    if requested_at > utcnow():
        raise CaseError("requested_in_future")
    if requested_at < _start_of(case.incident_date):
        raise CaseError("requested_before_incident")
    earlier = contact_bans(case)
    if any(ban.decision is None for ban in earlier):
        raise CaseError("ban_pending")
    if earlier and requested_at <= as_utc(earlier[0].requested_at):
        raise CaseError("requested_before_last")
    ban = ContactBan(
        case_id=case.id, requester=requester, requested_at=requested_at, recorded_by_id=user.id
    )
    db.session.add(ban)
    db.session.flush()  # the event names the request
    clocks.start(case, "contact_ban_decision", requested_at)
    _event(user, case, "contact_ban_request", {"ban": ban.id, "requester": requester})
    record("case.contact_ban_request", actor=user, target=case.id, detail=requester)
    _chairman_step(user, case)
    db.session.flush()
    return ban


def decide_contact_ban(
    user,
    case: Case,
    ban: ContactBan | None,
    keyring: MemberKeyring,
    *,
    granted: bool,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    why: str = "",
) -> None:
    """The chairman's decision on the waiting request: granted from starts_at to ends_at
    (aware; not before the request, at most clocks.SETTINGS.contact_ban_longest, not
    overlapping another ban), or refused with a reason (sealed). It meets the clock.

    ban is the request the chairman saw: if it is no longer the one waiting, Conflict.
    A granted ban is also the measure "contact ban" applied that day (Art. 22.1.c).
    """
    data_key = _allow(user, "case.contact_ban_decide", case, keyring)
    _open(case)
    pending = pending_contact_ban(case)
    if pending is None:
        raise CaseError("no_request")
    if ban is None or ban.id != pending.id:
        raise Conflict("contact_ban")
    why = (why or "").strip()
    if len(why) > WHY_MAX_LENGTH or (not granted and not why):
        raise CaseError("why")
    if granted:
        if starts_at is None or ends_at is None:
            raise CaseError("period")
        starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
        if starts_at < as_utc(ban.requested_at):
            raise CaseError("starts_before_request")
        if ends_at <= starts_at:
            raise CaseError("ends_before_start")
        if ends_at - starts_at > clocks.SETTINGS.contact_ban_longest:
            raise CaseError("too_long")
        for other in contact_bans(case):
            if other.decision == GRANTED and (
                starts_at < as_utc(other.ends_at) and as_utc(other.starts_at) < ends_at
            ):
                raise CaseError("overlap")
    else:
        starts_at = ends_at = None
    decision = GRANTED if granted else REFUSED
    ban.decision = decision
    ban.decided_at = utcnow()
    ban.decided_by_id = user.id
    ban.starts_at, ban.ends_at = starts_at, ends_at
    _sealed_event(
        user, case, "contact_ban_decision", {"ban": ban.id, "decision": decision}, why, data_key
    )
    record("case.contact_ban_decision", actor=user, target=case.id, detail=decision)
    clocks.meet(user, case, "contact_ban_decision")
    if granted and not _measure_exists(case, "contact_ban", ward_today()):
        _add_measure(user, case, "contact_ban", ward_today())
    _chairman_step(user, case)
    db.session.flush()


# --- Measures and services --------------------------------------------------------------------


def _check_day(case: Case, day: date) -> None:
    if day > ward_today():
        raise CaseError("date_in_future")
    if day < case.incident_date:
        raise CaseError("date_before_incident")


def _latest_first(model, day, case: Case) -> list:
    """The case's dated rows of a kind (measures, services), latest first."""
    return list(
        db.session.scalars(
            select(model).where(model.case_id == case.id).order_by(day.desc(), model.id.desc())
        )
    )


def _recorded(code_column, day_column, case: Case, code: str, day: date) -> bool:
    """Whether this measure (or service) is recorded for the case on that day already."""
    model = code_column.class_
    found = select(model.id).where(model.case_id == case.id, code_column == code, day_column == day)
    return db.session.scalar(found) is not None


def measures(case: Case) -> list[ProtectionMeasure]:
    """The protection measures applied in the case, latest first."""
    return _latest_first(ProtectionMeasure, ProtectionMeasure.applied_on, case)


def _measure_exists(case: Case, measure: str, day: date) -> bool:
    return _recorded(ProtectionMeasure.measure, ProtectionMeasure.applied_on, case, measure, day)


def _add_measure(user, case: Case, measure: str, day: date) -> ProtectionMeasure:
    row = ProtectionMeasure(
        case_id=case.id, measure=measure, applied_on=day, recorded_by_id=user.id
    )
    db.session.add(row)
    _event(user, case, "measure", {"measure": measure, "on": day.isoformat()})
    record("case.measure", actor=user, target=case.id, detail=measure)
    return row


def add_measure(
    user, case: Case, measure: str, applied_on: date, keyring: MemberKeyring
) -> ProtectionMeasure:
    """Record a protection measure of Art. 22 applied on a day (not in the future, not
    before the incident); the same measure twice on one day is refused."""
    _allow(user, "case.measure", case, keyring)
    if measure not in codes(PROTECTION_MEASURES):
        raise CaseError("measure")
    _check_day(case, applied_on)
    if _measure_exists(case, measure, applied_on):
        raise CaseError("measure_twice")
    row = _add_measure(user, case, measure, applied_on)
    _chairman_step(user, case)
    db.session.flush()
    return row


def services(case: Case) -> list[SupportService]:
    """The support services the victim received, latest first."""
    return _latest_first(SupportService, SupportService.received_on, case)


def add_service(
    user, case: Case, service: str, received_on: date, keyring: MemberKeyring
) -> SupportService:
    """Record a support service the victim received on a day (not in the future, not
    before the incident); the same service twice on one day is refused."""
    _allow(user, "case.service", case, keyring)
    if service not in codes(SUPPORT_SERVICES):
        raise CaseError("service")
    _check_day(case, received_on)
    if _recorded(SupportService.service, SupportService.received_on, case, service, received_on):
        raise CaseError("service_twice")
    row = SupportService(
        case_id=case.id, service=service, received_on=received_on, recorded_by_id=user.id
    )
    db.session.add(row)
    _event(user, case, "service", {"service": service, "on": received_on.isoformat()})
    record("case.service", actor=user, target=case.id, detail=service)
    db.session.flush()
    return row


# --- The perpetrator's outcome ------------------------------------------------------------------


def outcome(case: Case) -> PerpetratorOutcome | None:
    """What was recorded of the person who caused the harm, if anything yet."""
    return db.session.get(PerpetratorOutcome, case.id)


@dataclass(frozen=True)
class OutcomeAnswers:
    """The officer's answers: was he counselled, is he criminally prosecuted."""

    counselled: bool
    prosecuted: bool


def record_outcome(
    user,
    case: Case,
    answers: OutcomeAnswers,
    keyring: MemberKeyring,
    *,
    seen_version: int | None = None,
) -> PerpetratorOutcome:
    """Record (or change) whether the person who caused the harm was counselled and is
    criminally prosecuted. seen_version is the version the officer saw (0: none yet)."""
    _allow(user, "case.outcome", case, keyring)
    row = outcome(case)
    if seen_version is not None and seen_version != (row.version if row else 0):
        raise Conflict("outcome")
    if row is not None and (row.counselled, row.prosecuted) == (
        answers.counselled,
        answers.prosecuted,
    ):
        raise CaseError("outcome_unchanged")
    if row is None:
        row = PerpetratorOutcome(case_id=case.id)
        db.session.add(row)
    row.counselled, row.prosecuted = answers.counselled, answers.prosecuted
    row.recorded_by_id, row.recorded_at = user.id, utcnow()
    detail = {"counselled": answers.counselled, "prosecuted": answers.prosecuted}
    _event(user, case, "outcome", detail)
    record(
        "case.outcome",
        actor=user,
        target=case.id,
        detail=f"counselled={int(answers.counselled)},prosecuted={int(answers.prosecuted)}",
    )
    db.session.flush()
    return row
