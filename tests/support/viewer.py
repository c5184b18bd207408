"""A real WebRTC viewer for tests: pymediasoup (mediasoup-client's port) on aiortc.

Signalling is left to the caller through two callbacks, so the same viewer
drives our driver in-process (issue tests of mediasoup_driver) or a media
node over gRPC.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pymediasoup import AiortcHandler, Device
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities

ConnectCallback = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Frame:
    width: int
    height: int
    received_at: float
    pts: int | None = None
    """The frame's RTP timestamp as the viewer got it (90 kHz)."""
    key_frame: bool = False


@dataclass
class AudioFrame:
    sample_rate: int
    samples: int
    rms: float
    """Root mean square of the frame's samples, in full scale (0 silence, 1 maximum)."""
    received_at: float


def frame_rms(frame: Any) -> float:
    """RMS of a decoded audio frame (PyAV AudioFrame, any sample format), 0..1."""
    import numpy as np

    data = frame.to_ndarray().astype(np.float64)
    if frame.format.name.startswith("s16"):
        data /= 32768.0
    elif frame.format.name.startswith("s32"):
        data /= 2147483648.0
    return float(np.sqrt(np.mean(np.square(data)))) if data.size else 0.0


@dataclass
class Viewer:
    """One pymediasoup device with one receive transport and one video consumer."""

    device: Device = field(
        default_factory=lambda: Device(handlerFactory=AiortcHandler.createFactory(tracks=[]))
    )
    transport: Any = None
    consumer: Any = None
    audio_consumer: Any = None
    connect_calls: int = 0
    dtls_connected_at: float | None = None

    async def load(self, router_rtp_capabilities: dict[str, Any]) -> dict[str, Any]:
        """Loads the router's capabilities; returns the viewer's receive capabilities."""
        await self.device.load(RtpCapabilities(**router_rtp_capabilities))
        return self.device.rtpCapabilities.model_dump(exclude_none=True)

    def create_transport(self, params: dict[str, Any], on_connect: ConnectCallback) -> None:
        """``params``: id, iceParameters, iceCandidates, dtlsParameters (mediasoup shape)."""
        self.transport = self.device.createRecvTransport(
            id=params["id"],
            iceParameters=params["iceParameters"],
            iceCandidates=params["iceCandidates"],
            dtlsParameters=params["dtlsParameters"],
        )

        @self.transport.on("connect")
        async def _on_connect(dtls: DtlsParameters) -> None:
            self.connect_calls += 1
            await on_connect(dtls.model_dump(exclude_none=True))

        @self.transport.on("connectionstatechange")
        async def _on_state(state: str) -> None:
            if state == "connected" and self.dtls_connected_at is None:
                self.dtls_connected_at = time.monotonic()

    async def consume(self, consumer: dict[str, Any]) -> None:
        """``consumer``: id, producerId, kind, rtpParameters (mediasoup shape)."""
        self.consumer = await self.transport.consume(
            id=consumer["id"],
            producerId=consumer["producerId"],
            kind=consumer["kind"],
            rtpParameters=consumer["rtpParameters"],
        )

    async def consume_audio(self, consumer: dict[str, Any]) -> None:
        """The audio consumer on the same transport (mediasoup shape, kind audio)."""
        self.audio_consumer = await self.transport.consume(
            id=consumer["id"],
            producerId=consumer["producerId"],
            kind="audio",
            rtpParameters=consumer["rtpParameters"],
        )

    async def audio_frames(self, count: int, within: float = 20.0) -> list[AudioFrame]:
        """Decodes ``count`` audio frames (raises TimeoutError if they do not come)."""
        track = self.audio_consumer.track
        frames: list[AudioFrame] = []

        async def collect() -> None:
            while len(frames) < count:
                frame = await track.recv()
                frames.append(
                    AudioFrame(frame.sample_rate, frame.samples, frame_rms(frame), time.monotonic())
                )

        await asyncio.wait_for(collect(), within)
        return frames

    async def frames(self, count: int, within: float = 20.0) -> list[Frame]:
        """Decodes ``count`` video frames (raises TimeoutError if they do not come)."""
        track = self.consumer.track
        frames: list[Frame] = []

        async def collect() -> None:
            while len(frames) < count:
                frame = await track.recv()
                frames.append(
                    Frame(
                        frame.width,
                        frame.height,
                        time.monotonic(),
                        frame.pts,
                        bool(getattr(frame, "key_frame", False)),
                    )
                )

        await asyncio.wait_for(collect(), within)
        return frames

    async def close(self) -> None:
        if self.transport is not None and not self.transport.closed:
            await self.transport.close()
