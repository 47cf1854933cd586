"""Schema changes go through Alembic only: the migrations must produce exactly the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from events_api.core.migrate import alembic_config, is_at_head, upgrade
from events_api.models import metadata


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    assert not is_at_head(scratch_url)
    upgrade(scratch_url)
    assert is_at_head(scratch_url)
    upgrade(scratch_url)  # idempotent
    command.downgrade(alembic_config(scratch_url), "base")
    engine = create_engine(scratch_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(scratch_url)
    assert is_at_head(scratch_url)
