"""On-demand streams: pulled from the first consume until the last viewer has left.

A camera allows few RTSP sessions, so a stream with `source.on_demand` (and not
`preload`) holds no node while nobody watches: `start` parks it (desired running,
status `idle`, no node). The first consume (or router-capabilities request, the
first step of a viewer) claims it with one conditional UPDATE (`idle` →
`starting`): of several replicas racing, exactly one places and starts it; every
caller then waits for `live` (504 `stream_start_timeout` after
`VASMS_ON_DEMAND_START_TIMEOUT_S`). A sweep in every replica releases streams
nobody has watched for `VASMS_ON_DEMAND_IDLE_S`: conditional UPDATE back to
`idle` (only if still without viewers and not touched by a consume meanwhile),
then ForgetStream on the node, which ends the ingest and its camera session.

The waiting is woken by the status events this replica applies (every replica
watches every node), with a short re-read of the row as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import exists
from sqlmodel import col, select, update

from control_api.context import AppContext
from control_api.failures import Failure, NotFound, StreamNotLive, StreamStartTimeout
from control_api.models import Consumer, ConsumerState, Desired, Stream, StreamStatus, utcnow
from control_api.services import streams as stream_ops

log = logging.getLogger(__name__)
IDLE_REASON = "on demand: pulled at the first viewer"
_RECHECK_S = 0.25
_changed: dict[str, asyncio.Event] = {}
_waiting: dict[str, int] = {}


def pulled_on_demand(source: dict[str, Any]) -> bool:
    """True for a stream that is only pulled while watched (on_demand without preload)."""
    return bool(source.get("on_demand")) and not source.get("preload")


def notify(stream_id: str) -> None:
    """A status event of `stream_id` was applied (node_sync): wakes its waiters."""
    event = _changed.get(stream_id)
    if event is not None:
        event.set()


def start_timeout(stream_id: str, seconds: float, status: str, reason: str) -> StreamStartTimeout:
    detail = f"stream {stream_id} did not go live within {seconds:g} s ({status}"
    return StreamStartTimeout(detail + (f": {reason})" if reason else ")"))


async def start(ctx: AppContext, session: Any, stream: Stream) -> Stream:
    """The operator's start: an on-demand stream that holds no node is parked (wanted,
    idle until the first consume); anything else starts as usual."""
    placed = stream.desired == Desired.running.value and stream.node_id is not None
    if pulled_on_demand(stream.source) and not placed:
        return await _park(ctx, stream)
    return await stream_ops.start(ctx, session, stream)


async def _park(ctx: AppContext, stream: Stream) -> Stream:
    async with ctx.sessions() as session:
        await session.exec(
            update(Stream)
            .where(col(Stream.id) == stream.id)
            .values(
                desired=Desired.running.value,
                status=StreamStatus.idle.value,
                status_reason=IDLE_REASON,
                node_id=None,
                producer_id=None,
                rtp_endpoint=None,
                status_at_ms=0,
                idle_since=None,
                updated_at=utcnow(),
            )
        )
        await session.commit()
        row = await session.get(Stream, stream.id, populate_existing=True)
    assert row is not None
    log.info("stream parked (on demand)", extra={"stream_id": stream.id})
    return row


async def ensure_live(ctx: AppContext, stream: Stream) -> Stream:
    """The consume path's one call: a no-op for streams that are not pulled on demand;
    for the others, starts the pull if idle and waits until the stream is live.
    Returns the stream as it is now (a fresh row when anything was done)."""
    if not pulled_on_demand(stream.source) or stream.desired != Desired.running.value:
        return stream
    async with ctx.sessions() as session:
        # A viewer is on its way: the sweep must not release the stream under it.
        await session.exec(
            update(Stream).where(col(Stream.id) == stream.id).values(idle_since=None)
        )
        await session.commit()
        row = await session.get(Stream, stream.id, populate_existing=True)
        if row is None:
            return stream
        if row.status == StreamStatus.live.value:
            return row
        if row.status == StreamStatus.idle.value:
            await _claim_and_start(ctx, session, row)
    return await _wait_live(ctx, stream.id)


async def _claim_and_start(ctx: AppContext, session: Any, row: Stream) -> None:
    claimed = await session.exec(
        update(Stream)
        .where(
            col(Stream.id) == row.id,
            col(Stream.status) == StreamStatus.idle.value,
            col(Stream.desired) == Desired.running.value,
        )
        .values(status=StreamStatus.starting.value, status_reason="", updated_at=utcnow())
    )
    await session.commit()
    if not claimed.rowcount:
        return  # another request or replica is starting it: just wait
    await session.refresh(row)
    log.info("on-demand start", extra={"stream_id": row.id})
    try:
        await stream_ops.start(ctx, session, row, force=True)
    except Failure:
        # Back to idle so the next consume tries again (no node took it).
        await session.exec(
            update(Stream)
            .where(col(Stream.id) == row.id, col(Stream.node_id).is_(None))
            .values(status=StreamStatus.idle.value, status_reason=IDLE_REASON)
        )
        await session.commit()
        raise


async def _wait_live(ctx: AppContext, stream_id: str) -> Stream:
    timeout = ctx.settings.on_demand_start_timeout_s
    deadline = time.monotonic() + timeout
    event = _changed.setdefault(stream_id, asyncio.Event())
    _waiting[stream_id] = _waiting.get(stream_id, 0) + 1
    try:
        while True:
            event.clear()
            async with ctx.sessions() as session:
                row = await session.get(Stream, stream_id)
            if row is None or row.desired != Desired.running.value:
                raise StreamNotLive(f"stream {stream_id} was stopped")
            if row.status == StreamStatus.live.value:
                return row
            left = deadline - time.monotonic()
            if left <= 0:
                raise start_timeout(stream_id, timeout, row.status, row.status_reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, _RECHECK_S))
    finally:
        # The event is shared by concurrent waiters; the last one leaving drops it.
        _waiting[stream_id] -= 1
        if not _waiting[stream_id]:
            del _waiting[stream_id]
            _changed.pop(stream_id, None)


def _no_open_consumer(stream_id: str) -> Any:
    return ~exists().where(
        col(Consumer.stream_id) == stream_id,
        col(Consumer.state) != ConsumerState.closed.value,
        col(Consumer.owner_id).is_not(None),
    )


async def sweep_once(ctx: AppContext) -> list[str]:
    """One pass: marks when on-demand streams became unwatched and releases those
    unwatched for longer than the idle time; returns the ids released."""
    idle_s = ctx.settings.on_demand_idle_s
    now = utcnow()
    cutoff = now - timedelta(seconds=idle_s)
    released: list[tuple[str, str]] = []
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Stream).where(
                col(Stream.desired) == Desired.running.value,
                col(Stream.status) != StreamStatus.idle.value,
                col(Stream.node_id).is_not(None),
            )
        )
        candidates = [s for s in rows.all() if pulled_on_demand(s.source)]
        counts = await stream_ops.consumer_counts(session, [s.id for s in candidates])
        for stream in candidates:
            if counts.get(stream.id):
                if stream.idle_since is not None:
                    await _set_idle_since(session, stream.id, None)
                continue
            if stream.idle_since is None:
                await _set_idle_since(session, stream.id, now)
                continue
            since = stream.idle_since
            since = since if since.tzinfo else since.replace(tzinfo=UTC)  # SQLite
            if since > cutoff:
                continue
            node_id = str(stream.node_id)  # the UPDATE below rewrites the loaded row too
            result = await session.exec(
                update(Stream)
                .where(
                    col(Stream.id) == stream.id,
                    col(Stream.node_id) == node_id,
                    col(Stream.desired) == Desired.running.value,
                    col(Stream.idle_since).is_not(None),
                    col(Stream.idle_since) <= cutoff,
                    _no_open_consumer(stream.id),
                )
                .values(
                    status=StreamStatus.idle.value,
                    status_reason=f"on demand: no viewer for {idle_s:g} s",
                    node_id=None,
                    producer_id=None,
                    rtp_endpoint=None,
                    status_at_ms=0,
                    idle_since=None,
                    updated_at=now,
                )
            )
            await session.commit()
            if result.rowcount:
                released.append((stream.id, node_id))
    for stream_id, node_id in released:
        await _forget(ctx, stream_id, node_id)
    return [stream_id for stream_id, _ in released]


async def _set_idle_since(session: Any, stream_id: str, value: Any) -> None:
    await session.exec(update(Stream).where(col(Stream.id) == stream_id).values(idle_since=value))
    await session.commit()


async def _forget(ctx: AppContext, stream_id: str, node_id: str) -> None:
    """Ends the pull on the node (ingest and camera session gone); a node that does not
    answer forgets it at its next reconcile (the row no longer places it there)."""
    handle = ctx.nodes.known(node_id)
    log.info("on-demand stream released", extra={"stream_id": stream_id, "node_id": node_id})
    if handle is None:
        return
    try:
        await ctx.nodes.forget_stream(handle, stream_id)
    except NotFound:
        pass
    except Failure as exc:
        log.warning("release of %s on %s: %s", stream_id, node_id, exc.detail)


async def sweeper(ctx: AppContext) -> None:
    """Runs `sweep_once` forever, a few times per idle period (at least every second)."""
    interval = min(1.0, ctx.settings.on_demand_idle_s / 4)
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep_once(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("on-demand sweep failed")
