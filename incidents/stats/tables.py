"""The shapes the statistics are published in: counts, tables, indicators.

compute() (stats.service) fills them; the dashboard, its charts and every export
(spreadsheet, CSV, the Decree 30 report) read only these, never the database, so what is
exported is exactly what was counted and suppressed.
"""

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Cell:
    """A count as published: the true value, or hidden (shown as "<k")."""

    value: int
    hidden: bool

    def shown(self, threshold: int) -> str:
        """The text on the page."""
        return f"<{threshold}" if self.hidden else str(self.value)


@dataclass
class Table:
    """One table: labelled rows of cells (a matrix has several cells per row).

    key names the table for code that picks one (a chart, the report's body): "kinds",
    "harm_forms", "perpetrator_sex", "measures", "sex_age", "groups", "status", "handled",
    "ack_time", "per_month".

    A table whose rows partition its cases publishes their totals too (suppressed with the
    cells, so that no hidden cell can be worked out from them): column_totals is the "Total"
    row under the table (one cell per column), row_totals the "Total" column of a matrix
    (one per row) and total its corner. A table of overlapping rows (the kinds of a case, say:
    one case may have several) publishes no totals: they would not be sums.
    """

    key: str
    # Labels are lazily translated strings: the page renders them in the reader's language.
    title: object
    columns: list
    rows: list[tuple[object, list[Cell]]]
    column_totals: list[Cell] = field(default_factory=list)
    row_totals: list[Cell] = field(default_factory=list)
    total: Cell | None = None


@dataclass(frozen=True)
class Indicator:
    """A Resolution 28/NQ-CP indicator: a share of cases, against its national targets."""

    key: str
    title: object
    numerator: Cell
    denominator: Cell
    target_2025: float  # a share, 0..1
    target_2030: float

    @property
    def share(self) -> float | None:
        """The share, or None when it is not published (no cases, or a hidden count)."""
        if self.numerator.hidden or self.denominator.hidden or not self.denominator.value:
            return None
        return self.numerator.value / self.denominator.value


@dataclass
class Statistics:
    """Everything the statistics page shows for one period."""

    first: date
    last: date
    threshold: int
    total: Cell
    tables: list[Table]
    indicators: list[Indicator] = field(default_factory=list)
    # "dashboard" (inside the ward) or "export" (anything that leaves the page).
    purpose: str = "dashboard"
    # Which cases were counted: "all" (the dashboard), or for an export "consent" (only
    # cases whose victim consented to non-identifying reporting) or "consent_or_statute"
    # (those, and cases with a recorded statutory basis); see config.STATS_EXPORT_BASIS.
    rule: str = "all"
    # The residential group counted, when the page was narrowed to one (its name).
    group: object = None

    def table(self, key: str) -> Table | None:
        """The table of that key, if this period has it."""
        return next((table for table in self.tables if table.key == key), None)
