"""`events-api external-app create/list/revoke`, and logging in with the printed id."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.cli import run_cli
from tests.ops.test_cli import assert_one_line_error, token_of


async def test_create_list_login_revoke(
    database_url: str, anon: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    app_id = token_of(run_cli(database_url, "external-app", "create", "Web shop"))
    assert re.fullmatch(r"[0-9a-f]{26}", app_id)
    listing = run_cli(database_url, "external-app", "list")
    assert listing.returncode == 0, listing.stderr
    [header, row] = listing.stdout.strip().splitlines()
    assert header.split()[:3] == ["ID", "NAME", "STATUS"]
    assert row.startswith(app_id)
    assert "Web shop" in row
    assert " active " in row

    body = {"user_external_application_id": app_id, "login": credentials[0]}
    login = await anon.post("/users/actions/login", json={**body, "password": credentials[1]})
    assert login.status_code == 200, login.text
    token = login.json()["data"]["bearer_token"]

    revoked = run_cli(database_url, "external-app", "revoke", app_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in revoked.stdout
    assert " revoked " in run_cli(database_url, "external-app", "list").stdout
    again = run_cli(database_url, "external-app", "revoke", app_id)
    assert again.returncode == 0
    assert "already revoked" in again.stdout
    # the revocation came from another process: it reaches this one by NOTIFY (or the DB path)
    for _ in range(200):
        if (
            await anon.get("/events", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the revoked application's token still works")


async def test_errors_are_one_line(database_url: str, engine: AsyncEngine) -> None:
    assert "no external application" in assert_one_line_error(
        run_cli(database_url, "external-app", "revoke", "0123456789abcdef0123456789")
    )
    assert "a name is" in assert_one_line_error(
        run_cli(database_url, "external-app", "create", " ")
    )
    empty = run_cli(database_url, "external-app", "list")
    assert empty.stdout.strip() == "no external applications"
