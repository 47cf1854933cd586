"""Behind a reverse proxy, in-process: X-Forwarded-* only from trusted proxies, and a path prefix.

The same app that serves the API gets one extra route that shows what a handler sees (client,
scheme, URLs). test_nginx_proxy.py repeats the main points through a real nginx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.proxy import TrustedProxies
from events_api.core.settings import API_PREFIX, Settings, get_settings
from events_api.main import create_app
from tests.fixtures.apps import serving

PROXY = "127.0.0.1"
STRANGER = "198.51.100.7"

Client = Callable[..., Any]


def make_app(engine: AsyncEngine, **overrides: Any) -> Any:
    settings = get_settings().model_copy(update=overrides)
    app = create_app(settings, engine)

    async def echo(request: Request) -> dict[str, Any]:
        return {
            "client": request.client.host if request.client else None,
            "scheme": request.url.scheme,
            "url": str(request.url),
            "root_path": request.scope.get("root_path"),
            "docs": str(request.url_for("swagger_ui_html")),
        }

    app.add_api_route("/echo", echo)
    return app


@asynccontextmanager
async def client_of(app: Any, peer: str, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api:8000", **kwargs) as c:
        yield c


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Prefix": "/webservice",
}


async def test_forwarded_headers_from_a_trusted_proxy_are_applied(engine: AsyncEngine) -> None:
    app = make_app(engine)  # FORWARDED_ALLOW_IPS defaults to 127.0.0.1
    async with client_of(app, PROXY) as client:
        seen = (await client.get("/echo", headers=FORWARDED)).json()
    assert seen["client"] == "203.0.113.9"
    assert seen["scheme"] == "https"
    assert seen["root_path"] == "/webservice"
    assert seen["url"] == "https://api:8000/webservice/echo"
    assert seen["docs"] == "https://api:8000/webservice/docs"


async def test_forwarded_headers_from_anyone_else_are_ignored(engine: AsyncEngine) -> None:
    app = make_app(engine)
    async with client_of(app, STRANGER) as client:
        seen = (await client.get("/echo", headers=FORWARDED)).json()
        schema = (await client.get("/openapi.json", headers=FORWARDED)).json()
        docs = (await client.get("/docs", headers=FORWARDED)).text
    assert seen["client"] == STRANGER
    assert seen["scheme"] == "http"
    assert seen["root_path"] == ""
    assert seen["url"] == "http://api:8000/echo"
    assert "servers" not in schema
    assert "'/openapi.json'" in docs
    assert "/webservice" not in docs


async def test_trusted_networks_and_star(engine: AsyncEngine) -> None:
    app = make_app(engine, forwarded_allow_ips="10.0.0.0/8, 2001:db8::/32")
    async with client_of(app, "10.20.30.40") as client:
        assert (await client.get("/echo", headers=FORWARDED)).json()["client"] == "203.0.113.9"
    async with client_of(app, PROXY) as client:  # loopback is no longer trusted
        assert (await client.get("/echo", headers=FORWARDED)).json()["client"] == PROXY
    app = make_app(engine, forwarded_allow_ips="*")
    async with client_of(app, STRANGER) as client:
        assert (await client.get("/echo", headers=FORWARDED)).json()["client"] == "203.0.113.9"


async def test_openapi_and_docs_under_the_forwarded_prefix(engine: AsyncEngine) -> None:
    app = make_app(engine)
    headers = {"X-Forwarded-Prefix": "/webservice"}
    async with client_of(app, PROXY) as client:
        schema = (await client.get("/openapi.json", headers=headers)).json()
        docs = (await client.get("/docs", headers=headers)).text
        direct = (await client.get("/openapi.json")).json()
    assert schema["servers"] == [{"url": "/webservice"}]
    assert API_PREFIX + "/events" in schema["paths"]
    assert "'/webservice/openapi.json'" in docs
    assert "servers" not in direct  # the same server, reached directly, has no prefix


@pytest.mark.parametrize("path", ["/openapi.json", "/webservice/openapi.json"])
async def test_root_path_setting(engine: AsyncEngine, path: str) -> None:
    """ROOT_PATH: for proxies that strip the prefix, and for those that forward it as is."""
    app = make_app(engine, root_path="/webservice")
    async with client_of(app, STRANGER) as client:
        response = await client.get(path)
        docs = (await client.get(path.replace("openapi.json", "docs"))).text
        health = await client.get(path.replace("openapi.json", "health/live"))
    assert response.status_code == 200
    assert response.json()["servers"] == [{"url": "/webservice"}]
    assert "'/webservice/openapi.json'" in docs
    assert health.status_code == 200


async def test_a_malformed_prefix_is_ignored(engine: AsyncEngine) -> None:
    app = make_app(engine)
    async with client_of(app, PROXY) as client:
        for bad in ("webservice", "/web service", "/a?b", "//evil.example"):
            seen = (await client.get("/echo", headers={"X-Forwarded-Prefix": bad})).json()
            assert seen["root_path"] == "", bad


async def test_api_routes_work_under_a_prefix(
    engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    app = make_app(engine)
    async with (
        serving(app) as served,
        client_of(served, PROXY, auth=credentials) as client,
    ):
        stripped = await client.get(
            API_PREFIX + "/events", headers={"X-Forwarded-Prefix": "/webservice"}
        )
        missing = await client.get(
            API_PREFIX + "/events/0123456789abcdef0123456789",
            headers={"X-Forwarded-Prefix": "/webservice"},
        )
    assert stripped.status_code == 200, stripped.text
    assert missing.status_code == 404
    assert missing.json()["error"]["error_data"]["resource_name"] == "events"


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        (" 10.0.0.0/8 , ::1 ", "10.0.0.0/8,::1"),
        ("*", "*"),
        ("172.30.57.10", "172.30.57.10"),
    ],
)
def test_forwarded_allow_ips_accepted(given: str, expected: str) -> None:
    assert Settings(forwarded_allow_ips=given).forwarded_allow_ips == expected


@pytest.mark.parametrize("given", ["proxy.example", "10.0.0.0/33", "1.2.3", ","])
def test_forwarded_allow_ips_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="forwarded_allow_ips"):
        Settings(forwarded_allow_ips=given)


@pytest.mark.parametrize(
    ("given", "expected"), [("", ""), ("/webservice/", "/webservice"), ("/a/b-c", "/a/b-c")]
)
def test_root_path_accepted(given: str, expected: str) -> None:
    assert Settings(root_path=given).root_path == expected


@pytest.mark.parametrize("given", ["webservice", "/web service", "/a?b", "/a//b"])
def test_root_path_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="root_path"):
        Settings(root_path=given)


def test_trusted_proxies_membership() -> None:
    trusted = TrustedProxies("127.0.0.1,10.0.0.0/8,::1")
    assert "127.0.0.1" in trusted
    assert "10.255.0.1" in trusted
    assert "::1" in trusted
    assert "11.0.0.1" not in trusted
    assert "not-an-ip" not in trusted
    assert None not in trusted
    assert "anything" in TrustedProxies("*")
