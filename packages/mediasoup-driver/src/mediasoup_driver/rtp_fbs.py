"""Conversion of mediasoup's RTP dicts to and from the worker's FlatBuffers.

The dicts keep mediasoup's JSON shape (see ``rtp_parameters``) because that is
what crosses every other boundary; FlatBuffers only exists on the worker
channel. Writers therefore take those dicts and readers give back exactly what
mediasoup's Node library (``rtpParametersFbsUtils.js`` and friends) returns, so
that dumps and stats look the same whichever driver produced them.

Writers use the generated module-level builder functions rather than the
generated object API: the object API first copies every dict into ``...T``
objects and then packs them, which doubles the work on a per-request path.

Where Node's serializer differs from the schema or from what the worker reads,
this module follows the schema and the worker (each case is noted where it is
handled):

* codec ``channels`` is written only when present (Node writes ``NaN``, i.e. 0);
* a boolean codec parameter is a real ``Boolean`` table (Node writes the raw
  value as if it were a table offset, which produces a broken buffer);
* an encoding's ``ssrc`` / ``codecPayloadType`` of 0 is still written (Node
  tests them for truthiness and drops 0, which is PCMU's payload type);
* ``rtcp`` without ``reducedSize`` means ``reducedSize: true``, the schema and
  mediasoup default (Node writes ``false`` for an un-normalised ``rtcp``);
* an integer parameter outside int32 is sent as ``Double`` (Node silently wraps
  it around, which turns it into another number).

An unknown header extension URI raises ``TypeError``, as in Node: the worker's
schema has an enum, not a string, so such an extension cannot be expressed, and
dropping it silently would hide a negotiation bug (mediasoup's ortc only ever
lets the URIs of this table through).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

import flatbuffers

from .errors import MediasoupTypeError, WireError
from .fbs.FBS.RtpParameters import Boolean as boolean_fbs
from .fbs.FBS.RtpParameters import CodecMapping as codec_mapping_fbs
from .fbs.FBS.RtpParameters import Double as double_fbs
from .fbs.FBS.RtpParameters import EncodingMapping as encoding_mapping_fbs
from .fbs.FBS.RtpParameters import Integer32 as integer32_fbs
from .fbs.FBS.RtpParameters import Integer32Array as integer32_array_fbs
from .fbs.FBS.RtpParameters import Parameter as parameter_fbs
from .fbs.FBS.RtpParameters import RtcpFeedback as rtcp_feedback_fbs
from .fbs.FBS.RtpParameters import RtcpParameters as rtcp_parameters_fbs
from .fbs.FBS.RtpParameters import RtpCodecParameters as codec_fbs
from .fbs.FBS.RtpParameters import RtpEncodingParameters as encoding_fbs
from .fbs.FBS.RtpParameters import RtpHeaderExtensionParameters as header_extension_fbs
from .fbs.FBS.RtpParameters import RtpMapping as rtp_mapping_fbs
from .fbs.FBS.RtpParameters import RtpParameters as rtp_parameters_fbs
from .fbs.FBS.RtpParameters import Rtx as rtx_fbs
from .fbs.FBS.RtpParameters import String as string_fbs
from .fbs.FBS.RtpParameters.MediaKind import MediaKind as FbsMediaKind
from .fbs.FBS.RtpParameters.RtpHeaderExtensionUri import RtpHeaderExtensionUri
from .fbs.FBS.RtpParameters.Value import Value
from .fbs.FBS.RtpStream import BaseStats as base_stats_fbs
from .fbs.FBS.RtpStream import RecvStats as recv_stats_fbs
from .fbs.FBS.RtpStream import SendStats as send_stats_fbs
from .fbs.FBS.RtpStream import Stats as stats_fbs
from .fbs.FBS.RtpStream.StatsData import StatsData
from .fbs.FBS.SrtpParameters import SrtpParameters as srtp_parameters_fbs
from .fbs.FBS.SrtpParameters.SrtpCryptoSuite import SrtpCryptoSuite as FbsSrtpCryptoSuite
from .rtp_parameters import (
    MediaKind,
    RtcpFeedback,
    RtcpParameters,
    RtpCodecMapping,
    RtpCodecParameters,
    RtpEncodingMapping,
    RtpEncodingParameters,
    RtpHeaderExtensionParameters,
    RtpMapping,
    RtpParameters,
)

__all__ = [
    "FBS_TO_HEADER_EXTENSION_URI",
    "FBS_TO_SRTP_CRYPTO_SUITE",
    "HEADER_EXTENSION_URI_TO_FBS",
    "SRTP_CRYPTO_SUITE_TO_FBS",
    "RtpStreamStats",
    "SrtpCryptoSuite",
    "SrtpParameters",
    "read_rtp_encoding_parameters",
    "read_rtp_mapping",
    "read_rtp_parameters",
    "read_rtp_stream_stats",
    "read_srtp_parameters",
    "write_rtp_encoding_parameters",
    "write_rtp_mapping",
    "write_rtp_parameters",
    "write_srtp_parameters",
]

HEADER_EXTENSION_URI_TO_FBS: dict[str, int] = {
    "urn:ietf:params:rtp-hdrext:sdes:mid": RtpHeaderExtensionUri.Mid,
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id": RtpHeaderExtensionUri.RtpStreamId,
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id": (
        RtpHeaderExtensionUri.RepairRtpStreamId
    ),
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": RtpHeaderExtensionUri.AbsSendTime,
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": (
        RtpHeaderExtensionUri.TransportWideCcDraft01
    ),
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level": RtpHeaderExtensionUri.SsrcAudioLevel,
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension": (
        RtpHeaderExtensionUri.DependencyDescriptor
    ),
    "urn:3gpp:video-orientation": RtpHeaderExtensionUri.VideoOrientation,
    "urn:ietf:params:rtp-hdrext:toffset": RtpHeaderExtensionUri.TimeOffset,
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time": (
        RtpHeaderExtensionUri.AbsCaptureTime
    ),
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay": (
        RtpHeaderExtensionUri.PlayoutDelay
    ),
    "urn:mediasoup:params:rtp-hdrext:packet-id": RtpHeaderExtensionUri.MediasoupPacketId,
}
"""The worker knows header extensions by enum only; the URIs are mediasoup's (Node lib)."""

FBS_TO_HEADER_EXTENSION_URI: dict[int, str] = {
    value: uri for uri, value in HEADER_EXTENSION_URI_TO_FBS.items()
}

SrtpCryptoSuite = Literal[
    "AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"
]


class SrtpParameters(TypedDict):
    """SRTP keying of a plain or pipe transport, in mediasoup's JSON shape."""

    cryptoSuite: SrtpCryptoSuite
    keyBase64: str


SRTP_CRYPTO_SUITE_TO_FBS: dict[str, int] = {
    "AEAD_AES_256_GCM": FbsSrtpCryptoSuite.AEAD_AES_256_GCM,
    "AEAD_AES_128_GCM": FbsSrtpCryptoSuite.AEAD_AES_128_GCM,
    "AES_CM_128_HMAC_SHA1_80": FbsSrtpCryptoSuite.AES_CM_128_HMAC_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": FbsSrtpCryptoSuite.AES_CM_128_HMAC_SHA1_32,
}
FBS_TO_SRTP_CRYPTO_SUITE: dict[int, SrtpCryptoSuite] = {
    FbsSrtpCryptoSuite.AEAD_AES_256_GCM: "AEAD_AES_256_GCM",
    FbsSrtpCryptoSuite.AEAD_AES_128_GCM: "AEAD_AES_128_GCM",
    FbsSrtpCryptoSuite.AES_CM_128_HMAC_SHA1_80: "AES_CM_128_HMAC_SHA1_80",
    FbsSrtpCryptoSuite.AES_CM_128_HMAC_SHA1_32: "AES_CM_128_HMAC_SHA1_32",
}


class RtpStreamStats(TypedDict):
    """One RTP stream's stats as mediasoup reports them (``RtpStreamRecvStats``/``SendStats``).

    ``bitrateByLayer`` only exists for received ("inbound-rtp") streams.
    """

    type: Literal["inbound-rtp", "outbound-rtp"]
    timestamp: int
    ssrc: int
    rtxSsrc: NotRequired[int]
    rid: NotRequired[str]
    kind: MediaKind
    mimeType: str
    packetsLost: int
    fractionLost: int
    jitter: int
    packetsDiscarded: int
    packetsRetransmitted: int
    packetsRepaired: int
    nackCount: int
    nackPacketCount: int
    pliCount: int
    firCount: int
    roundTripTime: float
    rtxPacketsDiscarded: NotRequired[int]
    score: int
    byteCount: int
    packetCount: int
    bitrate: int
    bitrateByLayer: NotRequired[dict[str, int]]


_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1

# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _offsets_vector(b: flatbuffers.Builder, start: Callable[..., Any], offsets: list[int]) -> int:
    """Ends a vector of tables; the builder grows downwards, hence the reverse order."""
    start(b, len(offsets))
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    result: int = b.EndVector()
    return result


def _as_int32(value: int | float) -> int | None:
    """The value as an Integer32 payload, or None when it has to travel as a Double.

    Integral floats count as integers because dicts that went through JSON or
    google.protobuf.Struct carry every number as a float (``useinbandfec: 1.0``),
    and the worker only understands such flags when they arrive as Integer32.
    """
    if isinstance(value, int):
        return value if _INT32_MIN <= value <= _INT32_MAX else None
    if value.is_integer() and _INT32_MIN <= value <= _INT32_MAX:
        return int(value)
    return None


def _write_value(b: flatbuffers.Builder, name: str, value: Any) -> tuple[int, int]:
    """Builds one parameter value table; returns ``(union type, offset)``."""
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        boolean_fbs.Start(b)
        boolean_fbs.AddValue(b, 1 if value else 0)
        return Value.Boolean, boolean_fbs.End(b)
    if isinstance(value, int | float):
        as_int = _as_int32(value)
        if as_int is not None:
            integer32_fbs.Start(b)
            integer32_fbs.AddValue(b, as_int)
            return Value.Integer32, integer32_fbs.End(b)
        double_fbs.Start(b)
        double_fbs.AddValue(b, float(value))
        return Value.Double, double_fbs.End(b)
    if isinstance(value, str):
        string_offset = b.CreateString(value)
        string_fbs.Start(b)
        string_fbs.AddValue(b, string_offset)
        return Value.String, string_fbs.End(b)
    if isinstance(value, list | tuple):
        items: list[int] = []
        for item in value:
            as_int = (
                _as_int32(item)
                if isinstance(item, int | float) and not isinstance(item, bool)
                else None
            )
            if as_int is None:
                raise MediasoupTypeError(
                    f"parameter {name!r}: array items must be int32, got {item!r}"
                )
            items.append(as_int)
        integer32_array_fbs.StartValueVector(b, len(items))
        for item in reversed(items):
            b.PrependInt32(item)
        vector_offset = b.EndVector()
        integer32_array_fbs.Start(b)
        integer32_array_fbs.AddValue(b, vector_offset)
        return Value.Integer32Array, integer32_array_fbs.End(b)
    raise MediasoupTypeError(f"invalid parameter type [key:{name!r}, value:{value!r}]")


def _write_parameters(
    b: flatbuffers.Builder, parameters: Mapping[str, Any], start_vector: Callable[..., Any]
) -> int:
    """Returns the ``[Parameter]`` vector; 0 (field omitted) for none, which the worker allows."""
    if not parameters:
        return 0
    offsets: list[int] = []
    for name, value in parameters.items():
        value_type, value_offset = _write_value(b, name, value)
        name_offset = b.CreateString(name)
        parameter_fbs.Start(b)
        parameter_fbs.AddName(b, name_offset)
        parameter_fbs.AddValueType(b, value_type)
        parameter_fbs.AddValue(b, value_offset)
        offsets.append(parameter_fbs.End(b))
    return _offsets_vector(b, start_vector, offsets)


def _write_rtcp_feedback(b: flatbuffers.Builder, feedback: Sequence[RtcpFeedback]) -> int:
    if not feedback:
        return 0
    offsets: list[int] = []
    for fb in feedback:
        type_offset = b.CreateString(fb["type"])
        # mediasoup normalises a missing parameter to "", which must survive the trip.
        parameter = fb.get("parameter")
        parameter_offset = b.CreateString(parameter) if parameter is not None else 0
        rtcp_feedback_fbs.Start(b)
        rtcp_feedback_fbs.AddType(b, type_offset)
        if parameter_offset:
            rtcp_feedback_fbs.AddParameter(b, parameter_offset)
        offsets.append(rtcp_feedback_fbs.End(b))
    return _offsets_vector(b, codec_fbs.StartRtcpFeedbackVector, offsets)


def _write_codec(b: flatbuffers.Builder, codec: RtpCodecParameters) -> int:
    mime_type_offset = b.CreateString(codec["mimeType"])
    parameters_offset = _write_parameters(
        b, codec.get("parameters") or {}, codec_fbs.StartParametersVector
    )
    feedback_offset = _write_rtcp_feedback(b, codec.get("rtcpFeedback") or ())
    codec_fbs.Start(b)
    codec_fbs.AddMimeType(b, mime_type_offset)
    codec_fbs.AddPayloadType(b, codec["payloadType"])
    codec_fbs.AddClockRate(b, codec["clockRate"])
    # Optional in the schema: absent means "not said" (Node writes NaN, i.e. 0, instead).
    channels = codec.get("channels")
    if channels is not None:
        codec_fbs.AddChannels(b, channels)
    if parameters_offset:
        codec_fbs.AddParameters(b, parameters_offset)
    if feedback_offset:
        codec_fbs.AddRtcpFeedback(b, feedback_offset)
    result: int = codec_fbs.End(b)
    return result


def _write_header_extension(b: flatbuffers.Builder, extension: RtpHeaderExtensionParameters) -> int:
    uri = extension["uri"]
    fbs_uri = HEADER_EXTENSION_URI_TO_FBS.get(uri)
    if fbs_uri is None:
        raise MediasoupTypeError(f"invalid RtpHeaderExtensionUri: {uri}")
    parameters_offset = _write_parameters(
        b, extension.get("parameters") or {}, header_extension_fbs.StartParametersVector
    )
    header_extension_fbs.Start(b)
    header_extension_fbs.AddUri(b, fbs_uri)
    header_extension_fbs.AddId(b, extension["id"])
    if extension.get("encrypt"):
        header_extension_fbs.AddEncrypt(b, True)
    if parameters_offset:
        header_extension_fbs.AddParameters(b, parameters_offset)
    result: int = header_extension_fbs.End(b)
    return result


def write_rtp_encoding_parameters(b: flatbuffers.Builder, encoding: RtpEncodingParameters) -> int:
    """Builds one ``FBS.RtpParameters.RtpEncodingParameters`` table.

    ``ssrc`` and ``codecPayloadType`` are written whenever present, 0 included
    (Node drops a 0), so that what the worker sees is what the caller said.
    """
    rid = encoding.get("rid")
    rid_offset = b.CreateString(rid) if rid else 0
    scalability_mode = encoding.get("scalabilityMode")
    scalability_mode_offset = b.CreateString(scalability_mode) if scalability_mode else 0
    rtx = encoding.get("rtx")
    rtx_offset = 0
    if rtx is not None:
        rtx_fbs.Start(b)
        rtx_fbs.AddSsrc(b, rtx["ssrc"])
        rtx_offset = rtx_fbs.End(b)

    encoding_fbs.Start(b)
    ssrc = encoding.get("ssrc")
    if ssrc is not None:
        encoding_fbs.AddSsrc(b, ssrc)
    if rid_offset:
        encoding_fbs.AddRid(b, rid_offset)
    payload_type = encoding.get("codecPayloadType")
    if payload_type is not None:
        encoding_fbs.AddCodecPayloadType(b, payload_type)
    if rtx_offset:
        encoding_fbs.AddRtx(b, rtx_offset)
    if encoding.get("dtx"):
        encoding_fbs.AddDtx(b, True)
    if scalability_mode_offset:
        encoding_fbs.AddScalabilityMode(b, scalability_mode_offset)
    max_bitrate = encoding.get("maxBitrate")
    if max_bitrate is not None:
        encoding_fbs.AddMaxBitrate(b, max_bitrate)
    result: int = encoding_fbs.End(b)
    return result


def write_rtp_parameters(b: flatbuffers.Builder, params: RtpParameters) -> int:
    """Builds an ``FBS.RtpParameters.RtpParameters`` table and returns its offset.

    The schema's required vectors (codecs, headerExtensions, encodings) and
    ``rtcp`` are always written, empty if need be, since the worker's verifier
    rejects a table without them. Raises ``TypeError`` for a header extension
    URI the worker has no enum value for, or a parameter value it cannot carry.
    """
    codec_offsets = [_write_codec(b, codec) for codec in params["codecs"]]
    codecs_offset = _offsets_vector(b, rtp_parameters_fbs.StartCodecsVector, codec_offsets)

    extension_offsets = [
        _write_header_extension(b, extension) for extension in params.get("headerExtensions", ())
    ]
    extensions_offset = _offsets_vector(
        b, rtp_parameters_fbs.StartHeaderExtensionsVector, extension_offsets
    )

    encoding_offsets = [
        write_rtp_encoding_parameters(b, encoding) for encoding in params.get("encodings", ())
    ]
    encodings_offset = _offsets_vector(b, rtp_parameters_fbs.StartEncodingsVector, encoding_offsets)

    rtcp = params.get("rtcp")
    cname = rtcp.get("cname") if rtcp else None
    cname_offset = b.CreateString(cname) if cname else 0
    rtcp_parameters_fbs.Start(b)
    if cname_offset:
        rtcp_parameters_fbs.AddCname(b, cname_offset)
    # Schema default (true) is also mediasoup's default for a missing reducedSize.
    if rtcp and not rtcp.get("reducedSize", True):
        rtcp_parameters_fbs.AddReducedSize(b, False)
    rtcp_offset = rtcp_parameters_fbs.End(b)

    mid = params.get("mid")
    mid_offset = b.CreateString(mid) if mid else 0
    msid = params.get("msid")
    msid_offset = b.CreateString(msid) if msid else 0

    rtp_parameters_fbs.Start(b)
    if mid_offset:
        rtp_parameters_fbs.AddMid(b, mid_offset)
    rtp_parameters_fbs.AddCodecs(b, codecs_offset)
    rtp_parameters_fbs.AddHeaderExtensions(b, extensions_offset)
    rtp_parameters_fbs.AddEncodings(b, encodings_offset)
    rtp_parameters_fbs.AddRtcp(b, rtcp_offset)
    if msid_offset:
        rtp_parameters_fbs.AddMsid(b, msid_offset)
    result: int = rtp_parameters_fbs.End(b)
    return result


def write_rtp_mapping(b: flatbuffers.Builder, mapping: RtpMapping) -> int:
    """Builds an ``FBS.RtpParameters.RtpMapping`` table (sent with produce).

    ``scalabilityMode`` of an encoding mapping is not sent: the 3.27.1 schema
    has no field for it (Node does not send it either).
    """
    codec_offsets: list[int] = []
    for codec in mapping["codecs"]:
        codec_mapping_fbs.Start(b)
        codec_mapping_fbs.AddPayloadType(b, codec["payloadType"])
        codec_mapping_fbs.AddMappedPayloadType(b, codec["mappedPayloadType"])
        codec_offsets.append(codec_mapping_fbs.End(b))
    codecs_offset = _offsets_vector(b, rtp_mapping_fbs.StartCodecsVector, codec_offsets)

    encoding_offsets: list[int] = []
    for encoding in mapping["encodings"]:
        rid = encoding.get("rid")
        rid_offset = b.CreateString(rid) if rid else 0
        encoding_mapping_fbs.Start(b)
        if rid_offset:
            encoding_mapping_fbs.AddRid(b, rid_offset)
        ssrc = encoding.get("ssrc")
        if ssrc is not None:
            encoding_mapping_fbs.AddSsrc(b, ssrc)
        encoding_mapping_fbs.AddMappedSsrc(b, encoding["mappedSsrc"])
        encoding_offsets.append(encoding_mapping_fbs.End(b))
    encodings_offset = _offsets_vector(b, rtp_mapping_fbs.StartEncodingsVector, encoding_offsets)

    rtp_mapping_fbs.Start(b)
    rtp_mapping_fbs.AddCodecs(b, codecs_offset)
    rtp_mapping_fbs.AddEncodings(b, encodings_offset)
    result: int = rtp_mapping_fbs.End(b)
    return result


def write_srtp_parameters(b: flatbuffers.Builder, params: SrtpParameters) -> int:
    """Builds an ``FBS.SrtpParameters.SrtpParameters`` table.

    Raises ``TypeError`` for a crypto suite the worker does not implement (as Node does)
    and for parameters that are not an object with a string ``keyBase64``.
    """
    if not isinstance(params, Mapping):
        raise MediasoupTypeError("srtpParameters must be an object")
    crypto_suite = params.get("cryptoSuite")
    suite = SRTP_CRYPTO_SUITE_TO_FBS.get(crypto_suite) if isinstance(crypto_suite, str) else None
    if suite is None:
        raise MediasoupTypeError(f"invalid SrtpCryptoSuite: {crypto_suite}")
    key = params.get("keyBase64")
    if not isinstance(key, str):
        raise MediasoupTypeError("srtpParameters.keyBase64 must be a string")
    key_offset = b.CreateString(key)
    srtp_parameters_fbs.Start(b)
    srtp_parameters_fbs.AddCryptoSuite(b, suite)
    srtp_parameters_fbs.AddKeyBase64(b, key_offset)
    result: int = srtp_parameters_fbs.End(b)
    return result


# ---------------------------------------------------------------------------
# Readers
#
# Their output is Node's parse*(): keys whose value is undefined there are left
# out here, and empty strings the worker writes for "unset" (mid, msid, rid,
# scalabilityMode, cname) count as unset, as Node's `|| undefined` does.
# ---------------------------------------------------------------------------


def _read_value(parameter: parameter_fbs.Parameter) -> tuple[bool, Any]:
    """Returns ``(known, value)``; an unknown union member is skipped, as Node does."""
    value_type = parameter.ValueType()
    table = parameter.Value()
    if table is None:
        return False, None
    if value_type == Value.Boolean:
        boolean = boolean_fbs.Boolean()
        boolean.Init(table.Bytes, table.Pos)
        # Node returns the raw uint8 here; mediasoup's JSON (and the worker) mean a bool.
        return True, boolean.Value() != 0
    if value_type == Value.Integer32:
        integer = integer32_fbs.Integer32()
        integer.Init(table.Bytes, table.Pos)
        return True, integer.Value()
    if value_type == Value.Double:
        double = double_fbs.Double()
        double.Init(table.Bytes, table.Pos)
        return True, double.Value()
    if value_type == Value.String:
        string = string_fbs.String()
        string.Init(table.Bytes, table.Pos)
        return True, string.Value().decode()
    if value_type == Value.Integer32Array:
        array = integer32_array_fbs.Integer32Array()
        array.Init(table.Bytes, table.Pos)
        return True, [array.Value(i) for i in range(array.ValueLength())]
    return False, None


def _read_parameters(owner: Any) -> dict[str, Any]:
    """The parameters of a generated RtpCodecParameters or RtpHeaderExtensionParameters."""
    parameters: dict[str, Any] = {}
    for i in range(owner.ParametersLength()):
        parameter = owner.Parameters(i)
        known, value = _read_value(parameter)
        if known:
            parameters[parameter.Name().decode()] = value
    return parameters


def _read_codec(codec: codec_fbs.RtpCodecParameters) -> RtpCodecParameters:
    result: RtpCodecParameters = {
        "mimeType": codec.MimeType().decode(),
        "payloadType": codec.PayloadType(),
        "clockRate": codec.ClockRate(),
    }
    channels = codec.Channels()
    if channels is not None:
        result["channels"] = channels
    result["parameters"] = _read_parameters(codec)
    feedback: list[RtcpFeedback] = []
    for i in range(codec.RtcpFeedbackLength()):
        fb = codec.RtcpFeedback(i)
        entry: RtcpFeedback = {"type": fb.Type().decode()}
        parameter = fb.Parameter()
        if parameter is not None:
            entry["parameter"] = parameter.decode()
        feedback.append(entry)
    result["rtcpFeedback"] = feedback
    return result


def _read_header_extension(
    extension: header_extension_fbs.RtpHeaderExtensionParameters,
) -> RtpHeaderExtensionParameters:
    fbs_uri = extension.Uri()
    uri = FBS_TO_HEADER_EXTENSION_URI.get(fbs_uri)
    if uri is None:
        raise WireError(f"unknown RtpHeaderExtensionUri value {fbs_uri} (schema mismatch?)")
    return {
        "uri": uri,
        "id": extension.Id(),
        "encrypt": extension.Encrypt(),
        "parameters": _read_parameters(extension),
    }


def read_rtp_encoding_parameters(
    encoding: encoding_fbs.RtpEncodingParameters,
) -> RtpEncodingParameters:
    """mediasoup's encoding dict; ``dtx`` is always there (Node reads the schema default)."""
    result: RtpEncodingParameters = {}
    ssrc = encoding.Ssrc()
    if ssrc is not None:
        result["ssrc"] = ssrc
    rid = encoding.Rid()
    if rid:
        result["rid"] = rid.decode()
    payload_type = encoding.CodecPayloadType()
    if payload_type is not None:
        result["codecPayloadType"] = payload_type
    rtx = encoding.Rtx()
    if rtx is not None:
        result["rtx"] = {"ssrc": rtx.Ssrc()}
    result["dtx"] = encoding.Dtx()
    scalability_mode = encoding.ScalabilityMode()
    if scalability_mode:
        result["scalabilityMode"] = scalability_mode.decode()
    max_bitrate = encoding.MaxBitrate()
    if max_bitrate is not None:
        result["maxBitrate"] = max_bitrate
    return result


def read_rtp_parameters(table: rtp_parameters_fbs.RtpParameters) -> RtpParameters:
    """mediasoup's RtpParameters dict, as Node's ``parseRtpParameters`` would give it.

    Unlike the input of ``write_rtp_parameters``, the lists (headerExtensions,
    encodings, each codec's parameters and rtcpFeedback) and the booleans
    (encrypt, dtx, reducedSize) are always present.
    """
    codecs = [_read_codec(table.Codecs(i)) for i in range(table.CodecsLength())]
    result: RtpParameters = {"codecs": codecs}
    mid = table.Mid()
    if mid:
        result["mid"] = mid.decode()
    result["headerExtensions"] = [
        _read_header_extension(table.HeaderExtensions(i))
        for i in range(table.HeaderExtensionsLength())
    ]
    result["encodings"] = [
        read_rtp_encoding_parameters(table.Encodings(i)) for i in range(table.EncodingsLength())
    ]
    rtcp = table.Rtcp()
    if rtcp is not None:
        rtcp_result: RtcpParameters = {}
        cname = rtcp.Cname()
        if cname:
            rtcp_result["cname"] = cname.decode()
        rtcp_result["reducedSize"] = rtcp.ReducedSize()
        result["rtcp"] = rtcp_result
    msid = table.Msid()
    if msid:
        result["msid"] = msid.decode()
    return result


def read_rtp_mapping(table: rtp_mapping_fbs.RtpMapping) -> RtpMapping:
    """The RtpMapping dict back from a producer dump (absent rid/ssrc left out)."""
    codecs: list[RtpCodecMapping] = []
    for i in range(table.CodecsLength()):
        codec = table.Codecs(i)
        codecs.append(
            {"payloadType": codec.PayloadType(), "mappedPayloadType": codec.MappedPayloadType()}
        )
    encodings: list[RtpEncodingMapping] = []
    for i in range(table.EncodingsLength()):
        encoding = table.Encodings(i)
        entry: RtpEncodingMapping = {"mappedSsrc": encoding.MappedSsrc()}
        ssrc = encoding.Ssrc()
        if ssrc is not None:
            entry["ssrc"] = ssrc
        rid = encoding.Rid()
        if rid:
            entry["rid"] = rid.decode()
        encodings.append(entry)
    return {"codecs": codecs, "encodings": encodings}


def _read_base_stats(stats: stats_fbs.Stats) -> base_stats_fbs.BaseStats:
    data = stats.Data()
    if stats.DataType() != StatsData.BaseStats or data is None:
        raise WireError(f"RtpStream base stats hold union type {stats.DataType()}")
    base = base_stats_fbs.BaseStats()
    base.Init(data.Bytes, data.Pos)
    return base


def read_rtp_stream_stats(table: stats_fbs.Stats) -> RtpStreamStats:
    """One entry of a producer's/consumer's GET_STATS reply, in mediasoup's stats shape.

    ``Stats.data`` is RecvStats ("inbound-rtp") or SendStats ("outbound-rtp"),
    each wrapping another ``Stats`` whose data is the BaseStats. As in Node,
    ``rtxSsrc`` and ``rid`` are left out when unset and ``rtxPacketsDiscarded``
    when 0.
    """
    data_type = table.DataType()
    data = table.Data()
    outer: Any  # RecvStats or SendStats: the same base field first
    if data_type == StatsData.RecvStats and data is not None:
        outer = recv_stats_fbs.RecvStats()
        stats_type: Literal["inbound-rtp", "outbound-rtp"] = "inbound-rtp"
    elif data_type == StatsData.SendStats and data is not None:
        outer = send_stats_fbs.SendStats()
        stats_type = "outbound-rtp"
    else:
        raise WireError(f"RtpStream stats hold union type {data_type}, not Recv/SendStats")
    outer.Init(data.Bytes, data.Pos)
    base = _read_base_stats(outer.Base())

    result: RtpStreamStats = {
        "type": stats_type,
        "timestamp": base.Timestamp(),
        "ssrc": base.Ssrc(),
        "kind": "audio" if base.Kind() == FbsMediaKind.AUDIO else "video",
        "mimeType": base.MimeType().decode(),
        "packetsLost": base.PacketsLost(),
        "fractionLost": base.FractionLost(),
        "jitter": base.Jitter(),
        "packetsDiscarded": base.PacketsDiscarded(),
        "packetsRetransmitted": base.PacketsRetransmitted(),
        "packetsRepaired": base.PacketsRepaired(),
        "nackCount": base.NackCount(),
        "nackPacketCount": base.NackPacketCount(),
        "pliCount": base.PliCount(),
        "firCount": base.FirCount(),
        "roundTripTime": base.RoundTripTime(),
        "score": base.Score(),
        "byteCount": outer.ByteCount(),
        "packetCount": outer.PacketCount(),
        "bitrate": outer.Bitrate(),
    }
    rtx_ssrc = base.RtxSsrc()
    if rtx_ssrc is not None:
        result["rtxSsrc"] = rtx_ssrc
    rid = base.Rid()
    if rid:
        result["rid"] = rid.decode()
    rtx_discarded = base.RtxPacketsDiscarded()
    if rtx_discarded:
        result["rtxPacketsDiscarded"] = rtx_discarded
    if isinstance(outer, recv_stats_fbs.RecvStats):
        by_layer: dict[str, int] = {}
        for i in range(outer.BitrateByLayerLength()):
            layer = outer.BitrateByLayer(i)
            by_layer[layer.Layer().decode()] = layer.Bitrate()
        result["bitrateByLayer"] = by_layer
    return result


def read_srtp_parameters(table: srtp_parameters_fbs.SrtpParameters) -> SrtpParameters:
    suite = FBS_TO_SRTP_CRYPTO_SUITE.get(table.CryptoSuite())
    if suite is None:
        raise WireError(f"unknown SrtpCryptoSuite value {table.CryptoSuite()} (schema mismatch?)")
    return {"cryptoSuite": suite, "keyBase64": table.KeyBase64().decode()}
