"""Reads shared by concurrent requests: one query answers every request waiting for it.

Under load most of a single-row read's cost is not PostgreSQL's but the request's trip through
the pool and the driver (docs/benchmarks.md, "Coalesced reads"). A `Coalescer` turns the keys
asked while a query runs into the next query: the first request of a quiet moment starts a
fetch at once (nothing waits for a timer), and requests arriving meanwhile wait for the
following one, which reads all of their keys together (up to `max_keys`). One fetch runs at a
time per process, so a burst costs one pooled connection, not one each.

The fetch's error reaches every request of that fetch (a database outage is a 503 for each);
a request that goes away (its task cancelled) stops waiting, and the others are unaffected.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Mapping[K, V]]]


class Coalescer(Generic[K, V]):
    def __init__(self, fetch: Fetch[K, V], max_keys: int) -> None:
        self._fetch = fetch
        self.max_keys = max_keys
        self._waiting: deque[tuple[K, asyncio.Future[V | None]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self.fetches = 0  # fetches run since start (tests count them)

    async def get(self, key: K) -> V | None:
        """The value of `key` (None when the fetch found none), read with the others waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self._waiting.append((key, future))
        if self._task is None:
            self._task = loop.create_task(self._drain(), name="coalesced-reads")
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = [self._waiting.popleft()]
                while self._waiting and len(batch) < self.max_keys:
                    batch.append(self._waiting.popleft())
                waiting = [(key, future) for key, future in batch if not future.done()]
                if waiting:
                    await self._answer(waiting)
        finally:
            self._task = None
            for _, future in self._waiting:  # only when cancelled (the app stops)
                future.cancel()

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V | None]]]) -> None:
        try:
            found = await self._fetch(list(dict.fromkeys(key for key, _ in batch)))
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            self.fetches += 1
        for key, future in batch:
            if not future.done():
                future.set_result(found.get(key))
