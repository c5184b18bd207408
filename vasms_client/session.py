"""One attach of a viewer: a pymediasoup receive transport and video consumer on aiortc.

A `MediaSession` lives from `consume` to its end, whatever the cause (the server closed
the transport, ICE/DTLS failed, the track ended, the viewer left). It never reconnects:
`Viewer` creates a new session for that, so every session's state starts clean (new
Device, new transport, new timestamps) and nothing from a dead peer connection leaks
into the next one.

Signalling follows the V2 contract for clients that cannot pre-generate their DTLS
certificate (aiortc through pymediasoup cannot): `consume` without `dtls_parameters`, then
`POST /transports/{id}/connect` from the transport's `connect` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError
from pymediasoup import Device
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities

from vasms_client.client import VasmsClient
from vasms_client.errors import ConflictError, IceFailedError, MediaError, VasmsError
from vasms_client.ice import (
    IcePolicy,
    PolicyHandler,
    SelectedPair,
    TurnRoute,
    TurnTransport,
    selected_pair,
    turn_routes,
)
from vasms_client.models import Consumption

log = logging.getLogger("vasms_client")

FrameSink = Callable[["MediaSession", av.VideoFrame], None]
AudioSink = Callable[["MediaSession", av.AudioFrame], None]


class MediaSession:
    """Receives one consumer's video and hands each decoded frame to `sink`."""

    def __init__(
        self,
        client: VasmsClient,
        stream_id: str,
        client_id: str,
        index: int,
        sink: FrameSink,
        *,
        stats_interval_s: float = 1.0,
        close_timeout_s: float = 5.0,
        ice_policy: IcePolicy = "all",
        turn_transport: TurnTransport | None = None,
        route_index: int = 0,
        ice_timeout_s: float = 15.0,
        audio_sink: AudioSink | None = None,
    ) -> None:
        self.client = client
        self._audio_sink = audio_sink
        self.stream_id = stream_id
        self.client_id = client_id
        self.index = index
        self._sink = sink
        self._stats_interval_s = stats_interval_s
        self._close_timeout_s = close_timeout_s
        self._ice_policy = ice_policy
        self._turn_transport = turn_transport
        self._route_index = route_index
        self._ice_timeout_s = ice_timeout_s
        self._connected = asyncio.Event()
        # The TURN route of this attempt (None: direct only) and how many the server offers.
        self.route: TurnRoute | None = None
        self.routes_offered = 0
        self.pair: SelectedPair | None = None
        self.consumption: Consumption | None = None
        self.started_at = time.monotonic()
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.frames = 0
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        # Receiver statistics, sampled every stats_interval_s (aiortc's getStats is async,
        # while Viewer.stats() is a plain call: it reads these).
        self.bytes_received = 0
        self.packets_received = 0
        self.packets_lost = 0
        self.byte_samples: deque[tuple[float, int]] = deque(maxlen=16)
        self._transport: Any = None
        self._consumer: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: asyncio.Task[None] | None = None

    @property
    def consumer_id(self) -> str | None:
        return self.consumption.consumer_id if self.consumption else None

    @property
    def transport_id(self) -> str | None:
        return self.consumption.transport.id if self.consumption else None

    @property
    def time_to_first_frame_s(self) -> float | None:
        if self.first_frame_at is None:
            return None
        return self.first_frame_at - self.started_at

    def end(self, reason: str) -> None:
        """Marks the session over; the first reason wins (later ones are consequences)."""
        if self.end_reason is None:
            self.end_reason = reason
            log.info(
                "viewer %s: session %d of stream %s ended: %s (consumer %s)",
                self.client_id,
                self.index,
                self.stream_id,
                reason,
                self.consumer_id,
            )
        self.ended.set()

    # ------------------------------------------------------------------ opening

    @property
    def route_name(self) -> str:
        return self.route.url if self.route else "direct"

    async def open(self) -> None:
        """capabilities → Device → consume → recv transport → consumer → ICE connected.

        Returns once ICE has connected (frames start flowing); raises `IceFailedError` when
        it does not within `ice_timeout_s`. On any failure (or cancellation) after
        `consume`, the consumer is detached before the exception propagates: a half-made
        session leaves nothing on the node.
        """
        self.started_at = time.monotonic()
        caps = await self.client.router_capabilities(self.stream_id)
        device = Device(handlerFactory=PolicyHandler.createFactory(tracks=[]))
        try:
            await device.load(RtpCapabilities(**caps))
            recv_caps = device.rtpCapabilities.model_dump(exclude_none=True)
        except Exception as exc:
            raise MediaError(f"cannot load the stream's RTP capabilities: {exc}") from exc
        self.consumption = await self.client.consume(
            self.stream_id,
            client_id=self.client_id,
            rtp_capabilities=recv_caps,
            audio=self._audio_sink is not None,
        )
        try:
            await self._receive(device, self.consumption)
            await self._wait_connected()
        except BaseException:
            self.end("open_failed")
            await self.close()
            raise
        log.info(
            "viewer %s: session %d attached to stream %s (consumer %s, transport %s)",
            self.client_id,
            self.index,
            self.stream_id,
            self.consumption.consumer_id,
            self.consumption.transport.id,
        )

    async def _receive(self, device: Device, consumption: Consumption) -> None:
        if consumption.kind != "video":
            raise MediaError(f"stream {self.stream_id} sends {consumption.kind}, not video")
        params = consumption.transport
        routes = turn_routes(consumption.ice_servers, self._turn_transport)
        self.routes_offered = len(routes)
        self.route = routes[self._route_index % len(routes)] if routes else None
        if self.route is None and self._ice_policy == "relay":
            raise IceFailedError(
                "relay-only ICE was asked for, but the server offers no TURN server"
                + (f" over {self._turn_transport}" if self._turn_transport else ""),
                tried=[],
                timeout_s=self._ice_timeout_s,
            )
        try:
            self._transport = device.createRecvTransport(
                id=params.id,
                iceParameters=params.ice_parameters,
                iceCandidates=params.ice_candidates,
                dtlsParameters=params.dtls_parameters,
                iceServers=[self.route.ice_server()] if self.route else [],
                iceTransportPolicy=self._ice_policy,
            )
            # pymediasoup adds an RTP "probator" receiver with the first video consumer, for
            # the server's bandwidth probes. aiortc has no use for it and its decoder fails
            # on every padding-only probe (a warning each); without that receiver the probes
            # are dropped quietly, one decoder thread fewer per viewer.
            if hasattr(self._transport, "_probatorConsumerCreated"):
                self._transport._probatorConsumerCreated = True
            self._transport.on("connect", self._on_connect)
            self._transport.on("connectionstatechange", self._on_connection_state)
            consumer = await self._transport.consume(
                id=consumption.consumer_id,
                producerId=consumption.producer_id,
                kind=consumption.kind,
                rtpParameters=consumption.rtp_parameters,
            )
            audio = consumption.audio
            audio_consumer = None
            if audio is not None and self._audio_sink is not None:
                audio_consumer = await self._transport.consume(
                    id=str(audio["consumer_id"]),
                    producerId=str(audio["producer_id"]),
                    kind="audio",
                    rtpParameters=audio["rtp_parameters"],
                )
        except VasmsError:
            raise
        except Exception as exc:
            raise MediaError(f"cannot receive stream {self.stream_id}: {exc}") from exc
        self._consumer = consumer
        self._tasks = [
            asyncio.create_task(self._pump(consumer.track), name=f"vasms-frames-{params.id}"),
            asyncio.create_task(self._sample(consumer), name=f"vasms-stats-{params.id}"),
        ]
        if audio_consumer is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._pump_audio(audio_consumer.track), name=f"vasms-audio-{params.id}"
                )
            )

    async def _on_connect(self, dtls: DtlsParameters) -> None:
        """The transport's `connect` event (pymediasoup runs it as a task of its own, so
        failures end the session here instead of vanishing in an event emitter)."""
        assert self.consumption is not None
        try:
            await self.client.connect_transport(
                self.consumption.transport.id, dtls.model_dump(exclude_none=True)
            )
        except ConflictError as exc:
            if exc.code != "already_connected":
                self.end(f"connect_failed: {exc.code}")
        except Exception as exc:  # any failure: the session cannot get media
            self.end(f"connect_failed: {getattr(exc, 'code', type(exc).__name__)}")

    def _on_connection_state(self, state: str) -> None:
        # "disconnected" can heal by itself (ICE consent recovers); failed/closed cannot.
        if state == "connected":
            self._connected.set()
            self.pair = selected_pair(self._peer_connection())
        elif state in ("failed", "closed"):
            self.end(f"transport_{state}")

    def _peer_connection(self) -> Any:
        try:
            return self._transport.handler.pc
        except Exception:  # not made yet, or closed
            return None

    async def _wait_connected(self) -> None:
        """ICE connected within the timeout, or `IceFailedError` saying what was tried."""
        connected = asyncio.ensure_future(self._connected.wait())
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait(
                {connected, ended}, timeout=self._ice_timeout_s, return_when="FIRST_COMPLETED"
            )
        finally:
            connected.cancel()
            ended.cancel()
        if self._connected.is_set():
            return
        if self.end_reason is not None and not self.end_reason.startswith("transport_"):
            raise MediaError(f"session ended before ICE connected: {self.end_reason}")
        assert self.consumption is not None
        offered = ", ".join(
            f"{c.get('protocol')} {c.get('address') or c.get('ip')}:{c.get('port')}"
            for c in self.consumption.transport.ice_candidates
        )
        how = "relay only" if self._ice_policy == "relay" else f"node candidates {offered}"
        via = f"TURN {self.route.url}" if self.route else "no TURN server offered"
        outcome = "failed" if self.end_reason else f"not connected after {self._ice_timeout_s:g} s"
        raise IceFailedError(
            f"ICE {outcome} ({how}; {via}): the network between this viewer and the "
            "media node blocks the path",
            tried=[self.route_name],
            timeout_s=self._ice_timeout_s,
        )

    # ------------------------------------------------------------------ running

    async def _pump(self, track: Any) -> None:
        """Moves decoded frames out of aiortc as they come, so aiortc's own (unbounded)
        queue never grows; the viewer decides what to keep."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self.end("track_ended")
                return
            now = time.monotonic()
            if self.first_frame_at is None:
                self.first_frame_at = now
            self.last_frame_at = now
            self.frames += 1
            self._sink(self, frame)

    async def _pump_audio(self, track: Any) -> None:
        """Decoded audio frames to the audio sink; the video's track governs the session
        (audio that ends, e.g. a camera restarting with another codec, ends nothing)."""
        assert self._audio_sink is not None
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._audio_sink(self, frame)

    async def _sample(self, consumer: Any) -> None:
        while True:
            try:
                await self._read_stats(consumer)
            except Exception as exc:  # the receiver is being torn down; the session ends anyway
                log.debug("viewer %s: stats unavailable: %r", self.client_id, exc)
                return
            await asyncio.sleep(self._stats_interval_s)

    async def _read_stats(self, consumer: Any) -> None:
        """Reads the receiver's statistics through pymediasoup (its Consumer does not expose
        the RTCRtpReceiver itself: `consumer.rtpReceiver` is None with the aiortc handler)."""
        for report in await consumer.getStats():
            for stats in report.values():
                if stats.type == "inbound-rtp":
                    self.packets_received = int(stats.packetsReceived)
                    self.packets_lost = max(0, int(stats.packetsLost))
                elif stats.type == "transport":
                    self.bytes_received = int(stats.bytesReceived)
        self.byte_samples.append((time.monotonic(), self.bytes_received))
        self.pair = selected_pair(self._peer_connection()) or self.pair

    def bitrate_bps(self, window_s: float = 3.0) -> float:
        """Received bits per second over the last `window_s` of samples."""
        samples = [s for s in self.byte_samples if s[0] >= self.byte_samples[-1][0] - window_s]
        if len(samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = samples[0], samples[-1]
        return (b1 - b0) * 8 / (t1 - t0) if t1 > t0 else 0.0

    # ------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Detaches: DELETE the consumer, close the peer connection. Idempotent, and runs
        to the end even if the caller is cancelled meanwhile (it is shielded): a cancelled
        worker must not leave its consumer on the node."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        self.end("closed")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._consumer is not None and not self._consumer.closed:
            # Final counters, so a summary printed after leaving covers the last second too.
            with contextlib.suppress(Exception):
                await self._read_stats(self._consumer)
        if self.consumption is not None:
            consumer_id = self.consumption.consumer_id
            try:
                async with asyncio.timeout(self._close_timeout_s):
                    await self.client.detach(consumer_id)
            except Exception as exc:  # best effort: the DTLS close below tells the node too
                log.warning(
                    "viewer %s: detach of consumer %s: %s", self.client_id, consumer_id, exc
                )
        if self._transport is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._close_timeout_s):
                    await self._transport.close()
