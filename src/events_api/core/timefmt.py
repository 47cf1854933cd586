"""Date-times in the project's local time, without an offset, as CareCloud writes them.

Only ASCII digits are accepted (Python's `\\d` and `int()` also take other scripts' digits).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = re.compile(DATETIME_PATTERN)
_DATE = re.compile(DATE_PATTERN)
OUTPUT_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_datetime(value: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`; None when it is neither."""
    if not _DATETIME.match(value):
        return None
    try:
        return datetime.strptime(value.replace("T", " "), OUTPUT_FORMAT)
    except ValueError:
        return None


def parse_date(value: str) -> date | None:
    if not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def format_datetime(value: datetime) -> str:
    """Always `YYYY-MM-DD HH:MM:SS`, years before 1000 zero-padded."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )


def local_now(tz: ZoneInfo) -> datetime:
    """Now in the project's time zone, to the second, without tzinfo."""
    return datetime.now(tz).replace(tzinfo=None, microsecond=0)
