"""The coalescer under GET /events/{event_id}: who shares a fetch, and what each waiter gets."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from events_api.core.coalesce import Coalescer


class Store:
    """A fetch that holds each call until released, and records the keys it was asked."""

    def __init__(self, values: Mapping[str, int]) -> None:
        self.values = values
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.error: Exception | None = None

    async def fetch(self, keys: list[str]) -> Mapping[str, int]:
        self.calls.append(keys)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return {key: self.values[key] for key in keys if key in self.values}


async def test_a_lone_request_is_fetched_at_once() -> None:
    store = Store({"a": 1})
    store.gate.set()
    assert await Coalescer(store.fetch, 10).get("a") == 1
    assert store.calls == [["a"]]


async def test_keys_asked_during_a_fetch_share_the_next_one_deduplicated() -> None:
    store = Store({"a": 1, "b": 2, "c": 3})
    reads = Coalescer(store.fetch, 10)
    first = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(reads.get(key)) for key in ("b", "c", "b", "zz")]
    await asyncio.sleep(0.01)
    store.gate.set()
    assert await first == 1
    assert [await task for task in later] == [2, 3, 2, None]
    assert store.calls == [["a"], ["b", "c", "zz"]]
    assert reads.fetches == 2


async def test_at_most_max_keys_per_fetch() -> None:
    store = Store({str(n): n for n in range(7)})
    store.gate.set()
    reads = Coalescer(store.fetch, 3)
    assert await asyncio.gather(*(reads.get(str(n)) for n in range(7))) == list(range(7))
    assert [len(keys) for keys in store.calls] == [3, 3, 1]


async def test_an_error_reaches_every_waiter_of_that_fetch_only() -> None:
    store = Store({"a": 1, "b": 2})
    reads = Coalescer(store.fetch, 10)
    store.error = ConnectionError("down")
    waiting = [asyncio.create_task(reads.get(key)) for key in ("a", "b")]
    await asyncio.sleep(0)
    store.gate.set()
    for task in waiting:
        with pytest.raises(ConnectionError):
            await task
    store.error = None
    assert await reads.get("b") == 2


async def test_a_cancelled_waiter_leaves_the_others_their_answers() -> None:
    store = Store({"a": 1, "b": 2})
    reads = Coalescer(store.fetch, 10)
    first = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    gone, kept = asyncio.create_task(reads.get("b")), asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await first == 1
    assert await kept == 1
    assert gone.cancelled()
    assert store.calls == [["a"], ["a"]]  # the cancelled key was not asked
