"""ORTC port: mediasoup 3.27.1's test-ortc.js and Rust ortc tests, more cases, and a Node diff."""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mediasoup_driver import ortc
from mediasoup_driver.errors import MediasoupError, UnsupportedError
from mediasoup_driver.rtp_capabilities import (
    ABS_CAPTURE_TIME_URI,
    ABS_SEND_TIME_URI,
    DEPENDENCY_DESCRIPTOR_URI,
    MID_URI,
    TIME_OFFSET_URI,
    TRANSPORT_WIDE_CC_URI,
    VIDEO_ORIENTATION_URI,
    supported_rtp_capabilities,
)

from tests.conftest import CONFORMANCE_WORK, RUN_SH

VIDEO_FEEDBACK = [
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
    {"type": "goog-remb", "parameter": ""},
    {"type": "transport-cc", "parameter": ""},
]

RANDOM_BASE = 100_000_000
RANDOM_STEP = 1_000


@pytest.fixture
def fixed_random(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Makes generate_random_number return 100000000, 100001000, ...; lists what it returned."""
    counter = itertools.count(RANDOM_BASE, RANDOM_STEP)
    returned: list[int] = []

    def fake() -> int:
        returned.append(next(counter))
        return returned[-1]

    monkeypatch.setattr(ortc, "generate_random_number", fake)
    return returned


# -- builders -----------------------------------------------------------------------------


def opus(**extra: Any) -> dict[str, Any]:
    return {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2, **extra}


def vp8(**extra: Any) -> dict[str, Any]:
    return {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, **extra}


def h264(profile_level_id: str | None = "42e01f", packetization_mode: int | None = 1, **params):
    parameters: dict[str, Any] = dict(params)
    if packetization_mode is not None:
        parameters["packetization-mode"] = packetization_mode
    if profile_level_id is not None:
        parameters["profile-level-id"] = profile_level_id
    return {"kind": "video", "mimeType": "video/H264", "clockRate": 90000, "parameters": parameters}


def mediasoup_example_media_codecs() -> list[dict[str, Any]]:
    """Router codecs of test-ortc.js's producer/consumer test."""
    return [
        opus(),
        h264(
            "4d0032",
            1,
            **{"level-asymmetry-allowed": 1, "bar": "lalala"},
        ),
    ]


def mediasoup_example_producer_parameters() -> dict[str, Any]:
    """Producer parameters of test-ortc.js (H.264 + RTX, two SSRC streams and one RID stream)."""
    return {
        "codecs": [
            {
                "mimeType": "video/H264",
                "payloadType": 111,
                "clockRate": 90000,
                "parameters": {"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"},
                "rtcpFeedback": [
                    {"type": "nack", "parameter": ""},
                    {"type": "nack", "parameter": "pli"},
                    {"type": "goog-remb", "parameter": ""},
                ],
            },
            {
                "mimeType": "video/rtx",
                "payloadType": 112,
                "clockRate": 90000,
                "parameters": {"apt": 111},
                "rtcpFeedback": [],
            },
        ],
        "headerExtensions": [
            {"uri": MID_URI, "id": 1},
            {"uri": VIDEO_ORIENTATION_URI, "id": 2},
        ],
        "encodings": [
            {
                "ssrc": 11111111,
                "rtx": {"ssrc": 11111112},
                "maxBitrate": 111111,
                "scalabilityMode": "L1T3",
            },
            {
                "ssrc": 21111111,
                "rtx": {"ssrc": 21111112},
                "maxBitrate": 222222,
                "scalabilityMode": "L1T3",
            },
            {"rid": "high", "maxBitrate": 333333, "scalabilityMode": "L1T3"},
        ],
        "rtcp": {"cname": "qwerty1234"},
    }


def remote_extension(kind: str, uri: str, preferred_id: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "uri": uri,
        "preferredId": preferred_id,
        "preferredEncrypt": False,
        "direction": "sendrecv",
    }


def mediasoup_example_remote_capabilities() -> dict[str, Any]:
    """Consumer capabilities of test-ortc.js: no transport-cc and no abs-send-time."""
    return {
        "codecs": [
            {**opus(), "preferredPayloadType": 100, "parameters": {}, "rtcpFeedback": []},
            {
                "kind": "video",
                "mimeType": "video/H264",
                "preferredPayloadType": 101,
                "clockRate": 90000,
                "parameters": {
                    "packetization-mode": 1,
                    "profile-level-id": "4d0032",
                    "baz": "LOLOLO",
                },
                "rtcpFeedback": [
                    {"type": "nack", "parameter": ""},
                    {"type": "nack", "parameter": "pli"},
                    {"type": "foo", "parameter": "FOO"},
                ],
            },
            {
                "kind": "video",
                "mimeType": "video/rtx",
                "preferredPayloadType": 102,
                "clockRate": 90000,
                "parameters": {"apt": 101},
                "rtcpFeedback": [],
            },
        ],
        "headerExtensions": [
            remote_extension("audio", MID_URI, 1),
            remote_extension("video", MID_URI, 1),
            remote_extension("video", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 2),
            remote_extension("audio", "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6),
            remote_extension("video", VIDEO_ORIENTATION_URI, 8),
            remote_extension("video", TIME_OFFSET_URI, 9),
        ],
    }


def produce(
    media_codecs: list[dict[str, Any]], params: dict[str, Any], kind: str = "video"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Router capabilities, RTP mapping and consumable parameters, as Transport.produce does."""
    caps = ortc.generate_router_rtp_capabilities(media_codecs)
    ortc.validate_and_normalize_rtp_parameters(params)
    mapping = ortc.get_producer_rtp_parameters_mapping(params, caps)
    consumable = ortc.get_consumable_rtp_parameters(kind, params, caps, mapping)
    return caps, mapping, consumable


def example_consumable() -> dict[str, Any]:
    _, _, consumable = produce(
        mediasoup_example_media_codecs(), mediasoup_example_producer_parameters()
    )
    return consumable


def vp8_simulcast_consumable(
    encodings: list[dict[str, Any]] | None = None,
    header_extensions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    params = {
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
            {
                "mimeType": "video/rtx",
                "payloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 96},
            },
        ],
        "headerExtensions": header_extensions or [],
        "encodings": encodings
        if encodings is not None
        else [{"rid": "r0"}, {"rid": "r1"}, {"rid": "r2"}],
        "rtcp": {"cname": "vp8"},
    }
    return produce([opus(), vp8()], params)[2]


def browser_capabilities(*extension_uris: str) -> dict[str, Any]:
    """Consumer capabilities with VP8 (+RTX) and opus and the given video header extensions."""
    return {
        "codecs": [
            {**opus(), "preferredPayloadType": 111, "rtcpFeedback": [{"type": "transport-cc"}]},
            {**vp8(), "preferredPayloadType": 96, "rtcpFeedback": copy.deepcopy(VIDEO_FEEDBACK)},
            {
                "kind": "video",
                "mimeType": "video/rtx",
                "preferredPayloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 96},
            },
        ],
        "headerExtensions": [
            remote_extension("video", uri, preferred_id)
            for uri, preferred_id in (
                (MID_URI, 1),
                (ABS_SEND_TIME_URI, 4),
                (TRANSPORT_WIDE_CC_URI, 5),
                (VIDEO_ORIENTATION_URI, 8),
            )
            if uri in extension_uris
        ],
    }


def feedback_types(codec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(fb["type"], fb["parameter"]) for fb in codec["rtcpFeedback"]]


# -- generate_router_rtp_capabilities ---------------------------------------------------


def test_router_capabilities_match_mediasoup_example() -> None:
    media_codecs = [
        opus(parameters={"useinbandfec": 1, "foo": "bar"}),
        vp8(preferredPayloadType=125),
        h264(
            "42e01f",
            None,
            **{"level-asymmetry-allowed": 1, "foo": "bar"},
        )
        | {"rtcpFeedback": []},
    ]
    caps = ortc.generate_router_rtp_capabilities(media_codecs)

    assert caps["codecs"] == [
        {
            "kind": "audio",
            "mimeType": "audio/opus",
            "preferredPayloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {"useinbandfec": 1, "foo": "bar"},
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "transport-cc", "parameter": ""},
            ],
        },
        {
            "kind": "video",
            "mimeType": "video/VP8",
            "preferredPayloadType": 125,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": VIDEO_FEEDBACK,
        },
        {
            "kind": "video",
            "mimeType": "video/rtx",
            "preferredPayloadType": 101,
            "clockRate": 90000,
            "parameters": {"apt": 125},
            "rtcpFeedback": [],
        },
        {
            "kind": "video",
            "mimeType": "video/H264",
            "preferredPayloadType": 102,
            "clockRate": 90000,
            # No packetization-mode is added: its default (0) stays implicit.
            "parameters": {
                "level-asymmetry-allowed": 1,
                "profile-level-id": "42e01f",
                "foo": "bar",
            },
            "rtcpFeedback": VIDEO_FEEDBACK,
        },
        {
            "kind": "video",
            "mimeType": "video/rtx",
            "preferredPayloadType": 103,
            "clockRate": 90000,
            "parameters": {"apt": 102},
            "rtcpFeedback": [],
        },
    ]


def test_router_header_extensions_are_the_whole_catalogue_whatever_the_kinds() -> None:
    caps = ortc.generate_router_rtp_capabilities([opus()])
    catalogue = supported_rtp_capabilities()["headerExtensions"]

    assert [(e["kind"], e["uri"], e["preferredId"]) for e in caps["headerExtensions"]] == [
        (e["kind"], e["uri"], e["preferredId"]) for e in catalogue
    ]
    assert any(e["kind"] == "video" for e in caps["headerExtensions"])
    assert all(e["preferredEncrypt"] is False for e in caps["headerExtensions"])


def test_router_without_media_codecs_has_no_codecs() -> None:
    assert ortc.generate_router_rtp_capabilities()["codecs"] == []
    assert ortc.generate_router_rtp_capabilities([])["codecs"] == []


def test_dynamic_payload_types_run_100_to_127_then_96_to_99() -> None:
    caps = ortc.generate_router_rtp_capabilities([vp8() for _ in range(16)])
    payload_types = [codec["preferredPayloadType"] for codec in caps["codecs"]]

    assert payload_types == [*range(100, 128), 96, 97, 98, 99]
    assert payload_types == list(ortc.DYNAMIC_PAYLOAD_TYPES)


def test_every_video_codec_is_followed_by_its_rtx_codec() -> None:
    caps = ortc.generate_router_rtp_capabilities([vp8(), opus(), h264()])
    summary = [(c["mimeType"], c["preferredPayloadType"], c["parameters"]) for c in caps["codecs"]]

    assert summary == [
        ("video/VP8", 100, {}),
        ("video/rtx", 101, {"apt": 100}),
        ("audio/opus", 102, {}),
        (
            "video/H264",
            103,
            {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "42e01f"},
        ),
        ("video/rtx", 104, {"apt": 103}),
    ]


def test_static_payload_types_do_not_use_dynamic_ones() -> None:
    media_codecs = [
        {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000},
        {"kind": "audio", "mimeType": "audio/PCMA", "clockRate": 8000},
        {"kind": "audio", "mimeType": "audio/G722", "clockRate": 8000},
        {"kind": "audio", "mimeType": "audio/CN", "clockRate": 16000},
        opus(),
    ]
    caps = ortc.generate_router_rtp_capabilities(media_codecs)

    assert [c["preferredPayloadType"] for c in caps["codecs"]] == [0, 8, 9, 13, 100]
    assert caps["codecs"][0]["channels"] == 1


def test_forced_payload_type_is_taken_out_of_the_dynamic_pool() -> None:
    caps = ortc.generate_router_rtp_capabilities(
        [vp8(preferredPayloadType=100), opus(), vp8(preferredPayloadType=35)]
    )
    assert [c["preferredPayloadType"] for c in caps["codecs"]] == [100, 101, 102, 35, 103]


def test_forced_payload_type_wins_over_static_one() -> None:
    caps = ortc.generate_router_rtp_capabilities(
        [
            {
                "kind": "audio",
                "mimeType": "audio/PCMU",
                "clockRate": 8000,
                "preferredPayloadType": 107,
            }
        ]
    )
    assert caps["codecs"][0]["preferredPayloadType"] == 107


@pytest.mark.parametrize(
    "media_codecs",
    [
        pytest.param([opus(), vp8(preferredPayloadType=100)], id="forced-after-dynamic"),
        pytest.param([vp8(), h264() | {"preferredPayloadType": 101}], id="forced-onto-rtx"),
        pytest.param(
            [{"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000}] * 2, id="two-static"
        ),
    ],
)
def test_duplicated_payload_type_raises_type_error(media_codecs: list[dict[str, Any]]) -> None:
    with pytest.raises(TypeError, match=r"duplicated codec\.preferredPayloadType"):
        ortc.generate_router_rtp_capabilities(copy.deepcopy(media_codecs))


def test_too_many_codecs_cannot_be_allocated() -> None:
    with pytest.raises(MediasoupError, match="cannot allocate"):
        ortc.generate_router_rtp_capabilities([opus() for _ in range(100)])
    with pytest.raises(MediasoupError, match="cannot allocate"):
        ortc.generate_router_rtp_capabilities([vp8() for _ in range(17)])


@pytest.mark.parametrize(
    "media_codec",
    [
        pytest.param(
            {"kind": "audio", "mimeType": "audio/chicken", "clockRate": 8000, "channels": 4},
            id="chicken",
        ),
        pytest.param(
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 1},
            id="mono-opus",
        ),
        pytest.param(
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000},
            id="opus-default-channels",
        ),
        pytest.param(
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 44100, "channels": 2},
            id="opus-44k",
        ),
        pytest.param({"kind": "video", "mimeType": "video/H265", "clockRate": 90000}, id="h265"),
        pytest.param(
            {
                "kind": "audio",
                "mimeType": "audio/multiopus",
                "clockRate": 48000,
                "channels": 6,
                "parameters": {"num_streams": 3, "coupled_streams": 2},
            },
            id="multiopus-wrong-streams",
        ),
    ],
)
def test_unsupported_media_codec_raises_unsupported_error(media_codec: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedError, match="media codec not supported"):
        ortc.generate_router_rtp_capabilities([media_codec])


def test_multiopus_is_matched_by_channels_and_stream_layout() -> None:
    surround = {
        "kind": "audio",
        "mimeType": "audio/multiopus",
        "clockRate": 48000,
        "channels": 6,
        "parameters": {"num_streams": 4, "coupled_streams": 2},
    }
    codec = ortc.generate_router_rtp_capabilities([surround])["codecs"][0]

    assert codec["parameters"] == {
        "channel_mapping": "0,4,1,2,3,5",
        "num_streams": 4,
        "coupled_streams": 2,
    }
    assert codec["channels"] == 6


def test_media_codec_parameters_override_catalogue_ones_and_feedback_is_ignored() -> None:
    media_codec = h264(**{"level-asymmetry-allowed": 0}) | {"rtcpFeedback": [{"type": "foo"}]}
    codec = ortc.generate_router_rtp_capabilities([media_codec])["codecs"][0]

    assert codec["parameters"]["level-asymmetry-allowed"] == 0
    assert codec["rtcpFeedback"] == VIDEO_FEEDBACK


def test_catalogue_fields_win_over_media_codec_spelling_and_kind() -> None:
    media_codec = {"kind": "audio", "mimeType": "VIDEO/vp8", "clockRate": 90000}
    codec = ortc.generate_router_rtp_capabilities([media_codec])["codecs"][0]

    assert codec["mimeType"] == "video/VP8"
    assert codec["kind"] == "video"
    # The media codec itself was normalized in place, as mediasoup does.
    assert media_codec["kind"] == "video"
    assert media_codec["parameters"] == {}
    assert media_codec["rtcpFeedback"] == []


def test_router_capabilities_are_independent_copies() -> None:
    first = ortc.generate_router_rtp_capabilities([vp8()])
    first["codecs"][0]["rtcpFeedback"].clear()
    first["headerExtensions"].clear()

    second = ortc.generate_router_rtp_capabilities([vp8()])
    assert second["codecs"][0]["rtcpFeedback"] == VIDEO_FEEDBACK
    assert len(second["headerExtensions"]) == len(supported_rtp_capabilities()["headerExtensions"])


@pytest.mark.parametrize(
    ("media_codec", "message"),
    [
        ({"kind": "video", "clockRate": 90000}, "missing codec.mimeType"),
        ({"mimeType": "text/plain", "clockRate": 90000}, "invalid codec.mimeType"),
        ({"mimeType": "video/VP8"}, "missing codec.clockRate"),
        ({"mimeType": "video/VP8", "clockRate": "90000"}, "missing codec.clockRate"),
        (
            {"mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": "96"},
            "preferredPayloadType",
        ),
        (
            {"mimeType": "video/VP8", "clockRate": 90000, "parameters": {"x": [1]}},
            "invalid codec parameter",
        ),
        (
            {"mimeType": "video/VP8", "clockRate": 90000, "parameters": {"x": True}},
            "invalid codec parameter",
        ),
        (
            {"mimeType": "video/VP8", "clockRate": 90000, "parameters": {"x": None}},
            "invalid codec parameter",
        ),
        ({"mimeType": "video/rtx", "clockRate": 90000, "parameters": {"apt": "96"}}, "apt"),
        (
            {"mimeType": "video/VP8", "clockRate": 90000, "rtcpFeedback": [{"parameter": "pli"}]},
            "fb.type",
        ),
    ],
)
def test_malformed_media_codec_raises_type_error(media_codec: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ortc.generate_router_rtp_capabilities([media_codec])


def test_media_codecs_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="media_codecs"):
        ortc.generate_router_rtp_capabilities(vp8())  # type: ignore[arg-type]


# -- validate_and_normalize_rtp_capabilities ---------------------------------------------


def test_capabilities_are_normalized_in_place() -> None:
    caps: dict[str, Any] = {
        "codecs": [
            {"kind": "video", "mimeType": "audio/opus", "clockRate": 48000},
            {
                "mimeType": "video/VP8",
                "clockRate": 90000,
                "channels": 3,
                "rtcpFeedback": [{"type": "nack", "parameter": 0}],
            },
        ],
        "headerExtensions": [{"kind": "audio", "uri": MID_URI, "preferredId": 1}],
    }
    ortc.validate_and_normalize_rtp_capabilities(caps)

    assert caps["codecs"][0] == {
        "kind": "audio",
        "mimeType": "audio/opus",
        "clockRate": 48000,
        "channels": 1,
        "parameters": {},
        "rtcpFeedback": [],
    }
    assert "channels" not in caps["codecs"][1]
    assert caps["codecs"][1]["rtcpFeedback"] == [{"type": "nack", "parameter": ""}]
    assert caps["headerExtensions"][0] == {
        "kind": "audio",
        "uri": MID_URI,
        "preferredId": 1,
        "preferredEncrypt": False,
        "direction": "sendrecv",
    }


def test_empty_capabilities_get_empty_lists() -> None:
    caps: dict[str, Any] = {}
    ortc.validate_and_normalize_rtp_capabilities(caps)
    assert caps == {"codecs": [], "headerExtensions": []}


def test_supported_capabilities_validate_and_are_copies() -> None:
    caps = supported_rtp_capabilities()
    ortc.validate_and_normalize_rtp_capabilities(caps)
    assert len(caps["codecs"]) == 25
    assert len(caps["headerExtensions"]) == 18
    # The normalization above did not leak into the catalogue.
    assert "parameters" not in supported_rtp_capabilities()["codecs"][0]


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ("caps", "caps is not an object"),
        (None, "caps is not an object"),
        ({"codecs": {"mimeType": "video/VP8"}}, "caps.codecs is not an array"),
        ({"headerExtensions": "mid"}, "caps.headerExtensions is not an array"),
        ({"codecs": ["video/VP8"]}, "codec is not an object"),
        ({"codecs": [{"mimeType": 3, "clockRate": 1}]}, "missing codec.mimeType"),
        (
            {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "rtcpFeedback": ["nack"]}]},
            "fb is not",
        ),
        (
            {"headerExtensions": [{"kind": "data", "uri": MID_URI, "preferredId": 1}]},
            "invalid ext.kind",
        ),
        ({"headerExtensions": [{"kind": "audio", "preferredId": 1}]}, "missing ext.uri"),
        ({"headerExtensions": [{"kind": "audio", "uri": MID_URI}]}, "missing ext.preferredId"),
        (
            {"headerExtensions": [{"kind": "audio", "uri": MID_URI, "preferredId": True}]},
            "missing ext.preferredId",
        ),
        (
            {
                "headerExtensions": [
                    {"kind": "audio", "uri": MID_URI, "preferredId": 1, "preferredEncrypt": 1}
                ]
            },
            "invalid ext.preferredEncrypt",
        ),
        (
            {
                "headerExtensions": [
                    {"kind": "audio", "uri": MID_URI, "preferredId": 1, "direction": 2}
                ]
            },
            "invalid ext.direction",
        ),
    ],
)
def test_malformed_capabilities_raise_type_error(caps: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ortc.validate_and_normalize_rtp_capabilities(caps)


# -- validate_and_normalize_rtp_parameters -----------------------------------------------


def test_rtp_parameters_are_normalized_in_place() -> None:
    params: dict[str, Any] = {
        "codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000}],
        "encodings": [{"ssrc": 1234, "dtx": "yes"}, {"rid": "r1", "dtx": True}],
        "rtcp": {"cname": "x", "reducedSize": False},
    }
    ortc.validate_and_normalize_rtp_parameters(params)

    assert params["codecs"][0] == {
        "mimeType": "audio/opus",
        "payloadType": 100,
        "clockRate": 48000,
        "channels": 1,
        "parameters": {},
        "rtcpFeedback": [],
    }
    assert params["headerExtensions"] == []
    assert params["encodings"] == [{"ssrc": 1234, "dtx": False}, {"rid": "r1", "dtx": True}]
    # mediasoup's "!reducedSize" check turns even an explicit False into True.
    assert params["rtcp"] == {"cname": "x", "reducedSize": True}


def test_minimal_rtp_parameters_get_defaults() -> None:
    params: dict[str, Any] = {"codecs": []}
    ortc.validate_and_normalize_rtp_parameters(params)
    assert params == {
        "codecs": [],
        "headerExtensions": [],
        "encodings": [],
        "rtcp": {"reducedSize": True},
    }


def test_header_extension_parameters_get_defaults() -> None:
    params: dict[str, Any] = {"codecs": [], "headerExtensions": [{"uri": MID_URI, "id": 1}]}
    ortc.validate_and_normalize_rtp_parameters(params)
    assert params["headerExtensions"] == [
        {"uri": MID_URI, "id": 1, "encrypt": False, "parameters": {}}
    ]


def test_video_codec_parameters_lose_channels_and_do_not_get_a_kind() -> None:
    params: dict[str, Any] = {
        "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "channels": 2}]
    }
    ortc.validate_and_normalize_rtp_parameters(params)
    assert params["codecs"][0] == {
        "mimeType": "video/VP8",
        "payloadType": 96,
        "clockRate": 90000,
        "parameters": {},
        "rtcpFeedback": [],
    }


VP8_PARAMS = {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([], "params is not an object"),
        ({}, "missing params.codecs"),
        ({"codecs": {}}, "missing params.codecs"),
        ({"codecs": [], "mid": 1}, "params.mid"),
        ({"codecs": [], "msid": ["a"]}, "params.msid"),
        ({"codecs": [{"mimeType": "video/VP8", "clockRate": 90000}]}, "missing codec.payloadType"),
        ({"codecs": [{**VP8_PARAMS, "payloadType": "96"}]}, "missing codec.payloadType"),
        ({"codecs": [{**VP8_PARAMS, "clockRate": None}]}, "missing codec.clockRate"),
        ({"codecs": [{**VP8_PARAMS, "mimeType": "video"}]}, "invalid codec.mimeType"),
        ({"codecs": [], "headerExtensions": {}}, "params.headerExtensions is not an array"),
        ({"codecs": [], "headerExtensions": [{"id": 1}]}, "missing ext.uri"),
        ({"codecs": [], "headerExtensions": [{"uri": MID_URI, "id": "1"}]}, "missing ext.id"),
        (
            {"codecs": [], "headerExtensions": [{"uri": MID_URI, "id": 1, "encrypt": "no"}]},
            "ext.encrypt",
        ),
        (
            {
                "codecs": [],
                "headerExtensions": [{"uri": MID_URI, "id": 1, "parameters": {"a": {}}}],
            },
            "invalid header extension parameter",
        ),
        ({"codecs": [], "encodings": "x"}, "params.encodings is not an array"),
        ({"codecs": [], "encodings": [1]}, "encoding is not an object"),
        ({"codecs": [], "encodings": [{"ssrc": "1"}]}, "invalid encoding.ssrc"),
        ({"codecs": [], "encodings": [{"rid": 1}]}, "invalid encoding.rid"),
        ({"codecs": [], "encodings": [{"rtx": 5}]}, "invalid encoding.rtx"),
        ({"codecs": [], "encodings": [{"rtx": {}}]}, "missing encoding.rtx.ssrc"),
        ({"codecs": [], "encodings": [{"scalabilityMode": 3}]}, "invalid encoding.scalabilityMode"),
        ({"codecs": [], "rtcp": "x"}, "params.rtcp is not an object"),
        ({"codecs": [], "rtcp": {"cname": 5}}, "invalid rtcp.cname"),
    ],
)
def test_malformed_rtp_parameters_raise_type_error(params: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ortc.validate_and_normalize_rtp_parameters(params)


def test_falsy_optional_fields_count_as_unset_like_in_javascript() -> None:
    params: dict[str, Any] = {
        "codecs": [],
        "mid": "",
        "encodings": [{"ssrc": 0, "rid": "", "rtx": None, "scalabilityMode": ""}],
        "rtcp": None,
    }
    ortc.validate_and_normalize_rtp_parameters(params)
    assert params["rtcp"] == {"reducedSize": True}
    assert params["encodings"][0]["dtx"] is False


# -- validate_and_normalize_sctp_stream_parameters ---------------------------------------


@pytest.mark.parametrize(
    ("params", "ordered"),
    [
        ({"streamId": 1}, True),
        ({"streamId": 1, "maxPacketLifeTime": 100}, False),
        ({"streamId": 1, "maxRetransmits": 3}, False),
        ({"streamId": 1, "ordered": False}, False),
        ({"streamId": 1, "ordered": False, "maxRetransmits": 3}, False),
        ({"streamId": 1, "ordered": "yes"}, True),
    ],
)
def test_sctp_ordered_defaults(params: dict[str, Any], ordered: bool) -> None:
    ortc.validate_and_normalize_sctp_stream_parameters(params)
    assert params["ordered"] is ordered


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("x", "params is not an object"),
        ({}, "missing params.streamId"),
        ({"streamId": "1"}, "missing params.streamId"),
        ({"streamId": 1, "maxPacketLifeTime": "1"}, "invalid params.maxPacketLifeTime"),
        ({"streamId": 1, "maxRetransmits": "1"}, "invalid params.maxRetransmits"),
        ({"streamId": 1, "maxRetransmits": 1, "maxPacketLifeTime": 1}, "cannot provide both"),
        ({"streamId": 1, "ordered": True, "maxRetransmits": 1}, "cannot be ordered"),
    ],
)
def test_malformed_sctp_parameters_raise_type_error(params: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ortc.validate_and_normalize_sctp_stream_parameters(params)


# -- get_producer_rtp_parameters_mapping --------------------------------------------------


def test_producer_mapping_matches_mediasoup_example(fixed_random: list[int]) -> None:
    caps = ortc.generate_router_rtp_capabilities(mediasoup_example_media_codecs())
    params = mediasoup_example_producer_parameters()
    ortc.validate_and_normalize_rtp_parameters(params)
    mapping = ortc.get_producer_rtp_parameters_mapping(params, caps)

    assert mapping == {
        "codecs": [
            {"payloadType": 111, "mappedPayloadType": 101},
            {"payloadType": 112, "mappedPayloadType": 102},
        ],
        "encodings": [
            {"ssrc": 11111111, "mappedSsrc": RANDOM_BASE},
            {"ssrc": 21111111, "mappedSsrc": RANDOM_BASE + 1},
            {"rid": "high", "mappedSsrc": RANDOM_BASE + 2},
        ],
    }
    assert fixed_random == [RANDOM_BASE]


def test_mapped_ssrcs_are_consecutive_from_a_random_base() -> None:
    caps = ortc.generate_router_rtp_capabilities(mediasoup_example_media_codecs())
    params = mediasoup_example_producer_parameters()
    mapping = ortc.get_producer_rtp_parameters_mapping(params, caps)
    ssrcs = [entry["mappedSsrc"] for entry in mapping["encodings"]]

    assert ssrcs == [ssrcs[0], ssrcs[0] + 1, ssrcs[0] + 2]
    assert 100_000_000 <= ssrcs[0] <= 999_999_999


def test_media_codecs_are_mapped_before_rtx_codecs() -> None:
    caps = ortc.generate_router_rtp_capabilities([vp8(), h264()])
    params = {
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
            {
                "mimeType": "video/rtx",
                "payloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 96},
            },
            {**h264(), "payloadType": 98},
            {
                "mimeType": "video/rtx",
                "payloadType": 99,
                "clockRate": 90000,
                "parameters": {"apt": 98},
            },
        ],
    }
    for codec in params["codecs"]:
        codec.pop("kind", None)
    ortc.validate_and_normalize_rtp_parameters(params)
    mapping = ortc.get_producer_rtp_parameters_mapping(params, caps)

    assert [(m["payloadType"], m["mappedPayloadType"]) for m in mapping["codecs"]] == [
        (96, 100),
        (98, 102),
        (97, 101),
        (99, 103),
    ]
    assert mapping["encodings"] == []


def producer_h264(profile_level_id: str | None, packetization_mode: int | None = 1, **extra):
    codec = h264(profile_level_id, packetization_mode, **extra)
    del codec["kind"]
    return {"codecs": [{**codec, "payloadType": 125}], "encodings": [{"ssrc": 1}]}


def test_producer_with_unsupported_codec_raises_unsupported_error() -> None:
    """test-ortc.js: a VP8 producer on an opus + H.264 High router."""
    caps = ortc.generate_router_rtp_capabilities([opus(), h264("640032", 1)])
    params = {
        "codecs": [
            {
                "mimeType": "video/VP8",
                "payloadType": 120,
                "clockRate": 90000,
                "rtcpFeedback": [
                    {"type": "nack", "parameter": ""},
                    {"type": "nack", "parameter": "fir"},
                ],
            }
        ],
        "headerExtensions": [],
        "encodings": [{"ssrc": 11111111}],
        "rtcp": {"cname": "qwerty1234"},
    }
    with pytest.raises(UnsupportedError, match="unsupported codec"):
        ortc.get_producer_rtp_parameters_mapping(params, caps)


@pytest.mark.parametrize(
    ("router_codec", "producer_params"),
    [
        pytest.param(
            h264("42e01f", 1), producer_h264("640c1f", 1), id="constrained-high-vs-baseline"
        ),
        pytest.param(h264("640032", 1), producer_h264("4d0032", 1), id="main-vs-high"),
        pytest.param(h264("42e01f", 1), producer_h264("42e01f", 0), id="packetization-mode-0-vs-1"),
        pytest.param(
            h264("42e01f", 1), producer_h264("42e01f", None), id="packetization-mode-absent"
        ),
        pytest.param(h264("42e01f", 0), producer_h264("zzzzzz", 0), id="unreadable-profile"),
        pytest.param(h264("640c1f", 1), producer_h264(None, 1), id="default-profile-vs-high"),
    ],
)
def test_h264_producer_with_other_profile_or_mode_is_unsupported(
    router_codec: dict[str, Any], producer_params: dict[str, Any]
) -> None:
    caps = ortc.generate_router_rtp_capabilities([router_codec])
    ortc.validate_and_normalize_rtp_parameters(producer_params)
    with pytest.raises(UnsupportedError):
        ortc.get_producer_rtp_parameters_mapping(producer_params, caps)


def test_h264_producer_picks_the_router_codec_with_its_profile() -> None:
    caps = ortc.generate_router_rtp_capabilities(
        [h264("42e01f", 1), h264("640032", 1), h264("4d0032", 1)]
    )
    params = producer_h264("4d001f", 1)
    mapping = ortc.get_producer_rtp_parameters_mapping(params, caps)
    assert mapping["codecs"] == [{"payloadType": 125, "mappedPayloadType": 104}]


@pytest.mark.parametrize(
    ("producer_profile", "producer_params", "expected"),
    [
        # Without level asymmetry on both sides the lower level wins.
        pytest.param("42e034", {}, "42e01f", id="capped-to-router-level"),
        pytest.param("42e00a", {}, "42e00a", id="lower-producer-level-kept"),
        # With it on both sides the producer keeps its own level.
        pytest.param("42e034", {"level-asymmetry-allowed": 1}, "42e034", id="asymmetry-allowed"),
        pytest.param(
            "42e034", {"level-asymmetry-allowed": "1"}, "42e034", id="asymmetry-as-string"
        ),
        # A producer without profile-level-id gets the negotiated one written in.
        pytest.param(None, {}, "42e01f", id="absent-gets-negotiated"),
        pytest.param("42001f", {}, "42e01f", id="baseline-iop-normalized"),
    ],
)
def test_h264_producer_profile_level_id_is_rewritten_to_the_negotiated_one(
    producer_profile: str | None, producer_params: dict[str, Any], expected: str
) -> None:
    caps = ortc.generate_router_rtp_capabilities([h264("42e01f", 1)])
    params = producer_h264(producer_profile, 1, **producer_params)
    if producer_profile == "42001f":
        # 42001f is Baseline, not Constrained Baseline: it needs a Baseline router codec.
        caps = ortc.generate_router_rtp_capabilities([h264("42001f", 1)])
        expected = "42001f"
    ortc.get_producer_rtp_parameters_mapping(params, caps)
    assert params["codecs"][0]["parameters"]["profile-level-id"] == expected


def test_h264_without_any_profile_level_id_stays_without() -> None:
    caps = ortc.generate_router_rtp_capabilities([h264(None, 1)])
    params = producer_h264(None, 1)
    ortc.get_producer_rtp_parameters_mapping(params, caps)
    assert "profile-level-id" not in params["codecs"][0]["parameters"]


def test_vp9_producer_with_other_profile_id_is_unsupported() -> None:
    caps = ortc.generate_router_rtp_capabilities(
        [
            {
                "kind": "video",
                "mimeType": "video/VP9",
                "clockRate": 90000,
                "parameters": {"profile-id": 2},
            }
        ]
    )
    vp9_profile_0 = {"mimeType": "video/VP9", "payloadType": 98, "clockRate": 90000}
    with pytest.raises(UnsupportedError):
        ortc.get_producer_rtp_parameters_mapping({"codecs": [vp9_profile_0]}, caps)

    vp9_profile_2 = {**vp9_profile_0, "parameters": {"profile-id": 2}}
    mapping = ortc.get_producer_rtp_parameters_mapping({"codecs": [vp9_profile_2]}, caps)
    assert mapping["codecs"] == [{"payloadType": 98, "mappedPayloadType": 100}]


def test_rtx_without_its_media_codec_raises_type_error() -> None:
    caps = ortc.generate_router_rtp_capabilities([vp8()])
    params = {
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
            {
                "mimeType": "video/rtx",
                "payloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 95},
            },
        ]
    }
    with pytest.raises(TypeError, match="missing media codec found for RTX PT 97"):
        ortc.get_producer_rtp_parameters_mapping(params, caps)


def test_audio_rtx_has_no_router_counterpart() -> None:
    caps = ortc.generate_router_rtp_capabilities([opus()])
    params = {
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2},
            {
                "mimeType": "audio/rtx",
                "payloadType": 112,
                "clockRate": 48000,
                "parameters": {"apt": 111},
            },
        ]
    }
    with pytest.raises(UnsupportedError, match="no RTX codec for capability codec PT 100"):
        ortc.get_producer_rtp_parameters_mapping(params, caps)


# -- get_consumable_rtp_parameters --------------------------------------------------------


def test_consumable_parameters_match_mediasoup_example(fixed_random: list[int]) -> None:
    _, mapping, consumable = produce(
        mediasoup_example_media_codecs(), mediasoup_example_producer_parameters()
    )

    assert consumable["codecs"] == [
        {
            "mimeType": "video/H264",
            "payloadType": 101,
            "clockRate": 90000,
            "parameters": {"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"},
            "rtcpFeedback": VIDEO_FEEDBACK,
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ]
    assert consumable["encodings"] == [
        {"ssrc": RANDOM_BASE, "maxBitrate": 111111, "scalabilityMode": "L1T3", "dtx": False},
        {"ssrc": RANDOM_BASE + 1, "maxBitrate": 222222, "scalabilityMode": "L1T3", "dtx": False},
        {"ssrc": RANDOM_BASE + 2, "maxBitrate": 333333, "scalabilityMode": "L1T3", "dtx": False},
    ]
    assert [e["mappedSsrc"] for e in mapping["encodings"]] == [
        e["ssrc"] for e in consumable["encodings"]
    ]
    assert consumable["rtcp"] == {"cname": "qwerty1234", "reducedSize": True}
    assert "msid" not in consumable
    assert "mid" not in consumable


def test_consumable_header_extensions_are_the_router_ones_it_may_send() -> None:
    consumable = example_consumable()
    assert [(e["uri"], e["id"]) for e in consumable["headerExtensions"]] == [
        (MID_URI, 1),
        (ABS_SEND_TIME_URI, 4),
        (TRANSPORT_WIDE_CC_URI, 5),
        (VIDEO_ORIENTATION_URI, 8),
        (TIME_OFFSET_URI, 9),
        ("http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 11),
        ("urn:mediasoup:params:rtp-hdrext:packet-id", 12),
    ]
    assert all(
        e["encrypt"] is False and e["parameters"] == {} for e in consumable["headerExtensions"]
    )


def test_audio_consumable_skips_receive_only_transport_cc() -> None:
    params = {
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2}
        ]
    }
    _, _, consumable = produce([opus()], params, kind="audio")
    uris = [e["uri"] for e in consumable["headerExtensions"]]

    assert TRANSPORT_WIDE_CC_URI not in uris
    assert "urn:ietf:params:rtp-hdrext:ssrc-audio-level" in uris
    assert VIDEO_ORIENTATION_URI not in uris
    assert consumable["codecs"] == [
        {
            "mimeType": "audio/opus",
            "payloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {},
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "transport-cc", "parameter": ""},
            ],
        }
    ]


@pytest.mark.parametrize("producer_sends_it", [True, False])
def test_abs_capture_time_is_only_offered_if_the_producer_sends_it(producer_sends_it: bool) -> None:
    extensions = [{"uri": ABS_CAPTURE_TIME_URI, "id": 7}] if producer_sends_it else []
    consumable = vp8_simulcast_consumable(header_extensions=extensions)
    offered = [e for e in consumable["headerExtensions"] if e["uri"] == ABS_CAPTURE_TIME_URI]
    assert offered == (
        [{"uri": ABS_CAPTURE_TIME_URI, "id": 10, "encrypt": False, "parameters": {}}]
        if producer_sends_it
        else []
    )


def test_consumable_encodings_lose_producer_side_identifiers() -> None:
    consumable = vp8_simulcast_consumable(
        encodings=[{"rid": "r0", "rtx": {"ssrc": 5}, "codecPayloadType": 96, "maxFramerate": 15}]
    )
    (encoding,) = consumable["encodings"]
    assert set(encoding) == {"ssrc", "dtx", "maxFramerate"}


def test_consumable_keeps_msid_and_does_not_alias_the_producer() -> None:
    params = mediasoup_example_producer_parameters() | {"msid": "stream track"}
    _, _, consumable = produce(mediasoup_example_media_codecs(), params)
    consumable["codecs"][0]["parameters"]["foo"] = "changed"
    consumable["encodings"][0]["maxBitrate"] = 1

    assert consumable["msid"] == "stream track"
    assert params["codecs"][0]["parameters"]["foo"] == 1234
    assert params["encodings"][0]["maxBitrate"] == 111111
    assert params["encodings"][0]["rtx"] == {"ssrc": 11111112}


def test_consumable_without_mapping_entry_raises_type_error() -> None:
    caps = ortc.generate_router_rtp_capabilities([vp8()])
    params = {
        "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
        "encodings": [],
    }
    with pytest.raises(TypeError, match="no RTP mapping"):
        ortc.get_consumable_rtp_parameters("video", params, caps, {"codecs": [], "encodings": []})


# -- can_consume ----------------------------------------------------------------------------


def test_can_consume_with_matching_codec() -> None:
    caps = mediasoup_example_remote_capabilities()
    assert ortc.can_consume(example_consumable(), caps) is True


def test_can_consume_normalizes_the_capabilities_in_place() -> None:
    caps: dict[str, Any] = {
        "codecs": [
            {
                "mimeType": "video/H264",
                "clockRate": 90000,
                "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"},
            }
        ]
    }
    assert ortc.can_consume(example_consumable(), caps) is True
    assert caps["codecs"][0]["kind"] == "video"
    assert caps["headerExtensions"] == []


@pytest.mark.parametrize(
    "remote_codecs",
    [
        pytest.param([], id="no-codecs"),
        pytest.param([opus()], id="other-kind"),
        pytest.param([h264("640032", 1)], id="h264-other-profile"),
        pytest.param([h264("4d0032", 0)], id="h264-other-packetization-mode"),
        pytest.param([h264("4d0032", None)], id="h264-default-packetization-mode"),
        pytest.param(
            [
                {
                    "kind": "video",
                    "mimeType": "video/rtx",
                    "clockRate": 90000,
                    "parameters": {"apt": 101},
                }
            ],
            id="only-rtx",
        ),
    ],
)
def test_cannot_consume_without_a_common_media_codec(remote_codecs: list[dict[str, Any]]) -> None:
    assert ortc.can_consume(example_consumable(), {"codecs": copy.deepcopy(remote_codecs)}) is False


def test_can_consume_h264_at_another_level_of_the_same_profile() -> None:
    assert ortc.can_consume(example_consumable(), {"codecs": [h264("4d001f", 1)]}) is True


def test_vp9_consumers_need_the_same_profile_id() -> None:
    vp9 = {"kind": "video", "mimeType": "video/VP9", "clockRate": 90000}
    params = {
        "codecs": [
            {
                "mimeType": "video/VP9",
                "payloadType": 98,
                "clockRate": 90000,
                "parameters": {"profile-id": 2},
            }
        ]
    }
    _, _, consumable = produce([vp9 | {"parameters": {"profile-id": 2}}], params)

    assert ortc.can_consume(consumable, {"codecs": [copy.deepcopy(vp9)]}) is False
    assert (
        ortc.can_consume(consumable, {"codecs": [vp9 | {"parameters": {"profile-id": 2}}]}) is True
    )


def test_multiopus_consumers_need_the_same_stream_layout() -> None:
    layout = {"num_streams": 2, "coupled_streams": 2}
    quad = {"kind": "audio", "mimeType": "audio/multiopus", "clockRate": 48000, "channels": 4}
    params = {
        "codecs": [
            {
                "mimeType": "audio/multiopus",
                "payloadType": 100,
                "clockRate": 48000,
                "channels": 4,
                "parameters": dict(layout),
            }
        ]
    }
    _, _, consumable = produce([quad | {"parameters": dict(layout)}], params, kind="audio")

    assert ortc.can_consume(consumable, {"codecs": [quad | {"parameters": dict(layout)}]}) is True
    assert (
        ortc.can_consume(
            consumable,
            {"codecs": [quad | {"parameters": {"num_streams": 3, "coupled_streams": 2}}]},
        )
        is False
    )
    assert (
        ortc.can_consume(
            consumable, {"codecs": [quad | {"channels": 2, "parameters": dict(layout)}]}
        )
        is False
    )


def test_can_consume_rejects_malformed_capabilities() -> None:
    with pytest.raises(TypeError, match=r"missing codec\.clockRate"):
        ortc.can_consume(example_consumable(), {"codecs": [{"mimeType": "video/VP8"}]})


# -- get_consumer_rtp_parameters ----------------------------------------------------------


def test_consumer_parameters_match_mediasoup_example(fixed_random: list[int]) -> None:
    consumable = example_consumable()
    consumable_before = copy.deepcopy(consumable)
    params = ortc.get_consumer_rtp_parameters(
        consumable, mediasoup_example_remote_capabilities(), pipe=False, enable_rtx=True
    )

    assert params["codecs"] == [
        {
            "mimeType": "video/H264",
            "payloadType": 101,
            "clockRate": 90000,
            "parameters": {"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"},
            # The consumer's own feedback, including types mediasoup does not know.
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "nack", "parameter": "pli"},
                {"type": "foo", "parameter": "FOO"},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ]
    ssrc = fixed_random[-1]
    assert params["encodings"] == [
        {"ssrc": ssrc, "rtx": {"ssrc": ssrc + 1}, "scalabilityMode": "L3T3", "maxBitrate": 333333}
    ]
    assert params["headerExtensions"] == [
        {"uri": MID_URI, "id": 1, "encrypt": False, "parameters": {}},
        {"uri": VIDEO_ORIENTATION_URI, "id": 8, "encrypt": False, "parameters": {}},
        {"uri": TIME_OFFSET_URI, "id": 9, "encrypt": False, "parameters": {}},
    ]
    assert params["rtcp"] == {"cname": "qwerty1234", "reducedSize": True}
    assert consumable == consumable_before


def test_consumer_ssrc_is_random_and_rtx_ssrc_is_the_next_one() -> None:
    first = ortc.get_consumer_rtp_parameters(
        example_consumable(), mediasoup_example_remote_capabilities()
    )
    second = ortc.get_consumer_rtp_parameters(
        example_consumable(), mediasoup_example_remote_capabilities()
    )
    (encoding,) = first["encodings"]

    assert 100_000_000 <= encoding["ssrc"] < 999_999_999
    assert encoding["rtx"] == {"ssrc": encoding["ssrc"] + 1}
    assert second["encodings"][0]["ssrc"] != encoding["ssrc"]


def test_consumer_keeps_transport_cc_and_drops_remb_when_both_are_negotiated() -> None:
    caps = browser_capabilities(MID_URI, ABS_SEND_TIME_URI, TRANSPORT_WIDE_CC_URI)
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    assert feedback_types(params["codecs"][0]) == [
        ("nack", ""),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("transport-cc", ""),
    ]
    assert [e["uri"] for e in params["headerExtensions"]] == [
        MID_URI,
        ABS_SEND_TIME_URI,
        TRANSPORT_WIDE_CC_URI,
    ]


def test_consumer_uses_remb_with_abs_send_time_only() -> None:
    caps = browser_capabilities(MID_URI, ABS_SEND_TIME_URI)
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    assert feedback_types(params["codecs"][0]) == [
        ("nack", ""),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("goog-remb", ""),
    ]


def test_consumer_has_no_bandwidth_feedback_without_either_extension() -> None:
    caps = browser_capabilities(MID_URI)
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    assert feedback_types(params["codecs"][0]) == [("nack", ""), ("nack", "pli"), ("ccm", "fir")]


def test_consumer_header_extensions_need_the_same_id_and_uri() -> None:
    caps = browser_capabilities()
    caps["headerExtensions"] = [
        remote_extension("video", MID_URI, 3),
        remote_extension("video", VIDEO_ORIENTATION_URI, 8),
        remote_extension("audio", TIME_OFFSET_URI, 9),
    ]
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    # The kind of the remote extension is not looked at, only its id and URI.
    assert [e["uri"] for e in params["headerExtensions"]] == [
        VIDEO_ORIENTATION_URI,
        TIME_OFFSET_URI,
    ]


def test_consumer_without_rtx_drops_rtx_codec_plain_nack_and_rtx_ssrc() -> None:
    caps = browser_capabilities(TRANSPORT_WIDE_CC_URI)
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps, enable_rtx=False)

    assert [c["mimeType"] for c in params["codecs"]] == ["video/VP8"]
    assert feedback_types(params["codecs"][0]) == [
        ("nack", "pli"),
        ("ccm", "fir"),
        ("transport-cc", ""),
    ]
    assert "rtx" not in params["encodings"][0]


def test_consumer_without_remote_rtx_codec_has_no_rtx_ssrc() -> None:
    caps = browser_capabilities(TRANSPORT_WIDE_CC_URI)
    del caps["codecs"][2]
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps, enable_rtx=True)

    assert [c["mimeType"] for c in params["codecs"]] == ["video/VP8"]
    assert ("nack", "") in feedback_types(params["codecs"][0])
    assert "rtx" not in params["encodings"][0]


def test_orphan_remote_rtx_is_dropped() -> None:
    """The remote RTX codec matches the consumable one, but its media codec does not match."""
    caps = browser_capabilities()
    caps["codecs"][1] = h264()
    caps["codecs"].insert(0, vp8() | {"rtcpFeedback": []})
    params = ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    assert [c["mimeType"] for c in params["codecs"]] == ["video/VP8", "video/rtx"]

    only_rtx = {"codecs": [{"kind": "video", "mimeType": "video/rtx", "clockRate": 90000}]}
    with pytest.raises(UnsupportedError, match="no compatible media codecs"):
        ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), only_rtx)


@pytest.mark.parametrize(
    "remote_codecs",
    [
        pytest.param([], id="no-codecs"),
        pytest.param([opus()], id="other-kind"),
        pytest.param([h264("640032", 1)], id="h264-other-profile"),
        pytest.param([h264("4d0032", 0)], id="h264-other-packetization-mode"),
    ],
)
def test_consumer_without_common_codec_raises_unsupported_error(
    remote_codecs: list[dict[str, Any]],
) -> None:
    caps = {"codecs": copy.deepcopy(remote_codecs), "headerExtensions": []}
    with pytest.raises(UnsupportedError, match="no compatible media codecs"):
        ortc.get_consumer_rtp_parameters(example_consumable(), caps)


def test_consumer_normalizes_remote_codecs_in_place() -> None:
    caps: dict[str, Any] = {
        "codecs": [{"mimeType": "video/VP8", "clockRate": 90000}],
        "headerExtensions": [],
    }
    ortc.get_consumer_rtp_parameters(vp8_simulcast_consumable(), caps)
    assert caps["codecs"][0] == {
        "mimeType": "video/VP8",
        "clockRate": 90000,
        "kind": "video",
        "parameters": {},
        "rtcpFeedback": [],
    }


@pytest.mark.parametrize(
    ("encodings", "scalability_mode"),
    [
        pytest.param([{"ssrc": 1}], None, id="single-without-mode"),
        pytest.param([{"ssrc": 1, "scalabilityMode": "L3T3_KEY"}], "L3T3_KEY", id="svc-kept"),
        pytest.param([{"ssrc": 1, "scalabilityMode": "S2T3"}], "S2T3", id="svc-s-mode-kept"),
        pytest.param([{"ssrc": 1}, {"ssrc": 2}], "L2T1", id="simulcast-without-mode"),
        pytest.param(
            [{"ssrc": 1}, {"ssrc": 2, "scalabilityMode": "L1T2"}, {"ssrc": 3}],
            "L3T2",
            id="first-set-mode",
        ),
        pytest.param(
            [{"ssrc": 1, "scalabilityMode": "foo"}, {"ssrc": 2}], "L2T1", id="unreadable-mode"
        ),
        pytest.param([{"ssrc": 1, "scalabilityMode": "foo"}], "foo", id="unreadable-single-kept"),
    ],
)
def test_consumer_scalability_mode(
    encodings: list[dict[str, Any]], scalability_mode: str | None
) -> None:
    consumable = vp8_simulcast_consumable(encodings=encodings)
    params = ortc.get_consumer_rtp_parameters(consumable, browser_capabilities())
    (encoding,) = params["encodings"]
    assert encoding.get("scalabilityMode") == scalability_mode


@pytest.mark.parametrize(
    ("bitrates", "expected"),
    [
        pytest.param([None, None], None, id="none"),
        pytest.param([500_000, None, 1_500_000], 1_500_000, id="highest"),
        pytest.param([0, 100], 100, id="zero-ignored"),
    ],
)
def test_consumer_max_bitrate_is_the_highest_of_all_streams(
    bitrates: list[int | None], expected: int | None
) -> None:
    encodings = [
        {"ssrc": i + 1} | ({} if b is None else {"maxBitrate": b}) for i, b in enumerate(bitrates)
    ]
    params = ortc.get_consumer_rtp_parameters(
        vp8_simulcast_consumable(encodings=encodings), browser_capabilities()
    )
    assert params["encodings"][0].get("maxBitrate") == expected


def test_pipe_consumer_through_transport_keeps_every_stream(fixed_random: list[int]) -> None:
    consumable = vp8_simulcast_consumable()
    params = ortc.get_consumer_rtp_parameters(consumable, browser_capabilities(), pipe=True)
    base, rtx_base = fixed_random[-2:]

    assert params["encodings"] == [
        {"ssrc": base + i, "dtx": False, "rtx": {"ssrc": rtx_base + i}} for i in range(3)
    ]
    without_rtx = ortc.get_consumer_rtp_parameters(
        consumable, browser_capabilities(), pipe=True, enable_rtx=False
    )
    assert all("rtx" not in e for e in without_rtx["encodings"])
    assert len(without_rtx["encodings"]) == 3


def test_consumer_keeps_msid() -> None:
    params = mediasoup_example_producer_parameters() | {"msid": "a b"}
    _, _, consumable = produce(mediasoup_example_media_codecs(), params)
    consumer = ortc.get_consumer_rtp_parameters(consumable, mediasoup_example_remote_capabilities())
    assert consumer["msid"] == "a b"


def test_consumer_rejects_capabilities_without_codec_list() -> None:
    with pytest.raises(TypeError, match="codecs"):
        ortc.get_consumer_rtp_parameters(example_consumable(), {})


# -- get_pipe_consumer_rtp_parameters -----------------------------------------------------


def test_pipe_consumer_parameters_match_mediasoup_example(fixed_random: list[int]) -> None:
    consumable = example_consumable()
    consumable_before = copy.deepcopy(consumable)
    params = ortc.get_pipe_consumer_rtp_parameters(consumable, enable_rtx=False)

    assert params["codecs"] == [
        {
            "mimeType": "video/H264",
            "payloadType": 101,
            "clockRate": 90000,
            "parameters": {"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"},
            "rtcpFeedback": [
                {"type": "nack", "parameter": "pli"},
                {"type": "ccm", "parameter": "fir"},
            ],
        }
    ]
    base = fixed_random[-2]
    assert params["encodings"] == [
        {"ssrc": base, "maxBitrate": 111111, "scalabilityMode": "L1T3", "dtx": False},
        {"ssrc": base + 1, "maxBitrate": 222222, "scalabilityMode": "L1T3", "dtx": False},
        {"ssrc": base + 2, "maxBitrate": 333333, "scalabilityMode": "L1T3", "dtx": False},
    ]
    assert params["rtcp"] == {"cname": "qwerty1234", "reducedSize": True}
    assert consumable == consumable_before


def test_pipe_consumer_drops_mid_and_bandwidth_extensions_and_adds_dependency_descriptor() -> None:
    params = ortc.get_pipe_consumer_rtp_parameters(example_consumable())
    assert [(e["uri"], e["id"]) for e in params["headerExtensions"]] == [
        (DEPENDENCY_DESCRIPTOR_URI, 7),
        (VIDEO_ORIENTATION_URI, 8),
        (TIME_OFFSET_URI, 9),
        ("http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 11),
        ("urn:mediasoup:params:rtp-hdrext:packet-id", 12),
    ]
    assert params["headerExtensions"][0] == {
        "uri": DEPENDENCY_DESCRIPTOR_URI,
        "id": 7,
        "encrypt": False,
        "parameters": {},
    }


def test_pipe_consumer_with_rtx_keeps_rtx_codec_nack_and_rtx_ssrcs(fixed_random: list[int]) -> None:
    params = ortc.get_pipe_consumer_rtp_parameters(example_consumable(), enable_rtx=True)
    base, rtx_base = fixed_random[-2:]

    assert [c["mimeType"] for c in params["codecs"]] == ["video/H264", "video/rtx"]
    assert feedback_types(params["codecs"][0]) == [("nack", ""), ("nack", "pli"), ("ccm", "fir")]
    assert [(e["ssrc"], e["rtx"]["ssrc"]) for e in params["encodings"]] == [
        (base + i, rtx_base + i) for i in range(3)
    ]


def test_audio_pipe_consumer_also_gets_the_dependency_descriptor() -> None:
    """A mediasoup quirk kept as is: the extension is added whatever the kind."""
    params = {
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2}
        ]
    }
    _, _, consumable = produce([opus()], params, kind="audio")
    pipe = ortc.get_pipe_consumer_rtp_parameters(consumable)
    assert DEPENDENCY_DESCRIPTOR_URI in [e["uri"] for e in pipe["headerExtensions"]]
    assert feedback_types(pipe["codecs"][0]) == []


def test_pipe_consumer_dependency_descriptor_is_a_fresh_dict_each_time() -> None:
    first = ortc.get_pipe_consumer_rtp_parameters(example_consumable())
    first["headerExtensions"][0]["parameters"]["x"] = 1
    second = ortc.get_pipe_consumer_rtp_parameters(example_consumable())
    assert second["headerExtensions"][0]["parameters"] == {}


# -- match_codecs and is_rtx_codec ---------------------------------------------------------


def test_match_codecs_compares_mime_type_case_insensitively_and_clock_rate_and_channels() -> None:
    assert ortc.match_codecs(vp8(), vp8() | {"mimeType": "VIDEO/vp8"})
    assert not ortc.match_codecs(vp8(), vp8() | {"clockRate": 48000})
    assert not ortc.match_codecs(opus(), opus() | {"channels": 1})
    assert not ortc.match_codecs(opus(), opus() | {"mimeType": "audio/ISAC"})


def test_non_strict_h264_matching_ignores_profile_and_packetization_mode() -> None:
    assert ortc.match_codecs(h264("42e01f", 1), h264("640032", 0))
    assert not ortc.match_codecs(h264("42e01f", 1), h264("640032", 0), strict=True)


def test_strict_h264_matching_without_modify_leaves_parameters_alone() -> None:
    a, b = h264("42e034", 1), h264("42e01f", 1)
    assert ortc.match_codecs(a, b, strict=True)
    assert a["parameters"]["profile-level-id"] == "42e034"
    assert ortc.match_codecs(a, b, strict=True, modify=True)
    assert a["parameters"]["profile-level-id"] == "42e01f"
    assert b["parameters"]["profile-level-id"] == "42e01f"


def test_strict_h264_matching_treats_absent_packetization_mode_as_zero() -> None:
    assert ortc.match_codecs(h264("42e01f", None), h264("42e01f", 0), strict=True)
    assert not ortc.match_codecs(h264("42e01f", None), h264("42e01f", 1), strict=True)


def test_strict_vp9_matching_treats_absent_profile_id_as_zero() -> None:
    vp9 = {"kind": "video", "mimeType": "video/VP9", "clockRate": 90000}
    assert ortc.match_codecs(vp9 | {"parameters": {"profile-id": 0}}, vp9, strict=True)
    assert not ortc.match_codecs(vp9 | {"parameters": {"profile-id": 2}}, vp9, strict=True)
    assert ortc.match_codecs(vp9 | {"parameters": {"profile-id": 2}}, vp9)
    # Strict equality, as in JavaScript: "2" is not 2.
    assert not ortc.match_codecs(
        vp9 | {"parameters": {"profile-id": "2"}},
        vp9 | {"parameters": {"profile-id": 2}},
        strict=True,
    )


@pytest.mark.parametrize(
    ("mime_type", "is_rtx"),
    [
        ("video/rtx", True),
        ("audio/RTX", True),
        ("video/VP8", False),
        ("/rtx", False),
        ("video/rtx\n", False),
    ],
)
def test_is_rtx_codec(mime_type: str, is_rtx: bool) -> None:
    assert ortc.is_rtx_codec({"mimeType": mime_type}) is is_rtx


# -- generate_random_number -----------------------------------------------------------------


def test_random_number_bounds_are_mediasoups(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def randbelow(n: int) -> int:
        seen.append(n)
        return n - 1 if len(seen) > 1 else 0

    monkeypatch.setattr(ortc.secrets, "randbelow", randbelow)
    assert ortc.generate_random_number() == 100_000_000
    assert ortc.generate_random_number() == 999_999_998
    assert seen == [899_999_999, 899_999_999]


# -- differential check against mediasoup's own ortc.js -----------------------------------

NODE_RUNNER = r"""
const lib = process.env.MEDIASOUP_NODE_LIB;
const ortc = require(`${lib}/ortc.js`);
const utils = require(`${lib}/utils.js`);

// Same deterministic sequence as the Python side, so SSRCs compare too.
let nextRandom = 0;
utils.generateRandomNumber = () => {
  const value = nextRandom;
  nextRandom += __STEP__;
  return value;
};

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

function attempt(fn) {
  try {
    const value = fn();
    return { ok: value === undefined ? null : clone(value) };
  } catch (error) {
    return { error: error.name, message: error.message };
  }
}

const ops = {
  router: ({ mediaCodecs }) => ({
    result: attempt(() => ortc.generateRouterRtpCapabilities(mediaCodecs)),
    mediaCodecs: clone(mediaCodecs),
  }),
  validateCaps: ({ caps }) =>
    attempt(() => {
      ortc.validateAndNormalizeRtpCapabilities(caps);
      return caps;
    }),
  validateParams: ({ params }) =>
    attempt(() => {
      ortc.validateAndNormalizeRtpParameters(params);
      return params;
    }),
  validateSctp: ({ params }) =>
    attempt(() => {
      ortc.validateAndNormalizeSctpStreamParameters(params);
      return params;
    }),
  flow: ({ mediaCodecs, kind, params, remoteCaps, enableRtx, pipeEnableRtx }) => {
    const out = {};
    const routerCaps = ortc.generateRouterRtpCapabilities(mediaCodecs);
    out.validate = attempt(() => {
      ortc.validateAndNormalizeRtpParameters(params);
      return params;
    });
    if (out.validate.error) return out;
    out.mapping = attempt(() => ortc.getProducerRtpParametersMapping(params, routerCaps));
    if (out.mapping.error) return out;
    out.producerParams = clone(params);
    out.consumable = attempt(() =>
      ortc.getConsumableRtpParameters(kind, params, routerCaps, out.mapping.ok));
    const consumable = out.consumable.ok;
    out.pipeTransportConsumer = attempt(() =>
      ortc.getPipeConsumerRtpParameters({
        consumableRtpParameters: consumable,
        enableRtx: pipeEnableRtx,
      }));
    out.remoteCaps = attempt(() => {
      ortc.validateAndNormalizeRtpCapabilities(remoteCaps);
      return remoteCaps;
    });
    if (out.remoteCaps.error) return out;
    out.canConsume = attempt(() => ortc.canConsume(consumable, clone(remoteCaps)));
    for (const pipe of [false, true]) {
      out[pipe ? 'pipeConsumer' : 'consumer'] = attempt(() =>
        ortc.getConsumerRtpParameters({
          consumableRtpParameters: consumable,
          remoteRtpCapabilities: clone(remoteCaps),
          pipe,
          enableRtx,
        }));
    }
    out.consumableAfter = clone(consumable);
    return out;
  },
};

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(({ op, args }) => {
    nextRandom = __BASE__;
    return ops[op](args);
  });
  process.stdout.write(JSON.stringify(results));
});
""".replace("__STEP__", str(RANDOM_STEP)).replace("__BASE__", str(RANDOM_BASE))


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        value = fn()
    except UnsupportedError as error:
        return {"error": "UnsupportedError", "message": str(error)}
    except TypeError as error:
        return {"error": "TypeError", "message": str(error)}
    except MediasoupError as error:
        return {"error": "Error", "message": str(error)}
    return {"ok": copy.deepcopy(value)}


def _returning(fn: Callable[[Any], None], value: Any) -> Callable[[], Any]:
    def run() -> Any:
        fn(value)
        return value

    return run


def _python_router(args: dict[str, Any]) -> dict[str, Any]:
    media_codecs = args["mediaCodecs"]
    result = _attempt(lambda: ortc.generate_router_rtp_capabilities(media_codecs))
    return {"result": result, "mediaCodecs": media_codecs}


def _python_flow(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = args["params"]
    router_caps = ortc.generate_router_rtp_capabilities(args["mediaCodecs"])
    out["validate"] = _attempt(_returning(ortc.validate_and_normalize_rtp_parameters, params))
    if "error" in out["validate"]:
        return out
    out["mapping"] = _attempt(lambda: ortc.get_producer_rtp_parameters_mapping(params, router_caps))
    if "error" in out["mapping"]:
        return out
    out["producerParams"] = copy.deepcopy(params)
    out["consumable"] = _attempt(
        lambda: ortc.get_consumable_rtp_parameters(
            args["kind"], params, router_caps, out["mapping"]["ok"]
        )
    )
    consumable = out["consumable"]["ok"]
    out["pipeTransportConsumer"] = _attempt(
        lambda: ortc.get_pipe_consumer_rtp_parameters(consumable, enable_rtx=args["pipeEnableRtx"])
    )
    remote_caps = args["remoteCaps"]
    out["remoteCaps"] = _attempt(
        _returning(ortc.validate_and_normalize_rtp_capabilities, remote_caps)
    )
    if "error" in out["remoteCaps"]:
        return out
    out["canConsume"] = _attempt(lambda: ortc.can_consume(consumable, copy.deepcopy(remote_caps)))
    for pipe in (False, True):
        out["pipeConsumer" if pipe else "consumer"] = _attempt(
            lambda pipe=pipe: ortc.get_consumer_rtp_parameters(
                consumable, copy.deepcopy(remote_caps), pipe=pipe, enable_rtx=args["enableRtx"]
            )
        )
    out["consumableAfter"] = copy.deepcopy(consumable)
    return out


PYTHON_OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "router": _python_router,
    "validateCaps": lambda args: _attempt(
        _returning(ortc.validate_and_normalize_rtp_capabilities, args["caps"])
    ),
    "validateParams": lambda args: _attempt(
        _returning(ortc.validate_and_normalize_rtp_parameters, args["params"])
    ),
    "validateSctp": lambda args: _attempt(
        _returning(ortc.validate_and_normalize_sctp_stream_parameters, args["params"])
    ),
    "flow": _python_flow,
}


def _flow(
    media_codecs: list[dict[str, Any]],
    params: dict[str, Any],
    remote_caps: Any,
    kind: str = "video",
    enable_rtx: bool = True,
    pipe_enable_rtx: bool = False,
) -> dict[str, Any]:
    return {
        "op": "flow",
        "args": {
            "mediaCodecs": media_codecs,
            "kind": kind,
            "params": params,
            "remoteCaps": remote_caps,
            "enableRtx": enable_rtx,
            "pipeEnableRtx": pipe_enable_rtx,
        },
    }


def _strip_kind(codec: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in codec.items() if key != "kind"}


def _differential_cases() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    example_flow_codecs = mediasoup_example_media_codecs()
    cases["router-mediasoup-example"] = {
        "op": "router",
        "args": {
            "mediaCodecs": [
                opus(parameters={"useinbandfec": 1, "foo": "bar"}),
                vp8(preferredPayloadType=125),
                h264("42e01f", None, **{"level-asymmetry-allowed": 1, "foo": "bar"}),
            ]
        },
    }
    cases["router-everything"] = {
        "op": "router",
        "args": {
            "mediaCodecs": [
                opus(),
                {
                    "mimeType": "audio/multiopus",
                    "clockRate": 48000,
                    "channels": 8,
                    "parameters": {"num_streams": 5, "coupled_streams": 3},
                },
                {"mimeType": "audio/PCMU", "clockRate": 8000},
                {"mimeType": "audio/PCMA", "clockRate": 8000, "preferredPayloadType": 120},
                {"mimeType": "audio/G722", "clockRate": 8000},
                {"mimeType": "audio/CN", "clockRate": 32000},
                {"mimeType": "audio/telephone-event", "clockRate": 48000},
                {"mimeType": "audio/SILK", "clockRate": 12000},
                {"mimeType": "audio/iLBC", "clockRate": 8000},
                {"mimeType": "audio/ISAC", "clockRate": 16000},
                {"mimeType": "VIDEO/vp9", "clockRate": 90000, "parameters": {"profile-id": 2}},
                h264("42e01f", 1),
                h264("640032", 1, **{"level-asymmetry-allowed": 0}),
                {"mimeType": "video/AV1", "clockRate": 90000, "rtcpFeedback": [{"type": "x"}]},
            ]
        },
    }
    cases["router-forced-static-collision"] = {
        "op": "router",
        "args": {
            "mediaCodecs": [
                {"mimeType": "audio/PCMU", "clockRate": 8000},
                vp8(preferredPayloadType=0),
            ]
        },
    }
    cases["router-all-dynamic-payload-types"] = {
        "op": "router",
        "args": {"mediaCodecs": [vp8() for _ in range(16)]},
    }
    cases["router-out-of-payload-types"] = {
        "op": "router",
        "args": {"mediaCodecs": [vp8() for _ in range(17)]},
    }
    cases["router-unsupported"] = {"op": "router", "args": {"mediaCodecs": [opus(channels=1)]}}
    cases["router-unsupported-multiopus"] = {
        "op": "router",
        "args": {
            "mediaCodecs": [
                {
                    "mimeType": "audio/multiopus",
                    "clockRate": 48000,
                    "channels": 4,
                    "parameters": {"num_streams": 2},
                }
            ]
        },
    }
    cases["router-duplicated-forced"] = {
        "op": "router",
        "args": {"mediaCodecs": [opus(), vp8(preferredPayloadType=100)]},
    }
    cases["router-duplicated-rtx"] = {
        "op": "router",
        "args": {"mediaCodecs": [vp8(), vp8(preferredPayloadType=101)]},
    }
    cases["router-not-a-list"] = {"op": "router", "args": {"mediaCodecs": "video/VP8"}}
    cases["router-bad-codec"] = {
        "op": "router",
        "args": {"mediaCodecs": [{"mimeType": "video/VP8"}]},
    }

    for name, caps in {
        "empty": {},
        "normalizes": {
            "codecs": [
                {
                    "mimeType": "Audio/opus",
                    "kind": "video",
                    "clockRate": 48000,
                    "parameters": "x",
                    "rtcpFeedback": [{"type": "nack", "parameter": 5}],
                },
                {
                    "mimeType": "video/VP8",
                    "clockRate": 90000,
                    "channels": 2,
                    "preferredPayloadType": 0,
                },
            ],
            "headerExtensions": [
                {
                    "kind": "video",
                    "uri": MID_URI,
                    "preferredId": 1,
                    "preferredEncrypt": False,
                    "direction": "",
                }
            ],
        },
        "codecs-not-list": {"codecs": {}},
        "codec-not-object": {"codecs": [1]},
        "bad-mime": {"codecs": [{"mimeType": "video", "clockRate": 1}]},
        "bad-apt": {
            "codecs": [{"mimeType": "video/rtx", "clockRate": 1, "parameters": {"apt": "1"}}]
        },
        "null-parameter": {
            "codecs": [{"mimeType": "video/VP8", "clockRate": 1, "parameters": {"a": None}}]
        },
        "bool-parameter": {
            "codecs": [{"mimeType": "video/VP8", "clockRate": 1, "parameters": {"a": False}}]
        },
        "bool-payload-type": {
            "codecs": [{"mimeType": "video/VP8", "clockRate": 1, "preferredPayloadType": True}]
        },
        "bad-fb": {
            "codecs": [{"mimeType": "video/VP8", "clockRate": 1, "rtcpFeedback": [{"type": ""}]}]
        },
        "bad-ext-kind": {"headerExtensions": [{"kind": "", "uri": MID_URI, "preferredId": 1}]},
        "bad-ext-encrypt": {
            "headerExtensions": [
                {"kind": "audio", "uri": MID_URI, "preferredId": 1, "preferredEncrypt": "x"}
            ]
        },
        "string-caps": "caps",
    }.items():
        cases[f"validate-caps-{name}"] = {"op": "validateCaps", "args": {"caps": caps}}

    for name, params in {
        "full": mediasoup_example_producer_parameters() | {"mid": "0", "msid": "a b"},
        "falsy-fields": {
            "codecs": [],
            "mid": "",
            "rtcp": {"cname": "", "reducedSize": 0},
            "encodings": [{"ssrc": 0, "rtx": None, "dtx": 1}],
        },
        "no-codecs": {},
        "bad-ssrc": {"codecs": [], "encodings": [{"ssrc": "1"}]},
        "bad-rtx": {"codecs": [], "encodings": [{"rtx": {"ssrc": None}}]},
        "bad-ext-param": {
            "codecs": [],
            "headerExtensions": [{"uri": MID_URI, "id": 1, "parameters": {"a": [1]}}],
        },
        "bad-rtcp": {"codecs": [], "rtcp": 5},
        "bad-msid": {"codecs": [], "msid": 5},
    }.items():
        cases[f"validate-params-{name}"] = {"op": "validateParams", "args": {"params": params}}

    for name, params in {
        "reliable": {"streamId": 3},
        "lifetime": {"streamId": 3, "maxPacketLifeTime": 10},
        "both": {"streamId": 3, "maxPacketLifeTime": 10, "maxRetransmits": 1},
        "ordered-partial": {"streamId": 3, "ordered": True, "maxRetransmits": 1},
        "no-stream": {"ordered": True},
    }.items():
        cases[f"validate-sctp-{name}"] = {"op": "validateSctp", "args": {"params": params}}

    cases["flow-mediasoup-example"] = _flow(
        example_flow_codecs,
        mediasoup_example_producer_parameters() | {"msid": "s t"},
        mediasoup_example_remote_capabilities(),
    )
    cases["flow-mediasoup-example-pipe-rtx"] = _flow(
        example_flow_codecs,
        mediasoup_example_producer_parameters(),
        mediasoup_example_remote_capabilities(),
        enable_rtx=False,
        pipe_enable_rtx=True,
    )
    vp8_params = {
        "mid": "1",
        "codecs": [
            {
                "mimeType": "video/VP8",
                "payloadType": 96,
                "clockRate": 90000,
                "rtcpFeedback": [{"type": "nack"}],
            },
            {
                "mimeType": "video/rtx",
                "payloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 96},
            },
        ],
        "headerExtensions": [
            {"uri": MID_URI, "id": 1},
            {"uri": ABS_CAPTURE_TIME_URI, "id": 13},
            {"uri": DEPENDENCY_DESCRIPTOR_URI, "id": 12},
        ],
        "encodings": [
            {"rid": "r0", "maxBitrate": 100000, "scalabilityMode": "L1T3"},
            {"rid": "r1", "maxBitrate": 300000},
            {"rid": "r2", "maxBitrate": 900000, "dtx": True},
        ],
        "rtcp": {"cname": "vp8"},
    }
    for name, uris in {
        "twcc": (MID_URI, ABS_SEND_TIME_URI, TRANSPORT_WIDE_CC_URI, VIDEO_ORIENTATION_URI),
        "remb": (MID_URI, ABS_SEND_TIME_URI),
        "no-bwe": (VIDEO_ORIENTATION_URI,),
    }.items():
        cases[f"flow-vp8-simulcast-{name}"] = _flow(
            [opus(), vp8()], vp8_params, browser_capabilities(*uris)
        )
    cases["flow-vp8-no-rtx"] = _flow(
        [vp8()], vp8_params, browser_capabilities(TRANSPORT_WIDE_CC_URI), enable_rtx=False
    )
    no_remote_rtx = browser_capabilities(ABS_SEND_TIME_URI)
    del no_remote_rtx["codecs"][2]
    cases["flow-vp8-no-remote-rtx"] = _flow(
        [vp8()], vp8_params, no_remote_rtx, pipe_enable_rtx=True
    )
    cases["flow-vp8-only-remote-rtx"] = _flow(
        [vp8()],
        vp8_params,
        {"codecs": [{"kind": "video", "mimeType": "video/rtx", "clockRate": 90000}]},
    )
    cases["flow-remote-caps-invalid"] = _flow(
        [vp8()], vp8_params, {"codecs": [{"mimeType": "video/VP8"}]}
    )
    cases["flow-vp8-unsupported"] = _flow(
        [opus(), h264("640032", 1)], vp8_params, browser_capabilities()
    )
    cases["flow-rtx-without-media"] = _flow(
        [vp8()],
        {
            "codecs": [
                vp8_params["codecs"][0],
                {**vp8_params["codecs"][1], "parameters": {"apt": 95}},
            ]
        },
        browser_capabilities(),
    )
    cases["flow-audio-rtx"] = _flow(
        [opus()],
        {
            "codecs": [
                _strip_kind(opus()) | {"payloadType": 111},
                {
                    "mimeType": "audio/rtx",
                    "payloadType": 112,
                    "clockRate": 48000,
                    "parameters": {"apt": 111},
                },
            ]
        },
        browser_capabilities(),
        kind="audio",
    )
    opus_params = {
        "codecs": [
            _strip_kind(opus())
            | {
                "payloadType": 111,
                "parameters": {"useinbandfec": 1},
                "rtcpFeedback": [{"type": "transport-cc"}],
            }
        ],
        "headerExtensions": [{"uri": ABS_CAPTURE_TIME_URI, "id": 7}, {"uri": MID_URI, "id": 1}],
        "encodings": [{"ssrc": 1111, "dtx": True}],
        "rtcp": {"cname": "audio", "reducedSize": False},
    }
    audio_caps = {
        "codecs": [opus() | {"rtcpFeedback": [{"type": "nack"}, {"type": "transport-cc"}]}],
        "headerExtensions": [
            remote_extension("audio", MID_URI, 1),
            remote_extension("audio", ABS_CAPTURE_TIME_URI, 10),
            remote_extension("audio", TRANSPORT_WIDE_CC_URI, 5),
            remote_extension("audio", "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6),
        ],
    }
    cases["flow-opus"] = _flow([opus()], opus_params, audio_caps, kind="audio", enable_rtx=False)
    cases["flow-opus-nack"] = _flow(
        [opus()], opus_params, audio_caps, kind="audio", enable_rtx=True
    )

    def h264_params(
        profile_level_id: str | None, mode: int | None = 1, **extra: Any
    ) -> dict[str, Any]:
        codec = _strip_kind(h264(profile_level_id, mode, **extra))
        return {
            "codecs": [codec | {"payloadType": 125}],
            "encodings": [{"ssrc": 5, "scalabilityMode": "L1T2"}],
        }

    h264_router = [h264("42e01f", 1), h264("640032", 1), h264("42e01f", 0)]
    for name, (params, remote) in {
        "level-capped": (h264_params("42e034"), [h264("42e01f", 1)]),
        "level-asymmetric": (
            h264_params("42e034", **{"level-asymmetry-allowed": 1}),
            [h264("42e00a", 1)],
        ),
        "absent-profile": (h264_params(None), [h264(None, 1)]),
        "high": (h264_params("64001f"), [h264("640032", 1), h264("42e01f", 1)]),
        "constrained-high-unsupported": (h264_params("640c1f"), [h264("640c1f", 1)]),
        "high-vs-baseline-consumer": (h264_params("64001f"), [h264("42e01f", 1)]),
        "mode-0": (h264_params("42e01f", 0), [h264("42e01f", 1), h264("42e01f", None)]),
        "mode-mismatch-consumer": (h264_params("42e01f", 1), [h264("42e01f", 0)]),
        "main-unsupported": (h264_params("4d001f"), [h264("4d001f", 1)]),
        "unreadable": (h264_params("4200zz"), [h264("42e01f", 1)]),
    }.items():
        cases[f"flow-h264-{name}"] = _flow(h264_router, params, {"codecs": remote})

    vp9 = {"kind": "video", "mimeType": "video/VP9", "clockRate": 90000}
    cases["flow-vp9-profile-mismatch"] = _flow(
        [vp9 | {"parameters": {"profile-id": 2}}, vp9],
        {
            "codecs": [_strip_kind(vp9) | {"payloadType": 98, "parameters": {"profile-id": 2}}],
            "encodings": [{"ssrc": 7, "scalabilityMode": "L3T3_KEY"}],
        },
        {"codecs": [vp9, vp9 | {"parameters": {"profile-id": "2"}}]},
    )
    cases["flow-vp9-svc"] = _flow(
        [vp9],
        {
            "codecs": [_strip_kind(vp9) | {"payloadType": 98}],
            "encodings": [{"ssrc": 7, "scalabilityMode": "L3T3_KEY", "maxBitrate": 1}],
        },
        {"codecs": [vp9 | {"parameters": {"profile-id": 0}}]},
    )
    return cases


DIFFERENTIAL_CASES = _differential_cases()


@pytest.fixture(scope="module")
def mediasoup_node_lib() -> Path:
    """mediasoup's own node/lib with its dependencies installed (prepared if missing)."""
    lib = CONFORMANCE_WORK / "mediasoup" / "node" / "lib"
    if not (lib / "ortc.js").exists():
        prepare = subprocess.run(
            ["bash", str(RUN_SH), "--prepare-only"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert prepare.returncode == 0, prepare.stderr[-4000:]
    assert (lib / "ortc.js").exists(), f"mediasoup's ortc.js not found under {lib}"
    return lib


@pytest.fixture(scope="module")
def node_results(mediasoup_node_lib: Path) -> dict[str, Any]:
    names = list(DIFFERENTIAL_CASES)
    run = subprocess.run(
        ["node", "-e", NODE_RUNNER],
        input=json.dumps([DIFFERENTIAL_CASES[name] for name in names]),
        capture_output=True,
        text=True,
        timeout=120,
        env={"MEDIASOUP_NODE_LIB": str(mediasoup_node_lib), "PATH": os.environ["PATH"]},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return dict(zip(names, json.loads(run.stdout), strict=True))


def _python_result(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    counter = itertools.count(RANDOM_BASE, RANDOM_STEP)
    monkeypatch.setattr(ortc, "generate_random_number", lambda: next(counter))
    # Through JSON, like the Node side: both start from identical plain data.
    args = json.loads(json.dumps(case["args"]))
    return json.loads(json.dumps(PYTHON_OPS[case["op"]](args)))


def _without_messages(result: Any) -> Any:
    """Error messages are worded independently; the error class must still be the same."""
    if isinstance(result, dict):
        return {key: _without_messages(value) for key, value in result.items() if key != "message"}
    if isinstance(result, list):
        return [_without_messages(item) for item in result]
    return result


@pytest.mark.parametrize("case_name", list(DIFFERENTIAL_CASES))
def test_same_result_as_mediasoup_ortc_js(
    case_name: str, node_results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _python_result(DIFFERENTIAL_CASES[case_name], monkeypatch)
    assert _without_messages(python) == _without_messages(node_results[case_name])


def test_differential_cases_cover_successes_and_every_error_class(
    node_results: dict[str, Any],
) -> None:
    """Guards the differential test against comparing only errors (or only successes)."""
    text = json.dumps(node_results)
    for error_class in ("TypeError", "UnsupportedError", '"Error"'):
        assert error_class in text
    flows = [r for name, r in node_results.items() if name.startswith("flow-")]
    assert sum("ok" in r.get("consumer", {}) for r in flows) >= 10
    assert any(r.get("canConsume", {}).get("ok") is False for r in flows)
    assert any("error" in r.get("mapping", {}) for r in flows)


def iter_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """All key paths of a JSON value (used to check that SSRCs really were compared)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{prefix}.{key}"
            yield from iter_paths(item, f"{prefix}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from iter_paths(item, f"{prefix}[]")


def test_differential_results_include_ssrcs(node_results: dict[str, Any]) -> None:
    paths = set(iter_paths(node_results["flow-mediasoup-example"]))
    assert ".consumer.ok.encodings[].rtx.ssrc" in paths
    assert ".pipeConsumer.ok.encodings[].ssrc" in paths
    assert ".mapping.ok.encodings[].mappedSsrc" in paths
    assert (
        node_results["flow-mediasoup-example"]["consumer"]["ok"]["encodings"][0]["ssrc"]
        == RANDOM_BASE + 3 * RANDOM_STEP  # after the mapping's and the pipe consumer's
    )


def test_catalogue_is_mediasoups_supported_rtp_capabilities(mediasoup_node_lib: Path) -> None:
    script = (
        "const m = require(process.env.CAPS);"
        "process.stdout.write(JSON.stringify(m.supportedRtpCapabilities));"
    )
    run = subprocess.run(
        ["node", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "CAPS": str(mediasoup_node_lib / "supportedRtpCapabilities.js"),
            "PATH": os.environ["PATH"],
        },
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    # Exactly as declared, before normalization: same entries, same order, same omissions.
    assert supported_rtp_capabilities() == json.loads(run.stdout)
