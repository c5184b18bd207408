"""Edge relays: where a viewer goes when the stream's node is full, and the relay to it.

Placement policy (``VASMS_EDGE_RELAY_AFTER`` = N, 0 = off): a viewer goes to the
stream's own node (the origin) while that node holds fewer than N open consumers.
Past that it goes to another node, fed by a relay from the origin: first a node
that already relays the stream and holds fewer than N consumers, else the node with
the fewest consumers among healthy, non-draining ones (it gets a new relay), else
the origin anyway (a viewer on a full node beats a refused one). Consumer counts
come from the database (open consumer rows per node), so every replica sees the
same figures at once, unlike the nodes' load polled every few seconds.

The relay handshake is four node calls (see media_node/relay.py). One relay per
(stream, edge) pair: the row is inserted first (unique constraint), so of two
replicas opening the same relay one does the handshake and the other waits for
the row to be ready. A failed handshake closes what it opened and deletes the row.
Ends come from the nodes' RelayClosed events (node_sync) and from failover here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.context import AppContext
from control_api.failures import Failure, NotFound, RelayUnavailable
from control_api.models import Consumer, ConsumerState, Relay, Stream
from control_api.node_client import NodeHandle
from protos import media_node_pb2 as pb

log = logging.getLogger(__name__)
READY_WAIT_S = 10.0


async def _consumers_per_node(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(
        select(Consumer.node_id, func.count())
        .where(col(Consumer.state) != ConsumerState.closed.value, col(Consumer.kind) != "audio")
        .group_by(col(Consumer.node_id))
    )
    return {node_id: int(count) for node_id, count in rows.all()}


async def viewer_node(
    ctx: AppContext, session: AsyncSession, stream: Stream, origin: NodeHandle
) -> NodeHandle:
    """The node a new viewer of `stream` consumes on (the origin or a relayed edge)."""
    limit = ctx.settings.edge_relay_after
    if limit <= 0:
        return origin
    counts = await _consumers_per_node(session)
    if counts.get(str(origin.node_id), 0) < limit:
        return origin
    relays = await session.exec(select(Relay).where(col(Relay.stream_id) == stream.id))
    relayed = {r.edge_node_id for r in relays.all()}
    candidates = [
        h
        for h in ctx.nodes.handles
        if h.node_id
        and h is not origin
        and not h.draining
        and not h.down
        and h.fresh(ctx.settings.node_stale_after_s)
        and counts.get(str(h.node_id), 0) < limit
    ]
    if not candidates:
        return origin
    edge = min(
        candidates, key=lambda h: (str(h.node_id) not in relayed, counts.get(str(h.node_id), 0))
    )
    try:
        await ensure(ctx, session, stream, origin, edge)
    except Failure as exc:
        log.warning("relay of %s to %s failed: %s", stream.id, edge.node_id, exc.detail)
        return origin
    return edge


async def ensure(
    ctx: AppContext, session: AsyncSession, stream: Stream, origin: NodeHandle, edge: NodeHandle
) -> None:
    """Makes sure `stream` is relayed from `origin` to `edge` (ready when this returns)."""
    row = Relay(
        id=str(uuid.uuid4()),
        stream_id=stream.id,
        origin_node_id=str(origin.node_id),
        edge_node_id=str(edge.node_id),
    )
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        await _wait_ready(ctx, stream.id, str(edge.node_id))
        return
    try:
        await _handshake(ctx, row, origin, edge)
    except BaseException:
        await _close_sides(ctx, row, pb.CLOSE_REASON_STREAM_STOPPED)
        await session.exec(sa_delete(Relay).where(col(Relay.id) == row.id))
        await session.commit()
        raise
    await session.exec(update(Relay).where(col(Relay.id) == row.id).values(ready=True))
    await session.commit()
    log.info(
        "relay open",
        extra={"stream_id": stream.id, "from_node": origin.node_id, "node_id": edge.node_id},
    )


async def _handshake(ctx: AppContext, row: Relay, origin: NodeHandle, edge: NodeHandle) -> None:
    o = await ctx.nodes.open_relay(origin, row.id, row.stream_id, origin=True)
    e = await ctx.nodes.open_relay(edge, row.id, row.stream_id, origin=False)
    piped = await ctx.nodes.connect_relay(origin, row.id, peer=e, producers=None)
    await ctx.nodes.connect_relay(edge, row.id, peer=o, producers=piped)


async def _wait_ready(ctx: AppContext, stream_id: str, edge_node_id: str) -> None:
    """Another replica is opening this relay: wait for its row to turn ready (or vanish)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WAIT_S
    while loop.time() < deadline:
        async with ctx.sessions() as session:
            rows = await session.exec(
                select(Relay).where(
                    col(Relay.stream_id) == stream_id, col(Relay.edge_node_id) == edge_node_id
                )
            )
            row = rows.first()
        if row is None:
            break
        if row.ready:
            return
        await asyncio.sleep(0.1)  # the other replica's handshake: nothing to await here
    raise RelayUnavailable(f"relay of {stream_id} to {edge_node_id} not ready")


async def _close_sides(
    ctx: AppContext, row: Relay, edge_reason: int, lost: str | None = None
) -> None:
    for node_id, reason in ((row.edge_node_id, edge_reason), (row.origin_node_id, 0)):
        handle = ctx.nodes.known(node_id)
        if handle is None or node_id == lost:
            continue
        try:
            await ctx.nodes.close_relay(handle, row.id, reason)
        except NotFound:
            pass
        except Failure as exc:
            log.debug("closing relay %s on %s: %s", row.id, node_id, exc.detail)


async def _take(session: AsyncSession, relay_id: str) -> Relay | None:
    """Deletes a relay row; returns it only to the one caller whose delete removed it, so
    of all replicas seeing the same event exactly one acts on it."""
    row = await session.get(Relay, relay_id)
    if row is None:
        return None
    result = await session.exec(sa_delete(Relay).where(col(Relay.id) == relay_id))
    await session.commit()
    return row if result.rowcount else None


async def side_closed(ctx: AppContext, session: AsyncSession, event: pb.RelayClosed) -> None:
    """A node reported its side of a relay gone: close the other side, forget the relay."""
    row = await _take(session, event.relay_id)
    if row is None:
        return
    log.info(
        "relay closed",
        extra={"stream_id": row.stream_id, "node_id": row.edge_node_id, "reason": event.reason},
    )
    # The origin's side went away (stream stopped, ingest replaced, worker died): the edge's
    # viewers go with it, told the stream stopped; an idle edge has no viewers to tell.
    await _close_sides(ctx, row, pb.CLOSE_REASON_STREAM_STOPPED)


async def node_lost(ctx: AppContext, node_id: str) -> None:
    """Failover: relays from a lost origin close on their edges (viewers told `node_lost`);
    relays to a lost edge close on their origin."""
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Relay.id).where(
                (col(Relay.origin_node_id) == node_id) | (col(Relay.edge_node_id) == node_id)
            )
        )
        for relay_id in list(rows.all()):
            row = await _take(session, relay_id)
            if row is not None:
                await _close_sides(ctx, row, pb.CLOSE_REASON_NODE_LOST, lost=node_id)
