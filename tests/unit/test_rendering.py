"""The pure rules of reads: a stored property value in its documented form, exact number text,
names per language."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from events_api.catalog.read_schemas import PropertyItem
from events_api.core.bodies import JsonFloat, parse_json
from events_api.core.i18n import localized
from events_api.core.json_numbers import ExactNumber, dumps
from events_api.events.property_values import render_value, stored_value

GOLD = PropertyItem(id="g", name="Gold", resource_record_id=None, state=1)
SILVER = PropertyItem(id="s", name="Silver", resource_record_id="r1", state=2)
ITEMS = {"g": GOLD, "s": SILVER, "7": PropertyItem(id="7", name="Seven")}
GONE = PropertyItem(id="x", name="x", resource_record_id=None, state=0)


@pytest.mark.parametrize(
    ("data_type", "stored", "answered"),
    [
        ("string", "text", "text"),
        ("string", "", ""),
        ("boolean", True, True),
        ("boolean", "false", False),
        ("boolean", "true", True),
        ("integer", 42, 42),
        ("integer", "-7", -7),
        ("integer", "007", 7),
        ("integer", 123456789012345678901234567890, 123456789012345678901234567890),
        ("float", 3, 3),
        ("float", 1.5, 1.5),
        ("float", "149.90", ExactNumber("149.90")),
        ("float", "+007.50", ExactNumber("7.50")),
        ("float", ".5", 0.5),  # a float writes 0.5: no need to keep the text
        ("float", "12.5", 12.5),
        ("float", "5.", ExactNumber("5")),
        ("float", "-0", ExactNumber("-0")),
        ("float", "1e5", ExactNumber("1e5")),
        ("float", "2.5E-3", ExactNumber("2.5E-3")),
        ("float", "0.10000000000000000000001", ExactNumber("0.10000000000000000000001")),
        ("date", "1985-06-15", "1985-06-15"),
        ("timestamp", "2024-01-02T03:04:05", "2024-01-02 03:04:05"),
        ("timestamp", "2024-01-02 03:04:05", "2024-01-02 03:04:05"),
        ("enum", "g", [GOLD]),
        ("enum", ["g"], [GOLD]),
        ("enum", [{"id": "s", "name": "sent name"}], [SILVER]),
        ("enum", {"id": "g"}, [GOLD]),
        ("enum", 7, [ITEMS["7"]]),
        ("multiselect", ["g", {"id": "s"}], [GOLD, SILVER]),
        ("multiselect", [], []),
        ("multiselect", ["x", "g"], [GONE, GOLD]),
        ("enum", "x", [GONE]),
    ],
    # an ExactNumber's str holds this process's key: its id is its text, the same in every
    # pytest-xdist worker
    ids=lambda value: f"exact-{value.text}" if isinstance(value, ExactNumber) else None,
)
def test_values_are_answered_in_the_documented_form(
    data_type: str, stored: Any, answered: Any
) -> None:
    rendered = render_value(data_type, ITEMS, stored)
    assert rendered == answered
    assert type(rendered) is type(answered)


@pytest.mark.parametrize(
    ("data_type", "stored"),
    [
        ("integer", "abc"),  # the property was a string when the value was written
        ("integer", 1.5),
        ("boolean", "yes"),
        ("float", "1e999"),
        ("float", "NaN"),
        ("date", "2024-02-30"),
        ("string", 42),
        ("timestamp", "2024-01-02"),
        ("enum", ["g", "s"]),  # the property was a multiselect
        ("enum", [None]),
        ("multiselect", "g"),  # the property was an enum with a bare id
        ("multiselect", [{"name": "no id"}]),
    ],
)
def test_a_value_that_no_longer_fits_its_type_is_answered_as_stored(
    data_type: str, stored: Any
) -> None:
    assert render_value(data_type, ITEMS, stored) == stored


@pytest.mark.parametrize("stored", [None, "x", 1, ["g"]])
def test_null_and_unknown_properties_keep_the_stored_value(stored: Any) -> None:
    assert render_value("string", ITEMS, None) is None
    assert render_value(None, ITEMS, stored) == stored


def test_a_json_number_with_a_fraction_is_stored_as_its_text() -> None:
    body = parse_json(b'{"a": 149.90, "b": 1E+2, "c": 3, "d": [0.50]}')
    assert isinstance(body["a"], JsonFloat)
    assert body["a"] == 149.9
    assert stored_value(body["a"]) == "149.90"
    assert stored_value(body["b"]) == "1E+2"
    assert stored_value(body["c"]) == 3
    assert stored_value(body["d"]) == [0.5]  # only a whole value is kept as text
    assert render_value("float", {}, stored_value(body["a"])) == ExactNumber("149.90")


@pytest.mark.parametrize("text", ["", ".", "+", "1e", "e5", "1.2.3", "0x10", " 1", "١"])
def test_exact_numbers_take_decimal_text_only(text: str) -> None:
    assert ExactNumber.of(text) is None


class _Body(BaseModel):
    value: Any
    note: str = ""


def test_exact_numbers_are_written_as_bare_numbers() -> None:
    body = _Body(value=[ExactNumber("149.90"), {"n": ExactNumber("-1E+5")}, 0.5, "149.90"])
    assert dumps(body) == b'{"value":[149.90,{"n":-1E+5},0.5,"149.90"],"note":""}'


def test_text_that_looks_like_a_marked_number_stays_text() -> None:
    body = _Body(value="\\u0000149.90", note='"\\u0000abc149.90"')
    assert dumps(body) == body.model_dump_json().encode()


def test_only_number_text_is_written_bare() -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        dumps(_Body(value=ExactNumber('1,"x":2')))


@pytest.mark.parametrize(
    ("name", "lang", "answered"),
    [
        ("Plain", "cs", "Plain"),
        ("Plain", "en", "Plain"),
        ({"cs": "Nákup", "en": "Purchase"}, "cs", "Nákup"),
        ({"cs": "Nákup", "en": "Purchase"}, "en", "Purchase"),
        ({"en": "Purchase"}, "cs", "Purchase"),
        ({"cs": "Nákup"}, "en", "Nákup"),
    ],
)
def test_names_follow_the_language_with_fallbacks(name: Any, lang: Any, answered: str) -> None:
    assert localized(name, lang) == answered
