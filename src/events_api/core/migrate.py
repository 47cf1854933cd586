"""Applying Alembic migrations from code (CLI, server start, readiness, tests).

The migrations live in the repository's `migrations/` with its `alembic.ini`. A built wheel
carries a copy of both inside the package (`events_api/_alembic/`, put there by setup.py's build
step), so an installed `events-api` migrates wherever it runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

PACKAGED = Path(__file__).resolve().parents[1] / "_alembic"
SOURCE_TREE = Path(__file__).resolve().parents[3]


def _alembic_ini() -> Path:
    """The package's own copy (installed wheel), else the source tree (checkout, editable)."""
    for base in (PACKAGED, SOURCE_TREE):
        if (base / "alembic.ini").is_file() and (base / "migrations" / "env.py").is_file():
            return base / "alembic.ini"
    raise FileNotFoundError(
        f"alembic.ini and migrations/ not found in {PACKAGED} or {SOURCE_TREE} "
        "(a broken installation: reinstall the events-api package)"
    )


def alembic_config(database_url: str | None = None) -> Config:
    ini = _alembic_ini()
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "migrations"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    config.attributes["skip_logging"] = True
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


@lru_cache
def head_revisions() -> set[str]:
    """The revisions a fully migrated database records."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_at_head(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current == head_revisions()
