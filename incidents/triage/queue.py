"""The desks' queue: filters, order and pages, in a fixed number of SQL statements.

A page costs one count and one select of its cases, plus one select each for their clocks,
groups and handlers, however many cases the ward holds.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import joinedload, selectinload

from incidents.cases.clocks import CLOSED, overdue_condition
from incidents.cases.models import Case, CaseDeadline
from incidents.cases.service import visible_cases
from incidents.extensions import db

PAGE_SIZE = 25

URGENCY_ORDER = sql_case({"immediate": 0, "high": 1}, value=Case.urgency, else_=2)
OPEN_FIRST = sql_case({CLOSED: 1}, value=Case.status, else_=0)


@dataclass(frozen=True)
class QueueFilters:
    """What the desk member asked for; None (or "") means no filter on that."""

    reference: str = ""
    status: str = ""  # "" = open cases, "all" = every status, else that status
    kind: str = ""
    urgency: str = ""
    group_id: int | None = None
    handler: str = ""  # "" = anyone, "none" = no handler yet, "mine", or a user id
    overdue: bool = False


@dataclass
class QueuePage:
    """One page of the queue."""

    cases: list[Case]
    total: int
    page: int
    pages: int


def _filtered(user, filters: QueueFilters, now: datetime):
    statement = visible_cases(user)
    if filters.reference:
        statement = statement.where(
            func.upper(Case.reference).startswith(
                filters.reference.strip().upper(), autoescape=True
            )
        )
    if filters.status == "":
        statement = statement.where(Case.status != CLOSED)
    elif filters.status != "all":
        statement = statement.where(Case.status == filters.status)
    if filters.kind:
        # kinds is a JSON list of codes: its text holds each code in quotes, on both backends.
        statement = statement.where(cast(Case.kinds, String).contains(f'"{filters.kind}"'))
    if filters.urgency:
        statement = statement.where(Case.urgency == filters.urgency)
    if filters.group_id is not None:
        statement = statement.where(Case.group_id == filters.group_id)
    if filters.handler == "none":
        statement = statement.where(Case.handler_id.is_(None))
    elif filters.handler == "mine":
        statement = statement.where(Case.handler_id == user.id)
    elif filters.handler:
        statement = statement.where(Case.handler_id == int(filters.handler))
    if filters.overdue:
        statement = statement.where(overdue_condition(now))
    return statement


def queue_page(user, filters: QueueFilters, page: int, now: datetime) -> QueuePage:
    """The cases of one page: open first, overdue first, most urgent, soonest due, oldest."""
    statement = _filtered(user, filters, now)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    next_due = (
        select(func.min(CaseDeadline.due_at))
        .where(CaseDeadline.case_id == Case.id, CaseDeadline.met_at.is_(None))
        .scalar_subquery()
    )
    late_first = sql_case((overdue_condition(now), 0), else_=1)
    cases = db.session.scalars(
        statement.options(
            selectinload(Case.deadlines), joinedload(Case.group), joinedload(Case.handler)
        )
        .order_by(
            OPEN_FIRST,
            late_first,
            URGENCY_ORDER,
            sql_case((next_due.is_(None), 1), else_=0),
            next_due,
            Case.received_at,
        )
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return QueuePage(cases=cases, total=total, page=page, pages=pages)
