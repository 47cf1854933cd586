"""Engine, URL resolution and the per-request unit of work."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from events_api.core.embedded import embedded_database_url
from events_api.core.settings import Settings
from events_api.core.state import StateDep


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, otherwise the embedded server's URL (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.events_api_data_dir)


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle for a while.

    A ping on every checkout (`pool_pre_ping`) costs one round trip per request; a connection
    in steady use needs none. A connection that broke while in use (PostgreSQL restarted) is
    seen by SQLAlchemy as a disconnect, which invalidates the whole pool, so the next requests
    get fresh connections either way.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # leave no transaction open (autocommit is set next)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError from exc


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    options += " -c idle_in_transaction_session_timeout=60000"
    engine = create_async_engine(
        url or resolve_database_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout,
            "options": options,
            "application_name": "events-api",
        },
    )
    ping_idle_connections(engine, settings.db_ping_idle_seconds)
    return engine


async def get_connection(state: StateDep) -> AsyncIterator[AsyncConnection]:
    """One pooled connection per request, for its reads (authentication included).

    The connection runs in autocommit: a request only reads through it, so wrapping its
    statements in BEGIN ... ROLLBACK would cost two round trips and buy nothing. Writes never
    happen here: events are written by the group-commit writer, in transactions of its own,
    and a request is answered only after its transaction committed.
    """
    async with state.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


Connection = Annotated[AsyncConnection, Depends(get_connection)]
