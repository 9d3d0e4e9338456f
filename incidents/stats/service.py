"""Counting cases over a period from clear columns, with small-cell suppression.

No sealed column is ever read here. A cell from 1 to k-1 is shown as "<k". In a table
whose cells partition the period's cases (each case in exactly one cell), a single hidden
cell could be recovered from the total by subtraction, so the smallest other non-zero cell
is hidden with it. ("Statistics" replaces this with full secondary suppression.)
"""

from collections import Counter
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from incidents import access
from incidents.audit.service import record
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.stats.tables import Cell, Statistics, Table
from incidents.timeutil import local_day_bounds
from incidents.vocab import HARM_FORMS, KINDS, SEXES, STATUSES, VICTIM_AGE_BANDS, codes
from incidents.wards.models import ResidentialGroup

# The clear columns the statistics read; nothing else is loaded.
_COLUMNS = (
    Case.group_id,
    Case.kinds,
    Case.harm_forms,
    Case.victim_sex,
    Case.victim_age_band,
    Case.status,
)


def suppress(counts: list[int], threshold: int, partition: bool) -> list[Cell]:
    """Hide counts from 1 to threshold-1; in a partition, never leave one hidden cell alone."""
    hidden = [0 < count < threshold for count in counts]
    if partition and sum(hidden) == 1:
        visible = [(count, i) for i, count in enumerate(counts) if count and not hidden[i]]
        if visible:
            hidden[min(visible)[1]] = True
    return [Cell(count, flag) for count, flag in zip(counts, hidden, strict=True)]


def compute(user, first: date, last: date, threshold: int) -> Statistics:
    """Count the user's ward's cases received from first to last (ward dates), audited."""
    if not access.can(user, "stats.view"):
        raise PermissionError("stats.view")
    if threshold < 2:
        raise ValueError("the suppression threshold must be at least 2")
    start, end = local_day_bounds(first, last)
    rows = db.session.execute(
        select(*_COLUMNS).where(
            Case.ward_id == user.ward_id, Case.received_at >= start, Case.received_at < end
        )
    ).all()
    groups = db.session.scalars(
        select(ResidentialGroup)
        .where(ResidentialGroup.ward_id == user.ward_id)
        .order_by(ResidentialGroup.id)
    ).all()

    def one_column(key, title, choices, counter, partition):
        cells = suppress([counter[code] for code, _ in choices], threshold, partition)
        rows = [(text, [c]) for (_, text), c in zip(choices, cells, strict=True)]
        return Table(key, title, [_l("Cases")], rows)

    kinds = Counter(kind for row in rows for kind in row.kinds)
    harms = Counter(harm for row in rows for harm in row.harm_forms)
    by_group = Counter(row.group_id for row in rows)
    by_status = Counter(row.status for row in rows)
    by_sex_age = Counter((row.victim_sex, row.victim_age_band) for row in rows)

    matrix_counts = [
        by_sex_age[(sex, band)] for sex in codes(SEXES) for band in codes(VICTIM_AGE_BANDS)
    ]
    matrix_cells = suppress(matrix_counts, threshold, partition=True)
    width = len(VICTIM_AGE_BANDS)
    sex_age = Table(
        "sex_age",
        _l("Victims by sex and age"),
        [text for _, text in VICTIM_AGE_BANDS],
        [(text, matrix_cells[i * width : (i + 1) * width]) for i, (_, text) in enumerate(SEXES)],
    )
    group_choices = [(group.id, group.name) for group in groups]
    record("stats.view", actor=user, detail=f"{first.isoformat()}..{last.isoformat()}")
    db.session.flush()
    return Statistics(
        first=first,
        last=last,
        threshold=threshold,
        total=suppress([len(rows)], threshold, partition=False)[0],
        tables=[
            one_column("kinds", _l("Cases by kind"), KINDS, kinds, partition=False),
            one_column("harm_forms", _l("Cases by form of harm"), HARM_FORMS, harms, False),
            sex_age,
            one_column("groups", _l("Cases by residential group"), group_choices, by_group, True),
            one_column("status", _l("Cases by status"), STATUSES, by_status, partition=True),
        ],
    )
