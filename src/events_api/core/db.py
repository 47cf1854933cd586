"""Engine, URL resolution and the per-request unit of work."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import ClauseElement, event, text
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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
            dbapi_connection.rollback()  # leave no transaction open
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


async def warm_pool(engine: AsyncEngine) -> None:
    """Open all the pool's connections now, so that no request waits for one being opened."""
    size = getattr(engine.pool, "size", None)  # NullPool has none
    connections = [await engine.connect() for _ in range(size() if callable(size) else 0)]
    for conn in connections:
        await conn.close()


def create_engine(
    settings: Settings,
    url: str | None = None,
    *,
    autocommit: bool = False,
    pool_size: int | None = None,
) -> AsyncEngine:
    """An engine on DATABASE_URL (or `url`). `autocommit`: every connection runs in autocommit,
    set once when it is opened (for reads: no BEGIN/ROLLBACK round trips, and no switch on
    each checkout)."""
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    options += " -c idle_in_transaction_session_timeout=60000"
    extra: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_async_engine(
        url or resolve_database_url(settings),
        **extra,
        pool_size=pool_size or settings.db_pool_size,
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


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # release() skips it from now on
        waiter.set_exception(TimeoutError())


class FairGate:
    """At most `permits` holders at once; waiters are served strictly in arrival order.

    asyncio's queue (under SQLAlchemy's pool) lets a newcomer take a connection that was just
    handed back before the waiter it was meant for runs, so under load some requests wait for
    ever while others barge ahead. Here a released permit goes straight to the first waiter.
    """

    def __init__(self, permits: int) -> None:
        self._free = permits
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        """Take a permit if one is free and nobody waits for it."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self, timeout: float | None = None) -> None:
        """Wait for a permit; TimeoutError after `timeout` seconds (a timer on the waiter: no
        task is made for the wait, unlike `asyncio.wait_for`)."""
        if self.try_acquire():
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # handed a permit just as it gave up: pass it on
            elif waiter in self._waiters:  # release() may have dropped it already
                self._waiters.remove(waiter)
            raise
        except TimeoutError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    @property
    def waiting(self) -> int:
        return len(self._waiters)


class Database:
    """The app's engines, and connections for reading through them.

    Readers (requests, credential and catalog look-ups, health checks) take one of
    `DB_POOL_SIZE` connections of the read engine (in autocommit), in arrival order, waiting at
    most `DB_POOL_TIMEOUT` seconds (then 503). The group-commit writer has an engine of its own
    (one connection, transactions), so writes never queue behind reads. Given a single engine
    (tests share one), both use it, and reads run in its transactions.
    """

    def __init__(
        self, reads: AsyncEngine, writes: AsyncEngine, readers: int, timeout: float
    ) -> None:
        self.reads = reads
        self.writes = writes
        self.timeout = timeout
        self._gate = FairGate(readers)

    @classmethod
    def open(cls, settings: Settings) -> Database:
        """The engines of DATABASE_URL (the embedded server, started now, when it is unset)."""
        url = resolve_database_url(settings)
        return cls(
            create_engine(settings, url, autocommit=True),
            create_engine(settings, url, pool_size=1),
            settings.db_pool_size,
            settings.db_pool_timeout,
        )

    @property
    def engines(self) -> list[AsyncEngine]:
        return [self.reads] if self.writes is self.reads else [self.reads, self.writes]

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection for reads, in arrival order."""
        try:
            await self._gate.acquire(self.timeout)
        except TimeoutError as exc:
            raise PoolTimeout(f"no database connection free within {self.timeout:g} s") from exc
        try:
            async with self.reads.connect() as conn:
                yield conn
        finally:
            self._gate.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A reader's connection in a transaction (committed when the block ends), for writes
        that answer their own request (a batch), beside the group-commit writer's."""
        async with self.read() as conn:
            if self.reads is not self.writes:  # the read engine runs in autocommit
                await conn.execution_options(isolation_level="READ COMMITTED")
            async with conn.begin():
                yield conn


class Prepared:
    """A Core statement of a hot path: compiled once, run by psycopg as a prepared statement.

    SQLAlchemy builds the SQL (so tables and columns are named in one place); psycopg runs it on
    the pooled connection and PostgreSQL plans it once per connection. Driver errors are raised
    as SQLAlchemy's (the app's handlers answer them), and a broken connection is dropped from
    the pool, as SQLAlchemy would.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._sql: str | None = None

    def sql(self, conn: AsyncConnection) -> str:
        if self._sql is None:
            self._sql = str(self._statement.compile(dialect=conn.dialect))
        return self._sql

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        sql = self.sql(conn)
        # the checked-out connection as it is (no greenlet hop: it is already open)
        driver = conn.sync_connection.connection.driver_connection if conn.sync_connection else None
        assert isinstance(driver, psycopg.AsyncConnection)
        try:
            cursor = await driver.execute(sql, params, prepare=True)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows
        except psycopg.OperationalError as exc:
            await conn.invalidate()
            raise OperationalError(sql, params, exc) from exc
        except psycopg.DataError as exc:
            raise DataError(sql, params, exc) from exc
