"""Logs, request ids and Prometheus metrics.

- Access log: each request is logged once, after its response, by the logger
  `events_api.access`: method, path template, status, duration, client, request id. Headers,
  query strings and bodies are never logged (core/logs.py formats and masks every line).
- Request ids: a well-formed `X-Request-ID` from the request, or a new one, on the response and
  (through asgi-correlation-id's context and logging filter) on every log record written while
  handling the request.
- Metrics: `RequestMetrics` (a pure ASGI middleware) counts requests and times them per route
  template, method and status; SQLAlchemy pool events feed the pool gauges; a 201 from
  POST /events counts an event created. Each app has its own `Metrics` in its own registry.
  `events-api serve` runs prometheus_client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set
  before any worker imports it) so that /metrics adds up every worker.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from asgi_correlation_id.context import correlation_id
from asgi_correlation_id.extensions.sentry import get_sentry_extension
from asgi_correlation_id.middleware import FAILED_VALIDATION_MESSAGE
from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events_api.core.logs import AccessLog
from events_api.core.routes import RouteTable, route_path

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "events_api.access"
METRICS_PATH = "/metrics"
UNMATCHED = "none"  # the handler label of a request that matched no route
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

correlation_log = logging.getLogger("asgi_correlation_id")  # its warnings, as it names them

# --- request ids ----------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")


def valid_request_id(value: str) -> bool:
    """Ids from clients or proxies (UUIDs, nginx's $request_id, trace ids); no spaces or quotes."""
    return _REQUEST_ID.fullmatch(value) is not None


class RequestIds:
    """asgi-correlation-id's middleware, as configured here, in a few lines: the request's
    well-formed `X-Request-ID` or a new id, put in the request's headers, in its context (its
    logging filter reads it there) and on the response. Its own middleware looked the header
    up through Starlette's header classes and cost ~50 µs a request (docs/benchmarks.md)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.name = REQUEST_ID_HEADER.lower().encode("latin-1")
        self.tag_transaction = get_sentry_extension()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        sent = next((value for key, value in headers if key == self.name), None)
        given = sent.decode("latin-1") if sent is not None else None
        if given and valid_request_id(given):
            request_id = given
        else:
            request_id = os.urandom(16).hex()
            if given:
                correlation_log.warning(FAILED_VALIDATION_MESSAGE, request_id)
            encoded = (self.name, request_id.encode("latin-1"))
            others = [(key, value) for key, value in headers if key != self.name]
            if sent is None:
                scope["headers"] = [*others, encoded]
            else:  # in place of the first, as Starlette's MutableHeaders does
                first = next(i for i, (key, _) in enumerate(headers) if key == self.name)
                scope["headers"] = [*others[:first], encoded, *others[first:]]
        correlation_id.set(request_id)
        self.tag_transaction(request_id)
        header = (self.name, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


# --- metrics --------------------------------------------------------------------------------


class ProcessId:
    """This process's id, kept, and renewed in a child made by fork()."""

    def __init__(self) -> None:
        self.value = os.getpid()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.value = os.getpid()

    def __call__(self) -> int:
        return self.value


@cache
def count_without_asking_the_pid() -> None:
    """In multiprocess mode, prometheus_client compares the process id with the one its file
    was opened for at every count, to notice a fork, and asks the kernel for it each time
    (getpid(), a system call, ~3 % of a GET /events/{id}'s CPU: docs/benchmarks.md). Its values
    are made to ask a kept id instead (renewed by a fork all the same). Once per process,
    before the first metric is made."""
    if getattr(values.ValueClass, "_multiprocess", False):
        value_class: Callable[..., type] = values.MultiProcessValue  # (untyped)
        values.ValueClass = value_class(process_identifier=ProcessId())


class Metrics:
    """One app's metrics, in a registry of its own."""

    def __init__(self, instance: str) -> None:
        count_without_asking_the_pid()
        self.registry = CollectorRegistry()
        labels = ("handler", "method", "status")
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route template, method and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route template, method and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events_created = Counter(
            "events_api_events_created",
            "Events created (POST /events answered 201 Created).",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "events_api_db_pool_size",
            "Connections the SQLAlchemy pools keep (DB_POOL_SIZE per worker, summed over workers).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "events_api_db_pool_checked_out",
            "Connections currently checked out of the SQLAlchemy pools (in use), summed over "
            "workers.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

        # One series per worker process: `instance` tells servers apart (INSTANCE_NAME, by
        # default host:port), and the multiprocess collector adds each worker's `pid`.
        self.process_info = Gauge(
            "events_api_process_info",
            "1 per live API worker process, labelled with the server it belongs to.",
            ["instance"],
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.process_info.labels(instance=instance).set(1)
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def series(self, handler: str, method: str, status: str) -> tuple[Counter, Histogram]:
        """The request counter and latency histogram of one label set (kept: a label lookup
        costs more than the count). Handlers are route templates, so the sets are few."""
        key = (handler, method, status)
        found = self._series.get(key)
        if found is None:
            found = (
                self.requests.labels(handler, method, status),
                self.latency.labels(handler, method, status),
            )
            self._series[key] = found
        return found

    def exposition(self) -> bytes:
        """The text format: every worker's metrics in multiprocess mode, else this app's."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            collect_workers: Callable[[CollectorRegistry], object] = (
                multiprocess.MultiProcessCollector
            )
            collect_workers(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def track_pool(self, engine: AsyncEngine) -> Callable[[], None]:
        """Feed the pool gauges from SQLAlchemy pool events; returns the undo."""
        target = engine.sync_engine
        pool_size = getattr(engine.pool, "size", None)  # NullPool has none
        size = pool_size() if callable(pool_size) else 0

        def checkout(*_args: Any) -> None:
            self.pool_checked_out.inc()

        def checkin(*_args: Any) -> None:
            self.pool_checked_out.dec()

        event.listen(target, "checkout", checkout)
        event.listen(target, "checkin", checkin)
        self.pool_size.inc(size)

        def untrack() -> None:
            event.remove(target, "checkout", checkout)
            event.remove(target, "checkin", checkin)
            self.pool_size.dec(size)

        return untrack


class RequestMetrics:
    """Counts and times each request, and writes its access-log line, after the response."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: RouteTable, created_route: str
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.created_route = created_route  # the POST route whose 201s count created events
        self.access = AccessLog(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, duration: float) -> None:
        template = self.routes.template(route_path(scope))
        method: str = scope["method"]
        status_text = str(status)
        counted, timed = self.metrics.series(template or UNMATCHED, method, status_text)
        counted.inc()
        timed.observe(duration)
        if status == 201 and method == "POST" and template == self.created_route:
            self.metrics.events_created.inc()
        if not self.access.enabled():
            return
        client = scope.get("client")
        state = scope.get("state") or {}
        self.access.write(
            f"{method} {template or '(no route)'} {status_text}",
            {
                "method": method,
                "path": template or scope["path"][:200],
                "route_matched": template is not None,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "client": client[0] if client else None,
                "api_user": state.get("api_user"),
            },
        )


def expose_metrics(app: FastAPI, metrics: Metrics) -> None:
    """`/metrics` at the server root, outside the API and its docs."""

    async def scrape(_request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, scrape, methods=["GET"], include_in_schema=False)
