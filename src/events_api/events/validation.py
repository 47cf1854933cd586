"""Reading a POST /events body: every shape problem collected into one 400.

The fields, which are required and which accept numbers come from `events.schemas.EventPost`
(the model the OpenAPI document shows). Checks that need the catalog (event type, properties,
values) live in the service.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel

from events_api.core.errors import BadRequest, InvalidParam
from events_api.core.params import text_problem
from events_api.core.settings import Settings
from events_api.core.timefmt import parse_datetime
from events_api.events.property_values import stored_value
from events_api.events.rows import EventRow, NewRecord
from events_api.events.schemas import MAX_PROPERTY_RECORDS, EventPost, PropertyRecordIn


class RecordIn(NamedTuple):
    position: int
    property_id: str
    property_value: Any


IDENTIFIER_TYPES = ("email", "phone", "external_id")
# (customer_identifier_type, value): a string, or (customer_source_id, external_id)
CustomerIdentifier = tuple[str, str | tuple[str, str]]


class _IdentifierValue(BaseModel):
    """customer_identifier_value for email and phone (read by `_Reader.customer_identifier`)."""

    customer_identifier_value: str


class _ExternalIdValue(BaseModel):
    """customer_identifier_value for external_id."""

    customer_source_id: str
    external_id: str


@dataclass(frozen=True)
class CatalogRefs:
    """What an event names in the catalog: its type and its records' properties and values."""

    event_type_id: str
    records: list[RecordIn]
    complete: bool = True  # False: some records could not be read (required ones not checked)


@dataclass(frozen=True)
class EventIn:
    event_type_id: str
    customer_id: str | None  # None: found from customer_identifier by the service
    external_id: str
    secondary_external_id: str | None
    created_at: datetime | None
    data: Any
    records: list[RecordIn]
    customer_identifier: CustomerIdentifier | None = None

    @property
    def refs(self) -> CatalogRefs:
        return CatalogRefs(self.event_type_id, self.records)

    def rows(self, event_id: str, now: datetime) -> tuple[EventRow, list[NewRecord]]:
        """The rows to insert for this event (`created_at` defaults to `now`); its customer_id
        is known by now (the service resolves a customer identifier first)."""
        assert self.customer_id is not None
        row = EventRow(
            event_id=event_id,
            event_type_id=self.event_type_id,
            customer_id=self.customer_id,
            external_id=self.external_id,
            data=self.data,
            created_at=self.created_at or now,
            secondary_external_id=self.secondary_external_id,
            state=1,
        )
        records = [
            NewRecord(event_id, r.property_id, r.position, stored_value(r.property_value), now)
            for r in self.records
        ]
        return row, records


Problem = tuple[str, dict[str, Any]]
_UNBOUNDED = 1 << 62  # the size bound of a value whose JSON text is not bounded cheaply
_SCALAR_BOUND = 32  # null, true, false, a float's repr (at most 24 characters), a small int


class _Walk:
    """One walk over a JSON value: the first problem of its strings, keys, numbers and nesting,
    and an upper bound of the size of its JSON text (json.dumps, ensure_ascii=False, in UTF-8):
    a string is at most 6 bytes a character, escaped, plus quotes; separators 2 bytes each."""

    __slots__ = ("max_depth", "problem")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.problem: Problem | None = None

    def bound(self, value: Any, depth: int = 1) -> int:
        """The size bound of `value`; stops (returning 0) at the first problem."""
        if depth > self.max_depth:
            self.problem = "too_deep", {"limit": self.max_depth}
            return 0
        kind = type(value)
        if kind is str:
            # ASCII text is storable unless it holds NUL (text_problem, asked only otherwise)
            if value.isascii() and "\x00" not in value:
                return 6 * len(value) + 2
            issue = text_problem(value)
            if issue:
                self.problem = issue, {}
                return 0
            return 6 * len(value) + 2
        if value is None or kind is bool:
            return _SCALAR_BOUND
        if kind is int:
            return _SCALAR_BOUND if -(10**18) < value < 10**18 else _UNBOUNDED
        if isinstance(value, float):  # a body's floats are JsonFloats (core/bodies.py)
            if not math.isfinite(value):
                self.problem = "invalid_value_format", {}
                return 0
            return _SCALAR_BOUND
        total = 2
        if isinstance(value, dict):
            for key in value:
                total += self.bound(key, depth + 1) + 4
                if self.problem:
                    return 0
            for item in value.values():
                total += self.bound(item, depth + 1)
                if self.problem:
                    return 0
        elif isinstance(value, list):
            for item in value:
                total += self.bound(item, depth + 1) + 2
                if self.problem:
                    return 0
        else:
            return _UNBOUNDED  # not a JSON value (never parsed from a body)
        return total


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


@cache
def _field_spec(model: type[BaseModel], name: str) -> tuple[bool, bool]:
    """(required, accepts numbers) of a field of a body model (read once per field)."""
    spec = model.model_fields[name]
    return spec.is_required(), int in get_args(spec.annotation)


class _Reader:
    def __init__(self, settings: Settings, prefix: str | None = None) -> None:
        self.settings = settings
        self.problems: list[InvalidParam] = []
        # In a batch, names are paths in the batch body: `events[3].event.customer_id`;
        # `scope` is the part of the item being read ("event.", "property_records[1].", "").
        self.prefix = prefix
        self.scope = ""
        self.walk = _Walk(settings.max_json_depth)

    def fail(
        self, name: str, reason: str, value: Any, message: str | None = None, **params: Any
    ) -> None:
        if self.prefix is not None:
            name = f"{self.prefix}{self.scope}{name}" if name != "body" else self.prefix[:-1]
        self.problems.append(InvalidParam(name, reason, value, message, params))

    def identifier(
        self, obj: dict[str, Any], name: str, model: type[BaseModel] = EventPost
    ) -> str | None:
        """A string id (or a number, stored as its decimal text, where the model allows)."""
        value = obj.get(name)
        if (
            type(value) is str
            and len(value) <= self.settings.max_string_length
            and value.isascii()  # ASCII: storable unless it holds NUL (text_problem)
            and "\x00" not in value
            and value
            and not value.isspace()
        ):
            return value  # the common case, every check below passed
        required, numbers = _field_spec(model, name)
        if value is None:
            if required:
                self.fail(name, "required", None)
            return None
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(name, "invalid_value_format", value)
                return None
            value = str(value)
        if not isinstance(value, str):
            key = "expected_string_or_number" if numbers else "expected_string"
            self.fail(name, "invalid_value_format", value, key)
            return None
        if required and value.strip() == "":
            self.fail(name, "empty", value)
            return None
        problem = text_problem(value)
        if problem:
            self.fail(name, "invalid_value_format", value, problem)
            return None
        limit = self.settings.max_string_length
        if len(value) > limit:
            self.fail(name, "not_allowed_value", value, "too_long", limit=limit)
            return None
        return value

    def customer_identifier(self, event: dict[str, Any]) -> CustomerIdentifier | None:
        """customer_identifier_type + customer_identifier_value, sent instead of customer_id."""
        kind = event.get("customer_identifier_type")
        value = event.get("customer_identifier_value")
        if kind is None:
            self.fail("customer_identifier_type", "required", None)
        elif kind not in IDENTIFIER_TYPES:
            self.fail(
                "customer_identifier_type",
                "not_allowed_value",
                kind,
                "one_of",
                allowed=", ".join(IDENTIFIER_TYPES),
            )
            kind = None
        if value is None:
            self.fail("customer_identifier_value", "required", None)
            return None
        if kind == "external_id" or (kind is None and isinstance(value, dict)):
            if not isinstance(value, dict):
                self.fail(
                    "customer_identifier_value",
                    "invalid_value_format",
                    value,
                    "expected_identifier_object",
                )
                return None
            source = self.identifier(value, "customer_source_id", _ExternalIdValue)
            external = self.identifier(value, "external_id", _ExternalIdValue)
            if kind is None or source is None or external is None:
                return None
            return kind, (source, external)
        checked = self.identifier(event, "customer_identifier_value", _IdentifierValue)
        if kind is None or checked is None:
            return None
        return kind, checked

    def created_at(self, obj: dict[str, Any]) -> datetime | None:
        value = obj.get("created_at")
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail("created_at", "invalid_value_format", value, "expected_datetime")
        return parsed

    def json_value(self, name: str, value: Any, max_bytes: int) -> bool:
        """A JSON value's strings, nesting and size checked (its size encoded only when its
        bound passes the limit); False, with the problem, when it fails."""
        walk = self.walk
        walk.problem = None
        bound = walk.bound(value)
        if walk.problem:
            reason, params = walk.problem
            shown = "not_allowed_value" if reason == "too_deep" else "invalid_value_format"
            self.fail(name, shown, value, reason, **params)
            return False
        if bound > max_bytes and _json_size(value) > max_bytes:
            self.fail(name, "not_allowed_value", value, "too_long", limit=f"{max_bytes} bytes")
            return False
        return True

    def data(self, obj: dict[str, Any]) -> Any:
        value = obj.get("data")
        if value is None:
            return None
        is_string_list = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not isinstance(value, str | dict) and not is_string_list:
            self.fail("data", "invalid_value_format", value, "expected_data")
            return None
        if not self.json_value("data", value, self.settings.max_data_bytes):
            return None
        return value

    def records(self, body: dict[str, Any]) -> list[RecordIn]:
        value = body.get("property_records")
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("property_records", "invalid_value_format", value, "expected_array")
            return []
        if len(value) > MAX_PROPERTY_RECORDS:
            self.fail(
                "property_records",
                "not_allowed_value",
                len(value),
                "too_many_items",
                limit=MAX_PROPERTY_RECORDS,
            )
            return []
        records: list[RecordIn] = []
        for position, item in enumerate(value):
            self.scope = ""
            if not isinstance(item, dict):
                name = (
                    "property_records" if self.prefix is None else f"property_records[{position}]"
                )
                self.fail(name, "invalid_value_format", item, "expected_object")
                continue
            self.scope = f"property_records[{position}]."
            property_id = self.identifier(item, "property_id", PropertyRecordIn)
            prop_value = item.get("property_value")
            limit = self.settings.max_property_value_bytes
            if not self.json_value("property_value", prop_value, limit):
                continue
            if property_id is not None:
                records.append(RecordIn(position, property_id, prop_value))
        self.scope = ""
        return records


@dataclass(frozen=True)
class ReadEvent:
    """A POST /events body as read: the event when its shape is right, else every problem of
    its shape; and what it names in the catalog whenever that could be read (the catalog checks
    then run too, so one answer lists every problem)."""

    event: EventIn | None
    refs: CatalogRefs | None
    problems: list[InvalidParam]
    customer_id: str | None = None  # whenever the body names a well-formed one


def read_event(body: Any, settings: Settings) -> EventIn:
    reading = read_event_item(body, settings)
    if reading.event is None:
        raise BadRequest(reading.problems)
    return reading.event


def read_event_item(body: Any, settings: Settings, prefix: str | None = None) -> ReadEvent:
    """The event of one POST /events body, or every problem found in its shape.

    With `prefix` (a batch item, e.g. "events[3]."), problem names are paths in the batch body.
    """
    reader = _Reader(settings, prefix)
    if not isinstance(body, dict):
        reader.fail("body", "invalid_value_format", body, "expected_object")
        return ReadEvent(None, None, reader.problems)
    event = body.get("event")
    if event is None:
        reader.fail("event", "required", None)
    elif not isinstance(event, dict):
        reader.fail("event", "invalid_value_format", event, "expected_object")
    before_records = len(reader.problems)
    records = reader.records(body)
    records_complete = len(reader.problems) == before_records
    if not isinstance(event, dict):
        return ReadEvent(None, None, reader.problems)
    reader.scope = "event."
    identified = (
        event.get("customer_identifier_type") is not None
        or event.get("customer_identifier_value") is not None
    )
    event_type_id = reader.identifier(event, "event_type_id")
    customer_id: str | None = None
    customer_identifier: CustomerIdentifier | None = None
    if not identified:
        customer_id = reader.identifier(event, "customer_id")
    elif event.get("customer_id") is not None:
        reader.fail(
            "customer_id", "not_allowed_value", event["customer_id"], "customer_id_or_identifier"
        )
    else:
        customer_identifier = reader.customer_identifier(event)
    external_id = reader.identifier(event, "external_id")
    secondary = reader.identifier(event, "secondary_external_id")
    created_at = reader.created_at(event)
    data = reader.data(event)
    refs = None if event_type_id is None else CatalogRefs(event_type_id, records, records_complete)
    if (
        reader.problems
        or event_type_id is None
        or (customer_id is None and customer_identifier is None)
        or external_id is None
    ):
        return ReadEvent(None, refs, reader.problems, customer_id)
    event_in = EventIn(
        event_type_id,
        customer_id,
        external_id,
        secondary,
        created_at,
        data,
        records,
        customer_identifier,
    )
    return ReadEvent(event_in, refs, [], customer_id)
