"""Schema changes go through Alembic only: the migrations must produce exactly the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from events_api.core.migrate import alembic_config, is_at_head, upgrade
from events_api.models import Base


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    name = f"events_api_scratch_{uuid.uuid4().hex[:8]}"
    admin_url = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
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
