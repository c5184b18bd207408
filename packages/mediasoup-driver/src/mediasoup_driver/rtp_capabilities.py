"""What mediasoup 3.27.1 can route: its supported RTP codecs and header extensions.

This is the catalogue a router's capabilities are cut from
(node/lib/supportedRtpCapabilities.js): the application lists the codecs it
wants, each is matched against an entry here, and the entry's clock rate,
channels, RTCP feedback and static payload type win over what the application
wrote. The header extension ids are the ones every router announces, so they
must stay identical to mediasoup's for mediasoup-client peers to agree.

Entries are kept as mediasoup declares them, before normalization: codecs have
no dynamic payload types (the router assigns those) and omitted optional
fields stay omitted.
"""

from __future__ import annotations

import copy
from typing import Final

from .rtp_parameters import (
    MediaKind,
    RtcpFeedback,
    RtpCapabilities,
    RtpCodecCapability,
    RtpHeaderExtension,
    RtpHeaderExtensionDirection,
)

MID_URI: Final = "urn:ietf:params:rtp-hdrext:sdes:mid"
RTP_STREAM_ID_URI: Final = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RTP_STREAM_ID_URI: Final = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
ABS_SEND_TIME_URI: Final = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_WIDE_CC_URI: Final = (
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
)
SSRC_AUDIO_LEVEL_URI: Final = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
DEPENDENCY_DESCRIPTOR_URI: Final = (
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
)
VIDEO_ORIENTATION_URI: Final = "urn:3gpp:video-orientation"
TIME_OFFSET_URI: Final = "urn:ietf:params:rtp-hdrext:toffset"
ABS_CAPTURE_TIME_URI: Final = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
PLAYOUT_DELAY_URI: Final = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
PACKET_ID_URI: Final = "urn:mediasoup:params:rtp-hdrext:packet-id"


def _feedback(*entries: tuple[str, str | None]) -> list[RtcpFeedback]:
    """RTCP feedback list, leaving ``parameter`` out where mediasoup leaves it out."""
    result: list[RtcpFeedback] = []
    for fb_type, parameter in entries:
        fb: RtcpFeedback = {"type": fb_type}
        if parameter is not None:
            fb["parameter"] = parameter
        result.append(fb)
    return result


def _audio_feedback_with_nack() -> list[RtcpFeedback]:
    return _feedback(("nack", None), ("transport-cc", None))


def _audio_feedback() -> list[RtcpFeedback]:
    return _feedback(("transport-cc", None))


def _video_feedback() -> list[RtcpFeedback]:
    return _feedback(
        ("nack", None),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("goog-remb", None),
        ("transport-cc", None),
    )


def _multiopus(channels: int, mapping: str, streams: int, coupled: int) -> RtpCodecCapability:
    return {
        "kind": "audio",
        "mimeType": "audio/multiopus",
        "clockRate": 48000,
        "channels": channels,
        "parameters": {
            "channel_mapping": mapping,
            "num_streams": streams,
            "coupled_streams": coupled,
        },
        "rtcpFeedback": _audio_feedback_with_nack(),
    }


_CODECS: Final[list[RtpCodecCapability]] = [
    {
        "kind": "audio",
        "mimeType": "audio/opus",
        "clockRate": 48000,
        "channels": 2,
        "rtcpFeedback": _audio_feedback_with_nack(),
    },
    _multiopus(4, "0,1,2,3", 2, 2),  # Quad.
    _multiopus(6, "0,4,1,2,3,5", 4, 2),  # 5.1.
    _multiopus(8, "0,6,1,2,3,4,5,7", 5, 3),  # 7.1.
    {
        "kind": "audio",
        "mimeType": "audio/PCMU",
        "preferredPayloadType": 0,
        "clockRate": 8000,
        "rtcpFeedback": _audio_feedback(),
    },
    {
        "kind": "audio",
        "mimeType": "audio/PCMA",
        "preferredPayloadType": 8,
        "clockRate": 8000,
        "rtcpFeedback": _audio_feedback(),
    },
    {
        "kind": "audio",
        "mimeType": "audio/ISAC",
        "clockRate": 32000,
        "rtcpFeedback": _audio_feedback(),
    },
    {
        "kind": "audio",
        "mimeType": "audio/ISAC",
        "clockRate": 16000,
        "rtcpFeedback": _audio_feedback(),
    },
    {
        "kind": "audio",
        "mimeType": "audio/G722",
        "preferredPayloadType": 9,
        "clockRate": 8000,
        "rtcpFeedback": _audio_feedback(),
    },
    {
        "kind": "audio",
        "mimeType": "audio/iLBC",
        "clockRate": 8000,
        "rtcpFeedback": _audio_feedback(),
    },
    *(
        RtpCodecCapability(
            kind="audio", mimeType="audio/SILK", clockRate=rate, rtcpFeedback=_audio_feedback()
        )
        for rate in (24000, 16000, 12000, 8000)
    ),
    *(
        RtpCodecCapability(
            kind="audio", mimeType="audio/CN", preferredPayloadType=13, clockRate=rate
        )
        for rate in (32000, 16000, 8000)
    ),
    *(
        RtpCodecCapability(kind="audio", mimeType="audio/telephone-event", clockRate=rate)
        for rate in (48000, 32000, 16000, 8000)
    ),
    {
        "kind": "video",
        "mimeType": "video/VP8",
        "clockRate": 90000,
        "rtcpFeedback": _video_feedback(),
    },
    {
        "kind": "video",
        "mimeType": "video/VP9",
        "clockRate": 90000,
        "rtcpFeedback": _video_feedback(),
    },
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"level-asymmetry-allowed": 1},
        "rtcpFeedback": _video_feedback(),
    },
    {
        "kind": "video",
        "mimeType": "video/AV1",
        "clockRate": 90000,
        "parameters": {},
        "rtcpFeedback": _video_feedback(),
    },
]


def _extension(
    kind: MediaKind, uri: str, preferred_id: int, direction: RtpHeaderExtensionDirection
) -> RtpHeaderExtension:
    return {
        "kind": kind,
        "uri": uri,
        "preferredId": preferred_id,
        "preferredEncrypt": False,
        "direction": direction,
    }


# Directions are mediasoup's, from the router's point of view. "recvonly" ones
# are only accepted from producers, never offered to consumers: RID/RRID are
# rewritten per consumer, the dependency descriptor is only read by the worker,
# and audio transport-cc is only used on the receiving side.
_HEADER_EXTENSIONS: Final[list[RtpHeaderExtension]] = [
    _extension("audio", MID_URI, 1, "sendrecv"),
    _extension("video", MID_URI, 1, "sendrecv"),
    _extension("video", RTP_STREAM_ID_URI, 2, "recvonly"),
    _extension("video", REPAIRED_RTP_STREAM_ID_URI, 3, "recvonly"),
    _extension("audio", ABS_SEND_TIME_URI, 4, "sendrecv"),
    _extension("video", ABS_SEND_TIME_URI, 4, "sendrecv"),
    _extension("audio", TRANSPORT_WIDE_CC_URI, 5, "recvonly"),
    _extension("video", TRANSPORT_WIDE_CC_URI, 5, "sendrecv"),
    _extension("audio", SSRC_AUDIO_LEVEL_URI, 6, "sendrecv"),
    _extension("video", DEPENDENCY_DESCRIPTOR_URI, 7, "recvonly"),
    _extension("video", VIDEO_ORIENTATION_URI, 8, "sendrecv"),
    _extension("video", TIME_OFFSET_URI, 9, "sendrecv"),
    _extension("audio", ABS_CAPTURE_TIME_URI, 10, "sendrecv"),
    _extension("video", ABS_CAPTURE_TIME_URI, 10, "sendrecv"),
    _extension("audio", PLAYOUT_DELAY_URI, 11, "sendrecv"),
    _extension("video", PLAYOUT_DELAY_URI, 11, "sendrecv"),
    _extension("audio", PACKET_ID_URI, 12, "sendrecv"),
    _extension("video", PACKET_ID_URI, 12, "sendrecv"),
]

_SUPPORTED_RTP_CAPABILITIES: Final[RtpCapabilities] = {
    "codecs": _CODECS,
    "headerExtensions": _HEADER_EXTENSIONS,
}


def supported_rtp_capabilities() -> RtpCapabilities:
    """A fresh deep copy of the catalogue, so that callers may normalize or edit it freely.

    (mediasoup normalizes its shared module object in place; a copy keeps
    this catalogue exactly as declared however often routers are created.)
    """
    return copy.deepcopy(_SUPPORTED_RTP_CAPABILITIES)
