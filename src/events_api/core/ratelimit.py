"""Failed-login throttling: per client address and per login, in the memory of each process.

Every failed authentication (a wrong token, an unknown login, a malformed `Authorization`
header) takes one token from the bucket of the client's address and, when a login was given,
from the bucket of that login. A bucket holds `limit` tokens and refills at `limit` per
`window` seconds, so a client may fail `limit` times in a burst and then once every
`window / limit` seconds. An empty bucket answers 429 with `Retry-After` *before* the
credentials are looked at (no database work for a throttled client).

Successful traffic is never slowed: a success takes no token and adds no delay. An attacker
must not be able to lock a user out by failing on purpose with the user's login, so a client
address that has authenticated as a login recently (`KNOWN_GOOD_SECONDS`) is exempt from that
login's limit (its own address limit still applies). Blocked requests (429) take no token,
so a client that waits `Retry-After` seconds gets its next attempt.

The client address is the ASGI scope's client: uvicorn's proxy-headers middleware replaces it
with the `X-Forwarded-For` address only for connections from trusted proxies.

State is per process and bounded: at most `max_keys` open and `max_keys` blocked buckets (see
TokenBuckets). `events-api serve` gives each of its workers a share of the limits, so one
server's workers together allow what the settings say; separate servers each allow it.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from events_api.core.settings import Settings

KNOWN_GOOD_SECONDS = 24 * 3600.0
MAX_KEYS = 100_000

Clock = Callable[[], float]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`limit` failures per `window` seconds per key; limit 0 disables.

    Keys that may still try (`_open`) and blocked keys (no token left, `_blocked`) are kept
    apart, each bounded at `max_keys`, least recently touched evicted first. A flood of
    single failures from many new keys evicts only other open keys: a blocked key stays blocked
    until it refills, unless `max_keys` other keys get blocked after it (each costing the
    attacker `limit` failures).
    """

    def __init__(
        self, limit: int, window: float, *, max_keys: int = MAX_KEYS, clock: Clock = time.monotonic
    ) -> None:
        self.limit = limit
        self.rate = limit / window if limit else 0.0
        self.max_keys = max_keys
        self.clock = clock
        self._open: OrderedDict[str, _Bucket] = OrderedDict()
        self._blocked: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, key: str, now: float) -> _Bucket | None:
        """The key's bucket, refilled to `now` and taken out of its store (None: full)."""
        bucket = self._open.pop(key, None) or self._blocked.pop(key, None)
        if bucket is None:
            return None
        bucket.tokens = min(self.limit, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return None if bucket.tokens >= self.limit else bucket  # full again: forgotten

    def _keep(self, key: str, bucket: _Bucket) -> None:
        store = self._open if bucket.tokens >= 1 else self._blocked
        store[key] = bucket
        while len(store) > self.max_keys:
            store.popitem(last=False)

    def wait(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may try now."""
        if not self.limit:
            return None
        bucket = self._refilled(key, self.clock())
        if bucket is None:
            return None
        self._keep(key, bucket)
        return None if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> None:
        """Record one failure for `key`."""
        if not self.limit:
            return
        now = self.clock()
        bucket = self._refilled(key, now) or _Bucket(float(self.limit), now)
        bucket.tokens = max(0.0, bucket.tokens - 1)
        self._keep(key, bucket)

    def __len__(self) -> int:
        return len(self._open) + len(self._blocked)

    def __contains__(self, key: str) -> bool:
        return key in self._open or key in self._blocked


class AuthThrottle:
    """The failed-login limits of one process."""

    def __init__(
        self,
        per_address: int,
        per_login: int,
        window: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.addresses = TokenBuckets(per_address, window, max_keys=max_keys, clock=clock)
        self.logins = TokenBuckets(per_login, window, max_keys=max_keys, clock=clock)
        self.max_keys = max_keys
        self.clock = clock
        self._known_good: OrderedDict[tuple[str, str], float] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthThrottle:
        return cls(
            settings.auth_failures_per_address,
            settings.auth_failures_per_login,
            settings.auth_failure_window_seconds,
        )

    def _is_known_good(self, address: str, login: str) -> bool:
        until = self._known_good.get((address, login))
        return until is not None and until > self.clock()

    def retry_after(self, address: str, login: str | None) -> int | None:
        """Whole seconds the client must wait before this attempt is looked at, or None."""
        waits = [self.addresses.wait(address)]
        if login is not None and not self._is_known_good(address, login):
            waits.append(self.logins.wait(login))
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, address: str, login: str | None) -> None:
        self.addresses.take(address)
        if login is not None:
            self.logins.take(login)

    def succeeded(self, address: str, login: str) -> None:
        key = (address, login)
        self._known_good[key] = self.clock() + KNOWN_GOOD_SECONDS
        self._known_good.move_to_end(key)
        while len(self._known_good) > self.max_keys:
            self._known_good.popitem(last=False)
