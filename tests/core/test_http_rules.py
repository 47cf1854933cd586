"""HTTP rules of every route (core/http_rules.py, main.py): JSON bodies only (415), HEAD as GET,
and no redirect built from the client's Host header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from events_api.core.settings import API_PREFIX
from tests.fixtures.helpers import basic, event_body, reasons

BODY = httpx.Request("POST", "http://t", json=event_body()).content


@pytest.fixture
async def raw(
    app: Any, credentials: tuple[str, str], catalog: None
) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client that sends no Content-Type unless told."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Accept-Language": "en", **basic(*credentials)}
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://testserver{API_PREFIX}", headers=headers
    ) as client:
        yield client


def error_of(response: httpx.Response, status: int, exception: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert "x-request-id" in response.headers
    error: dict[str, Any] = response.json()["error"]
    assert error["exception"] == exception
    return error


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/problem+json",
        "application/json; charset=latin-1",
        "application/jsonx",
        "",
    ],
)
async def test_a_body_not_declared_json_is_415_and_creates_nothing(
    raw: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await raw.post("/events", content=BODY, headers=headers)
    error = error_of(response, 415, "unsupported_media_type_exception")
    assert "application/json" in error["detail"]
    assert error["error_data"] == {}
    assert (await raw.get("/events")).json()["data"]["total_items"] == 0


async def test_the_415_comes_before_authentication(app: Any) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            f"{API_PREFIX}/events", content=BODY, headers={"Content-Type": "text/plain"}
        )
    error_of(response, 415, "unsupported_media_type_exception")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf8"',
    ],
)
async def test_a_json_body_is_accepted_with_or_without_charset(
    raw: httpx.AsyncClient, content_type: str
) -> None:
    response = await raw.post("/events", content=BODY, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


async def test_a_post_without_a_body_needs_no_content_type(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/events")
    assert response.status_code == 400  # the missing body is reported, not its media type
    assert response.json()["error"]["exception"] == "bad_request_exception"
    assert reasons(response) == {("body", "invalid_value_format")}


# -- HEAD -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/events",
        "/events?count=1",
        "/events/{event_id}",
        "/events/{event_id}/property-records",
        "/events/ffffffffffffffffffffffffff",
    ],
)
async def test_head_answers_like_get_without_a_body(raw: httpx.AsyncClient, path: str) -> None:
    created = await raw.post("/events", json=event_body())
    path = path.format(event_id=created.json()["data"]["event_id"])
    get = await raw.get(path)
    head = await raw.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


async def test_head_on_health_and_unknown_routes(app: Any) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.head("/health/live")).status_code == 200
        missing = await client.head(f"{API_PREFIX}/nothing-here")
    assert missing.status_code == 404
    assert missing.content == b""


async def test_head_needs_credentials_like_get(anon: httpx.AsyncClient) -> None:
    response = await anon.head("/events")
    assert response.status_code == 401
    assert response.content == b""


async def test_405_lists_head_where_get_is_allowed(raw: httpx.AsyncClient) -> None:
    response = await raw.delete("/events")
    error_of(response, 405, "method_not_allowed_exception")
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "HEAD", "POST"} <= allowed


# -- trailing slash -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/events/", "/events/ffffffffffffffffffffffffff/"])
async def test_a_trailing_slash_is_404_never_a_redirect_to_the_host_header(
    raw: httpx.AsyncClient, path: str
) -> None:
    response = await raw.get(path, headers={"Host": "evil.example"})
    assert "location" not in response.headers
    error = error_of(response, 404, "not_found_exception")
    assert "evil.example" not in response.text
    assert error["error_data"]["resource_name"] == API_PREFIX + path
