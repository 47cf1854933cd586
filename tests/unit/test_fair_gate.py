"""The gate before the connection pool: first come, first served, and cancellation-safe."""

from __future__ import annotations

import asyncio

import pytest

from events_api.core.db import FairGate


async def test_waiters_are_served_in_arrival_order() -> None:
    gate = FairGate(1)
    await gate.acquire()
    served: list[int] = []

    async def wait(n: int) -> None:
        await gate.acquire()
        served.append(n)

    tasks = [asyncio.create_task(wait(n)) for n in range(5)]
    await asyncio.sleep(0)
    for _ in range(5):
        assert not gate.try_acquire()  # a newcomer never barges ahead of a waiter
        gate.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4]


async def test_a_waiter_cancelled_as_permits_are_released_loses_no_permit() -> None:
    """A timed-out waiter (asyncio.wait_for) whose future release() already dropped: no error,
    and every permit is there again afterwards (this was a 500 under load)."""
    gate = FairGate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiter.cancel()  # its future is cancelled now; its handler runs at the next turn
    gate.release()  # drops the cancelled future, keeps the permit
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.try_acquire()
    assert not gate.try_acquire()


async def test_timeouts_under_contention_keep_the_count_right() -> None:
    gate = FairGate(2)

    async def hold() -> None:
        try:
            await asyncio.wait_for(gate.acquire(), 0.01)
        except TimeoutError:
            return
        await asyncio.sleep(0.005)
        gate.release()

    await asyncio.gather(*(hold() for _ in range(200)))
    assert gate.try_acquire()
    assert gate.try_acquire()
    assert not gate.try_acquire()
    assert gate.waiting == 0


async def test_own_timeouts_under_contention_keep_the_count_right() -> None:
    gate = FairGate(2)
    timed_out = 0

    async def hold() -> None:
        nonlocal timed_out
        try:
            await gate.acquire(0.01)
        except TimeoutError:
            timed_out += 1
            return
        await asyncio.sleep(0.005)
        gate.release()

    await asyncio.gather(*(hold() for _ in range(200)))
    assert timed_out > 0
    assert gate.try_acquire()
    assert gate.try_acquire()
    assert not gate.try_acquire()
    assert gate.waiting == 0


async def test_a_timed_out_waiter_is_skipped_and_the_next_one_served() -> None:
    gate = FairGate(1)
    await gate.acquire()
    late = asyncio.create_task(gate.acquire(0.01))
    await asyncio.sleep(0)
    patient = asyncio.create_task(gate.acquire(5))
    with pytest.raises(TimeoutError):
        await late
    gate.release()
    await asyncio.wait_for(patient, 1)
    assert gate.waiting == 0
    assert not gate.try_acquire()  # the patient waiter holds the one permit
