"""The stored catalog, written back in the file format `events-api catalog load` reads.

`export` reads the four catalog tables; `dump` renders YAML or JSON. The output is checked
against the loader's own schema before it is printed, and loading it again changes nothing
(a test round-trips it).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository
from events_api.catalog.definitions import ACTIVE
from events_api.catalog.schemas import CatalogFile


def _name(row: Any) -> Any:
    """A plain name, or the name per language as the file gave it."""
    return row["names"] or row["name"]


def _item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item["id"], "name": item["name"]}
    if item.get("resource_record_id") is not None:
        out["resource_record_id"] = item["resource_record_id"]
    if item.get("state", ACTIVE) != ACTIVE:
        out["state"] = item["state"]
    return out


async def export(conn: AsyncConnection) -> dict[str, Any]:
    """The catalog as a `CatalogFile`-shaped dict, entries in a stable order."""
    group_rows = await repository.all_groups(conn)
    property_rows = await repository.all_properties(conn)
    type_rows = await repository.all_types(conn)
    properties_of = await repository.all_assignments(conn)

    event_groups = [
        {"event_group_id": g["event_group_id"], "name": _name(g), "text_id": g["text_id"]}
        | ({"state": g["state"]} if g["state"] != ACTIVE else {})
        for g in group_rows
    ]
    event_properties = []
    for p in property_rows:
        prop: dict[str, Any] = {
            "property_id": p["property_id"],
            "name": _name(p),
            "data_type": p["data_type"],
        }
        if p["description"] is not None:
            prop["description"] = p["description"]
        prop["is_required"] = p["is_required"]
        prop["is_unique"] = p["is_unique"]
        if p["items"] is not None:
            prop["items"] = [_item(item) for item in p["items"]]
        if p["state"] != ACTIVE:
            prop["state"] = p["state"]
        event_properties.append(prop)
    event_types = []
    for t in type_rows:
        etype: dict[str, Any] = {
            "event_type_id": t["event_type_id"],
            "event_group": t["group_text_id"],
            "name": _name(t),
            "text_id": t["text_id"],
        }
        if t["icon_name"] is not None:
            etype["icon_name"] = t["icon_name"]
        etype["event_properties"] = properties_of.get(t["event_type_id"], [])
        if t["state"] != ACTIVE:
            etype["state"] = t["state"]
        event_types.append(etype)

    catalog = {
        "event_groups": event_groups,
        "event_properties": event_properties,
        "event_types": event_types,
    }
    CatalogFile.model_validate(catalog)  # what we print, `catalog load` reads
    return catalog


def dump(catalog: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"
    header = (
        "# events-api catalog (`events-api catalog show`); load with `events-api catalog load`\n"
    )
    body: str = yaml.safe_dump(
        catalog, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return header + body
