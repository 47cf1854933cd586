"""The customer directory (`events-api customers load`) and POST /events with
customer_identifier_type / customer_identifier_value instead of customer_id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.customers.service import DirectoryError, load, parse, read_file
from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import PURCHASE, invalid_params, reasons
from tests.ops.test_cli import assert_one_line_error

SOURCE = "8795d942b31990e944c2ab1254"
DIRECTORY: dict[str, Any] = {
    "customers": [
        {
            "customer_id": "cust-anna",
            "email": "Anna@Example.com",
            "phone": "+420 777 123 456",
            "external_ids": [{"customer_source_id": SOURCE, "external_id": "7ACFY3R"}],
        },
        {"customer_id": "cust-bob", "email": "bob@example.com"},
        {"customer_id": "cust-twin-1", "phone": "+420 600 000 000"},
        {"customer_id": "cust-twin-2", "phone": "00420600000000"},  # the same number
    ]
}


async def load_directory(engine: AsyncEngine, data: Any = None) -> dict[str, int]:
    async with engine.begin() as conn:
        return await load(conn, parse(DIRECTORY if data is None else data))


async def identifiers(engine: AsyncEngine) -> list[tuple[str, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM customer_identifiers ORDER BY customer_id, identifier_type, value")
        )
        return [tuple(row) for row in rows]


def body(**customer: Any) -> dict[str, Any]:
    return {
        "event": {"event_type_id": PURCHASE, "external_id": "x1", **customer},
        "property_records": [{"property_id": "has_purchase", "property_value": True}],
    }


async def stored_customer(api: httpx.AsyncClient, response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    event = await api.get(f"/events/{response.json()['data']['event_id']}")
    customer: str = event.json()["data"]["customer_id"]
    return customer


@pytest.mark.parametrize(
    ("kind", "value", "customer"),
    [
        ("email", "anna@example.com", "cust-anna"),
        ("email", "  ANNA@example.COM ", "cust-anna"),
        ("phone", "420777123456", "cust-anna"),
        ("phone", "+420 (777) 123-456", "cust-anna"),
        ("external_id", {"customer_source_id": SOURCE, "external_id": "7ACFY3R"}, "cust-anna"),
        ("email", "bob@example.com", "cust-bob"),
    ],
)
async def test_identifier_resolves_to_the_customer(
    api: httpx.AsyncClient, engine: AsyncEngine, kind: str, value: Any, customer: str
) -> None:
    await load_directory(engine)
    response = await api.post(
        "/events", json=body(customer_identifier_type=kind, customer_identifier_value=value)
    )
    assert await stored_customer(api, response) == customer
    listed = await api.get(f"/customers/{customer}/events")
    assert listed.json()["data"]["total_items"] == 1


async def test_resolved_customer_takes_part_in_the_relation_rule(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_directory(engine)
    first = await api.post("/events", json=body(customer_id="cust-bob"))
    assert first.status_code == 201
    again = await api.post(
        "/events",
        json=body(customer_identifier_type="email", customer_identifier_value="bob@example.com"),
    )
    [problem] = invalid_params(again)
    assert problem["reason"] == "relation_already_exists"
    assert "cust-bob" in problem["value"]


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("email", "nobody@example.com", "not_found"),
        ("phone", "+420 600 000 000", "not_allowed_value"),  # two customers share it
        ("external_id", {"customer_source_id": SOURCE, "external_id": "other"}, "not_found"),
        ("external_id", {"customer_source_id": "other", "external_id": "7ACFY3R"}, "not_found"),
    ],
)
async def test_no_match_or_several_matches(
    api: httpx.AsyncClient, engine: AsyncEngine, kind: str, value: Any, reason: str
) -> None:
    await load_directory(engine)
    response = await api.post(
        "/events", json=body(customer_identifier_type=kind, customer_identifier_value=value)
    )
    [problem] = invalid_params(response)
    assert (problem["name"], problem["reason"]) == ("customer_identifier_value", reason)
    expected = "Several customers" if reason == "not_allowed_value" else "No customer"
    assert problem["message"].startswith(expected)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one() == 0


async def test_unknown_customer_and_unknown_type_reported_together(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_directory(engine)
    response = await api.post(
        "/events",
        json={
            "event": {
                "event_type_id": "0123456789abcdef0123456789",
                "external_id": "x",
                "customer_identifier_type": "email",
                "customer_identifier_value": "nobody@example.com",
            }
        },
    )
    assert reasons(response) == {
        ("event_type_id", "not_found"),
        ("customer_identifier_value", "not_found"),
    }


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        (
            {"customer_id": "c", "customer_identifier_type": "email"},
            {("customer_id", "not_allowed_value")},
        ),
        (
            {"customer_id": "c", "customer_identifier_value": "a@b.c"},
            {("customer_id", "not_allowed_value")},
        ),
        ({"customer_identifier_type": "email"}, {("customer_identifier_value", "required")}),
        ({"customer_identifier_value": "a@b.c"}, {("customer_identifier_type", "required")}),
        (
            {"customer_identifier_type": "fax", "customer_identifier_value": "1"},
            {("customer_identifier_type", "not_allowed_value")},
        ),
        (
            {"customer_identifier_type": "email", "customer_identifier_value": ""},
            {("customer_identifier_value", "empty")},
        ),
        (
            {"customer_identifier_type": "email", "customer_identifier_value": {"a": 1}},
            {("customer_identifier_value", "invalid_value_format")},
        ),
        (
            {"customer_identifier_type": "external_id", "customer_identifier_value": "7ACFY3R"},
            {("customer_identifier_value", "invalid_value_format")},
        ),
        (
            {
                "customer_identifier_type": "external_id",
                "customer_identifier_value": {"external_id": 5},
            },
            {("customer_source_id", "required"), ("external_id", "invalid_value_format")},
        ),
        (
            {"customer_identifier_type": "phone", "customer_identifier_value": "x" * 300},
            {("customer_identifier_value", "not_allowed_value")},
        ),
        ({}, {("customer_id", "required")}),  # as before: neither form given
    ],
)
async def test_identifier_shape_errors(
    api: httpx.AsyncClient, customer: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert reasons(await api.post("/events", json=body(**customer))) == expected


async def test_load_is_idempotent_and_replaces_listed_customers(engine: AsyncEngine) -> None:
    assert await load_directory(engine) == {"customers": 4, "identifiers": 6}
    first = await identifiers(engine)
    await load_directory(engine)
    assert await identifiers(engine) == first
    assert ("email", "", "anna@example.com", "cust-anna") in first
    assert ("phone", "", "420777123456", "cust-anna") in first
    await load_directory(engine, {"customers": [{"customer_id": "cust-bob", "phone": "123"}]})
    after = await identifiers(engine)
    assert ("phone", "", "123", "cust-bob") in after
    assert ("email", "", "bob@example.com", "cust-bob") not in after
    assert [row for row in after if row[3] == "cust-anna"] == [
        row for row in first if row[3] == "cust-anna"
    ]  # not in the file: left as it was


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"customers": [{"customer_id": "a"}, {"customer_id": "a"}]}, "appears more than once"),
        ({"customers": [{"customer_id": "a", "email": "not-an-email"}]}, "customers[0].email"),
        ({"customers": [{"customer_id": "a", "fax": "1"}]}, "customers[0].fax"),
        ({"customers": [{"customer_id": ""}]}, "customers[0].customer_id"),
        (
            {"customers": [{"customer_id": "a", "external_ids": [{"external_id": "1"}]}]},
            "customer_source_id",
        ),
    ],
)
async def test_bad_directory_writes_nothing(
    engine: AsyncEngine, data: dict[str, Any], fragment: str
) -> None:
    await load_directory(engine)
    before = await identifiers(engine)
    with pytest.raises(DirectoryError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        async with engine.begin() as conn:
            await load(conn, parse(data))
    assert await identifiers(engine) == before


CSV = """customer_id,email,phone,customer_source_id,external_id
cust-anna,Anna@Example.com,+420 777 123 456,8795d942b31990e944c2ab1254,7ACFY3R
cust-anna,,,other-source,A-1
cust-bob,bob@example.com,,,
cust-twin-1,,+420 600 000 000,,
cust-twin-2,,00420600000000,,
"""


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".csv"])
async def test_every_file_format(tmp_path: Path, engine: AsyncEngine, suffix: str) -> None:
    path = tmp_path / f"directory{suffix}"
    if suffix == ".csv":
        path.write_text(CSV, encoding="utf-8")
    else:
        path.write_text(json.dumps(DIRECTORY) if suffix == ".json" else yaml.safe_dump(DIRECTORY))
    async with engine.begin() as conn:
        await load(conn, read_file(path))
    rows = await identifiers(engine)
    assert ("external_id", SOURCE, "7ACFY3R", "cust-anna") in rows
    assert ("phone", "", "420600000000", "cust-twin-2") in rows
    assert (("external_id", "other-source", "A-1", "cust-anna") in rows) == (suffix == ".csv")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("id,email\nx,a@b.c\n", "CSV columns"),
        ("customer_id,email\n,a@b.c\n", "line 2: customer_id is empty"),
        ("customer_id,email\nx,a@b.c\nx,b@b.c\n", "two emails"),
        ("customer_id,customer_source_id\nx,s\n", "go together"),
    ],
)
def test_bad_csv(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DirectoryError, match=fragment):
        read_file(path)


async def test_cli_customers_load(database_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    result = run_cli(database_url, "customers", "load", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "customer directory loaded: 4 customers, 7 identifiers"
    bad = tmp_path / "bad.yaml"
    bad.write_text("customers: [{customer_id: a, email: nope}]\n", encoding="utf-8")
    error = assert_one_line_error(run_cli(database_url, "customers", "load", str(bad)))
    assert "customers[0].email" in error
    missing = assert_one_line_error(run_cli(database_url, "customers", "load", "/nonexistent.csv"))
    assert "cannot read" in missing
    assert len(await identifiers(engine)) == 7


async def test_batch_items_resolve_identifiers_too(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """POST /events/batch reads each item as POST /events does: identifiers included."""
    await load_directory(engine)
    known = body(customer_identifier_type="email", customer_identifier_value="bob@example.com")
    unknown = body(customer_identifier_type="email", customer_identifier_value="no@example.com")
    unknown["event"]["external_id"] = "x2"
    refused = await api.post("/events/batch", json={"events": [known, unknown]})
    assert reasons(refused) == {("events[1].event.customer_identifier_value", "not_found")}
    written = await api.post("/events/batch", json={"events": [known]})
    assert written.status_code == 204, written.text
    listed = await api.get("/customers/cust-bob/events")
    assert listed.json()["data"]["total_items"] == 1
