"""`events-api serve` on the embedded PostgreSQL stops it and cleans up on SIGTERM and Ctrl-C.

Real processes on a temporary data folder (no DATABASE_URL); every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.processes import kill_all, postgres_in
from tests.fixtures.servers import served


def handles(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    text = path.read_text().strip() if path.exists() else ""
    return list(json.loads(text)) if text else []


def dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait(timeout=30)
    return finished.pid


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGTERM, signal.SIGINT)],
    ids=["sigterm-then-ctrl-c"],
)
def test_serve_stops_its_embedded_postgresql_and_cleans_up(
    signals: tuple[signal.Signals, ...],
) -> None:
    # outside pytest's own temporary folder, which pytest keeps private (0700) while the
    # embedded server runs as another user when the suite runs as root
    with tempfile.TemporaryDirectory(prefix="evt-life-", dir="/tmp") as folder:
        try:
            run_and_stop(Path(folder), signals)
        finally:  # never leave a server behind, even when failing
            kill_all(postgres_in(Path(folder).resolve()))


def run_and_stop(tmp_path: Path, signals: tuple[signal.Signals, ...]) -> None:
    data_dir = tmp_path / "data"
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    pgdata = (data_dir / "pgdata").resolve()
    env = {
        "DATABASE_URL": "",  # empty is unset: the embedded server
        "EVENTS_API_DATA_DIR": str(data_dir),
        "TMPDIR": str(tmp_dir),  # where the metrics directory is made
        "LOG_LEVEL": "info",
    }
    for number, sig in enumerate(signals):
        if number:
            # a previous server killed with -9 left its PID behind: it must not keep PG alive
            pgdata.joinpath(".handle_pids.json").write_text(json.dumps([dead_pid()]))
        with served("", tmp_path / f"server-{number}.log", env=env, ready_timeout=120) as api:
            assert postgres_in(pgdata), "the embedded PostgreSQL is not running"
            assert api.process.pid in handles(pgdata)
            assert list(tmp_dir.glob("events-api-metrics-*"))
            api.process.send_signal(sig)
            code = api.process.wait(timeout=60)
        assert code in (0, 128 + sig), api.log()[-2000:]  # uvicorn exits 0 after Ctrl-C
        assert "Traceback" not in api.log()
        leftover = postgres_in(pgdata)
        assert not leftover, f"{sig.name}: PostgreSQL still running in {pgdata}"
        assert handles(pgdata) == []
        assert not list(tmp_dir.glob("events-api-metrics-*"))
