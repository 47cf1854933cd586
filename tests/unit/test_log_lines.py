"""JSON log lines: the direct path for plain records (core/logs.py `_plain_line`) writes exactly
what python-json-logger writes, and anything else goes through the library."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any

import pytest
from pythonjsonlogger.json import JsonFormatter

from events_api.core.logs import JsonLogFormatter, logging_config
from events_api.core.settings import Settings


def formatter() -> JsonLogFormatter:
    options = dict(
        logging_config(Settings(database_url="postgresql://x@h/d"))["formatters"]["json"]
    )
    del options["()"]
    return JsonLogFormatter(**options)


def record(msg: Any, args: tuple[Any, ...] = (), **extra: Any) -> logging.LogRecord:
    made = logging.getLogger("events_api.access").makeRecord(
        "events_api.access", logging.INFO, __file__, 1, msg, args, None, extra=extra
    )
    made.correlation_id = "f" * 32  # as the request-id filter sets it
    return made


PLAIN = [
    record(
        "%s %s %s",
        ("GET", "/rest-api/enterprise-interface/v1.0/events/{event_id}", "200"),
        method="GET",
        path="/rest-api/enterprise-interface/v1.0/events/{event_id}",
        route_matched=True,
        status=200,
        duration_ms=1.25,
        client="127.0.0.1",
        api_user=None,
    ),
    record("naïve ünïcode — %d", (3,), note="žluťoučký", ratio=1e-7, big=10**30, flag=False),
    record("no extras at all"),
]


@pytest.mark.parametrize("line", PLAIN)
def test_plain_records_are_written_as_the_library_writes_them(line: logging.LogRecord) -> None:
    ours = formatter()
    direct = ours._plain_line(line)
    assert direct is not None
    assert direct == JsonFormatter.format(ours, line)


def test_other_records_go_through_the_library() -> None:
    ours = formatter()
    when = datetime(2024, 1, 2, 3, 4, 5)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("failed")
        failed.exc_info = sys.exc_info()
    for other in (record("at %s", (when,), at=when), record({"a": 1}), failed):
        assert ours._plain_line(other) is None
        assert ours.format(other) == JsonFormatter.format(ours, other)


def test_credentials_are_masked_on_both_paths() -> None:
    ours = formatter()
    plain = record("login with password=hunter2 done", client="1.2.3.4")
    other = record("login with password=hunter2 done", at=datetime(2024, 1, 1))
    for line in (plain, other):
        written = ours.format(line)
        assert "hunter2" not in written
        assert "password=***" in written
