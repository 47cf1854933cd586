"""`events-api import` / `events-api export`, run as real subprocesses against the test database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.events.test_create_event import row_counts
from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import PURCHASE, REGISTRATION, ROOT, event_body

pytestmark = pytest.mark.usefixtures("catalog")


def body(i: int) -> dict[str, Any]:
    """Varied events: every field, numeric ids, every kind of data, records of several types."""
    records: list[dict[str, Any]] = [
        {"property_id": "has_purchase", "property_value": i % 2 == 0},
        {"property_id": "amount", "property_value": i / 4},
        {"property_id": "note", "property_value": f"note {i} ü"},
    ]
    if i % 3 == 0:
        records.append({"property_id": "tier", "property_value": [{"id": "1"}]})
    if i % 5 == 0:
        records = []
    event = event_body(
        i if i % 2 else f"ext-{i}",
        event_type_id=PURCHASE if i % 4 else REGISTRATION,
        customer_id=f"customer-{i % 97}",
        created_at=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 12:{i % 60:02d}:00",
        data=[{"n": i}, f"text {i}", [f"a{i}", "b"], None][i % 4],
        records=records if i % 4 else [r for r in records if r["property_id"] == "note"],
    )
    if i % 7 == 0:
        event["event"]["secondary_external_id"] = f"s{i}"
    return event


def write_ndjson(path: Path, bodies: list[Any]) -> None:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")


def relation(event: dict[str, Any]) -> tuple[Any, ...]:
    return (
        event["event_type_id"],
        event["customer_id"],
        str(event["external_id"]),
        event.get("secondary_external_id"),
    )


def exported(path: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = {relation(line["event"]): line for line in map(json.loads, lines)}
    assert len(found) == len(lines)
    return found


def as_exported(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as export writes them: as accepted, but a JSON number with a fraction as the
    text it was sent as (stored so, every digit kept; reads answer it as that number)."""
    return [
        r | {"property_value": json.dumps(r["property_value"])}
        if isinstance(r["property_value"], float)
        else r
        for r in records
    ]


def summary(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]


async def test_round_trip_of_10000_events_is_equal_field_by_field(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    bodies = [body(i) for i in range(10_000)]
    source = tmp_path / "in.ndjson"
    write_ndjson(source, bodies)
    result = run_cli(database_url, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "10,000 written, 0 duplicates, 0 invalid" in summary(result)
    first = tmp_path / "first.ndjson"
    result = run_cli(database_url, "export", "--output", str(first))
    assert result.returncode == 0, result.stderr
    assert "exported 10,000 events" in result.stderr
    out = exported(first)
    assert len(out) == 10_000
    for sent in bodies:
        got = out[relation(sent["event"])]
        event = got["event"]
        for name in ("event_type_id", "customer_id", "created_at", "data"):
            assert event[name] == sent["event"].get(name), name
        assert event["external_id"] == str(sent["event"]["external_id"])
        assert event["secondary_external_id"] == sent["event"].get("secondary_external_id")
        assert event["state"] == 1
        assert got["property_records"] == as_exported(sent.get("property_records", []))
    # and back: the export imported into an empty database exports the same, but for event ids
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE event_property_records, events"))
    result = run_cli(database_url, "import", str(first))
    assert result.returncode == 0, result.stderr
    second = tmp_path / "second.ndjson"
    assert run_cli(database_url, "export", "-o", str(second)).returncode == 0
    again = exported(second)
    assert again.keys() == out.keys()
    for key, line in out.items():
        other = again[key]
        assert other["event"].pop("event_id") != line["event"].pop("event_id")
        assert other == line
    assert await row_counts(engine) == (10_000, sum(len(b["property_records"]) for b in bodies))


async def test_export_filters_like_get_events(
    database_url: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    bodies = [body(i) for i in range(40)]
    assert (await api.post("/events/batch", json={"events": bodies})).status_code == 204
    cases: list[tuple[list[str], dict[str, str]]] = [
        ([], {}),
        (["--event-type-id", PURCHASE], {"event_type_id": PURCHASE}),
        (["--customer-id", "customer-3"], {"customer_id": "customer-3"}),
        (["--external-id", "ext-4"], {"external_id": "ext-4"}),
        (
            ["--time-from", "2024-03-01 00:00:00", "--time-to", "2024-06-30 23:59:59"],
            {"time_from": "2024-03-01 00:00:00", "time_to": "2024-06-30 23:59:59"},
        ),
    ]
    for args, params in cases:
        result = run_cli(database_url, "export", *args)
        assert result.returncode == 0, result.stderr
        ids = [json.loads(line)["event"]["event_id"] for line in result.stdout.splitlines()]
        listing = (await api.get("/events", params={**params, "count": "1000"})).json()["data"]
        assert sorted(ids) == sorted(e["event_id"] for e in listing["events"]), args
        assert ids == sorted(ids)  # keyset order
        assert listing["total_items"] == len(ids)
    several = run_cli(
        database_url, "export", "--event-type-id", PURCHASE, "--event-type-id", REGISTRATION
    )
    assert len(several.stdout.splitlines()) == 40


def test_export_refuses_a_bad_time(database_url: str) -> None:
    result = run_cli(database_url, "export", "--time-from", "yesterday")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "events-api: error: --time-from: expected YYYY-MM-DD HH:MM:SS, got 'yesterday'"
    )


def test_import_of_a_missing_file_is_one_line(database_url: str, tmp_path: Path) -> None:
    result = run_cli(database_url, "import", str(tmp_path / "nope.ndjson"))
    assert result.returncode == 1
    assert result.stderr.startswith("events-api: error: cannot read ")
    assert len(result.stderr.strip().splitlines()) == 1


def bad_file(path: Path) -> None:
    lines = [
        json.dumps(event_body("a")),
        '{"event": {"event_type_id": ',  # malformed
        json.dumps(event_body("b")),
        "",  # blank: skipped
        "[1, 2]",
        json.dumps(event_body("c", customer_id="")),
        json.dumps(event_body("a")),  # the same relation as line 1
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_malformed_line_with_error_processing_2(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    source = tmp_path / "bad.ndjson"
    bad_file(source)
    result = run_cli(database_url, "import", str(source), "--error-processing", "2")
    assert result.returncode == 1
    assert summary(result).endswith("2 written, 1 duplicates, 3 invalid")
    assert result.stderr.splitlines() == [
        "line 2: body: invalid_value_format: The request body is not valid JSON (UTF-8).",
        "line 5: body: invalid_value_format: An object is expected. ([1, 2])",
        "line 6: event.customer_id: empty: The value must not be empty.",
    ]
    assert await row_counts(engine) == (2, 0)


async def test_malformed_line_with_error_processing_1_writes_nothing_of_its_chunk(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    source = tmp_path / "bad.ndjson"
    bad_file(source)
    result = run_cli(database_url, "import", str(source))
    assert result.returncode == 1
    assert summary(result).endswith("0 written, 1 duplicates, 3 invalid")
    assert "line 2: body: invalid_value_format" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("events-api: error: stopped at the first chunk with an invalid line")
    )
    assert await row_counts(engine) == (0, 0)


async def test_error_processing_1_keeps_the_chunks_before_the_bad_one(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    source = tmp_path / "late.ndjson"
    lines = [json.dumps(body(i)) for i in range(2500)]
    lines[1500] = "not json"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(database_url, "import", str(source))
    assert result.returncode == 1
    assert "line 1501: body: invalid_value_format" in result.stderr
    assert summary(result).endswith("1,000 written, 0 duplicates, 1 invalid")
    assert (await row_counts(engine))[0] == 1000


async def test_interrupted_import_rerun_writes_nothing_twice(
    database_url: str, api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    bodies = [body(i) for i in range(3000)]
    source = tmp_path / "all.ndjson"
    write_ndjson(source, bodies)
    # the import reads standard input; after two chunks are committed it is killed mid-stream
    process = subprocess.Popen(
        [sys.executable, "-m", "events_api.cli", "import", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
    )
    try:
        assert process.stdin is not None
        process.stdin.write("".join(json.dumps(b) + "\n" for b in bodies[:2500]).encode())
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while (await row_counts(engine))[0] < 2000:
            assert process.poll() is None, "the import ended before it was interrupted"
            assert time.monotonic() < deadline, "two chunks were not written within 60 s"
            await asyncio.sleep(0.1)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert (await row_counts(engine))[0] == 2000  # the third chunk was never complete
    result = run_cli(database_url, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert summary(result).endswith("1,000 written, 2,000 duplicates, 0 invalid")
    again = run_cli(database_url, "import", str(source))
    assert summary(again).endswith("0 written, 3,000 duplicates, 0 invalid")
    assert (await row_counts(engine))[0] == 3000
    assert (await api.get("/events")).json()["data"]["total_items"] == 3000
    async with engine.connect() as conn:
        distinct = (
            await conn.execute(
                text(
                    "SELECT count(DISTINCT (event_type_id, customer_id, external_id, "
                    "secondary_external_id)) FROM events"
                )
            )
        ).scalar_one()
    assert distinct == 3000


def test_import_reads_standard_input_and_shows_progress(database_url: str) -> None:
    lines = "".join(json.dumps(body(i)) + "\n" for i in range(1500))
    result = run_cli(database_url, "import", "-", "--progress", stdin=lines.encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported 1,500 lines in ")
    updates = result.stderr.split("\r")[1:]
    assert len(updates) >= 2  # after each chunk written, and at the end
    assert updates[0].startswith("1,000 lines: 1,000 written, 0 duplicates, 0 invalid (")
    assert updates[-1].startswith("1,500 lines: 1,500 written, 0 duplicates, 0 invalid (")
