"""Snapshots: the JPEG of a live stream's latest key frame, made by its node.

The node decodes only when asked and keeps the latest key frame while requests keep
coming (media_node/snapshots.py), so this side only checks the state and relays.
"""

from __future__ import annotations

from control_api.context import AppContext
from control_api.errors import ApiError
from control_api.models import Stream, StreamStatus
from control_api.node_client import ErrorMap
from protos import media_node_pb2 as pb

SNAPSHOT_ERRORS = ErrorMap(
    not_found=(409, "stream_not_live"),  # in our DB but not on its node
    precondition=(409, "stream_not_live"),  # not live there, or no key frame in time
    invalid=(422, "invalid_request"),
)


async def snapshot(ctx: AppContext, stream: Stream, width: int | None) -> pb.Snapshot:
    """The JPEG (source size, or `width` wide with the aspect kept); 409 when not live."""
    if stream.status != StreamStatus.live.value or stream.node_id is None:
        raise ApiError(409, "stream_not_live", f"stream {stream.id} is not live ({stream.status})")
    handle = ctx.nodes.by_id(stream.node_id)
    reply: pb.Snapshot = await ctx.nodes.call(
        handle,
        "GetSnapshot",
        pb.GetSnapshotRequest(stream_id=stream.id, width=width or 0),
        SNAPSHOT_ERRORS,
        # A passed-through camera answers at its next key frame (the node waits up to
        # its snapshot timeout, 12 s by default).
        timeout_s=max(ctx.settings.grpc_timeout_s, 20.0),
    )
    return reply
