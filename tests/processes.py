"""Processes of this machine as /proc shows them: to prove a test left none of its own behind.

A PostgreSQL server's processes all run in its data directory (their working directory, shown
with " (deleted)" once the folder is gone), so a data folder identifies a server's processes
without counting the machine's own cluster or other users' servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    name: str
    cwd: str
    cmdline: str


def processes() -> list[Proc]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append(Proc(int(entry.name), name, cwd, cmdline.strip()))
    return found


def tagged(name: str, value: str) -> list[Proc]:
    """Processes whose environment holds `name=value`: started, directly or not, by whoever set
    it (PostgreSQL servers included: pg_ctl passes its environment on)."""
    needle = f"{name}={value}".encode()
    found = []
    for proc in processes():
        try:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append(proc)
    return found


def postgres_in(folder: Path | str) -> list[Proc]:
    """PostgreSQL processes whose data directory is `folder` or lies under it."""
    prefix = str(folder).rstrip("/")
    return [
        proc
        for proc in processes()
        if proc.name.startswith("postgres")
        and (proc.cwd == prefix or proc.cwd.startswith(prefix + "/"))
    ]


def kill_all(procs: list[Proc]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
