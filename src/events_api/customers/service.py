"""The customer directory: load it (`events-api customers load`), and find a customer_id from
an identifier (POST /events with customer_identifier_type/value).

Loading is like `catalog load`: the whole file is checked first, then written in one
transaction; each listed customer is in the directory from then on (with or without
identifiers) and its identifiers are replaced by the file's, customers the file does not list
are left as they are, and loading the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.notify import notify
from events_api.customers import repository
from events_api.customers.cache import CHANNEL
from events_api.customers.schemas import CustomerIn, DirectoryFile

CSV_COLUMNS = ("customer_id", "email", "phone", "customer_source_id", "external_id")


class DirectoryError(Exception):
    """A directory file that cannot be loaded; the message names the entry."""


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """Digits only, without a leading 00: '+420 777 123 456' and '00420777123456' match."""
    digits = re.sub(r"\D", "", value)
    return digits[2:] if digits.startswith("00") else digits


def _rows_of_csv(raw: str, path: Path) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(raw))
    columns = tuple(reader.fieldnames or ())
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if "customer_id" not in columns or unknown:
        raise DirectoryError(
            f"{path}: CSV columns are {', '.join(CSV_COLUMNS)} (customer_id required)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    customers: dict[str, dict[str, Any]] = {}
    for line, row in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        customer_id = values.get("customer_id", "")
        if not customer_id:
            raise DirectoryError(f"{path}: line {line}: customer_id is empty")
        entry = customers.setdefault(customer_id, {"customer_id": customer_id, "external_ids": []})
        for field in ("email", "phone"):
            value = values.get(field)
            if value:
                if entry.get(field) not in (None, value):
                    raise DirectoryError(
                        f"{path}: line {line}: customer {customer_id!r} has two {field}s"
                    )
                entry[field] = value
        source, external = values.get("customer_source_id"), values.get("external_id")
        if bool(source) != bool(external):
            raise DirectoryError(
                f"{path}: line {line}: customer_source_id and external_id go together"
            )
        if source:
            entry["external_ids"].append({"customer_source_id": source, "external_id": external})
    return {"customers": list(customers.values())}


def read_file(path: Path) -> DirectoryFile:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError(f"{path}: cannot read the file ({exc})") from exc
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data: Any = _rows_of_csv(raw, path)
        elif suffix == ".json":
            data = json.loads(raw)
        else:
            data = yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise DirectoryError(f"{path}: not valid {suffix.lstrip('.') or 'YAML'} ({exc})") from exc
    return parse(data or {})


def parse(data: Any) -> DirectoryFile:
    try:
        return DirectoryFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            label = ""
            for part in err["loc"]:
                label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else part)
            lines.append(f"{label or 'directory'}: {err['msg']}")
        raise DirectoryError("invalid customer directory:\n  " + "\n  ".join(lines)) from exc


def _identifier_rows(customer: CustomerIn) -> list[dict[str, Any]]:
    found: dict[tuple[str, str, str], None] = {}
    if customer.email:
        found[("email", "", normalize_email(customer.email))] = None
    if customer.phone:
        found[("phone", "", normalize_phone(customer.phone))] = None
    for ext in customer.external_ids:
        found[("external_id", ext.customer_source_id, ext.external_id)] = None
    return [
        {
            "identifier_type": kind,
            "customer_source_id": source,
            "value": value,
            "customer_id": customer.customer_id,
        }
        for kind, source, value in found
    ]


async def load(conn: AsyncConnection, directory: DirectoryFile) -> dict[str, int]:
    """Write the directory; DirectoryError (and nothing written) when any entry is wrong."""
    twice = [c for c, n in Counter(c.customer_id for c in directory.customers).items() if n > 1]
    if twice:
        raise DirectoryError(
            "invalid customer directory:\n  "
            + "\n  ".join(f"customer_id {c!r} appears more than once" for c in twice)
        )
    rows = [row for customer in directory.customers for row in _identifier_rows(customer)]
    await repository.replace_customers(conn, [c.customer_id for c in directory.customers], rows)
    await notify(conn, CHANNEL)  # every process forgets the customers it knew, at commit
    return {"customers": len(directory.customers), "identifiers": len(rows)}


async def customers_with(
    conn: AsyncConnection, identifier_type: str, value: str | tuple[str, str]
) -> list[str]:
    """Customers (at most two) with this identifier; value is (source, id) for external_id."""
    if isinstance(value, tuple):
        return await repository.customers_with(conn, identifier_type, value[0], value[1])
    key = normalize_email(value) if identifier_type == "email" else normalize_phone(value)
    return await repository.customers_with(conn, identifier_type, "", key)
