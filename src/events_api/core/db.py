"""Engine, URL resolution and the per-request unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from events_api.core.embedded import embedded_database_url
from events_api.core.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, otherwise the embedded server's URL (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.events_api_data_dir)


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    options += " -c idle_in_transaction_session_timeout=60000"
    return create_async_engine(
        url or resolve_database_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout,
            "options": options,
            "application_name": "events-api",
        },
    )


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One connection and one transaction per request (authentication included).

    The transaction begins on the first statement. Services that write call `commit()` before
    they return, so a response is only sent for work that is durably committed; whatever is not
    committed when the request ends is rolled back when the connection goes back to the pool.
    """
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        yield conn


Connection = Annotated[AsyncConnection, Depends(get_connection)]
