"""Figures for docs/reliability.md: tests call `record(...)`; with RELIABILITY_FIGURES=path set,
each call appends one JSON line to that file (otherwise it does nothing)."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def record(test: str, **figures: Any) -> None:
    path = os.environ.get("RELIABILITY_FIGURES")
    if not path:
        return
    line = {"test": test, "at": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, default=str) + "\n")
