"""Node failover: the streams of a node that stopped answering move to healthy nodes.

Every replica polls every node, so every replica notices a dead node at about the
same moment. Each stream moves with one conditional UPDATE (`WHERE node_id = <the
dead node>`): exactly one replica wins the row and restarts the ingest on the node
it chose; the others see no row changed and only observe (the new node's events
reach them through their own watchers). Viewers of the dead node cannot be moved
(their transports lived there), so their consumers are reported closed
(`node_lost`) and players consume again.
"""

from __future__ import annotations

import logging

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.context import AppContext
from control_api.failures import Failure, NoNodeAvailable
from control_api.models import Consumer, ConsumerState, Desired, Stream, StreamStatus, utcnow
from control_api.node_client import NodeHandle
from control_api.placement import place
from control_api.services import relays
from control_api.services import streams as stream_ops

log = logging.getLogger(__name__)


async def close_consumers_on(session: AsyncSession, node_id: str) -> int:
    """Reports every open consumer of a dead node closed (`node_lost`); idempotent."""
    result = await session.exec(
        update(Consumer)
        .where(col(Consumer.node_id) == node_id, col(Consumer.state) != ConsumerState.closed.value)
        .values(state=ConsumerState.closed.value, closed_reason="node_lost", closed_at=utcnow())
    )
    await session.commit()
    return int(result.rowcount or 0)


async def fail_over(ctx: AppContext, dead: NodeHandle) -> list[str]:
    """Moves the wanted streams of `dead` to other nodes; returns the ids this replica
    moved but could not start (the caller retries them like any lost stream).

    Streams with nowhere to go stay on the dead node (status `error` from the
    staleness check) and are tried again on the next poll.
    """
    node_id = dead.node_id
    if node_id is None:
        return []
    async with ctx.sessions() as session:
        closed = await close_consumers_on(session, node_id)
        if closed:
            log.info("closed %d consumers of lost node %s", closed, node_id)
    await relays.node_lost(ctx, node_id)
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Stream.id).where(
                col(Stream.node_id) == node_id, col(Stream.desired) == Desired.running.value
            )
        )
        stream_ids = list(rows.all())
    failed = []
    for stream_id in stream_ids:
        if not await _move(ctx, stream_id, node_id):
            failed.append(stream_id)
    return failed


async def _move(ctx: AppContext, stream_id: str, dead: str) -> bool:
    """Moves one stream unless another replica did; False when the new start failed."""
    async with ctx.sessions() as session:
        try:
            target = place(
                ctx.nodes.handles,
                ctx.selector,
                ctx.settings.node_stale_after_s,
                stream_counts=await stream_ops.streams_per_node(session, but=stream_id),
                exclude=dead,
            )
        except NoNodeAvailable:
            return True  # no healthy node: it stays where it is until one is
        assert target.node_id is not None
        result = await session.exec(
            update(Stream)
            .where(
                col(Stream.id) == stream_id,
                col(Stream.node_id) == dead,
                col(Stream.desired) == Desired.running.value,
            )
            .values(
                node_id=target.node_id,
                status=StreamStatus.starting.value,
                status_reason=f"moved from lost node {dead}",
                status_at_ms=0,  # the new node's clock starts a new event history
                producer_id=None,
                rtp_endpoint=None,
                video=None,
                audio=None,
                updated_at=utcnow(),
            )
        )
        await session.commit()
        if not result.rowcount:
            return True  # another replica moved it, or the operator stopped it
        log.warning(
            "stream failed over",
            extra={"stream_id": stream_id, "from_node": dead, "node_id": target.node_id},
        )
        stream = await session.get(Stream, stream_id)
        if stream is None:
            return True
        try:
            info = await stream_ops.start_on(ctx, target, stream)
        except Failure as exc:
            log.warning("failover start of %s on %s failed: %s", stream_id, target.node_id, exc)
            await stream_ops.mark(
                session, [stream_id], StreamStatus.error, f"failover start failed: {exc.detail}"
            )
            return False
        await stream_ops.apply_reply(session, stream_id, info)
    return True
