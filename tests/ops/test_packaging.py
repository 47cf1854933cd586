"""The built wheel installs and runs on its own: `python -m build`, a fresh virtualenv with the
locked dependencies, then `events-api migrate` and `events-api serve` from outside the project
folder against a scratch database, until /health/ready answers 200.

Slow (it builds and installs everything; pip's cache makes a second run quicker), so marked
`slow`: `./scripts/test -m "not slow"` leaves it out; CI runs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.fixtures.helpers import ROOT
from tests.fixtures.pgcluster import embedded_run_only
from tests.ops.test_nginx_proxy import free_port

pytestmark = [pytest.mark.slow, embedded_run_only("checks the wheel, whatever the server")]


def sh(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def test_wheel_installs_migrates_and_serves(tmp_path: Path, scratch_url: str) -> None:
    dist = tmp_path / "dist"
    sh(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("events_api-*.whl")
    (sdist,) = dist.glob("events_api-*.tar.gz")  # the wheel was built from it
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    assert migrations
    for needed in [
        "events_api/_alembic/alembic.ini",
        "events_api/_alembic/migrations/env.py",
        "events_api/_alembic/migrations/script.py.mako",
        "events_api/demo/catalog.yaml",
        *(f"events_api/_alembic/migrations/versions/{m.name}" for m in migrations),
    ]:
        assert needed in names, f"{needed} is not in {wheel.name}"

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    sh(
        *pip,
        "install",
        "--require-hashes",
        "--no-deps",
        "-r",
        ROOT / "requirements.lock",
        cwd=tmp_path,
    )
    sh(*pip, "install", "--no-deps", wheel, cwd=tmp_path)
    sh(*pip, "check", cwd=tmp_path)

    # nothing from the project folder: another working directory, no PYTHONPATH
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PROMETHEUS"))
    }
    env |= {"DATABASE_URL": scratch_url, "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    cli = venv / "bin" / "events-api"
    where = sh(
        venv / "bin" / "python",
        "-c",
        "import events_api; print(events_api.__file__)",
        cwd=work,
        env=env,
    )
    assert str(venv) in where, where
    assert "migrations applied" in sh(cli, "migrate", cwd=work, env=env)

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(cli), "serve", "--port", str(port)], cwd=work, env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None, f"server never answered:\n{log.read_text()}"
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert "http_requests_total" in metrics.text
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    assert sdist.stat().st_size > 0
