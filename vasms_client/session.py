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
from pymediasoup import AiortcHandler, Device
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities

from vasms_client.client import VasmsClient
from vasms_client.errors import ConflictError, MediaError, VasmsError
from vasms_client.models import Consumption

log = logging.getLogger("vasms_client")

FrameSink = Callable[["MediaSession", av.VideoFrame], None]


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
    ) -> None:
        self.client = client
        self.stream_id = stream_id
        self.client_id = client_id
        self.index = index
        self._sink = sink
        self._stats_interval_s = stats_interval_s
        self._close_timeout_s = close_timeout_s
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

    async def open(self) -> None:
        """capabilities → Device → consume → recv transport → consumer; frames start flowing.

        On any failure (or cancellation) after `consume`, the consumer is detached before
        the exception propagates: a half-made session leaves nothing on the node.
        """
        self.started_at = time.monotonic()
        caps = await self.client.router_capabilities(self.stream_id)
        device = Device(handlerFactory=AiortcHandler.createFactory(tracks=[]))
        try:
            await device.load(RtpCapabilities(**caps))
            recv_caps = device.rtpCapabilities.model_dump(exclude_none=True)
        except Exception as exc:
            raise MediaError(f"cannot load the stream's RTP capabilities: {exc}") from exc
        self.consumption = await self.client.consume(
            self.stream_id, client_id=self.client_id, rtp_capabilities=recv_caps
        )
        try:
            await self._receive(device, self.consumption)
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
        try:
            self._transport = device.createRecvTransport(
                id=params.id,
                iceParameters=params.ice_parameters,
                iceCandidates=params.ice_candidates,
                dtlsParameters=params.dtls_parameters,
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
        except VasmsError:
            raise
        except Exception as exc:
            raise MediaError(f"cannot receive stream {self.stream_id}: {exc}") from exc
        self._consumer = consumer
        self._tasks = [
            asyncio.create_task(self._pump(consumer.track), name=f"vasms-frames-{params.id}"),
            asyncio.create_task(self._sample(consumer), name=f"vasms-stats-{params.id}"),
        ]

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
        if state in ("failed", "closed"):
            self.end(f"transport_{state}")

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
