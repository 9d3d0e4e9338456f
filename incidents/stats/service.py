"""Counting cases over a period from clear columns: the desks' working tables, and the
figures to publish or share, with small-cell suppression.

No sealed column is ever read here. Every table is one SQL GROUP BY on the database (the
cases are never loaded into Python), so a page issues the same statements whatever the
number of cases. The counting rules (DOMAIN.md section 4, GBVIMS):

- the cases counted are the user's ward's cases received in the period (ward dates),
  optionally of one residential group; each case counts once;
- a merged duplicate (closed as "duplicate", merged_into_id set) is not counted: the case
  it joined is;
- for anything exported (purpose="export": published or shared) only verified cases, and
  of them only those the setting STATS_EXPORT_BASIS allows: with the survivor's consent
  to non-identifying reporting ("consent"), or that or a statutory basis for passing a
  report on without it — signs of a crime, a danger to life now, a child victim
  ("consent_or_statute"); the desks' working tables, inside the ward, count all received;
- measures, services and perpetrator outcomes count for the cases of the period, as
  recorded up to the period's last day (the cohort of the period, followed to its end);
- acknowledgement is the case's first status change out of "new".

The Resolution 28/NQ-CP indicators, as read from the data:

- victims supported: of the victims counted (one per case), those with at least one basic
  support service recorded (config.STATS_BASIC_SERVICES; default: any);
- perpetrators counselled: of the cases whose perpetrator outcome is recorded as not
  prosecuted, those recorded as counselled (no outcome recorded: not counted either way);
- trafficking victims supported: a "returned trafficking victim needing support" is the
  victim of a trafficking case (kind "trafficking") that was not closed as unfounded: the
  ward takes reports of people who are back in it, and every identified victim is
  entitled to support (Law 53/2024 Art. 37); the data records no separate "need". Of
  them, those with at least one support service recorded.

Suppression (stats.suppression), for what is published or shared only, hides counts from
1 to k-1 and enough others that no hidden count can be recovered from the totals the file
shows, or from the counts the indicators imply (a denominator minus its numerator). The
number of cases counted is one figure on every table; it is hidden only when it is itself
small. The desks' own page is exact (threshold EXACT), and the ward's statutory report is
stats.statutory, exact too (DOMAIN.md section 4).
"""

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, false, func, literal, not_, or_, select, true

from incidents import access
from incidents.audit.service import record
from incidents.cases.models import (
    Case,
    CaseEvent,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.extensions import db
from incidents.stats.suppression import Relation, suppress, suppress_column, suppress_matrix
from incidents.stats.tables import Cell, Indicator, Statistics, Table
from incidents.timeutil import WARD_ZONE, local_day_bounds
from incidents.vocab import (
    CHILD_AGE_BANDS,
    CLOSE_REASONS,
    HARM_FORMS,
    KINDS,
    OFFICIAL_AGE_GROUPS,
    PROTECTION_MEASURES,
    SEXES,
    STATUSES,
    SUPPORT_SERVICES,
    codes,
)
from incidents.wards.models import ResidentialGroup

PURPOSES = ("dashboard", "export")
EXPORT_BASES = ("consent", "consent_or_statute")

# Time from report to acknowledgement: (code, label, upper bound in hours or None).
ACK_BANDS = (
    ("under_1h", _l("Less than 1 hour"), 1),
    ("1_12h", _l("1 to 12 hours"), 12),
    ("12_24h", _l("12 to 24 hours"), 24),
    ("over_24h", _l("More than 24 hours"), None),
    ("not_yet", _l("Not acknowledged yet"), None),
)
# "Closed" in the status table is broken down by reason in the "handled" table.
CLOSED = "closed"
OPEN_STATUSES = tuple(code for code in codes(STATUSES) if code != CLOSED)

INDICATOR_TITLES = {
    "victims_supported": _l(
        "Detected victims of violence who reached at least one basic support service"
    ),
    "perpetrators_counselled": _l(
        "Detected perpetrators not criminally prosecuted who were counselled"
    ),
    "trafficking_supported": _l("Returned trafficking victims needing support who received it"),
}


class StatsError(ValueError):
    """A period or group the statistics cannot count."""


def received_clauses(ward_id: int, first: date, last: date) -> list:
    """The WHERE clauses of the reports a ward received from first to last (ward dates),
    each once: a merged duplicate is counted as the case it joined."""
    start, end = local_day_bounds(first, last)
    return [
        Case.ward_id == ward_id,
        Case.received_at >= start,
        Case.received_at < end,
        not_(and_(Case.close_reason == "duplicate", Case.merged_into_id.is_not(None))),
    ]


def _counted(user, first: date, last: date, purpose: str, group_id: int | None):
    """The WHERE clauses of the cases counted (see the module's rules), and the rule."""
    clauses = received_clauses(user.ward_id, first, last)
    if group_id is not None:
        clauses.append(Case.group_id == group_id)
    rule = "all"
    if purpose == "export":
        # What is published counts incidents, as the statutory report does: verified cases.
        clauses.append(Case.verification == "verified")
        rule = current_app.config["STATS_EXPORT_BASIS"]
        if rule not in EXPORT_BASES:
            raise RuntimeError(f"STATS_EXPORT_BASIS must be one of {EXPORT_BASES}")
        if rule == "consent":
            clauses.append(Case.consent_statistics.is_(true()))
        else:
            statutory = or_(
                Case.signs_of_crime.is_(true()),
                Case.immediate_danger.is_(true()),
                Case.victim_age_band.in_(CHILD_AGE_BANDS),
            )
            clauses.append(or_(Case.consent_statistics.is_(true()), statutory))
    return clauses, rule


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _elements(column):
    """The elements of a JSON list column, as a table (one row per element)."""
    function = "json_array_elements_text" if _dialect() == "postgresql" else "json_each"
    return getattr(func, function)(column).table_valued("value")


def _hours_between(earlier, later):
    if _dialect() == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _ward_month(moment):
    """The month ("2026-03") of a stored instant on the ward's clock."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone(str(WARD_ZONE), moment), "YYYY-MM")
    # SQLite stores UTC; the ward's zone has kept one offset (UTC+7) since 1975.
    offset = WARD_ZONE.utcoffset(datetime(2000, 1, 1))
    return func.strftime("%Y-%m", moment, f"+{int(offset.total_seconds() // 60)} minutes")


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _count_by(clauses, *columns) -> dict:
    """COUNT(*) of the counted cases grouped by the columns: {values: count}."""
    rows = db.session.execute(
        select(*columns, func.count()).select_from(Case).where(*clauses).group_by(*columns)
    ).all()
    return {tuple(row[:-1]) if len(columns) > 1 else row[0]: row[-1] for row in rows}


def _count_elements(clauses, column) -> dict:
    """How many counted cases have each element of a JSON list column."""
    element = _elements(column)
    rows = db.session.execute(
        select(element.c.value, func.count())
        .select_from(Case)
        .join(element, true())
        .where(*clauses)
        .group_by(element.c.value)
    ).all()
    return dict(rows)


def _column(key, title, choices, counts: dict, threshold, *, with_total, total=None) -> Table:
    """A one-column table; with_total: its rows partition the cases, and it shows the total."""
    values = [counts.get(code, 0) for code, _ in choices]
    hidden, total_hidden = suppress_column(values, threshold, with_total=with_total)
    rows = [
        (label, [Cell(value, flag)])
        for (_, label), value, flag in zip(choices, values, hidden, strict=True)
    ]
    totals = [Cell(sum(values), total_hidden)] if with_total else []
    return Table(key, title, [_l("Cases")], rows, column_totals=totals)


def _status_tables(clauses, threshold) -> tuple[Table, Table, Table]:
    """Cases by status, the closed ones by close reason, and by time to acknowledgement:
    one suppression for the three, since they share counts: "closed" in the first is the
    total of the second, and "not acknowledged yet" in the third is "new" in the first (a
    case leaves "new" only by a status change, and never comes back)."""
    counts = _count_by(clauses, Case.status, Case.close_reason)
    by_status = {code: 0 for code in codes(STATUSES)}
    by_reason = {code: 0 for code in codes(CLOSE_REASONS)}
    for (status, reason), count in counts.items():
        by_status[status] = by_status.get(status, 0) + count
        if status == CLOSED:
            by_reason[reason] = by_reason.get(reason, 0) + count
    by_band = {code: 0 for code, _, _ in ACK_BANDS} | _ack_bands(clauses)
    statuses, reasons, bands = (list(d.values()) for d in (by_status, by_reason, by_band))
    # values: statuses, their total, reasons, bands, their total.
    values = [*statuses, sum(statuses), *reasons, *bands, sum(bands)]
    status_total = len(statuses)
    closed = list(by_status).index(CLOSED)
    first_reason = status_total + 1
    first_band = first_reason + len(reasons)
    band_total = len(values) - 1
    relations = [
        Relation(status_total, tuple(range(status_total))),
        Relation(closed, tuple(range(first_reason, first_band))),
        Relation(band_total, tuple(range(first_band, band_total))),
    ]
    new, not_yet = list(by_status).index("new"), first_band + list(by_band).index("not_yet")
    if values[new] == values[not_yet]:  # always, unless the timeline was edited by hand
        relations.append(Relation(not_yet, (new,)))
    hidden = suppress(values, relations, threshold, keep=frozenset({status_total, band_total}))
    labels = dict(STATUSES) | dict(CLOSE_REASONS) | {code: text for code, text, _ in ACK_BANDS}

    def table(key, title, codes_, first, total):
        return Table(
            key,
            title,
            [_l("Cases")],
            [
                (labels.get(code, code), [Cell(values[first + i], hidden[first + i])])
                for i, code in enumerate(codes_)
            ],
            column_totals=[Cell(values[total], hidden[total])],
        )

    return (
        table("status", _l("Cases by status"), by_status, 0, status_total),
        table(
            "handled",
            _l("Cases handled (closed), by close reason"),
            by_reason,
            first_reason,
            closed,
        ),
        table(
            "ack_time", _l("Time from report to acknowledgement"), by_band, first_band, band_total
        ),
    )


def _ack_bands(clauses) -> dict:
    """Counted cases by the time from their report to their first status change out of
    "new" (ACK_BANDS)."""
    acknowledged = (
        select(CaseEvent.case_id, func.min(CaseEvent.at).label("at"))
        .where(CaseEvent.kind == "status", CaseEvent.detail["from"].as_string() == "new")
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    hours = _hours_between(Case.received_at, acknowledged.c.at)
    band = case(
        (acknowledged.c.at.is_(None), literal("not_yet")),
        (hours < 1, literal("under_1h")),
        (hours < 12, literal("1_12h")),
        (hours < 24, literal("12_24h")),
        else_=literal("over_24h"),
    ).label("band")
    rows = db.session.execute(
        select(band, func.count())
        .select_from(Case)
        .outerjoin(acknowledged, acknowledged.c.case_id == Case.id)
        .where(*clauses)
        .group_by(band)
    ).all()
    return dict(rows)


def _sex_age(clauses, threshold) -> Table:
    """Victims by sex and by the official tables' age groups (under 16, 16-59, 60+)."""
    counts = _count_by(clauses, Case.victim_sex, Case.victim_age_band)
    matrix = [
        [
            sum(counts.get((sex, band), 0) for band in bands)
            for _code, _text, bands in OFFICIAL_AGE_GROUPS
        ]
        for sex in codes(SEXES)
    ]
    hidden = suppress_matrix(matrix, threshold)
    column_sums = [sum(row[j] for row in matrix) for j in range(len(OFFICIAL_AGE_GROUPS))]
    return Table(
        "sex_age",
        _l("Victims by sex and age"),
        [text for _code, text, _bands in OFFICIAL_AGE_GROUPS],
        [
            (label, [Cell(v, h) for v, h in zip(row, flags, strict=True)])
            for (_, label), row, flags in zip(SEXES, matrix, hidden.cells, strict=True)
        ],
        column_totals=[Cell(v, h) for v, h in zip(column_sums, hidden.column_totals, strict=True)],
        row_totals=[Cell(sum(row), h) for row, h in zip(matrix, hidden.row_totals, strict=True)],
        total=Cell(sum(column_sums), hidden.total),
    )


def _per_month(clauses, first, last, threshold) -> Table:
    month = _ward_month(Case.received_at).label("month")
    counts = dict(
        db.session.execute(
            select(month, func.count()).select_from(Case).where(*clauses).group_by(month)
        ).all()
    )
    choices = [(m.strftime("%Y-%m"), m.strftime("%m/%Y")) for m in _months(first, last)]
    return _column("per_month", _l("Cases per month"), choices, counts, threshold, with_total=True)


def _measures(clauses, last, threshold) -> Table:
    """Perpetrators by protection measure applied (Law 13/2022 Art. 22; form 01/BC-X):
    cases with the measure, each case once per measure. A case may have several measures:
    the rows overlap, so no total."""
    rows = db.session.execute(
        select(ProtectionMeasure.measure, func.count(func.distinct(ProtectionMeasure.case_id)))
        .join(Case, Case.id == ProtectionMeasure.case_id)
        .where(*clauses, ProtectionMeasure.applied_on <= last)
        .group_by(ProtectionMeasure.measure)
    ).all()
    return _column(
        "measures",
        _l("Perpetrators by protection measure applied"),
        PROTECTION_MEASURES,
        dict(rows),
        threshold,
        with_total=False,
    )


def served_by(services, last: date):
    """The case received one of these support services by last (an EXISTS)."""
    return (
        select(SupportService.id)
        .where(
            SupportService.case_id == Case.id,
            SupportService.service.in_(services),
            SupportService.received_on <= last,
        )
        .exists()
    )


def _indicators(clauses, last, threshold, total: int) -> list[Indicator]:
    """The three Resolution 28 indicators, in one statement."""
    basic = current_app.config["STATS_BASIC_SERVICES"] or codes(SUPPORT_SERVICES)
    served = served_by(basic, last)
    any_service = served_by(codes(SUPPORT_SERVICES), last)
    kind = _elements(Case.kinds)
    trafficking = and_(
        select(kind.c.value).where(kind.c.value == "trafficking").exists(),
        or_(Case.close_reason.is_(None), Case.close_reason != "unfounded"),
    )
    not_prosecuted = PerpetratorOutcome.prosecuted.is_(false())

    def total_of(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(
            total_of(served),
            total_of(not_prosecuted),
            total_of(and_(not_prosecuted, PerpetratorOutcome.counselled.is_(true()))),
            total_of(trafficking),
            total_of(and_(trafficking, any_service)),
        )
        .select_from(Case)
        .outerjoin(PerpetratorOutcome, PerpetratorOutcome.case_id == Case.id)
        .where(*clauses)
    ).one()
    served_count, not_prosecuted_count, counselled, trafficked, trafficked_served = row
    targets = current_app.config["STATS_TARGETS"]
    found = []
    for key, numerator, denominator in (
        ("victims_supported", served_count, total),
        ("perpetrators_counselled", counselled, not_prosecuted_count),
        ("trafficking_supported", trafficked_served, trafficked),
    ):
        # The numerator, the rest (never shown, but implied), the denominator.
        hidden = suppress(
            [numerator, denominator - numerator, denominator],
            [Relation(2, (0, 1))],
            threshold,
            keep=frozenset({2}) if key == "victims_supported" else frozenset(),
        )
        target_2025, target_2030 = targets[key]
        found.append(
            Indicator(
                key,
                INDICATOR_TITLES[key],
                Cell(numerator, hidden[0]),
                Cell(denominator, hidden[2]),
                target_2025,
                target_2030,
            )
        )
    return found


# The desks' working view inside the ward is exact: it is shown to the people who read the
# cases (DOMAIN.md section 4). A threshold of 1 hides no count.
EXACT = 1


def threshold_for(purpose: str) -> int:
    """The suppression threshold of a purpose: the export setting for anything published
    or shared, none (EXACT) for the desks' working view."""
    if purpose == "export":
        return current_app.config["STATS_EXPORT_THRESHOLD"]
    return EXACT


def compute(
    user,
    first: date,
    last: date,
    threshold: int | None = None,
    *,
    purpose: str = "dashboard",
    group_id: int | None = None,
    audited: bool = True,
) -> Statistics:
    """Count the user's ward's cases received from first to last (ward dates), audited.

    threshold: None takes the purpose's (none for the desks' dashboard, which is exact;
    STATS_EXPORT_THRESHOLD for an export); an export never goes below its setting.
    group_id narrows the count to one residential group of the user's ward. audited=False
    for a page whose statutory report records the view of the same period.
    Raises PermissionError without "stats.view", StatsError on a period or group it
    cannot count, ValueError on a bad threshold or purpose.
    """
    if not access.can(user, "stats.view"):
        raise PermissionError("stats.view")
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}")
    if threshold is None:
        threshold = threshold_for(purpose)
    if threshold < EXACT:
        raise ValueError("the suppression threshold must be at least 1 (1: nothing hidden)")
    if purpose == "export" and threshold < threshold_for("export"):
        raise ValueError("an export is never suppressed below STATS_EXPORT_THRESHOLD")
    if last < first:
        raise StatsError("inverted")
    groups = db.session.scalars(
        select(ResidentialGroup)
        .where(ResidentialGroup.ward_id == user.ward_id)
        .order_by(ResidentialGroup.id)
    ).all()
    group_names = {group.id: group.name for group in groups}
    if group_id is not None and group_id not in group_names:
        raise StatsError("group")
    clauses, rule = _counted(user, first, last, purpose, group_id)

    status, handled, ack_time = _status_tables(clauses, threshold)
    total = status.column_totals[0]
    by_group = _count_by(clauses, Case.group_id)
    group_choices = [
        (group_id_, name)
        for group_id_, name in group_names.items()
        if group_id is None or group_id_ == group_id
    ]
    tables = [
        _column(
            "kinds",
            _l("Cases by kind"),
            KINDS,
            _count_elements(clauses, Case.kinds),
            threshold,
            with_total=False,
        ),
        _column(
            "harm_forms",
            _l("Cases by form of harm"),
            HARM_FORMS,
            _count_elements(clauses, Case.harm_forms),
            threshold,
            with_total=False,
        ),
        _column(
            "perpetrator_sex",
            _l("Perpetrators by sex"),
            SEXES,
            _count_by(clauses, Case.perpetrator_sex),
            threshold,
            with_total=True,
        ),
        _measures(clauses, last, threshold),
        _sex_age(clauses, threshold),
        _column(
            "groups",
            _l("Cases by residential group"),
            group_choices,
            by_group,
            threshold,
            with_total=True,
        ),
        status,
        handled,
        ack_time,
        _per_month(clauses, first, last, threshold),
    ]
    indicators = _indicators(clauses, last, threshold, total.value)
    detail = f"{first.isoformat()}..{last.isoformat()}"
    if purpose == "export" or group_id is not None:
        detail += f":{purpose}:{group_id or ''}"
    if audited:
        record("stats.view", actor=user, detail=detail)
        db.session.flush()
    return Statistics(
        first=first,
        last=last,
        threshold=threshold,
        total=total,
        tables=tables,
        indicators=indicators,
        purpose=purpose,
        rule=rule,
        group=group_names.get(group_id) if group_id is not None else None,
    )
