"""The quick search for credential-like words finds exactly what the regular expression finds."""

from __future__ import annotations

import pytest

from events_api.core.logs import _MAYBE_SECRET, maybe_secret, redact

LINES = [
    '{"level": "INFO", "logger": "events_api.access", "message": "GET /events/{event_id} 200"}',
    "Authorization: BASIC dGVzdGVyOnNlY3JldHRva2Vu",
    "header BeArEr abcdefghijklmnop",
    "postgresql+psycopg://events:s3cr3t@db:5432/events",
    "PassWord=hunter2",
    "tok en and sec ret and pass word",
    "ſecret=hidden-value",  # long s: case-folds to "s" in the regular expression
    "basıc dGVzdGVyOnNlY3JldHRva2Vu",  # dotless i
    "K-token: x",
    "ünïcödé but nothing secret-like",
    "",
]


@pytest.mark.parametrize("line", LINES)
def test_maybe_secret_agrees_with_the_regular_expression(line: str) -> None:
    assert maybe_secret(line) is (_MAYBE_SECRET.search(line) is not None)


def test_a_non_ascii_line_is_still_masked() -> None:
    assert redact("ſecret=hidden-value") == "ſecret=***"
