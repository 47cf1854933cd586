"""POST /users/actions/login and `Authorization: Bearer` on every API route."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.api_users import bearer as bearer_module
from events_api.api_users.bearer import AcceptedBearerTokens
from events_api.api_users.service import revoke_user, rotate_token
from events_api.core.ratelimit import AuthThrottle
from events_api.core.settings import get_settings
from events_api.logins.service import create_app, revoke_app
from tests.events.test_contract import SPEC, _lenient, check
from tests.fixtures.apps import Served, settled
from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import invalid_params, reasons

LOGIN = "/users/actions/login"


@pytest.fixture(autouse=True)
def fresh_throttle(app: Served) -> Iterator[None]:
    """These tests fail logins on purpose: the shared app's limits start and end empty."""
    kept = app.state.throttle
    app.state.throttle = AuthThrottle.from_settings(app.state.settings)
    yield
    app.state.throttle = kept


async def new_app(engine: AsyncEngine, name: str = "shop") -> str:
    async with engine.begin() as conn:
        return await create_app(conn, name)


async def log_in(
    anon: httpx.AsyncClient, app_id: str, credentials: tuple[str, str]
) -> httpx.Response:
    login, password = credentials
    return await anon.post(
        LOGIN,
        json={"user_external_application_id": app_id, "login": login, "password": password},
    )


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def token_of(anon: httpx.AsyncClient, engine: AsyncEngine, credentials: Any) -> str:
    response = await log_in(anon, await new_app(engine), credentials)
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["bearer_token"]
    return token


async def test_login_answers_a_token_that_works_everywhere(
    anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str], catalog: None
) -> None:
    app_id = await new_app(engine)
    before = datetime.now(get_settings().tz).replace(tzinfo=None, microsecond=0)
    response = await log_in(anon, app_id, credentials)
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"bearer_token", "valid_to", "user"}
    assert re.fullmatch(r"[0-9a-f]{40}", data["bearer_token"])
    valid_to = datetime.strptime(data["valid_to"], "%Y-%m-%d %H:%M:%S")
    assert before + timedelta(hours=7) <= valid_to <= before + timedelta(hours=7, minutes=1)
    user = data["user"]
    assert user["login"] == "tester"
    assert (user["first_name"], user["last_name"], user["email"]) == ("", "", "")
    assert user["user_id"]
    for path in ("/events", "/event-types", "/event-groups", "/customers/c/events"):
        for scheme in ("Bearer", "bearer", "BEARER"):
            got = await anon.get(path, headers=bearer(data["bearer_token"], scheme))
            assert got.status_code == 200, (path, got.text)
    missing = "/events/0123456789abcdef0123456789"  # the plain routes (core/plain_routes.py)
    for path in (missing, missing + "/property-records"):
        got = await anon.get(path, headers=bearer(data["bearer_token"]))
        assert got.status_code == 404, (path, got.text)  # authenticated, then not found
        assert (await anon.get(path, headers=bearer("0" * 40))).status_code == 401
    async with engine.connect() as conn:  # stored as a digest only
        stored = (await conn.execute(text("SELECT token_digest FROM bearer_tokens"))).scalars()
        assert data["bearer_token"].encode() not in [bytes(d) for d in stored]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer 0123456789abcdef0123456789abcdef01234567",
        "Bearer ",
        "Bearer x" + "y" * 600,
        "Token abc",
    ],
)
async def test_unknown_or_malformed_bearer_is_401(anon: httpx.AsyncClient, header: str) -> None:
    response = await anon.get("/events", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["exception"] == "unauthorized_exception"


async def test_expired_token_is_401(
    anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    token = await token_of(anon, engine, credentials)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE bearer_tokens SET valid_to = now() - interval '1 s'"))
    assert (await anon.get("/events", headers=bearer(token))).status_code == 401


async def test_revoked_application_ends_its_tokens(
    app: Served, anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    await settled(app, engine)
    app_id = await new_app(engine)
    token = (await log_in(anon, app_id, credentials)).json()["data"]["bearer_token"]
    assert (await anon.get("/events", headers=bearer(token))).status_code == 200  # remembered
    async with engine.begin() as conn:
        await revoke_app(conn, app_id, app.state.part(AcceptedBearerTokens))
    assert (await anon.get("/events", headers=bearer(token))).status_code == 401
    refused = await log_in(anon, app_id, credentials)
    assert reasons(refused) == {("user_external_application_id", "not_found")}


async def eventually_401(anon: httpx.AsyncClient, token: str) -> None:
    for _ in range(200):
        if (await anon.get("/events", headers=bearer(token))).status_code == 401:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the change never reached the bearer cache")


@pytest.mark.parametrize("change", ["revoke", "rotate"])
async def test_revoked_or_rotated_api_user_ends_its_tokens(
    app: Served,
    anon: httpx.AsyncClient,
    engine: AsyncEngine,
    credentials: tuple[str, str],
    change: str,
) -> None:
    await settled(app, engine)
    token = await token_of(anon, engine, credentials)
    assert (await anon.get("/events", headers=bearer(token))).status_code == 200
    async with engine.begin() as conn:
        if change == "revoke":
            await revoke_user(conn, credentials[0])
        else:
            await rotate_token(conn, credentials[0])
    await eventually_401(anon, token)


async def test_wrong_credentials_are_403(
    anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    app_id = await new_app(engine)
    for login, password in ((credentials[0], "wrong"), ("nobody", credentials[1])):
        response = await log_in(anon, app_id, (login, password))
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["exception"] == "forbidden_exception"
        assert password not in response.text


async def test_unknown_application_is_400(
    anon: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    response = await log_in(anon, "0123456789abcdef0123456789", credentials)
    assert reasons(response) == {("user_external_application_id", "not_found")}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {},
            {
                ("user_external_application_id", "required"),
                ("login", "required"),
                ("password", "required"),
            },
        ),
        (
            {"user_external_application_id": 1, "login": "", "password": ["x"]},
            {
                ("user_external_application_id", "invalid_value_format"),
                ("login", "empty"),
                ("password", "invalid_value_format"),
            },
        ),
        (
            {"user_external_application_id": "a\u0000", "login": "x" * 300, "password": "p"},
            {
                ("user_external_application_id", "invalid_value_format"),
                ("login", "not_allowed_value"),
            },
        ),
        ([], {("body", "invalid_value_format")}),
    ],
)
async def test_bad_login_bodies(
    anon: httpx.AsyncClient, body: Any, expected: set[tuple[str, str]]
) -> None:
    assert reasons(await anon.post(LOGIN, json=body)) == expected


async def test_password_is_never_echoed(anon: httpx.AsyncClient) -> None:
    response = await anon.post(
        LOGIN, json={"user_external_application_id": "a", "login": "b", "password": "se\u0000cret"}
    )
    assert "cret" not in response.text
    assert ("password", "invalid_value_format") in reasons(response)


async def test_not_json_and_wrong_method(anon: httpx.AsyncClient) -> None:
    response = await anon.post(LOGIN, content=b"{nope")
    assert [p["reason"] for p in invalid_params(response)] == ["invalid_value_format"]
    wrong = await anon.get(LOGIN)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"


async def test_failed_logins_are_throttled(
    app: Served, anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    app_id = await new_app(engine)
    limit = 3
    app.state.throttle = AuthThrottle(100, limit, 60.0)
    statuses = [
        (await log_in(anon, app_id, (credentials[0], f"wrong-{i}"))).status_code
        for i in range(limit + 1)
    ]
    assert statuses[:limit] == [403] * limit
    assert statuses[limit] == 429
    throttled = await log_in(anon, app_id, credentials)  # even the right password, for now
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1


@pytest.mark.skipif(not SPEC.is_file(), reason=f"reference spec not found at {SPEC}")
async def test_login_bodies_match_the_spec(
    anon: httpx.AsyncClient, engine: AsyncEngine, credentials: tuple[str, str]
) -> None:
    spec = _lenient(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    app_id = await new_app(engine)
    check(spec, await log_in(anon, app_id, credentials), LOGIN, "post")
    check(spec, await anon.post(LOGIN, json={}), LOGIN, "post")
    check(spec, await log_in(anon, app_id, (credentials[0], "wrong")), LOGIN, "post")


async def test_remembered_token_expires_by_the_clock(
    app: Served,
    anon: httpx.AsyncClient,
    engine: AsyncEngine,
    credentials: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token this worker remembers is checked against its valid_to in memory."""
    await settled(app, engine)
    token = await token_of(anon, engine, credentials)
    assert (await anon.get("/events", headers=bearer(token))).status_code == 200  # remembered

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(hours=7, seconds=5)

    monkeypatch.setattr(bearer_module, "datetime", Later)
    # the database would still accept it (its clock is not moved): only memory can refuse
    assert (await anon.get("/events", headers=bearer(token))).status_code == 401
    monkeypatch.undo()
    assert (await anon.get("/events", headers=bearer(token))).status_code == 200


def test_new_commands_have_help(database_url: str) -> None:
    for command in (("external-app",), ("external-app", "create"), ("customers", "load")):
        result = run_cli(database_url, *command, "--help")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: events-api {' '.join(command)}")
    loaded = run_cli(database_url, "catalog", "load", "--help")
    assert "--prune" in loaded.stdout
