"""Viewers: one WebRtcTransport + one Consumer per Consume call, and their lifecycle.

Every viewer session has an owner path to cleanup, so nothing lingers:
- explicit CloseConsumer / CloseTransport (REQUESTED);
- the viewer hung up: DTLS closed (DTLS_CLOSED) or failed (DTLS_FAILED);
- the viewer vanished: ICE consent lost, i.e. ICE "disconnected" for longer
  than a short grace (ICE_DISCONNECTED), or DTLS never connected within the
  connect timeout (NEVER_CONNECTED);
- the stream stopped or its producer went away (STREAM_STOPPED), the worker
  died (WORKER_DIED), a drain deadline passed (DRAIN_DEADLINE).
Each closure is reported once, with its reason, through ``on_closed``.

Audio: when the stream has an audio producer (and the viewer's capabilities can
receive its codec, and the viewer did not opt out), the same transport carries a
second consumer, of kind audio. It is addressable by its own id (GetConsumer,
ResumeConsumer, CloseConsumer); closing it alone (or its producer going away,
e.g. a camera restart with another codec) leaves the video playing. Closing the
video consumer closes the transport, and with it the audio consumer. Each audio
consumer's end is reported once through ``on_audio_closed``.
When DTLS connects the node asks the source for a key frame, so video starts
in about a tenth of a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mediasoup_driver import (
    ChannelRequestError,
    Consumer,
    ConsumerOptions,
    ListenInfo,
    MediasoupError,
    Router,
    UnsupportedError,
    WebRtcTransport,
    WebRtcTransportOptions,
)
from mediasoup_driver.webrtc_transport import normalize_dtls_parameters

from media_node.errors import FailedPrecondition, InvalidArgument, NotFound
from media_node.ingest import fast_start
from media_node.streams import Stream
from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)

_TRANSPORT_REASONS = {
    "router closed": pb.CLOSE_REASON_STREAM_STOPPED,
    "worker closed": pb.CLOSE_REASON_WORKER_DIED,
}


@dataclass(eq=False)
class Session:
    """One viewer: its transport and the consumer it carries."""

    transport: WebRtcTransport
    consumer: Consumer
    stream_id: str
    client_id: str
    audio: Consumer | None = None
    """The audio consumer on the same transport, while it is open."""
    created_at: float = field(default_factory=time.time)
    dtls_given: bool = False
    closed_reason: int = pb.CLOSE_REASON_UNSPECIFIED
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    @property
    def state(self) -> int:
        if self.closed_reason != pb.CLOSE_REASON_UNSPECIFIED:
            return pb.CONSUMER_STATE_CLOSED
        if self.transport.dtls_state == "connected":
            return pb.CONSUMER_STATE_CONNECTED
        if self.dtls_given or self.transport.dtls_state == "connecting":
            return pb.CONSUMER_STATE_CONNECTING
        return pb.CONSUMER_STATE_NEW

    def consumer_by_id(self, consumer_id: str) -> Consumer:
        """The video consumer, or the audio one when ``consumer_id`` is its id."""
        audio = self.audio
        return audio if audio is not None and audio.id == consumer_id else self.consumer

    def info(self, consumer: Consumer | None = None, as_json: bool = False) -> pb.ConsumerInfo:
        """The video consumer's info, or ``consumer``'s (the audio one); `as_json`: the
        RTP parameters in rtp_parameters_json instead of the Struct (Consume's json)."""
        from media_node.convert import dict_to_struct

        consumer = consumer or self.consumer
        closed = self.closed_reason
        if consumer is not self.consumer and consumer.closed and not closed:
            closed = pb.CLOSE_REASON_REQUESTED
        parameters = dict(consumer.rtp_parameters)
        return pb.ConsumerInfo(
            id=consumer.id,
            stream_id=self.stream_id,
            transport_id=self.transport.id,
            producer_id=consumer.producer_id,
            kind=consumer.kind,
            rtp_parameters=None if as_json else dict_to_struct(parameters),
            rtp_parameters_json=json.dumps(parameters) if as_json else "",
            state=pb.CONSUMER_STATE_CLOSED if closed else self.state,
            closed_reason=closed,
            client_id=self.client_id,
            paused=consumer.paused,
            ice_state=self.transport.ice_state,
            dtls_state=self.transport.dtls_state,
        )


SessionClosed = Callable[[Session], None]
AudioClosed = Callable[[Session, str, int], None]
"""(session, audio consumer id, CloseReason)."""
TransportChanged = Callable[[Session], None]


@dataclass(frozen=True)
class ViewerPolicy:
    listen_ip: str
    announced_address: str | None
    enable_tcp: bool
    connect_timeout_s: float
    ice_consent_timeout_s: int
    ice_disconnected_grace_s: float


class ViewerManager:
    def __init__(
        self,
        policy: ViewerPolicy,
        on_closed: SessionClosed,
        on_transport_state: TransportChanged,
        on_audio_closed: AudioClosed | None = None,
    ) -> None:
        self._policy = policy
        self._on_closed = on_closed
        self._on_transport_state = on_transport_state
        self._on_audio_closed = on_audio_closed
        self.by_consumer: dict[str, Session] = {}
        """Sessions by their video consumer's id (one entry per viewer)."""
        self.by_audio: dict[str, Session] = {}
        """Sessions by their open audio consumer's id."""
        self.by_transport: dict[str, Session] = {}
        listen = [ListenInfo(ip=policy.listen_ip, announced_address=policy.announced_address)]
        if policy.enable_tcp:
            listen.append(
                ListenInfo(
                    ip=policy.listen_ip, protocol="tcp", announced_address=policy.announced_address
                )
            )
        self._transport_options = WebRtcTransportOptions(
            listen_infos=tuple(listen),
            enable_udp=True,
            enable_tcp=policy.enable_tcp,
            prefer_udp=True,
            ice_consent_timeout=policy.ice_consent_timeout_s,
        )

    # -- lookups -------------------------------------------------------------------------

    def session(self, consumer_id: str) -> Session:
        """The session of a video or audio consumer."""
        session = self.by_consumer.get(consumer_id) or self.by_audio.get(consumer_id)
        if session is None:
            raise NotFound(f"consumer {consumer_id!r} not found on this node")
        return session

    def transport_session(self, transport_id: str) -> Session:
        session = self.by_transport.get(transport_id)
        if session is None:
            raise NotFound(f"transport {transport_id!r} not found on this node")
        return session

    # -- consume -------------------------------------------------------------------------

    async def consume(
        self,
        stream: Stream,
        client_id: str,
        rtp_capabilities: dict[str, Any],
        dtls_parameters: dict[str, Any] | None,
        paused: bool,
        router: Router | None = None,
        audio: bool = True,
    ) -> tuple[Session, bool]:
        """Creates transport + consumer (and connects them when DTLS parameters are given).

        ``audio``: also an audio consumer on the transport when the stream has audio on
        this router and the capabilities can receive its codec (silently none otherwise:
        video is what a viewer cannot do without).

        ``router``: where the viewer goes, the stream's own router by default, or a router
        on another worker that carries the stream's producer under the same id (fanout.py).
        Everything that can be refused is checked before anything is created;
        if creation still fails half-way the transport is closed again.
        """
        producer = stream.producer
        if stream.status != "live" or stream.router is None or producer is None or producer.closed:
            raise FailedPrecondition(f"stream {stream.id!r} is not live ({stream.status})")
        if not isinstance(rtp_capabilities.get("codecs"), list) or not rtp_capabilities["codecs"]:
            raise InvalidArgument("rtp_capabilities", "codecs: a non-empty list is required")
        router = router or stream.router
        try:
            router.check_consume(producer.id, rtp_capabilities)
        except UnsupportedError as error:
            raise InvalidArgument(
                "rtp_capabilities", f"cannot consume the stream: {error}", cannot_consume=True
            ) from error
        except (TypeError, ValueError, KeyError) as error:
            raise InvalidArgument("rtp_capabilities", str(error)) from error
        except LookupError as error:
            raise FailedPrecondition(f"stream {stream.id!r} has no producer") from error
        dtls = None
        if dtls_parameters:
            try:
                dtls = normalize_dtls_parameters(dtls_parameters)
            except TypeError as error:
                raise InvalidArgument("dtls_parameters", str(error)) from error
        transport = await router.create_webrtc_transport(self._transport_options)
        try:
            consumer = await transport.consume(
                ConsumerOptions(
                    producer_id=producer.id,
                    rtp_capabilities=rtp_capabilities,
                    paused=paused,
                    preferred_layers=fast_start.start_layers(producer),
                )
            )
            fast_start.raise_when_started(consumer)  # bridge first, the camera's next
            session = Session(transport, consumer, stream.id, client_id or f"anon-{uuid.uuid4()}")
            audio_producer = stream.audio_producer if audio else None
            if audio_producer is not None and router.can_consume(
                audio_producer.id, rtp_capabilities
            ):
                session.audio = await transport.consume(
                    ConsumerOptions(
                        producer_id=audio_producer.id,
                        rtp_capabilities=rtp_capabilities,
                        paused=paused,
                    )
                )
            self._track(session)
            if dtls is not None:
                session.dtls_given = True
                await transport.connect(dtls)
        except BaseException:
            await transport.close()
            raise
        return session, dtls is not None

    async def connect(self, transport_id: str, dtls_parameters: dict[str, Any]) -> None:
        session = self.transport_session(transport_id)
        try:
            dtls = normalize_dtls_parameters(dtls_parameters)
        except TypeError as error:
            raise InvalidArgument("dtls_parameters", str(error)) from error
        if session.dtls_given:
            raise FailedPrecondition(f"transport {transport_id!r} is already connected")
        session.dtls_given = True
        try:
            await session.transport.connect(dtls)
        except ChannelRequestError as error:
            raise FailedPrecondition(f"transport {transport_id!r}: {error.reason}") from error

    async def resume(self, consumer_id: str) -> Session:
        """Resumes that consumer; resuming the video one resumes the audio one too."""
        session = self.session(consumer_id)
        consumer = session.consumer_by_id(consumer_id)
        await consumer.resume()
        if consumer is session.consumer and session.audio is not None:
            await session.audio.resume()
        return session

    async def close_audio(self, session: Session, reason: int) -> None:
        """Closes the session's audio consumer only (the video keeps playing)."""
        audio = session.audio
        if audio is None:
            return
        await audio.close()
        self._audio_closed(session, audio, reason)

    async def stats(self, consumer_id: str) -> pb.ConsumerStats:
        session = self.session(consumer_id)
        try:
            entries = await session.consumer_by_id(consumer_id).get_stats()
        except MediasoupError:
            return pb.ConsumerStats()
        outbound = next((e for e in entries if e.get("type") == "outbound-rtp"), {})
        return pb.ConsumerStats(
            bitrate_bps=int(outbound.get("bitrate", 0)),
            packets_sent=int(outbound.get("packetCount", 0)),
            packets_lost=max(0, int(outbound.get("packetsLost", 0))),
            score=int(outbound.get("score", 0)),
            nack_count=int(outbound.get("nackCount", 0)),
            nack_packet_count=int(outbound.get("nackPacketCount", 0)),
            packets_retransmitted=int(outbound.get("packetsRetransmitted", 0)),
            pli_count=int(outbound.get("pliCount", 0)),
            fir_count=int(outbound.get("firCount", 0)),
            round_trip_time_ms=float(outbound.get("roundTripTime", 0.0)),
        )

    async def close_session(self, session: Session, reason: int) -> None:
        """Closes a viewer's transport (and so its consumer) and reports it once."""
        if session.closed_reason == pb.CLOSE_REASON_UNSPECIFIED:
            session.closed_reason = reason
        await session.transport.close()

    async def close_stream(self, stream_id: str, reason: int) -> None:
        for session in [s for s in self.by_consumer.values() if s.stream_id == stream_id]:
            await self.close_session(session, reason)

    async def close_all(self, reason: int) -> None:
        for session in list(self.by_consumer.values()):
            await self.close_session(session, reason)

    # -- lifecycle -----------------------------------------------------------------------

    def _track(self, session: Session) -> None:
        transport, consumer = session.transport, session.consumer
        self.by_consumer[consumer.id] = session
        self.by_transport[transport.id] = session
        loop = asyncio.get_running_loop()
        session.timers["connect"] = loop.call_later(
            self._policy.connect_timeout_s,
            self._close_soon,
            session,
            pb.CLOSE_REASON_NEVER_CONNECTED,
        )
        transport.on_dtls_state_change.add_listener(lambda state: self._dtls(session, state))
        transport.on_ice_state_change.add_listener(lambda state: self._ice(session, state))
        transport.on_close.add_listener(lambda reason: self._closed(session, reason))
        consumer.on_producer_close.add_listener(
            lambda _: self._close_soon(session, pb.CLOSE_REASON_STREAM_STOPPED)
        )
        audio = session.audio
        if audio is not None:
            self.by_audio[audio.id] = session
            audio.on_producer_close.add_listener(
                lambda _: self._audio_closed(session, audio, pb.CLOSE_REASON_STREAM_STOPPED)
            )

    def _audio_closed(self, session: Session, audio: Consumer, reason: int) -> None:
        """Reports an audio consumer's end once (closed alone, with its producer, or
        with the transport)."""
        if self.by_audio.pop(audio.id, None) is None:
            return
        if session.audio is audio:
            session.audio = None
        _log.info("viewer %s: audio consumer %s closed", session.client_id, audio.id)
        if self._on_audio_closed is not None:
            self._on_audio_closed(session, audio.id, reason)

    def _dtls(self, session: Session, state: str) -> None:
        self._on_transport_state(session)
        if state == "connected":
            self._cancel(session, "connect")
            task = asyncio.ensure_future(self._request_key_frame(session))
            task.add_done_callback(lambda _t: None)
        elif state == "failed":
            self._close_soon(session, pb.CLOSE_REASON_DTLS_FAILED)
        elif state == "closed":
            self._close_soon(session, pb.CLOSE_REASON_DTLS_CLOSED)

    def _ice(self, session: Session, state: str) -> None:
        self._on_transport_state(session)
        if state == "disconnected":
            session.timers["ice"] = asyncio.get_running_loop().call_later(
                self._policy.ice_disconnected_grace_s,
                self._close_soon,
                session,
                pb.CLOSE_REASON_ICE_DISCONNECTED,
            )
        elif state in ("connected", "completed"):
            self._cancel(session, "ice")

    async def _request_key_frame(self, session: Session) -> None:
        try:
            if not session.consumer.closed:
                await session.consumer.request_key_frame()
        except MediasoupError as error:
            _log.debug("key frame request for %s: %s", session.consumer.id, error)

    def _close_soon(self, session: Session, reason: int) -> None:
        task = asyncio.ensure_future(self.close_session(session, reason))
        task.add_done_callback(lambda _t: None)

    def _cancel(self, session: Session, name: str) -> None:
        timer = session.timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _closed(self, session: Session, transport_reason: str) -> None:
        for timer in session.timers.values():
            timer.cancel()
        session.timers.clear()
        if session.closed_reason == pb.CLOSE_REASON_UNSPECIFIED:
            session.closed_reason = _TRANSPORT_REASONS.get(
                transport_reason, pb.CLOSE_REASON_REQUESTED
            )
        if session.audio is not None:
            self._audio_closed(session, session.audio, session.closed_reason)
        self.by_consumer.pop(session.consumer.id, None)
        self.by_transport.pop(session.transport.id, None)
        _log.info(
            "viewer %s (consumer %s, stream %s) closed: %s",
            session.client_id,
            session.consumer.id,
            session.stream_id,
            pb.CloseReason.Name(session.closed_reason),
        )
        self._on_closed(session)
