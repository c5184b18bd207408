"""What the ingest child process (``runner.py``) is told to build, and how it is run.

The node never writes a pipeline description: it sends the runner a JSON
configuration (source, output codec, RTP numbering and ports) and the runner
makes each element in code (see its module doc). Every pipeline ends the same
way, the wiring measured in MEDIA_NOTES:

    … → payloader (mtu 1200, our SSRC and PT) → rtpbin.send_rtp_sink_0
    rtpbin.send_rtp_src_0 → udpsink (to the transport, bound to P1)
    udpsrc (P2, application/x-rtcp) → rtpbin.recv_rtcp_sink_0

The PlainTransport (comedia off, rtcp-mux off) is connected to {ip, P1, P2}: it
accepts RTP only from P1 and sends its RTCP (PLI/FIR key-frame requests, receiver
reports) to P2, where rtpbin's session turns a PLI into a force-key-unit event that
travels upstream to the encoder (a key frame leaves within ~15 ms). GStreamer's
own sender reports stay unlinked: they would leave from an unknown port, and
video plays without them.

**Audio** (``spec.audio``) travels on the same PlainTransport as a second producer
(another SSRC and payload type): its payloader and rtpbin's video output meet in a
``funnel`` in front of the one udpsink, so both leave from P1, the only source the
transport accepts. One transport per stream keeps one pair of ports, one restart
story and one place that closes everything; audio needs no RTCP feedback, so it
bypasses rtpbin:

    … → opusenc → rtpopuspay (or rtppcmadepay → rtppcmapay for G.711) → funnel
    rtpbin.send_rtp_src_0 → funnel → udpsink

Payloads are capped at 1200 bytes: with mediasoup's header extensions and SRTP
added, bigger packets exceed what WebRTC stacks accept (aiortc fails at 1500).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spec import AUDIO_PAYLOAD_TYPES, PAYLOAD_TYPES, Codec, IngestSpec

SYSTEM_PYTHON = "/usr/bin/python3"
"""The interpreter with python3-gi (Debian); the project's virtualenv has no ``gi``."""
RUNNER = str(Path(__file__).resolve().with_name("runner.py"))
RTP_MTU = 1200
RTSP_LATENCY_MS = 100
"""rtspsrc's jitter buffer (its default, 2000 ms, would delay every frame by 2 s)."""


def runner_argv() -> list[str]:
    """The ingest child's command line: fixed, no value of any stream in it (the
    configuration, camera URL included, travels on stdin, not in ``ps``)."""
    return [SYSTEM_PYTHON, "-u", RUNNER]


@dataclass(frozen=True, slots=True)
class RtpTarget:
    """Where the pipeline sends RTP from/to and receives RTCP on."""

    local_ip: str
    """Address the pipeline binds (the transport connects to it)."""
    rtp_source_port: int
    """P1: udpsink's bind port, the only source the transport accepts RTP from."""
    rtcp_port: int
    """P2: where the pipeline listens for the worker's RTCP."""
    transport_ip: str
    transport_port: int
    ssrc: int
    seqnum_offset: int = 0
    """First RTP sequence number: a restarted process continues its predecessor's."""
    timestamp_offset: int = 0
    """RTP timestamp at the run's start: runs continue one wall-clock timeline."""
    picture_id_offset: int = 0
    """First VP8 picture id (an estimate that only moves forward across runs)."""
    bridge_ssrc: int = 0
    """Fast start (``fast_start``): the bridge encoding's SSRC; then RTP and RTCP of both
    encodings share one socket bound to P1 (the transport has rtcp-mux; P2 is unused)."""
    bridge_seqnum_offset: int = 0

    def config(self, codec: Codec) -> dict[str, Any]:
        return {
            "local_ip": self.local_ip,
            "rtp_source_port": self.rtp_source_port,
            "rtcp_port": self.rtcp_port,
            "transport_ip": self.transport_ip,
            "transport_port": self.transport_port,
            "ssrc": self.ssrc,
            "payload_type": PAYLOAD_TYPES[codec],
            "mtu": RTP_MTU,
            "seqnum_offset": self.seqnum_offset,
            "timestamp_offset": self.timestamp_offset,
            "picture_id_offset": self.picture_id_offset,
            "bridge_ssrc": self.bridge_ssrc,
            "bridge_seqnum_offset": self.bridge_seqnum_offset,
        }


def run_config(
    spec: IngestSpec, target: RtpTarget, audio_ssrc: int | None = None
) -> dict[str, Any]:
    """The runner's configuration for ``spec`` (kinds test_pattern and rtsp)."""
    source: dict[str, Any]
    if spec.kind == "test_pattern":
        source = {
            "kind": "test_pattern",
            "width": spec.width,
            "height": spec.height,
            "fps": spec.fps,
        }
    elif spec.kind == "rtsp":
        source = {
            "kind": "rtsp",
            "url": spec.url,
            "protocols": spec.rtsp_transport,
            "latency_ms": RTSP_LATENCY_MS,
            "transcode": spec.transcode,
            "max_height": spec.max_height,
        }
    else:
        raise ValueError(f"no pipeline for ingest kind {spec.kind!r}")
    return {
        "source": source,
        "output": {
            "codec": spec.codec,
            "bitrate_kbps": spec.bitrate_kbps,
            "keyframe_interval_s": spec.keyframe_interval_s,
        },
        "rtp": target.config(spec.codec),
        "audio": (
            {
                "ssrc": audio_ssrc,
                "payload_types": dict(AUDIO_PAYLOAD_TYPES),
                "tone": spec.kind == "test_pattern",
            }
            if spec.audio and audio_ssrc is not None
            else None
        ),
    }
