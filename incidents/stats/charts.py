"""Bar charts of the dashboard, as geometry for an inline SVG (templates/stats/_chart.html).

Horizontal bars, each under its label, fit a 360-px screen. A hidden count is drawn as a
dashed outline from 0 to k with the text "<k": nothing on the chart (not its bar, not
the scale) depends on its true value, so the chart cannot give it away.
"""

from dataclasses import dataclass

from incidents.stats.tables import Statistics, Table

WIDTH = 360
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
BAR_STEP = 20
GROUP_GAP = 8
SERIES_WIDTH = 84  # the column of series names ("Female", ...) in a chart of several
VALUE_WIDTH = 44  # room for the number after the longest bar

# The charted tables, by key: of the desks' working tables and of the statutory report,
# and whether each group of bars is a column of the table (victims by age band, one bar
# per sex) rather than a row.
WORKING_CHARTS = (("per_month", False),)
REPORT_CHARTS = (("dv_victims", True), ("dv_harm_forms", False))


@dataclass(frozen=True)
class Bar:
    """One bar: its series name (in a chart of several), where it is drawn, its text."""

    series: str
    x: int
    y: int
    width: float
    text: str
    hidden: bool

    @property
    def text_x(self) -> float:
        """Where its number starts: just after the bar."""
        return round(self.x + self.width + 4, 1)

    @property
    def text_y(self) -> int:
        """The baseline of its number and series name."""
        return self.y + BAR_HEIGHT - 4


@dataclass(frozen=True)
class Group:
    """The bars under one label (a single bar when the table has one column)."""

    label: object
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    """A chart of one table, and the table itself (its numbers, for screen readers)."""

    key: str
    title: object
    table: Table
    threshold: int
    height: int
    groups: list[Group]

    width: int = WIDTH
    bar_height: int = BAR_HEIGHT


def chart(table: Table, threshold: int, by_column: bool = False) -> Chart:
    """Lay out the table's bars; by_column groups them by column instead of by row."""
    if by_column:
        groups = [
            (column, [(str(label), cells[index]) for label, cells in table.rows])
            for index, column in enumerate(table.columns)
        ]
    else:
        several = len(table.columns) > 1
        groups = [
            (
                label,
                [
                    (str(column) if several else "", cell)
                    for column, cell in zip(table.columns, cells, strict=True)
                ],
            )
            for label, cells in table.rows
        ]
    cells = [cell for _, bars in groups for _, cell in bars]
    # The scale: the largest published count, or k when a hidden one may reach up to it.
    largest = max(
        [cell.value for cell in cells if not cell.hidden]
        + [threshold for cell in cells if cell.hidden]
        + [1]
    )
    left = SERIES_WIDTH if any(series for _, bars in groups for series, _ in bars) else 0
    room = WIDTH - left - VALUE_WIDTH
    laid, y = [], 0
    for label, members in groups:
        group_y, y = y + LABEL_HEIGHT - 4, y + LABEL_HEIGHT
        bars = []
        for series, cell in members:
            value = threshold if cell.hidden else cell.value
            bars.append(
                Bar(
                    series=series,
                    x=left,
                    y=y,
                    width=round(value / largest * room, 1),
                    text=cell.shown(threshold),
                    hidden=cell.hidden,
                )
            )
            y += BAR_STEP
        laid.append(Group(label, group_y, bars))
        y += GROUP_GAP
    return Chart(table.key, table.title, table, threshold, y, laid)


def dashboard_charts(report, statistics: Statistics) -> list[Chart]:
    """The charts of the page: reports per month (working tables, as counted for the page),
    victims of domestic violence by age and sex, and its forms (the statutory report,
    exact)."""
    found = [
        chart(table, statistics.threshold, by_column)
        for key, by_column in WORKING_CHARTS
        if (table := statistics.table(key)) is not None
    ]
    return found + [
        chart(table, 1, by_column)  # the statutory report hides nothing
        for key, by_column in REPORT_CHARTS
        if (table := report.table(key)) is not None
    ]
