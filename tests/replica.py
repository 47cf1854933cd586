"""A streaming replica of a throwaway cluster (tests/pgcluster.py): `pg_basebackup -R`.

The primary's initdb (trust auth) already allows replication connections from 127.0.0.1, and
its defaults (wal_level=replica, max_wal_senders=10) are enough. The replica is a second
Cluster in its own folder and port, started in hot standby.
"""

from __future__ import annotations

import time

from tests.pgcluster import Cluster


def make_replica(primary: Cluster, timeout: float = 60) -> Cluster:
    """A started replica of `primary`, streaming; wait until the primary sees it streaming."""
    replica = Cluster()
    replica._run(
        "pg_basebackup",
        "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", str(replica.pgdata), "-R", "-X", "stream", "--checkpoint=fast",
        timeout=timeout,
    )  # fmt: skip
    replica.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with primary.connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchone()
        if row and row[0] >= 1:
            return replica
        time.sleep(0.2)
    replica.destroy()
    raise TimeoutError(f"the replica is not streaming after {timeout}s:\n{replica.log()[-2000:]}")
