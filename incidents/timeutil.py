"""UTC storage and Asia/Ho_Chi_Minh display of times and dates."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WARD_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime read back from SQLite as UTC; convert aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def ward_today() -> date:
    """Return today's date on the ward's clock."""
    return utcnow().astimezone(WARD_ZONE).date()


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Return the UTC instants [start of first, start of the day after last) in ward time."""
    start = datetime.combine(first, time.min, WARD_ZONE)
    end = datetime.combine(last + timedelta(days=1), time.min, WARD_ZONE)
    return start.astimezone(UTC), end.astimezone(UTC)


def format_date(value: date | datetime | None) -> str:
    """Format as dd/mm/yyyy; datetimes are shown on the ward's clock."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value).astimezone(WARD_ZONE).date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    """Format as dd/mm/yyyy HH:MM on the ward's clock."""
    if value is None:
        return ""
    return as_utc(value).astimezone(WARD_ZONE).strftime("%d/%m/%Y %H:%M")


def from_ward_time(moment: datetime) -> datetime:
    """The UTC instant of a time as people enter it: naive, on the ward's clock."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=WARD_ZONE).astimezone(UTC)


def to_ward_time(moment: datetime) -> datetime:
    """A stored instant as a form shows it: naive, on the ward's clock, to the minute."""
    return as_utc(moment).astimezone(WARD_ZONE).replace(tzinfo=None, second=0, microsecond=0)
