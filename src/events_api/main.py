"""The ASGI application: `create_app(settings)` builds one app and owns all its state.

Everything per process (engine, group-commit writer, failed-login throttle, change listener,
caches, metrics) is made from the app's settings in its lifespan and handed to requests as one
`AppState` (core/state.py); nothing is read from a global.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from events_api import __version__
from events_api.api_users.bearer import AcceptedBearerTokens
from events_api.api_users.service import AcceptedCredentials
from events_api.catalog.cache import CatalogCache
from events_api.catalog.router import build_router as catalog_router
from events_api.core.db import Database, warm_pool
from events_api.core.docs import install_docs
from events_api.core.error_handlers import install_error_handlers
from events_api.core.errors import DB_UNAVAILABLE
from events_api.core.http_rules import HeadAsGet, JsonBodiesOnly
from events_api.core.middleware import BodySizeLimit
from events_api.core.notify import ChangeListener
from events_api.core.observability import (
    Metrics,
    RequestIds,
    RequestMetrics,
    expose_metrics,
)
from events_api.core.openapi import component_schemas
from events_api.core.proxy import proxy_middleware
from events_api.core.ratelimit import AuthThrottle
from events_api.core.replicas import Reads
from events_api.core.replicas import from_settings as read_replicas
from events_api.core.routes import RouteTable
from events_api.core.settings import API_PREFIX, WEBSERVICE, Settings, get_settings
from events_api.core.state import STATE_KEY, AppState
from events_api.customers.cache import CustomerDirectory
from events_api.events.batch_schemas import EventBatchBody
from events_api.events.customer_router import build_router as customer_events_router
from events_api.events.lookups import EventLookups, RecordPages
from events_api.events.router import build_router as events_router
from events_api.events.schemas import EventPostBody
from events_api.events.writer import GroupCommitWriter
from events_api.health import router as health_router
from events_api.logins.router import UserLoginBody
from events_api.logins.router import build_router as login_router
from events_api.openapi_examples import add_examples

log = logging.getLogger("events_api.app")

# Request bodies the handlers read themselves, documented under components.schemas.
BODY_MODELS = (EventPostBody, EventBatchBody, UserLoginBody)


class EventsAPI(FastAPI):
    """FastAPI with request ids and proxy handling outside Starlette's error handling, so a 500
    also carries its X-Request-ID and every handler sees the real client and prefix; and with
    CareCloud's examples in its OpenAPI document."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        proxied = proxy_middleware(
            stack,
            self.settings.forwarded_allow_ips,
            self.settings.root_path,
            WEBSERVICE if self.settings.webservice_alias else "",
        )
        return RequestIds(proxied)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(component_schemas(*BODY_MODELS))
            add_examples(schema)
            self.openapi_schema = schema
        return self.openapi_schema


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    """The app for these settings (the environment's when None). With `engine`, the app uses
    that engine and leaves it open (tests share one)."""
    settings = settings or get_settings()
    metrics = Metrics(settings.instance_name or f"{socket.gethostname()}:{settings.server_port}")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, AppState]]:
        if engine is None:
            db = Database.open(settings)
        else:
            db = Database(engine, engine, settings.db_pool_size, settings.db_pool_timeout)
        listener = ChangeListener()
        state = AppState(
            settings=settings,
            db=db,
            listener=listener,
            throttle=AuthThrottle.from_settings(settings),
        )
        writer = GroupCommitWriter(
            db.writes,
            settings.group_commit_max_events,
            settings.group_commit_max_records,
            settings.retry_after_seconds,
        )
        for part in (
            writer,
            CatalogCache(listener),
            CustomerDirectory(listener, settings.check_customer_ids),
            AcceptedCredentials(listener),
            AcceptedBearerTokens(listener),
        ):
            state.add(part)
        untrack_pool = metrics.track_pool(db.reads)  # the requests' pool (DB_POOL_SIZE)
        try:
            for each in db.engines:
                await warm_pool(each)
        except DB_UNAVAILABLE as exc:  # start all the same: /health/ready tells
            log.warning("database unreachable at start: %s", type(exc).__name__)
        writer.start()
        listening = asyncio.create_task(listener.run(db.reads), name="change-listener")
        state.replicas = read_replicas(settings, db.reads)
        state.add(EventLookups(Reads(db, state.replicas)))
        state.add(RecordPages(db))
        checking = state.replicas and asyncio.create_task(state.replicas.run(), name="replicas")
        try:
            yield {STATE_KEY: state}
        finally:
            listening.cancel()
            if state.replicas is not None and checking:
                checking.cancel()
                await state.replicas.dispose()
            await writer.stop()
            untrack_pool()
            if engine is None:
                await db.dispose()

    app = EventsAPI(
        settings,
        title="Events API (CareCloud enterprise interface)",
        version=__version__,
        description="A self-hosted, faithful reimplementation of CareCloud's Events API.",
        lifespan=lifespan,
        docs_url=None,  # core/docs.py: Swagger UI from a package, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # `/events/` is a 404 like any unknown URL, never a redirect built from the Host header
        redirect_slashes=False,
    )
    events = events_router(settings)
    catalog = catalog_router(settings)
    customers = customer_events_router(settings)
    logins = login_router(settings)
    for router in (events, catalog, customers, logins):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router)
    if settings.docs_enabled:
        install_docs(app, "/openapi.json")
    if settings.metrics_enabled:
        expose_metrics(app, metrics)
    routes = RouteTable.of(
        [(API_PREFIX, r) for r in (events, catalog, customers, logins)] + [("", health_router)],
        app.routes,
    )
    install_error_handlers(app, routes, settings.retry_after_seconds)
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_body_bytes,
        path_limits={API_PREFIX + "/events/batch": settings.max_batch_body_bytes},
    )
    app.add_middleware(JsonBodiesOnly)  # 415 before authentication and the body limit
    # outside the body limit: a 413 is counted and logged too
    app.add_middleware(
        RequestMetrics, metrics=metrics, routes=routes, created_route=API_PREFIX + "/events"
    )
    app.add_middleware(HeadAsGet)  # outside the metrics: a HEAD is counted as its GET
    return app
