"""Edge conversions: Struct numbers, DTLS normalisation, the V1 codec check."""

from __future__ import annotations

import pytest

from control_api.rtp import (
    can_receive,
    check_rtp_capabilities,
    complete_capabilities,
    dict_to_struct,
    normalise_dtls,
    restrict_to,
    struct_to_dict,
)

FP = ":".join(["ab"] * 32)
VP8 = {
    "mimeType": "video/VP8",
    "clockRate": 90000,
    "payloadType": 101,
    "rtcpFeedback": [
        {"type": "nack"},
        {"type": "nack", "parameter": "pli"},
        {"type": "transport-cc"},
    ],
}
RTX = {"mimeType": "video/rtx", "clockRate": 90000, "payloadType": 102, "parameters": {"apt": 101}}
H264 = {
    "mimeType": "video/H264",
    "clockRate": 90000,
    "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
}


def test_struct_round_trip_keeps_ints() -> None:
    value = {
        "payloadType": 101,
        "ssrc": 3_000_000_000,
        "ratio": 1.5,
        "nested": [{"x": 1, "ok": True, "none": None}],
        "s": "v",
    }
    assert struct_to_dict(dict_to_struct(value)) == value
    assert isinstance(struct_to_dict(dict_to_struct(value))["payloadType"], int)


def test_dtls_fingerprints_are_normalised() -> None:
    out = normalise_dtls(
        {"role": "client", "fingerprints": [{"algorithm": "SHA-256", "value": FP}]}
    )
    assert out == {
        "role": "client",
        "fingerprints": [{"algorithm": "sha-256", "value": FP.upper()}],
    }
    assert (
        normalise_dtls({"fingerprints": [{"algorithm": "sha-1", "value": FP[:59]}]})["role"]
        == "auto"
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"fingerprints": []},
        {"fingerprints": "x"},
        {"role": "boss", "fingerprints": [{"algorithm": "sha-256", "value": FP}]},
        {"fingerprints": [{"algorithm": "md5", "value": FP}]},
        {"fingerprints": [{"algorithm": "sha-256", "value": "zz"}]},
        {"fingerprints": ["x"]},
    ],
)
def test_bad_dtls_is_refused(params: dict) -> None:
    with pytest.raises(ValueError, match="dtls_parameters"):
        normalise_dtls(params)


def test_capability_shape_check() -> None:
    check_rtp_capabilities({"codecs": []})
    check_rtp_capabilities({"codecs": [VP8], "headerExtensions": []})
    for bad in (
        {},
        {"codecs": {}},
        {"codecs": [{"clockRate": 1}]},
        {"codecs": [{"mimeType": "video/VP8"}]},
        {"codecs": [], "fecMechanisms": {}},
    ):
        with pytest.raises(ValueError, match="rtp_capabilities"):
            check_rtp_capabilities(bad)


def test_complete_capabilities_fills_empty_lists() -> None:
    assert complete_capabilities({"codecs": [VP8]}) == {
        "codecs": [VP8],
        "headerExtensions": [],
        "fecMechanisms": [],
    }


def test_can_receive_matches_the_media_codec() -> None:
    params = {"codecs": [VP8, RTX]}
    assert can_receive(params, {"codecs": [VP8]})
    assert not can_receive(params, {"codecs": [H264]})
    assert not can_receive({"codecs": [RTX]}, {"codecs": [VP8]})
    h264 = {"codecs": [H264]}
    assert can_receive(h264, {"codecs": [H264]})
    mode0 = {**H264, "parameters": {"packetization-mode": 0, "profile-level-id": "42e01f"}}
    assert not can_receive(h264, {"codecs": [mode0]})
    high = {**H264, "parameters": {"packetization-mode": 1, "profile-level-id": "640032"}}
    assert not can_receive(h264, {"codecs": [high]})


def test_restrict_to_drops_what_the_viewer_lacks() -> None:
    params = {
        "codecs": [VP8, RTX],
        "headerExtensions": [{"uri": "urn:a", "id": 1}, {"uri": "urn:b", "id": 2}],
        "encodings": [{"ssrc": 1}],
    }
    caps = {
        "codecs": [{**VP8, "rtcpFeedback": [{"type": "nack"}]}],
        "headerExtensions": [{"uri": "urn:b"}],
    }
    out = restrict_to(params, caps)
    assert out["headerExtensions"] == [{"uri": "urn:b", "id": 2}]
    assert out["codecs"][0]["rtcpFeedback"] == [{"type": "nack"}]
    assert out["encodings"] == [{"ssrc": 1}]
