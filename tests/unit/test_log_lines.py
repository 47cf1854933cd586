"""JSON log lines: the direct path for plain records (core/logs.py `_plain_line`) and the access
log's direct line (`AccessLog`) write exactly what python-json-logger writes, and anything else
goes through the library."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from asgi_correlation_id import CorrelationIdFilter
from asgi_correlation_id.context import correlation_id
from pythonjsonlogger.json import JsonFormatter

from events_api.core.logs import AccessLog, JsonLogFormatter, TextLogFormatter, logging_config
from events_api.core.settings import Settings


def formatter(**overrides: Any) -> JsonLogFormatter:
    options = dict(
        logging_config(Settings(database_url="postgresql://x@h/d"))["formatters"]["json"]
    )
    del options["()"]
    return JsonLogFormatter(**{**options, **overrides})


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


def test_values_are_encoded_as_json_dumps_encodes_them() -> None:
    values: dict[str, Any] = {
        "quote": 'say "hi"\\ now',
        "control": "tab\there\nnewline\x00nul",
        "accents": "žluťoučký kůň 🐎",
        "yes": True,
        "no": False,
        "none": None,
        "negative": -17,
        "big": -(10**40),
        "tiny": 5e-324,
        "fraction": 0.1 + 0.2,
        "nan": float("nan"),
        "infinity": float("inf"),
        "minus_infinity": float("-inf"),
    }
    line = record("values", **values)
    for ascii_only in (True, False):
        ours = formatter(json_ensure_ascii=ascii_only)
        assert ours._plain_line(line) == JsonFormatter.format(ours, line)


def test_fields_renamed_into_one_name_are_written_as_the_library_writes_them() -> None:
    configured = formatter().rename_fields
    ours = formatter(rename_fields={**configured, "status": "level"})  # collides with levelname
    line = record("collision", status=201)
    assert ours._plain_line(line) == JsonFormatter.format(ours, line)


@pytest.mark.parametrize(
    "created",
    [
        0.0,
        1.5,
        1_733_000_000.0,
        1_733_000_000.9999996,
        1_733_000_000.0000004,
        1_733_000_000.123456,
        1_733_000_000.1234565,
        4_102_444_799.999999,
        951_782_400.25,
    ],
)
def test_times_are_written_as_datetime_writes_them(created: float) -> None:
    line = record("at a time")
    line.created = created
    ours = formatter()
    assert ours._plain_line(line) == JsonFormatter.format(ours, line)
    assert ours._plain_line(line) == JsonFormatter.format(ours, line)  # the second from memory


# --- the access log's direct line -------------------------------------------------------------


ACCESS_FIELDS: dict[str, Any] = {
    "method": "GET",
    "path": "/rest-api/enterprise-interface/v1.0/events/{event_id}",
    "route_matched": True,
    "status": 200,
    "duration_ms": 1.25,
    "client": "127.0.0.1",
    "api_user": "ünï",
}


@pytest.fixture
def access() -> Iterator[tuple[AccessLog, io.StringIO]]:
    """An AccessLog on a logger of its own, set up as logging_config sets up the root. (pytest
    gives a logger that does not propagate its capture handlers when the test starts: each test
    calls `alone` first.)"""
    logger = logging.getLogger("tests.access_log")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter())
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield AccessLog(logger.name), stream
    finally:
        logger.handlers.clear()
        logger.filters.clear()
        logger.propagate = True


def alone(log: AccessLog) -> logging.StreamHandler[Any]:
    """The logger's own handler, pytest's capture handlers removed."""
    (handler,) = [h for h in log.logger.handlers if type(h) is logging.StreamHandler]
    log.logger.handlers[:] = [handler]
    return handler


def lines_without_time(stream: io.StringIO) -> list[str]:
    return [
        re.sub(r'"time": "[^"]*"', '"time": T', line) for line in stream.getvalue().splitlines()
    ]


def test_the_access_line_written_directly_is_the_line_logging_writes(
    access: tuple[AccessLog, io.StringIO],
) -> None:
    log, stream = access
    alone(log)
    assert log._direct_route() is not None
    token = correlation_id.set("r" * 32)
    try:
        log.write("GET /x 200 password=hunter2", ACCESS_FIELDS)
        log.logger.addFilter(lambda record: True)  # any filter on the way: through logging
        assert log._direct_route() is None
        log.write("GET /x 200 password=hunter2", ACCESS_FIELDS)
    finally:
        correlation_id.reset(token)
    direct, through_logging = lines_without_time(stream)
    assert direct == through_logging
    assert json.loads(stream.getvalue().splitlines()[0])["request_id"] == "r" * 32
    assert "hunter2" not in direct


def test_other_logging_setups_get_their_line_through_logging(
    access: tuple[AccessLog, io.StringIO],
) -> None:
    log, stream = access
    handler = alone(log)
    text = io.StringIO()
    changes: list[Callable[[], object]] = [
        lambda: log.logger.addHandler(logging.StreamHandler(text)),  # a second handler
        lambda: handler.setLevel(logging.WARNING),  # the handler drops INFO: no line at all
        lambda: handler.setFormatter(TextLogFormatter("%(message)s")),
        lambda: handler.filters.clear(),  # no request ids
    ]
    for change in changes:
        change()
        assert log._direct_route() is None, change
    log.write("GET /x 200", ACCESS_FIELDS)
    log.logger.handlers.remove(handler)
    assert text.getvalue() == "GET /x 200\n"
    assert stream.getvalue() == ""


def test_a_disabled_level_writes_nothing(access: tuple[AccessLog, io.StringIO]) -> None:
    log, stream = access
    log.logger.setLevel(logging.WARNING)
    log.write("GET /x 200", ACCESS_FIELDS)
    assert stream.getvalue() == ""


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_of_one_turn_of_the_loop_leave_in_one_write_in_order(
    access: tuple[AccessLog, io.StringIO],
) -> None:
    log, _ = access
    handler = alone(log)
    stream = CountingStream()
    handler.setStream(stream)

    async def requests() -> list[str]:
        for n in range(3):
            log.write(f"GET /x/{n} 200", ACCESS_FIELDS)
        waiting = stream.getvalue()
        await asyncio.sleep(0)  # the turn ends
        return [waiting, stream.getvalue()]

    for loop_number in range(2):  # a second loop in the same thread is seen as such
        stream.seek(0)
        stream.truncate()
        stream.writes = 0
        waiting, written = asyncio.run(requests())
        assert waiting == "", loop_number
        assert [json.loads(line)["message"] for line in written.splitlines()] == [
            "GET /x/0 200",
            "GET /x/1 200",
            "GET /x/2 200",
        ]
        assert stream.writes == 1
