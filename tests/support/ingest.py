"""Real media sources for driver tests: ffmpeg and GStreamer sending RTP to a PlainTransport.

Facts these follow (measured here): RTP payloads must stay <= 1200 bytes
(larger ones break aiortc after SRTP), ffmpeg ignores key-frame requests while
a GStreamer rtpbin pipeline answers them within ~15 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

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
    codec: str,
    port: int,
    ssrc: int,
    payload_type: int,
    gop: int = 60,
    srtp_key: str | None = None,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> asyncio.subprocess.Process:
    """ffmpeg test pattern -> RTP (SRTP with ``srtp_key``, AES_CM_128_HMAC_SHA1_80) to a
    comedia PlainTransport at ``port``.

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
        f"testsrc2=size={size[0]}x{size[1]}:rate={FPS}",
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
    ]
    query = f"pkt_size=1200&rtcpport={free_udp_port()}"
    if srtp_key is not None:
        args += ["-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80", "-srtp_out_params", srtp_key]
        args.append(f"srtp://127.0.0.1:{port}?{query}")
    else:
        args.append(f"rtp://127.0.0.1:{port}?{query}")
    return await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


def gstreamer_args(
    codec: str,
    dest_port: int,
    rtp_bind_port: int,
    rtcp_listen_port: int,
    ssrc: int,
    payload_type: int,
    keyframe_interval_frames: int,
) -> list[str]:
    """A GStreamer rtpbin pipeline whose encoder answers RTCP PLI/FIR with a key frame."""
    if codec == "vp8":
        encode = (
            f"vp8enc deadline=1 cpu-used=8 keyframe-max-dist={keyframe_interval_frames} ! "
            f"rtpvp8pay picture-id-mode=15-bit mtu=1200 ssrc={ssrc} pt={payload_type}"
        )
    else:
        encode = (
            f"x264enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={keyframe_interval_frames} ! "
            "video/x-h264,profile=constrained-baseline ! "
            "rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu=1200 "
            f"ssrc={ssrc} pt={payload_type}"
        )
    pipeline = (
        "rtpbin name=rtpbin rtp-profile=avpf "
        f"videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! "
        f"{encode} ! rtpbin.send_rtp_sink_0 "
        f"rtpbin.send_rtp_src_0 ! udpsink host=127.0.0.1 port={dest_port} "
        f"bind-port={rtp_bind_port} sync=false async=false "
        f"udpsrc port={rtcp_listen_port} caps=application/x-rtcp ! rtpbin.recv_rtcp_sink_0"
    )
    return ["gst-launch-1.0", "-q", *pipeline.split()]


async def start_gstreamer(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *gstreamer_args(*args, **kwargs),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
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
