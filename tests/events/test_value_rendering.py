"""Property values in the documented form on every read, whatever form they were sent in, and
names in the language of Accept-Language (issue 13, items 2 and 3)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.helpers import (
    create,
    event_body,
    load_catalog,
    property_item,
)

ORDER = "0a0a0a0a0a0a0a0a0a0a0a0a0a"
CUSTOMER = "cust-values"


def catalog(**changed: dict[str, Any]) -> dict[str, Any]:
    """A catalog of every data type with names per language; `changed` replaces properties."""
    properties: dict[str, dict[str, Any]] = {
        "price": {"name": {"cs": "Cena", "en": "Price"}, "data_type": "float"},
        "count": {"name": {"cz": "Počet", "en": "Count"}, "data_type": "integer"},
        "label": {"name": {"en": "Label"}, "data_type": "string"},
        "paid": {"name": "Paid", "data_type": "boolean"},
        "day": {"name": "Day", "data_type": "date"},
        "when": {"name": "When", "data_type": "timestamp"},
        "size": {
            "name": {"cs": "Velikost", "en": "Size"},
            "data_type": "enum",
            "items": [
                {"id": "s", "name": {"cs": "Malá", "en": "Small"}},
                {"id": "l", "name": "Large", "resource_record_id": "store-7"},
            ],
        },
        "tags": {
            "name": "Tags",
            "data_type": "multiselect",
            "items": [{"id": "a", "name": {"cs": "Áčko", "en": "A"}}, {"id": "b", "name": "B"}],
        },
    }
    properties.update(changed)
    return {
        "event_groups": [{"name": {"cs": "Objednávky", "en": "Orders"}, "text_id": "orders"}],
        "event_properties": [{"property_id": k, **v} for k, v in properties.items()],
        "event_types": [
            {
                "event_type_id": ORDER,
                "event_group": "orders",
                "name": {"cs": "Objednávka", "en": "Order"},
                "text_id": "order",
                "event_properties": list(properties),
            }
        ],
    }


# Records as clients send them: numbers and booleans as strings, bare item ids, objects.
SENT = (
    b'[{"property_id": "price", "property_value": 149.90},'
    b'{"property_id": "count", "property_value": "42"},'
    b'{"property_id": "label", "property_value": "VIP"},'
    b'{"property_id": "paid", "property_value": "true"},'
    b'{"property_id": "day", "property_value": "1985-06-15"},'
    b'{"property_id": "when", "property_value": "2024-01-02T03:04:05"},'
    b'{"property_id": "size", "property_value": "l"},'
    b'{"property_id": "tags", "property_value": [{"id": "b"}, "a"]}]'
)
ANSWERED_EN = [
    ("price", "Price", 149.9),
    ("count", "Count", 42),
    ("label", "Label", "VIP"),
    ("paid", "Paid", True),
    ("day", "Day", "1985-06-15"),
    ("when", "When", "2024-01-02 03:04:05"),
    ("size", "Size", [{"id": "l", "name": "Large", "resource_record_id": "store-7", "state": 1}]),
    ("tags", "Tags", [property_item("b", "B"), property_item("a", "A")]),
]


@pytest.fixture
async def order_catalog(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await load_catalog(engine, catalog())


async def post_raw(api: httpx.AsyncClient, records: bytes, external_id: str = "o1") -> str:
    event = json.dumps(event_body(external_id, event_type_id=ORDER, customer_id=CUSTOMER)["event"])
    body = b'{"event": ' + event.encode() + b', "property_records": ' + records + b"}"
    response = await api.post("/events", content=body)
    assert response.status_code == 201, response.text
    event_id: str = response.json()["data"]["event_id"]
    return event_id


Read = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[httpx.Response]]


async def by_list(api: httpx.AsyncClient, _event_id: str, headers: dict[str, str]) -> Any:
    return await api.get("/events", params={"include_property_records": "true"}, headers=headers)


async def by_records(api: httpx.AsyncClient, event_id: str, headers: dict[str, str]) -> Any:
    return await api.get(f"/events/{event_id}/property-records", headers=headers)


async def by_customer(api: httpx.AsyncClient, _event_id: str, headers: dict[str, str]) -> Any:
    return await api.get(
        f"/customers/{CUSTOMER}/events",
        params={"include_property_records": "true"},
        headers=headers,
    )


READS: list[Read] = [by_list, by_records, by_customer]


def records_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    if "property_records" in data:
        found: list[dict[str, Any]] = data["property_records"]
        return found
    (event,) = data.get("events") or data["customer_events"]
    found = event["property_records"]
    return found


pytestmark = pytest.mark.usefixtures("order_catalog")


@pytest.mark.parametrize("read", READS)
async def test_every_read_answers_the_documented_form(api: httpx.AsyncClient, read: Read) -> None:
    event_id = await post_raw(api, SENT)
    response = await read(api, event_id, {})
    records = records_of(response)
    assert [(r["property_id"], r["property_name"], r["property_value"]) for r in records] == [
        (p, name, value) for p, name, value in ANSWERED_EN
    ]
    assert [type(r["property_value"]) for r in records] == [type(v) for _, _, v in ANSWERED_EN]
    # the float keeps the text it was sent with
    assert '"property_id":"price","property_name":"Price","property_value":149.90,' in (
        response.text
    )


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        (b"149.90", b"149.90"),
        (b'"149.90"', b"149.90"),
        (b"1E+2", b"1E+2"),
        (b'"+007.50"', b"7.50"),
        (b'".5"', b"0.5"),
        (b'"5."', b"5"),
        (b"-0.000000123", b"-0.000000123"),
        (b'"0.10000000000000000000001"', b"0.10000000000000000000001"),
        (b"12345678901234567890.5", b"12345678901234567890.5"),
        (b"3", b"3"),
    ],
)
async def test_floats_keep_every_digit(
    api: httpx.AsyncClient, sent: bytes, answered: bytes
) -> None:
    event_id = await post_raw(api, b'[{"property_id": "price", "property_value": ' + sent + b"}]")
    for read in READS:
        response = await read(api, event_id, {})
        assert b'"property_value":' + answered + b"," in response.content, response.text
        assert json.loads(answered) == records_of(response)[0]["property_value"]


async def test_null_stays_null(api: httpx.AsyncClient) -> None:
    records = [{"property_id": p, "property_value": None} for p, _, _ in ANSWERED_EN]
    event_id = await create(
        api, "nulls", event_type_id=ORDER, customer_id=CUSTOMER, records=records
    )
    for read in READS:
        assert [r["property_value"] for r in records_of(await read(api, event_id, {}))] == [
            None
        ] * len(records)


@pytest.mark.parametrize(
    ("accept_language", "names", "size", "tags"),
    [
        ("en", ["Price", "Count", "Label", "Size", "Tags"], "Small", "A"),
        ("cs", ["Cena", "Počet", "Label", "Velikost", "Tags"], "Malá", "Áčko"),
        ("en-GB;q=0.5, cs;q=0.9", ["Cena", "Počet", "Label", "Velikost", "Tags"], "Malá", "Áčko"),
        ("de", ["Price", "Count", "Label", "Size", "Tags"], "Small", "A"),  # neither: English
        ("", ["Cena", "Počet", "Label", "Velikost", "Tags"], "Malá", "Áčko"),  # CareCloud's cs
    ],
)
async def test_names_follow_accept_language(
    api: httpx.AsyncClient, accept_language: str, names: list[str], size: str, tags: str
) -> None:
    records = (
        b'[{"property_id": "price", "property_value": 1}, {"property_id": "count",'
        b' "property_value": 2}, {"property_id": "label", "property_value": "x"},'
        b' {"property_id": "size", "property_value": ["s"]},'
        b' {"property_id": "tags", "property_value": ["a"]}]'
    )
    event_id = await post_raw(api, records)
    headers = {"Accept-Language": accept_language}
    for read in READS:
        found = records_of(await read(api, event_id, headers))
        assert [r["property_name"] for r in found] == names
        assert found[3]["property_value"] == [property_item("s", size)]
        assert found[4]["property_value"] == [property_item("a", tags)]


async def test_values_follow_the_catalog_as_it_is_now(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The catalog changed after the write: items are answered with their new name and state,
    an item no longer listed as deleted (state 0, its id for a name); a value that fits the
    property's new data type in that type's form, one that does not as stored."""
    sent = (
        b'[{"property_id": "count", "property_value": "42"},'
        b'{"property_id": "label", "property_value": "abc"},'
        b'{"property_id": "paid", "property_value": "true"},'
        b'{"property_id": "size", "property_value": [{"id": "s"}]},'
        b'{"property_id": "tags", "property_value": ["a", "b"]}]'
    )
    event_id = await post_raw(api, sent)
    changed = catalog(
        count={"name": "Count", "data_type": "string"},
        label={"name": "Label", "data_type": "integer"},
        paid={"name": "Paid", "data_type": "multiselect", "items": [{"id": "x", "name": "X"}]},
        size={
            "name": "Size",
            "data_type": "multiselect",
            "items": [{"id": "s", "name": "Tiny", "state": 2}],
        },
        tags={"name": "Tags", "data_type": "multiselect", "items": [{"id": "b", "name": "Bee"}]},
    )
    await load_catalog(engine, changed)
    for read in READS:
        found = {
            r["property_id"]: r["property_value"] for r in records_of(await read(api, event_id, {}))
        }
        assert found == {
            "count": "42",  # integer -> string: the text
            "label": "abc",  # string -> integer: does not fit, as stored
            "paid": "true",  # boolean -> multiselect: not an array, as stored
            "size": [property_item("s", "Tiny", state=2)],  # enum -> multiselect: fits
            "tags": [property_item("a", "a", state=0), property_item("b", "Bee")],
        }
