"""The lanes of tests/conftest.py name tests that exist: a renamed file or test would otherwise
leave its lane silently, and run beside the others under pytest-xdist."""

from __future__ import annotations

import re

from tests.conftest import LANES, lane
from tests.fixtures.helpers import ROOT


def test_every_lane_entry_names_an_existing_test_file_or_test() -> None:
    for name, entries in LANES.items():
        for entry in entries:
            path, _, test = entry.partition("::")
            source = ROOT / path
            assert source.is_file(), f"lane {name}: {path} does not exist"
            if test:
                assert re.search(rf"def {re.escape(test)}\(", source.read_text()), (
                    f"lane {name}: no test {test} in {path}"
                )


def test_a_lane_takes_its_files_tests_and_nothing_else() -> None:
    assert lane("tests/ops/test_fuzz.py::test_hypothesis_post_bodies") == "servers"
    assert lane("tests/ops/test_failover.py::test_x[param]") == "clusters"
    assert lane("tests/ops/test_fuzz_more.py::test_x") is None
    assert lane("tests/api_users/test_auth_abuse.py::test_retry_after_is_honest") is None
