"""`events-api purge`: retention in bounded batches; total_items stays exact."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import PURCHASE, REGISTRATION, create
from tests.ops.test_cli import assert_one_line_error

OLD, NEW = "2020-01-01 10:00:00", "2024-06-01 10:00:00"
RECORDS = [
    {"property_id": "has_purchase", "property_value": True},
    {"property_id": "items_count", "property_value": 2},
]


async def total(api: httpx.AsyncClient, params: Any = None) -> int:
    response = await api.get("/events", params=params)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["total_items"])


async def seed(api: httpx.AsyncClient) -> dict[str, list[str]]:
    """5 old and 2 new purchases (2 records each), 2 old and 1 new registrations."""
    made: dict[str, list[str]] = {"old_purchase": [], "new_purchase": [], "old_reg": [], "new": []}
    for n in range(5):
        made["old_purchase"].append(await create(api, f"op{n}", created_at=OLD, records=RECORDS))
    for n in range(2):
        made["new_purchase"].append(await create(api, f"np{n}", created_at=NEW, records=RECORDS))
    for n in range(2):
        made["old_reg"].append(
            await create(api, f"or{n}", event_type_id=REGISTRATION, created_at=OLD)
        )
    made["new"].append(await create(api, "nr", event_type_id=REGISTRATION, created_at=NEW))
    return made


async def counters_match_the_rows(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        sums = await conn.execute(
            text("SELECT event_type_id, sum(n) FROM event_type_counts GROUP BY 1")
        )
        counted = {row[0]: row[1] for row in sums}
        rows = await conn.execute(text("SELECT event_type_id, count(*) FROM events GROUP BY 1"))
        actual = {row[0]: row[1] for row in rows}
    assert {k: v for k, v in counted.items() if v} == actual


async def test_purge_by_type_then_all_in_batches_keeps_totals_exact(
    api: httpx.AsyncClient, engine: AsyncEngine, database_url: str
) -> None:
    made = await seed(api)
    assert await total(api) == 10

    result = run_cli(
        database_url,
        "purge", "--before", "2021-01-01", "--event-type", PURCHASE, "--batch-size", "2",
        "--progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"purged 5 events and 10 property records of type {PURCHASE} created before "
        "2021-01-01 00:00:00, in 3 batches"
    )
    assert "batch 3: 5 events, 10 records so far" in result.stderr
    assert await total(api) == 5
    assert await total(api, {"event_type_id": PURCHASE}) == 2  # from the per-type counters
    assert await total(api, {"event_type_id": REGISTRATION}) == 3
    assert await total(api, {"time_to": "2021-01-01 00:00:00"}) == 2  # counted on the rows
    for event_id in made["old_purchase"]:
        assert (await api.get(f"/events/{event_id}")).status_code == 404
    for event_id in made["new_purchase"]:
        records = await api.get(f"/events/{event_id}/property-records")
        assert records.status_code == 200
        assert len(records.json()["data"]["property_records"]) == 2
    async with engine.connect() as conn:
        orphans = await conn.scalar(
            text("SELECT count(*) FROM event_property_records WHERE event_id = ANY(:ids)"),
            {"ids": made["old_purchase"]},
        )
    assert orphans == 0
    await counters_match_the_rows(engine)

    # every type, to the second; then nothing left to do
    result = run_cli(database_url, "purge", "--before", "2024-06-01 10:00:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("purged 2 events and 0 property records created before")
    assert result.stderr == ""  # no terminal, no --progress: only the summary
    assert await total(api) == 3
    assert await total(api, {"event_type_id": REGISTRATION}) == 1
    await counters_match_the_rows(engine)
    again = run_cli(database_url, "purge", "--before", "2024-06-01")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("purged 0 events and 0 property records")
    assert await total(api) == 3


async def test_purge_refuses_bad_arguments(api: httpx.AsyncClient, database_url: str) -> None:
    await create(api, "kept", created_at=OLD)
    for before in ("2021-13-01", "yesterday", "2021-01-01T25:00:00", ""):
        line = assert_one_line_error(run_cli(database_url, "purge", "--before", before))
        assert "--before" in line
    line = assert_one_line_error(
        run_cli(database_url, "purge", "--before", "2021-01-01", "--event-type", "nope")
    )
    assert "no event type 'nope'" in line
    for size in ("0", "-5", "many"):
        result = run_cli(database_url, "purge", "--before", "2021-01-01", "--batch-size", size)
        assert result.returncode == 2
        assert "--batch-size" in result.stderr
    missing = run_cli(database_url, "purge")
    assert missing.returncode == 2
    assert "--before" in missing.stderr
    assert await total(api) == 1  # nothing was deleted by any of these
