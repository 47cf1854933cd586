"""Whether a property value fits its property's data type and items.

Accepted forms per data type (a documented choice where CareCloud's docs are silent):
- string: a JSON string
- boolean: true / false, or the strings "true" / "false"
- integer: a JSON integer, or a string of digits ("42", "-7")
- float: a JSON number, or a numeric string ("149.90")
- date: "YYYY-MM-DD"; timestamp: "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS"
- enum: a one-element array holding a PropertyItem ({"id": ...}) or an item id; a bare item id
- multiselect: an array of PropertyItems or item ids
Numbers and digits are ASCII only. null means "no value" and is accepted for any type (unless
the property is required).
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from events_api.catalog.definitions import PropertyDef
from events_api.core.params import INTEGER
from events_api.core.timefmt import parse_date, parse_datetime

_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class ValueProblem(NamedTuple):
    reason: str
    message: str


INVALID = ValueProblem("invalid_value_format", "invalid_property_value")
NOT_IN_ITEMS = ValueProblem("not_allowed_value", "item_not_allowed")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _item_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _finite_float_text(value: str) -> bool:
    return _FLOAT.fullmatch(value) is not None and math.isfinite(float(value))


def _scalar_ok(data_type: str, value: Any) -> bool:
    if data_type == "string":
        return isinstance(value, str)
    if data_type == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if data_type == "integer":
        if isinstance(value, str):
            return INTEGER.fullmatch(value) is not None
        return isinstance(value, int) and not isinstance(value, bool)
    if data_type == "float":
        if isinstance(value, str):
            return _finite_float_text(value)
        return _is_number(value) and math.isfinite(value)
    if data_type == "date":
        return isinstance(value, str) and parse_date(value) is not None
    # the catalog allows no other scalar type (catalog.schemas.DataType)
    return isinstance(value, str) and parse_datetime(value) is not None


def check_value(prop: PropertyDef, value: Any) -> ValueProblem | None:
    """(reason, message key) when the value does not fit, else None."""
    if value is None:
        return None
    if prop.data_type not in ("enum", "multiselect"):
        return None if _scalar_ok(prop.data_type, value) else INVALID
    if prop.data_type == "enum":
        if isinstance(value, list):
            if len(value) != 1:
                return INVALID
            value = value[0]
        chosen = [_item_id(value)]
    else:
        if not isinstance(value, list):
            return INVALID
        chosen = [_item_id(v) for v in value]
    if any(item_id is None for item_id in chosen):
        return INVALID
    return None if all(item_id in prop.items for item_id in chosen) else NOT_IN_ITEMS
