"""Logs, request ids and Prometheus metrics.

- Access log: each request is logged once, after its response, by the logger
  `events_api.access`: method, path template, status, duration, client, request id. Headers,
  query strings and bodies are never logged (core/logs.py formats and masks every line).
- Request ids: asgi-correlation-id takes a well-formed `X-Request-ID` from the request or makes
  one, puts it on the response and on every log record written while handling the request.
- Metrics: prometheus-fastapi-instrumentator counts requests and times them per route template,
  method and status; SQLAlchemy pool events feed the pool gauges; a 201 from POST /events counts
  an event created. `events-api serve` runs prometheus_client in multiprocess mode
  (PROMETHEUS_MULTIPROC_DIR, set before any worker imports it) so that /metrics adds up every
  worker.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from asgi_correlation_id import CorrelationIdMiddleware
from prometheus_client import Counter, Gauge
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from events_api.core.settings import API_PREFIX, Settings

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "events_api.access"
METRICS_PATH = "/metrics"

access_log = logging.getLogger(ACCESS_LOGGER)

# --- request ids ----------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")


def valid_request_id(value: str) -> bool:
    """Ids from clients or proxies (UUIDs, nginx's $request_id, trace ids); no spaces or quotes."""
    return _REQUEST_ID.fullmatch(value) is not None


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    return CorrelationIdMiddleware(
        app,
        header_name=REQUEST_ID_HEADER,
        generator=lambda: uuid4().hex,
        validator=valid_request_id,
    )


# --- metrics --------------------------------------------------------------------------------
# Defined once per process (a registry refuses a second metric of the same name), so every app
# made in one process (tests make several) shares them.

_REQUESTS = metrics.requests(
    metric_name="http_requests_total",
    metric_doc="HTTP requests by route template, method and status.",
)
_LATENCY = metrics.latency(
    metric_name="http_request_duration_seconds",
    metric_doc="Time to answer HTTP requests, by route template, method and status.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
if _REQUESTS is None or _LATENCY is None:  # the instrumentator returns None for a duplicate
    raise RuntimeError("HTTP metrics are registered twice in this process")

EVENTS_CREATED = Counter(
    "events_api_events_created", "Events created (POST /events answered 201 Created)."
)
DB_POOL_SIZE = Gauge(
    "events_api_db_pool_size",
    "Connections the SQLAlchemy pools keep (DB_POOL_SIZE per worker, summed over workers).",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "events_api_db_pool_checked_out",
    "Connections currently checked out of the SQLAlchemy pools (in use), summed over workers.",
    multiprocess_mode="livesum",
)

# One series per worker process: `instance` tells servers apart (INSTANCE_NAME, by default
# host:port), and the multiprocess collector adds each worker's `pid`.
PROCESS_INFO = Gauge(
    "events_api_process_info",
    "1 per live API worker process, labelled with the server it belongs to.",
    ["instance"],
    multiprocess_mode="liveall",
)

_CREATE_EVENT = API_PREFIX + "/events"
_UNMATCHED = "none"  # the instrumentator's handler for a path that matches no route


def _access_log(info: metrics.Info) -> None:
    """One line per request; the same template, status and duration as the metrics."""
    request = info.request
    templated = info.modified_handler != _UNMATCHED
    created = info.method == "POST" and info.modified_status == "201"
    if created and info.modified_handler == _CREATE_EVENT:
        EVENTS_CREATED.inc()
    state = request.scope.get("state") or {}
    access_log.info(
        "%s %s %s",
        info.method,
        info.modified_handler if templated else "(no route)",
        info.modified_status,
        extra={
            "method": info.method,
            "path": info.modified_handler if templated else request.url.path[:200],
            "route_matched": templated,
            "status": int(info.modified_status),
            "duration_ms": round(info.modified_duration * 1000, 2),
            "client": request.client.host if request.client else None,
            "api_user": state.get("api_user"),
        },
    )


def instrument(app: Any, settings: Settings) -> None:
    """Request metrics and the access log (a middleware), and /metrics when enabled."""
    instrumentator = Instrumentator(
        should_group_status_codes=False,
        should_group_untemplated=True,
        should_include_root_path=False,
    )
    instrumentator.add(_REQUESTS, _LATENCY, _access_log)
    instance = settings.instance_name or f"{socket.gethostname()}:{settings.server_port}"
    PROCESS_INFO.labels(instance=instance).set(1)
    instrumentator.instrument(app)
    if settings.metrics_enabled:
        instrumentator.expose(app, endpoint=METRICS_PATH, include_in_schema=False)


def track_pool(engine: AsyncEngine) -> Callable[[], None]:
    """Feed the pool gauges from SQLAlchemy pool events; returns the undo."""
    target = engine.sync_engine
    pool_size = getattr(engine.pool, "size", None)  # NullPool has none
    size = pool_size() if callable(pool_size) else 0

    def checkout(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.inc()

    def checkin(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.dec()

    event.listen(target, "checkout", checkout)
    event.listen(target, "checkin", checkin)
    DB_POOL_SIZE.inc(size)

    def untrack() -> None:
        event.remove(target, "checkout", checkout)
        event.remove(target, "checkin", checkin)
        DB_POOL_SIZE.dec(size)

    return untrack
