"""Loading the catalog file: validate everything first, then upsert it in one transaction."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository
from events_api.catalog.cache import CHANNEL
from events_api.catalog.schemas import MULTIVALUED, CatalogFile
from events_api.core.i18n import localized, negotiate
from events_api.core.ids import new_id
from events_api.core.notify import notify
from events_api.core.timefmt import local_now


class CatalogError(Exception):
    """A catalog file that cannot be loaded; the message names the entry."""


def read_file(path: Path) -> CatalogFile:
    return parse(read_data(path))


def read_data(path: Path) -> Any:
    """The file's content as YAML/JSON data, not yet checked."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read the file ({exc})") from exc
    try:
        data: Any = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: not valid YAML/JSON ({exc})") from exc
    return data or {}


def _entry_label(data: Any, loc: tuple[Any, ...]) -> str:
    label = ""
    node = data
    for part in loc:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, dict):
            name = node.get("text_id") or node.get("property_id")
            if name:
                label += f" ({name})"
    return label


def parse(data: Any) -> CatalogFile:
    try:
        return CatalogFile.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{_entry_label(data, tuple(err['loc'])) or 'catalog'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise CatalogError("invalid catalog:\n  " + "\n  ".join(lines)) from exc


def _name_columns(name: str | dict[str, str]) -> dict[str, Any]:
    """The `name` and `names` columns of a catalog name (models.py)."""
    if isinstance(name, str):
        return {"name": name, "names": None}
    return {"name": localized(name, negotiate(None)), "names": name}


def _duplicates(values: list[str]) -> list[str]:
    return [value for value, n in Counter(values).items() if n > 1]


def _check_file(catalog: CatalogFile) -> list[str]:
    problems: list[str] = []
    for what, values in (
        ("event_groups text_id", [g.text_id for g in catalog.event_groups]),
        (
            "event_groups event_group_id",
            [g.event_group_id for g in catalog.event_groups if g.event_group_id],
        ),
        ("event_properties property_id", [p.property_id for p in catalog.event_properties]),
        ("event_types text_id", [t.text_id for t in catalog.event_types]),
        (
            "event_types event_type_id",
            [t.event_type_id for t in catalog.event_types if t.event_type_id],
        ),
    ):
        problems += [f"{what} {dup!r} appears more than once" for dup in _duplicates(values)]
    for i, prop in enumerate(catalog.event_properties):
        label = f"event_properties[{i}] ({prop.property_id})"
        if prop.data_type in MULTIVALUED and not prop.items:
            problems.append(f"{label}: data_type {prop.data_type} needs a non-empty items list")
        if prop.items and prop.data_type not in MULTIVALUED:
            problems.append(f"{label}: items are only allowed for enum and multiselect")
        for dup in _duplicates([item.id for item in prop.items or []]):
            problems.append(f"{label}: item id {dup!r} appears more than once")
    for i, etype in enumerate(catalog.event_types):
        for dup in _duplicates(etype.event_properties):
            problems.append(f"event_types[{i}] ({etype.text_id}): property {dup!r} listed twice")
    return problems


def _resolve_ids(
    entries: list[Any], id_attr: str, existing_by_text_id: dict[str, str], kind: str
) -> tuple[list[str], list[str]]:
    """Keep given ids, reuse the stored id of the same text_id, or make a new one."""
    ids: list[str] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        stored = existing_by_text_id.get(entry.text_id)
        given = getattr(entry, id_attr)
        if given and stored and given != stored:
            problems.append(
                f"{kind}[{i}] ({entry.text_id}): text_id already belongs to {id_attr} {stored}"
            )
        ids.append(given or stored or new_id())
    owners: dict[str, int] = {}
    for i, (entry, resolved) in enumerate(zip(entries, ids, strict=True)):
        if resolved in owners:
            first = owners[resolved]
            problems.append(
                f"{kind}[{i}] ({entry.text_id}): resolves to {id_attr} {resolved}, "
                f"like {kind}[{first}] ({entries[first].text_id})"
            )
        owners.setdefault(resolved, i)
    return ids, problems


def _unknown_references(
    label: str,
    group: object,
    group_known: bool,
    properties: Iterable[object],
    known_properties: set[str],
) -> list[str]:
    problems = [] if group_known else [f"{label}: unknown event_group {group!r}"]
    problems += [
        f"{label}: unknown event property {prop!r}"
        for prop in properties
        if prop not in known_properties
    ]
    return problems


async def _raw_reference_problems(conn: AsyncConnection, data: Any) -> list[str]:
    """The event types' references to unknown groups and properties, read from file data that
    is not a valid catalog (best effort), so that one error lists those problems too."""
    if not isinstance(data, dict):
        return []

    def entries(key: str) -> list[dict[str, Any]]:
        found = data.get(key)
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    stored_groups = await repository.group_ids_by_text_id(conn)
    groups = {g.get("text_id") for g in entries("event_groups")} | set(stored_groups)
    groups |= set(stored_groups.values())
    properties = {p.get("property_id") for p in entries("event_properties")}
    known_properties = await repository.all_property_ids(conn) | {
        p for p in properties if isinstance(p, str)
    }
    problems: list[str] = []
    for i, etype in enumerate(entries("event_types")):
        listed = etype.get("event_properties")
        problems += _unknown_references(
            f"event_types[{i}] ({etype.get('text_id')})",
            etype.get("event_group"),
            etype.get("event_group") in groups,
            listed if isinstance(listed, list) else [],
            known_properties,
        )
    return problems


async def load_data(
    conn: AsyncConnection, data: Any, tz: ZoneInfo, *, prune: bool = False
) -> dict[str, int]:
    """Check and load catalog file data (`read_data`). A file with shape problems gets its
    reference problems listed in the same error."""
    try:
        catalog = parse(data)
    except CatalogError as exc:
        more = await _raw_reference_problems(conn, data)
        if more:
            raise CatalogError(f"{exc}\n  " + "\n  ".join(more)) from exc
        raise
    return await load(conn, catalog, tz, prune=prune)


async def load(
    conn: AsyncConnection, catalog: CatalogFile, tz: ZoneInfo, *, prune: bool = False
) -> dict[str, int]:
    """Upsert the catalog. Raises CatalogError (and writes nothing) when any entry is wrong.

    With `prune`, the file is the whole catalog: stored event types and properties it does
    not list (and groups neither listed nor used by a listed type) are kept, readable, in
    state 0 (CareCloud's "deleted"); a deleted type no longer accepts events. Listing an
    entry again makes it active again.

    `last_change` is stamped in the project's time zone `tz`; every process's catalog cache is
    dropped when the transaction commits.
    """
    problems = _check_file(catalog)
    stored_groups = await repository.group_ids_by_text_id(conn)
    stored_types = await repository.type_ids_by_text_id(conn)
    group_ids, group_problems = _resolve_ids(
        catalog.event_groups, "event_group_id", stored_groups, "event_groups"
    )
    type_ids, type_problems = _resolve_ids(
        catalog.event_types, "event_type_id", stored_types, "event_types"
    )
    problems += group_problems + type_problems

    known_groups = {
        **stored_groups,
        **{g.text_id: gid for g, gid in zip(catalog.event_groups, group_ids, strict=True)},
    }
    known_group_ids = set(known_groups.values())
    known_properties = await repository.all_property_ids(conn) | {
        p.property_id for p in catalog.event_properties
    }
    type_rows: list[dict[str, Any]] = []
    assignments: dict[str, list[str]] = {}
    for i, (etype, type_id) in enumerate(zip(catalog.event_types, type_ids, strict=True)):
        label = f"event_types[{i}] ({etype.text_id})"
        group_id = known_groups.get(etype.event_group) or (
            etype.event_group if etype.event_group in known_group_ids else None
        )
        problems += _unknown_references(
            label, etype.event_group, group_id is not None, etype.event_properties, known_properties
        )
        type_rows.append(
            {
                "event_type_id": type_id,
                "event_group_id": group_id,
                **_name_columns(etype.name),
                "text_id": etype.text_id,
                "icon_name": etype.icon_name,
                "state": etype.state,
            }
        )
        assignments[type_id] = etype.event_properties
    if problems:
        raise CatalogError("invalid catalog:\n  " + "\n  ".join(problems))

    now = local_now(tz)
    await repository.upsert_groups(
        conn,
        [
            {
                "event_group_id": gid,
                **_name_columns(g.name),
                "text_id": g.text_id,
                "state": g.state,
            }
            for g, gid in zip(catalog.event_groups, group_ids, strict=True)
        ],
    )
    await repository.upsert_properties(
        conn,
        [
            {
                "property_id": p.property_id,
                **_name_columns(p.name),
                "description": p.description,
                "data_type": p.data_type,
                "is_required": p.is_required,
                "is_unique": p.is_unique,
                "items": [item.model_dump() for item in p.items] if p.items else None,
                "state": p.state,
                "last_change": now,
            }
            for p in catalog.event_properties
        ],
    )
    await repository.upsert_types(conn, type_rows)
    await repository.replace_type_properties(conn, assignments)
    deleted = 0
    if prune:
        used_groups = {row["event_group_id"] for row in type_rows} | set(group_ids)
        used_properties = {p.property_id for p in catalog.event_properties} | {
            prop_id for prop_ids in assignments.values() for prop_id in prop_ids
        }
        deleted += await repository.mark_types_deleted(conn, type_ids)
        deleted += await repository.mark_properties_deleted(conn, used_properties, now)
        deleted += await repository.mark_groups_deleted(conn, used_groups)
    await notify(conn, CHANNEL)
    return {
        "event_groups": len(catalog.event_groups),
        "event_properties": len(catalog.event_properties),
        "event_types": len(catalog.event_types),
        **({"entries marked deleted": deleted} if prune else {}),
    }
