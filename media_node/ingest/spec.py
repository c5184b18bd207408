"""What an ingest is asked to do (``IngestSpec``) and what it reports (status, stats, endpoint).

Also the RTP vocabulary every ingest shares with the router: the codec list the
media node gives each router, and the producer RTP parameters an ingest
declares. They live together so that a pipeline's payloader, the producer it
feeds and the router that routes it can never disagree on a payload type or
an H.264 profile.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

from mediasoup_driver.rtp_parameters import (
    RtcpFeedback,
    RtpCodecCapability,
    RtpCodecParameters,
    RtpParameters,
)

IngestKind = Literal["test_pattern", "rtsp", "rtp"]
Codec = Literal["vp8", "h264"]
AudioCodec = Literal["opus", "pcma", "pcmu"]
"""What viewers receive of a source's audio: G.711 (PCMA/PCMU, 8 kHz mono) passes
through as the camera sends it; anything else (AAC, G.726, L16, ...) and the test
pattern's tone are encoded to Opus by the node."""
RtspTransport = Literal["tcp", "udp"]
TranscodeMode = Literal["auto", "always", "never"]
"""``auto``: pass H.264 (baseline, main, high) through, transcode anything else;
``always``: decode and re-encode whatever the camera sends; ``never``: pass through
or fail with a reason saying why."""
Status = Literal["starting", "live", "error", "stopped"]
"""``starting``: created, no RTP yet. ``live``: RTP is arriving. ``error``: the process
failed/exited or RTP stopped (``reason`` says which); a supervised process is being
restarted meanwhile and the status turns ``live`` again once RTP flows. ``stopped``: after
``Ingest.stop()``, terminal."""

H264_PROFILE_LEVEL_ID = "42e01f"
"""Constrained baseline, level 3.1: what every browser decodes (and the router offers).
Passthrough streams of other profiles still flow: mediasoup does not parse the
bitstream and decoders accept higher profiles in practice; the SDP just says 42e01f."""

PAYLOAD_TYPES: dict[Codec, int] = {"vp8": 96, "h264": 102}
"""Payload types an ingest sends with. Any value would do (the router maps them onto
its own); fixed ones make an external sender's configuration predictable."""

RTCP_FEEDBACK: list[RtcpFeedback] = [
    {"type": "nack"},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
]
"""Without ``nack pli`` / ``ccm fir`` the worker never asks the ingest for a key frame,
so a new viewer would wait for the source's next periodic one (up to a whole GOP)."""

AUDIO_PAYLOAD_TYPES: dict[AudioCodec, int] = {"opus": 111, "pcma": 8, "pcmu": 0}
"""Payload types of an ingest's audio stream (G.711's static ones, Opus's usual one)."""

AUDIO_CODECS: dict[AudioCodec, RtpCodecCapability] = {
    "opus": {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    "pcma": {"kind": "audio", "mimeType": "audio/PCMA", "clockRate": 8000},
    "pcmu": {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000},
}
"""The router's audio codecs. PCMA and PCMU are in mediasoup's supported list and in
every browser's and aiortc's, so a G.711 camera's audio is forwarded untouched."""

_ROUTER_MEDIA_CODECS: list[RtpCodecCapability] = [
    *AUDIO_CODECS.values(),
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {
            "packetization-mode": 1,
            "profile-level-id": H264_PROFILE_LEVEL_ID,
            "level-asymmetry-allowed": 1,
        },
    },
]


def router_media_codecs() -> list[RtpCodecCapability]:
    """The codecs of every router the media node creates (a fresh copy: mediasoup's
    router creation fills in payload types in place)."""
    return copy.deepcopy(_ROUTER_MEDIA_CODECS)


def producer_rtp_parameters(codec: Codec, ssrc: int, bridge_ssrc: int = 0) -> RtpParameters:
    """RTP parameters of an ingest producer: one stream, fixed SSRC and payload type.
    With ``bridge_ssrc`` (fast start, see ``bridge``) a simulcast producer of two
    encodings, the bridge first (spatial layer 0), the camera's own second; both share
    the one codec and payload type, as mediasoup requires of a producer's encodings."""
    params: RtpCodecParameters = {
        "mimeType": "video/VP8" if codec == "vp8" else "video/H264",
        "payloadType": PAYLOAD_TYPES[codec],
        "clockRate": 90000,
        "rtcpFeedback": copy.deepcopy(RTCP_FEEDBACK),
    }
    if codec == "h264":
        params["parameters"] = {
            "packetization-mode": 1,
            "profile-level-id": H264_PROFILE_LEVEL_ID,
        }
    if bridge_ssrc:
        return {"codecs": [params], "encodings": [{"ssrc": bridge_ssrc}, {"ssrc": ssrc}]}
    return {"codecs": [params], "encodings": [{"ssrc": ssrc}]}


def audio_producer_rtp_parameters(codec: AudioCodec, ssrc: int) -> RtpParameters:
    """RTP parameters of an ingest's audio producer (one stream, fixed SSRC and PT)."""
    capability = AUDIO_CODECS[codec]
    params: RtpCodecParameters = {
        "mimeType": capability["mimeType"],
        "payloadType": AUDIO_PAYLOAD_TYPES[codec],
        "clockRate": capability["clockRate"],
    }
    if "channels" in capability:
        params["channels"] = capability["channels"]
    return {"codecs": [params], "encodings": [{"ssrc": ssrc}]}


URL_MAX_LENGTH = 2000


def check_rtsp_url(url: str | None) -> str:
    """An ``rtsp://`` or ``rtsps://`` URL without whitespace or control characters
    (RFC 3986 has none; a camera password with ``!``, ``=``, ``(``, quotes is fine).
    Raises ValueError naming the problem. The URL only ever becomes one property
    value of ``rtspsrc``; this check keeps nonsense out of logs and status lines."""
    if not url or not url.startswith(("rtsp://", "rtsps://")):
        raise ValueError(f"url: an rtsp ingest needs an rtsp:// URL, got {url!r}")
    if len(url) > URL_MAX_LENGTH:
        raise ValueError(f"url: longer than {URL_MAX_LENGTH} characters")
    bad = [c for c in url if c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]
    if bad:
        raise ValueError(f"url: must not contain whitespace or control characters ({bad[0]!r})")
    return url


@dataclass(frozen=True, slots=True)
class IngestSpec:
    """One live source to ingest.

    - ``test_pattern``: the node encodes a moving pattern with a wall clock
      (``codec``, ``width`` x ``height`` @ ``fps``, ``bitrate_kbps``).
    - ``rtsp``: pulled from ``url`` with GStreamer's rtspsrc. ``transcode`` (see
      ``TranscodeMode``): by default H.264 of a profile every viewer decodes is
      passed through untouched (no decoder, no encoder: key frames come only as
      often as the camera sends them unless it honours key-frame requests), and
      anything else (H.265, MJPEG, MPEG-4 Part 2, exotic H.264 profiles) is
      decoded and re-encoded to ``codec`` at the camera's own size and frame rate,
      scaled down to at most ``max_height``; the node's encoder then answers
      key-frame requests.
    - ``rtp``: an external sender pushes RTP to the endpoint the ingest exposes
      (``Ingest.rtp_endpoint``), with that payload type and SSRC, in ``codec``.

    ``fast_start`` (rtsp with H.264 output, unless ``transcode="always"``): a camera
    passed through also gets a bridge encoding that starts a joining viewer at once
    (see ``media_node.ingest.bridge``); ``False`` sends the camera's bitstream alone.

    ``keyframe_interval_s`` is the periodic key-frame interval of the node's own
    encoder; it can be long because key-frame requests are answered immediately.
    ``no_packet_timeout_s``: silence after which the stream is in error (and a
    supervised process is restarted).
    """

    kind: IngestKind
    codec: Codec = "h264"
    url: str | None = None
    transcode: TranscodeMode = "auto"
    max_height: int = 1080
    """Transcoded pictures taller than this are scaled down (aspect kept)."""
    width: int = 640
    height: int = 360
    fps: int = 30
    keyframe_interval_s: float = 10.0
    no_packet_timeout_s: float = 5.0
    bitrate_kbps: int = 1000
    """Target bitrate of the node's encoder (test_pattern, transcode)."""
    fast_start: bool = True
    audio: bool = False
    """Ingest the source's audio as a second producer: the test pattern's tone
    (``test_pattern``), the camera's own audio stream if it has one (``rtsp``; G.711
    passed through, anything else encoded to Opus). False: no tone; a camera's audio
    is drained and dropped. Not for ``rtp``."""
    rtsp_transport: RtspTransport = "tcp"
    """RTP over the RTSP TCP connection by default: no UDP ports to open through
    firewalls, and a camera that goes away closes the connection, which ends the
    ingest process at once instead of after ``no_packet_timeout_s``."""

    def __post_init__(self) -> None:
        if self.kind not in ("test_pattern", "rtsp", "rtp"):
            raise ValueError(f"kind: unknown ingest kind {self.kind!r}")
        if self.codec not in PAYLOAD_TYPES:
            raise ValueError(f"codec: {self.codec!r} is neither 'vp8' nor 'h264'")
        if self.kind == "rtsp":
            check_rtsp_url(self.url)
            if self.transcode not in ("auto", "always", "never"):
                raise ValueError(f"transcode: {self.transcode!r} is not auto, always or never")
            if self.transcode == "never" and self.codec != "h264":
                raise ValueError(
                    "codec: RTSP passthrough carries the camera's H.264 as is; "
                    "use codec='h264', or transcode='always' to re-encode to VP8"
                )
            if self.rtsp_transport not in ("tcp", "udp"):
                raise ValueError(f"rtsp_transport: {self.rtsp_transport!r}")
        elif self.url is not None:
            raise ValueError(f"url: only rtsp ingests take a URL ({self.kind} given one)")
        if self.audio and self.kind == "rtp":
            raise ValueError("audio: an rtp ingest carries video only")
        if self.transcode != "auto" and self.kind != "rtsp":
            raise ValueError("transcode: only an rtsp ingest can be transcoded")
        for name in ("width", "height", "fps", "bitrate_kbps", "max_height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}: must be a positive integer, got {value!r}")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (4:2:0 video)")
        if not self.keyframe_interval_s > 0:
            raise ValueError(f"keyframe_interval_s: must be > 0, got {self.keyframe_interval_s}")
        if not self.no_packet_timeout_s > 0:
            raise ValueError(f"no_packet_timeout_s: must be > 0, got {self.no_packet_timeout_s}")

    @property
    def encodes(self) -> bool:
        """Whether the node surely runs an encoder for this stream (and so answers PLI
        itself); ``auto`` decides when it sees what the camera sends."""
        return self.kind == "test_pattern" or (self.kind == "rtsp" and self.transcode == "always")

    @property
    def bridged(self) -> bool:
        """Whether the stream's producer carries a fast-start bridge encoding: a camera
        that may be passed through, with fast start on."""
        return (
            self.fast_start
            and self.kind == "rtsp"
            and self.codec == "h264"
            and self.transcode != "always"
        )

    @property
    def supervised(self) -> bool:
        """Whether the ingest runs (and restarts) a process: every kind but ``rtp``."""
        return self.kind != "rtp"

    @property
    def keyframe_interval_frames(self) -> int:
        return max(1, round(self.keyframe_interval_s * self.fps))


@dataclass(frozen=True, slots=True)
class RtpEndpoint:
    """Where and how an external sender (kind ``rtp``) must send.

    One UDP socket for RTP and RTCP (rtcp-mux). The transport learns the sender's
    address from its first authenticated packet (comedia), so the sender must send
    RTCP, if any, from the same socket as its RTP, or not to this port at all. Every
    packet must be SRTP with ``srtp_key_base64``: a secret, for operators only.
    """

    ip: str
    port: int
    payload_type: int
    ssrc: int
    mime_type: str
    clock_rate: int
    parameters: dict[str, int | str]
    """Codec parameters (the H.264 fmtp line) the sender's stream must match."""
    srtp_crypto_suite: str = ""
    srtp_key_base64: str = ""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The video viewers receive: codec and picture size (0 x 0 when not known)."""

    codec: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """The audio viewers receive: its codec (``AudioCodec``)."""

    codec: str


@dataclass(frozen=True, slots=True)
class IngestStats:
    """A snapshot of one ingest, from the last poll of the producer (at most ~0.5 s old)."""

    status: Status
    reason: str
    producer_id: str | None
    packets: int
    """RTP packets received since start, summed across producer replacements."""
    bytes: int
    bitrate_bps: int
    """The worker's receive bitrate of the stream (over its last second)."""
    restarts: int
    """Times the ingest process was restarted (or, for ``rtp``, the transport re-armed)."""
    last_packet_age_s: float | None
    """Seconds since RTP was last seen arriving (None before the first packet).
    Resolution is the poll period."""
    pid: int | None
    """The running ingest/encoder process, if any."""

    @property
    def last_packet_age_ms(self) -> int:
        """``last_packet_age_s`` in whole milliseconds, -1 before the first packet (the
        media node protocol's IngestStats shape)."""
        age = self.last_packet_age_s
        return -1 if age is None else int(age * 1000)

    @property
    def process_pid(self) -> int:
        """``pid``, 0 when no process runs (the media node protocol's shape)."""
        return self.pid or 0
