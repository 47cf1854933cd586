"""Date-times in the project's local time, without an offset, as CareCloud writes them."""

from __future__ import annotations

import re
from datetime import date, datetime

from events_api.core.settings import get_settings

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    return value.strftime(OUTPUT_FORMAT)


def local_now() -> datetime:
    """Now in the project's time zone, to the second, without tzinfo."""
    return datetime.now(get_settings().tz).replace(tzinfo=None, microsecond=0)
