"""The limit state machines on a fake clock: login failure windows and consume buckets."""

from __future__ import annotations

from control_api.services.quotas import TokenBucket
from control_api.services.throttle import FailureWindow, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failure_window_counts_only_recent_failures() -> None:
    clock = Clock()
    window = FailureWindow(60, clock=clock)
    for _ in range(3):
        window.add(("k",))
        clock.now += 10
    assert window.retry_after(("k",), 4) is None
    assert window.retry_after(("k",), 3) == 30  # the first failure (t=1000) expires at 1060
    clock.now = 1061
    assert window.retry_after(("k",), 3) is None  # it did
    clock.now = 1200
    assert window.retry_after(("k",), 1) is None
    assert len(window) == 0  # emptied keys are dropped


def test_failure_window_is_bounded_in_keys() -> None:
    window = FailureWindow(60, max_keys=100, clock=Clock())
    for i in range(1000):
        window.add((str(i),))
    assert len(window) <= 100
    assert window.retry_after(("999",), 1) is not None  # the newest are kept


def test_login_throttle_keys() -> None:
    clock = Clock()
    throttle = LoginThrottle(60, per_pair=5, per_address=8, per_username=12, clock=clock)
    for _ in range(5):
        throttle.failed("eve", "10.0.0.1")
    assert throttle.retry_after("eve", "10.0.0.1") == 60
    assert throttle.retry_after("eve", "10.0.0.2") is None  # the user elsewhere
    assert throttle.retry_after("bob", "10.0.0.1") is None
    for name in ("a", "b", "c"):
        throttle.failed(name, "10.0.0.1")  # 8 from this address in all
    assert throttle.retry_after("zed", "10.0.0.1") == 60
    for i in range(7):
        throttle.failed("eve", f"10.1.0.{i}")  # 12 for eve from everywhere
    assert throttle.retry_after("eve", "10.9.9.9") == 60
    clock.now += 30
    throttle.succeeded("eve", "10.0.0.1")  # clears only the pair
    assert throttle.retry_after("eve", "10.9.9.9") is not None
    clock.now += 31
    assert throttle.retry_after("eve", "10.0.0.1") is None


def test_token_bucket_burst_then_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take("u") for _ in range(3)] == [None, None, None]
    assert bucket.take("u") == 0.5  # one token needs 0.5 s at 2/s
    assert bucket.take("v") is None  # per key
    clock.now += 0.5
    assert bucket.take("u") is None
    assert bucket.take("u") is not None
    clock.now += 100
    assert [bucket.take("u") for _ in range(4)][:3] == [None, None, None]  # capped at burst
