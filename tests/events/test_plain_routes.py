"""The hot reads served as plain routes (core/plain_routes.py: GET /events/{id} and its
/property-records) answer exactly as routes served through FastAPI's dependencies:
authentication, throttling, HEAD, request ids, the access log, query and header parameters."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.plain_routes import plain_route
from events_api.core.settings import get_settings
from events_api.main import create_app
from tests.fixtures.apps import Served, client, serving
from tests.fixtures.helpers import basic, create

HOT = ("/events/{id}", "/events/{id}/property-records")


@pytest.fixture
async def limited(engine: AsyncEngine) -> AsyncIterator[Served]:
    """The app allowing 3 failed logins per address per minute."""
    settings = get_settings().model_copy(
        update={"auth_failures_per_address": 3, "auth_failure_window_seconds": 60.0}
    )
    async with serving(create_app(settings, engine)) as app:
        yield app


@pytest.mark.parametrize("path", HOT)
async def test_credentials_are_checked_as_on_every_route(
    api: httpx.AsyncClient, anon: httpx.AsyncClient, path: str
) -> None:
    url = path.format(id=await create(api))
    assert (await api.get(url)).status_code == 200
    reference = await anon.get("/events")  # served through require_api_user
    for headers in ({}, basic("tester", "wrong"), basic("nobody", "x"), {"Authorization": "Basic"}):
        refused = await anon.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.json() == reference.json()
        assert refused.headers.get("www-authenticate") == reference.headers.get("www-authenticate")


@pytest.mark.parametrize("path", HOT)
async def test_failures_on_a_hot_read_are_throttled_with_the_others(
    limited: Served, credentials: tuple[str, str], path: str
) -> None:
    url = path.format(id="0123456789abcdef0123456789")
    async with client(limited, {"Accept-Language": "en"}, address="127.0.9.1") as attacker:
        for n in range(3):
            assert (await attacker.get(url, headers=basic(f"guess-{n}", "x"))).status_code == 401
        for blocked in (url, "/events"):  # one limit for the address, whichever route failed
            refused = await attacker.get(blocked, headers=basic(*credentials))
            assert refused.status_code == 429
            assert refused.json()["error"]["exception"] == "too_many_requests_exception"
            assert int(refused.headers["retry-after"]) >= 1
    async with client(limited, {"Accept-Language": "en"}, address="127.0.9.2") as user:
        found = await user.get(url, headers=basic(*credentials))
        assert found.status_code == 404  # other addresses unaffected: authenticated, no event


@pytest.mark.parametrize("path", HOT)
async def test_head_request_id_and_access_log(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    url = path.format(id=await create(api))
    got = await api.get(url, headers={"X-Request-ID": "trace-1"})
    assert got.headers["x-request-id"] == "trace-1"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.content)["data"]
    caplog.set_level(logging.INFO, logger="events_api.access")
    head = await api.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert len(head.headers["x-request-id"]) == 32  # made for it
    (line,) = [r for r in caplog.records if r.name == "events_api.access"]
    logged: Any = line
    # counted and logged as its GET (core/http_rules.py HeadAsGet)
    assert (logged.method, logged.status, logged.api_user) == ("GET", 200, "tester")
    assert logged.path == "/rest-api/enterprise-interface/v1.0" + path.replace("{id}", "{event_id}")


async def guarded() -> None:
    return None


async def endpoint(request: Request, name: str) -> Response:
    return Response(name)


def test_a_dependency_without_a_guard_is_refused_when_the_route_is_made() -> None:
    router = APIRouter(dependencies=[Depends(guarded)])
    with pytest.raises(TypeError, match="has no guard"):
        router.add_api_route("/{name}", endpoint, route_class_override=plain_route({}))


async def takes_a_query(request: Request, name: str, q: str) -> Response:
    return Response(name + q)


async def takes_an_int(request: Request, name: int) -> Response:
    return Response(str(name))


@pytest.mark.parametrize("function", [takes_a_query, takes_an_int])
def test_parameters_a_plain_route_cannot_pass_are_refused(function: Any) -> None:
    router = APIRouter()
    with pytest.raises(TypeError, match="plain route|not a str"):
        router.add_api_route("/{name}", function, route_class_override=plain_route({}))


async def shout(x_word: Annotated[str, Header()] = "") -> str:
    return x_word.upper()


async def shout_plainly(request: Request) -> str:
    return request.headers.get("x-word", "").upper() + "!"


async def echo(request: Request, name: str, word: Annotated[str, Depends(shout)]) -> Response:
    return Response(f"{name} {word}")


async def test_an_endpoint_dependency_receives_its_plain_equivalent_s_value() -> None:
    router = APIRouter(dependencies=[Depends(guarded)])
    seen: list[str] = []

    async def guard(request: Request) -> None:
        seen.append(request.url.path)

    plain = plain_route({guarded: guard, shout: shout_plainly})
    router.add_api_route("/{name}", echo, route_class_override=plain)
    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as plain_client:
        answer = await plain_client.get("/x", headers={"X-Word": "hi"})
    assert answer.text == "x HI!"  # the equivalent ran, not the dependency
    assert seen == ["/x"]
    documented = app.openapi()["paths"]["/{name}"]["get"]["parameters"]
    assert {(p["name"], p["in"]) for p in documented} == {("name", "path"), ("x-word", "header")}
