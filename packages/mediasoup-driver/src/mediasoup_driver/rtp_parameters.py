"""RTP capability and parameter structures, as mediasoup defines them.

They are plain dicts with mediasoup's own camelCase keys (node/lib/
rtpParametersTypes.d.ts), typed with TypedDicts. Why dicts: these structures
travel unchanged between browsers (mediasoup-client), the REST/WebSocket API,
gRPC (as google.protobuf.Struct) and this driver, so keeping mediasoup's JSON
shape avoids a conversion at every boundary.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

MediaKind = Literal["audio", "video"]
RtpHeaderExtensionDirection = Literal["sendrecv", "sendonly", "recvonly", "inactive"]


class RtcpFeedback(TypedDict):
    type: str
    parameter: NotRequired[str]


class RtpCodecCapability(TypedDict):
    kind: MediaKind
    mimeType: str
    preferredPayloadType: NotRequired[int]
    """Optional in the media codecs given to a router; always set in its capabilities."""
    clockRate: int
    channels: NotRequired[int]
    parameters: NotRequired[dict[str, Any]]
    rtcpFeedback: NotRequired[list[RtcpFeedback]]


class RtpHeaderExtension(TypedDict):
    kind: MediaKind
    uri: str
    preferredId: int
    preferredEncrypt: NotRequired[bool]
    direction: NotRequired[RtpHeaderExtensionDirection]


class RtpCapabilities(TypedDict, total=False):
    codecs: list[RtpCodecCapability]
    headerExtensions: list[RtpHeaderExtension]


class RtpCodecParameters(TypedDict):
    mimeType: str
    payloadType: int
    clockRate: int
    channels: NotRequired[int]
    parameters: NotRequired[dict[str, Any]]
    rtcpFeedback: NotRequired[list[RtcpFeedback]]


class RtxParameters(TypedDict):
    ssrc: int


class RtpEncodingParameters(TypedDict, total=False):
    ssrc: int
    rid: str
    codecPayloadType: int
    rtx: RtxParameters
    dtx: bool
    scalabilityMode: str
    maxBitrate: int


class RtpHeaderExtensionParameters(TypedDict):
    uri: str
    id: int
    encrypt: NotRequired[bool]
    parameters: NotRequired[dict[str, Any]]


class RtcpParameters(TypedDict, total=False):
    cname: str
    reducedSize: bool


class RtpParameters(TypedDict):
    mid: NotRequired[str]
    codecs: list[RtpCodecParameters]
    headerExtensions: NotRequired[list[RtpHeaderExtensionParameters]]
    encodings: NotRequired[list[RtpEncodingParameters]]
    rtcp: NotRequired[RtcpParameters]
    msid: NotRequired[str]


class RtpCodecMapping(TypedDict):
    payloadType: int
    mappedPayloadType: int


class RtpEncodingMapping(TypedDict):
    ssrc: NotRequired[int]
    rid: NotRequired[str]
    scalabilityMode: NotRequired[str]
    mappedSsrc: int


class RtpMapping(TypedDict):
    """How a producer's payload types and SSRCs map onto the router's (sent with produce)."""

    codecs: list[RtpCodecMapping]
    encodings: list[RtpEncodingMapping]
