"""In-process group commit for POST /events.

Requests that arrive while a transaction is being written queue up; the next transaction takes
all of them (up to a limit) and commits them together, so one WAL flush serves many requests.
Each request is answered only after the transaction holding its event has committed. A duplicate
in a batch fails only that request (`ON CONFLICT DO NOTHING`); any other failure of a batch is
retried event by event, so one bad event never takes its neighbours down. When the database is
unreachable, every waiting request gets the error (503), and nothing is reported as written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.errors import DB_UNAVAILABLE, ServiceUnavailable
from events_api.events import repository
from events_api.events.rows import EventRow, NewRecord

log = logging.getLogger("events_api.writer")

# SQLSTATEs after which a batch is worth retrying event by event (deadlock, serialization).
_RETRYABLE = {"40P01", "40001"}


@dataclass
class _Pending:
    event: EventRow
    records: list[NewRecord]
    future: asyncio.Future[bool] = field(repr=False)

    @property
    def relation(self) -> tuple[str, str, str, str]:
        e = self.event
        return (e.event_type_id, e.customer_id, e.external_id, e.secondary_external_id or "")


class GroupCommitWriter:
    def __init__(
        self, engine: AsyncEngine, max_events: int, max_records: int, retry_after: int
    ) -> None:
        self._engine = engine
        self._max_events = max_events
        self._max_records = max_records
        self._retry_after = retry_after  # told to clients refused while the writer stops
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0  # committed, since start
        self.events_committed = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="events-group-commit")

    async def stop(self) -> None:
        """Refuse new events, write every queued one, then end."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def write(self, event: EventRow, records: list[NewRecord]) -> bool:
        """Write one event with its records; True once committed, False for a duplicate."""
        if self._closing or self._task is None or self._task.done():
            raise ServiceUnavailable(self._retry_after)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(event, records, future))
        self._wakeup.set()
        # shield: a client that goes away does not cancel a write already queued
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._take_batch()
                try:
                    await self._write_batch(batch)
                except Exception as exc:  # never let the writer die
                    log.exception("group commit failed")
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
            if self._closing and not self._queue:
                return

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        records = len(batch[0].records)
        while self._queue and len(batch) < self._max_events:
            records += len(self._queue[0].records)
            if records > self._max_records:
                break
            batch.append(self._queue.popleft())
        # One lock order for every writer process, so concurrent batches cannot deadlock.
        batch.sort(key=lambda pending: pending.relation)
        return batch

    async def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            async with self._engine.begin() as conn:
                inserted = await repository.insert_events(conn, [p.event for p in batch])
                rows = [r for p in batch if p.event.event_id in inserted for r in p.records]
                if rows:
                    await repository.insert_records(conn, rows)
            self.transactions += 1
            self.events_committed += len(inserted)
        except DB_UNAVAILABLE as exc:
            if len(batch) > 1 and _sqlstate(exc) in _RETRYABLE:
                await self._one_by_one(batch)
                return
            for pending in batch:
                pending.future.set_exception(exc)
            return
        except Exception as exc:
            if len(batch) > 1:
                await self._one_by_one(batch)
                return
            batch[0].future.set_exception(exc)
            return
        for pending in batch:
            pending.future.set_result(pending.event.event_id in inserted)

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        for pending in batch:
            await self._write_batch([pending])


def _sqlstate(exc: Exception) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return getattr(orig, "sqlstate", None)
