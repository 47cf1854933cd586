"""Errors users see: 401, 404, 405, 413, 500/503, languages, all in CareCloud's error body."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.db import create_engine
from events_api.core.settings import API_PREFIX, get_settings
from events_api.main import create_app
from tests.fixtures.apps import serving
from tests.fixtures.helpers import basic, create, event_body, reasons

UNKNOWN_ID = "0123456789abcdef0123456789"


def error_of(response: httpx.Response, status: int, exception: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert set(error) == {"type", "exception", "title", "detail", "error_data"}
    assert error["type"] == "about:blank"
    assert error["exception"] == exception
    assert error["title"]
    assert error["detail"]
    assert "Traceback" not in response.text
    return error


# -- 401 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"tester:").decode(),
        "Basic " + base64.b64encode(b":token").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
@pytest.mark.usefixtures("credentials")
async def test_missing_or_malformed_credentials(
    anon: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await anon.get("/events", headers=headers)
    error = error_of(response, 401, "unauthorized_exception")
    assert error["error_data"] == {}
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_login_and_wrong_token_fail_alike(
    anon: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    login, token = credentials
    wrong_token = await anon.get("/events", headers=basic(login, token + "x"))
    unknown_login = await anon.get("/events", headers=basic("nobody", token))
    assert wrong_token.status_code == unknown_login.status_code == 401
    assert wrong_token.json() == unknown_login.json()
    assert (await anon.get("/events", headers=basic(login, token))).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/events"),
        ("GET", "/events"),
        ("GET", f"/events/{UNKNOWN_ID}"),
        ("GET", f"/events/{UNKNOWN_ID}/property-records"),
    ],
)
async def test_every_api_route_needs_credentials(
    anon: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anon.request(method, path, content=b"{not json")
    error_of(response, 401, "unauthorized_exception")


# -- 404 / 405 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("event_id", [UNKNOWN_ID, "not-an-id", "x" * 300])
async def test_unknown_event_is_404_naming_the_resource(
    api: httpx.AsyncClient, event_id: str
) -> None:
    for path in (f"/events/{event_id}", f"/events/{event_id}/property-records"):
        error = error_of(await api.get(path), 404, "not_found_exception")
        assert error["error_data"] == {"resource_name": "events", "resource_id": event_id}


async def test_unknown_route_is_404_in_the_error_body(api: httpx.AsyncClient) -> None:
    error = error_of(await api.get("/no-such-resource"), 404, "not_found_exception")
    assert set(error["error_data"]) == {"resource_name", "resource_id"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/events/{UNKNOWN_ID}"),
        ("PUT", f"/events/{UNKNOWN_ID}"),
        ("PATCH", f"/events/{UNKNOWN_ID}"),
        ("DELETE", "/events"),
        ("PUT", "/events"),
        ("POST", f"/events/{UNKNOWN_ID}/property-records"),
    ],
)
async def test_unsupported_method_is_405(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path)
    error = error_of(response, 405, "method_not_allowed_exception")
    assert error["error_data"] == {"http_method": method}
    assert "GET" in response.headers["allow"]


# -- 413 -----------------------------------------------------------------------------------------


async def test_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    limit = get_settings().max_body_bytes
    body = b'{"event": {"data": "' + b"x" * limit + b'"}}'
    error = error_of(await api.post("/events", content=body), 413, "payload_too_large_exception")
    assert str(limit) in error["detail"]
    assert (await api.get("/events")).json()["data"]["total_items"] == 0


async def test_streamed_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    response = await api.post("/events", content=chunks())
    error_of(response, 413, "payload_too_large_exception")


async def test_body_just_under_the_limit_is_read(api: httpx.AsyncClient) -> None:
    response = await api.post("/events", content=b" " * 1000 + b'{"event": {}}')
    assert response.status_code == 400  # parsed and validated, not refused for size
    assert ("event_type_id", "required") in reasons(response)


# -- languages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "title"),
    [
        (None, "Chybný požadavek"),  # CareCloud's default header: cs, en-gb;q=0.8
        ("cs, en-gb;q=0.8", "Chybný požadavek"),
        ("en", "Bad request"),
        ("en-GB", "Bad request"),
        ("cs;q=0.1, en;q=0.9", "Bad request"),
        ("de, cs;q=0.5", "Chybný požadavek"),
        ("de", "Bad request"),
        ("*", "Bad request"),
    ],
)
@pytest.mark.usefixtures("catalog")
async def test_error_texts_follow_accept_language(
    app: Any, credentials: tuple[str, str], accept_language: str | None, title: str
) -> None:
    headers = basic(*credentials)
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(f"{API_PREFIX}/events", json={"event": {}}, headers=headers)
    error = error_of(response, 400, "bad_request_exception")
    assert error["title"] == title
    messages = {p["message"] for p in error["error_data"]["invalid_params"]}
    assert ("Parametr je povinný." in messages) == (title == "Chybný požadavek")


# -- 500 / 503 ------------------------------------------------------------------------------------


async def test_database_outage_is_503_with_retry_after(credentials: tuple[str, str]) -> None:
    settings = get_settings().model_copy(update={"db_connect_timeout": 1, "db_pool_timeout": 1})
    dead = create_engine(settings, "postgresql+psycopg://postgres@127.0.0.1:9/none")
    app = create_app(settings, dead)
    try:
        async with serving(app) as served:
            transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for method, path, body in (
                    ("GET", "/events", None),
                    ("POST", "/events", event_body()),
                    ("GET", f"/events/{UNKNOWN_ID}", None),
                ):
                    response = await client.request(
                        method,
                        API_PREFIX + path,
                        json=body,
                        headers={**basic(*credentials), "Accept-Language": "en"},
                    )
                    error = error_of(response, 503, "service_unavailable_exception")
                    assert error["error_data"] == {}
                    assert int(response.headers["retry-after"]) >= 1
                    assert "127.0.0.1" not in response.text
                ready = await client.get("/health/ready")
                assert ready.status_code == 503
    finally:
        await dead.dispose()


async def test_health_endpoints_need_no_credentials(anon: httpx.AsyncClient) -> None:
    base = str(anon.base_url).removesuffix(API_PREFIX + "/").removesuffix(API_PREFIX)
    assert (await anon.get(f"{base}/health/live")).json() == {"status": "ok"}
    assert (await anon.get(f"{base}/health/ready")).status_code == 200


async def test_created_event_survives_an_error_on_the_next_request(api: httpx.AsyncClient) -> None:
    """An error in one request does not disturb the connection pool for the next ones."""
    await create(api, "before")
    assert (await api.post("/events", content=b"{")).status_code == 400
    assert (await api.get(f"/events/{UNKNOWN_ID}")).status_code == 404
    assert (await api.get("/events")).json()["data"]["total_items"] == 1


async def test_client_hanging_up_mid_body_is_not_an_error(
    app: Any, credentials: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"event": {', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{API_PREFIX}/events",
        "raw_path": f"{API_PREFIX}/events".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            *((k.lower().encode(), v.encode()) for k, v in basic(*credentials).items()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
        "state": {},
    }
    with caplog.at_level("ERROR"):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_fault_of_the_server_is_a_500_not_blamed_on_the_client(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A stored value the response model refuses is the server's problem, never a 400."""
    event_id = await create(api, "broken")
    async with engine.begin() as conn:  # `data` must be a string, strings or an object
        await conn.execute(
            text("UPDATE events SET data = '[1, 2]'::json WHERE event_id = :id"), {"id": event_id}
        )
    response = await api.get(f"/events/{event_id}")
    error = error_of(response, 500, "internal_server_error_exception")
    assert error["error_data"] == {}
