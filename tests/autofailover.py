"""A pg_auto_failover formation on this machine: one monitor and two data nodes.

Debian's `pg-auto-failover-cli` and `postgresql-15-auto-failover` packages (PostgreSQL 15 from
/usr/lib/postgresql/15/bin), each node on 127.0.0.1, its own free port and a temporary folder;
`pg_autoctl` keeps its configuration and state under that folder too (XDG_* variables), so
nothing outside it is touched. PostgreSQL refuses to run as root: as root, every command runs as
the `postgres` system user (created by Debian's postgresql-common) through `runuser`.

The monitor's health checks are tightened (a node is declared failed after about 3 s instead
of 20 s) so that a failover fits in a test; `docs/scaling.md` says what to use in production.
Every wait is bounded; `destroy()` kills every process the formation started.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.pgcluster import _alive, _children
from tests.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SYSTEM_USER = "postgres"

# Monitor settings (milliseconds) that make a failover quick enough for a test.
FAST_MONITOR = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 3000,
    "pgautofailover.primary_demote_timeout": 3000,
}


def missing_packages() -> str | None:
    """Why the formation cannot run here, or None."""
    if shutil.which("pg_autoctl") is None:
        return "pg_autoctl not installed (apt-get install pg-auto-failover-cli)"
    if not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL 15 not found in {PG_BIN} (apt-get install postgresql-15)"
    extension = Path("/usr/share/postgresql/15/extension/pgautofailover.control")
    if not extension.exists():
        return (
            "the pgautofailover extension is missing (apt-get install postgresql-15-auto-failover)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"no {SYSTEM_USER} system user to run PostgreSQL as"
    return None


class Node:
    def __init__(self, formation: Formation, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.pgdata = formation.root / name
        self.log_path = formation.root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.killed = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, connect_timeout=3, autocommit=True, **kwargs)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Formation:
    """Monitor + node_a + node_b, synchronous replication (pg_auto_failover's default)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="evt-failover-", dir="/tmp"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)
        self.monitor = Node(self, "monitor")
        self.nodes = [Node(self, "node_a"), Node(self, "node_b")]

    # -- commands --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {
            "PATH": f"{PG_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.root),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_DATA_HOME": str(self.root / "share"),
            "XDG_RUNTIME_DIR": str(self.root / "run"),
            "PGHOST": "127.0.0.1",
            "LANG": "C.UTF-8",
        }

    def _argv(self, *args: str) -> list[str]:
        command = ["pg_autoctl", *args]
        if self.as_root:
            return ["runuser", "-u", SYSTEM_USER, "--", *command]
        return command

    def autoctl(self, *args: str, timeout: float = 90) -> str:
        result = subprocess.run(
            self._argv(*args),
            env=self._env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def _spawn(self, node: Node, *args: str) -> None:
        with open(node.log_path, "ab") as log:
            node.process = subprocess.Popen(
                self._argv(*args),
                env=self._env(),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def monitor_uri(self) -> str:
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover?sslmode=disable"

    # -- life cycle ------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> None:
        """Monitor, then node_a (becomes primary), then node_b (its synchronous standby)."""
        deadline = time.monotonic() + timeout
        m = self.monitor
        self._spawn(
            m,
            "create", "monitor", "--pgdata", str(m.pgdata), "--pgport", str(m.port),
            "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run",
        )  # fmt: skip
        self._wait(lambda: self._monitor_ready(), deadline, "monitor up")
        with self.monitor.connect(dbname="pg_auto_failover") as conn:
            for name, value in FAST_MONITOR.items():
                conn.execute(f"ALTER SYSTEM SET {name} = {value}")
            conn.execute("SELECT pg_reload_conf()")
        for node in self.nodes:
            self.start_node(node, create=True)
            self._wait(
                lambda n=node: self.state(n) in ("single", "primary", "secondary"),
                deadline,
                f"{node.name} up",
            )
        self._wait(self.is_stable, deadline, "primary with a secondary")

    def start_node(self, node: Node, *, create: bool = False) -> None:
        if create:
            self._spawn(
                node,
                "create", "postgres", "--pgdata", str(node.pgdata), "--pgport", str(node.port),
                "--hostname", "127.0.0.1", "--name", node.name, "--auth", "trust", "--no-ssl",
                "--dbname", "postgres", "--monitor", self.monitor_uri, "--run",
            )  # fmt: skip
        else:
            self._spawn(node, "run", "--pgdata", str(node.pgdata))
        node.killed = False

    def _monitor_ready(self) -> bool:
        try:
            with self.monitor.connect(dbname="pg_auto_failover") as conn:
                conn.execute("SELECT 1 FROM pgautofailover.node LIMIT 1")
            return True
        except psycopg.Error:
            return False

    def _wait(self, check: Any, deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if check():
                return
            for node in (self.monitor, *self.nodes):
                process = node.process
                if process is not None and not node.killed and process.poll() not in (None, 0):
                    raise RuntimeError(f"{node.name} exited:\n{node.log()[-3000:]}")
            time.sleep(0.2)
        logs = "\n".join(f"--- {n.name}\n{n.log()[-2000:]}" for n in (self.monitor, *self.nodes))
        raise TimeoutError(f"formation: no {what} in time\n{self.states()}\n{logs}")

    def wait(self, check: Any, timeout: float, what: str) -> None:
        self._wait(check, time.monotonic() + timeout, what)

    # -- state -----------------------------------------------------------------------------

    def states(self) -> dict[str, tuple[str, str]]:
        """node name -> (reported state, goal state), as the monitor sees them."""
        try:
            with self.monitor.connect(dbname="pg_auto_failover") as conn:
                rows = conn.execute(
                    "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
                ).fetchall()
        except psycopg.Error:
            return {}
        return {row[0]: (row[1], row[2]) for row in rows}

    def state(self, node: Node) -> str | None:
        reported = self.states().get(node.name)
        return reported[0] if reported and reported[0] == reported[1] else None

    def primary(self) -> Node | None:
        for node in self.nodes:
            if self.state(node) in ("primary", "wait_primary"):
                return node
        return None

    def is_stable(self) -> bool:
        states = sorted(self.state(node) or "?" for node in self.nodes)
        return states == ["primary", "secondary"]

    @property
    def multi_host_url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"

    # -- faults ----------------------------------------------------------------------------

    def switchover(self, timeout: float = 60) -> None:
        self.autoctl("perform", "switchover", "--pgdata", str(self.monitor.pgdata), timeout=timeout)

    def kill_node(self, node: Node) -> int:
        """SIGKILL the node's keeper and its postmaster with every PostgreSQL process: the
        machine is gone. (Killing the postmaster alone only makes the keeper restart it in
        place, crash recovery without failover.) How many processes were killed."""
        assert node.process is not None
        node.killed = True
        victims = [node.process.pid, *_children(node.process.pid)]
        postmaster = node.postmaster_pid()
        if postmaster is not None and postmaster not in victims:
            victims += [postmaster, *_children(postmaster)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        node.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(v) for v in victims):
            time.sleep(0.05)
        return len(victims)

    def destroy(self) -> None:
        for node in (*self.nodes, self.monitor):
            if node.process is None:
                continue
            if node.process.poll() is None:  # the keeper stops its PostgreSQL on SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=15)
            victims = [node.process.pid, *_children(node.process.pid)]
            postmaster = node.postmaster_pid()
            if postmaster is not None:
                victims += [postmaster, *_children(postmaster)]
            for victim in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(_alive(v) for v in victims):
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)
