"""Viewer limits: open consumers per user, consume rate per user, transports per socket.

Every consumer holds ports from its node's RTC range and CPU on a worker, so
one account must not be able to exhaust a node. Over a limit the API answers
429 `quota_exceeded` (REST and V1 alike) and counts it in
`vasms_quota_rejections_total{limit}`.

- Open consumers per user (`VASMS_MAX_CONSUMERS_PER_USER`, 20) are counted in
  the database, so the limit holds across replicas. The count is read before
  the node call: consumes racing on several replicas may overshoot by the
  number in flight, never more.
- The consume rate (`VASMS_CONSUME_RATE_PER_USER_S` sustained, bursts of
  `VASMS_CONSUME_BURST_PER_USER`) is a token bucket in each replica's memory:
  cheap on the hot path; N replicas allow N times the rate.
- Transports per V1 socket (`VASMS_MAX_TRANSPORTS_PER_SOCKET`) are counted by
  the socket itself (api/v1/ws.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import bindparam
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.auth import Principal
from control_api.config import Settings
from control_api.failures import QuotaExceeded
from control_api.hot_path import HotPath
from control_api.metrics import ApiMetrics
from control_api.models import Consumer, ConsumerState
from control_api.services.throttle import LoginThrottle


class TokenBucket:
    """Per-key token buckets: `rate` tokens a second, at most `burst` saved up."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float | None:
        """Takes one token; None on success, else the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if len(self._buckets) >= self.max_keys:
            for old in list(self._buckets)[: max(1, self.max_keys // 10)]:
                del self._buckets[old]
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)  # re-inserted last: recently used
        return None


class Limits:
    """The per-replica state of the limits (buckets, login failures)."""

    def __init__(self, settings: Settings, metrics: ApiMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.consume_rate = TokenBucket(
            settings.consume_rate_per_user_s, settings.consume_burst_per_user
        )
        self.logins = LoginThrottle(
            settings.login_window_s,
            settings.login_max_failures,
            settings.login_max_failures_per_address,
            settings.login_max_failures_per_username,
        )

    def rejected(self, limit: str, detail: str, retry_after: float | None = None) -> QuotaExceeded:
        self.metrics.quota_rejections.inc(limit)
        return QuotaExceeded(detail, retry_after)


class HasLimits(Protocol):
    """What `limits_of` needs of the app context (kept structural: no import cycle)."""

    settings: Settings
    metrics: ApiMetrics
    limits: Limits | None
    hot: HotPath | None


def limits_of(ctx: HasLimits) -> Limits:
    if ctx.limits is None:
        ctx.limits = Limits(ctx.settings, ctx.metrics)
    return ctx.limits


async def open_consumers(session: AsyncSession, user_id: str) -> int:
    """Open viewers of the user: distinct transports (a video and its audio count once)."""
    result = await session.exec(
        select(func.count(func.distinct(Consumer.transport_id))).where(
            col(Consumer.owner_id) == user_id,
            col(Consumer.state) != ConsumerState.closed.value,
        )
    )
    return int(result.one())


OPEN_VIEWERS = select(func.count(func.distinct(Consumer.transport_id))).where(
    col(Consumer.owner_id) == bindparam("owner_id"),
    col(Consumer.state) != ConsumerState.closed.value,
)


async def open_viewers(ctx: HasLimits, session: AsyncSession, user_id: str) -> int:
    """`open_consumers` on HotPath when there is one (every consume asks)."""
    if ctx.hot is None:
        return await open_consumers(session, user_id)
    rows = await ctx.hot.execute(OPEN_VIEWERS, {"owner_id": user_id})
    return int(rows[0][0])


async def check_consume(ctx: HasLimits, session: AsyncSession, user: Principal) -> None:
    """Raises `QuotaExceeded` when `user` may not create one more consumer now."""
    limits = limits_of(ctx)
    cap = ctx.settings.max_consumers_per_user
    if await open_viewers(ctx, session, user.id) >= cap:
        raise limits.rejected("consumers_per_user", f"at most {cap} open consumers per user")
    wait = limits.consume_rate.take(user.id)
    if wait is not None:
        rate = ctx.settings.consume_rate_per_user_s
        raise limits.rejected("consume_rate", f"consume rate over {rate:g}/s", wait)


def check_socket_transports(ctx: HasLimits, open_now: int) -> None:
    """Raises `QuotaExceeded` when a V1 socket holds its maximum of transports."""
    cap = ctx.settings.max_transports_per_socket
    if open_now >= cap:
        raise limits_of(ctx).rejected(
            "transports_per_socket", f"at most {cap} transports per WebSocket"
        )
