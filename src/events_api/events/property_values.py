"""Property values: whether one fits its property (on write), and its documented form (on read).

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

Values are stored as accepted; every read answers the documented form (`render_value`), made
by the same readers that accept a value, from the property's data type and items in the
catalog at the time of the read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from events_api.catalog.definitions import PropertyDef
from events_api.catalog.read_schemas import PropertyItem
from events_api.core.bodies import JsonFloat
from events_api.core.json_numbers import ExactNumber
from events_api.core.params import INTEGER
from events_api.core.timefmt import format_datetime, parse_date, parse_datetime

MULTIVALUED = ("enum", "multiselect")
DELETED = 0


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


# The documented form of a scalar value of each data type; None when the value does not fit.


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else None


_BOOLEANS = {"true": True, "false": False}


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(value) if isinstance(value, str) else None


def _integer(value: Any) -> Any:
    if isinstance(value, str):
        return int(value) if INTEGER.fullmatch(value) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> Any:
    if isinstance(value, str):
        number = ExactNumber.of(value)
        if number is None or not math.isfinite(parsed := float(value)):
            return None
        # a float writes the same text when its shortest form is the text (`12.5`)
        return parsed if repr(parsed) == number.text else number
    if isinstance(value, JsonFloat):
        return _float(value.text)
    return value if _is_number(value) and math.isfinite(value) else None


def _date(value: Any) -> Any:
    return value if isinstance(value, str) and parse_date(value) is not None else None


def _timestamp(value: Any) -> Any:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return None if parsed is None else format_datetime(parsed)


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "boolean": _boolean,
    "integer": _integer,
    "float": _float,
    "date": _date,
    "timestamp": _timestamp,
}


def item_ids(data_type: str, value: Any) -> list[str] | None:
    """The item ids an enum / multiselect value names, in its order; None when it is not one."""
    if data_type == "enum":
        if isinstance(value, list):
            if len(value) != 1:
                return None
            value = value[0]
        chosen = [_item_id(value)]
    else:
        if not isinstance(value, list):
            return None
        chosen = [_item_id(v) for v in value]
    found = [item_id for item_id in chosen if item_id is not None]
    return found if len(found) == len(chosen) else None


def check_value(prop: PropertyDef, value: Any) -> ValueProblem | None:
    """(reason, message key) when the value does not fit, else None."""
    if value is None:
        return None
    if prop.data_type not in MULTIVALUED:
        return None if _SCALARS[prop.data_type](value) is not None else INVALID
    chosen = item_ids(prop.data_type, value)
    if chosen is None:
        return INVALID
    return None if all(item_id in prop.items for item_id in chosen) else NOT_IN_ITEMS


def stored_value(value: Any) -> Any:
    """What is stored for an accepted value: as sent, but a JSON number with a fraction is
    kept as its text (a float would lose digits: `149.90`); reads answer it as a number."""
    return value.text if isinstance(value, JsonFloat) else value


def removed_item(item_id: str) -> PropertyItem:
    """An item the catalog no longer lists: answered as deleted, its id for a name."""
    return PropertyItem(id=item_id, name=item_id, resource_record_id=None, state=DELETED)


def render_value(data_type: str | None, items: Mapping[str, PropertyItem], value: Any) -> Any:
    """A stored value in the documented form of its property's data type (`data_type`, with
    the property's `items` by id, both from the catalog now; None when the catalog does not
    know the property): integers and floats as JSON numbers (floats with their exact text),
    booleans as true/false, enum and multiselect values as arrays of PropertyItems with the
    catalog's name and state. A value that no longer fits its property's type (the catalog
    changed since it was written) is answered as stored; an item the catalog no longer lists
    is answered as a deleted item (`removed_item`)."""
    if value is None or data_type is None:
        return value
    if data_type not in MULTIVALUED:
        reader = _SCALARS.get(data_type)
        rendered = None if reader is None else reader(value)
        return value if rendered is None else rendered
    chosen = item_ids(data_type, value)
    if chosen is None:
        return value
    return [items.get(item_id) or removed_item(item_id) for item_id in chosen]
