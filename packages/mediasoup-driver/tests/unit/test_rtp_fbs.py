"""RTP dicts <-> worker FlatBuffers (mediasoup_driver.rtp_fbs).

Round trips alone would accept a writer and reader that agree with each other
but not with the worker, so the same structures also go through mediasoup's
own Node serializer/parsers (the 3.27.1 lib the worker comes with): Node's
bytes must read back right here, and our bytes must parse right in Node.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import flatbuffers
import pytest
from mediasoup_driver.fbs.FBS.RtpParameters import Parameter as parameter_fbs
from mediasoup_driver.fbs.FBS.RtpParameters.RtpEncodingParameters import (
    RtpEncodingParameters as EncodingTable,
)
from mediasoup_driver.fbs.FBS.RtpParameters.RtpHeaderExtensionUri import (
    RtpHeaderExtensionUri,
)
from mediasoup_driver.fbs.FBS.RtpParameters.RtpMapping import RtpMapping as MappingTable
from mediasoup_driver.fbs.FBS.RtpParameters.RtpParameters import (
    RtpParameters as RtpParametersTable,
)
from mediasoup_driver.fbs.FBS.RtpParameters.Value import Value
from mediasoup_driver.fbs.FBS.RtpStream import BaseStats as base_stats_fbs
from mediasoup_driver.fbs.FBS.RtpStream import BitrateByLayer as bitrate_by_layer_fbs
from mediasoup_driver.fbs.FBS.RtpStream import RecvStats as recv_stats_fbs
from mediasoup_driver.fbs.FBS.RtpStream import SendStats as send_stats_fbs
from mediasoup_driver.fbs.FBS.RtpStream import Stats as stats_fbs
from mediasoup_driver.fbs.FBS.RtpStream.StatsData import StatsData
from mediasoup_driver.fbs.FBS.SrtpParameters.SrtpParameters import (
    SrtpParameters as SrtpTable,
)
from mediasoup_driver.rtp_fbs import (
    FBS_TO_HEADER_EXTENSION_URI,
    HEADER_EXTENSION_URI_TO_FBS,
    SRTP_CRYPTO_SUITE_TO_FBS,
    read_rtp_encoding_parameters,
    read_rtp_mapping,
    read_rtp_parameters,
    read_rtp_stream_stats,
    read_srtp_parameters,
    write_rtp_encoding_parameters,
    write_rtp_mapping,
    write_rtp_parameters,
    write_srtp_parameters,
)

from tests.conftest import CONFORMANCE_WORK, RUN_SH

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

VP8_RTX: dict[str, Any] = {
    "mid": "0",
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 101,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "nack", "parameter": "pli"},
                {"type": "ccm", "parameter": "fir"},
                {"type": "goog-remb", "parameter": ""},
                {"type": "transport-cc", "parameter": ""},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1, "encrypt": False},
        {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 4},
        {
            "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "id": 5,
            "parameters": {},
        },
        {"uri": "urn:3gpp:video-orientation", "id": 11},
        {"uri": "urn:ietf:params:rtp-hdrext:toffset", "id": 12},
    ],
    "encodings": [{"ssrc": 123456789, "rtx": {"ssrc": 987654321}, "scalabilityMode": "L1T3"}],
    "rtcp": {"cname": "Zt0Pqo6y1kCgJlLa", "reducedSize": True},
    "msid": "stream0 track0",
}

H264: dict[str, Any] = {
    "codecs": [
        {
            "mimeType": "video/H264",
            "payloadType": 125,
            "clockRate": 90000,
            "parameters": {
                "level-asymmetry-allowed": 1,
                "packetization-mode": 1,
                "profile-level-id": "42e01f",
            },
            "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}],
        }
    ],
    "encodings": [{"ssrc": 1111, "codecPayloadType": 125}],
    "rtcp": {"cname": "h264-cname", "reducedSize": False},
}

OPUS: dict[str, Any] = {
    "mid": "audio",
    "codecs": [
        {
            "mimeType": "audio/opus",
            "payloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {
                "useinbandfec": 1,
                "usedtx": True,
                "sprop-stereo": False,
                "x-layers": [1, -2, 2147483647, -2147483648],
                "x-empty": [],
                "x-ratio": 2.5,
                "x-name": "ünïcödé",
            },
            "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}],
        }
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 10, "encrypt": True},
    ],
    "encodings": [{"ssrc": 4294967295, "dtx": True}],
    "rtcp": {"cname": "opus-cname", "reducedSize": True},
}

SIMULCAST: dict[str, Any] = {
    "mid": "1",
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 96,
            "clockRate": 90000,
            "parameters": {"x-google-start-bitrate": 1000},
            "rtcpFeedback": [{"type": "goog-remb", "parameter": ""}],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 97,
            "clockRate": 90000,
            "parameters": {"apt": 96},
            "rtcpFeedback": [],
        },
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1, "encrypt": False},
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 2},
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "id": 3},
        {
            "uri": "https://aomediacodec.github.io/av1-rtp-spec/"
            "#dependency-descriptor-rtp-header-extension",
            "id": 8,
            "encrypt": True,
            "parameters": {"x-tag": "dd", "x-rate": 0.75, "x-list": [3, 4]},
        },
    ],
    "encodings": [
        {"rid": "r0", "scalabilityMode": "L1T3", "maxBitrate": 150000},
        {"rid": "r1", "scalabilityMode": "L1T3", "maxBitrate": 500000, "dtx": False},
        {"rid": "r2", "scalabilityMode": "L1T3", "maxBitrate": 2**40},
    ],
    "rtcp": {"cname": "sim-cname", "reducedSize": True},
}

CASES: dict[str, dict[str, Any]] = {
    "vp8_rtx": VP8_RTX,
    "h264": H264,
    "opus": OPUS,
    "simulcast": SIMULCAST,
}


def normalised(params: dict[str, Any]) -> dict[str, Any]:
    """The input in the shape mediasoup's parseRtpParameters returns it.

    That is: every list present, codec/extension parameters and rtcpFeedback
    present, encrypt/dtx/reducedSize present, empty strings meaning "unset".
    """
    out: dict[str, Any] = {"codecs": []}
    if params.get("mid"):
        out["mid"] = params["mid"]
    for codec in params["codecs"]:
        c = {k: codec[k] for k in ("mimeType", "payloadType", "clockRate")}
        if "channels" in codec:
            c["channels"] = codec["channels"]
        c["parameters"] = dict(codec.get("parameters", {}))
        c["rtcpFeedback"] = [dict(fb) for fb in codec.get("rtcpFeedback", [])]
        out["codecs"].append(c)
    out["headerExtensions"] = [
        {
            "uri": ext["uri"],
            "id": ext["id"],
            "encrypt": bool(ext.get("encrypt", False)),
            "parameters": dict(ext.get("parameters", {})),
        }
        for ext in params.get("headerExtensions", [])
    ]
    out["encodings"] = []
    for enc in params.get("encodings", []):
        e = {k: v for k, v in enc.items() if v not in ("", None)}
        e["dtx"] = bool(enc.get("dtx", False))
        out["encodings"].append(e)
    rtcp = params.get("rtcp", {})
    out["rtcp"] = {"reducedSize": rtcp.get("reducedSize", True)}
    if rtcp.get("cname"):
        out["rtcp"]["cname"] = rtcp["cname"]
    if params.get("msid"):
        out["msid"] = params["msid"]
    return out


def encode(write: Callable[[flatbuffers.Builder, Any], int], value: Any) -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(write(b, value))
    return bytes(b.Output())


def round_trip(params: dict[str, Any]) -> dict[str, Any]:
    data = encode(write_rtp_parameters, params)
    return dict(read_rtp_parameters(RtpParametersTable.GetRootAs(data, 0)))


def raw_parameters(params: dict[str, Any], codec: int = 0) -> dict[str, tuple[int, Any]]:
    """{name: (union type, table)} of a codec's parameters, straight from the bytes."""
    data = encode(write_rtp_parameters, params)
    table = RtpParametersTable.GetRootAs(data, 0).Codecs(codec)
    out = {}
    for i in range(table.ParametersLength()):
        p: parameter_fbs.Parameter = table.Parameters(i)
        out[p.Name().decode()] = (p.ValueType(), p.Value())
    return out


# ---------------------------------------------------------------------------
# Round trips and the wire format
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_rtp_parameters_round_trip(name: str) -> None:
    params = CASES[name]
    assert round_trip(params) == normalised(params)


def test_round_trip_keeps_value_types() -> None:
    """``==`` holds between 1 and True; the worker does not treat them alike."""
    got = round_trip(OPUS)["codecs"][0]["parameters"]
    assert type(got["useinbandfec"]) is int
    assert type(got["usedtx"]) is bool and got["usedtx"] is True
    assert got["sprop-stereo"] is False
    assert type(got["x-ratio"]) is float
    assert type(got["x-layers"]) is list


def test_parameter_union_members() -> None:
    raw = raw_parameters(OPUS)
    assert {name: kind for name, (kind, _) in raw.items()} == {
        "useinbandfec": Value.Integer32,
        "usedtx": Value.Boolean,
        "sprop-stereo": Value.Boolean,
        "x-layers": Value.Integer32Array,
        "x-empty": Value.Integer32Array,
        "x-ratio": Value.Double,
        "x-name": Value.String,
    }
    assert all(table is not None for _, table in raw.values())


def test_numbers_from_json_or_struct_become_integer32() -> None:
    """google.protobuf.Struct turns every number into a float: 1.0 must stay an Integer32."""
    params = copy.deepcopy(H264)
    params["codecs"][0]["parameters"] = {
        "packetization-mode": 1.0,
        "x-big": 2**40,
        "x-neg": -3.0,
        "x-list": [1.0, 2],
        "x-inf": float("inf"),
    }
    raw = raw_parameters(params)
    assert raw["packetization-mode"][0] == Value.Integer32
    assert raw["x-neg"][0] == Value.Integer32
    assert raw["x-list"][0] == Value.Integer32Array
    # Out of int32: a Double keeps the number (Node would wrap it around).
    assert raw["x-big"][0] == Value.Double
    assert raw["x-inf"][0] == Value.Double
    got = round_trip(params)["codecs"][0]["parameters"]
    assert got == {
        "packetization-mode": 1,
        "x-big": float(2**40),
        "x-neg": -3,
        "x-list": [1, 2],
        "x-inf": float("inf"),
    }
    assert type(got["packetization-mode"]) is int


@pytest.mark.parametrize(
    "value",
    [None, {"a": 1}, ["x"], [1.5], [2**31], [True]],
    ids=["none", "dict", "str-list", "float-list", "big-list", "bool-list"],
)
def test_unsendable_parameter_values_raise(value: Any) -> None:
    params = copy.deepcopy(H264)
    params["codecs"][0]["parameters"] = {"bad": value}
    with pytest.raises(TypeError, match="bad"):
        encode(write_rtp_parameters, params)


def test_every_enum_value_has_a_uri() -> None:
    enum_values = {v for k, v in vars(RtpHeaderExtensionUri).items() if not k.startswith("_")}
    assert set(HEADER_EXTENSION_URI_TO_FBS.values()) == enum_values
    assert len(HEADER_EXTENSION_URI_TO_FBS) == len(enum_values) == 12
    assert {v: k for k, v in FBS_TO_HEADER_EXTENSION_URI.items()} == HEADER_EXTENSION_URI_TO_FBS


def all_uris_params() -> dict[str, Any]:
    params = copy.deepcopy(H264)
    params["headerExtensions"] = [
        {"uri": uri, "id": i + 1, "encrypt": i % 2 == 0, "parameters": {}}
        for i, uri in enumerate(HEADER_EXTENSION_URI_TO_FBS)
    ]
    return params


def test_every_header_extension_uri_round_trips() -> None:
    params = all_uris_params()
    data = encode(write_rtp_parameters, params)
    table = RtpParametersTable.GetRootAs(data, 0)
    for i, uri in enumerate(HEADER_EXTENSION_URI_TO_FBS):
        assert table.HeaderExtensions(i).Uri() == HEADER_EXTENSION_URI_TO_FBS[uri]
    assert read_rtp_parameters(table)["headerExtensions"] == params["headerExtensions"]


def test_unknown_header_extension_uri_raises_type_error() -> None:
    params = copy.deepcopy(VP8_RTX)
    params["headerExtensions"].append({"uri": "urn:example:not-in-the-enum", "id": 9})
    with pytest.raises(TypeError, match="urn:example:not-in-the-enum"):
        encode(write_rtp_parameters, params)


def test_required_fields_are_written_even_when_empty() -> None:
    params = {"codecs": [{"mimeType": "audio/PCMU", "payloadType": 0, "clockRate": 8000}]}
    table = RtpParametersTable.GetRootAs(encode(write_rtp_parameters, params), 0)
    assert not table.CodecsIsNone()
    assert not table.HeaderExtensionsIsNone() and table.HeaderExtensionsLength() == 0
    assert not table.EncodingsIsNone() and table.EncodingsLength() == 0
    assert table.Rtcp() is not None and table.Rtcp().ReducedSize() is True
    codec = table.Codecs(0)
    assert codec.MimeType() == b"audio/PCMU"
    # Nullable in the schema: absent channels must not turn into 0 (Node's bug).
    assert codec.Channels() is None
    assert table.Mid() is None and table.Msid() is None
    assert read_rtp_parameters(table) == {
        "codecs": [
            {
                "mimeType": "audio/PCMU",
                "payloadType": 0,
                "clockRate": 8000,
                "parameters": {},
                "rtcpFeedback": [],
            }
        ],
        "headerExtensions": [],
        "encodings": [],
        "rtcp": {"reducedSize": True},
    }


def test_zero_ssrc_and_payload_type_are_sent() -> None:
    """0 is PCMU's payload type; Node drops it (truthiness test), the worker needs it."""
    data = encode(write_rtp_encoding_parameters, {"ssrc": 0, "codecPayloadType": 0})
    table = EncodingTable.GetRootAs(data, 0)
    assert table.Ssrc() == 0 and table.CodecPayloadType() == 0
    assert read_rtp_encoding_parameters(table) == {"ssrc": 0, "codecPayloadType": 0, "dtx": False}


def test_encoding_round_trip_alone() -> None:
    encoding = {
        "ssrc": 5,
        "rid": "hi",
        "codecPayloadType": 96,
        "rtx": {"ssrc": 6},
        "dtx": True,
        "scalabilityMode": "L3T3_KEY",
        "maxBitrate": 3_000_000,
    }
    table = EncodingTable.GetRootAs(encode(write_rtp_encoding_parameters, encoding), 0)
    assert read_rtp_encoding_parameters(table) == encoding
    empty = EncodingTable.GetRootAs(encode(write_rtp_encoding_parameters, {"rid": ""}), 0)
    assert empty.Rid() is None
    assert read_rtp_encoding_parameters(empty) == {"dtx": False}


def test_rtcp_without_reduced_size_means_reduced_size() -> None:
    params = copy.deepcopy(H264)
    params["rtcp"] = {"cname": "c"}
    assert round_trip(params)["rtcp"] == {"cname": "c", "reducedSize": True}


MAPPING: dict[str, Any] = {
    "codecs": [
        {"payloadType": 96, "mappedPayloadType": 101},
        {"payloadType": 97, "mappedPayloadType": 102},
    ],
    "encodings": [
        {"rid": "r0", "scalabilityMode": "L1T3", "mappedSsrc": 11111111},
        {"ssrc": 0, "mappedSsrc": 22222222},
        {"ssrc": 3333, "rid": "r2", "mappedSsrc": 4294967295},
    ],
}


def mapping_without_scalability_mode(mapping: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(mapping)
    for encoding in out["encodings"]:
        encoding.pop("scalabilityMode", None)
    return out


def test_rtp_mapping_round_trip() -> None:
    table = MappingTable.GetRootAs(encode(write_rtp_mapping, MAPPING), 0)
    assert table.Encodings(1).Ssrc() == 0
    assert table.Encodings(0).Ssrc() is None
    # The schema has no scalabilityMode in EncodingMapping.
    assert read_rtp_mapping(table) == mapping_without_scalability_mode(MAPPING)


@pytest.mark.parametrize("suite", SRTP_CRYPTO_SUITE_TO_FBS)
def test_srtp_parameters_round_trip(suite: str) -> None:
    params = {"cryptoSuite": suite, "keyBase64": "YTcwMzg0ZmQ4ZTU3MWFmNGI4ZDE4ZTA4ZDk4Mg=="}
    table = SrtpTable.GetRootAs(encode(write_srtp_parameters, params), 0)
    assert table.CryptoSuite() == SRTP_CRYPTO_SUITE_TO_FBS[suite]
    assert read_srtp_parameters(table) == params


def test_unknown_srtp_crypto_suite_raises_type_error() -> None:
    with pytest.raises(TypeError, match="NULL_CIPHER"):
        encode(write_srtp_parameters, {"cryptoSuite": "NULL_CIPHER", "keyBase64": "x"})


# ---------------------------------------------------------------------------
# RtpStream stats (the worker writes them; we build what it would send)
# ---------------------------------------------------------------------------


def build_stats(direction: str, **base: Any) -> bytes:
    """A GET_STATS entry laid out as the worker does: Stats{Recv|Send{base: Stats{BaseStats}}}."""
    b = flatbuffers.Builder(512)
    mime_type = b.CreateString(base["mimeType"])
    rid = b.CreateString(base["rid"]) if base.get("rid") is not None else 0
    base_stats_fbs.Start(b)
    base_stats_fbs.AddTimestamp(b, base["timestamp"])
    base_stats_fbs.AddSsrc(b, base["ssrc"])
    base_stats_fbs.AddKind(b, base["kind"])
    base_stats_fbs.AddMimeType(b, mime_type)
    base_stats_fbs.AddPacketsLost(b, base["packetsLost"])
    base_stats_fbs.AddFractionLost(b, base["fractionLost"])
    base_stats_fbs.AddJitter(b, base["jitter"])
    base_stats_fbs.AddPacketsDiscarded(b, 7)
    base_stats_fbs.AddPacketsRetransmitted(b, 8)
    base_stats_fbs.AddPacketsRepaired(b, 9)
    base_stats_fbs.AddNackCount(b, 10)
    base_stats_fbs.AddNackPacketCount(b, 11)
    base_stats_fbs.AddPliCount(b, 12)
    base_stats_fbs.AddFirCount(b, 13)
    if rid:
        base_stats_fbs.AddRid(b, rid)
    if base.get("rtxSsrc") is not None:
        base_stats_fbs.AddRtxSsrc(b, base["rtxSsrc"])
    base_stats_fbs.AddRtxPacketsDiscarded(b, base["rtxPacketsDiscarded"])
    base_stats_fbs.AddRoundTripTime(b, base["roundTripTime"])
    base_stats_fbs.AddScore(b, base["score"])
    base_offset = base_stats_fbs.End(b)
    stats_fbs.Start(b)
    stats_fbs.AddDataType(b, StatsData.BaseStats)
    stats_fbs.AddData(b, base_offset)
    inner = stats_fbs.End(b)

    if direction == "recv":
        layers = []
        for layer, bitrate in (("0.0", 100000), ("1.2", 2**40)):
            name = b.CreateString(layer)
            bitrate_by_layer_fbs.Start(b)
            bitrate_by_layer_fbs.AddLayer(b, name)
            bitrate_by_layer_fbs.AddBitrate(b, bitrate)
            layers.append(bitrate_by_layer_fbs.End(b))
        recv_stats_fbs.StartBitrateByLayerVector(b, len(layers))
        for offset in reversed(layers):
            b.PrependUOffsetTRelative(offset)
        layers_offset = b.EndVector()
        recv_stats_fbs.Start(b)
        recv_stats_fbs.AddBase(b, inner)
        recv_stats_fbs.AddPacketCount(b, 1000)
        recv_stats_fbs.AddByteCount(b, 2**33)
        recv_stats_fbs.AddBitrate(b, 640000)
        recv_stats_fbs.AddBitrateByLayer(b, layers_offset)
        outer, data_type = recv_stats_fbs.End(b), StatsData.RecvStats
    else:
        send_stats_fbs.Start(b)
        send_stats_fbs.AddBase(b, inner)
        send_stats_fbs.AddPacketCount(b, 5)
        send_stats_fbs.AddByteCount(b, 6000)
        send_stats_fbs.AddBitrate(b, 0)
        outer, data_type = send_stats_fbs.End(b), StatsData.SendStats
    stats_fbs.Start(b)
    stats_fbs.AddDataType(b, data_type)
    stats_fbs.AddData(b, outer)
    b.Finish(stats_fbs.End(b))
    return bytes(b.Output())


RECV_STATS = build_stats(
    "recv",
    timestamp=1732540000123,
    ssrc=1234,
    kind=1,
    mimeType="video/VP8",
    packetsLost=-3,
    fractionLost=25,
    jitter=17,
    rid="r1",
    rtxSsrc=5678,
    rtxPacketsDiscarded=4,
    roundTripTime=12.5,
    score=9,
)
SEND_STATS = build_stats(
    "send",
    timestamp=1,
    ssrc=4294967295,
    kind=0,
    mimeType="audio/opus",
    packetsLost=0,
    fractionLost=0,
    jitter=0,
    rtxPacketsDiscarded=0,
    roundTripTime=0.1,
    score=10,
)

COUNTERS = {
    "packetsDiscarded": 7,
    "packetsRetransmitted": 8,
    "packetsRepaired": 9,
    "nackCount": 10,
    "nackPacketCount": 11,
    "pliCount": 12,
    "firCount": 13,
}


def test_recv_stats() -> None:
    got = read_rtp_stream_stats(stats_fbs.Stats.GetRootAs(RECV_STATS, 0))
    assert got == {
        "type": "inbound-rtp",
        "timestamp": 1732540000123,
        "ssrc": 1234,
        "rtxSsrc": 5678,
        "rid": "r1",
        "kind": "video",
        "mimeType": "video/VP8",
        "packetsLost": -3,
        "fractionLost": 25,
        "jitter": 17,
        **COUNTERS,
        "roundTripTime": 12.5,
        "rtxPacketsDiscarded": 4,
        "score": 9,
        "byteCount": 2**33,
        "packetCount": 1000,
        "bitrate": 640000,
        "bitrateByLayer": {"0.0": 100000, "1.2": 2**40},
    }


def test_send_stats_leave_out_what_node_leaves_out() -> None:
    got = read_rtp_stream_stats(stats_fbs.Stats.GetRootAs(SEND_STATS, 0))
    assert got["type"] == "outbound-rtp"
    assert got["kind"] == "audio"
    assert got["ssrc"] == 4294967295
    # float32 on the wire.
    assert got["roundTripTime"] == pytest.approx(0.1, rel=1e-6)
    assert "bitrateByLayer" not in got
    for absent in ("rtxSsrc", "rid", "rtxPacketsDiscarded"):
        assert absent not in got
    assert (got["byteCount"], got["packetCount"], got["bitrate"]) == (6000, 5, 0)


def test_stats_of_the_wrong_union_member_raise() -> None:
    b = flatbuffers.Builder(64)
    stats_fbs.Start(b)
    b.Finish(stats_fbs.End(b))
    with pytest.raises(ValueError, match="union type 0"):
        read_rtp_stream_stats(stats_fbs.Stats.GetRootAs(bytes(b.Output()), 0))


# ---------------------------------------------------------------------------
# Differential tests against mediasoup's Node library
# ---------------------------------------------------------------------------

CONFORMANCE = CONFORMANCE_WORK
NODE_LIB = CONFORMANCE / "mediasoup" / "node" / "lib"

# Requests on stdin, one JSON array; answers on stdout, one JSON array. Bytes
# travel as base64. Typed arrays (Integer32Array values) become plain arrays.
NODE_SCRIPT = r"""
const lib = process.env.MEDIASOUP_NODE_LIB;
const flatbuffers = require(require.resolve('flatbuffers', { paths: [lib] }));
const rtpUtils = require(`${lib}/rtpParametersFbsUtils.js`);
const statsUtils = require(`${lib}/rtpStreamStatsFbsUtils.js`);
const srtpUtils = require(`${lib}/srtpParametersFbsUtils.js`);
const ortc = require(`${lib}/ortc.js`);
const { RtpParameters } = require(`${lib}/fbs/rtp-parameters/rtp-parameters.js`);
const { RtpMapping } = require(`${lib}/fbs/rtp-parameters/rtp-mapping.js`);
const { Stats } = require(`${lib}/fbs/rtp-stream/stats.js`);
const { SrtpParameters } = require(`${lib}/fbs/srtp-parameters/srtp-parameters.js`);

const serialize = (fn, value) => {
  const builder = new flatbuffers.Builder(1024);
  builder.finish(fn(builder, value));
  return Buffer.from(builder.asUint8Array()).toString('base64');
};
const root = (b64) => new flatbuffers.ByteBuffer(new Uint8Array(Buffer.from(b64, 'base64')));
const ops = {
  serializeRtpParameters: (v) => serialize(rtpUtils.serializeRtpParameters, v),
  serializeRtpMapping: (v) => serialize(ortc.serializeRtpMapping, v),
  serializeSrtpParameters: (v) => serialize(srtpUtils.serializeSrtpParameters, v),
  parseRtpParameters: (b) =>
    rtpUtils.parseRtpParameters(RtpParameters.getRootAsRtpParameters(root(b))),
  unpackRtpMapping: (b) => RtpMapping.getRootAsRtpMapping(root(b)).unpack(),
  parseSrtpParameters: (b) =>
    srtpUtils.parseSrtpParameters(SrtpParameters.getRootAsSrtpParameters(root(b))),
  parseRtpStreamStats: (b) => statsUtils.parseRtpStreamStats(Stats.getRootAsStats(root(b))),
};
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const answers = JSON.parse(input).map(([op, arg]) => ops[op](arg));
  const plain = (key, value) =>
    ArrayBuffer.isView(value) ? Array.from(value)
      : typeof value === 'bigint' ? Number(value) : value;
  process.stdout.write(JSON.stringify(answers, plain));
});
"""

Node = Callable[[list[tuple[str, Any]]], list[Any]]


@pytest.fixture(scope="module")
def node() -> Node:
    """Runs batches of calls into mediasoup's Node lib (prepared by the conformance runner)."""
    node_bin = shutil.which("node")
    if node_bin is None:
        pytest.fail("node is required for the differential tests against mediasoup's lib")
    needed = (NODE_LIB / "rtpParametersFbsUtils.js", CONFORMANCE / "node_modules" / "flatbuffers")
    if not all(p.exists() for p in needed):
        subprocess.run(
            ["bash", str(RUN_SH), "--prepare-only"],
            check=True,
            capture_output=True,
        )

    def call(requests: list[tuple[str, Any]]) -> list[Any]:
        done = subprocess.run(
            [node_bin, "-e", NODE_SCRIPT],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            env={"MEDIASOUP_NODE_LIB": str(NODE_LIB), "PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return call


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def node_input(params: dict[str, Any]) -> dict[str, Any]:
    """What Node's serializer is given after mediasoup's ortc normalisation.

    Node's serializer assumes normalised input (it calls Object.keys on
    ``parameters`` and writes ``rtcp.reducedSize`` as given), so it gets the
    normalised form, minus the two parameter kinds 3.27.1 serializes wrongly:
    a boolean is written as a raw 0/1 where the union wants a table offset,
    and an Integer32Array's bare vector is used as the union table. Neither
    can be read back, by Node or anyone else (the worker would misread them).
    """
    out = normalised(params)
    for item in out["codecs"] + out["headerExtensions"]:
        item["parameters"] = {
            k: v for k, v in item["parameters"].items() if not isinstance(v, bool | list)
        }
    return out


def node_shaped(params: dict[str, Any]) -> dict[str, Any]:
    """Node's parse of correct bytes: a Boolean parameter comes back as its uint8."""
    out = normalised(params)
    for item in out["codecs"] + out["headerExtensions"]:
        item["parameters"] = {
            k: int(v) if isinstance(v, bool) else v for k, v in item["parameters"].items()
        }
    return out


DIFF_CASES: dict[str, dict[str, Any]] = {**CASES, "all_uris": all_uris_params()}


def test_node_bytes_read_here_as_node_reads_them(node: Node) -> None:
    names = list(DIFF_CASES)
    serialised = node([("serializeRtpParameters", node_input(DIFF_CASES[n])) for n in names])
    node_parsed = node([("parseRtpParameters", data) for data in serialised])
    for name, data, from_node in zip(names, serialised, node_parsed, strict=True):
        ours = read_rtp_parameters(RtpParametersTable.GetRootAs(base64.b64decode(data), 0))
        assert ours == from_node, name
        expected = node_input(DIFF_CASES[name])
        # Node writes an absent `channels` as Number(undefined) = NaN, stored as 0.
        for codec in expected["codecs"]:
            codec.setdefault("channels", 0)
        assert ours == expected, name


def test_node_input_only_strips_what_node_cannot_write() -> None:
    """The Node direction must still compare ints, doubles and strings of every case."""
    stripped = node_input(OPUS)["codecs"][0]["parameters"]
    assert stripped == {"useinbandfec": 1, "x-ratio": 2.5, "x-name": "ünïcödé"}
    extension = node_input(SIMULCAST)["headerExtensions"][3]
    assert extension["parameters"] == {"x-tag": "dd", "x-rate": 0.75}


def test_our_bytes_parse_in_node(node: Node) -> None:
    names = list(DIFF_CASES)
    parsed = node(
        [("parseRtpParameters", b64(encode(write_rtp_parameters, DIFF_CASES[n]))) for n in names]
    )
    for name, from_node in zip(names, parsed, strict=True):
        assert from_node == node_shaped(DIFF_CASES[name]), name


def test_rtp_mapping_matches_node(node: Node) -> None:
    node_bytes, unpacked = node(
        [
            ("serializeRtpMapping", MAPPING),
            ("unpackRtpMapping", b64(encode(write_rtp_mapping, MAPPING))),
        ]
    )
    expected = mapping_without_scalability_mode(MAPPING)
    assert read_rtp_mapping(MappingTable.GetRootAs(base64.b64decode(node_bytes), 0)) == expected
    # Node's object API spells absent fields as null.
    for encoding in unpacked["encodings"]:
        for key in ("rid", "ssrc"):
            if encoding[key] is None:
                del encoding[key]
    assert unpacked == expected


def test_srtp_parameters_match_node(node: Node) -> None:
    cases = [
        {"cryptoSuite": suite, "keyBase64": f"key-{i}"}
        for i, suite in enumerate(SRTP_CRYPTO_SUITE_TO_FBS)
    ]
    answers = node(
        [("serializeSrtpParameters", c) for c in cases]
        + [("parseSrtpParameters", b64(encode(write_srtp_parameters, c))) for c in cases]
    )
    from_node, parsed_by_node = answers[: len(cases)], answers[len(cases) :]
    for case, data, parsed in zip(cases, from_node, parsed_by_node, strict=True):
        assert read_srtp_parameters(SrtpTable.GetRootAs(base64.b64decode(data), 0)) == case
        assert parsed == case


def test_stream_stats_match_node(node: Node) -> None:
    from_node = node(
        [("parseRtpStreamStats", b64(RECV_STATS)), ("parseRtpStreamStats", b64(SEND_STATS))]
    )
    for data, expected in zip((RECV_STATS, SEND_STATS), from_node, strict=True):
        assert read_rtp_stream_stats(stats_fbs.Stats.GetRootAs(data, 0)) == expected
    assert from_node[0]["bitrateByLayer"]["1.2"] == 2**40
