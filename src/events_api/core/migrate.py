"""Applying Alembic migrations from code (CLI, server start, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine


def _alembic_ini() -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (base / "alembic.ini").is_file() and (base / "migrations").is_dir():
            return base / "alembic.ini"
    raise FileNotFoundError("alembic.ini and migrations/ not found (run from the project folder)")


def alembic_config(database_url: str) -> Config:
    ini = _alembic_ini()
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["skip_logging"] = True
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def is_at_head(database_url: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current == set(script.get_heads())
