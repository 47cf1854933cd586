"""Engine, URL resolution and the per-request unit of work."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from events_api.core.embedded import embedded_database_url
from events_api.core.settings import Settings


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


def libpq_params(engine: AsyncEngine) -> dict[str, Any]:
    """The engine's connection parameters as psycopg takes them (multi-host URLs included)."""
    _args, params = engine.dialect.create_connect_args(engine.url)
    return dict(params)


# SQLSTATE 25006: a write reached a server in recovery. After a failover, a pooled connection
# may still point at the old primary, now a standby: treat it as a lost connection, so the pool
# is emptied and the next connections look for the read-write server (target_session_attrs).
READ_ONLY_TRANSACTION = "25006"


def treat_read_only_as_disconnect(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "handle_error")
    def _handle(context: Any) -> BaseException | None:
        orig = context.original_exception
        if getattr(orig, "sqlstate", None) != READ_ONLY_TRANSACTION:
            return None
        context.is_disconnect = True
        return OperationalError(
            context.statement, context.parameters, orig, connection_invalidated=True
        )


async def database_role(conn: AsyncConnection) -> str:
    """`primary` or `replica` (a server in recovery), as this connection sees it."""
    in_recovery = (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar()
    return "replica" if in_recovery else "primary"


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
    treat_read_only_as_disconnect(engine)
    return engine


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One pooled connection per request, for its reads (authentication included).

    The connection runs in autocommit: a request only reads through it, so wrapping its
    statements in BEGIN ... ROLLBACK would cost two round trips and buy nothing. Writes never
    happen here: events are written by the group-commit writer, in transactions of its own,
    and a request is answered only after its transaction committed.
    """
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


Connection = Annotated[AsyncConnection, Depends(get_connection)]
