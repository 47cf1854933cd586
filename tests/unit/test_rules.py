"""The pure rules behind validation, many cases each (the HTTP tests keep one of each)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from events_api.catalog.definitions import PropertyDef
from events_api.catalog.schemas import DataType
from events_api.core.bodies import parse_json
from events_api.core.errors import BadRequest, InvalidParam
from events_api.core.ids import is_id, new_id, new_ids
from events_api.core.params import check_text, parse_bool, parse_int
from events_api.core.settings import Settings
from events_api.core.timefmt import format_datetime, parse_date, parse_datetime
from events_api.events.property_values import INVALID, NOT_IN_ITEMS, check_value
from events_api.events.validation import read_event

SETTINGS = Settings(database_url="postgresql://unused@localhost/none")

# Digits of other scripts that Python's int(), float(), \d and isdigit() all accept.
FOREIGN_DIGITS = ["٣", "１２", "߃", "४२"]


def prop(data_type: DataType, items: tuple[str, ...] = ()) -> PropertyDef:
    return PropertyDef("p", "P", data_type, False, items)


VALID: list[tuple[DataType, Any]] = [
    ("string", "text"),
    ("string", ""),
    ("boolean", True),
    ("boolean", "false"),
    ("integer", 42),
    ("integer", "-7"),
    ("integer", "0"),
    ("integer", "999999999999999999"),
    ("float", 1.5),
    ("float", 3),
    ("float", "149.90"),
    ("float", "-.5"),
    ("float", "1e10"),
    ("date", "2024-02-29"),
    ("timestamp", "2024-01-01 00:00:00"),
    ("timestamp", "2024-01-01T23:59:59"),
]

INVALID_VALUES: list[tuple[DataType, Any]] = [
    ("string", 1),
    ("string", ["a"]),
    ("boolean", "yes"),
    ("boolean", 1),
    ("integer", 1.5),
    ("integer", True),
    ("integer", "4\n"),
    ("integer", " 4"),
    ("integer", "+5"),
    ("integer", "1e3"),
    ("integer", "9999999999999999999"),
    ("float", "1e999"),
    ("float", "nan"),
    ("float", "inf"),
    ("float", float("inf")),
    ("float", "1.5\n"),
    ("float", "1,5"),
    ("float", True),
    ("date", "2023-02-29"),
    ("date", "2024-1-01"),
    ("date", "2024-01-01 00:00:00"),
    ("timestamp", "2024-01-01"),
    ("timestamp", "2024-01-01 24:00:00"),
    ("timestamp", "２０２４-01-01 00:00:00"),
    *[("integer", digits) for digits in FOREIGN_DIGITS],
    *[("float", digits) for digits in FOREIGN_DIGITS],
    *[("date", f"2024-01-0{digit}") for digit in ("٣", "３")],
]


@pytest.mark.parametrize(("data_type", "value"), VALID)
def test_values_that_fit_their_type(data_type: DataType, value: Any) -> None:
    assert check_value(prop(data_type), value) is None


@pytest.mark.parametrize(("data_type", "value"), INVALID_VALUES)
def test_values_that_do_not_fit_their_type(data_type: DataType, value: Any) -> None:
    assert check_value(prop(data_type), value) == INVALID


@pytest.mark.parametrize("data_type", ["string", "integer", "float", "date", "enum"])
def test_null_is_no_value(data_type: DataType) -> None:
    assert check_value(prop(data_type, ("1",)), None) is None


@pytest.mark.parametrize(
    ("data_type", "value", "expected"),
    [
        ("enum", [{"id": "1"}], None),
        ("enum", ["1"], None),
        ("enum", "1", None),
        ("enum", 1, None),
        ("enum", [{"id": "1"}, {"id": "2"}], INVALID),
        ("enum", [], INVALID),
        ("enum", [{"name": "x"}], INVALID),
        ("enum", "3", NOT_IN_ITEMS),
        ("multiselect", [{"id": "1"}, "2"], None),
        ("multiselect", [], None),
        ("multiselect", "1", INVALID),
        ("multiselect", ["1", "3"], NOT_IN_ITEMS),
        ("multiselect", [None], INVALID),
    ],
)
def test_items(data_type: DataType, value: Any, expected: Any) -> None:
    assert check_value(prop(data_type, ("1", "2")), value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01 00:00:00", datetime(2024, 1, 1)),
        ("2024-01-01T12:34:56", datetime(2024, 1, 1, 12, 34, 56)),
        ("0001-01-01 00:00:00", datetime(1, 1, 1)),
        ("2024-01-01 00:00", None),
        ("2024-01-01 00:00:00Z", None),
        ("2024-01-01 00:00:00\n", None),
        ("2024-13-01 00:00:00", None),
        ("２０２４-01-01 00:00:00", None),
        ("2024-01-0٣ 00:00:00", None),
        ("", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-02-29", date(2024, 2, 29)), ("2023-02-29", None), ("2024-02-2９", None)],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 5, 6, 7, 8, 9), "2024-05-06 07:08:09"),
        (datetime(1, 1, 1), "0001-01-01 00:00:00"),
        (datetime(999, 12, 31, 23, 59, 59), "0999-12-31 23:59:59"),
    ],
)
def test_format_datetime_is_always_zero_padded(moment: datetime, text: str) -> None:
    assert format_datetime(moment) == text
    assert parse_datetime(text) == moment


@pytest.mark.parametrize(
    ("raw", "value", "problem"),
    [
        (None, 100, None),
        ("5", 5, None),
        (" 5 ", 5, None),
        ("0", 100, "not_allowed_value"),
        ("1001", 100, "not_allowed_value"),
        ("-1", 100, "not_allowed_value"),
        ("+5", 100, "invalid_value_format"),
        ("5.0", 100, "invalid_value_format"),
        ("", 100, "empty"),
        ("x", 100, "invalid_value_format"),
        *[(digits, 100, "invalid_value_format") for digits in FOREIGN_DIGITS],
    ],
)
def test_parse_int(raw: str | None, value: int, problem: str | None) -> None:
    problems: list[InvalidParam] = []
    assert parse_int("count", raw, 100, 1, 1000, problems) == value
    assert [p.reason for p in problems] == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("raw", "value", "ok"),
    [
        (None, False, True),
        ("true", True, True),
        ("TRUE", True, True),
        ("1", True, True),
        ("false", False, True),
        ("0", False, True),
        ("yes", False, False),
        ("١", False, False),
    ],
)
def test_parse_bool(raw: str | None, value: bool, ok: bool) -> None:
    problems: list[InvalidParam] = []
    assert parse_bool("include_property_records", raw, problems) is value
    assert (not problems) is ok


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("ok", None), ("a\x00b", "invalid_value_format"), ("x" * 11, "not_allowed_value")],
)
def test_check_text(raw: str, reason: str | None) -> None:
    problems: list[InvalidParam] = []
    check_text("customer_id", raw, 10, problems)
    assert [p.reason for p in problems] == ([reason] if reason else [])


def problems_of(body: Any) -> set[tuple[str, str]]:
    with pytest.raises(BadRequest) as raised:
        read_event(body, SETTINGS)
    return {(p.name, p.reason) for p in raised.value.invalid_params}


def test_a_valid_body_is_read() -> None:
    event = read_event(
        {
            "event": {
                "event_type_id": "t",
                "customer_id": "c",
                "external_id": 157613,
                "created_at": "2024-01-01 00:00:00",
                "data": {"b": 1, "a": 2},
            },
            "property_records": [{"property_id": "p", "property_value": "v"}],
        },
        SETTINGS,
    )
    assert event.external_id == "157613"
    assert event.created_at == datetime(2024, 1, 1)
    assert [(r.position, r.property_id, r.property_value) for r in event.records] == [(0, "p", "v")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], {("body", "invalid_value_format")}),
        ({}, {("event", "required")}),
        ({"event": 1}, {("event", "invalid_value_format")}),
        (
            {"event": {}},
            {
                ("event_type_id", "required"),
                ("customer_id", "required"),
                ("external_id", "required"),
            },
        ),
        (
            {"event": {"event_type_id": " ", "customer_id": "", "external_id": True}},
            {
                ("event_type_id", "empty"),
                ("customer_id", "empty"),
                ("external_id", "invalid_value_format"),
            },
        ),
        (
            {
                "event": {
                    "event_type_id": "t",
                    "customer_id": "c" * 256,
                    "external_id": "e\x00",
                    "created_at": "２０２４-01-01 00:00:00",
                    "data": 5,
                },
                "property_records": [{"property_value": 1}, 7],
            },
            {
                ("customer_id", "not_allowed_value"),
                ("external_id", "invalid_value_format"),
                ("created_at", "invalid_value_format"),
                ("data", "invalid_value_format"),
                ("property_id", "required"),
                ("property_records", "invalid_value_format"),
            },
        ),
        (
            {
                "event": {"event_type_id": "t", "customer_id": "c", "external_id": "e"},
                "property_records": [{"property_id": "p"}] * 1001,
            },
            {("property_records", "not_allowed_value")},
        ),
    ],
)
def test_every_shape_problem_at_once(body: Any, expected: set[tuple[str, str]]) -> None:
    assert problems_of(body) == expected


@pytest.mark.parametrize("raw", [b"{", b"\xff", b"NaN", b'{"a": Infinity}', b"[" * 100_000])
def test_malformed_json(raw: bytes) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_json(raw)
    assert [(p.name, p.reason) for p in raised.value.invalid_params] == [
        ("body", "invalid_value_format")
    ]


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


# JSON values whose encoded size the reader bounds without encoding them: escapes, non-ASCII
# (2-4 bytes a character), big and small numbers, nesting, separators.
SIZED_VALUES: list[Any] = [
    "plain",
    'quote " backslash \\ tab \t newline \n control \x01',
    "é ü 中文 😀",
    ["a", "b", "c"],
    {"k": "v", "n": 1.5e-300, "big": 10**40, "t": True, "z": None},
    {"nested": [{"a": [1, 2, {"b": "x" * 50}]}, [], {}]},
    {"😀" * 3: ["\x00".replace("\x00", "\x1f") * 4]},
]


@pytest.mark.parametrize("value", SIZED_VALUES)
def test_data_size_limit_is_exact(value: Any) -> None:
    data = value if isinstance(value, str | dict) else {"v": value}
    body = {"event": {"event_type_id": "t", "customer_id": "c", "external_id": "e", "data": data}}
    size = _encoded_size(data)
    for limit, fits in ((size, True), (size - 1, False)):
        settings = Settings(database_url=SETTINGS.database_url, max_data_bytes=limit)
        if fits:
            assert read_event(body, settings).data == data
        else:
            with pytest.raises(BadRequest) as raised:
                read_event(body, settings)
            assert [
                (p.name, p.reason, p.message, p.params) for p in raised.value.invalid_params
            ] == [("data", "not_allowed_value", "too_long", {"limit": f"{limit} bytes"})]


@pytest.mark.parametrize("value", [*SIZED_VALUES, 12345, -(10**30), 0.1, True, None])
def test_property_value_size_limit_is_exact(value: Any) -> None:
    size = _encoded_size(value)
    for limit, fits in ((size, True), (size - 1, False)):
        settings = Settings(database_url=SETTINGS.database_url, max_property_value_bytes=limit)
        body = {
            "event": {"event_type_id": "t", "customer_id": "c", "external_id": "e"},
            "property_records": [{"property_id": "p", "property_value": value}],
        }
        if fits:
            assert read_event(body, settings).records[0].property_value == value
        else:
            with pytest.raises(BadRequest) as raised:
                read_event(body, settings)
            assert [(p.name, p.reason, p.message) for p in raised.value.invalid_params] == [
                ("property_value", "not_allowed_value", "too_long")
            ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("\u3000\u2003", "empty"),  # whitespace of other scripts is blank too
        ("id\x00", "invalid_value_format"),
        ("lone \ud800", "invalid_value_format"),
        ("x" * 256, "not_allowed_value"),
        ("x" * 255, None),
        ("ünïcödé", None),
        (" padded ", None),
    ],
)
def test_identifier_checks(value: str, reason: str | None) -> None:
    body = {"event": {"event_type_id": "t", "customer_id": value, "external_id": "e"}}
    if reason is None:
        assert read_event(body, SETTINGS).customer_id == value
    else:
        assert problems_of(body) == {("customer_id", reason)}


def test_new_ids_are_distinct_ids_of_this_millisecond() -> None:
    before = new_id()
    ids = new_ids(1000)
    after = new_id()
    assert len(set(ids)) == 1000
    assert all(is_id(i) for i in ids)
    assert len({i[:12] for i in ids}) == 1  # the time part: one millisecond for all
    assert before[:12] <= ids[0][:12] <= after[:12]
    assert new_ids(0) == []
