"""The query-parameter helpers: array forms, malformed keys, limits and the empty-value rule."""

from __future__ import annotations

import pytest

from events_api.core.errors import InvalidParam
from events_api.core.params import array_items, check_texts, given, parse_bool, parse_int

NAME = "event_type_ids"


def items(*pairs: tuple[str, str]) -> tuple[list[str], list[InvalidParam]]:
    problems: list[InvalidParam] = []
    return array_items(pairs, NAME, problems), problems


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], []),
        ([(NAME, "a")], ["a"]),  # plain: one value (CareCloud's PHP client)
        ([(NAME, "a"), (NAME, "b")], ["a", "b"]),  # repeated (OpenAPI generators)
        ([(f"{NAME}[]", "a"), (f"{NAME}[]", "b")], ["a", "b"]),  # bracket (CareCloud's docs)
        ([(f"{NAME}[0]", "a"), (f"{NAME}[1]", "b")], ["a", "b"]),  # indexed (http_build_query)
        ([(f"{NAME}[1]", "b"), (f"{NAME}[0]", "a")], ["b", "a"]),  # order as sent
        ([(f"{NAME}[10]", "a"), (f"{NAME}[007]", "b")], ["a", "b"]),
        ([(NAME, "a"), (f"{NAME}[]", "b"), (f"{NAME}[5]", "c")], ["a", "b", "c"]),  # mixed
        ([(f"{NAME}[0]", "a"), (f"{NAME}[0]", "b")], ["a", "b"]),  # a repeated index: both
        ([(NAME, "")], [""]),  # empty values are check_texts' business
        # other parameters, including those whose name starts like this one
        ([("event_type_id", "x"), (f"{NAME}x", "y"), (f"{NAME}_2", "z"), ("count", "1")], []),
        ([("event_type_id", "x"), (NAME, "a"), ("customer_id", "c")], ["a"]),
    ],
)
def test_every_array_form_is_collected(pairs: list[tuple[str, str]], expected: list[str]) -> None:
    values, problems = items(*pairs)
    assert values == expected
    assert problems == []


@pytest.mark.parametrize(
    "key",
    [
        f"{NAME}[x]",
        f"{NAME}[-1]",
        f"{NAME}[1.5]",
        f"{NAME}[ 1]",
        f"{NAME}[٣]",  # ASCII digits only
        f"{NAME}[0][1]",
        f"{NAME}[][]",
        f"{NAME}[]x",
        f"{NAME}[",
        f"{NAME}[a]b",
    ],
)
def test_a_malformed_key_is_named_as_sent(key: str) -> None:
    values, problems = items((f"{NAME}[]", "ok"), (key, "v"), (NAME, "ok2"))
    assert values == ["ok", "ok2"]
    assert problems == [InvalidParam(key, "invalid_value_format", "v", "expected_array_key")]


def test_check_texts_checks_each_value_and_drops_repeats() -> None:
    problems: list[InvalidParam] = []
    raws = ["b", "a", "b", "", "x\x00", "y" * 11, "a"]
    assert check_texts(NAME, raws, 10, 1000, problems) == ("b", "a")
    assert [(p.name, p.reason, p.value) for p in problems] == [
        (NAME, "empty", ""),
        (NAME, "invalid_value_format", "x\x00"),
        (NAME, "not_allowed_value", "y" * 11),
    ]


@pytest.mark.parametrize(("sent", "too_many"), [(3, False), (4, True)])
def test_check_texts_counts_every_value_sent(sent: int, too_many: bool) -> None:
    problems: list[InvalidParam] = []
    assert check_texts(NAME, ["same"] * sent, 10, 3, problems) == ("same",)
    expected = [InvalidParam(NAME, "not_allowed_value", sent, "too_many_items", {"limit": 3})]
    assert problems == (expected if too_many else [])


def test_given_refuses_only_an_empty_value() -> None:
    problems: list[InvalidParam] = []
    assert given("p", None, problems) is None
    assert given("p", " ", problems) == " "
    assert given("p", "0", problems) == "0"
    assert problems == []
    assert given("p", "", problems) is None
    assert problems == [InvalidParam("p", "empty", "")]


def test_empty_numbers_and_booleans_are_empty_not_the_default_silently() -> None:
    problems: list[InvalidParam] = []
    assert parse_int("count", "", 100, 1, 1000, problems) == 100
    assert parse_bool("include_property_records", "", problems) is False
    assert [(p.name, p.reason) for p in problems] == [
        ("count", "empty"),
        ("include_property_records", "empty"),
    ]
