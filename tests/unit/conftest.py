"""Pure rules, tested without a database: no tables to clean."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_tables() -> None:
    """Overrides the suite's table cleanup: these tests touch no database."""
