"""Real processes for the reliability tests: `events-api serve`, on loopback only.

Every wait here is bounded; a process that does not stop in time is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(
    database_url: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "events_api.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


class ServedApi:
    """One `events-api serve` process; its stdout and stderr go to `log_path`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not up in {timeout}s:\n{self.log()[-3000:]}")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then wait (SIGKILL past `timeout`); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise


@contextmanager
def served(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60,
    port: int | None = None,
) -> Iterator[ServedApi]:
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "debug",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "events_api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServedApi(process, port, log_path)
    try:
        server.wait_ready(ready_timeout)
        yield server
    finally:
        if process.poll() is None:
            with suppress(subprocess.TimeoutExpired):
                server.terminate(timeout=30)
        # workers of a multi-process server share its session: none may outlive the test
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
