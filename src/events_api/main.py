"""The ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import compile_path
from starlette.types import ASGIApp

from events_api import __version__
from events_api.core.db import create_engine
from events_api.core.errors import install_error_handlers
from events_api.core.middleware import BodySizeLimit
from events_api.core.notify import change_listener
from events_api.core.observability import instrument, request_id_middleware, track_pool
from events_api.core.openapi import EXTRA_SCHEMAS
from events_api.core.proxy import proxy_middleware
from events_api.core.replicas import from_settings as read_replicas
from events_api.core.settings import API_PREFIX, Settings, get_settings
from events_api.events.router import router as events_router
from events_api.events.writer import GroupCommitWriter
from events_api.health import router as health_router
from events_api.openapi_examples import add_examples


class EventsAPI(FastAPI):
    """FastAPI with the edge middleware outside Starlette's error handling.

    Request ids and proxy headers wrap the whole stack (ServerErrorMiddleware included), so a
    500 also carries its X-Request-ID, and every handler sees the real client and prefix.
    """

    edge: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return self.edge(stack) if self.edge is not None else stack


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = engine or create_engine(settings)
        app.state.engine = db
        untrack_pool = track_pool(db)
        writer = GroupCommitWriter(
            db, settings.group_commit_max_events, settings.group_commit_max_records
        )
        app.state.writer = writer
        writer.start()
        listener = asyncio.create_task(change_listener.run(db), name="change-listener")
        replicas = read_replicas(settings, db)
        app.state.replicas = replicas
        checker = asyncio.create_task(replicas.run(), name="replicas") if replicas else None
        try:
            yield
        finally:
            listener.cancel()
            if replicas is not None and checker is not None:
                checker.cancel()
                await replicas.dispose()
            await writer.stop()
            untrack_pool()
            if engine is None:
                await db.dispose()

    app = EventsAPI(
        title="Events API (CareCloud enterprise interface)",
        version=__version__,
        description="A self-hosted, faithful reimplementation of CareCloud's Events API.",
        lifespan=lifespan,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    install_error_handlers(app)
    app.include_router(events_router, prefix=API_PREFIX)
    app.include_router(health_router)
    app.state.route_methods = [
        (compile_path(API_PREFIX + route.path)[0], route.methods)
        for route in events_router.routes
        if isinstance(route, APIRoute)
    ]
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    instrument(app, settings)  # outside the body limit: a 413 is counted and logged too
    app.edge = lambda stack: request_id_middleware(
        proxy_middleware(stack, settings.forwarded_allow_ips, settings.root_path)
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(EXTRA_SCHEMAS)
            add_examples(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
