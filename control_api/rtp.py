"""RTP/DTLS structures at the edge: Struct conversion, DTLS normalisation, codec matching.

Media structures reach us from nodes as `google.protobuf.Struct` (numbers are
doubles there) and must reach mediasoup-client unchanged in mediasoup's JSON
shape, so integral numbers are turned back into ints. The control API never
imports the media node's ORTC code (dependency rule); the V1 `consume`
check below is the small subset it needs: does the viewer decode the codec
the consumer sends.
"""

from __future__ import annotations

import math
import re
from typing import Any

from google.protobuf import json_format, struct_pb2

FINGERPRINT_ALGORITHMS = ("sha-1", "sha-224", "sha-256", "sha-384", "sha-512")
DTLS_ROLES = ("auto", "client", "server")
_FINGERPRINT_VALUE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){15,63}$")


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as mediasoup JSON (`101.0` back to `101`)."""
    return _ints(json_format.MessageToDict(message))


def dict_to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def normalise_dtls(params: dict[str, Any]) -> dict[str, Any]:
    """Validated DTLS parameters with algorithms lower-case and fingerprints upper-case.

    Browsers print fingerprints in either case; mediasoup compares them as
    given, so we normalise once here. Raises ValueError naming the bad field.
    """
    role = params.get("role", "auto")
    if role not in DTLS_ROLES:
        raise ValueError(f"dtls_parameters.role must be one of {', '.join(DTLS_ROLES)}")
    fingerprints = params.get("fingerprints")
    if not isinstance(fingerprints, list) or not fingerprints:
        raise ValueError("dtls_parameters.fingerprints must be a non-empty list")
    normalised = []
    for i, fp in enumerate(fingerprints):
        if not isinstance(fp, dict):
            raise ValueError(f"dtls_parameters.fingerprints[{i}] must be an object")
        algorithm = str(fp.get("algorithm", "")).lower()
        value = str(fp.get("value", "")).upper()
        if algorithm not in FINGERPRINT_ALGORITHMS:
            raise ValueError(f"dtls_parameters.fingerprints[{i}].algorithm is not supported")
        if not _FINGERPRINT_VALUE.match(value):
            raise ValueError(f"dtls_parameters.fingerprints[{i}].value is not a fingerprint")
        normalised.append({"algorithm": algorithm, "value": value})
    return {"role": role, "fingerprints": normalised}


MAX_DEPTH = 16


def _sane(value: Any, limit: int) -> bool:
    """Bounded nesting and numbers a protobuf double carries exactly and JSON can print."""
    if limit < 0:
        return False
    if isinstance(value, dict):
        return all(_sane(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_sane(v, limit - 1) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= 2**53
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_rtp_capabilities(caps: dict[str, Any]) -> None:
    """Shape check of a viewer's capabilities (malformed → 422 before any lookup).

    Also bounds nesting: the capabilities travel on as a protobuf Struct, whose
    encoder refuses deep nesting, and a refusal there must be a 422, not a 500.
    """
    if not _sane(caps, MAX_DEPTH):
        raise ValueError(
            f"rtp_capabilities nests deeper than {MAX_DEPTH} levels or holds a number out of range"
        )
    codecs = caps.get("codecs")
    if not isinstance(codecs, list):
        raise ValueError("rtp_capabilities.codecs must be a list")
    for i, codec in enumerate(codecs):
        if not isinstance(codec, dict) or not isinstance(codec.get("mimeType"), str):
            raise ValueError(f"rtp_capabilities.codecs[{i}].mimeType is required")
        if not _is_int(codec.get("clockRate")) or codec["clockRate"] <= 0:
            raise ValueError(f"rtp_capabilities.codecs[{i}].clockRate must be a positive integer")
        if "parameters" in codec and not isinstance(codec["parameters"], dict):
            raise ValueError(f"rtp_capabilities.codecs[{i}].parameters must be an object")
        if "rtcpFeedback" in codec and not (
            isinstance(codec["rtcpFeedback"], list)
            and all(isinstance(f, dict) for f in codec["rtcpFeedback"])
        ):
            raise ValueError(f"rtp_capabilities.codecs[{i}].rtcpFeedback must be a list of objects")
    for key in ("headerExtensions", "fecMechanisms"):
        if key in caps and not isinstance(caps[key], list):
            raise ValueError(f"rtp_capabilities.{key} must be a list")


def complete_capabilities(caps: dict[str, Any]) -> dict[str, Any]:
    """Router capabilities always carry codecs, headerExtensions and fecMechanisms."""
    return {
        **caps,
        "codecs": caps.get("codecs", []),
        "headerExtensions": caps.get("headerExtensions", []),
        "fecMechanisms": caps.get("fecMechanisms", []),
    }


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _params(codec: dict[str, Any]) -> dict[str, Any]:
    params = codec.get("parameters")
    return params if isinstance(params, dict) else {}


def _h264_profile(params: dict[str, Any]) -> str:
    # profile_idc + profile-iop decide decodability; level does not (asymmetry allowed).
    return str(params.get("profile-level-id", "42001f"))[:4].lower()


def _codec_matches(sent: dict[str, Any], cap: dict[str, Any]) -> bool:
    mime = str(sent.get("mimeType", "")).lower()
    if mime != str(cap.get("mimeType", "")).lower():
        return False
    if _int(sent.get("clockRate"), 0) != _int(cap.get("clockRate"), -1):
        return False
    if mime.startswith("audio/") and _int(sent.get("channels"), 1) != _int(cap.get("channels"), 1):
        return False
    sp, cp = _params(sent), _params(cap)
    if mime == "video/h264":
        if _int(sp.get("packetization-mode"), 0) != _int(cp.get("packetization-mode"), 0):
            return False
        return _h264_profile(sp)[:2] == _h264_profile(cp)[:2]
    if mime == "video/vp9":
        return _int(sp.get("profile-id"), 0) == _int(cp.get("profile-id"), 0)
    return True


def can_receive(rtp_parameters: dict[str, Any], caps: dict[str, Any]) -> bool:
    """True if the viewer's capabilities decode the media codec of `rtp_parameters`."""
    media = [
        c
        for c in rtp_parameters.get("codecs", [])
        if not str(c.get("mimeType", "")).lower().endswith(("/rtx", "/red", "/ulpfec"))
    ]
    if not media:
        return False
    return any(_codec_matches(media[0], cap) for cap in caps.get("codecs", []))


def restrict_to(rtp_parameters: dict[str, Any], caps: dict[str, Any]) -> dict[str, Any]:
    """Consumer parameters without the header extensions / feedback the viewer lacks.

    What mediasoup's own consume would have negotiated with the viewer's
    capabilities; mediasoup-client then builds an SDP the viewer accepts.
    """
    uris = {e.get("uri") for e in caps.get("headerExtensions", []) if isinstance(e, dict)}
    feedback: dict[str, set[tuple[str, str]]] = {}
    for cap in caps.get("codecs", []):
        fb = {(f.get("type", ""), f.get("parameter", "")) for f in cap.get("rtcpFeedback", [])}
        feedback.setdefault(str(cap.get("mimeType", "")).lower(), set()).update(fb)
    codecs = []
    for codec in rtp_parameters.get("codecs", []):
        allowed = feedback.get(str(codec.get("mimeType", "")).lower(), set())
        codecs.append(
            {
                **codec,
                "rtcpFeedback": [
                    f
                    for f in codec.get("rtcpFeedback", [])
                    if (f.get("type", ""), f.get("parameter", "")) in allowed
                ],
            }
        )
    return {
        **rtp_parameters,
        "codecs": codecs,
        "headerExtensions": [
            e for e in rtp_parameters.get("headerExtensions", []) if e.get("uri") in uris
        ],
    }
