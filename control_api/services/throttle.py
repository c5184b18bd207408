"""Login throttle: failed sign-ins counted per username+address, address, username.

Each failed login (wrong password, unknown user) is remembered for
`VASMS_LOGIN_WINDOW_S` (60 s) under three keys. A login is refused with 429
and `Retry-After` *before* the password is hashed (no argon2 time is spent)
when any key is at its limit:

- the username from this address (`VASMS_LOGIN_MAX_FAILURES`, 5): a guesser
  is stopped after 5 tries, while the real user signing in from elsewhere is
  not locked out;
- this address, any username (`VASMS_LOGIN_MAX_FAILURES_PER_ADDRESS`, 20):
  one client spraying many usernames;
- this username, any address (`VASMS_LOGIN_MAX_FAILURES_PER_USERNAME`, 100):
  a distributed guess at one account.

A successful login clears its username+address key. The counts live in the
memory of each replica (a login costs ~50 ms of argon2, so the throttle must
cost nothing and must not depend on the database being up); behind N replicas
a client gets at most N times the limit, which still stops guessing.
The client address is the peer address, or X-Forwarded-For from a proxy in
`VASMS_TRUSTED_PROXIES` (applied by uvicorn, see cli.uvicorn_options).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Key = tuple[str, ...]


class FailureWindow:
    """Timestamps of recent failures per key, bounded in time and in number of keys."""

    def __init__(
        self, window_s: float, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._failures: dict[Key, deque[float]] = {}

    def __len__(self) -> int:
        """Keys remembered (bounded by `max_keys`)."""
        return len(self._failures)

    def _recent(self, key: Key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: Key, limit: int) -> float | None:
        """Seconds until `key` is under `limit` again, or None when it already is."""
        now = self.clock()
        times = self._recent(key, now)
        if times is None or len(times) < limit:
            return None
        # The oldest failure that keeps the count at the limit must expire first.
        return times[len(times) - limit] + self.window_s - now

    def add(self, key: Key) -> None:
        now = self.clock()
        times = self._recent(key, now)
        if times is None:
            if len(self._failures) >= self.max_keys:
                # Forget the oldest keys first (dicts keep insertion order).
                for old in list(self._failures)[: max(1, self.max_keys // 10)]:
                    del self._failures[old]
            times = self._failures[key] = deque()
        times.append(now)

    def clear(self, key: Key) -> None:
        self._failures.pop(key, None)


class LoginThrottle:
    """The three login limits over one failure window."""

    def __init__(
        self,
        window_s: float,
        per_pair: int,
        per_address: int,
        per_username: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = FailureWindow(window_s, clock=clock)
        self.limits = {"pair": per_pair, "address": per_address, "username": per_username}

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, Key]:
        return {
            "pair": ("pair", username, address),
            "address": ("address", address),
            "username": ("username", username),
        }

    def retry_after(self, username: str, address: str) -> int | None:
        """Whole seconds to wait (>= 1) when this login must be refused, else None."""
        waits = [
            wait
            for name, key in self._keys(username, address).items()
            if (wait := self.window.retry_after(key, self.limits[name])) is not None
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, username: str, address: str) -> None:
        for key in self._keys(username, address).values():
            self.window.add(key)

    def succeeded(self, username: str, address: str) -> None:
        self.window.clear(self._keys(username, address)["pair"])
