"""gst-launch-1.0 command lines of the supervised ingests.

Every pipeline ends the same way, the wiring measured in MEDIA_NOTES:

    … ! <payloader mtu=1200 ssrc=S pt=PT> ! rtpbin.send_rtp_sink_0
    rtpbin.send_rtp_src_0 ! udpsink host=<transport> port=<transport> bind-port=P1
    udpsrc port=P2 caps=application/x-rtcp ! rtpbin.recv_rtcp_sink_0

The PlainTransport (comedia off, rtcp-mux off) is connected to {ip, P1, P2}: it
accepts RTP only from P1 and sends its RTCP (PLI/FIR key-frame requests, receiver
reports) to P2, where rtpbin's session turns a PLI into a force-key-unit event that
travels upstream to the encoder (a key frame leaves within ~15 ms). GStreamer's
own sender reports stay unlinked: they would leave from an unknown port, and
video plays without them.

Payloads are capped at 1200 bytes: with mediasoup's header extensions and SRTP
added, bigger packets exceed what WebRTC stacks accept (aiortc fails at 1500).

Each element and property is one argv item (gst-launch escapes spaces within an
item), so no shell and no quoting is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import PAYLOAD_TYPES, Codec, IngestSpec

GST_LAUNCH = "gst-launch-1.0"
RTP_MTU = 1200
RTSP_LATENCY_MS = 100
"""rtspsrc's jitter buffer (its default, 2000 ms, would delay every frame by 2 s)."""


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

    def payloader_properties(self, codec: Codec) -> list[str]:
        """Properties every payloader gets: why each is set, see the fields."""
        return [
            f"mtu={RTP_MTU}",
            f"ssrc={self.ssrc}",
            f"pt={PAYLOAD_TYPES[codec]}",
            f"seqnum-offset={self.seqnum_offset}",
            f"timestamp-offset={self.timestamp_offset}",
        ]


def encoder_chain(spec: IngestSpec, codec: Codec, target: RtpTarget) -> list[str]:
    """Encoder + payloader from raw video. Realtime settings, as measured: vp8enc at
    deadline=1 cpu-used=8 (~11 % of a core at 640x360@30), x264enc zerolatency
    ultrafast constrained-baseline (~6 %)."""
    if codec == "vp8":
        return [
            "vp8enc",
            "deadline=1",
            "cpu-used=8",
            f"keyframe-max-dist={spec.keyframe_interval_frames}",
            f"target-bitrate={spec.bitrate_kbps * 1000}",
            "!",
            "rtpvp8pay",
            "picture-id-mode=15-bit",
            f"picture-id-offset={target.picture_id_offset}",
            *target.payloader_properties("vp8"),
        ]
    return [
        "x264enc",
        "tune=zerolatency",
        "speed-preset=ultrafast",
        f"key-int-max={spec.keyframe_interval_frames}",
        f"bitrate={spec.bitrate_kbps}",
        "!",
        "video/x-h264,profile=constrained-baseline",
        "!",
        *h264_payloader(target),
    ]


def h264_payloader(target: RtpTarget) -> list[str]:
    """config-interval=-1: SPS/PPS before every IDR, so any key frame is decodable alone."""
    return [
        "rtph264pay",
        "config-interval=-1",
        "aggregate-mode=zero-latency",
        *target.payloader_properties("h264"),
    ]


def rtp_output(target: RtpTarget) -> list[str]:
    """rtpbin and the two sockets of the PLI-answering wiring (see the module doc)."""
    return [
        "rtpbin.send_rtp_src_0",
        "!",
        "udpsink",
        f"host={target.transport_ip}",
        f"port={target.transport_port}",
        f"bind-address={target.local_ip}",
        f"bind-port={target.rtp_source_port}",
        "sync=false",
        "async=false",
        "udpsrc",
        f"address={target.local_ip}",
        f"port={target.rtcp_port}",
        "caps=application/x-rtcp",
        "!",
        "rtpbin.recv_rtcp_sink_0",
    ]


def test_pattern_source(spec: IngestSpec) -> list[str]:
    """A moving ball with the wall clock burnt in: motion shows the stream is live, the
    clock lets anyone read the end-to-end latency off a screen."""
    return [
        "videotestsrc",
        "is-live=true",
        "pattern=ball",
        "!",
        f"video/x-raw,width={spec.width},height={spec.height},framerate={spec.fps}/1",
        "!",
        "clockoverlay",
        "halignment=right",
        "valignment=bottom",
        "shaded-background=true",
        f"font-desc=Sans {max(8, spec.height // 15)}",
        "time-format=%H:%M:%S",
    ]


def rtsp_source(spec: IngestSpec, caps: str) -> list[str]:
    """rtspsrc restricted to its video stream: the caps filter keeps an audio stream
    (which nothing here would consume) from being linked."""
    assert spec.url is not None
    return [
        "rtspsrc",
        f"location={spec.url}",
        f"protocols={spec.rtsp_transport}",
        f"latency={RTSP_LATENCY_MS}",
        "!",
        caps,
    ]


def gst_pipeline(spec: IngestSpec, target: RtpTarget) -> list[str]:
    """The whole argv for ``spec`` (kinds test_pattern and rtsp)."""
    if spec.kind == "test_pattern":
        media = [*test_pattern_source(spec), "!", *encoder_chain(spec, spec.codec, target)]
    elif spec.kind == "rtsp" and not spec.transcode:
        # Passthrough: depayload and repayload only (to our SSRC, PT and MTU);
        # h264parse gives rtph264pay whole access units. No decoder, no encoder.
        media = [
            *rtsp_source(spec, "application/x-rtp,media=video,encoding-name=H264"),
            "!",
            "rtph264depay",
            "!",
            "h264parse",
            "!",
            *h264_payloader(target),
        ]
    elif spec.kind == "rtsp":
        # Transcode: decodebin picks the depayloader and decoder for whatever the camera
        # sends; the picture is scaled (letterboxed, aspect kept) to width x height.
        media = [
            *rtsp_source(spec, "application/x-rtp,media=video"),
            "!",
            "decodebin",
            "!",
            "videoconvert",
            "!",
            "videoscale",
            "add-borders=true",
            "!",
            f"video/x-raw,format=I420,width={spec.width},height={spec.height},"
            "pixel-aspect-ratio=1/1",
            "!",
            *encoder_chain(spec, spec.codec, target),
        ]
    else:
        raise ValueError(f"no pipeline for ingest kind {spec.kind!r}")
    return [
        GST_LAUNCH,
        "rtpbin",
        "name=rtpbin",
        "rtp-profile=avpf",
        *media,
        "!",
        "rtpbin.send_rtp_sink_0",
        *rtp_output(target),
    ]


def element_names(argv: list[str]) -> list[str]:
    """Factory names of the elements in a gst-launch argv: every item that is not a
    link (``!``), a property (``name=value``), caps (``media/type,…``) or a pad
    reference (``element.pad``). For inspection and tests."""
    return [
        item
        for item in argv[1:]
        if item != "!" and "=" not in item and "/" not in item and "." not in item
    ]
