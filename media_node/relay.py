"""Edge relays: one stream carried from its origin node to an edge node over a pipe pair.

Why: fan-out across workers (fanout.py) ends at one host. To serve more viewers
of one stream than a node can, the control plane places viewers on another node
(the edge) and the edge gets the stream from the origin through a PipeTransport
pair — mediasoup's cross-host ``pipeToRouter`` — so there is still one ingest in
total. The origin pipe-consumes the stream's producers; the edge produces them
under the same ids into a router of its own, and its viewers consume there as on
any stream.

Handshake (the control plane drives it, each step one RPC):
1. OpenRelay on the origin and on the edge: each creates its pipe transport on
   ``VASMS_PIPE_LISTEN_IP`` and answers its address (``VASMS_PIPE_ANNOUNCED_ADDRESS``
   when set), plus SRTP parameters when ``VASMS_PIPE_SRTP`` is on.
2. ConnectRelay on the origin with the edge's address: connect, pipe-consume,
   answer the producers (id, kind, RTP parameters of the pipe consumers).
3. ConnectRelay on the edge with the origin's address and those producers:
   connect, produce; the relayed stream is live on the edge.

Ends: the edge closes its side when its last viewer leaves (or when no viewer came
within ``idle_timeout_s`` of connecting) and reports ``RelayClosed(idle)``; the
origin reports ``RelayClosed(origin_gone)`` when the stream's producer or router
goes away (stream stopped, ingest replaced, worker died); the edge's own worker
death closes its viewers (worker died) and reports ``worker_died``. The control
plane then closes the other side with CloseRelay — on the edge with the reason
its viewers are given (NODE_LOST when the origin node itself was lost).

The relayed stream is not one of the node's own streams: it is not listed, has no
ingest, publishes no stream status (the stream's status is the origin's), and is
not re-created when a worker dies. Audio, when the stream has it, rides the same pipe
as a second producer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mediasoup_driver import (
    Consumer,
    ConsumerOptions,
    ListenInfo,
    MediasoupError,
    PipeTransport,
    PipeTransportOptions,
    Producer,
    ProducerOptions,
    Router,
    RouterOptions,
)

from media_node.convert import dict_to_struct, struct_to_dict
from media_node.errors import FailedPrecondition, InvalidArgument, NotFound
from media_node.ingest import IngestSpec, router_media_codecs
from media_node.pool import WorkerPool, WorkerSlot
from media_node.streams import Stream, StreamManager
from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    listen_ip: str
    announced_address: str | None
    srtp: bool
    """Encrypt the pipe (SRTP, keys exchanged through the control plane): node-to-node
    traffic may cross networks the viewers' never do."""
    idle_timeout_s: float = 15.0
    """An edge relay that got no viewer this long after connecting closes (its consume
    failed or the viewer gave up)."""


@dataclass(eq=False)
class OriginRelay:
    relay_id: str
    stream_id: str
    pipe: PipeTransport
    consumers: list[Consumer] = field(default_factory=list)
    closed: bool = False


@dataclass(eq=False)
class EdgeRelay:
    relay_id: str
    stream: Stream
    slot: WorkerSlot
    router: Router
    pipe: PipeTransport
    producers: list[Producer] = field(default_factory=list)
    idle_timer: asyncio.TimerHandle | None = None
    closed: bool = False


RelayReport = Callable[[str, str, int, str], None]
"""(relay id, stream id, role, reason): a side went away by itself."""
CloseViewers = Callable[[str, int], Awaitable[None]]
"""(stream id, close reason): close every viewer of a stream on this node."""
CountViewers = Callable[[str], int]


def _endpoint(pipe: PipeTransport, policy: RelayPolicy) -> pb.RelayEndpoint:
    endpoint = pb.RelayEndpoint(
        ip=policy.announced_address or pipe.tuple.local_address, port=pipe.tuple.local_port
    )
    if pipe.srtp_parameters:
        endpoint.srtp_parameters.CopyFrom(dict_to_struct(dict(pipe.srtp_parameters)))
    return endpoint


def _peer(request: pb.ConnectRelayRequest) -> tuple[str, int, dict[str, str] | None]:
    peer = request.peer
    if not peer.ip or not 0 < peer.port < 65536:
        raise InvalidArgument("peer", "ip and port are required")
    srtp = struct_to_dict(peer.srtp_parameters) if peer.HasField("srtp_parameters") else None
    return peer.ip, peer.port, srtp  # type: ignore[return-value]


class RelayManager:
    def __init__(
        self,
        pool: WorkerPool,
        streams: StreamManager,
        policy: RelayPolicy,
        on_closed: RelayReport,
        close_viewers: CloseViewers,
        count_viewers: CountViewers,
    ) -> None:
        self._pool = pool
        self._streams = streams
        self.policy = policy
        self._on_closed = on_closed
        self._close_viewers = close_viewers
        self._count_viewers = count_viewers
        self.origins: dict[str, OriginRelay] = {}
        self.edges: dict[str, EdgeRelay] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._pipe_options = PipeTransportOptions(
            listen_info=ListenInfo(ip=policy.listen_ip, announced_address=policy.announced_address),
            enable_rtx=True,
            enable_srtp=policy.srtp,
        )

    def edge_stream(self, stream_id: str) -> Stream | None:
        """The relayed stream viewers consume on this edge, if there is one."""
        for relay in self.edges.values():
            if relay.stream.id == stream_id and not relay.closed:
                return relay.stream
        return None

    def relay_router_ids(self, slot: WorkerSlot) -> list[str]:
        return [r.router.id for r in self.edges.values() if r.slot is slot and not r.closed]

    # -- open / connect ----------------------------------------------------------------

    async def open(self, request: pb.OpenRelayRequest) -> pb.RelayInfo:
        relay_id, stream_id = request.relay_id, request.stream_id
        if not relay_id or not stream_id:
            raise InvalidArgument("relay_id" if not relay_id else "stream_id", "required")
        if relay_id in self.origins or relay_id in self.edges:
            raise FailedPrecondition(f"relay {relay_id!r} exists")
        if request.role == pb.RELAY_ROLE_ORIGIN:
            stream = self._streams.get(stream_id)
            if stream.status != "live" or stream.router is None:
                raise FailedPrecondition(f"stream {stream_id!r} is not live ({stream.status})")
            pipe = await stream.router.create_pipe_transport(self._pipe_options)
            self.origins[relay_id] = OriginRelay(relay_id, stream_id, pipe)
            pipe.on_close.add_listener(lambda reason: self._origin_gone(relay_id, reason))
            return pb.RelayInfo(
                relay_id=relay_id,
                stream_id=stream_id,
                role=pb.RELAY_ROLE_ORIGIN,
                endpoint=_endpoint(pipe, self.policy),
            )
        if request.role != pb.RELAY_ROLE_EDGE:
            raise InvalidArgument("role", "RELAY_ROLE_ORIGIN or RELAY_ROLE_EDGE")
        if stream_id in self._streams.streams and self._streams.streams[stream_id].router:
            raise FailedPrecondition(f"stream {stream_id!r} is ingested on this node")
        if self.edge_stream(stream_id) is not None:
            raise FailedPrecondition(f"stream {stream_id!r} is already relayed to this node")
        return await self._open_edge(relay_id, stream_id)

    async def _open_edge(self, relay_id: str, stream_id: str) -> pb.RelayInfo:
        slot = self._pool.least_loaded()
        await slot.ready.wait()
        assert slot.worker is not None
        router = await slot.worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
        try:
            pipe = await router.create_pipe_transport(self._pipe_options)
        except BaseException:
            await router.close()
            raise
        slot.routers += 1
        stream = Stream(
            stream_id,
            pb.StreamSource(),
            pb.CODEC_UNSPECIFIED,
            IngestSpec(kind="rtp"),
            status="starting",
            slot=slot,
            router=router,
        )
        relay = EdgeRelay(relay_id, stream, slot, router, pipe)
        self.edges[relay_id] = relay
        router.on_close.add_listener(lambda reason: self._edge_router_closed(relay, reason))
        return pb.RelayInfo(
            relay_id=relay_id,
            stream_id=stream_id,
            role=pb.RELAY_ROLE_EDGE,
            endpoint=_endpoint(pipe, self.policy),
        )

    async def connect(self, request: pb.ConnectRelayRequest) -> pb.RelayInfo:
        ip, port, srtp = _peer(request)
        origin = self.origins.get(request.relay_id)
        if origin is not None and not origin.closed:
            return await self._connect_origin(origin, ip, port, srtp)
        edge = self.edges.get(request.relay_id)
        if edge is not None and not edge.closed:
            return await self._connect_edge(edge, request, ip, port, srtp)
        raise NotFound(f"relay {request.relay_id!r} not found on this node")

    async def _connect_origin(
        self, relay: OriginRelay, ip: str, port: int, srtp: dict[str, str] | None
    ) -> pb.RelayInfo:
        stream = self._streams.get(relay.stream_id)
        producer = stream.producer
        if stream.router is None or producer is None or producer.closed:
            raise FailedPrecondition(f"stream {relay.stream_id!r} has no producer")
        await relay.pipe.connect(ip, port, srtp_parameters=srtp)
        caps = stream.router.rtp_capabilities
        consumer = await relay.pipe.consume(
            ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps)
        )
        relay.consumers.append(consumer)
        consumer.on_close.add_listener(lambda reason: self._origin_gone(relay.relay_id, reason))
        audio = stream.audio_producer
        if audio is not None and not audio.closed:  # audio rides along, same pipe
            relay.consumers.append(
                await relay.pipe.consume(
                    ConsumerOptions(producer_id=audio.id, rtp_capabilities=caps)
                )
            )
        _log.info("relay %s: stream %s piped to %s:%d", relay.relay_id, relay.stream_id, ip, port)
        return pb.RelayInfo(
            relay_id=relay.relay_id,
            stream_id=relay.stream_id,
            role=pb.RELAY_ROLE_ORIGIN,
            endpoint=_endpoint(relay.pipe, self.policy),
            producers=[
                pb.RelayProducer(
                    id=piped.producer_id,
                    kind=piped.kind,
                    rtp_parameters=dict_to_struct(dict(piped.rtp_parameters)),
                    paused=piped.producer_paused,
                )
                for piped in relay.consumers
            ],
        )

    async def _connect_edge(
        self,
        relay: EdgeRelay,
        request: pb.ConnectRelayRequest,
        ip: str,
        port: int,
        srtp: dict[str, str] | None,
    ) -> pb.RelayInfo:
        if not request.producers:
            raise InvalidArgument("producers", "the origin's producers are required")
        await relay.pipe.connect(ip, port, srtp_parameters=srtp)
        for given in request.producers:
            try:
                producer = await relay.pipe.produce(
                    ProducerOptions(
                        kind=given.kind,  # type: ignore[arg-type]
                        rtp_parameters=struct_to_dict(given.rtp_parameters),  # type: ignore[arg-type]
                        id=given.id,
                        paused=given.paused,
                    )
                )
            except (TypeError, ValueError, KeyError) as error:
                raise InvalidArgument("producers", str(error)) from error
            relay.producers.append(producer)
        video = next((p for p in relay.producers if p.kind == "video"), None)
        if video is None:
            raise InvalidArgument("producers", "a video producer is required")
        relay.stream.relay_producer = video
        relay.stream.relay_audio_producer = next(
            (p for p in relay.producers if p.kind == "audio"), None
        )
        mime = video.rtp_parameters["codecs"][0]["mimeType"].lower()
        relay.stream.spec = IngestSpec(kind="rtp", codec="vp8" if mime == "video/vp8" else "h264")
        relay.stream.status = "live"
        relay.idle_timer = asyncio.get_running_loop().call_later(
            self.policy.idle_timeout_s, self._idle_check, relay
        )
        _log.info("relay %s: stream %s live on this edge", relay.relay_id, relay.stream.id)
        return pb.RelayInfo(
            relay_id=relay.relay_id,
            stream_id=relay.stream.id,
            role=pb.RELAY_ROLE_EDGE,
            endpoint=_endpoint(relay.pipe, self.policy),
            viewers=self._count_viewers(relay.stream.id),
        )

    # -- ends ----------------------------------------------------------------------------

    def viewer_left(self, stream_id: str) -> None:
        """Edge: a viewer of `stream_id` left; the relay closes with its last one."""
        for relay in list(self.edges.values()):
            if relay.stream.id == stream_id and not relay.closed:
                self._idle_check(relay)

    def _idle_check(self, relay: EdgeRelay) -> None:
        if relay.closed or relay.stream.status != "live":
            return
        if self._count_viewers(relay.stream.id) == 0:
            self._spawn(self._close_edge(relay, pb.CLOSE_REASON_STREAM_STOPPED, report="idle"))

    def _origin_gone(self, relay_id: str, reason: str) -> None:
        relay = self.origins.get(relay_id)
        if relay is None or relay.closed:
            return
        self._spawn(
            self._close_origin(
                relay, report="worker_died" if reason == "worker closed" else "origin_gone"
            )
        )

    def _edge_router_closed(self, relay: EdgeRelay, reason: str) -> None:
        if relay.closed:
            return
        # The driver closed its transports, so its viewers are already being reported.
        self._spawn(
            self._close_edge(
                relay,
                pb.CLOSE_REASON_WORKER_DIED,
                report="worker_died" if reason == "worker closed" else "origin_gone",
            )
        )

    async def close(self, relay_id: str, reason: int) -> None:
        """CloseRelay: ends this node's side (unknown ids: NotFound)."""
        origin = self.origins.get(relay_id)
        if origin is not None:
            await self._close_origin(origin, report=None)
            return
        edge = self.edges.get(relay_id)
        if edge is not None:
            await self._close_edge(edge, reason or pb.CLOSE_REASON_STREAM_STOPPED, report=None)
            return
        raise NotFound(f"relay {relay_id!r} not found on this node")

    async def _close_origin(self, relay: OriginRelay, report: str | None) -> None:
        if relay.closed:
            return
        relay.closed = True
        self.origins.pop(relay.relay_id, None)
        _log.info("relay %s (origin of %s) closed: %s", relay.relay_id, relay.stream_id, report)
        if report is not None:
            self._on_closed(relay.relay_id, relay.stream_id, pb.RELAY_ROLE_ORIGIN, report)
        try:
            await relay.pipe.close()
        except MediasoupError as error:
            _log.debug("closing relay pipe %s: %s", relay.relay_id, error)

    async def _close_edge(self, relay: EdgeRelay, reason: int, report: str | None) -> None:
        if relay.closed:
            return
        relay.closed = True
        if relay.idle_timer is not None:
            relay.idle_timer.cancel()
        relay.stream.status = "stopped"
        _log.info("relay %s (edge of %s) closed: %s", relay.relay_id, relay.stream.id, report)
        try:
            await self._close_viewers(relay.stream.id, reason)
        finally:
            self.edges.pop(relay.relay_id, None)
            relay.slot.routers -= 1
            if report is not None:
                self._on_closed(relay.relay_id, relay.stream.id, pb.RELAY_ROLE_EDGE, report)
            try:
                await relay.router.close()
            except MediasoupError as error:
                _log.debug("closing relay router %s: %s", relay.relay_id, error)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self) -> None:
        for relay in list(self.edges.values()):
            await self._close_edge(relay, pb.CLOSE_REASON_STREAM_STOPPED, report=None)
        for origin in list(self.origins.values()):
            await self._close_origin(origin, report=None)
