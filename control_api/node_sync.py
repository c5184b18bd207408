"""Keeps the database in step with the media nodes (background tasks of each replica).

Per node: a load poller (GetLoad → placement figures, node row, staleness)
and an event watcher (WatchEvents → stream status, consumer states and
closes), which on every (re)connect reconciles the node with the database
(also when a node marked down answers again, and every sweep interval):
streams the operator wants running are (re)started, stopped ones stopped,
deleted ones and copies left behind by a failover forgotten, consumers nobody
owns closed; streams the database does not know are left alone. Plus one reaper of closed
consumers past their TTL. Every replica runs all of this; all writes are
idempotent, so N replicas converge on the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import grpc
from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from control_api.context import AppContext
from control_api.failures import Failure, NodeUnavailable
from control_api.models import Consumer, ConsumerState, Desired, MediaNode, Stream, StreamStatus
from control_api.models import utcnow as now
from control_api.node_client import NodeHandle, close_reason
from control_api.services import failover, on_demand, relays, viewers
from control_api.services import streams as stream_ops
from protos import media_node_pb2 as pb

log = logging.getLogger(__name__)
DTLS_STATES = {"connecting": ConsumerState.connecting, "connected": ConsumerState.connected}


def start(ctx: AppContext) -> None:
    """Spawns the per-node tasks and the reaper."""
    for handle in ctx.nodes.handles:
        ctx.spawn(poll_load(ctx, handle), f"load:{handle.address}")
        ctx.spawn(watch(ctx, handle), f"watch:{handle.address}")
    ctx.spawn(reap(ctx), "reaper")
    ctx.spawn(on_demand.sweeper(ctx), "on-demand sweep")


# ---------------------------------------------------------------------------
# Load


async def refresh_load(ctx: AppContext, handle: NodeHandle) -> pb.Load:
    load = await ctx.nodes.get_load(handle, timeout_s=min(5.0, ctx.settings.grpc_timeout_s))
    if handle.node_id != load.node_id:
        log.info("node %s answers at %s", load.node_id, handle.address)
    handle.node_id = load.node_id  # type: ignore[assignment]
    handle.load, handle.load_at = load, time.monotonic()
    # Sticky: a node never stops draining (it exits), but its GetLoad figures are a
    # periodic snapshot that may predate the Drain we or its event just reported.
    # A new process is a new event stream, where `watch` clears the flag.
    handle.draining = handle.draining or load.draining
    if handle.down:
        log.warning("node %s (%s) answers again", handle.node_id, handle.address)
        handle.down = False
        # Its event stream may never have broken (a paused process): reconcile now, or
        # it keeps ingesting streams that moved away and misses stops meanwhile.
        reconcile_soon(ctx, handle, "answers again")
    return load


async def upsert_node(ctx: AppContext, handle: NodeHandle, load: pb.Load) -> None:
    workers = list(load.workers)
    values = {
        "id": load.node_id,
        "address": handle.address,
        "draining": load.draining,
        "cpu_percent": sum(w.cpu_percent for w in workers) / len(workers) if workers else 0.0,
        "streams": load.streams,
        "transports": load.transports,
        "consumers": load.consumers,
        "outgoing_bitrate_bps": load.outgoing_bitrate_bps,
        "last_seen_at": now(),
    }
    async with ctx.sessions() as session:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(MediaNode).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}
        )
        await session.exec(stmt)
        await session.commit()


async def poll_load(ctx: AppContext, handle: NodeHandle) -> None:
    """GetLoad every interval; a node that stops answering takes its streams to error."""
    was_fresh = False
    last_sweep = time.monotonic()
    while True:
        try:
            load = await refresh_load(ctx, handle)
            await upsert_node(ctx, handle, load)
            if (
                time.monotonic() - last_sweep > ctx.settings.orphan_sweep_interval_s
                and handle.watching
            ):
                last_sweep = time.monotonic()
                await reconcile(ctx, handle)  # ends with the orphan sweep
        except Failure as exc:
            log.debug("GetLoad %s failed: %s", handle.address, exc.detail)
        except Exception:
            log.exception("load poll of %s failed", handle.address)
        fresh = handle.fresh(ctx.settings.node_stale_after_s)
        if was_fresh and not fresh:
            log.warning("node %s (%s) is stale", handle.node_id, handle.address)
            await _node_lost(ctx, handle)
        was_fresh = fresh
        await _check_down(ctx, handle)
        await asyncio.sleep(ctx.settings.node_poll_interval_s)


async def _check_down(ctx: AppContext, handle: NodeHandle) -> None:
    """Past `node_failover_after_s` without an answer a node is down: its streams move.

    Retried on every poll while the node stays down (streams that had nowhere to
    go, a start that failed), all of it idempotent across replicas.
    """
    silent_s = time.monotonic() - handle.load_at
    if handle.load_at == 0 or silent_s <= ctx.settings.node_failover_after_s:
        return
    if not handle.down:
        handle.down = True
        log.warning("node %s (%s) is down after %.1f s", handle.node_id, handle.address, silent_s)
    try:
        for stream_id in await failover.fail_over(ctx, handle):
            schedule_restart(ctx, stream_id)
    except Exception:
        log.exception("failover of node %s failed", handle.node_id)


async def _node_lost(ctx: AppContext, handle: NodeHandle) -> None:
    if handle.node_id is None:
        return
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Stream.id).where(
                col(Stream.node_id) == handle.node_id,
                col(Stream.status).in_(stream_ops.RUNNING),
            )
        )
        ids = list(rows.all())
        ts = handle.last_event_ms + 1
        await stream_ops.mark(
            session, ids, StreamStatus.error, "media node unreachable", ts, handle.node_id
        )


# ---------------------------------------------------------------------------
# Events


async def watch(ctx: AppContext, handle: NodeHandle) -> None:
    """WatchEvents forever, reconnecting with backoff; reconciles after each connect."""
    backoff = 0.5
    while True:
        call = None
        try:
            handle.draining = False  # (re)connected, maybe to a new process: ask again
            await refresh_load(ctx, handle)
            call = handle.stub.WatchEvents(pb.WatchEventsRequest(), metadata=ctx.nodes.metadata)
            # The subscription is sent now; a node may hold its headers until the first
            # event, so wait briefly for them and then reconcile either way (events
            # from here on are buffered in the call).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.initial_metadata(), 1.0)
            if call.done():  # refused at once (e.g. UNAUTHENTICATED)
                code, details = await call.code(), await call.details()
                raise NodeUnavailable(f"WatchEvents: {code.name} {details}")
            handle.watching = True
            log.info("watching events of node %s", handle.node_id)
            await reconcile(ctx, handle)
            backoff = 0.5
            async for event in call:
                await apply(ctx, handle, event)
        except asyncio.CancelledError:
            if call is not None:
                call.cancel()
            raise
        except (grpc.aio.AioRpcError, Failure) as exc:
            detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else exc.detail
            log.debug("event stream of %s ended: %s", handle.address, detail)
        except Exception:
            log.exception("event stream of %s failed", handle.address)
        handle.watching = False
        if call is not None:
            call.cancel()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 5.0)


async def apply(ctx: AppContext, handle: NodeHandle, event: pb.NodeEvent) -> None:
    kind = event.WhichOneof("event") or "unknown"
    node_id = event.node_id or str(handle.node_id)
    ctx.metrics.node_events.inc(node_id, kind)
    handle.last_event_ms = max(handle.last_event_ms, event.timestamp_ms)
    if kind == "stream_status" and ctx.hot is not None:
        info = event.stream_status.stream
        current = await ctx.hot.get(Stream, info.stream_id)
        if current is not None and stream_ops.event_changes_nothing(
            current, node_id, info, event.timestamp_ms
        ):
            return  # a viewer came or went: nothing the row holds changed
    async with ctx.sessions() as session:
        if kind == "stream_status":
            info = event.stream_status.stream
            row = await stream_ops.apply_event(session, node_id, info, event.timestamp_ms)
            if row is not None:
                on_demand.notify(row.id)
                log.info(
                    "stream status",
                    extra={"stream_id": row.id, "status": row.status, "reason": row.status_reason},
                )
                if row.desired == Desired.running.value and info.status == pb.STREAM_STATUS_STOPPED:
                    schedule_restart(ctx, row.id)
        elif kind == "transport_state":
            ev = event.transport_state
            state = DTLS_STATES.get(ev.dtls_state)
            if state is not None:
                await viewers.advance(session, ev.transport_id, state)
        elif kind == "consumer_closed":
            ev = event.consumer_closed
            reason = close_reason(ev.reason)
            tombstone = {
                "stream_id": ev.stream_id,
                "node_id": node_id,
                "transport_id": ev.transport_id,
                "client_id": ev.client_id,
            }
            # A requested close is ours (or an operator's): nobody waits to read it.
            await viewers.mark_closed(
                session,
                [ev.consumer_id],
                reason,
                {} if reason == "requested" else tombstone,
                hot=ctx.hot,
            )
            log.info(
                "consumer closed by node",
                extra={"consumer_id": ev.consumer_id, "stream_id": ev.stream_id, "reason": reason},
            )
        elif kind == "worker_died":
            ev = event.worker_died
            reason = f"media worker {ev.pid} died"
            ids = list(ev.stream_ids)
            await stream_ops.mark(
                session, ids, StreamStatus.error, reason, event.timestamp_ms, node_id
            )
            log.warning("worker died on node %s", node_id, extra={"pid": ev.pid})
        elif kind == "draining":
            handle.draining = True
        elif kind == "relay_closed":
            await relays.side_closed(ctx, session, event.relay_closed)
            log.info("node %s is draining", node_id)


def schedule_restart(ctx: AppContext, stream_id: str) -> None:
    """Starts a stream again after the node lost it (coalesced per stream)."""

    async def restart() -> None:
        await asyncio.sleep(ctx.settings.restart_backoff_s)
        async with ctx.sessions() as session:
            stream = await session.get(Stream, stream_id)
            if stream is None or stream.desired != Desired.running.value:
                return
            try:
                await stream_ops.start(ctx, session, stream, force=True)
                log.info("stream restarted", extra={"stream_id": stream_id})
            except Failure as exc:
                log.warning("restart of %s failed: %s", stream_id, exc.detail)

    ctx.spawn(restart(), f"restart:{stream_id}", key=f"restart:{stream_id}")


async def reconcile(ctx: AppContext, handle: NodeHandle) -> None:
    """Brings node and DB together: after a (re)connect, when a node marked down answers
    again, and every sweep interval.

    Only streams the database knows are touched: wanted ones here are (re)started,
    stopped ones stopped (a stop the node missed while unreachable), deleted ones
    (tombstones) and copies of streams the row places elsewhere (moved while this node
    was away) forgotten. A stream the database has never heard of is left alone: a control API
    on an empty or wrong database must not stop what another one runs.
    """
    on_node = {info.stream_id: info for info in await ctx.nodes.list_streams(handle)}
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Stream).where(
                or_(col(Stream.node_id) == handle.node_id, col(Stream.id).in_(list(on_node)))
            )
        )
        known = {s.id: s for s in rows.all()}
        for stream in known.values():
            if stream.node_id != handle.node_id:
                continue
            info = on_node.get(stream.id)
            if stream.desired == Desired.running.value:
                if info is None or info.status == pb.STREAM_STATUS_STOPPED:
                    await stream_ops.mark(
                        session, [stream.id], StreamStatus.error, "not on the media node"
                    )
                    schedule_restart(ctx, stream.id)
                else:
                    await stream_ops.apply_reply(session, stream.id, info)
    for stream_id, info in on_node.items():
        row = known.get(stream_id)
        if row is None:
            log.info(
                "stream %s on node %s is unknown to the database: left alone",
                stream_id,
                handle.node_id,
            )
            continue
        with contextlib.suppress(Failure):
            if row.desired == Desired.deleted.value or row.node_id != handle.node_id:
                log.info(
                    "forgetting stream %s on node %s (row: %s on %s)",
                    stream_id,
                    handle.node_id,
                    row.desired,
                    row.node_id,
                )
                await ctx.nodes.forget_stream(handle, stream_id)
            elif row.desired == Desired.stopped.value and info.status != pb.STREAM_STATUS_STOPPED:
                log.info(
                    "stopping stream %s on node %s (stopped meanwhile)", stream_id, handle.node_id
                )
                await ctx.nodes.stop_stream(handle, stream_id)
    await sweep_orphans(ctx, handle)


def reconcile_soon(ctx: AppContext, handle: NodeHandle, why: str) -> None:
    """Runs `reconcile` in the background (coalesced per node), logging failures."""

    async def run() -> None:
        try:
            await reconcile(ctx, handle)
        except Failure as exc:
            log.debug("reconcile of %s (%s) failed: %s", handle.address, why, exc.detail)

    ctx.spawn(run(), f"reconcile:{handle.address}", key=f"reconcile:{handle.address}")


async def sweep_orphans(ctx: AppContext, handle: NodeHandle) -> None:
    """Closes consumers the node holds but no row owns, once seen twice in a row.

    Twice: a consumer another replica created a moment ago may not have its
    row yet; a sweep later it has, or it really is an orphan.
    """
    dump = await ctx.nodes.dump(handle)
    ids = {c.id for c in dump.consumers if c.state != pb.CONSUMER_STATE_CLOSED}
    if not ids:
        handle.orphans = set()
        return
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Consumer.id).where(
                col(Consumer.id).in_(ids),
                col(Consumer.owner_id).is_not(None),
                col(Consumer.state) != ConsumerState.closed.value,
            )
        )
        known = set(rows.all())
    suspects = ids - known
    for consumer_id in suspects & handle.orphans:
        log.info("closing orphan consumer %s on node %s", consumer_id, handle.node_id)
        with contextlib.suppress(Failure):
            await ctx.nodes.close_consumer(handle, consumer_id)
    handle.orphans = suspects - handle.orphans


# ---------------------------------------------------------------------------
# Reaper


async def reap_once(ctx: AppContext) -> int:
    cutoff = now() - timedelta(seconds=ctx.settings.closed_consumer_ttl_s)
    async with ctx.sessions() as session:
        await session.exec(
            delete(Stream).where(
                col(Stream.desired) == Desired.deleted.value,
                col(Stream.updated_at) < now() - stream_ops.TOMBSTONE_TTL,
            )
        )
        result = await session.exec(
            delete(Consumer).where(
                col(Consumer.state) == ConsumerState.closed.value,
                col(Consumer.closed_at) < cutoff,
            )
        )
        await session.commit()
        return int(result.rowcount or 0)


async def reap(ctx: AppContext) -> None:
    """Forgets consumers closed longer ago than the TTL (GET/DELETE then answer 404)."""
    while True:
        try:
            await reap_once(ctx)
        except Exception:
            log.exception("reaper failed")
        await asyncio.sleep(max(1.0, min(10.0, ctx.settings.closed_consumer_ttl_s / 4)))
