"""26-character lowercase hex ids, like CareCloud's, ordered by creation time.

12 hex digits of milliseconds since the epoch, then 14 random hex digits (56 bits), so new ids
append to the right-hand side of the primary-key index instead of landing on random pages.
"""

from __future__ import annotations

import re
import secrets
import time

ID_PATTERN = re.compile(r"^[0-9a-f]{26}$")


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{secrets.randbits(56):014x}"


def new_ids(count: int) -> list[str]:
    """`count` new ids at once (one read of random bytes), all of this millisecond."""
    now = f"{time.time_ns() // 1_000_000:012x}"
    random = secrets.token_bytes(7 * count).hex()
    return [now + random[i : i + 14] for i in range(0, 14 * count, 14)]


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
