"""The typed client of the media nodes: one method per RPC, failures in domain terms.

Services call these methods with plain arguments and get dataclasses (or, for
stream, load and relay records the event stream shares, the typed protobuf
message) back; a gRPC error becomes a `failures.Failure` named for the RPC
(`Meaning`), so nothing above this module sees gRPC codes or HTTP.

One channel per configured address, opened in the lifespan and shared by
every request of the replica. A node's id is learnt from its own `GetLoad`
answer (the node picks it), so streams record node ids, not addresses, and a
node moved to another address keeps its streams.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct

from control_api.failures import (
    AlreadyConnected,
    CannotConsume,
    Conflict,
    ConsumerClosed,
    Failure,
    InvalidRequest,
    NodeDraining,
    NodeError,
    NodeUnavailable,
    NotFound,
    StreamNotLive,
)
from control_api.metrics import ApiMetrics
from control_api.models import ConsumerState, NodeId, StreamStatus
from control_api.node_security import CLUSTER_METADATA
from control_api.rtp import dict_to_struct, struct_to_dict
from protos import media_node_pb2 as pb
from protos.media_node_pb2_grpc import MediaNodeStub

log = logging.getLogger(__name__)

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
class Meaning:
    """What the node's gRPC codes mean for one RPC, as domain failures.

    The same gRPC code means different things per RPC: FAILED_PRECONDITION is
    "stream not live" for Consume but "already connected" for ConnectTransport.
    """

    not_found: type[Failure] = NotFound
    precondition: type[Failure] = Conflict
    invalid: type[Failure] = InvalidRequest
    # INVALID_ARGUMENT naming the capabilities means "cannot consume" (proto contract).
    invalid_caps: type[Failure] | None = None


PLAIN = Meaning()
STREAM = Meaning(  # Consume, GetRouterCapabilities, GetSnapshot
    not_found=StreamNotLive,  # in our DB but not on its node: not live
    precondition=StreamNotLive,
    invalid_caps=CannotConsume,
)
CONNECT = Meaning(precondition=AlreadyConnected)
CONSUMER = Meaning(precondition=ConsumerClosed)


def failure_of(err: grpc.aio.AioRpcError, meaning: Meaning = PLAIN) -> Failure:
    """The domain failure a node's gRPC error stands for in the RPC `meaning` describes."""
    code = err.code()
    message = err.details() or code.name.lower()
    if code == grpc.StatusCode.NOT_FOUND:
        return meaning.not_found(message)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return meaning.precondition(message)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        lowered = message.lower()
        if meaning.invalid_caps and ("rtp_capabilities" in lowered or "consume" in lowered):
            return meaning.invalid_caps(message)
        return meaning.invalid(message)
    if code == grpc.StatusCode.UNAVAILABLE and "draining" in message.lower():
        return NodeDraining("media node is draining")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return NodeUnavailable(f"media node unavailable: {message}")
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        log.error("media node refused this control plane (token or cluster id): %s", message)
        return NodeUnavailable("media node refused the control plane")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return NodeUnavailable(f"media node overloaded: {message}")
    log.error("media node error %s: %s", code.name, message)
    return NodeError(f"media node error: {code.name}")


@dataclass(frozen=True)
class NodeConsumer:
    """One consumer the node just created."""

    id: str
    transport_id: str
    producer_id: str
    kind: str
    paused: bool
    state: ConsumerState
    rtp_parameters: dict[str, Any]


@dataclass(frozen=True)
class NodeConsumed:
    """Consume's answer: the viewer's transport, its video consumer and maybe audio."""

    consumer: NodeConsumer
    audio: NodeConsumer | None
    transport: dict[str, Any]  # id, iceParameters, iceCandidates, dtlsParameters
    connected: bool


@dataclass(frozen=True)
class ConsumerStatus:
    """GetConsumer's answer: the node's view of a consumer, with its figures."""

    state: ConsumerState
    closed_reason: str
    paused: bool
    bitrate_bps: int
    packets_sent: int
    packets_lost: int
    score: int


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    key_frame_at_ms: int  # node clock when the key frame was decoded


@dataclass(frozen=True)
class Drained:
    draining: bool
    consumers_remaining: int
    deadline_ms: int


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
        raise NodeUnavailable(f"media node {node_id} is not reachable")

    def known(self, node_id: str | None) -> NodeHandle | None:
        return next((h for h in self.handles if node_id and h.node_id == node_id), None)

    async def _call(
        self,
        handle: NodeHandle,
        method: str,
        request: Message,
        meaning: Meaning = PLAIN,
        timeout_s: float | None = None,
    ) -> Any:  # the RPC's reply message; each typed method below names it
        """Calls `method` on the node; gRPC errors become domain failures via `meaning`."""
        rpc: Callable[..., Awaitable[Any]] = getattr(handle.stub, method)
        code = "OK"
        try:
            return await rpc(request, metadata=self.metadata, timeout=timeout_s or self.timeout_s)
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            raise failure_of(err, meaning) from err
        finally:
            if self.metrics:
                self.metrics.node_rpcs.inc(method, code)

    # -- streams -------------------------------------------------------------

    async def start_stream(
        self, handle: NodeHandle, stream_id: str, source: pb.StreamSource, codec: str | None
    ) -> pb.StreamInfo:
        """Starts (idempotently) the stream's ingest and router on the node."""
        request = pb.StartStreamRequest(
            stream_id=stream_id, source=source, codec=CODECS.get(codec or "", pb.CODEC_UNSPECIFIED)
        )
        info: pb.StreamInfo = await self._call(handle, "StartStream", request)
        return info

    async def stop_stream(self, handle: NodeHandle, stream_id: str) -> pb.StreamInfo:
        info: pb.StreamInfo = await self._call(
            handle, "StopStream", pb.StopStreamRequest(stream_id=stream_id)
        )
        return info

    async def forget_stream(self, handle: NodeHandle, stream_id: str) -> None:
        await self._call(handle, "ForgetStream", pb.ForgetStreamRequest(stream_id=stream_id))

    async def list_streams(self, handle: NodeHandle) -> list[pb.StreamInfo]:
        listed: pb.ListStreamsResponse = await self._call(
            handle, "ListStreams", pb.ListStreamsRequest()
        )
        return list(listed.streams)

    async def router_capabilities(self, handle: NodeHandle, stream_id: str) -> dict[str, Any]:
        """The RTP capabilities of the stream's router (mediasoup JSON shape)."""
        reply: pb.RouterCapabilities = await self._call(
            handle,
            "GetRouterCapabilities",
            pb.GetRouterCapabilitiesRequest(stream_id=stream_id, json=True),
            STREAM,
        )
        if reply.rtp_capabilities_json:
            caps: dict[str, Any] = json.loads(reply.rtp_capabilities_json)
            return caps
        return struct_to_dict(reply.rtp_capabilities)  # a node from before the JSON fields

    async def snapshot(
        self, handle: NodeHandle, stream_id: str, width: int | None, timeout_s: float
    ) -> Snapshot:
        reply: pb.Snapshot = await self._call(
            handle,
            "GetSnapshot",
            pb.GetSnapshotRequest(stream_id=stream_id, width=width or 0),
            STREAM,
            timeout_s=timeout_s,
        )
        return Snapshot(jpeg=bytes(reply.jpeg), key_frame_at_ms=reply.key_frame_at_ms)

    # -- viewers -------------------------------------------------------------

    async def consume(
        self,
        handle: NodeHandle,
        stream_id: str,
        client_id: str,
        rtp_capabilities: dict[str, Any],
        dtls_parameters: dict[str, Any] | None = None,
        paused: bool = False,
        audio: bool = True,
    ) -> NodeConsumed:
        """Transport + consumer (+ audio consumer) for one viewer on the node."""
        # JSON, not Struct, both ways: json_format costs ~0.35-0.55 ms per object here.
        request = pb.ConsumeRequest(
            stream_id=stream_id,
            client_id=client_id,
            rtp_capabilities_json=json.dumps(rtp_capabilities),
            dtls_parameters_json=json.dumps(dtls_parameters) if dtls_parameters else "",
            paused=paused,
            no_audio=not audio,
            json=True,
        )
        reply: pb.ConsumeResponse = await self._call(handle, "Consume", request, STREAM)
        transport = reply.transport
        video = _consumer(reply.consumer)
        return NodeConsumed(
            consumer=video,
            audio=_consumer(reply.audio) if reply.HasField("audio") else None,
            transport={
                "id": transport.id or video.transport_id,
                "iceParameters": _object(transport.ice_parameters_json, transport.ice_parameters),
                "iceCandidates": (
                    json.loads(transport.ice_candidates_json)
                    if transport.ice_candidates_json
                    else [struct_to_dict(c) for c in transport.ice_candidates]
                ),
                "dtlsParameters": _object(
                    transport.dtls_parameters_json, transport.dtls_parameters
                ),
            },
            connected=reply.connected,
        )

    async def connect_transport(
        self, handle: NodeHandle, transport_id: str, dtls_parameters: dict[str, Any]
    ) -> None:
        request = pb.ConnectTransportRequest(
            transport_id=transport_id, dtls_parameters=dict_to_struct(dtls_parameters)
        )
        await self._call(handle, "ConnectTransport", request, CONNECT)

    async def resume_consumer(self, handle: NodeHandle, consumer_id: str) -> None:
        await self._call(
            handle, "ResumeConsumer", pb.ConsumerRef(consumer_id=consumer_id), CONSUMER
        )

    async def get_consumer(self, handle: NodeHandle, consumer_id: str) -> ConsumerStatus:
        info: pb.ConsumerInfo = await self._call(
            handle, "GetConsumer", pb.ConsumerRef(consumer_id=consumer_id)
        )
        stats = info.stats
        return ConsumerStatus(
            state=CONSUMER_STATE.get(info.state, ConsumerState.new),
            closed_reason=close_reason(info.closed_reason),
            paused=info.paused,
            bitrate_bps=stats.bitrate_bps,
            packets_sent=stats.packets_sent,
            packets_lost=stats.packets_lost,
            score=stats.score,
        )

    async def close_consumer(self, handle: NodeHandle, consumer_id: str) -> None:
        """Closes the consumer; a video consumer takes its transport (and audio) along."""
        await self._call(handle, "CloseConsumer", pb.ConsumerRef(consumer_id=consumer_id))

    # -- node ----------------------------------------------------------------

    async def get_load(self, handle: NodeHandle, timeout_s: float | None = None) -> pb.Load:
        load: pb.Load = await self._call(
            handle, "GetLoad", pb.GetLoadRequest(), timeout_s=timeout_s
        )
        return load

    async def dump(self, handle: NodeHandle) -> pb.NodeDump:
        dump: pb.NodeDump = await self._call(handle, "Dump", pb.DumpRequest())
        return dump

    async def drain(self, handle: NodeHandle, deadline_s: int) -> Drained:
        reply: pb.DrainResponse = await self._call(
            handle, "Drain", pb.DrainRequest(deadline_s=deadline_s)
        )
        return Drained(reply.draining, reply.consumers_remaining, reply.deadline_ms)

    # -- relays --------------------------------------------------------------

    async def open_relay(
        self, handle: NodeHandle, relay_id: str, stream_id: str, origin: bool
    ) -> pb.RelayInfo:
        """Opens the origin's or the edge's side; its endpoint goes to the other side."""
        role = pb.RELAY_ROLE_ORIGIN if origin else pb.RELAY_ROLE_EDGE
        info: pb.RelayInfo = await self._call(
            handle,
            "OpenRelay",
            pb.OpenRelayRequest(relay_id=relay_id, stream_id=stream_id, role=role),
        )
        return info

    async def connect_relay(
        self, handle: NodeHandle, relay_id: str, peer: pb.RelayInfo, producers: pb.RelayInfo | None
    ) -> pb.RelayInfo:
        """Connects a side to `peer`'s endpoint; the edge also gets the origin's producers."""
        request = pb.ConnectRelayRequest(relay_id=relay_id, peer=peer.endpoint)
        if producers is not None:
            request.producers.extend(producers.producers)
        info: pb.RelayInfo = await self._call(handle, "ConnectRelay", request)
        return info

    async def close_relay(self, handle: NodeHandle, relay_id: str, reason: int) -> None:
        await self._call(
            handle, "CloseRelay", pb.CloseRelayRequest(relay_id=relay_id, reason=reason)
        )

    async def close(self) -> None:
        for handle in self.handles:
            await handle.channel.close(grace=None)


def _consumer(info: pb.ConsumerInfo) -> NodeConsumer:
    return NodeConsumer(
        id=info.id,
        transport_id=info.transport_id,
        producer_id=info.producer_id,
        kind=info.kind or "video",
        paused=info.paused,
        state=CONSUMER_STATE.get(info.state, ConsumerState.new),
        rtp_parameters=_object(info.rtp_parameters_json, info.rtp_parameters),
    )


def _object(text: str, struct: Struct) -> dict[str, Any]:
    """A *_json answer field, or its Struct when the node sent that instead."""
    if text:
        value: dict[str, Any] = json.loads(text)
        return value
    return struct_to_dict(struct)
