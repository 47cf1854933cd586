"""Metrics in multiprocess mode count with a kept process id (core/observability.py), and a
fork still gets a file of its own, as with prometheus_client's own getpid() check."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, multiprocess, values

from events_api.core.observability import ProcessId, count_without_asking_the_pid


@pytest.fixture
def multiprocess_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """prometheus_client's values as in `events-api serve` (PROMETHEUS_MULTIPROC_DIR set)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    kept = values.ValueClass
    make_values: Callable[[], type] = values.MultiProcessValue  # (untyped)
    values.ValueClass = make_values()
    try:
        yield tmp_path
    finally:
        values.ValueClass = kept


def test_the_kept_id_is_this_process_and_a_forked_child_s_own() -> None:
    pid = ProcessId()
    assert pid() == os.getpid()
    child = os.fork()
    if child == 0:
        os._exit(0 if pid() == os.getpid() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_counts_of_a_parent_and_its_forked_child_go_to_their_own_files_and_add_up(
    multiprocess_mode: Path,
) -> None:
    default = values.ValueClass
    count_without_asking_the_pid.__wrapped__()
    assert values.ValueClass is not default
    counted = Counter("forked_total", "counts across a fork", registry=None)
    counted.inc(2)
    child = os.fork()
    if child == 0:
        counted.inc(3)
        os._exit(0)
    os.waitpid(child, 0)
    files = sorted(path.name for path in multiprocess_mode.iterdir())
    assert files == sorted([f"counter_{os.getpid()}.db", f"counter_{child}.db"])
    registry = CollectorRegistry()
    collect_files: Callable[[CollectorRegistry], object] = multiprocess.MultiProcessCollector
    collect_files(registry)
    assert registry.get_sample_value("forked_total") == 5.0
