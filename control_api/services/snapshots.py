"""Snapshots: the JPEG of a live stream's latest key frame, made by its node.

The node decodes only when asked and keeps the latest key frame while requests keep
coming (media_node/snapshots.py), so this side only checks the state and relays.
"""

from __future__ import annotations

from control_api.context import AppContext
from control_api.failures import StreamNotLive
from control_api.models import Stream, StreamStatus
from control_api.node_client import Snapshot


async def snapshot(ctx: AppContext, stream: Stream, width: int | None) -> Snapshot:
    """The JPEG (source size, or `width` wide with the aspect kept); 409 when not live."""
    if stream.status != StreamStatus.live.value or stream.node_id is None:
        raise StreamNotLive(f"stream {stream.id} is not live ({stream.status})")
    handle = ctx.nodes.by_id(stream.node_id)
    # Not there or not live on the node, or no key frame in time: stream_not_live.
    # A passed-through camera answers at its next key frame (the node waits up to
    # its snapshot timeout, 12 s by default).
    return await ctx.nodes.snapshot(
        handle, stream.id, width, timeout_s=max(ctx.settings.grpc_timeout_s, 20.0)
    )
