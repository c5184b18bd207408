"""Stream lifecycle: create, start (placement + StartStream), stop, delete, status mirror.

The database row holds two things: what the operator wants (`desired`) and
what the node last said (`status`). Requests change `desired` first and then
call the node; node events change `status`. Events carry the node's clock and
an update only applies if it is not older than the row's last one, so every
replica may apply the same event stream and the row converges (idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam
from sqlalchemy import delete as sql_delete
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.auth import Principal
from control_api.context import AppContext
from control_api.failures import Failure, NotFound, StreamRunning, not_found
from control_api.models import (
    Consumer,
    ConsumerState,
    Desired,
    Stream,
    StreamStatus,
    utcnow,
)
from control_api.node_client import CODEC_NAMES, NodeHandle, stream_status
from control_api.placement import place
from control_api.schemas.streams import StreamCreate, StreamOut
from protos import media_node_pb2 as pb

log = logging.getLogger(__name__)
_URL_PASSWORD = re.compile(r"^([a-z]+://[^:/@]+):[^@/]*@", re.IGNORECASE)
RUNNING = (StreamStatus.starting.value, StreamStatus.live.value)
TRANSCODE_MODES: dict[Any, int] = {
    "auto": pb.TRANSCODE_MODE_AUTO,
    True: pb.TRANSCODE_MODE_ALWAYS,
    False: pb.TRANSCODE_MODE_NEVER,
}


def redact(url: str) -> str:
    """`rtsp://user:secret@cam/x` → `rtsp://user:***@cam/x` (camera passwords stay in the DB)."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; they were written as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_out(stream: Stream, consumer_count: int, show_rtp_endpoint: bool = False) -> StreamOut:
    """The API view of a row. The RTP-push endpoint carries the sender's SRTP key:
    only operators see it (`show_rtp_endpoint`)."""
    source = dict(stream.source)
    if "url" in source:
        source["url"] = redact(str(source["url"]))
    return StreamOut(
        id=stream.id,
        name=stream.name,
        status=StreamStatus(stream.status),
        status_reason=stream.status_reason,
        source=source,
        codec=stream.codec,
        node_id=stream.node_id,
        producer_id=stream.producer_id,
        consumer_count=consumer_count,
        rtp_endpoint=stream.rtp_endpoint if show_rtp_endpoint else None,
        video=stream.video,
        audio=stream.audio,
        created_at=_utc(stream.created_at),
        updated_at=_utc(stream.updated_at),
    )


def _open_consumers() -> Any:
    return and_(
        col(Consumer.state) != ConsumerState.closed.value, col(Consumer.owner_id).is_not(None)
    )


async def consumer_counts(session: AsyncSession, stream_ids: list[str]) -> dict[str, int]:
    if not stream_ids:
        return {}
    rows = await session.exec(
        select(Consumer.stream_id, func.count())
        .where(
            col(Consumer.stream_id).in_(stream_ids),
            _open_consumers(),
            col(Consumer.kind) != "audio",  # a viewer's audio rides on its video's transport
        )
        .group_by(Consumer.stream_id)
    )
    return dict(rows.all())


async def out(session: AsyncSession, stream: Stream, show_rtp_endpoint: bool = False) -> StreamOut:
    counts = await consumer_counts(session, [stream.id])
    return to_out(stream, counts.get(stream.id, 0), show_rtp_endpoint)


async def list_out(session: AsyncSession, show_rtp_endpoint: bool = False) -> list[StreamOut]:
    streams = list(
        (
            await session.exec(
                select(Stream)
                .where(col(Stream.desired) != Desired.deleted.value)
                .order_by(col(Stream.created_at))
            )
        ).all()
    )
    counts = await consumer_counts(session, [s.id for s in streams])
    return [to_out(s, counts.get(s.id, 0), show_rtp_endpoint) for s in streams]


OPEN_VIEWERS_OF = select(func.count()).where(
    col(Consumer.stream_id) == bindparam("stream_id"),
    _open_consumers(),
    col(Consumer.kind) != "audio",
)


async def find(ctx: AppContext, stream_id: str) -> Stream:
    """`get_or_404` without a session (HotPath): a detached row for the read-only
    request paths (GET, router capabilities, consume); never add it to a session."""
    assert ctx.hot is not None
    stream = await ctx.hot.get(Stream, stream_id)
    if stream is None or stream.desired == Desired.deleted.value:
        raise not_found("stream", stream_id)
    return stream


async def out_hot(ctx: AppContext, stream: Stream, show_rtp_endpoint: bool = False) -> StreamOut:
    """`out` with the viewer count read on HotPath."""
    assert ctx.hot is not None
    rows = await ctx.hot.execute(OPEN_VIEWERS_OF, {"stream_id": stream.id})
    return to_out(stream, int(rows[0][0]), show_rtp_endpoint)


async def get_or_404(session: AsyncSession, stream_id: str) -> Stream:
    stream = await session.get(Stream, stream_id)
    if stream is None or stream.desired == Desired.deleted.value:
        raise not_found("stream", stream_id)
    return stream


async def create(session: AsyncSession, user: Principal, body: StreamCreate) -> Stream:
    stream = Stream(
        name=body.name,
        source=body.source.model_dump(exclude_none=True),
        codec=body.codec,
        created_by=user.id,
    )
    session.add(stream)
    await session.commit()
    log.info("stream created", extra={"stream_id": stream.id, "user": user.username})
    return stream


def source_to_pb(source: dict[str, Any]) -> pb.StreamSource:
    kind = source.get("type")
    if kind == "rtsp":
        mode = TRANSCODE_MODES.get(source.get("transcode", "auto"), pb.TRANSCODE_MODE_AUTO)
        return pb.StreamSource(
            rtsp=pb.RtspSource(
                url=source["url"],
                transcode_mode=mode,
                no_fast_start=not source.get("fast_start", True),
            )
        )
    if kind == "rtp":
        return pb.StreamSource(rtp=pb.RtpSource())
    return pb.StreamSource(
        test_pattern=pb.TestPatternSource(
            width=source.get("width") or 0,
            height=source.get("height") or 0,
            fps=source.get("fps") or 0,
            keyframe_interval_s=source.get("keyframe_interval_s") or 0,
            audio=bool(source.get("audio", False)),
        )
    )


def _rtp_endpoint(info: pb.StreamInfo) -> dict[str, Any] | None:
    if not info.HasField("rtp_endpoint") or not info.rtp_endpoint.port:
        return None
    ep = info.rtp_endpoint
    return {
        "ip": ep.ip,
        "port": ep.port,
        "payload_type": ep.payload_type,
        "ssrc": ep.ssrc,
        "codec": CODEC_NAMES.get(ep.codec),
        "srtp_crypto_suite": ep.srtp_crypto_suite or None,
        "srtp_key_base64": ep.srtp_key_base64 or None,
    }


def _video(info: pb.StreamInfo) -> dict[str, Any] | None:
    if not info.HasField("video") or not info.video.codec:
        return None
    v = info.video
    return {"codec": v.codec, "width": v.width or None, "height": v.height or None}


def _audio(info: pb.StreamInfo) -> dict[str, Any] | None:
    if not info.HasField("audio") or not info.audio.codec:
        return None
    return {"codec": info.audio.codec}


def _info_values(info: pb.StreamInfo) -> dict[str, Any]:
    return {
        "status": stream_status(info.status).value,
        "status_reason": info.status_reason[:500],
        "producer_id": info.producer_id or None,
        "rtp_endpoint": _rtp_endpoint(info),
        "video": _video(info),
        "audio": _audio(info),
        "updated_at": utcnow(),
    }


async def apply_reply(session: AsyncSession, stream_id: str, info: pb.StreamInfo) -> None:
    """Writes a StartStream/StopStream/ListStreams answer.

    These carry no timestamp, so they only refuse the one regression that a
    late answer can cause: `starting` over a `live` an event already wrote.
    """
    values = _info_values(info)
    stmt = update(Stream).where(col(Stream.id) == stream_id)
    if values["status"] == StreamStatus.starting.value:
        stmt = stmt.where(col(Stream.status) != StreamStatus.live.value)
    await session.exec(stmt.values(**values))
    await session.commit()


def _event_values(stream: Stream, info: pb.StreamInfo) -> dict[str, Any] | None:
    """What a status event writes into `stream`'s row; None when it must not apply."""
    values = _info_values(info)
    if stream.desired != Desired.running.value and values["status"] in RUNNING:
        return None
    if stream.desired == Desired.running.value and values["status"] == "stopped":
        # Stopped behind our back (operator on the node, node restart): an error for
        # the API until the reconciler has it running again.
        values["status"] = StreamStatus.error.value
        values["status_reason"] = info.status_reason or "stopped on the media node"
    return values


def event_changes_nothing(stream: Stream, node_id: str, info: pb.StreamInfo, ts_ms: int) -> bool:
    """True when a status event, not older than the row's last, would write what the row
    already holds. The node reports its stream on every consume and close (the viewer
    count changes, which the row does not keep), so without this check each viewer
    would cost the database two more writes. The row's event clock stays behind then;
    events of one node arrive in order, so no older one can follow."""
    if stream.node_id != node_id or ts_ms < stream.status_at_ms:
        return False
    values = _event_values(stream, info)
    if values is None:
        return False
    values.pop("updated_at")
    return all(getattr(stream, name) == value for name, value in values.items())


async def apply_event(
    session: AsyncSession, node_id: str, info: pb.StreamInfo, ts_ms: int
) -> Stream | None:
    """Writes a StreamStatusChanged event; returns the row if it applied, else None.

    Ignored when older than the row's last event, when the stream lives on
    another node now, or when it says running for a stream the operator stopped.
    """
    stream = await session.get(Stream, info.stream_id)
    if stream is None or stream.node_id != node_id:
        return None
    values = _event_values(stream, info)
    if values is None:
        return None
    result = await session.exec(
        update(Stream)
        .where(col(Stream.id) == stream.id, col(Stream.status_at_ms) <= ts_ms)
        .where(col(Stream.node_id) == node_id)
        .values(status_at_ms=ts_ms, **values)
    )
    await session.commit()
    if not result.rowcount:
        return None
    await session.refresh(stream)
    return stream


async def mark(
    session: AsyncSession,
    stream_ids: list[str],
    status: StreamStatus,
    reason: str,
    ts_ms: int | None = None,
    node_id: str | None = None,
) -> None:
    """Sets a status on streams (worker died, node unreachable)."""
    if not stream_ids:
        return
    stmt = update(Stream).where(col(Stream.id).in_(stream_ids))
    if node_id is not None:
        stmt = stmt.where(col(Stream.node_id) == node_id)
    values: dict[str, Any] = {
        "status": status.value,
        "status_reason": reason,
        "updated_at": utcnow(),
    }
    if ts_ms is not None:
        stmt = stmt.where(col(Stream.status_at_ms) <= ts_ms)
        values["status_at_ms"] = ts_ms
    await session.exec(stmt.values(**values))
    await session.commit()


async def streams_per_node(session: AsyncSession, but: str | None = None) -> dict[str, int]:
    """Streams the operator wants running, per node, from the database (all replicas'
    starts, including the ones the nodes have not reported yet); `but` leaves one out."""
    stmt = select(Stream.node_id, func.count()).where(
        col(Stream.desired) == Desired.running.value, col(Stream.node_id).is_not(None)
    )
    if but is not None:
        stmt = stmt.where(col(Stream.id) != but)
    rows = await session.exec(stmt.group_by(Stream.node_id))
    return {str(node): int(n) for node, n in rows.all()}


async def start_on(ctx: AppContext, handle: NodeHandle, stream: Stream) -> pb.StreamInfo:
    """StartStream of the row's source and codec on `handle` (idempotent on the node)."""
    return await ctx.nodes.start_stream(
        handle, stream.id, source_to_pb(stream.source), stream.codec
    )


async def start(
    ctx: AppContext, session: AsyncSession, stream: Stream, force: bool = False
) -> Stream:
    """Places the stream on a node and starts it there; a no-op for a live stream.

    `force` (the reconciler) calls the node even when the row says running:
    StartStream is idempotent on the node, and the row may be stale.
    """
    if not force and stream.desired == Desired.running.value and stream.status in RUNNING:
        return stream
    previous = (stream.desired, stream.node_id)
    handle = place(
        ctx.nodes.handles,
        ctx.selector,
        ctx.settings.node_stale_after_s,
        preferred=stream.node_id,
        stream_counts=await streams_per_node(session, but=stream.id),
    )
    assert handle.node_id is not None
    if stream.node_id != handle.node_id:
        stream.status_at_ms = 0  # a new node's clock starts a new event history
    stream.desired, stream.node_id = Desired.running.value, handle.node_id
    stream.updated_at = utcnow()
    session.add(stream)
    await session.commit()
    try:
        info = await start_on(ctx, handle, stream)
    except Failure:
        stream.desired, stream.node_id = previous
        session.add(stream)
        await session.commit()
        raise
    await apply_reply(session, stream.id, info)
    await session.refresh(stream)
    if stream.desired != Desired.running.value or stream.node_id != handle.node_id:
        # Another replica stopped the stream, or started it elsewhere, while our
        # StartStream was under way: what we started must not outlive the row.
        await _undo_start(ctx, handle, stream)
        return stream
    log.info(
        "stream start requested",
        extra={"stream_id": stream.id, "node_id": handle.node_id, "status": stream.status},
    )
    return stream


async def _undo_start(ctx: AppContext, handle: NodeHandle, stream: Stream) -> None:
    elsewhere = stream.node_id != handle.node_id
    method = "ForgetStream" if elsewhere else "StopStream"
    log.warning(
        "start lost a race (row now %s on %s): %s on %s",
        stream.desired,
        stream.node_id,
        method,
        handle.node_id,
        extra={"stream_id": stream.id},
    )
    try:
        if elsewhere:
            await ctx.nodes.forget_stream(handle, stream.id)
        else:
            await ctx.nodes.stop_stream(handle, stream.id)
    except Failure as exc:
        # The node's reconciliation stops it when it answers again.
        log.warning("undo of start on %s failed: %s", handle.node_id, exc.detail)


async def close_consumers_of(session: AsyncSession, stream_id: str, reason: str) -> None:
    await session.exec(
        update(Consumer)
        .where(col(Consumer.stream_id) == stream_id, _open_consumers())
        .values(state=ConsumerState.closed.value, closed_reason=reason, closed_at=utcnow())
    )
    await session.commit()


async def stop(ctx: AppContext, session: AsyncSession, stream: Stream) -> Stream:
    """Stops the stream and closes its consumers; a no-op for a stopped stream.

    An unreachable node does not fail the stop: the row says stopped and the
    node's reconciliation stops the stream when the node is back.
    """
    if stream.desired == Desired.stopped.value and stream.status in ("stopped", "created"):
        return stream
    stream.desired = Desired.stopped.value
    stream.updated_at = utcnow()
    session.add(stream)
    await session.commit()
    # Re-read after the commit: a replica racing a start may have moved the row to
    # another node meanwhile, and that is the node to stop (a start that commits later
    # sees `stopped` after its StartStream and undoes itself).
    await session.refresh(stream)
    handle = ctx.nodes.known(stream.node_id)
    info: pb.StreamInfo | None = None
    if handle is not None:
        try:
            info = await ctx.nodes.stop_stream(handle, stream.id)
        except NotFound:
            pass
        except Failure as exc:
            log.warning(
                "stop: node %s did not answer (%s); it will be reconciled",
                stream.node_id,
                exc.detail,
                extra={"stream_id": stream.id},
            )
    if info is None:
        info = pb.StreamInfo(stream_id=stream.id, status=pb.STREAM_STATUS_STOPPED)
    stopped = pb.StreamInfo()
    stopped.CopyFrom(info)
    stopped.status = pb.STREAM_STATUS_STOPPED
    await apply_reply(session, stream.id, stopped)
    await close_consumers_of(session, stream.id, "stream_stopped")
    await session.refresh(stream)
    log.info("stream stopped", extra={"stream_id": stream.id, "node_id": stream.node_id})
    return stream


TOMBSTONE_TTL = timedelta(days=7)
"""How long a deleted stream's hidden row waits for nodes that could not be told (a node
away longer is decommissioned, or an operator forgets its streams with grpcurl)."""


async def delete(ctx: AppContext, session: AsyncSession, stream: Stream) -> None:
    """Deletes a stopped stream and its consumer rows (409 while it runs); every node
    forgets it. When a node cannot be told now, a hidden tombstone row (404 to the API)
    stays so that node forgets the stream when it answers again (node_sync.reconcile)."""
    if stream.desired == Desired.running.value:
        raise StreamRunning(f"stream {stream.id} is running; stop it first")
    await session.exec(sql_delete(Consumer).where(col(Consumer.stream_id) == stream.id))
    told = await forget_everywhere(ctx, stream.id)
    if told:
        await session.delete(stream)
    else:
        stream.desired, stream.updated_at = Desired.deleted.value, utcnow()
        session.add(stream)
    await session.commit()
    log.info("stream deleted", extra={"stream_id": stream.id, "nodes_told": told})


async def forget_everywhere(ctx: AppContext, stream_id: str) -> bool:
    """ForgetStream on every node (a failover may have left a copy on a node that was
    away); True when each one answered (NOT_FOUND included). Down nodes are not waited
    for: they count as not told."""

    async def forget(handle: NodeHandle) -> bool:
        if handle.down:
            return False
        try:
            await ctx.nodes.forget_stream(handle, stream_id)
        except NotFound:
            return True
        except Failure as exc:
            log.warning(
                "delete: node %s not told (%s); it forgets the stream when it answers",
                handle.node_id or handle.address,
                exc.detail,
                extra={"stream_id": stream_id},
            )
            return False
        return True

    answers = await asyncio.gather(*(forget(h) for h in ctx.nodes.handles))
    return all(answers)
