"""Operator side of the CLI: settings (validation, `config`), `catalog show`, progress, --help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.catalog.schemas import CatalogFile
from events_api.core.settings import Settings
from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import CATALOG_TABLES, DEMO_CATALOG, catalog_snapshot
from tests.ops.test_cli import assert_one_line_error

# --- validation at start -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "bad", "command"),
    [
        ("MAX_PAGE_SIZE", "abc", ("serve",)),
        ("MAX_PAGE_SIZE", "0", ("migrate",)),
        ("PROJECT_TIMEZONE", "Mars/Olympus", ("config",)),
        ("FORWARDED_ALLOW_IPS", "proxy.example", ("serve",)),
        ("LOG_LEVEL", "loud", ("serve",)),
        ("DB_POOL_TIMEOUT", "-1", ("catalog", "show")),
        ("DOCS_ENABLED", "perhaps", ("serve",)),
        ("SERVER_PORT", "70000", ("serve",)),
        ("DATABASE_READ_URLS", "mysql://replica/db", ("config",)),
        ("REPLICA_MAX_LAG_SECONDS", "0", ("serve",)),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(
    database_url: str, variable: str, bad: str, command: tuple[str, ...]
) -> None:
    result = run_cli(database_url, *command, env={variable: bad})
    line = assert_one_line_error(result)
    assert variable in line
    assert repr(bad) in line
    assert result.stdout == ""


def test_bad_database_url_is_refused_without_showing_its_password() -> None:
    result = run_cli(None, "config", env={"DATABASE_URL": "mysql://root:s3cret@db/events"})
    line = assert_one_line_error(result)
    assert "DATABASE_URL" in line
    assert "PostgreSQL" in line
    assert "s3cret" not in result.stderr


def test_settings_come_from_a_dotenv_file(database_url: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MAX_PAGE_SIZE=77\nLOG_FORMAT=TEXT\n", encoding="utf-8")
    result = run_cli(database_url, "config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MAX_PAGE_SIZE=77" in result.stdout.splitlines()
    assert "LOG_FORMAT=text" in result.stdout.splitlines()
    # the environment wins over .env
    result = run_cli(database_url, "config", env={"MAX_PAGE_SIZE": "5"}, cwd=tmp_path)
    assert "MAX_PAGE_SIZE=5" in result.stdout.splitlines()


def test_bad_value_in_dotenv_is_reported_too(database_url: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MAX_OFFSET=lots\n", encoding="utf-8")
    line = assert_one_line_error(run_cli(database_url, "serve", cwd=tmp_path))
    assert "MAX_OFFSET" in line


# --- events-api config ---------------------------------------------------------------------


def test_config_prints_every_setting_with_the_password_masked() -> None:
    url = "postgresql://events:pa55word@db.example:5432/events"
    result = run_cli(None, "config", env={"DATABASE_URL": url, "SERVER_WORKERS": "3"})
    assert result.returncode == 0, result.stderr
    assert "pa55word" not in result.stdout
    values = dict(
        line.split("=", 1) for line in result.stdout.splitlines() if not line.startswith("#")
    )
    assert set(values) == {name.upper() for name in Settings.model_fields}
    assert values["DATABASE_URL"] == "postgresql+psycopg://events:***@db.example:5432/events"
    assert values["SERVER_WORKERS"] == "3"
    assert values["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    assert values["DOCS_ENABLED"] == "true"


def test_config_masks_the_passwords_of_read_replicas_and_multi_host_urls() -> None:
    env = {
        "DATABASE_URL": "postgresql://events:pa55word@h1:5432,h2:5433/events",
        "DATABASE_READ_URLS": "postgresql://r:s3cret@r1/events  postgres://r:t0ken@r2:5433/events",
    }
    result = run_cli(None, "config", env=env)
    assert result.returncode == 0, result.stderr
    for secret in ("pa55word", "s3cret", "t0ken"):
        assert secret not in result.stdout
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert values["DATABASE_READ_URLS"] == (
        "postgresql+psycopg://r:***@r1/events postgresql+psycopg://r:***@r2:5433/events"
    )
    assert values["DATABASE_URL"].startswith("postgresql+psycopg://events:***@/events?host=h1")


def test_config_json(database_url: str) -> None:
    result = run_cli(database_url, "config", "--json", env={"ROOT_PATH": "/ws/"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["ROOT_PATH"] == "/ws"
    assert values["MAX_PAGE_SIZE"] == 1000
    assert values["PROMETHEUS_MULTIPROC_DIR"] is None


# --- catalog show / load progress ----------------------------------------------------------


async def test_catalog_show_round_trips(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    assert run_cli(None, "catalog", "load", str(DEMO_CATALOG), env=env).returncode == 0
    loaded = await catalog_snapshot(engine)

    shown = run_cli(None, "catalog", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    data = yaml.safe_load(shown.stdout)
    CatalogFile.model_validate(data)
    demo = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    assert sorted(g["text_id"] for g in data["event_groups"]) == ["customers", "shopping"]
    purchase = next(t for t in data["event_types"] if t["text_id"] == "purchase")
    assert purchase["event_type_id"] == "8bed991c68a470e7aaeffbf048"
    assert purchase["event_group"] == "shopping"
    assert purchase["event_properties"] == demo["event_types"][0]["event_properties"]  # in order
    tier = next(p for p in data["event_properties"] if p["property_id"] == "tier")
    assert tier["items"] == [{"id": "1", "name": "Gold"}, {"id": "2", "name": "Silver"}]

    # loading what `show` printed changes nothing
    path = tmp_path / "shown.yaml"
    path.write_text(shown.stdout, encoding="utf-8")
    again = run_cli(None, "catalog", "load", str(path), env=env)
    assert again.returncode == 0, again.stderr
    assert await catalog_snapshot(engine) == loaded

    as_json = run_cli(None, "catalog", "show", "--format", "json", env=env)
    assert json.loads(as_json.stdout) == data


def test_catalog_show_of_an_empty_database(database_url: str) -> None:
    shown = run_cli(database_url, "catalog", "show")
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout) == {
        "event_groups": [],
        "event_properties": [],
        "event_types": [],
    }


async def test_catalog_load_progress(database_url: str, engine: AsyncEngine) -> None:
    env = {"DATABASE_URL": database_url}
    result = run_cli(None, "catalog", "load", "--progress", str(DEMO_CATALOG), env=env)
    assert result.returncode == 0, result.stderr
    steps = result.stderr.strip().splitlines()
    assert len(steps) == 3, steps
    assert "2 event groups, 7 event properties, 2 event types" in steps[0]
    assert "one transaction" in steps[1]
    assert steps[2].endswith("committed")
    assert result.stdout.strip().startswith("catalog loaded:")
    assert len((await catalog_snapshot(engine))["event_types"]) == 2

    quiet = run_cli(None, "catalog", "load", "--no-progress", str(DEMO_CATALOG), env=env)
    assert quiet.stderr == ""


async def test_invalid_catalog_error_is_one_line(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "event_types:\n  - {event_group: nope, name: A, text_id: a, event_properties: [x, y]}\n",
        encoding="utf-8",
    )
    line = assert_one_line_error(run_cli(database_url, "catalog", "load", str(path)))
    assert "unknown event_group 'nope'" in line
    assert "unknown event property 'x'" in line
    assert "unknown event property 'y'" in line
    assert await catalog_snapshot(engine) == {t: [] for t in CATALOG_TABLES}


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ((), "config"),
        (("config",), "--json"),
        (("serve",), "SERVER_WORKERS"),
        (("catalog",), "show"),
        (("catalog", "show"), "--format"),
        (("catalog", "load"), "--progress"),
    ],
)
def test_help(command: tuple[str, ...], expected: str) -> None:
    result = run_cli(None, *command, "--help", env={"MAX_PAGE_SIZE": "not even checked for --help"})
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_bad_option_value_is_a_usage_error() -> None:
    result = run_cli(None, "serve", "--workers", "0")
    assert result.returncode == 2
    assert "positive integer" in result.stderr
    assert "Traceback" not in result.stderr
