"""`total_items` from the per-type counters, and deep offsets through the deferred join."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.events.repository import DEFERRED_JOIN_OFFSET
from tests.fixtures.helpers import PURCHASE, REGISTRATION, event_body


async def counters_agree(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        counted: dict[str, int] = dict(
            (
                await conn.execute(text("SELECT event_type_id, count(*) FROM events GROUP BY 1"))
            ).all()
        )
        kept: dict[str, int] = dict(
            (
                await conn.execute(
                    text(
                        "SELECT event_type_id, sum(n) FROM event_type_counts GROUP BY 1 HAVING sum(n) <> 0"
                    )
                )
            ).all()
        )
    assert kept == counted
    return {key: int(value) for key, value in counted.items()}


async def total(api: httpx.AsyncClient, **params: Any) -> int:
    response = await api.get("/events", params={"count": 1, **params})
    assert response.status_code == 200, response.text
    value: int = response.json()["data"]["total_items"]
    return value


async def test_type_totals_come_from_exact_counters(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    posts = [api.post("/events", json=event_body(f"p{i}")) for i in range(30)]
    posts += [
        api.post("/events", json=event_body(f"r{i}", event_type_id=REGISTRATION)) for i in range(12)
    ]
    posts += [api.post("/events", json=event_body("p0")) for _ in range(3)]  # duplicates
    statuses = [r.status_code for r in await asyncio.gather(*posts)]
    assert statuses.count(201) == 42
    assert await counters_agree(engine) == {PURCHASE: 30, REGISTRATION: 12}
    assert await total(api) == 42
    assert await total(api, event_type_id=PURCHASE) == 30
    assert await total(api, **{"event_type_ids[]": [PURCHASE, REGISTRATION]}) == 42
    assert await total(api, event_type_id=REGISTRATION, **{"event_type_ids[]": [PURCHASE]}) == 0
    assert await total(api, event_type_id="ffffffffffffffffffffffffff") == 0
    # filters the counters cannot answer fall back to counting rows
    assert await total(api, event_type_id=PURCHASE, customer_id="85bc5819e09dab95437552ce79") == 30
    assert await total(api, event_type_id=PURCHASE, external_id="p7") == 1


async def test_counters_follow_deletes_and_truncates(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for i in range(5):
        assert (await api.post("/events", json=event_body(f"d{i}"))).status_code == 201
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM events WHERE external_id IN ('d0', 'd1')"))
    assert await counters_agree(engine) == {PURCHASE: 3}
    assert await total(api, event_type_id=PURCHASE) == 3
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE events CASCADE"))
    assert await counters_agree(engine) == {}
    assert await total(api, event_type_id=PURCHASE) == 0


async def test_deep_offsets_page_like_shallow_ones(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    n = 2 * DEFERRED_JOIN_OFFSET + 60
    async with engine.begin() as conn:  # bulk set-up in SQL; the behaviour is read over HTTP
        await conn.execute(
            text(
                "INSERT INTO events (event_id, event_type_id, customer_id, external_id, data, created_at, state) "
                "SELECT lpad(to_hex(i), 26, '0'), CASE WHEN i % 3 = 0 THEN :reg ELSE :pur END, "
                "'c' || (i % 7), 'x' || i, NULL, "
                "timestamp '2024-01-01' + (i % 50) * interval '1 hour', 1 "
                "FROM generate_series(1, :n) AS i"
            ),
            {"n": n, "reg": REGISTRATION, "pur": PURCHASE},
        )
        expected = [
            row[0]
            for row in (
                await conn.execute(
                    text(
                        "SELECT event_id FROM events WHERE event_type_id = :pur "
                        "ORDER BY created_at DESC, event_id DESC"
                    ),
                    {"pur": PURCHASE},
                )
            ).all()
        ]
    assert len(expected) > DEFERRED_JOIN_OFFSET + 30
    for offset in (0, DEFERRED_JOIN_OFFSET - 10, DEFERRED_JOIN_OFFSET, len(expected) - 25):
        params: dict[str, str | int] = {
            "event_type_id": PURCHASE,
            "sort_field": "created_at",
            "sort_direction": "DESC",
            "count": 30,
            "offset": offset,
        }
        data = (await api.get("/events", params=params)).json()["data"]
        assert [e["event_id"] for e in data["events"]] == expected[offset : offset + 30]
        assert data["total_items"] == len(expected)
    tail = (await api.get("/events", params={"count": 50, "offset": n - 40})).json()["data"]
    assert [e["external_id"] for e in tail["events"]] == [
        f"x{i}" for i in sorted(range(1, n + 1), key=lambda i: (i % 50, f"{i:026x}"))[-40:]
    ]
    assert tail["total_items"] == n
