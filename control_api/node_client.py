"""gRPC client pool to media nodes and the mapping of their errors to HTTP.

One channel per configured address, opened in the lifespan and shared by
every request of the replica. A node's id is learnt from its own `GetLoad`
answer (the node picks it), so streams record node ids, not addresses, and a
node moved to another address keeps its streams.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from control_api.errors import ApiError
from control_api.metrics import ApiMetrics
from control_api.models import ConsumerState, NodeId, StreamStatus
from control_api.node_security import CLUSTER_METADATA
from protos import media_node_pb2 as pb
from protos.media_node_pb2_grpc import MediaNodeStub

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Message)

STREAM_STATUS: dict[int, StreamStatus] = {
    pb.STREAM_STATUS_STARTING: StreamStatus.starting,
    pb.STREAM_STATUS_LIVE: StreamStatus.live,
    pb.STREAM_STATUS_STOPPED: StreamStatus.stopped,
    pb.STREAM_STATUS_ERROR: StreamStatus.error,
}
CONSUMER_STATE: dict[int, ConsumerState] = {
    pb.CONSUMER_STATE_NEW: ConsumerState.new,
    pb.CONSUMER_STATE_CONNECTING: ConsumerState.connecting,
    pb.CONSUMER_STATE_CONNECTED: ConsumerState.connected,
    pb.CONSUMER_STATE_CLOSED: ConsumerState.closed,
}
CODECS: dict[str, int] = {"vp8": pb.CODEC_VP8, "h264": pb.CODEC_H264}
CODEC_NAMES: dict[int, str] = {v: k for k, v in CODECS.items()}


def close_reason(reason: int) -> str:
    """`CLOSE_REASON_DTLS_CLOSED` → `dtls_closed` (the API's `closed_reason` values)."""
    name = pb.CloseReason.Name(reason) if reason in pb.CloseReason.values() else "UNSPECIFIED"
    return name.removeprefix("CLOSE_REASON_").lower()


def stream_status(status: int) -> StreamStatus:
    return STREAM_STATUS.get(status, StreamStatus.error)


# Channel options: keepalives notice a dead node under an idle WatchEvents stream.
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 15_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


@dataclass(frozen=True)
class ErrorMap:
    """How one call site names the node's error codes for its own clients.

    The same gRPC code means different things per call: FAILED_PRECONDITION is
    "stream not live" for Consume but "already connected" for ConnectTransport.
    """

    not_found: tuple[int, str] = (404, "not_found")
    precondition: tuple[int, str] = (409, "conflict")
    invalid: tuple[int, str] = (422, "invalid_request")
    # INVALID_ARGUMENT naming the capabilities means "cannot consume" (proto contract).
    invalid_caps: tuple[int, str] | None = None


def map_rpc_error(err: grpc.aio.AioRpcError, errors: ErrorMap) -> ApiError:
    code = err.code()
    message = err.details() or code.name.lower()
    if code == grpc.StatusCode.NOT_FOUND:
        return ApiError(*errors.not_found, message)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ApiError(*errors.precondition, message)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        lowered = message.lower()
        if errors.invalid_caps and ("rtp_capabilities" in lowered or "consume" in lowered):
            return ApiError(*errors.invalid_caps, message)
        return ApiError(*errors.invalid, message)
    if code == grpc.StatusCode.UNAVAILABLE and "draining" in message.lower():
        return ApiError(503, "node_draining", "media node is draining")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ApiError(503, "node_unavailable", f"media node unavailable: {message}")
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        log.error("media node refused this control plane (token or cluster id): %s", message)
        return ApiError(503, "node_unavailable", "media node refused the control plane")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ApiError(503, "node_unavailable", f"media node overloaded: {message}")
    log.error("media node error %s: %s", code.name, message)
    return ApiError(502, "node_error", f"media node error: {code.name}")


@dataclass
class NodeHandle:
    """One node as this replica sees it: channel, id once known, last load figures."""

    address: str
    channel: grpc.aio.Channel
    stub: MediaNodeStub
    node_id: NodeId | None = None
    load: pb.Load | None = None
    load_at: float = 0.0  # monotonic time of the last successful GetLoad
    draining: bool = False
    down: bool = False  # unanswered past the failover delay: gets no work until it answers
    watching: bool = False  # a WatchEvents stream is open
    last_event_ms: int = 0  # the node's clock at its latest event
    orphans: set[str] = field(default_factory=set)  # consumers no row owned at the last sweep

    def fresh(self, stale_after_s: float) -> bool:
        return self.load_at > 0 and time.monotonic() - self.load_at <= stale_after_s


class NodePool:
    """The channels of this replica to every configured node."""

    def __init__(
        self,
        addresses: list[str],
        token: str | None,
        timeout_s: float,
        metrics: ApiMetrics | None = None,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        cluster_id: str | None = None,
    ) -> None:
        """`credentials`: TLS to the nodes (plaintext when None); `cluster_id` goes with
        every call so nodes of another cluster refuse this replica (node_security.py)."""
        self.handles: list[NodeHandle] = []
        for address in addresses:
            channel = (
                grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
                if credentials is None
                else grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
            )
            self.handles.append(NodeHandle(address, channel, MediaNodeStub(channel)))
        metadata = [("authorization", f"Bearer {token}")] if token else []
        if cluster_id:
            metadata.append((CLUSTER_METADATA, cluster_id))
        self.metadata: tuple[tuple[str, str], ...] = tuple(metadata)
        self.timeout_s = timeout_s
        self.metrics = metrics

    def by_id(self, node_id: str) -> NodeHandle:
        for handle in self.handles:
            if handle.node_id == node_id:
                return handle
        raise ApiError(503, "node_unavailable", f"media node {node_id} is not reachable")

    def known(self, node_id: str | None) -> NodeHandle | None:
        return next((h for h in self.handles if node_id and h.node_id == node_id), None)

    async def call(
        self,
        handle: NodeHandle,
        method: str,
        request: Message,
        errors: ErrorMap | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Calls `method` on the node; gRPC errors become `ApiError` through `errors`."""
        rpc: Callable[..., Awaitable[Any]] = getattr(handle.stub, method)
        code = "OK"
        try:
            return await rpc(request, metadata=self.metadata, timeout=timeout_s or self.timeout_s)
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            raise map_rpc_error(err, errors or ErrorMap()) from err
        finally:
            if self.metrics:
                self.metrics.node_rpcs.inc(method, code)

    async def close(self) -> None:
        for handle in self.handles:
            await handle.channel.close(grace=None)
