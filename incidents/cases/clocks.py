"""The legal clocks of a case (DOMAIN.md section 3): start, meet, show, escalate.

A clock is a CaseDeadline row: started by the event the law counts from (the report, a
contact-ban request), met by the act it asks for, and escalated to the chairman once if it
runs out first. Durations are settings (config.py, CLOCK_*).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select, update

from incidents.audit.service import record
from incidents.cases.models import Case, CaseDeadline, CaseEvent
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import WARD_ZONE, as_utc, utcnow
from incidents.vocab import CHILD_AGE_BANDS

CLOSED = "closed"


@dataclass
class ClockSettings:
    """How long each clock runs (from the app's configuration, see configure())."""

    chairman_informed: timedelta = timedelta(hours=1)
    contact_ban_decision: timedelta = timedelta(hours=12)
    contact_ban_longest: timedelta = timedelta(days=3)
    child_emergency: timedelta = timedelta(hours=12)
    child_plan_working_days: int = 5
    trafficking_verification: timedelta = timedelta(days=3)
    holidays: frozenset[date] = field(default_factory=frozenset)


SETTINGS = ClockSettings()


def configure(config) -> None:
    """Take the clocks' durations from the application's configuration."""
    SETTINGS.chairman_informed = config["CLOCK_CHAIRMAN_INFORMED"]
    SETTINGS.contact_ban_decision = config["CLOCK_CONTACT_BAN_DECISION"]
    SETTINGS.contact_ban_longest = config["CONTACT_BAN_LONGEST"]
    SETTINGS.child_emergency = config["CLOCK_CHILD_EMERGENCY"]
    SETTINGS.child_plan_working_days = config["CLOCK_CHILD_PLAN_WORKING_DAYS"]
    SETTINGS.trafficking_verification = config["CLOCK_TRAFFICKING_VERIFICATION"]
    SETTINGS.holidays = frozenset(config["PUBLIC_HOLIDAYS"])


def add_working_days(moment: datetime, days: int, holidays=frozenset()) -> datetime:
    """The same time of day, that many working days later on the ward's calendar."""
    local = as_utc(moment).astimezone(WARD_ZONE)
    while days > 0:
        local += timedelta(days=1)
        if local.weekday() < 5 and local.date() not in holidays:
            days -= 1
    return local.astimezone(as_utc(moment).tzinfo)


def due_after(kind: str, started_at: datetime) -> datetime:
    """When a clock of this kind started at started_at runs out."""
    if kind == "child_plan":
        return add_working_days(started_at, SETTINGS.child_plan_working_days, SETTINGS.holidays)
    return as_utc(started_at) + getattr(SETTINGS, kind)


def child_emergency_applies(facts) -> bool:
    """Decree 56/2017 Art. 31.1: a child (under 16) seriously threatened, or whose carer is
    the one causing harm, is protected within 12 hours (facts: a case or a report)."""
    return facts.victim_age_band in CHILD_AGE_BANDS and bool(
        facts.child_serious_risk or facts.child_caregiver == "perpetrator"
    )


def clocks_at_filing(case: Case) -> tuple[str, ...]:
    """The clocks a new report starts: the chairman's always, the others when they apply."""
    kinds = ["chairman_informed"]
    if child_emergency_applies(case):
        kinds.append("child_emergency")
    if case.victim_age_band in CHILD_AGE_BANDS:
        kinds.append("child_plan")
    if "trafficking" in case.kinds:
        kinds.append("trafficking_verification")
    return tuple(kinds)


def start(case: Case, kind: str, started_at: datetime | None = None) -> CaseDeadline:
    """Start a clock on the case; the caller records the act that started it."""
    started_at = started_at or utcnow()
    deadline = CaseDeadline(
        case_id=case.id, kind=kind, started_at=started_at, due_at=due_after(kind, started_at)
    )
    db.session.add(deadline)
    return deadline


def open_clock(case: Case, kind: str) -> CaseDeadline | None:
    """The case's running clock of this kind, if any."""
    return next((d for d in case.deadlines if d.kind == kind and d.met_at is None), None)


def meet(user, case: Case, kind: str) -> CaseDeadline | None:
    """Mark the case's running clock of this kind as met by user now (None if none runs).

    The caller has checked the policy: the act that meets a clock is his to allow.
    """
    deadline = open_clock(case, kind)
    if deadline is None:
        return None
    deadline.met_at = utcnow()
    deadline.met_by_id = user.id
    late = deadline.met_at > as_utc(deadline.due_at)
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=deadline.met_at,
            actor_id=user.id,
            kind="clock_met",
            detail={"clock": kind, "late": late},
        )
    )
    record("case.clock_met", actor=user, target=case.id, detail=kind)
    return deadline


@dataclass(frozen=True)
class ClockView:
    """A running clock as a page shows it."""

    kind: str
    due_at: datetime
    left: timedelta  # negative when overdue
    escalated: bool

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)


def running(case: Case, now: datetime | None = None) -> list[ClockView]:
    """The case's clocks not yet met, soonest first; none once the case is closed."""
    if case.status == CLOSED:
        return []
    now = now or utcnow()
    return [
        ClockView(d.kind, as_utc(d.due_at), as_utc(d.due_at) - now, d.escalated_at is not None)
        for d in sorted(case.deadlines, key=lambda d: as_utc(d.due_at))
        if d.met_at is None
    ]


def overdue_condition(now: datetime):
    """A SQL condition on Case: an open case with a clock run out and not met."""
    late = select(CaseDeadline.id).where(
        CaseDeadline.case_id == Case.id,
        CaseDeadline.met_at.is_(None),
        CaseDeadline.due_at < now,
    )
    return and_(Case.status != CLOSED, exists(late))


def escalate_overdue(now: datetime | None = None) -> list[CaseDeadline]:
    """Escalate, once each, the clocks run out on open cases; returns those escalated.

    Every case is routed to the chairman's desk when it is filed, so escalating is telling
    that desk: the event on the timeline, the flag in its queue, and a notice.
    """
    now = now or utcnow()
    overdue = db.session.scalars(
        select(CaseDeadline)
        .join(Case)
        .where(
            Case.status != CLOSED,
            CaseDeadline.met_at.is_(None),
            CaseDeadline.escalated_at.is_(None),
            CaseDeadline.due_at < now,
        )
        .order_by(CaseDeadline.due_at)
    ).all()
    told, escalated = set(), []
    for deadline in overdue:
        # Claimed by a conditional UPDATE: of two runs overlapping (cron), one escalates.
        claimed = db.session.execute(
            update(CaseDeadline)
            .where(CaseDeadline.id == deadline.id, CaseDeadline.escalated_at.is_(None))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        db.session.expire(deadline, ["escalated_at"])
        escalated.append(deadline)
        if deadline.case_id not in told:  # one notice per case, however many clocks ran out
            notices.notify_desks(deadline.case, ["chairman"], "escalated")
            told.add(deadline.case_id)
        db.session.add(
            CaseEvent(
                case_id=deadline.case_id,
                at=now,
                actor_id=None,
                kind="escalated",
                detail={"clock": deadline.kind},
            )
        )
        record(
            "case.escalate",
            target=deadline.case_id,
            detail=deadline.kind,
            ward_id=deadline.case.ward_id,
        )
    db.session.flush()
    return escalated
