"""The periods of the official reports, their due dates, and the reminders before them.

Both reports follow the ward's reporting year, which runs from 01/11 to 31/10 (the
cut-off: the annual report, due 20/11, counts the twelve months to 31/10; the six-month
report, due 05/5, counts the six months from 01/11 to 30/4). The report "of year Y" is
the one whose period ends in Y. The bounds, the due dates and how long before them the
reminder shows are settings (config.STATS_REPORTS, STATS_REMINDER_DAYS): (month, day)
pairs, so a ward that reports on other dates changes only its configuration.

A report due before its period ends (a province may ask for the six months to 30/6 by
20/6) names its cut-off ("cutoff"): it counts the actual figures to the cut-off and
carries an estimate to the period's end ("ước thực hiện", DOMAIN.md section 4).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

# The reports, in the order the page offers them.
REPORT_TITLES = {
    "half_year": _l("Six-month report"),
    "annual": _l("Annual report"),
}


@dataclass(frozen=True)
class ReportPeriod:
    """One official report: which, the days it counts, when it is due."""

    report: str
    year: int
    first: date
    last: date
    due: date
    cutoff: date | None = None  # the actual figures' last day, when before the last

    @property
    def counted_to(self) -> date:
        """The last day the actual figures count: the cut-off, or the period's end."""
        return self.cutoff or self.last

    @property
    def title(self):
        """ "Six-month report", "Annual report" (translated)."""
        return REPORT_TITLES[self.report]


def _day(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    return date(year, month, day)


def report_period(settings: dict, report: str, year: int) -> ReportPeriod:
    """The period of a report of year `year` (its period ends in that year)."""
    bounds = settings[report]
    last = _day(year, bounds["last"])
    first = _day(year, bounds["first"])
    if first > last:
        first = _day(year - 1, bounds["first"])
    cutoff = None
    if "cutoff" in bounds:
        cutoff = _day(year, bounds["cutoff"])
        if not first <= cutoff < last:
            raise ValueError(f"the cut-off of {report} must fall inside its period")
        due = _day(year, bounds["due"])
        if due <= cutoff:
            due = _day(year + 1, bounds["due"])
        return ReportPeriod(report, year, first, last, due, cutoff)
    due = _day(year, bounds["due"])
    if due <= last:
        due = _day(year + 1, bounds["due"])
    return ReportPeriod(report, year, first, last, due)


def matching(settings: dict, first: date, last: date) -> ReportPeriod | None:
    """The official report whose actual figures run from first to last, if one does."""
    for report in settings:
        period = report_period(settings, report, last.year)
        if (period.first, period.counted_to) == (first, last):
            return period
    return None


def presets(settings: dict, today: date) -> list[ReportPeriod]:
    """Each report's latest period that has begun, and the one before it."""
    found = []
    for report in settings:
        year = today.year + 1
        while report_period(settings, report, year).first > today:
            year -= 1
        found += [report_period(settings, report, year), report_period(settings, report, year - 1)]
    return sorted(found, key=lambda period: (period.last, period.report), reverse=True)


@dataclass(frozen=True)
class Reminder:
    """A report falling due soon."""

    period: ReportPeriod
    days_left: int


def reminders(settings: dict, today: date, days_before: int) -> list[Reminder]:
    """The reports due from today to days_before days from now, soonest first."""
    found = []
    for report in settings:
        for year in (today.year - 1, today.year, today.year + 1):
            period = report_period(settings, report, year)
            if today <= period.due <= today + timedelta(days=days_before):
                found.append(Reminder(period, (period.due - today).days))
    return sorted(found, key=lambda reminder: reminder.days_left)
