"""The `events-api` command line, run as a real subprocess against the test database."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import CATALOG_TABLES, DEMO_CATALOG, ROOT, basic, catalog_snapshot

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43,}$")
LONG_AGO = datetime(2000, 1, 1, 12, 0, 0)


def token_of(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines, "no output"
    return lines[-1].strip()


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("events-api: error:"), lines[0]
    return lines[0]


async def api_users(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM api_users ORDER BY login"))).mappings()
        return [dict(row) for row in rows]


# --- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ((), "migrate"),
        (("serve",), "--port"),
        (("migrate",), "usage: events-api migrate"),
        (("api-user",), "create"),
        (("api-user", "create"), "login"),
        (("catalog",), "load"),
        (("catalog", "load"), "file"),
    ],
)
def test_help_works_for_every_command(
    database_url: str, command: tuple[str, ...], expected: str
) -> None:
    result = run_cli(database_url, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: events-api {' '.join(command)}".rstrip())
    assert expected in result.stdout
    assert result.stderr == ""


def test_installed_console_script_runs(database_url: str) -> None:
    script = Path(sys.executable).parent / "events-api"
    assert script.is_file(), f"{script} is not installed"
    result = subprocess.run(
        [str(script), "--help"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "api-user" in result.stdout
    assert "catalog" in result.stdout


def test_no_command_is_a_usage_error(database_url: str) -> None:
    result = run_cli(database_url)
    assert result.returncode == 2
    assert "usage: events-api" in result.stderr
    assert "Traceback" not in result.stderr


# --- migrate ------------------------------------------------------------------------------


async def test_migrate_is_idempotent_and_keeps_data(database_url: str, engine: AsyncEngine) -> None:
    async def state() -> tuple[list[str], list[str]]:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            tables = (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "ORDER BY tablename"
                    )
                )
            ).all()
        return [v[0] for v in versions], [t[0] for t in tables]

    before = await state()
    assert len(before[0]) == 1
    assert "events" in before[1]
    token_of(run_cli(database_url, "api-user", "create", "survivor"))

    for _ in range(2):
        result = run_cli(database_url, "migrate")
        assert result.returncode == 0, result.stderr
        assert "migrations applied" in result.stdout
        assert "Traceback" not in result.stderr
        assert await state() == before

    users = await api_users(engine)
    assert [u["login"] for u in users] == ["survivor"]  # data made before migrating survives


# --- api-user create ----------------------------------------------------------------------


async def test_created_token_authenticates_over_http(
    database_url: str, anon: httpx.AsyncClient
) -> None:
    result = run_cli(database_url, "api-user", "create", "cli-user")
    token = token_of(result)
    assert "cli-user" in result.stdout.splitlines()[0]
    assert token not in result.stderr

    response = await anon.get("/events", headers=basic("cli-user", token))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["events"] == []

    wrong = await anon.get("/events", headers=basic("cli-user", token[:-1] + "x" + "y"))
    assert wrong.status_code == 401
    other_login = await anon.get("/events", headers=basic("someone-else", token))
    assert other_login.status_code == 401
    assert (await anon.get("/events")).status_code == 401


async def test_second_create_of_a_login_fails_cleanly(
    database_url: str, engine: AsyncEngine, anon: httpx.AsyncClient
) -> None:
    token = token_of(run_cli(database_url, "api-user", "create", "twice"))
    before = await api_users(engine)

    again = run_cli(database_url, "api-user", "create", "twice")
    line = assert_one_line_error(again)
    assert "twice" in line
    assert "already exists" in line
    assert again.stdout == ""  # no new token printed

    assert await api_users(engine) == before  # the digest was not replaced
    response = await anon.get("/events", headers=basic("twice", token))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "login", ["bad login", "", "bad:login", "a" * 256, "tab\tlogin", "é", "trailing\n"]
)
async def test_invalid_login_is_refused(database_url: str, engine: AsyncEngine, login: str) -> None:
    result = run_cli(database_url, "api-user", "create", login)
    line = assert_one_line_error(result)
    assert "login" in line
    assert result.stdout == ""
    assert await api_users(engine) == []


async def test_longest_valid_login_is_accepted(database_url: str, engine: AsyncEngine) -> None:
    login = "a" * 250 + "_.@-9"
    token = token_of(run_cli(database_url, "api-user", "create", login))
    assert TOKEN.match(token)
    assert [u["login"] for u in await api_users(engine)] == [login]


async def test_token_is_not_stored_in_clear(database_url: str, engine: AsyncEngine) -> None:
    token = token_of(run_cli(database_url, "api-user", "create", "secretive"))
    (row,) = await api_users(engine)
    assert row["login"] == "secretive"
    digest = bytes(row["token_digest"])
    assert len(digest) == 32

    # every column as Python sees it, plus the whole row as PostgreSQL renders it (bytea as hex)
    async with engine.connect() as conn:
        whole_row = (
            await conn.execute(
                text("SELECT api_users::text FROM api_users WHERE login = 'secretive'")
            )
        ).scalar_one()
    haystacks = [whole_row]
    for value in row.values():
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            haystacks += [raw.decode("latin-1"), raw.hex()]
        else:
            haystacks.append(str(value))
    # not the token, not a piece of it, not its hex or base64 bytes
    needles = [token[i : i + 12] for i in range(0, len(token) - 11)]
    needles += [
        token.encode().hex()[:24],
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).hex()[:24],
    ]
    for haystack in haystacks:
        for needle in needles:
            assert needle not in haystack, f"{needle!r} found in the stored row"


async def test_tokens_are_distinct_and_long(database_url: str) -> None:
    first = token_of(run_cli(database_url, "api-user", "create", "one"))
    second = token_of(run_cli(database_url, "api-user", "create", "two"))
    assert first != second
    for token in (first, second):
        assert TOKEN.match(token), token
        assert len(token) >= 43
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) >= 32


# --- catalog load -------------------------------------------------------------------------


async def test_catalog_load_demo_prints_summary(database_url: str, engine: AsyncEngine) -> None:
    result = run_cli(database_url, "catalog", "load", str(DEMO_CATALOG))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = result.stdout.strip()
    assert summary.startswith("catalog loaded")
    for part in ("2 event_groups", "7 event_properties", "2 event_types"):
        assert part in summary

    tables = await catalog_snapshot(engine)
    assert len(tables["event_groups"]) == 2
    assert len(tables["event_properties"]) == 7
    assert len(tables["event_types"]) == 2
    assert len(tables["event_type_properties"]) == 9
    async with engine.connect() as conn:
        purchase = (
            await conn.execute(
                text("SELECT event_type_id FROM event_types WHERE text_id = 'purchase'")
            )
        ).scalar_one()
    assert purchase == "8bed991c68a470e7aaeffbf048"


async def test_catalog_load_twice_is_idempotent(database_url: str, engine: AsyncEngine) -> None:
    first = run_cli(database_url, "catalog", "load", str(DEMO_CATALOG))
    assert first.returncode == 0, first.stderr
    # last_change is stored to the second: move it far back so that a rewrite would show
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE event_properties SET last_change = :t"), {"t": LONG_AGO})
    after_first = await catalog_snapshot(engine)
    assert len(after_first["event_properties"]) == 7

    second = run_cli(database_url, "catalog", "load", str(DEMO_CATALOG))
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert await catalog_snapshot(engine) == after_first
    async with engine.connect() as conn:
        changes = (
            await conn.execute(text("SELECT DISTINCT last_change FROM event_properties"))
        ).all()
    assert changes == [(LONG_AGO,)]


async def test_catalog_load_json_file(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    data = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    path = tmp_path / "catalog.json"
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh)

    result = run_cli(database_url, "catalog", "load", str(path))
    assert result.returncode == 0, result.stderr
    assert "7 event_properties" in result.stdout
    from_json = await catalog_snapshot(engine)
    assert len(from_json["event_types"]) == 2
    assert len(from_json["event_type_properties"]) == 9

    # the same catalog as YAML changes nothing at all: JSON and YAML mean the same
    yaml_result = run_cli(database_url, "catalog", "load", str(DEMO_CATALOG))
    assert yaml_result.returncode == 0, yaml_result.stderr
    assert await catalog_snapshot(engine) == from_json


@pytest.mark.parametrize(
    ("name", "content"),
    [
        # YAML in a .json file: the suffix decides the parser, so it is refused
        ("catalog.json", "event_groups:\n  - {name: Shop, text_id: shop}\n"),
        ("broken.yaml", "event_groups: [ {name: Shop, text_id: shop\n"),
    ],
)
async def test_catalog_load_unparsable_file_writes_nothing(
    database_url: str, engine: AsyncEngine, tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run_cli(database_url, "catalog", "load", str(path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not valid YAML/JSON" in result.stderr
    assert await catalog_snapshot(engine) == {t: [] for t in CATALOG_TABLES}


async def test_catalog_load_missing_file(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"
    result = run_cli(database_url, "catalog", "load", str(missing))
    line = assert_one_line_error(result)
    assert "nope.yaml" in line
    assert result.stdout == ""
    assert await catalog_snapshot(engine) == {t: [] for t in CATALOG_TABLES}


async def test_catalog_load_invalid_file_names_entry_and_writes_nothing(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    assert run_cli(database_url, "catalog", "load", str(DEMO_CATALOG)).returncode == 0
    before = await catalog_snapshot(engine)

    data = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    data["event_groups"][0]["name"] = "Renamed shopping"  # would show if anything were written
    data["event_types"][0]["event_properties"].append("no_such_property")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")

    result = run_cli(database_url, "catalog", "load", str(path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("events-api: error:")
    assert "event_types[0] (purchase)" in result.stderr
    assert "no_such_property" in result.stderr
    assert "catalog loaded" not in result.stdout
    assert await catalog_snapshot(engine) == before


# every command and subcommand: a one-line description and examples; none named: the help

ALL_COMMANDS = [
    (),
    ("serve",),
    ("migrate",),
    ("config",),
    ("api-user",),
    ("api-user", "create"),
    ("api-user", "list"),
    ("api-user", "revoke"),
    ("api-user", "rotate"),
    ("catalog",),
    ("catalog", "load"),
    ("catalog", "show"),
]


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "events-api")
def test_every_command_has_a_description_and_examples(
    database_url: str, command: tuple[str, ...]
) -> None:
    result = run_cli(database_url, *command, "--help")
    assert result.returncode == 0, result.stderr
    description = result.stdout.split("\n\n")[1]
    assert description.strip()
    assert "\n" not in description.strip()
    examples = result.stdout.split("examples:\n", 1)[1]
    assert f"events-api {' '.join(command)}".strip() in examples


@pytest.mark.parametrize(
    ("command", "subcommands"),
    [
        (("api-user",), ("create", "list", "revoke", "rotate")),
        (("catalog",), ("load", "show")),
        ((), ("serve", "migrate", "config", "api-user", "catalog")),
    ],
)
def test_a_command_without_its_subcommand_prints_its_help(
    database_url: str, command: tuple[str, ...], subcommands: tuple[str, ...]
) -> None:
    result = run_cli(database_url, *command)
    assert result.returncode == 2
    assert "required:" not in result.stderr
    assert "_command" not in result.stderr
    assert result.stderr.startswith(f"usage: events-api {' '.join(command)}".rstrip())
    listed = result.stderr.split("commands:", 1)[1]
    for sub in subcommands:
        assert f"\n    {sub} " in listed, sub
    assert "examples:" in result.stderr
