"""Viewers: consume, connect, resume, read and close consumers on their node.

A consumer row is written after the node created the consumer and belongs to
the user who asked; every lookup filters on the owner, so another user's
consumer is indistinguishable from an unknown one (404). Consumers the node
closed by itself keep their row for `closed_consumer_ttl_s` with the reason,
then the reaper (node_sync) removes them.

Audio: the node adds an audio consumer on the viewer's transport when the stream
has audio (unless the request opts out); it gets its own row (kind ``audio``, same
transport), so it is read, resumed and deleted like any consumer. Deleting the
video consumer closes the transport on the node, and so the audio consumer: its
row goes too. Deleting the audio consumer closes it alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.auth import Principal
from control_api.context import AppContext
from control_api.failures import ConsumerClosed, Failure, NotFound, StreamNotLive, not_found
from control_api.hot_path import HotPath
from control_api.models import Consumer, ConsumerState, Desired, Stream, StreamStatus, utcnow
from control_api.node_client import NodeHandle
from control_api.rtp import complete_capabilities
from control_api.schemas.media import ConsumerOut, ConsumerStats
from control_api.services import on_demand, quotas, relays

log = logging.getLogger(__name__)


CONSUMERS = Consumer.__table__  # type: ignore[attr-defined]
COLUMNS = [c.name for c in CONSUMERS.columns]
# The consume path's writes as prepared Core statements on HotPath (control_api/
# hot_path.py): one INSERT for the video row and its audio row (one write per viewer),
# one DELETE for a consumer and, for a video one, the audio row on its transport.
INSERT_ONE = insert(CONSUMERS).values({c: bindparam(f"a_{c}") for c in COLUMNS})
INSERT_TWO = insert(CONSUMERS).values(
    [{c: bindparam(f"a_{c}") for c in COLUMNS}, {c: bindparam(f"b_{c}") for c in COLUMNS}]
)
DELETE_VIEWER = (
    sa_delete(CONSUMERS)
    .where(
        or_(
            CONSUMERS.c.id == bindparam("consumer_id"),
            and_(
                CONSUMERS.c.transport_id == bindparam("audio_of_transport"),
                CONSUMERS.c.kind == "audio",
            ),
        )
    )
    .returning(CONSUMERS.c.id)
)


def hot_path(ctx: AppContext) -> HotPath:
    assert ctx.hot is not None, "the lifespan builds HotPath"
    return ctx.hot


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def not_live(stream: Stream) -> StreamNotLive:
    return StreamNotLive(f"stream {stream.id} is not live ({stream.status})")


def _hosted(ctx: AppContext, stream: Stream) -> NodeHandle:
    """The node handle of a stream that may be live; `StreamNotLive` when it cannot be."""
    if (
        stream.node_id is None
        or stream.desired != Desired.running.value
        or stream.status in (StreamStatus.created.value, StreamStatus.stopped.value)
    ):
        raise not_live(stream)
    return ctx.nodes.by_id(stream.node_id)


CAPS_CACHE_MAX = 4096


async def router_capabilities(ctx: AppContext, stream: Stream) -> dict[str, Any]:
    """The stream's router capabilities, asked of its node once per producer.

    Keyed by (node, stream, producer): a restart or a move gives the stream a new
    producer id (the row's, as the node reported it), so a stale entry is never read;
    entries of gone producers are dropped wholesale when the cache is full.
    """
    stream = await on_demand.ensure_live(ctx, stream)
    handle = _hosted(ctx, stream)
    key = (str(stream.node_id), stream.id, stream.producer_id or "")
    cached = ctx.router_caps.get(key) if stream.producer_id else None
    if cached is not None:
        return cached
    caps = complete_capabilities(await ctx.nodes.router_capabilities(handle, stream.id))
    if stream.producer_id:
        if len(ctx.router_caps) >= CAPS_CACHE_MAX:
            ctx.router_caps.clear()
        ctx.router_caps[key] = caps
    return caps


@dataclass(frozen=True)
class Consumed:
    """A consumer just created on its node, with its transport."""

    consumer: Consumer
    rtp_parameters: dict[str, Any]
    transport: dict[str, Any]  # id, iceParameters, iceCandidates, dtlsParameters
    connected: bool
    audio: Consumer | None = None
    """The audio consumer on the same transport (None: the stream has none, the
    capabilities cannot receive it, or the request opted out)."""
    audio_rtp_parameters: dict[str, Any] | None = None


async def consume(
    ctx: AppContext,
    session: AsyncSession,
    user: Principal,
    stream: Stream,
    client_id: str,
    rtp_capabilities: dict[str, Any],
    dtls_parameters: dict[str, Any] | None = None,
    paused: bool = False,
    origin: str = "v2",
    audio: bool = True,
) -> Consumed:
    """Creates transport + consumer on the stream's node (or on an edge node it is relayed
    to, services/relays.py) and records the consumer."""
    stream = await on_demand.ensure_live(ctx, stream)
    handle = await relays.viewer_node(ctx, session, stream, _hosted(ctx, stream))
    await quotas.check_consume(ctx, session, user)  # QuotaExceeded
    reply = await ctx.nodes.consume(
        handle, stream.id, client_id, rtp_capabilities, dtls_parameters, paused, audio
    )
    info = reply.consumer
    state = info.state
    if dtls_parameters is not None and state == ConsumerState.new:
        state = ConsumerState.connecting
    row = Consumer(
        id=info.id,
        stream_id=stream.id,
        node_id=str(handle.node_id),
        transport_id=reply.transport["id"],
        owner_id=user.id,
        client_id=client_id,
        producer_id=info.producer_id,
        kind=info.kind,
        origin=origin,
        paused=info.paused,
        state=state.value,
    )
    audio_row = None
    if reply.audio is not None:
        audio_row = Consumer(
            id=reply.audio.id,
            stream_id=stream.id,
            node_id=str(handle.node_id),
            transport_id=row.transport_id,
            owner_id=user.id,
            client_id=client_id,
            producer_id=reply.audio.producer_id,
            kind="audio",
            origin=origin,
            paused=reply.audio.paused,
            state=state.value,
        )
    try:
        await _insert_rows(ctx, session, row, audio_row)
    except Exception:
        await _close_on_node(ctx, row)  # the transport, and the audio consumer with it
        if audio_row is not None:
            await session.exec(sa_delete(Consumer).where(col(Consumer.id) == audio_row.id))
            await session.commit()
        raise
    log.info(
        "consumer created",
        extra={
            "stream_id": stream.id,
            "consumer_id": row.id,
            "transport_id": row.transport_id,
            "client_id": client_id,
            "user": user.username,
        },
    )
    return Consumed(
        consumer=row,
        rtp_parameters=info.rtp_parameters,
        transport=reply.transport,
        connected=reply.connected,
        audio=audio_row,
        audio_rtp_parameters=reply.audio.rtp_parameters if reply.audio is not None else None,
    )


async def _insert_rows(
    ctx: AppContext, session: AsyncSession, row: Consumer, audio_row: Consumer | None
) -> None:
    """Both rows in one statement; on a conflict (a tombstone the event sync wrote
    first) row by row through the session, which merges into the tombstone."""
    params = {f"a_{k}": v for k, v in row.model_dump().items()}
    if audio_row is not None:
        params.update({f"b_{k}": v for k, v in audio_row.model_dump().items()})
    try:
        await hot_path(ctx).execute(INSERT_ONE if audio_row is None else INSERT_TWO, params)
    except IntegrityError:
        await _insert(session, row)
        if audio_row is not None:
            await _insert(session, audio_row)


async def _insert(session: AsyncSession, row: Consumer) -> None:
    """Inserts the row; merges into a tombstone the event sync wrote first."""
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        tomb = await session.get(Consumer, row.id)
        if tomb is None or tomb.owner_id is not None:
            raise
        for name in ("stream_id", "owner_id", "client_id", "producer_id", "kind", "origin"):
            setattr(tomb, name, getattr(row, name))
        session.add(tomb)
        await session.commit()
        row.state, row.closed_reason, row.closed_at = tomb.state, tomb.closed_reason, tomb.closed_at


async def _close_on_node(ctx: AppContext, row: Consumer) -> None:
    handle = ctx.nodes.known(row.node_id)
    if handle is None:
        return
    try:
        await ctx.nodes.close_consumer(handle, row.id)
    except NotFound:
        pass
    except Failure as exc:
        log.warning("could not close consumer %s on its node: %s", row.id, exc.detail)


def _expired(ctx: AppContext, row: Consumer) -> bool:
    if row.state != ConsumerState.closed.value or row.closed_at is None:
        return False
    ttl = timedelta(seconds=ctx.settings.closed_consumer_ttl_s)
    return utcnow() - _utc(row.closed_at) > ttl


async def owned(
    ctx: AppContext, session: AsyncSession, user: Principal, consumer_id: str
) -> Consumer:
    """The user's consumer, or 404 (unknown, someone else's, or closed > TTL ago)."""
    row = await session.get(Consumer, consumer_id)
    if row is None or row.owner_id != user.id or _expired(ctx, row):
        raise not_found("consumer", consumer_id)
    return row


async def owned_row(ctx: AppContext, user: Principal, consumer_id: str) -> Consumer:
    """`owned` without a session (HotPath): a detached row to read or close, never to
    add to a session."""
    row = await hot_path(ctx).get(Consumer, consumer_id)
    if row is None or row.owner_id != user.id or _expired(ctx, row):
        raise not_found("consumer", consumer_id)
    return row


async def owned_transport(session: AsyncSession, user: Principal, transport_id: str) -> Consumer:
    rows = await session.exec(
        select(Consumer).where(
            col(Consumer.transport_id) == transport_id,
            col(Consumer.owner_id) == user.id,
            col(Consumer.state) != ConsumerState.closed.value,
        )
    )
    row = rows.first()
    if row is None:
        raise not_found("transport", transport_id)
    return row


async def advance(session: AsyncSession, transport_id: str, state: ConsumerState) -> None:
    """Moves a transport's consumers forward (new → connecting → connected), never back."""
    lower = [s.value for s in ConsumerState if s.rank < state.rank]
    await session.exec(
        update(Consumer)
        .where(col(Consumer.transport_id) == transport_id, col(Consumer.state).in_(lower))
        .values(state=state.value)
    )
    await session.commit()


MARK_CLOSED = (
    update(CONSUMERS)
    .where(
        CONSUMERS.c.id == bindparam("consumer_id"),
        CONSUMERS.c.state != ConsumerState.closed.value,
    )
    .values(
        state=ConsumerState.closed.value,
        closed_reason=bindparam("reason"),
        closed_at=bindparam("closed_at"),
    )
    .returning(CONSUMERS.c.id)
)


async def mark_closed(
    session: AsyncSession,
    consumer_ids: list[str],
    reason: str,
    tombstone: dict[str, str],
    hot: HotPath | None = None,
) -> None:
    """Marks consumers closed; an id we do not know yet gets a tombstone (owner NULL).

    The tombstone covers a node that reports the close before the replica
    that created the consumer has written its row (see `_insert`). With `hot` (the
    node's close events: one per viewer) the UPDATE runs on HotPath, and the session
    is used only to write a tombstone.
    """
    for consumer_id in consumer_ids:
        if hot is not None:
            params = {"consumer_id": consumer_id, "reason": reason, "closed_at": utcnow()}
            if await hot.execute(MARK_CLOSED, params) or not tombstone:
                continue
            updated = 0
        else:
            result = await session.exec(
                update(Consumer)
                .where(
                    col(Consumer.id) == consumer_id,
                    col(Consumer.state) != ConsumerState.closed.value,
                )
                .values(state=ConsumerState.closed.value, closed_reason=reason, closed_at=utcnow())
            )
            updated = result.rowcount
        if not updated and tombstone and await session.get(Consumer, consumer_id) is None:
            session.add(
                Consumer(
                    id=consumer_id,
                    state=ConsumerState.closed.value,
                    closed_reason=reason,
                    closed_at=utcnow(),
                    **tombstone,
                )
            )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # the creator's row landed meanwhile; next event wins


async def connect(
    ctx: AppContext, session: AsyncSession, user: Principal, transport_id: str, dtls: dict[str, Any]
) -> None:
    row = await owned_transport(session, user, transport_id)
    handle = ctx.nodes.by_id(row.node_id)
    await ctx.nodes.connect_transport(handle, transport_id, dtls)
    await advance(session, transport_id, ConsumerState.connecting)
    log.info("transport connect", extra={"transport_id": transport_id, "consumer_id": row.id})


def _closed(row: Consumer) -> ConsumerClosed:
    return ConsumerClosed(f"consumer {row.id} is closed ({row.closed_reason})")


async def resume(ctx: AppContext, session: AsyncSession, row: Consumer) -> None:
    if row.state == ConsumerState.closed.value:
        raise _closed(row)
    handle = ctx.nodes.by_id(row.node_id)
    try:
        await ctx.nodes.resume_consumer(handle, row.id)
    except NotFound as exc:
        await mark_closed(session, [row.id], "node_lost", {})
        raise _closed(row) from exc
    row.paused = False
    session.add(row)
    await session.commit()


ZERO_STATS = ConsumerStats(bitrate=0, packets_sent=0, packets_lost=0, score=0)


def to_out(row: Consumer, stats: ConsumerStats = ZERO_STATS) -> ConsumerOut:
    return ConsumerOut(
        id=row.id,
        stream_id=row.stream_id,
        transport_id=row.transport_id,
        producer_id=row.producer_id,
        kind=row.kind,
        state=ConsumerState(row.state).value,
        closed_reason=row.closed_reason,
        client_id=row.client_id,
        paused=row.paused,
        created_at=_utc(row.created_at),
        stats=stats if row.state != ConsumerState.closed.value else ZERO_STATS,
    )


async def describe(ctx: AppContext, session: AsyncSession, row: Consumer) -> ConsumerOut:
    """The consumer with live stats from its node (the DB view when the node is away)."""
    if row.state == ConsumerState.closed.value:
        return to_out(row)
    handle = ctx.nodes.known(row.node_id)
    if handle is None:
        return to_out(row)
    try:
        info = await ctx.nodes.get_consumer(handle, row.id)
    except NotFound:
        # Gone on the node and we missed the event: say so, from now on.
        await mark_closed(session, [row.id], "node_lost", {})
        await session.refresh(row)
        return to_out(row)
    except Failure:
        return to_out(row)
    state = info.state
    if state == ConsumerState.closed:
        await mark_closed(session, [row.id], info.closed_reason, {})
        await session.refresh(row)
    elif ConsumerState(row.state).rank < state.rank:
        await advance(session, row.transport_id, state)
        await session.refresh(row)
    if row.paused != info.paused:
        row.paused = info.paused
        session.add(row)
        await session.commit()
    stats = ConsumerStats(
        bitrate=info.bitrate_bps,
        packets_sent=info.packets_sent,
        packets_lost=info.packets_lost,
        score=info.score,
    )
    return to_out(row, stats)


async def close_owned(ctx: AppContext, row: Consumer) -> bool:
    """`close` in one statement without a session (the DELETE route and V1 sockets):
    the row and, for a video consumer, its transport's audio row, then the node."""
    rows = await hot_path(ctx).execute(
        DELETE_VIEWER,
        {
            "consumer_id": row.id,
            "audio_of_transport": row.transport_id if row.kind != "audio" else None,
        },
    )
    if row.id not in {r[0] for r in rows}:
        return False
    await _release(ctx, row)
    return True


async def _release(ctx: AppContext, row: Consumer) -> None:
    """After a close removed ``row``: the node lets the viewer go (unless it already
    did), and the close is logged — the same for both close paths."""
    if row.state != ConsumerState.closed.value:
        await _close_on_node(ctx, row)
    log.info(
        "consumer closed",
        extra={"consumer_id": row.id, "transport_id": row.transport_id, "stream_id": row.stream_id},
    )


async def close(ctx: AppContext, session: AsyncSession, row: Consumer) -> bool:
    """Forgets the row, then closes consumer + transport on the node (if still open).

    Returns False when the row was already gone: of two overlapping closes of one
    consumer (two DELETEs, a DELETE and a socket close) only the first does the
    work. The row goes first so that once the node has released the viewer, no
    reader can still see it open. An unreachable node does not fail the call: the
    node's orphan sweep (node_sync) closes the consumer once the node is back.
    """
    result = await session.exec(sa_delete(Consumer).where(col(Consumer.id) == row.id))
    if result.rowcount and row.kind != "audio":
        # The node closes the transport, and with it the viewer's audio consumer.
        await session.exec(
            sa_delete(Consumer).where(
                col(Consumer.transport_id) == row.transport_id, col(Consumer.kind) == "audio"
            )
        )
    await session.commit()
    if result.rowcount == 0:
        return False
    await _release(ctx, row)
    return True
