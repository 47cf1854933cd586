"""Catalog names per language (`name: {cs: ..., en: ...}`): loaded, shown back, and answered in
the language of Accept-Language by every catalog read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.catalog.export import dump, export
from events_api.catalog.service import CatalogError, load, parse
from events_api.core.settings import get_settings
from tests.fixtures.helpers import catalog_snapshot, load_catalog

GROUP_A = "a1" * 13
GROUP_B = "b1" * 13
TYPE = "c1" * 13


def localized_catalog() -> dict[str, Any]:
    return {
        "event_groups": [
            {
                "event_group_id": GROUP_A,
                "name": {"cs": "Zákazníci", "en": "Customers"},
                "text_id": "people",
            },
            {
                "event_group_id": GROUP_B,
                "name": {"cs": "Akce", "en": "Shopping"},
                "text_id": "actions",
            },
        ],
        "event_properties": [
            {
                "property_id": "colour",
                "name": {"cs": "Barva", "en": "Colour"},
                "data_type": "enum",
                "items": [
                    {"id": "r", "name": {"cs": "Červená", "en": "Red"}},
                    {"id": "g", "name": {"en": "Green"}},
                    {"id": "b", "name": "Blue"},
                ],
            },
            {
                "property_id": "size",
                "name": {"cz": "Velikost", "en": "Size"},
                "data_type": "integer",
            },
        ],
        "event_types": [
            {
                "event_type_id": TYPE,
                "event_group": "actions",
                "name": {"cs": "Nákup", "en": "Purchase"},
                "text_id": "buy",
                "event_properties": ["colour", "size"],
            }
        ],
    }


@pytest.fixture
async def localized(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await load_catalog(engine, localized_catalog())


CZECH = {
    "groups": ["Zákazníci", "Akce"],
    "type": "Nákup",
    "properties": ["Barva", "Velikost"],
    "items": ["Červená", "Green", "Blue"],
}
ENGLISH = {
    "groups": ["Customers", "Shopping"],
    "type": "Purchase",
    "properties": ["Colour", "Size"],
    "items": ["Red", "Green", "Blue"],
}


@pytest.mark.usefixtures("localized")
@pytest.mark.parametrize(
    ("accept_language", "names"),
    [("en", ENGLISH), ("cs", CZECH), ("", CZECH), ("de, en;q=0.1", ENGLISH), ("fr", ENGLISH)],
)
async def test_every_catalog_read_answers_names_in_the_language_asked(
    api: httpx.AsyncClient, accept_language: str, names: dict[str, Any]
) -> None:
    headers = {"Accept-Language": accept_language}

    async def data(path: str, **params: str) -> Any:
        response = await api.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    groups = await data("/event-groups", sort_field="text_id", sort_direction="DESC")
    assert [
        g["name"] for g in groups["event_groups"] if g["event_group_id"] in (GROUP_A, GROUP_B)
    ] == names["groups"]
    assert (await data(f"/event-groups/{GROUP_A}"))["name"] == names["groups"][0]
    types = (await data("/event-types", text_id="buy"))["event_types"]
    assert [t["name"] for t in types] == [names["type"]]
    assert (await data(f"/event-types/{TYPE}"))["name"] == names["type"]
    for listed in (
        (await data("/event-properties", sort_field="property_id"))["event_properties"],
        (await data(f"/event-types/{TYPE}/event-properties", sort_field="property_id"))[
            "event_properties"
        ],
    ):
        mine = [p for p in listed if p["property_id"] in ("colour", "size")]
        assert [p["name"] for p in mine] == names["properties"]
        assert [i["name"] for i in mine[0]["items"]] == names["items"]
    colour = await data("/event-properties/colour")
    assert colour["name"] == names["properties"][0]
    assert [i["name"] for i in colour["items"]] == names["items"]


@pytest.mark.usefixtures("localized")
async def test_name_filter_and_order_use_the_names_answered(api: httpx.AsyncClient) -> None:
    async def group_names(lang: str, **params: str) -> list[str]:
        response = await api.get("/event-groups", params=params, headers={"Accept-Language": lang})
        return [
            g["name"]
            for g in response.json()["data"]["event_groups"]
            if g["event_group_id"] in (GROUP_A, GROUP_B)
        ]

    assert await group_names("en", sort_field="name") == ["Customers", "Shopping"]
    assert await group_names("cs", sort_field="name") == ["Akce", "Zákazníci"]
    assert await group_names("cs", name="zákaz") == ["Zákazníci"]
    assert await group_names("en", name="zákaz") == []
    assert await group_names("en", name="custom") == ["Customers"]


async def test_names_are_stored_per_language_and_plain_names_as_before(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await load(conn, parse(localized_catalog()), get_settings().tz)
        await load(
            conn,
            parse({"event_groups": [{"name": "Plain", "text_id": "plain"}]}),
            get_settings().tz,
        )
        rows = (
            await conn.execute(
                text("SELECT text_id, name, names FROM event_groups ORDER BY text_id")
            )
        ).all()
        size = (
            await conn.execute(
                text("SELECT name, names FROM event_properties WHERE property_id = 'size'")
            )
        ).one()
    found = {row[0]: (row[1], row[2]) for row in rows}
    # `name`: what a request without Accept-Language gets (Czech, CareCloud's default)
    assert found["people"] == ("Zákazníci", {"cs": "Zákazníci", "en": "Customers"})
    assert found["plain"] == ("Plain", None)
    assert tuple(size) == ("Velikost", {"cs": "Velikost", "en": "Size"})  # `cz` is Czech


async def test_catalog_show_round_trips_names_per_language(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await load(conn, parse(localized_catalog()), get_settings().tz)
        shown = await export(conn)
    groups = {g["text_id"]: g["name"] for g in shown["event_groups"]}
    assert groups["people"] == {"cs": "Zákazníci", "en": "Customers"}
    colour = next(p for p in shown["event_properties"] if p["property_id"] == "colour")
    assert [i["name"] for i in colour["items"]] == [
        {"cs": "Červená", "en": "Red"},
        {"en": "Green"},
        "Blue",
    ]
    assert next(t for t in shown["event_types"] if t["text_id"] == "buy")["name"] == {
        "cs": "Nákup",
        "en": "Purchase",
    }
    before = await catalog_snapshot(engine)
    text_form = dump(shown)  # the YAML `catalog show` prints
    await load_catalog(engine, yaml.safe_load(text_form))
    assert await catalog_snapshot(engine) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ({"de": "Einkauf"}, "not 'de'"),
        ({}, "a name per language"),
        ({"cs": "  "}, "non-empty"),
        ({"en": 5}, "non-empty string"),
        ({"cs": "Nákup", "cz": "Nákup"}, "given twice"),
        (["Nákup"], "a name per language"),
        ("", "must not be empty"),
    ],
)
async def test_bad_names_are_refused_naming_the_entry(
    engine: AsyncEngine, name: Any, message: str
) -> None:
    data = localized_catalog()
    data["event_types"][0]["name"] = name
    before = await catalog_snapshot(engine)
    with pytest.raises(CatalogError) as caught:
        async with engine.begin() as conn:
            await load(conn, parse(data), get_settings().tz)
    assert "event_types[0] (buy).name" in str(caught.value)
    assert message in str(caught.value)
    assert await catalog_snapshot(engine) == before
