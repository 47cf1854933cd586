"""Request ids, the access log, /metrics and readiness, in-process against the real app.

The metrics are per process and shared by every app a process makes, so the tests compare
before and after rather than absolute values. The multi-worker side (multiprocess mode) is
tested with a real server in test_nginx_proxy.py.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_correlation_id import CorrelationIdFilter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.db import create_engine
from events_api.core.logs import JsonLogFormatter, logging_config, redact
from events_api.core.observability import ACCESS_LOGGER
from events_api.core.settings import API_PREFIX, get_settings
from events_api.main import create_app
from tests.fixtures.apps import serving
from tests.fixtures.helpers import basic, event_body, fresh_database

EVENTS = API_PREFIX + "/events"
EVENT = API_PREFIX + "/events/{event_id}"
UNKNOWN_ID = "0123456789abcdef0123456789"


# --- helpers -------------------------------------------------------------------------------


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    return sum(v for n, lbls, v in samples(text) if n == name and labels.items() <= lbls.items())


@pytest.fixture
async def root(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client at the server root (where /metrics and /health live), without credentials."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def scrape(root: httpx.AsyncClient) -> str:
    response = await root.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """What the access log writes, formatted as the server formats it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    config = logging_config(get_settings())["formatters"]["json"]
    handler.setFormatter(
        JsonLogFormatter(
            config["fmt"],
            timestamp=config["timestamp"],
            rename_fields=config["rename_fields"],
            reserved_attrs=config["reserved_attrs"],
        )
    )
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# --- request ids ---------------------------------------------------------------------------


async def test_request_id_is_made_when_missing(anon: httpx.AsyncClient) -> None:
    first = await anon.get("/events")
    second = await anon.get("/events")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "given",
    [
        "3f1c1d9e-6a57-4d0e-9b8e-1b7f3c2a9d10",
        "0a8c5c1c6b6e4f4e8f3c6d7f9b1a2c3d",  # nginx's $request_id
        "client-req_42.a:b@c",
    ],
)
async def test_well_formed_request_id_is_echoed(anon: httpx.AsyncClient, given: str) -> None:
    response = await anon.get("/events", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize("given", ["has space", "x" * 129, 'quote"d', "new\\nline", "é"])
async def test_malformed_request_id_is_replaced(anon: httpx.AsyncClient, given: str) -> None:
    response = await anon.get("/events", headers={b"X-Request-ID": given.encode("utf-8")})
    assert response.headers["x-request-id"] != given
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_every_error_carries_the_request_id(
    engine: AsyncEngine, anon: httpx.AsyncClient, root: httpx.AsyncClient
) -> None:
    headers = {"X-Request-ID": "rid-errors"}
    responses = [
        await anon.get("/events", headers=headers),  # 401
        await root.get("/no/such/url", headers=headers),  # 404
        await anon.delete(f"/events/{UNKNOWN_ID}", headers=headers),  # 405
        await anon.post("/events", content=b"x" * 2_000_000, headers=headers),  # 413
    ]
    assert [r.status_code for r in responses] == [401, 404, 405, 413]

    # a bug (500) is answered outside the routing stack, and still carries it
    app = create_app(get_settings(), engine)

    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        responses.append(await client.get("/boom", headers=headers))
    assert responses[-1].status_code == 500
    assert responses[-1].json()["error"]["exception"] == "internal_server_error_exception"
    for response in responses:
        assert response.headers["x-request-id"] == "rid-errors", response.status_code


# --- access log ----------------------------------------------------------------------------


async def test_one_json_line_per_request_with_route_template(
    api: httpx.AsyncClient, access_lines: io.StringIO
) -> None:
    created = await api.post("/events", json=event_body(), headers={"X-Request-ID": "rid-1"})
    assert created.status_code == 201
    event_id = created.json()["data"]["event_id"]
    assert (await api.get(f"/events/{event_id}", headers={"X-Request-ID": "rid-2"})).is_success
    assert (await api.get(f"/events/{UNKNOWN_ID}")).status_code == 404

    logged = lines(access_lines)
    assert len(logged) == 3, logged
    post, get, missing = logged
    assert post["method"] == "POST"
    assert post["path"] == EVENTS
    assert post["status"] == 201
    assert post["request_id"] == "rid-1"
    assert get["path"] == EVENT  # the template, not the id
    assert event_id not in json.dumps(get)
    assert get["request_id"] == "rid-2"
    assert missing["status"] == 404
    assert missing["path"] == EVENT
    assert re.fullmatch(r"[0-9a-f]{32}", missing["request_id"])
    for line in logged:
        assert line["logger"] == ACCESS_LOGGER
        assert line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
        assert line["api_user"] == "tester"
        assert line["route_matched"] is True
        assert "time" in line


async def test_unmatched_urls_are_logged_by_path(
    root: httpx.AsyncClient, access_lines: io.StringIO
) -> None:
    assert (await root.get("/nothing/here")).status_code == 404
    (line,) = lines(access_lines)
    assert line["route_matched"] is False
    assert line["path"] == "/nothing/here"
    assert line["status"] == 404


async def test_access_log_never_holds_credentials(
    anon: httpx.AsyncClient, credentials: tuple[str, str], access_lines: io.StringIO
) -> None:
    login, token = credentials
    auth = basic(login, token)
    wrong = basic(login, "not-the-token-" + "x" * 30)
    await anon.get("/events?password=hunter2&token=abc123", headers=auth)
    await anon.get("/events", headers=wrong)
    await anon.get("/events", headers={"Authorization": "Bearer " + "y" * 40})
    text = access_lines.getvalue()
    assert len(lines(access_lines)) == 3
    for secret in (token, auth["Authorization"], wrong["Authorization"], "hunter2", "y" * 40):
        assert secret not in text
    assert "authorization" not in text.lower()
    assert "password" not in text


def test_redact_masks_what_looks_like_a_credential() -> None:
    assert (
        redact("connect postgresql+psycopg://events:s3cr3t@db:5432/events failed")
        == "connect postgresql+psycopg://events:***@db:5432/events failed"
    )
    assert redact("Authorization: Basic dGVzdGVyOnNlY3JldHRva2Vu") == "Authorization: Basic ***"
    assert redact("header Bearer abcdefghijklmnop") == "header Bearer ***"
    assert redact('{"password": "hunter2", "token=abc"}') == '{"password": "***", "token=***"}'
    assert redact("GET /events 200 in 3 ms") == "GET /events 200 in 3 ms"


def test_json_formatter_masks_tracebacks_too() -> None:
    formatter = JsonLogFormatter("%(levelname)s %(name)s %(message)s")
    try:
        raise RuntimeError("could not connect to postgresql://u:pw123@h/db")
    except RuntimeError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (exc,), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    line = formatter.format(record)
    assert "pw123" not in line
    assert json.loads(line)["message"] == "failed: could not connect to postgresql://u:***@h/db"


# --- metrics -------------------------------------------------------------------------------


async def test_metrics_count_and_time_requests_per_route_and_status(
    api: httpx.AsyncClient, root: httpx.AsyncClient
) -> None:
    labels = {"handler": EVENT, "method": "GET", "status": "404"}
    before = await scrape(root)
    for _ in range(3):
        assert (await api.get(f"/events/{UNKNOWN_ID}")).status_code == 404
    assert (await api.get("/events")).status_code == 200
    after = await scrape(root)

    def delta(name: str, **lbls: str) -> float:
        return value(after, name, **lbls) - value(before, name, **lbls)

    assert delta("http_requests_total", **labels) == 3
    assert delta("http_request_duration_seconds_count", **labels) == 3
    assert delta("http_request_duration_seconds_sum", **labels) > 0
    assert delta("http_request_duration_seconds_bucket", le="+Inf", **labels) == 3
    assert delta("http_requests_total", handler=EVENTS, method="GET", status="200") == 1
    # templates, never concrete ids
    assert UNKNOWN_ID not in after


async def test_events_created_counter(api: httpx.AsyncClient, root: httpx.AsyncClient) -> None:
    before = value(await scrape(root), "events_api_events_created_total")
    assert (await api.post("/events", json=event_body("a"))).status_code == 201
    assert (await api.post("/events", json=event_body("b"))).status_code == 201
    assert (await api.post("/events", json=event_body("a"))).status_code == 400  # duplicate
    assert (await api.post("/events", json={})).status_code == 400
    after = value(await scrape(root), "events_api_events_created_total")
    assert after - before == 2


async def test_db_pool_gauges(api: httpx.AsyncClient, root: httpx.AsyncClient) -> None:
    assert (await api.get("/events")).status_code == 200
    text = await scrape(root)
    assert value(text, "events_api_db_pool_size") >= get_settings().db_pool_size
    # nothing is held between requests (the /metrics request itself holds no connection)
    idle = value(text, "events_api_db_pool_checked_out")
    assert (await api.get("/events")).status_code == 200
    assert value(await scrape(root), "events_api_db_pool_checked_out") == idle


async def test_metrics_and_health_need_no_credentials(
    root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    assert (await anon.get("/events")).status_code == 401
    for path in ("/metrics", "/health/live", "/health/ready"):
        response = await root.get(path)
        assert response.status_code == 200, path
    schema = (await root.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_metrics_can_be_switched_off(engine: AsyncEngine) -> None:
    settings = get_settings().model_copy(update={"metrics_enabled": False})
    app = create_app(settings, engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 404


# --- readiness -----------------------------------------------------------------------------


async def test_ready_when_the_schema_is_at_head(root: httpx.AsyncClient) -> None:
    response = await root.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok"},
        "database_role": "primary",
    }
    assert (await root.get("/health/live")).json() == {"status": "ok"}


async def _ready_of(url: str) -> httpx.Response:
    settings = get_settings().model_copy(update={"db_connect_timeout": 2, "db_pool_timeout": 2})
    engine = create_engine(settings, url)
    app: Any = create_app(settings, engine)
    try:
        async with serving(app) as served:
            transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                live = await client.get("/health/live")
                assert live.status_code == 200  # alive all the same
                return await client.get("/health/ready")
    finally:
        await engine.dispose()


async def test_not_ready_on_an_unmigrated_database(server_url: str) -> None:
    with fresh_database(server_url, "events_api_unmigrated") as url:
        response = await _ready_of(url)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "migrations": "not migrated"}


async def test_not_ready_when_the_database_is_unreachable() -> None:
    response = await _ready_of("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable"}
