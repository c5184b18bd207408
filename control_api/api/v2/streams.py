"""Streams: create, list, read, start, stop, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from control_api.api.deps import CtxDep, CurrentUser, OperatorUser, SessionDep
from control_api.errors import responses
from control_api.models import Role
from control_api.schemas.streams import StreamCreate, StreamOut
from control_api.services import on_demand, snapshots
from control_api.services import streams as ops

router = APIRouter(tags=["streams"])

NOT_RUNNING_409 = ("Stream still running", "stream_running", "stream 0b8f… is running; stop it")
START_409 = ("The node refused the start", "conflict", "stream 0b8f… exists with another source")
NO_NODE_503 = ("No media node can take the stream", "no_node_available", "no media node available")


@router.post(
    "/streams",
    status_code=201,
    response_model=StreamOut,
    summary="Create a stream (operator)",
    responses=responses(401, 403, 413, 422),
)
async def create(body: StreamCreate, user: OperatorUser, session: SessionDep) -> StreamOut:
    """Creates the stream in `created` state; `start` places it on a node."""
    stream = await ops.create(session, user, body)
    return ops.to_out(stream, 0, show_rtp_endpoint=True)


@router.get(
    "/streams", response_model=list[StreamOut], summary="List streams", responses=responses(401)
)
async def list_streams(user: CurrentUser, session: SessionDep) -> list[StreamOut]:
    """`rtp_endpoint` (with its SRTP key) is shown to operators only."""
    return await ops.list_out(session, show_rtp_endpoint=user.has(Role.operator))


@router.get(
    "/streams/{stream_id}",
    response_model=StreamOut,
    summary="Read a stream",
    responses=responses(401, 404),
)
async def get(stream_id: str, user: CurrentUser, ctx: CtxDep) -> StreamOut:
    """Status mirrors the node through its event stream; no node call here.
    `rtp_endpoint` (with its SRTP key) is shown to operators only."""
    stream = await ops.find(ctx, stream_id)
    return await ops.out_hot(ctx, stream, show_rtp_endpoint=user.has(Role.operator))


@router.post(
    "/streams/{stream_id}/start",
    response_model=StreamOut,
    summary="Start a stream (operator)",
    responses=responses(401, 403, 404, 409, 503, s409=START_409, s503=NO_NODE_503),
)
async def start(stream_id: str, _user: OperatorUser, ctx: CtxDep, session: SessionDep) -> StreamOut:
    """Places the stream on the least loaded node; a live stream answers as is. An
    on-demand stream goes `idle`: it is placed and pulled at its first consume."""
    stream = await ops.get_or_404(session, stream_id)
    started = await on_demand.start(ctx, session, stream)
    return await ops.out(session, started, show_rtp_endpoint=True)


@router.post(
    "/streams/{stream_id}/stop",
    response_model=StreamOut,
    summary="Stop a stream (operator)",
    responses=responses(
        401, 403, 404, 409, s409=("Concurrent change", "conflict", "stream changed meanwhile")
    ),
)
async def stop(stream_id: str, _user: OperatorUser, ctx: CtxDep, session: SessionDep) -> StreamOut:
    """Stops ingest and closes every consumer of the stream; a stopped stream answers as is."""
    stream = await ops.get_or_404(session, stream_id)
    return await ops.out(session, await ops.stop(ctx, session, stream), show_rtp_endpoint=True)


@router.delete(
    "/streams/{stream_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a stopped stream (operator)",
    responses=responses(401, 403, 404, 409, s409=NOT_RUNNING_409),
)
async def delete(stream_id: str, _user: OperatorUser, ctx: CtxDep, session: SessionDep) -> Response:
    """The node forgets the stream too (at once, or when it answers again)."""
    await ops.delete(ctx, session, await ops.get_or_404(session, stream_id))
    return Response(status_code=204)


NOT_LIVE_409 = ("Stream not live", "stream_not_live", "stream 0b8f… is not live (idle)")


@router.get(
    "/streams/{stream_id}/snapshot.jpg",
    response_class=Response,
    summary="JPEG of the stream's latest key frame",
    responses={
        200: {
            "description": "The JPEG (header x-vasms-key-frame-at-ms: when it was decoded).",
            "content": {
                "image/jpeg": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(JPEG bytes, FF D8 … FF D9)",
                }
            },
        },
        **responses(401, 404, 409, 422, 503, s409=NOT_LIVE_409),
    },
)
async def snapshot(
    stream_id: str,
    _user: CurrentUser,
    ctx: CtxDep,
    session: SessionDep,
    width: Annotated[int | None, Query(ge=16, le=3840, description="Scale to this width")] = None,
) -> Response:
    """Decoded on the stream's node only when asked, at the source size unless `width`
    is given (height follows, aspect kept); requests while the node's decoder lingers
    are answered from the latest key frame. 409 when the stream is not live."""
    stream = await ops.get_or_404(session, stream_id)
    shot = await snapshots.snapshot(ctx, stream, width)
    headers = {
        "cache-control": "no-store",
        # When the node decoded this key frame (Unix ms): equal values, same picture.
        "x-vasms-key-frame-at-ms": str(shot.key_frame_at_ms),
    }
    return Response(bytes(shot.jpeg), media_type="image/jpeg", headers=headers)
