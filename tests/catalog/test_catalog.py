"""Loading the catalog: ids, upserts, refusals that write nothing, and what POST /events sees."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.catalog import service as catalog_service
from events_api.catalog.service import CatalogError, read_file
from events_api.core.settings import get_settings
from tests.fixtures.helpers import (
    CATALOG_TABLES,
    DEMO_CATALOG,
    catalog_snapshot,
    invalid_params,
    load_catalog,
    reasons,
)

HEX_ID = re.compile(r"^[0-9a-f]{26}$")
GROUP_ID = "aa" * 13
TYPE_ID = "bb" * 13
LONG_AGO = datetime(2000, 1, 1, 12, 0, 0)

Catalog = dict[str, Any]


def base() -> Catalog:
    """A small catalog without any ids: they are generated."""
    return {
        "event_groups": [{"name": "Shop", "text_id": "shop"}],
        "event_properties": [
            {"property_id": "req", "name": "Required", "data_type": "string", "is_required": True},
            {"property_id": "opt", "name": "Optional", "data_type": "integer"},
            {
                "property_id": "color",
                "name": "Color",
                "data_type": "enum",
                "items": [{"id": "red", "name": "Red"}, {"id": "blue", "name": "Blue"}],
            },
        ],
        "event_types": [
            {
                "event_group": "shop",
                "name": "Checkout",
                "text_id": "checkout",
                "event_properties": ["req", "opt"],
            }
        ],
    }


async def load_data(engine: AsyncEngine, data: Any) -> dict[str, int]:
    return await load_catalog(engine, data)


async def backdate(engine: AsyncEngine) -> None:
    """Set every property's last_change far back (it is stored to the second)."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE event_properties SET last_change = :t"), {"t": LONG_AGO})


async def scalar(engine: AsyncEngine, query: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(query), params)).scalar_one()


async def rows(engine: AsyncEngine, query: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(query), params)).all()]


async def type_id_of(engine: AsyncEngine, text_id: str) -> str:
    type_id: str = await scalar(
        engine, "SELECT event_type_id FROM event_types WHERE text_id = :t", t=text_id
    )
    return type_id


async def assignments(engine: AsyncEngine, text_id: str) -> list[str]:
    found = await rows(
        engine,
        "SELECT p.property_id FROM event_type_properties p "
        "JOIN event_types t USING (event_type_id) WHERE t.text_id = :t ORDER BY p.position",
        t=text_id,
    )
    return [r[0] for r in found]


# --- ids and upserts ----------------------------------------------------------------------


async def test_ids_are_generated_when_absent(engine: AsyncEngine) -> None:
    counts = await load_data(engine, base())
    assert counts == {"event_groups": 1, "event_properties": 3, "event_types": 1}
    group_id = await scalar(engine, "SELECT event_group_id FROM event_groups WHERE text_id='shop'")
    type_row = await rows(
        engine, "SELECT event_type_id, event_group_id, name, state FROM event_types"
    )
    assert HEX_ID.match(group_id), group_id
    assert len(type_row) == 1
    type_id, type_group, name, state = type_row[0]
    assert HEX_ID.match(type_id), type_id
    assert type_id != group_id
    assert type_group == group_id  # event_group given as a text_id is resolved to the id
    assert (name, state) == ("Checkout", 1)
    assert await assignments(engine, "checkout") == ["req", "opt"]


async def test_generated_ids_are_kept_on_reload(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    group_id = await scalar(engine, "SELECT event_group_id FROM event_groups")
    type_id = await type_id_of(engine, "checkout")

    changed = base()
    changed["event_groups"][0]["name"] = "Shop renamed"
    changed["event_types"][0]["name"] = "Checkout renamed"
    await load_data(engine, changed)

    assert await rows(engine, "SELECT event_group_id, name FROM event_groups") == [
        (group_id, "Shop renamed")
    ]
    assert await rows(engine, "SELECT event_type_id, name, event_group_id FROM event_types") == [
        (type_id, "Checkout renamed", group_id)
    ]


async def test_given_ids_are_stored_as_given(engine: AsyncEngine) -> None:
    data = base()
    data["event_groups"][0]["event_group_id"] = GROUP_ID
    data["event_types"][0]["event_type_id"] = TYPE_ID
    await load_data(engine, data)
    assert await rows(engine, "SELECT event_type_id, event_group_id FROM event_types") == [
        (TYPE_ID, GROUP_ID)
    ]


async def test_reload_without_ids_matches_stored_entries_by_text_id(engine: AsyncEngine) -> None:
    data = base()
    data["event_groups"][0]["event_group_id"] = GROUP_ID
    data["event_types"][0]["event_type_id"] = TYPE_ID
    await load_data(engine, data)

    await load_data(engine, base())  # the same entries, ids left out
    assert await rows(engine, "SELECT event_group_id FROM event_groups") == [(GROUP_ID,)]
    assert await rows(engine, "SELECT event_type_id FROM event_types") == [(TYPE_ID,)]


async def test_reload_of_same_file_changes_nothing(engine: AsyncEngine) -> None:
    await load_catalog(engine, read_file(DEMO_CATALOG))
    await backdate(engine)  # a rewrite would then show, even within the same second
    before = await catalog_snapshot(engine)
    changes = await rows(engine, "SELECT DISTINCT last_change FROM event_properties")
    assert changes == [(LONG_AGO,)]
    await load_catalog(engine, read_file(DEMO_CATALOG))
    assert await catalog_snapshot(engine) == before


async def test_last_change_moves_only_for_changed_properties(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    await backdate(engine)

    changed = base()
    changed["event_properties"][1]["name"] = "Optional, renamed"
    await load_data(engine, changed)
    after = dict(await rows(engine, "SELECT property_id, last_change FROM event_properties"))

    assert after["opt"] > LONG_AGO
    assert after["req"] == LONG_AGO
    assert after["color"] == LONG_AGO
    assert await scalar(engine, "SELECT name FROM event_properties WHERE property_id='opt'") == (
        "Optional, renamed"
    )


async def test_reload_replaces_property_list_of_listed_types_only(engine: AsyncEngine) -> None:
    data = base()
    data["event_types"].append(
        {"event_group": "shop", "name": "Refund", "text_id": "refund", "event_properties": ["opt"]}
    )
    await load_data(engine, data)

    reload = base()
    reload["event_types"][0]["event_properties"] = ["color", "req"]
    await load_data(engine, reload)
    assert await assignments(engine, "checkout") == ["color", "req"]
    assert await assignments(engine, "refund") == ["opt"]  # not in the file: left as it was


async def test_file_may_reference_groups_and_properties_already_stored(
    engine: AsyncEngine,
) -> None:
    await load_data(engine, base())
    group_id = await scalar(engine, "SELECT event_group_id FROM event_groups")
    await load_data(
        engine,
        {
            "event_types": [
                {
                    "event_group": "shop",
                    "name": "By text id",
                    "text_id": "by_text",
                    "event_properties": ["req", "color"],
                },
                {"event_group": group_id, "name": "By id", "text_id": "by_id"},
            ]
        },
    )
    found = await rows(engine, "SELECT text_id, event_group_id FROM event_types ORDER BY text_id")
    assert found == [("by_id", group_id), ("by_text", group_id), ("checkout", group_id)]
    assert await assignments(engine, "by_text") == ["req", "color"]


async def test_items_are_stored(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    items = await scalar(engine, "SELECT items FROM event_properties WHERE property_id='color'")
    assert [(i["id"], i["name"], i["state"]) for i in items] == [
        ("red", "Red", 1),
        ("blue", "Blue", 1),
    ]
    assert (
        await scalar(engine, "SELECT items FROM event_properties WHERE property_id='opt'") is None
    )


# --- refusals -----------------------------------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Catalog], None]:
    def change(data: Catalog) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def _del(path: tuple[Any, ...]) -> Callable[[Catalog], None]:
    def change(data: Catalog) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def _chain(*changes: Callable[[Catalog], None]) -> Callable[[Catalog], None]:
    def change(data: Catalog) -> None:
        for one in changes:
            one(data)

    return change


def _append(key: str, entry: dict[str, Any]) -> Callable[[Catalog], None]:
    def change(data: Catalog) -> None:
        data[key].append(entry)

    return change


def _rename(data: Catalog) -> Catalog:
    """Harmless changes next to the error: they would show if anything were written."""
    data = copy.deepcopy(data)
    data["event_groups"][0]["name"] = "Shop renamed"
    data["event_properties"].append({"property_id": "extra", "name": "Extra", "data_type": "date"})
    data["event_types"][0]["name"] = "Checkout renamed"
    return data


FILE_ERRORS = [
    pytest.param(
        _set(("event_properties", 1, "data_type"), "text"),
        ["event_properties[1] (opt)", "data_type"],
        id="unknown-data-type",
    ),
    pytest.param(
        _del(("event_properties", 2, "items")),
        ["event_properties[2] (color)", "items"],
        id="enum-without-items",
    ),
    pytest.param(
        _set(("event_properties", 2, "items"), []),
        ["event_properties[2] (color)", "items"],
        id="enum-with-empty-items",
    ),
    pytest.param(
        _chain(
            _set(("event_properties", 2, "data_type"), "multiselect"),
            _del(("event_properties", 2, "items")),
        ),
        ["event_properties[2] (color)", "items"],
        id="multiselect-without-items",
    ),
    pytest.param(
        _set(("event_properties", 0, "items"), [{"id": "x", "name": "X"}]),
        ["event_properties[0] (req)", "items"],
        id="items-on-a-string",
    ),
    pytest.param(
        _set(
            ("event_properties", 2, "items"), [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]
        ),
        ["event_properties[2] (color)", "'a'"],
        id="duplicate-item-id",
    ),
    pytest.param(
        _append("event_properties", {"property_id": "opt", "name": "Again", "data_type": "string"}),
        ["'opt'", "more than once"],
        id="duplicate-property-id",
    ),
    pytest.param(
        _append("event_types", {"event_group": "shop", "name": "Other", "text_id": "checkout"}),
        ["'checkout'", "more than once"],
        id="duplicate-type-text-id",
    ),
    pytest.param(
        _append("event_groups", {"name": "Other shop", "text_id": "shop"}),
        ["'shop'", "more than once"],
        id="duplicate-group-text-id",
    ),
    pytest.param(
        _set(("event_types", 0, "event_properties"), ["req", "no_such_property"]),
        ["event_types[0] (checkout)", "no_such_property"],
        id="type-references-unknown-property",
    ),
    pytest.param(
        _set(("event_types", 0, "event_properties"), ["req", "req"]),
        ["event_types[0] (checkout)", "'req'"],
        id="property-listed-twice",
    ),
    pytest.param(
        _set(("event_types", 0, "evnt_properties"), ["req"]),
        ["event_types[0] (checkout)", "evnt_properties"],
        id="unknown-key-in-type",
    ),
    pytest.param(
        _set(("event_properties", 0, "is_requried"), True),
        ["event_properties[0] (req)", "is_requried"],
        id="unknown-key-in-property",
    ),
    pytest.param(
        _set(("event_properties", 2, "items", 0, "nme"), "Red"),
        ["event_properties[2] (color)", "nme"],
        id="unknown-key-in-item",
    ),
    pytest.param(
        _set(("event_type",), []),
        ["event_type"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        _set(("event_types", 0, "text_id"), "has space"),
        ["event_types[0] (has space)", "text_id"],
        id="bad-text-id",
    ),
    pytest.param(
        _set(("event_types", 0, "event_type_id"), "NOT-HEX"),
        ["event_types[0] (checkout)", "event_type_id"],
        id="bad-event-type-id",
    ),
    pytest.param(
        _set(("event_properties", 1, "state"), 7),
        ["event_properties[1] (opt)", "state"],
        id="bad-state",
    ),
    pytest.param(
        _del(("event_types", 0, "name")),
        ["event_types[0] (checkout)", "name"],
        id="missing-name",
    ),
]


@pytest.mark.parametrize(("change", "expected"), FILE_ERRORS)
async def test_bad_file_is_refused_and_changes_nothing(
    engine: AsyncEngine, change: Callable[[Catalog], None], expected: list[str]
) -> None:
    await load_data(engine, base())
    before = await catalog_snapshot(engine)
    assert before["event_types"]

    data = _rename(base())
    change(data)
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, data)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, message
    assert await catalog_snapshot(engine) == before


async def test_unknown_event_group_is_refused_and_changes_nothing(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    before = await catalog_snapshot(engine)
    data = _rename(base())
    data["event_types"].append(
        {"event_group": "no_such_group", "name": "Orphan", "text_id": "orphan"}
    )
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, data)
    assert "event_types[1] (orphan)" in str(caught.value)
    assert "no_such_group" in str(caught.value)
    assert await catalog_snapshot(engine) == before


async def test_unknown_property_known_neither_to_file_nor_database(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    before = await catalog_snapshot(engine)
    # the file alone does not define req/opt (they are stored): only `ghost` is unknown
    data = {
        "event_groups": [{"name": "Shop renamed", "text_id": "shop"}],
        "event_properties": [{"property_id": "extra", "name": "Extra", "data_type": "date"}],
        "event_types": [
            {
                "event_group": "shop",
                "name": "Checkout",
                "text_id": "checkout",
                "event_properties": ["req", "extra", "ghost"],
            }
        ],
    }
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, data)
    message = str(caught.value)
    assert "event_types[0] (checkout)" in message
    assert "ghost" in message
    assert "'req'" not in message
    assert "'extra'" not in message
    assert await catalog_snapshot(engine) == before


async def test_given_id_conflicting_with_stored_text_id_is_refused(engine: AsyncEngine) -> None:
    await load_data(engine, base())
    before = await catalog_snapshot(engine)
    data = _rename(base())
    data["event_types"][0]["event_type_id"] = TYPE_ID  # checkout is stored under another id
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, data)
    assert "event_types[0] (checkout)" in str(caught.value)
    assert await catalog_snapshot(engine) == before


async def test_two_entries_resolving_to_one_stored_id_are_refused(engine: AsyncEngine) -> None:
    """An explicit id renames a stored type while a second entry claims its old text_id."""
    data = base()
    data["event_types"][0]["event_type_id"] = TYPE_ID
    await load_data(engine, data)
    before = await catalog_snapshot(engine)

    clash = {
        "event_types": [
            {"event_type_id": TYPE_ID, "event_group": "shop", "name": "A", "text_id": "renamed"},
            {"event_group": "shop", "name": "B", "text_id": "checkout"},  # stored as TYPE_ID
        ]
    }
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, clash)
    assert "event_types[" in str(caught.value)
    assert await catalog_snapshot(engine) == before


async def test_all_problems_are_reported_together(engine: AsyncEngine) -> None:
    data = base()
    data["event_properties"][2]["items"] = []
    data["event_types"][0]["event_group"] = "nowhere"
    data["event_types"][0]["event_properties"] = ["req", "ghost"]
    with pytest.raises(CatalogError) as caught:
        await load_data(engine, data)
    message = str(caught.value)
    for fragment in ("event_properties[2] (color)", "'nowhere'", "'ghost'"):
        assert fragment in message, message
    assert await catalog_snapshot(engine) == {t: [] for t in CATALOG_TABLES}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.yaml", "event_groups: [ {name: Shop, text_id: shop\n"),
        ("tabs.yaml", "event_groups:\n\t- name: Shop\n"),
        ("broken.json", '{"event_groups": [}'),
    ],
)
async def test_invalid_yaml_or_json_is_refused(
    engine: AsyncEngine, tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        read_file(path)
    assert "not valid YAML/JSON" in str(caught.value)
    assert name in str(caught.value)
    assert await catalog_snapshot(engine) == {t: [] for t in CATALOG_TABLES}


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "event_groups: 5\n"])
def test_wrong_shape_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match="invalid catalog"):
        read_file(path)


def test_read_file_accepts_yaml_and_json(tmp_path: Path) -> None:
    import json

    import yaml

    data = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_file(path) == read_file(DEMO_CATALOG)
    assert len(read_file(path).event_properties) == 7


# --- what POST /events sees ---------------------------------------------------------------


def post_body(type_id: str, external_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "event": {"event_type_id": type_id, "customer_id": "c1", "external_id": external_id},
        "property_records": records,
    }


async def test_required_property_is_enforced(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await load_data(engine, base())
    type_id = await type_id_of(engine, "checkout")

    missing = await api.post("/events", json=post_body(type_id, "e1", []))
    params = invalid_params(missing)
    assert {"name": "property_id", "reason": "required", "value": "req"} in [
        {k: p[k] for k in ("name", "reason", "value")} for p in params
    ]

    null = await api.post(
        "/events", json=post_body(type_id, "e1", [{"property_id": "req", "property_value": None}])
    )
    assert ("property_id", "required") in reasons(null)

    given = await api.post(
        "/events", json=post_body(type_id, "e1", [{"property_id": "req", "property_value": "x"}])
    )
    assert given.status_code == 201, given.text


async def test_property_no_longer_required_after_reload(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_data(engine, base())
    type_id = await type_id_of(engine, "checkout")
    assert (await api.post("/events", json=post_body(type_id, "e1", []))).status_code == 400

    relaxed = base()
    relaxed["event_properties"][0]["is_required"] = False
    await load_data(engine, relaxed)
    response = await api.post("/events", json=post_body(type_id, "e1", []))
    assert response.status_code == 201, response.text


async def test_property_removed_from_type_on_reload_is_not_allowed(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_data(engine, base())
    type_id = await type_id_of(engine, "checkout")
    records: list[dict[str, Any]] = [
        {"property_id": "req", "property_value": "x"},
        {"property_id": "opt", "property_value": 5},
    ]
    before = await api.post("/events", json=post_body(type_id, "e1", records))
    assert before.status_code == 201, before.text

    reassigned = base()
    reassigned["event_types"][0]["event_properties"] = ["req"]
    await load_data(engine, reassigned)
    assert await type_id_of(engine, "checkout") == type_id

    after = await api.post("/events", json=post_body(type_id, "e2", records))
    params = invalid_params(after)
    assert [(p["name"], p["reason"], p["value"]) for p in params] == [
        ("property_id", "not_allowed_value", "opt")
    ]
    only_req = await api.post("/events", json=post_body(type_id, "e3", records[:1]))
    assert only_req.status_code == 201, only_req.text


async def test_property_added_to_type_on_reload_is_accepted(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_data(engine, base())
    type_id = await type_id_of(engine, "checkout")
    records = [
        {"property_id": "req", "property_value": "x"},
        {"property_id": "color", "property_value": "red"},
    ]
    refused = await api.post("/events", json=post_body(type_id, "e1", records))
    assert ("property_id", "not_allowed_value") in reasons(refused)

    extended = base()
    extended["event_types"][0]["event_properties"] = ["req", "opt", "color"]
    await load_data(engine, extended)
    accepted = await api.post("/events", json=post_body(type_id, "e1", records))
    assert accepted.status_code == 201, accepted.text


async def test_deactivated_type_is_not_found(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await load_data(engine, base())
    type_id = await type_id_of(engine, "checkout")
    body = post_body(type_id, "e1", [{"property_id": "req", "property_value": "x"}])

    inactive = base()
    inactive["event_types"][0]["state"] = 0
    await load_data(engine, inactive)
    assert ("event_type_id", "not_found") in reasons(await api.post("/events", json=body))

    await load_data(engine, base())
    response = await api.post("/events", json=body)
    assert response.status_code == 201, response.text


async def test_one_error_lists_shape_and_reference_problems(engine: AsyncEngine) -> None:
    """An unknown key no longer hides an unknown property (issue 10, item 13)."""
    data = {
        "event_groups": [{"name": "G", "text_id": "g"}],
        "event_properties": [{"property_id": "p", "name": "P", "data_type": "string", "x": 1}],
        "event_types": [
            {"event_group": "nope", "name": "T", "text_id": "t", "event_properties": ["p", "q"]}
        ],
    }
    with pytest.raises(CatalogError) as raised:
        async with engine.begin() as conn:
            await catalog_service.load_data(conn, data, get_settings().tz)
    message = str(raised.value)
    assert "event_properties[0] (p).x: Extra inputs are not permitted" in message
    assert "event_types[0] (t): unknown event_group 'nope'" in message
    assert "event_types[0] (t): unknown event property 'q'" in message
    assert "unknown event property 'p'" not in message  # defined in the file
    assert (await catalog_snapshot(engine))["event_types"] == []
