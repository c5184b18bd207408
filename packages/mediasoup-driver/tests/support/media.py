"""Real media sources for the driver's tests: ffmpeg sending RTP to a PlainTransport.

Facts these follow (measured here): RTP payloads must stay <= 1200 bytes
(larger ones break aiortc after SRTP), ffmpeg ignores key-frame requests while
a GStreamer rtpbin pipeline answers them within ~15 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Any

from mediasoup_driver import (
    ListenInfo,
    PlainTransport,
    PlainTransportOptions,
    Producer,
    ProducerOptions,
    Router,
)

WIDTH, HEIGHT, FPS = 640, 360, 30

RTCP_FEEDBACK = [
    {"type": "nack"},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
]

ROUTER_MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {
            "packetization-mode": 1,
            "profile-level-id": "42e01f",
            "level-asymmetry-allowed": 1,
        },
    },
]


def producer_rtp_parameters(codec: str, ssrc: int, payload_type: int) -> dict[str, Any]:
    if codec == "vp8":
        codec_params: dict[str, Any] = {
            "mimeType": "video/VP8",
            "payloadType": payload_type,
            "clockRate": 90000,
            "rtcpFeedback": RTCP_FEEDBACK,
        }
    else:
        codec_params = {
            "mimeType": "video/H264",
            "payloadType": payload_type,
            "clockRate": 90000,
            "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
            "rtcpFeedback": RTCP_FEEDBACK,
        }
    return {"codecs": [codec_params], "encodings": [{"ssrc": ssrc}]}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_ffmpeg(
    codec: str, port: int, ssrc: int, payload_type: int, gop: int = 60
) -> asyncio.subprocess.Process:
    """ffmpeg test pattern -> RTP to a comedia PlainTransport at ``port``.

    ffmpeg sends its RTCP from a second local socket; were it sent to the
    transport, comedia could latch onto that address and then drop the RTP.
    So its RTCP goes to a port nobody listens on (ffmpeg ignores PLI anyway).
    """
    if codec == "vp8":
        encoder = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"]
    else:
        encoder = [
            "-c:v",
            "libx264",
            "-profile:v",
            "baseline",
            "-tune",
            "zerolatency",
            "-preset",
            "ultrafast",
            "-bsf:v",
            "h264_mp4toannexb",
        ]
    args = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}",
        *encoder,
        "-g",
        str(gop),
        "-pix_fmt",
        "yuv420p",
        "-an",
        "-ssrc",
        str(ssrc),
        "-payload_type",
        str(payload_type),
        "-f",
        "rtp",
        f"rtp://127.0.0.1:{port}?pkt_size=1200&rtcpport={free_udp_port()}",
    ]
    return await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


LOCALHOST = ListenInfo(ip="127.0.0.1")
SSRC = 22222222
PAYLOAD_TYPE = 101


@dataclass
class Ingest:
    transport: PlainTransport
    producer: Producer
    process: asyncio.subprocess.Process

    async def stop(self) -> None:
        await stop(self.process)


async def ffmpeg_ingest(router: Router, codec: str, gop: int = 60) -> Ingest:
    """ffmpeg -> comedia PlainTransport (rtcp-mux) -> Producer."""
    transport = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=True, rtcp_mux=True)
    )
    producer = await transport.produce(
        ProducerOptions(
            kind="video",
            rtp_parameters=producer_rtp_parameters(codec, SSRC, PAYLOAD_TYPE),
        )
    )
    process = await start_ffmpeg(codec, transport.tuple.local_port, SSRC, PAYLOAD_TYPE, gop)
    return Ingest(transport, producer, process)


async def wait_for_media(producer: Producer, within: float = 15.0) -> None:
    """Waits until the worker scores the producer's stream (packets are arriving)."""
    if producer.score and producer.score[0].score > 0:
        return
    async with asyncio.timeout(within):
        while True:
            scores = await producer.on_score.wait()
            if scores and scores[0].score > 0:
                return
