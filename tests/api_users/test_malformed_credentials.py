"""Malformed credentials: always a 401, one log line at most, no traceback, no query."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from tests.fixtures.helpers import basic


@pytest.mark.parametrize(
    "header",
    [
        b"Basic \xe9\xe9",
        b"Basic " + base64.b64encode("é:x".encode("latin-1")),
        b"Basic \xff\xfe",
        b"Bearer \xe9",
        b"Basic",
        b"Basic " + base64.b64encode(b"\xff\xfe:token"),
    ],
)
async def test_non_ascii_or_undecodable_credentials_are_a_401(
    anon: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, header: bytes
) -> None:
    caplog.set_level(logging.INFO)
    response = await anon.get("/events", headers={b"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["exception"] == "unauthorized_exception"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("login", ["a\x00b", "white space", "semi;colon", "ä", "x" * 256])
async def test_a_login_that_cannot_exist_is_a_401_before_any_query(
    anon: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, login: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    response = await anon.get("/events", headers=basic(login, "token"))
    assert response.status_code == 401
    assert response.json()["error"]["exception"] == "unauthorized_exception"
    # nothing of it reached PostgreSQL (SQLAlchemy logs every statement at INFO when asked)
    assert "api_users" not in caplog.text
