"""The ward's statutory report (báo cáo định kỳ): exact counts of verified cases, one block
per legal regime (DOMAIN.md section 4).

The report goes up the state chain, where the province sums the wards' figures: every
count is exact. Nothing is suppressed and no consent gates a case (aggregated,
de-identified counts are not personal data: Law 91/2025 Art. 2.1). It counts the VERIFIED
cases received in the period (ward dates); the reports received, those found unfounded and
those not verified yet are lines of their own. It holds no name, no address and no
residential group: no row small enough to point at a household.

Persons where the law counts persons (the tables of victims and of perpetrators, and the
Resolution 28 indicators): cases a desk linked as "the same victim" are one victim, cases
linked as "the same person who caused the harm" one perpetrator (case_links), each counted
with the facts of the latest of those cases. Two victims of one event are two persons.

Every table is one GROUP BY on the database. A count of persons reads, besides, the links
among the period's cases (one statement for the report) and the facts of the linked cases
only (one statement per table of persons): the report issues the same statements whatever
the number of cases.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, false, func, or_, select, true

from incidents import access
from incidents.audit.service import record
from incidents.cases.models import (
    Case,
    CaseLink,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.extensions import db
from incidents.stats.service import (
    _count_by,
    _count_elements,
    _elements,
    received_clauses,
    served_by,
)
from incidents.stats.tables import Cell, Indicator, Table
from incidents.timeutil import as_utc, local_day_bounds
from incidents.vocab import (
    ACTS,
    ALL_AGE_BANDS,
    ALL_RELATIONSHIPS,
    CHILD_ABUSE_ENVIRONMENTS,
    CHILD_ABUSE_FORMS,
    CONTEXT_FLAGS,
    GBV_TYPES,
    HARM_FORMS,
    OFFICIAL_AGE_GROUPS,
    PROTECTION_MEASURES,
    RELATIONSHIPS,
    SEXES,
    SUPPORT_SERVICES,
    TRAFFICKING_PURPOSES,
    TRAFFICKING_STATUSES,
    TRAFFICKING_WHEREABOUTS,
    VICTIM_CIRCUMSTANCES,
    codes,
)

# The protection measures (Law 13/2022 Art. 22) that protect and support the victim; the
# rest are applied to the person who caused the harm. Form 01/BC-X counts the two apart.
VICTIM_MEASURES = ("shelter", "medical_care", "legal_psychological")
PERPETRATOR_MEASURES = tuple(
    code for code in codes(PROTECTION_MEASURES) if code not in VICTIM_MEASURES
)

# The age groups of a child's table: the child bands, and those of cases filed before
# (migration 0017) that say "under 16" only.
_CHILD_GROUPS = (
    ("under_12", _l("Under 12"), frozenset({"under_12", "0_11"})),
    ("12_13", _l("12 to 13"), frozenset({"12_13"})),
    ("14_15", _l("14 to 15"), frozenset({"14_15"})),
    ("under_16", _l("Under 16, age not given"), frozenset({"under_16"})),
)
CHILD_AGE_GROUPS = (
    *_CHILD_GROUPS,
    (
        "other",
        _l("Age not known"),
        frozenset(codes(ALL_AGE_BANDS)).difference(*(bands for _c, _l_, bands in _CHILD_GROUPS)),
    ),
)

# The legal regimes, each a block of tables, in the summary's order (its lines 4 to 7).
REGIMES = ("domestic_violence", "child_abuse", "trafficking", "gbv_outside_family")

INDICATOR_TITLES = {
    "victims_supported": _l(
        "Detected victims of domestic or gender-based violence who reached at least one "
        "basic support service"
    ),
    "perpetrators_counselled": _l(
        "Detected perpetrators not criminally prosecuted who were counselled"
    ),
    "trafficking_supported": _l(
        "Returned trafficking victims needing support who received support and "
        "reintegration services"
    ),
}


@dataclass
class Block:
    """One legal regime's tables (or the summary's)."""

    key: str
    title: object
    tables: list[Table]


@dataclass
class StatutoryReport:
    """The statutory report of one period: exact, every cell."""

    first: date
    last: date
    received: int  # reports received in the period, whatever their verification
    blocks: list[Block]
    indicators: list[Indicator] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        """The table of that key, in whichever block it is."""
        return next(
            (table for block in self.blocks for table in block.tables if table.key == key), None
        )

    @property
    def tables(self) -> list[Table]:
        return [table for block in self.blocks for table in block.tables]

    def verified_of(self, regime: str) -> int | None:
        """The verified cases of a regime's block (the summary's line), or None."""
        row = REGIMES.index(regime) + 4 if regime in REGIMES else None
        return None if row is None else self.table("summary").rows[row][1][0].value


# --- the cases counted ------------------------------------------------------------------------


def _has_kind(code: str):
    """The case's kinds include code."""
    kind = _elements(Case.kinds)
    return select(kind.c.value).where(kind.c.value == code).exists()


VERIFIED = Case.verification == "verified"


def _exact(value: int) -> Cell:
    return Cell(int(value or 0), False)


def _column(key, title, choices, counts: dict, *, with_total: bool, unit=None) -> Table:
    """A one-column table of exact counts; with_total when its rows partition the cases."""
    values = [counts.get(code, 0) for code, _label in choices]
    rows = [(label, [_exact(value)]) for (_code, label), value in zip(choices, values, strict=True)]
    totals = [_exact(sum(values))] if with_total else []
    return Table(key, title, [unit or _l("Cases")], rows, column_totals=totals)


def _matrix(key, title, row_choices, column_groups, counts: dict) -> Table:
    """Rows (a partition) by column groups (each a set of codes), with every total."""
    matrix = [
        [sum(counts.get((row, code), 0) for code in codes_) for _c, _l_, codes_ in column_groups]
        for row, _label in row_choices
    ]
    column_sums = [sum(line[j] for line in matrix) for j in range(len(column_groups))]
    return Table(
        key,
        title,
        [label for _code, label, _codes in column_groups],
        [
            (label, [_exact(value) for value in line])
            for (_code, label), line in zip(row_choices, matrix, strict=True)
        ],
        column_totals=[_exact(value) for value in column_sums],
        row_totals=[_exact(sum(line)) for line in matrix],
        total=_exact(sum(column_sums)),
    )


# --- persons: the links between the period's cases -----------------------------------------


@dataclass
class _Links:
    """The links of a kind between two cases of the period: {kind: [(case, other case)]}."""

    pairs: dict[str, list[tuple[str, str]]]

    def ids(self, kind: str) -> set[str]:
        return {case_id for pair in self.pairs.get(kind, []) for case_id in pair}

    def components(self, kind: str, among: set[str]) -> list[list[str]]:
        """The groups of two or more cases of among that links of kind join, directly or
        through one another (one person each)."""
        parent = {case_id: case_id for case_id in among}

        def root(case_id):
            while parent[case_id] != case_id:
                parent[case_id] = parent[parent[case_id]]
                case_id = parent[case_id]
            return case_id

        for one, two in self.pairs.get(kind, []):
            if one in among and two in among:
                parent[root(one)] = root(two)
        groups: dict[str, list[str]] = {}
        for case_id in among:
            groups.setdefault(root(case_id), []).append(case_id)
        return [sorted(group) for group in groups.values() if len(group) > 1]


def _links(received) -> _Links:
    """One statement: the same-victim and same-perpetrator links between received cases."""
    period = select(Case.id).where(*received).scalar_subquery()
    rows = db.session.execute(
        select(CaseLink.kind, CaseLink.case_id, CaseLink.other_case_id).where(
            CaseLink.kind.in_(("same_victim", "same_perpetrator")),
            CaseLink.case_id.in_(period),
            CaseLink.other_case_id.in_(period),
        )
    ).all()
    pairs: dict[str, list[tuple[str, str]]] = {}
    for kind, one, two in rows:
        pairs.setdefault(kind, []).append((one, two))
    return _Links(pairs)


def _linked_rows(clauses, links: _Links, kind: str, *columns) -> dict[str, tuple]:
    """The linked cases among those counted, with the columns: {case id: (received, *values)}.
    One statement, run whether or not there are links (the same statements at any size)."""
    rows = db.session.execute(
        select(Case.id, Case.received_at, *columns).where(
            *clauses, Case.id.in_(sorted(links.ids(kind)))
        )
    ).all()
    return {row[0]: (as_utc(row[1]), *row[2:]) for row in rows}


def _persons_by(clauses, links: _Links, kind: str, *columns) -> dict:
    """Persons counted by the columns' values: the cases grouped by them, less each linked
    person's earlier cases (a person counts once, with the facts of the latest case)."""
    counts = dict(_count_by(clauses, *columns))
    rows = _linked_rows(clauses, links, kind, *columns)
    for component in links.components(kind, set(rows)):
        ordered = sorted(component, key=lambda case_id: (rows[case_id][0], case_id))
        for case_id in ordered[:-1]:
            values = rows[case_id][1:]
            counts[values if len(columns) > 1 else values[0]] -= 1
    return counts


# --- the tables -------------------------------------------------------------------------------


def _summary(received, clauses_of) -> Table:
    """Reports received, found unfounded, not verified yet, verified; and the verified cases
    of each regime (one case may be of two: no total). One statement."""

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    verified_of = {key: and_(*clauses[len(received) :]) for key, clauses in clauses_of.items()}
    row = db.session.execute(
        select(
            func.count(),
            count(Case.verification == "unfounded"),
            count(Case.verification == "pending"),
            count(VERIFIED),
            *(count(condition) for condition in verified_of.values()),
        )
        .select_from(Case)
        .where(*received)
    ).one()
    labels = [
        _l("Reports received"),
        _l("of which found unfounded"),
        _l("of which not verified yet"),
        _l("Verified cases"),
        _l("of which domestic violence"),
        _l("of which abuse of a child"),
        _l("of which human trafficking"),
        _l("of which gender-based violence outside the family"),
    ]
    return Table(
        "summary",
        _l("Reports and verified cases (a case may be of several kinds)"),
        [_l("Number")],
        [(label, [_exact(value)]) for label, value in zip(labels, row, strict=True)],
    )


def _sex_age(key, title, clauses, links, kind, sex, band, groups=OFFICIAL_AGE_GROUPS) -> Table:
    counts = _persons_by(clauses, links, kind, sex, band)
    return _matrix(key, title, SEXES, groups, counts)


def _victims(key, title, clauses, links, groups=OFFICIAL_AGE_GROUPS) -> Table:
    """Victims (persons) by sex and age group."""
    sex, band = Case.victim_sex, Case.victim_age_band
    return _sex_age(key, title, clauses, links, "same_victim", sex, band, groups)


def _each(key, title, choices, clauses, column) -> Table:
    """Cases by each element of a list column (a case may have several: no total)."""
    return _column(key, title, choices, _count_elements(clauses, column), with_total=False)


def _measures(clauses, last: date, choices) -> dict:
    """Cases with each measure applied by the period's end (one GROUP BY)."""
    rows = db.session.execute(
        select(ProtectionMeasure.measure, func.count(func.distinct(ProtectionMeasure.case_id)))
        .join(Case, Case.id == ProtectionMeasure.case_id)
        .where(
            *clauses,
            ProtectionMeasure.applied_on <= last,
            ProtectionMeasure.measure.in_(choices),
        )
        .group_by(ProtectionMeasure.measure)
    ).all()
    return dict(rows)


def _perpetrator_measures(clauses, last: date) -> Table:
    """Cases by measure applied to the person who caused the harm (Law 13/2022 Art. 22)."""
    return _column(
        "dv_perpetrator_measures",
        _l("Cases by measure applied to the person who caused the harm"),
        [(code, label) for code, label in PROTECTION_MEASURES if code in PERPETRATOR_MEASURES],
        _measures(clauses, last, PERPETRATOR_MEASURES),
        with_total=False,
    )


def _perpetrator_outcomes(clauses, end) -> Table:
    """Cases whose person who caused the harm was counselled, or criminally prosecuted, as
    recorded by the period's end: what became of him, not a measure (one statement)."""
    outcome = db.session.execute(
        select(
            func.coalesce(
                func.sum(case((PerpetratorOutcome.counselled.is_(true()), 1), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((PerpetratorOutcome.prosecuted.is_(true()), 1), else_=0)), 0
            ),
        )
        .select_from(Case)
        .join(PerpetratorOutcome, PerpetratorOutcome.case_id == Case.id)
        .where(*clauses, PerpetratorOutcome.recorded_at < end)
    ).one()
    return _column(
        "dv_perpetrator_outcomes",
        _l("Cases by what became of the person who caused the harm"),
        [("counselled", _l("Counselled")), ("prosecuted", _l("Criminally prosecuted"))],
        {"counselled": outcome[0], "prosecuted": outcome[1]},
        with_total=False,
    )


def _services(clauses, last: date) -> dict:
    rows = db.session.execute(
        select(SupportService.service, func.count(func.distinct(SupportService.case_id)))
        .join(Case, Case.id == SupportService.case_id)
        .where(*clauses, SupportService.received_on <= last)
        .group_by(SupportService.service)
    ).all()
    return dict(rows)


def _victim_support(key, title, clauses, last: date) -> Table:
    """Victims (cases) by protection measure for them and by support service received."""
    counts = _measures(clauses, last, VICTIM_MEASURES) | _services(clauses, last)
    choices = [
        *((code, label) for code, label in PROTECTION_MEASURES if code in VICTIM_MEASURES),
        *SUPPORT_SERVICES,
    ]
    return _column(
        key,
        title,
        choices,
        counts,
        with_total=False,
    )


def _relationships(clauses) -> Table:
    counts = _count_by(clauses, Case.perpetrator_relationship)
    shown = [
        *RELATIONSHIPS,
        *(c for c in ALL_RELATIONSHIPS[len(RELATIONSHIPS) :] if counts.get(c[0])),
    ]
    return _column(
        "dv_relationship",
        _l("Cases by what the person who caused the harm is to the victim"),
        shown,
        counts,
        with_total=True,
    )


def _dv_block(clauses, links, last, end) -> Block:
    return Block(
        "domestic_violence",
        _l("Domestic violence (Law 13/2022)"),
        [
            _victims(
                "dv_victims", _l("Victims of domestic violence by sex and age"), clauses, links
            ),
            _each(
                "dv_harm_forms",
                _l("Domestic violence cases by form of violence"),
                HARM_FORMS,
                clauses,
                Case.harm_forms,
            ),
            _each(
                "dv_acts",
                _l("Cases by act of domestic violence (Law 13/2022 Art. 3)"),
                ACTS,
                clauses,
                Case.acts,
            ),
            _relationships(clauses),
            _sex_age(
                "dv_perpetrators",
                _l("Persons who caused the harm, by sex and age"),
                clauses,
                links,
                "same_perpetrator",
                Case.perpetrator_sex,
                Case.perpetrator_age_band,
            ),
            _perpetrator_measures(clauses, last),
            _perpetrator_outcomes(clauses, end),
            _victim_support(
                "dv_victim_support",
                _l("Domestic violence cases by protection and support the victim received"),
                clauses,
                last,
            ),
        ],
    )


def _child_block(clauses, links, last) -> Block:
    return Block(
        "child_abuse",
        _l("Abuse of a child (Law on Children)"),
        [
            _victims(
                "child_victims", _l("Children by sex and age"), clauses, links, CHILD_AGE_GROUPS
            ),
            _each(
                "child_forms",
                _l("Cases by form of abuse"),
                CHILD_ABUSE_FORMS,
                clauses,
                Case.child_abuse_forms,
            ),
            _each(
                "child_environments",
                _l("Cases by where the abuse happened"),
                CHILD_ABUSE_ENVIRONMENTS,
                clauses,
                Case.child_abuse_environments,
            ),
            _victim_support(
                "child_support",
                _l("Child abuse cases by protection and support the child received"),
                clauses,
                last,
            ),
        ],
    )


def _trafficking_block(clauses, links, last) -> Block:
    victims = _l("Victims")
    status = _persons_by(clauses, links, "same_victim", Case.trafficking_status)
    whereabouts = _persons_by(clauses, links, "same_victim", Case.trafficking_whereabouts)
    return Block(
        "trafficking",
        _l("Human trafficking (Law 53/2024)"),
        [
            _victims(
                "trafficking_victims", _l("Trafficking victims by sex and age"), clauses, links
            ),
            _column(
                "trafficking_status",
                _l("Victims confirmed or being identified"),
                [*TRAFFICKING_STATUSES, (None, _l("Not recorded"))],
                status,
                with_total=True,
                unit=victims,
            ),
            _column(
                "trafficking_whereabouts",
                _l("Victims by whether they have returned"),
                [*TRAFFICKING_WHEREABOUTS, (None, _l("Not recorded"))],
                whereabouts,
                with_total=True,
                unit=victims,
            ),
            _each(
                "trafficking_purposes",
                _l("Cases by purpose of the trafficking"),
                TRAFFICKING_PURPOSES,
                clauses,
                Case.trafficking_purposes,
            ),
            _victim_support(
                "trafficking_support",
                _l("Trafficking cases by protection and support the victim received"),
                clauses,
                last,
            ),
        ],
    )


def _gbv_block(clauses, links, last) -> Block:
    return Block(
        "gbv_outside_family",
        _l("Gender-based violence outside the family"),
        [
            _victims(
                "gbv_victims",
                _l("Victims of violence outside the family by sex and age"),
                clauses,
                links,
            ),
            _each(
                "gbv_harm_forms",
                _l("Cases of violence outside the family by form of violence"),
                HARM_FORMS,
                clauses,
                Case.harm_forms,
            ),
            _victim_support(
                "gbv_support",
                _l("Cases outside the family by protection and support the victim received"),
                clauses,
                last,
            ),
        ],
    )


def _classification_block(clauses) -> Block:
    """The GBVIMS classification and the victims' circumstances, over every verified case."""
    return Block(
        "classification",
        _l("Every verified case, classified"),
        [
            _column(
                "gbv_type",
                _l("Cases by type of gender-based violence"),
                [*GBV_TYPES, (None, _l("Not classified"))],
                _count_by(clauses, Case.gbv_type),
                with_total=True,
            ),
            _each(
                "context_flags",
                _l("Cases by context"),
                CONTEXT_FLAGS,
                clauses,
                Case.context_flags,
            ),
            _each(
                "victim_circumstances",
                _l("Cases by the victim's circumstances"),
                VICTIM_CIRCUMSTANCES,
                clauses,
                Case.victim_circumstances,
            ),
        ],
    )


# --- the Resolution 28 indicators, on persons --------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """An indicator on persons. clauses: the cases it looks at; flags: what is read of each
    (SQL booleans); counted and met: a case, alone, in the denominator and the numerator
    (SQL, the same as person() of that one case); person: how a person counts from the
    flags of his or her cases (in the denominator, in the numerator)."""

    key: str
    clauses: list
    link: str
    flags: tuple
    counted: object
    met: object
    person: Callable[[list[tuple]], tuple[bool, bool]]


def _share_of_persons(rule: _Rule, links: _Links) -> tuple[int, int]:
    """(numerator, denominator) on persons: one aggregate over the cases, each a person of
    its own; then the linked ones' correction, their cases out and their persons in."""

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    outcome = PerpetratorOutcome.case_id == Case.id
    numerator, denominator = db.session.execute(
        select(total(and_(rule.counted, rule.met)), total(rule.counted))
        .select_from(Case)
        .outerjoin(PerpetratorOutcome, outcome)
        .where(*rule.clauses)
    ).one()
    rows = db.session.execute(
        select(Case.id, *(case((flag, True), else_=False) for flag in rule.flags))
        .select_from(Case)
        .outerjoin(PerpetratorOutcome, outcome)
        .where(*rule.clauses, Case.id.in_(sorted(links.ids(rule.link))))
    ).all()
    flags = {row[0]: tuple(bool(value) for value in row[1:]) for row in rows}
    for group in links.components(rule.link, set(flags)):
        for case_id in group:
            counted, met = rule.person([flags[case_id]])
            denominator -= counted
            numerator -= counted and met
        counted, met = rule.person([flags[case_id] for case_id in group])
        denominator += counted
        numerator += counted and met
    return int(numerator), int(denominator)


def _rules(verified, last: date, end) -> list[_Rule]:
    basic = current_app.config["STATS_BASIC_SERVICES"] or codes(SUPPORT_SERVICES)

    def service(*services):
        return served_by(services, last)

    violence = or_(_has_kind("domestic_violence"), _has_kind("gbv_outside_family"))
    recorded = and_(PerpetratorOutcome.case_id.is_not(None), PerpetratorOutcome.recorded_at < end)
    prosecuted = and_(recorded, PerpetratorOutcome.prosecuted.is_(true()))
    counselled = and_(recorded, PerpetratorOutcome.counselled.is_(true()))
    returned = and_(
        _has_kind("trafficking"),
        Case.trafficking_status == "confirmed_victim",
        Case.trafficking_whereabouts == "returned",
    )
    served = service(*basic)
    return [
        _Rule(
            "victims_supported",
            [*verified, violence],
            "same_victim",
            (served,),
            counted=true(),
            met=served,
            person=lambda cases: (True, any(flags[0] for flags in cases)),
        ),
        # Not prosecuted: an outcome recorded, and none of the person's cases prosecuted.
        _Rule(
            "perpetrators_counselled",
            [*verified, violence],
            "same_perpetrator",
            (recorded, prosecuted, counselled),
            counted=and_(
                recorded,
                or_(
                    PerpetratorOutcome.prosecuted.is_(None),
                    PerpetratorOutcome.prosecuted.is_(false()),
                ),
            ),
            met=counselled,
            person=lambda cases: (
                any(r for r, _p, _c in cases) and not any(p for _r, p, _c in cases),
                any(c for _r, _p, c in cases),
            ),
        ),
        _Rule(
            "trafficking_supported",
            [*verified, returned],
            "same_victim",
            (service(*codes(SUPPORT_SERVICES)),),
            counted=true(),
            met=service(*codes(SUPPORT_SERVICES)),
            person=lambda cases: (True, any(flags[0] for flags in cases)),
        ),
    ]


def _indicators(verified, links: _Links, last: date, end) -> list[Indicator]:
    targets = current_app.config["STATS_TARGETS"]
    found = []
    for rule in _rules(verified, last, end):
        numerator, denominator = _share_of_persons(rule, links)
        target_2025, target_2030 = targets[rule.key]
        found.append(
            Indicator(
                rule.key,
                INDICATOR_TITLES[rule.key],
                _exact(numerator),
                _exact(denominator),
                target_2025,
                target_2030,
            )
        )
    return found


# --- which cases make an indicator up --------------------------------------------------------


@dataclass(frozen=True)
class IndicatorCase:
    """A case of an indicator's denominator, and whether it alone meets the numerator."""

    case_id: str
    reference: str
    received_at: object
    met: bool


@dataclass
class IndicatorCases:
    """The cases an indicator counts, as far as the reader may read them."""

    indicator: Indicator
    cases: list[IndicatorCase]
    unreadable: int  # cases of the denominator the reader may not read: counted, not listed
    more: int  # readable cases beyond the list's length


CASES_LISTED = 200


def indicator_cases(user, key: str, first: date, last: date) -> IndicatorCases:
    """The cases of an indicator's denominator in the period, newest first, those the user
    may read (access.case_scope) listed, audited. Raises PermissionError without
    "stats.view", KeyError for an unknown indicator."""
    if not access.can(user, "stats.view"):
        raise PermissionError("stats.view")
    if key not in INDICATOR_TITLES:
        raise KeyError(key)
    received = received_clauses(user.ward_id, first, last)
    _start, end = local_day_bounds(first, last)
    rule = next(r for r in _rules([*received, VERIFIED], last, end) if r.key == key)
    links = _links(received)
    numerator, denominator = _share_of_persons(rule, links)
    targets = current_app.config["STATS_TARGETS"][key]
    indicator = Indicator(
        key, INDICATOR_TITLES[key], _exact(numerator), _exact(denominator), *targets
    )
    counted = (
        select(Case.id, Case.reference, Case.received_at, case((rule.met, True), else_=False))
        .select_from(Case)
        .outerjoin(PerpetratorOutcome, PerpetratorOutcome.case_id == Case.id)
        .where(*rule.clauses, rule.counted)
    )
    readable = counted.where(access.case_scope(user))
    rows = db.session.execute(
        readable.order_by(Case.received_at.desc(), Case.id).limit(CASES_LISTED + 1)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    shown = db.session.scalar(select(func.count()).select_from(readable.subquery()))
    record("stats.view", actor=user, detail=f"{first.isoformat()}..{last.isoformat()}:{key}")
    db.session.flush()
    return IndicatorCases(
        indicator,
        [IndicatorCase(row[0], row[1], row[2], bool(row[3])) for row in rows[:CASES_LISTED]],
        unreadable=total - shown,
        more=max(0, shown - CASES_LISTED),
    )


# --- the report -------------------------------------------------------------------------------


def compute(user, first: date, last: date) -> StatutoryReport:
    """The statutory report of the user's ward for the cases received from first to last
    (ward dates): exact, audited. Raises PermissionError without "stats.view"."""
    if not access.can(user, "stats.view"):
        raise PermissionError("stats.view")
    received = received_clauses(user.ward_id, first, last)
    _start, end = local_day_bounds(first, last)
    verified = [*received, VERIFIED]
    clauses_of = {kind: [*verified, _has_kind(kind)] for kind in REGIMES}
    links = _links(received)
    summary = _summary(received, clauses_of)
    blocks = [
        Block("summary", _l("Reports and cases"), [summary]),
        _dv_block(clauses_of["domestic_violence"], links, last, end),
        _child_block(clauses_of["child_abuse"], links, last),
        _trafficking_block(clauses_of["trafficking"], links, last),
        _gbv_block(clauses_of["gbv_outside_family"], links, last),
        _classification_block(verified),
    ]
    report = StatutoryReport(
        first=first,
        last=last,
        received=summary.rows[0][1][0].value,
        blocks=blocks,
        indicators=_indicators(verified, links, last, end),
    )
    record("stats.view", actor=user, detail=f"{first.isoformat()}..{last.isoformat()}:statutory")
    db.session.flush()
    return report
