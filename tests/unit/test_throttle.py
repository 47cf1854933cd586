"""Failed-login limits under a flood: blocked keys outlive it, memory stays bounded."""

from __future__ import annotations

from events_api.core.ratelimit import MAX_KEYS, AuthThrottle, TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_blocks_outlive_a_flood_of_failures_from_many_addresses() -> None:
    """At the documented bound (MAX_KEYS): a blocked address and a blocked login stay blocked
    while 105,000 other addresses fail once each."""
    throttle = AuthThrottle(5, 3, 60.0, clock=FakeClock())
    for _ in range(5):
        throttle.failed("203.0.113.7", "alice")
    assert throttle.retry_after("203.0.113.7", None) is not None
    assert throttle.retry_after("198.51.100.1", "alice") is not None
    for n in range(MAX_KEYS + 5_000):
        throttle.failed(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", None)
    assert throttle.retry_after("203.0.113.7", None) is not None
    assert throttle.retry_after("198.51.100.1", "alice") is not None
    assert len(throttle.addresses) <= 2 * MAX_KEYS


def test_open_and_blocked_keys_are_each_bounded() -> None:
    buckets = TokenBuckets(3, 60.0, max_keys=10, clock=FakeClock())
    for _ in range(3):
        buckets.take("blocked")
    for n in range(100):
        buckets.take(f"once-{n}")
    assert "blocked" in buckets
    assert buckets.wait("blocked") is not None
    assert len(buckets) == 11  # 10 open (the newest), 1 blocked
    assert "once-99" in buckets
    assert "once-0" not in buckets
