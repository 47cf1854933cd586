"""CareCloud's URLs work as they are: the API answers under /webservice/rest-api/... too
(WEBSERVICE_ALIAS), exactly as under /rest-api/..., with the same authentication, errors, HEAD,
404s, route labels in metrics and logs, and one entry per route in the OpenAPI document."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.settings import API_PREFIX, get_settings
from events_api.logins.service import create_app as create_external_app
from events_api.main import create_app
from tests.core.test_observability import access_lines, lines, scrape, value
from tests.fixtures.apps import Served, client, serving
from tests.fixtures.helpers import PURCHASE, basic, event_body

ALIAS = "/webservice" + API_PREFIX
UNKNOWN_ID = "ffffffffffffffffffffffffff"
__all__ = ["access_lines"]  # a fixture, used by name


@pytest.fixture
async def aliased(
    app: Served, credentials: tuple[str, str], catalog: None
) -> AsyncIterator[httpx.AsyncClient]:
    """`api`, but at CareCloud's base URL."""
    headers = {"Accept-Language": "en", **basic(*credentials)}
    async with client(app, headers, prefix=ALIAS) as authenticated:
        yield authenticated


@pytest.fixture
async def root(app: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app, {"Accept-Language": "en"}, prefix="") as at_root:
        yield at_root


async def family_paths(api: httpx.AsyncClient) -> list[str]:
    """A request of every GET route of the family (the catalog's first entries, one event)."""
    created = await api.post("/events", json=event_body(records=[]))
    event_id = created.json()["data"]["event_id"]
    group = (await api.get("/event-groups")).json()["data"]["event_groups"][0]["event_group_id"]
    prop = (await api.get("/event-properties")).json()["data"]["event_properties"][0]
    return [
        "/events?include_property_records=true",
        f"/events/{event_id}",
        f"/events/{event_id}/property-records",
        "/customers/85bc5819e09dab95437552ce79/events",
        "/event-groups",
        f"/event-groups/{group}",
        "/event-types?sort_direction=DESC",
        f"/event-types/{PURCHASE}",
        f"/event-types/{PURCHASE}/event-properties",
        "/event-properties",
        f"/event-properties/{prop['property_id']}",
        f"/events/{UNKNOWN_ID}",  # a 404 of the API, the same under both
    ]


async def test_every_get_route_answers_the_same_under_the_alias(
    api: httpx.AsyncClient, aliased: httpx.AsyncClient
) -> None:
    for path in await family_paths(api):
        direct, alias = await api.get(path), await aliased.get(path)
        assert (alias.status_code, alias.json()) == (direct.status_code, direct.json()), path
        head = await aliased.head(path)
        assert (head.status_code, head.content) == (direct.status_code, b""), path
        assert head.headers["content-length"] == str(len(direct.content)), path


async def test_writes_and_login_under_the_alias(
    aliased: httpx.AsyncClient, api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    created = await aliased.post("/events", json=event_body("via-alias"))
    assert created.status_code == 201, created.text
    event_id = created.json()["data"]["event_id"]
    assert (await api.get(f"/events/{event_id}")).json()["data"]["external_id"] == "via-alias"
    duplicate = await aliased.post("/events", json=event_body("via-alias"))
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["error_data"]["invalid_params"][0]["reason"] == (
        "relation_already_exists"
    )
    batch = await aliased.post("/events/batch", json={"events": [event_body("b1")]})
    assert (batch.status_code, batch.content) == (204, b"")
    async with engine.begin() as conn:
        external_app = await create_external_app(conn, "shop")
    logged_in = await aliased.post(
        "/users/actions/login",
        json={"user_external_application_id": external_app, "login": "nobody", "password": "x"},
    )
    assert logged_in.status_code == 403
    assert logged_in.json()["error"]["exception"] == "forbidden_exception"


async def test_bearer_login_and_its_token_under_the_alias(
    app: Served, engine: AsyncEngine, credentials: tuple[str, str], catalog: None
) -> None:
    async with engine.begin() as conn:
        external_app = await create_external_app(conn, "shop")
    async with client(app, {"Accept-Language": "en"}, prefix=ALIAS) as anon:
        login, password = credentials
        response = await anon.post(
            "/users/actions/login",
            json={
                "user_external_application_id": external_app,
                "login": login,
                "password": password,
            },
        )
        assert response.status_code == 200, response.text
        token = response.json()["data"]["bearer_token"]
        listed = await anon.get("/event-types", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert listed.json()["data"]["total_items"] > 0


async def test_no_credentials_is_401_under_the_alias(app: Served) -> None:
    async with client(app, {"Accept-Language": "en"}, prefix=ALIAS) as anon:
        response = await anon.get("/events")
        wrong = await anon.get("/events", headers=basic("tester", "wrong"))
    for refused in (response, wrong):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.json() == {
            "error": {
                "type": "about:blank",
                "exception": "unauthorized_exception",
                "title": "Unauthorized",
                "detail": "Invalid or missing credentials.",
                "error_data": {},
            }
        }


@pytest.mark.parametrize(
    "path",
    [
        f"{ALIAS}/nothing-here",
        f"{ALIAS}/events/",  # a trailing slash: 404, never a redirect
        ALIAS,
        "/webservice/docs",  # the alias is the API's only: not the docs, health or metrics
        "/webservice/openapi.json",
        "/webservice/health/live",
        "/webservice/metrics",
        "/webservice",
        "/webservicerest-api/enterprise-interface/v1.0/events",
    ],
)
async def test_unknown_urls_are_404_never_a_redirect(root: httpx.AsyncClient, path: str) -> None:
    response = await root.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json() == {
        "error": {
            "type": "about:blank",
            "exception": "not_found_exception",
            "title": "Not found",
            "detail": "The requested URL does not exist.",
            "error_data": {"resource_name": path, "resource_id": ""},
        }
    }


async def test_405_and_body_limits_hold_under_the_alias(aliased: httpx.AsyncClient) -> None:
    refused = await aliased.delete(f"/events/{UNKNOWN_ID}")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"
    assert refused.json()["error"]["error_data"] == {"http_method": "DELETE"}
    limit = get_settings().max_body_bytes
    big = b'{"events": [' + b" " * (limit + 1) + b"]}"
    too_large = await aliased.post("/events", content=big)
    assert too_large.status_code == 413
    batch = await aliased.post("/events/batch", content=big)  # the batch route's own limit
    assert batch.status_code == 204, batch.text


async def test_metrics_and_access_log_name_the_route_not_the_alias(
    aliased: httpx.AsyncClient, root: httpx.AsyncClient, access_lines: io.StringIO
) -> None:
    before = await scrape(root)
    assert (await aliased.get(f"/events/{UNKNOWN_ID}")).status_code == 404
    assert (await aliased.get("/nothing-here")).status_code == 404
    after = await scrape(root)
    template = API_PREFIX + "/events/{event_id}"
    labels = {"handler": template, "method": "GET", "status": "404"}
    count = "http_requests_total"
    assert value(after, count, **labels) - value(before, count, **labels) == 1
    assert "/webservice" not in after
    found, unmatched = lines(access_lines)[1:3]  # between the two scrapes
    assert (found["path"], found["route_matched"]) == (template, True)
    assert (unmatched["path"], unmatched["route_matched"]) == (f"{ALIAS}/nothing-here", False)


async def test_openapi_lists_each_route_once(root: httpx.AsyncClient) -> None:
    paths = (await root.get("/openapi.json")).json()["paths"]
    assert API_PREFIX + "/events" in paths
    assert not [path for path in paths if path.startswith("/webservice")]


async def test_the_alias_can_be_switched_off(
    engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    settings = get_settings().model_copy(update={"webservice_alias": False})
    async with serving(create_app(settings, engine)) as served:
        async with client(served, basic(*credentials), prefix=ALIAS) as off:
            refused = await off.get("/events")
            assert refused.status_code == 404
            assert refused.json()["error"]["exception"] == "not_found_exception"
        async with client(served, basic(*credentials)) as direct:
            assert (await direct.get("/events")).status_code == 200


async def test_behind_a_proxy_that_strips_webservice_nothing_changes(
    app: Served, credentials: tuple[str, str]
) -> None:
    """nginx (deploy/nginx) strips /webservice and says so in X-Forwarded-Prefix."""
    headers = {"X-Forwarded-Prefix": "/webservice", **basic(*credentials)}
    async with client(app, headers) as proxied:
        assert (await proxied.get("/events")).status_code == 200
    async with client(app, headers, prefix="") as proxied_root:
        docs = await proxied_root.get("/openapi.json")
    assert docs.json()["servers"] == [{"url": "/webservice"}]
