"""mediasoup's ORTC logic (node/lib/ortc.js of 3.27.1): RTP negotiation done on our side.

The worker never negotiates: it is told which payload types and SSRCs a
producer sends (the RTP mapping), and which codecs, header extensions and
SSRCs each consumer must send. All of that is decided here, from the router's
capabilities, the producer's RTP parameters and each consumer's remote
capabilities. Getting it exactly like mediasoup matters because browsers run
mediasoup-client, which expects mediasoup's payload types, header extension
ids and feedback reductions.

Structures are the plain camelCase dicts of ``rtp_parameters``. Like
mediasoup, the ``validate_and_normalize_*`` functions edit their argument in
place (filling defaults), ``generate_router_rtp_capabilities`` normalizes the
given media codecs in place and ``get_producer_rtp_parameters_mapping``
rewrites the producer's H.264 ``profile-level-id`` to the negotiated one;
everything else returns new structures and leaves its inputs alone.

JavaScript semantics are kept where they decide the outcome: optional fields
are tested for JavaScript truthiness (``0`` and ``""`` count as unset, ``[]``
and ``{}`` do not), a number is an int or float but never a bool, and inputs
behave as the same JSON would in mediasoup. Fields mediasoup leaves
``undefined`` in its results are left out here rather than set to None.

The other functions expect normalized structures, as mediasoup's do; where
one still lacks an optional list or dict, it reads as its normalized default.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import secrets
from collections.abc import Mapping
from typing import Any, Final, TypeAlias, TypedDict, cast

from .errors import MediasoupError, MediasoupTypeError, UnsupportedError
from .h264_profile import generate_profile_level_id_string_for_answer, is_same_profile
from .rtp_capabilities import (
    ABS_CAPTURE_TIME_URI,
    ABS_SEND_TIME_URI,
    DEPENDENCY_DESCRIPTOR_URI,
    MID_URI,
    TRANSPORT_WIDE_CC_URI,
    supported_rtp_capabilities,
)
from .rtp_parameters import (
    MediaKind,
    RtcpFeedback,
    RtpCapabilities,
    RtpCodecCapability,
    RtpCodecMapping,
    RtpCodecParameters,
    RtpEncodingMapping,
    RtpEncodingParameters,
    RtpHeaderExtension,
    RtpHeaderExtensionParameters,
    RtpMapping,
    RtpParameters,
)
from .scalability_modes import parse_scalability_mode

__all__ = [
    "DYNAMIC_PAYLOAD_TYPES",
    "SctpStreamParameters",
    "can_consume",
    "generate_random_number",
    "generate_router_rtp_capabilities",
    "get_consumable_rtp_parameters",
    "get_consumer_rtp_parameters",
    "get_pipe_consumer_rtp_parameters",
    "get_producer_rtp_parameters_mapping",
    "is_rtx_codec",
    "match_codecs",
    "validate_and_normalize_rtp_capabilities",
    "validate_and_normalize_rtp_parameters",
    "validate_and_normalize_sctp_stream_parameters",
]

DYNAMIC_PAYLOAD_TYPES: Final[tuple[int, ...]] = (*range(100, 128), *range(96, 100))
"""Payload types a router hands out, in mediasoup's order: 100..127 first, 96..99 last."""

# utils.generateRandomNumber() is crypto.randomInt(100000000, 999999999): upper bound excluded.
_RANDOM_MIN: Final = 100_000_000
_RANDOM_MAX_EXCLUSIVE: Final = 999_999_999

_MIME_TYPE_RE: Final = re.compile(r"(audio|video)/(.+)", re.IGNORECASE)
# JavaScript's /.+\/rtx$/i: "$" is the very end, hence \Z (Python's $ also matches before "\n").
_RTX_MIME_TYPE_RE: Final = re.compile(r".+/rtx\Z", re.IGNORECASE)

_CONSUMABLE_EXTENSION_DIRECTIONS: Final = frozenset({"sendrecv", "sendonly"})
# A pipe consumer feeds another router, not an endpoint: no MID, no bandwidth estimation.
_PIPE_EXCLUDED_EXTENSION_URIS: Final = frozenset(
    {MID_URI, ABS_SEND_TIME_URI, TRANSPORT_WIDE_CC_URI}
)

_Codec: TypeAlias = RtpCodecCapability | RtpCodecParameters


class SctpStreamParameters(TypedDict, total=False):
    """SCTP stream parameters of a data producer or consumer (mediasoup's SctpStreamParameters)."""

    streamId: int
    ordered: bool
    maxPacketLifeTime: int
    maxRetransmits: int


def generate_random_number() -> int:
    """A random SSRC-sized number, as mediasoup's ``utils.generateRandomNumber()``.

    Nine digits (never below 100000000) so that ``ssrc + 1`` for RTX and
    ``base + i`` for simulcast streams stay well inside 32 bits.
    """
    return _RANDOM_MIN + secrets.randbelow(_RANDOM_MAX_EXCLUSIVE - _RANDOM_MIN)


# -- JavaScript semantics ---------------------------------------------------------------


def _is_number(value: object) -> bool:
    """JavaScript ``typeof value === "number"``: bools are not numbers there."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_truthy(value: object) -> bool:
    """JavaScript truthiness, which decides what mediasoup treats as an unset field.

    Unlike Python's, empty lists and dicts are truthy (they are objects).
    """
    if value is None or value is False:
        return False
    if _is_number(value):
        number = cast(float, value)
        return number != 0 and not math.isnan(number)
    if isinstance(value, str):
        return value != ""
    return True


def _drop_undefined(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The dict JSON.stringify would produce: keys whose value is undefined (None) vanish."""
    return {key: value for key, value in fields.items() if value is not None}


# -- validation ---------------------------------------------------------------------------


def validate_and_normalize_rtp_capabilities(caps: RtpCapabilities) -> None:
    """Raises TypeError on malformed capabilities and fills in their defaults, in place.

    Normalizing (rather than only checking) is what lets the rest of the
    module read ``parameters``, ``rtcpFeedback`` or ``direction`` without
    guarding every access.
    """
    _require_object(caps, "caps")
    for codec in _list_field(caps, "codecs", "caps.codecs"):
        _validate_codec_capability(codec)
    for ext in _list_field(caps, "headerExtensions", "caps.headerExtensions"):
        _validate_header_extension(ext)


def validate_and_normalize_rtp_parameters(params: RtpParameters) -> None:
    """Raises TypeError on malformed RTP parameters and fills in their defaults, in place."""
    _require_object(params, "params")
    _reject_set_non_string(params, "mid", "params.mid")
    codecs = params.get("codecs")
    if not isinstance(codecs, list):
        raise MediasoupTypeError("missing params.codecs")
    for codec in codecs:
        _validate_codec_parameters(codec)
    for ext in _list_field(params, "headerExtensions", "params.headerExtensions"):
        _validate_header_extension_parameters(ext)
    for encoding in _list_field(params, "encodings", "params.encodings"):
        _validate_encoding(encoding)
    rtcp: Any = params.get("rtcp")
    if _is_truthy(rtcp) and not isinstance(rtcp, dict):
        raise MediasoupTypeError("params.rtcp is not an object")
    if not _is_truthy(rtcp):
        params["rtcp"] = {}
    _reject_set_non_string(params, "msid", "params.msid")
    _validate_rtcp(params["rtcp"])


def validate_and_normalize_sctp_stream_parameters(params: SctpStreamParameters) -> None:
    """Raises TypeError on malformed SCTP stream parameters and fills in ``ordered``, in place.

    A stream is either reliable and ordered, or partially reliable (a packet
    lifetime or a retransmission limit) and then unordered unless the caller
    insisted otherwise, which is contradictory and rejected.
    """
    _require_object(params, "params")
    if not _is_number(params.get("streamId")):
        raise MediasoupTypeError("missing params.streamId")
    ordered_given = isinstance(params.get("ordered"), bool)
    if not ordered_given:
        params["ordered"] = True
    lifetime = params.get("maxPacketLifeTime")
    retransmits = params.get("maxRetransmits")
    if _is_truthy(lifetime) and not _is_number(lifetime):
        raise MediasoupTypeError("invalid params.maxPacketLifeTime")
    if _is_truthy(retransmits) and not _is_number(retransmits):
        raise MediasoupTypeError("invalid params.maxRetransmits")
    if _is_truthy(lifetime) and _is_truthy(retransmits):
        raise MediasoupTypeError("cannot provide both maxPacketLifeTime and maxRetransmits")
    partially_reliable = _is_truthy(lifetime) or _is_truthy(retransmits)
    if ordered_given and params["ordered"] and partially_reliable:
        raise MediasoupTypeError("cannot be ordered with maxPacketLifeTime or maxRetransmits")
    if not ordered_given and partially_reliable:
        params["ordered"] = False


def _require_object(value: object, name: str) -> None:
    if not isinstance(value, dict):
        raise MediasoupTypeError(f"{name} is not an object")


def _reject_set_non_string(container: Mapping[str, Any], key: str, name: str) -> None:
    value = container.get(key)
    if _is_truthy(value) and not isinstance(value, str):
        raise MediasoupTypeError(f"{name} is not a string")


def _list_field(container: Any, key: str, name: str) -> list[Any]:
    """An optional list field: an unset one becomes [], anything else but a list is an error."""
    value = container.get(key)
    if not _is_truthy(value):
        container[key] = []
        return cast(list[Any], container[key])
    if not isinstance(value, list):
        raise MediasoupTypeError(f"{name} is not an array")
    return value


def _split_mime_type(codec: Any) -> str:
    """Checks the codec's mimeType and returns its media kind ("audio" or "video")."""
    _require_object(codec, "codec")
    mime_type = codec.get("mimeType")
    if not _is_truthy(mime_type) or not isinstance(mime_type, str):
        raise MediasoupTypeError("missing codec.mimeType")
    match = _MIME_TYPE_RE.match(mime_type)
    if match is None:
        raise MediasoupTypeError(f"invalid codec.mimeType {mime_type!r}")
    return match.group(1).lower()


def _validate_codec_capability(codec: Any) -> None:
    kind = _split_mime_type(codec)
    # The mimeType is authoritative: a contradicting "kind" is overwritten, not rejected.
    codec["kind"] = kind
    preferred_pt = codec.get("preferredPayloadType")
    if _is_truthy(preferred_pt) and not _is_number(preferred_pt):
        raise MediasoupTypeError("invalid codec.preferredPayloadType")
    _validate_codec_common(codec, kind)


def _validate_codec_parameters(codec: Any) -> None:
    kind = _split_mime_type(codec)
    if not _is_number(codec.get("payloadType")):
        raise MediasoupTypeError("missing codec.payloadType")
    _validate_codec_common(codec, kind)


def _validate_codec_common(codec: Any, kind: str) -> None:
    """Checks shared by codec capabilities and codec parameters (after their own fields)."""
    if not _is_number(codec.get("clockRate")):
        raise MediasoupTypeError("missing codec.clockRate")
    if kind == "audio":
        if not _is_number(codec.get("channels")):
            codec["channels"] = 1
    else:
        codec.pop("channels", None)
    _normalize_parameter_values(codec, "codec parameter", numeric_keys=frozenset({"apt"}))
    feedback = codec.get("rtcpFeedback")
    if not isinstance(feedback, list):
        feedback = codec["rtcpFeedback"] = []
    for fb in feedback:
        _validate_rtcp_feedback(fb)


def _normalize_parameter_values(
    container: Any, what: str, numeric_keys: frozenset[str] = frozenset()
) -> None:
    """SDP fmtp-like parameters: every value must be a string or a number.

    None is rejected as mediasoup rejects JSON null. (mediasoup turns an
    ``undefined`` value into "", which JSON, and so this driver, never sees.)
    """
    parameters = container.get("parameters")
    if not isinstance(parameters, dict):
        parameters = container["parameters"] = {}
    for key, value in parameters.items():
        if not isinstance(value, str) and not _is_number(value):
            raise MediasoupTypeError(f"invalid {what} [key:{key}, value:{value!r}]")
        if key in numeric_keys and not _is_number(value):
            raise MediasoupTypeError(f"invalid {what} {key} (must be a number)")


def _validate_rtcp_feedback(fb: Any) -> None:
    _require_object(fb, "fb")
    fb_type = fb.get("type")
    if not _is_truthy(fb_type) or not isinstance(fb_type, str):
        raise MediasoupTypeError("missing fb.type")
    parameter = fb.get("parameter")
    if not _is_truthy(parameter) or not isinstance(parameter, str):
        fb["parameter"] = ""


def _validate_header_extension(ext: Any) -> None:
    _require_object(ext, "ext")
    if ext.get("kind") not in ("audio", "video"):
        raise MediasoupTypeError("invalid ext.kind")
    _validate_extension_uri(ext)
    if not _is_number(ext.get("preferredId")):
        raise MediasoupTypeError("missing ext.preferredId")
    _default_falsy_flag(ext, "preferredEncrypt", "ext.preferredEncrypt")
    direction = ext.get("direction")
    if _is_truthy(direction) and not isinstance(direction, str):
        raise MediasoupTypeError("invalid ext.direction")
    if not _is_truthy(direction):
        ext["direction"] = "sendrecv"


def _validate_header_extension_parameters(ext: Any) -> None:
    _require_object(ext, "ext")
    _validate_extension_uri(ext)
    if not _is_number(ext.get("id")):
        raise MediasoupTypeError("missing ext.id")
    _default_falsy_flag(ext, "encrypt", "ext.encrypt")
    _normalize_parameter_values(ext, "header extension parameter")


def _validate_extension_uri(ext: Any) -> None:
    uri = ext.get("uri")
    if not _is_truthy(uri) or not isinstance(uri, str):
        raise MediasoupTypeError("missing ext.uri")


def _default_falsy_flag(container: Any, key: str, name: str) -> None:
    """An optional boolean defaulting to False; a set non-boolean is an error."""
    value = container.get(key)
    if _is_truthy(value) and not isinstance(value, bool):
        raise MediasoupTypeError(f"invalid {name}")
    if not _is_truthy(value):
        container[key] = False


def _validate_encoding(encoding: Any) -> None:
    _require_object(encoding, "encoding")
    ssrc = encoding.get("ssrc")
    if _is_truthy(ssrc) and not _is_number(ssrc):
        raise MediasoupTypeError("invalid encoding.ssrc")
    rid = encoding.get("rid")
    if _is_truthy(rid) and not isinstance(rid, str):
        raise MediasoupTypeError("invalid encoding.rid")
    rtx = encoding.get("rtx")
    if _is_truthy(rtx):
        if not isinstance(rtx, dict):
            raise MediasoupTypeError("invalid encoding.rtx")
        if not _is_number(rtx.get("ssrc")):
            raise MediasoupTypeError("missing encoding.rtx.ssrc")
    # Unlike the other flags, a non-boolean dtx is silently reset rather than rejected.
    if not isinstance(encoding.get("dtx"), bool):
        encoding["dtx"] = False
    mode = encoding.get("scalabilityMode")
    if _is_truthy(mode) and not isinstance(mode, str):
        raise MediasoupTypeError("invalid encoding.scalabilityMode")


def _validate_rtcp(rtcp: Any) -> None:
    _require_object(rtcp, "rtcp")
    cname = rtcp.get("cname")
    if _is_truthy(cname) and not isinstance(cname, str):
        raise MediasoupTypeError("invalid rtcp.cname")
    # mediasoup's "!reducedSize" test: even an explicit False ends up True.
    if rtcp.get("reducedSize") is not True:
        rtcp["reducedSize"] = True


# -- codec matching ---------------------------------------------------------------------


def is_rtx_codec(codec: Mapping[str, Any]) -> bool:
    """Whether the codec is a retransmission (RTX, RFC 4588) codec rather than a media codec."""
    return _RTX_MIME_TYPE_RE.search(_mime_type_of(codec)) is not None


def _mime_type_of(codec: Mapping[str, Any]) -> str:
    """The codec's mimeType, lowercased: mime types compare case-insensitively."""
    mime_type = codec.get("mimeType")
    if not isinstance(mime_type, str):
        raise MediasoupTypeError(f"codec.mimeType is not a string: {mime_type!r}")
    return mime_type.lower()


def match_codecs(
    a_codec: _Codec, b_codec: _Codec, *, strict: bool = False, modify: bool = False
) -> bool:
    """Whether two codecs are the same codec (mime type, clock rate, channels, key parameters).

    Non-strict matching is for picking a catalogue entry for a router codec.
    Strict matching is for real streams: H.264 must also agree on
    packetization-mode and profile, VP9 on profile-id. With ``modify``,
    a strictly matched H.264 ``a_codec`` gets the negotiated
    ``profile-level-id`` written into its parameters (or removed when neither
    side had one).
    """
    mime_type = _mime_type_of(a_codec)
    if mime_type != _mime_type_of(b_codec):
        return False
    if a_codec.get("clockRate") != b_codec.get("clockRate"):
        return False
    if a_codec.get("channels") != b_codec.get("channels"):
        return False
    a_params, b_params = _parameters_of(a_codec), _parameters_of(b_codec)
    if mime_type == "audio/multiopus":
        return _same_multiopus_layout(a_params, b_params)
    if mime_type == "video/h264" and strict:
        return _match_h264(a_codec, a_params, b_params, modify=modify)
    if mime_type == "video/vp9" and strict:
        return (a_params.get("profile-id") or 0) == (b_params.get("profile-id") or 0)
    return True


def _parameters_of(codec: Mapping[str, Any]) -> dict[str, Any]:
    """A codec's parameters; absent ones read as the {} normalization would have set."""
    parameters = codec.get("parameters")
    return parameters if isinstance(parameters, dict) else {}


def _same_multiopus_layout(a_params: Mapping[str, Any], b_params: Mapping[str, Any]) -> bool:
    return a_params.get("num_streams") == b_params.get("num_streams") and a_params.get(
        "coupled_streams"
    ) == b_params.get("coupled_streams")


def _match_h264(
    a_codec: _Codec, a_params: Mapping[str, Any], b_params: Mapping[str, Any], *, modify: bool
) -> bool:
    # packetization-mode defaults to 0 (single NAL unit) when absent.
    if (a_params.get("packetization-mode") or 0) != (b_params.get("packetization-mode") or 0):
        return False
    if not is_same_profile(a_params, b_params):
        return False
    try:
        answer_profile_level_id = generate_profile_level_id_string_for_answer(a_params, b_params)
    except TypeError:
        return False
    if modify:
        _set_profile_level_id(a_codec, answer_profile_level_id)
    return True


def _set_profile_level_id(codec: _Codec, profile_level_id: str | None) -> None:
    parameters = codec.get("parameters")
    if not isinstance(parameters, dict):
        if profile_level_id is None:
            return
        parameters = codec["parameters"] = {}
    if profile_level_id:
        parameters["profile-level-id"] = profile_level_id
    else:
        parameters.pop("profile-level-id", None)


def _codecs_of(container: Mapping[str, Any], name: str) -> list[Any]:
    """The mandatory codec list of parameters or capabilities."""
    codecs = container.get("codecs")
    if not isinstance(codecs, list):
        raise MediasoupTypeError(f"{name}.codecs is not an array")
    return codecs


# -- router capabilities ------------------------------------------------------------------


def generate_router_rtp_capabilities(
    media_codecs: list[RtpCodecCapability] | None = None,
) -> RtpCapabilities:
    """The router's RTP capabilities for the media codecs the application asked for.

    Each media codec is taken from mediasoup's catalogue (its feedback and
    static payload type win) with the application's parameters merged over
    the catalogue's. Payload types: the application's if given, else the
    catalogue's static one, else the next free dynamic one; every video codec
    is followed by its RTX codec on the next free dynamic payload type. The
    header extensions are the whole catalogue's, whatever the codec kinds.

    The media codecs are normalized in place. Raises TypeError when one is
    malformed or two share a payload type, UnsupportedError when one is not in
    the catalogue and MediasoupError when the dynamic payload types run out.
    """
    if media_codecs is None:
        media_codecs = []
    if not isinstance(media_codecs, list):
        raise MediasoupTypeError("media_codecs must be a list")
    supported = _normalized_catalogue()
    free_payload_types = list(DYNAMIC_PAYLOAD_TYPES)
    codecs: list[RtpCodecCapability] = []

    for media_codec in media_codecs:
        _validate_codec_capability(media_codec)
        supported_codec = next(
            (c for c in supported["codecs"] if match_codecs(media_codec, c)), None
        )
        if supported_codec is None:
            raise UnsupportedError(
                f"media codec not supported [mimeType:{media_codec['mimeType']}]"
            )
        codec = _router_codec(media_codec, supported_codec, free_payload_types)
        if any(
            existing["preferredPayloadType"] == codec["preferredPayloadType"] for existing in codecs
        ):
            raise MediasoupTypeError("duplicated codec.preferredPayloadType")
        codecs.append(codec)
        if codec["kind"] == "video":
            codecs.append(_rtx_capability(codec, _take_dynamic_payload_type(free_payload_types)))

    # The catalogue's header extensions are flat dicts: a shallow copy of each is a full copy.
    header_extensions = [
        cast(RtpHeaderExtension, dict(ext)) for ext in supported["headerExtensions"]
    ]
    return {"codecs": codecs, "headerExtensions": header_extensions}


@functools.cache
def _normalized_catalogue() -> RtpCapabilities:
    """The supported capabilities, validated and normalized once per process.

    Shared and never modified: generate_router_rtp_capabilities copies what it
    takes from it (mediasoup deep-copies and re-validates the whole catalogue
    per router, which cost most of a router's creation time here).
    """
    catalogue = supported_rtp_capabilities()
    validate_and_normalize_rtp_capabilities(catalogue)
    return catalogue


def _router_codec(
    media_codec: RtpCodecCapability,
    supported_codec: RtpCodecCapability,
    free_payload_types: list[int],
) -> RtpCodecCapability:
    """The catalogue entry made concrete: payload type chosen, application parameters merged."""
    codec: RtpCodecCapability = {
        "kind": supported_codec["kind"],
        "mimeType": supported_codec["mimeType"],
        "preferredPayloadType": _choose_payload_type(
            media_codec, supported_codec, free_payload_types
        ),
        "clockRate": supported_codec["clockRate"],
    }
    if "channels" in supported_codec:
        codec["channels"] = supported_codec["channels"]
    codec["parameters"] = {
        **copy.deepcopy(supported_codec.get("parameters", {})),
        **media_codec.get("parameters", {}),
    }
    codec["rtcpFeedback"] = copy.deepcopy(supported_codec.get("rtcpFeedback", []))
    return codec


def _choose_payload_type(
    media_codec: RtpCodecCapability,
    supported_codec: RtpCodecCapability,
    free_payload_types: list[int],
) -> int:
    forced = media_codec.get("preferredPayloadType")
    if _is_number(forced):
        # Taken out of the pool so no later codec or RTX gets it dynamically.
        if forced in free_payload_types:
            free_payload_types.remove(forced)
        return cast(int, forced)
    static = supported_codec.get("preferredPayloadType")
    if _is_number(static):
        return cast(int, static)
    return _take_dynamic_payload_type(free_payload_types)


def _take_dynamic_payload_type(free_payload_types: list[int]) -> int:
    if not free_payload_types:
        raise MediasoupError("cannot allocate more dynamic codec payload types")
    return free_payload_types.pop(0)


def _rtx_capability(codec: RtpCodecCapability, payload_type: int) -> RtpCodecCapability:
    return {
        "kind": codec["kind"],
        "mimeType": f"{codec['kind']}/rtx",
        "preferredPayloadType": payload_type,
        "clockRate": codec["clockRate"],
        "parameters": {"apt": codec["preferredPayloadType"]},
        "rtcpFeedback": [],
    }


# -- producers ----------------------------------------------------------------------------


def get_producer_rtp_parameters_mapping(params: RtpParameters, caps: RtpCapabilities) -> RtpMapping:
    """How the producer's payload types and SSRCs translate into the router's own.

    Media codecs are mapped first (in the producer's order), then RTX codecs,
    each onto the RTX codec the router pairs with the mapped media codec. Each
    encoding gets a consecutive router-side SSRC from one random base.

    Expects normalized parameters; matched H.264 codecs get their
    ``profile-level-id`` rewritten in place to the negotiated one. Raises
    UnsupportedError when a codec (or its RTX) has no router counterpart and
    TypeError when an RTX codec's ``apt`` names no media codec.
    """
    cap_codecs = _codecs_of(caps, "caps")
    producer_codecs = _codecs_of(params, "params")
    # Keyed by identity, like mediasoup's Map of codec objects: order of first insertion.
    mapped: dict[int, tuple[RtpCodecParameters, RtpCodecCapability]] = {}

    for codec in producer_codecs:
        if is_rtx_codec(codec):
            continue
        cap_codec = next(
            (c for c in cap_codecs if match_codecs(codec, c, strict=True, modify=True)), None
        )
        if cap_codec is None:
            raise UnsupportedError(
                f"unsupported codec [mimeType:{codec['mimeType']}, "
                f"payloadType:{codec.get('payloadType')}]"
            )
        mapped[id(codec)] = (codec, cap_codec)

    for codec in producer_codecs:
        if is_rtx_codec(codec):
            mapped[id(codec)] = (codec, _router_rtx_for(codec, producer_codecs, cap_codecs, mapped))

    mapping: RtpMapping = {
        "codecs": [
            RtpCodecMapping(
                payloadType=codec["payloadType"],
                mappedPayloadType=cap_codec["preferredPayloadType"],
            )
            for codec, cap_codec in mapped.values()
        ],
        "encodings": [],
    }
    base_ssrc = generate_random_number()
    for offset, encoding in enumerate(params.get("encodings") or []):
        entry = _drop_undefined(
            {
                "ssrc": encoding.get("ssrc"),
                "rid": encoding.get("rid"),
                "mappedSsrc": base_ssrc + offset,
            }
        )
        mapping["encodings"].append(cast(RtpEncodingMapping, entry))
    return mapping


def _router_rtx_for(
    rtx_codec: RtpCodecParameters,
    producer_codecs: list[RtpCodecParameters],
    cap_codecs: list[RtpCodecCapability],
    mapped: Mapping[int, tuple[RtpCodecParameters, RtpCodecCapability]],
) -> RtpCodecCapability:
    """The router's RTX codec for a producer RTX codec, found through its media codec."""
    apt = _parameters_of(rtx_codec).get("apt")
    associated = next((c for c in producer_codecs if c.get("payloadType") == apt), None)
    if associated is None:
        raise MediasoupTypeError(
            f"missing media codec found for RTX PT {rtx_codec.get('payloadType')}"
        )
    mapped_entry = mapped.get(id(associated))
    if mapped_entry is None:
        raise MediasoupTypeError(
            f"RTX PT {rtx_codec.get('payloadType')} is associated with the unmapped PT {apt}"
        )
    cap_media_pt = mapped_entry[1]["preferredPayloadType"]
    cap_rtx = _find_rtx_for(cap_codecs, cap_media_pt)
    if cap_rtx is None:
        raise UnsupportedError(f"no RTX codec for capability codec PT {cap_media_pt}")
    return cap_rtx


def _find_rtx_for(
    cap_codecs: list[RtpCodecCapability], media_payload_type: int
) -> RtpCodecCapability | None:
    """The router's RTX codec whose ``apt`` is the given media payload type."""
    return next(
        (
            c
            for c in cap_codecs
            if is_rtx_codec(c) and _parameters_of(c).get("apt") == media_payload_type
        ),
        None,
    )


def get_consumable_rtp_parameters(
    kind: MediaKind, params: RtpParameters, caps: RtpCapabilities, rtp_mapping: RtpMapping
) -> RtpParameters:
    """The producer's stream as the router re-sends it: router payload types and SSRCs.

    This is the template every consumer of the producer is cut from. Codecs
    keep the producer's parameters but take the router's feedback; header
    extensions are every router extension of this kind that the router may
    send (``abs-capture-time`` only if the producer sends it, as it is merely
    forwarded); encodings lose their RID and RTX and get the mapped SSRCs.
    """
    consumable: RtpParameters = {"codecs": [], "headerExtensions": [], "encodings": []}
    cap_codecs = _codecs_of(caps, "caps")

    for codec in _codecs_of(params, "params"):
        if is_rtx_codec(codec):
            continue
        media_codec = _consumable_media_codec(codec, cap_codecs, rtp_mapping)
        consumable["codecs"].append(media_codec)
        cap_rtx = _find_rtx_for(cap_codecs, media_codec["payloadType"])
        if cap_rtx is not None:
            rtx_codec = _drop_undefined(
                {
                    "mimeType": cap_rtx["mimeType"],
                    "payloadType": cap_rtx.get("preferredPayloadType"),
                    "clockRate": cap_rtx["clockRate"],
                    "parameters": copy.deepcopy(cap_rtx.get("parameters")),
                    "rtcpFeedback": copy.deepcopy(cap_rtx.get("rtcpFeedback")),
                }
            )
            consumable["codecs"].append(cast(RtpCodecParameters, rtx_codec))

    producer_uris = {ext.get("uri") for ext in params.get("headerExtensions") or []}
    consumable["headerExtensions"] = [
        cast(
            RtpHeaderExtensionParameters,
            _drop_undefined(
                {
                    "uri": cap_ext["uri"],
                    "id": cap_ext["preferredId"],
                    "encrypt": cap_ext.get("preferredEncrypt"),
                    "parameters": {},
                }
            ),
        )
        for cap_ext in caps.get("headerExtensions") or []
        if cap_ext.get("kind") == kind
        and cap_ext.get("direction") in _CONSUMABLE_EXTENSION_DIRECTIONS
        and (cap_ext["uri"] != ABS_CAPTURE_TIME_URI or cap_ext["uri"] in producer_uris)
    ]

    consumable["encodings"] = _consumable_encodings(params.get("encodings") or [], rtp_mapping)
    consumable["rtcp"] = {"reducedSize": True}
    cname = (params.get("rtcp") or {}).get("cname")
    if cname is not None:
        consumable["rtcp"] = {"cname": cname, "reducedSize": True}
    if params.get("msid") is not None:
        consumable["msid"] = params["msid"]
    return consumable


def _consumable_media_codec(
    codec: RtpCodecParameters, cap_codecs: list[RtpCodecCapability], rtp_mapping: RtpMapping
) -> RtpCodecParameters:
    payload_type = codec["payloadType"]
    mapped_pt = next(
        (
            entry["mappedPayloadType"]
            for entry in rtp_mapping["codecs"]
            if entry["payloadType"] == payload_type
        ),
        None,
    )
    if mapped_pt is None:
        raise MediasoupTypeError(f"no RTP mapping for codec payloadType {payload_type}")
    cap_codec = next((c for c in cap_codecs if c.get("preferredPayloadType") == mapped_pt), None)
    if cap_codec is None:
        raise MediasoupTypeError(f"no capability codec with preferredPayloadType {mapped_pt}")
    return cast(
        RtpCodecParameters,
        _drop_undefined(
            {
                "mimeType": cap_codec["mimeType"],
                "payloadType": cap_codec["preferredPayloadType"],
                "clockRate": cap_codec["clockRate"],
                "channels": cap_codec.get("channels"),
                # The producer's parameters: consumers must decode what it really sends.
                "parameters": copy.deepcopy(codec.get("parameters")),
                "rtcpFeedback": copy.deepcopy(cap_codec.get("rtcpFeedback")),
            }
        ),
    )


def _consumable_encodings(
    encodings: list[RtpEncodingParameters], rtp_mapping: RtpMapping
) -> list[RtpEncodingParameters]:
    result: list[RtpEncodingParameters] = []
    for index, encoding in enumerate(encodings):
        consumable_encoding = copy.deepcopy(encoding)
        # Producer-side identifiers mean nothing to consumers: the router re-sends by SSRC.
        consumable_encoding.pop("rid", None)
        consumable_encoding.pop("rtx", None)
        consumable_encoding.pop("codecPayloadType", None)
        consumable_encoding["ssrc"] = rtp_mapping["encodings"][index]["mappedSsrc"]
        result.append(consumable_encoding)
    return result


# -- consumers ----------------------------------------------------------------------------


def can_consume(consumable_params: RtpParameters, caps: RtpCapabilities) -> bool:
    """Whether an endpoint with these capabilities can receive the producer at all.

    Normalizes ``caps`` in place (raising TypeError when malformed). It only
    takes one media codec in common, and the first common one must not be an
    RTX codec.
    """
    validate_and_normalize_rtp_capabilities(caps)
    cap_codecs = caps["codecs"]
    matching = [
        codec
        for codec in _codecs_of(consumable_params, "consumable_params")
        if any(match_codecs(cap_codec, codec, strict=True) for cap_codec in cap_codecs)
    ]
    return bool(matching) and not is_rtx_codec(matching[0])


def get_consumer_rtp_parameters(
    consumable_rtp_parameters: RtpParameters,
    remote_rtp_capabilities: RtpCapabilities,
    pipe: bool = False,
    enable_rtx: bool = True,
) -> RtpParameters:
    """RTP parameters of one consumer: the producer's stream cut to what the endpoint supports.

    Codecs are those the endpoint supports (with the endpoint's RTCP feedback,
    minus generic NACK when retransmission is disabled), RTX codecs only while
    their media codec stays. Header extensions are those the endpoint accepts under the same id.
    Bandwidth-estimation feedback is reduced to one mechanism: transport-cc if
    that extension is kept, else REMB if abs-send-time is, else neither.

    A normal consumer gets a single encoding (the worker picks the layer)
    with a random SSRC, its RTX SSRC the next one, a scalability mode
    ``L<simulcast streams>T<temporal layers>`` for simulcast and the highest
    maxBitrate of all streams. A pipe consumer keeps every encoding instead.

    ``remote_rtp_capabilities`` codecs are normalized in place. Raises
    UnsupportedError when no media codec is left.

    ``enable_rtx`` defaults to True here; mediasoup's own function has no
    default and its ``Transport.consume`` passes True for video, False for audio.
    """
    remote_codecs = _codecs_of(remote_rtp_capabilities, "remote_rtp_capabilities")
    for cap_codec in remote_codecs:
        _validate_codec_capability(cap_codec)

    codecs = _codecs_supported_by_remote(consumable_rtp_parameters, remote_codecs, enable_rtx)
    rtx_supported = _drop_orphan_rtx_codecs(codecs)
    if not codecs or is_rtx_codec(codecs[0]):
        raise UnsupportedError("no compatible media codecs")

    remote_extensions = remote_rtp_capabilities.get("headerExtensions") or []
    accepted = {(ext.get("preferredId"), ext.get("uri")) for ext in remote_extensions}
    header_extensions = [
        copy.deepcopy(ext)
        for ext in consumable_rtp_parameters.get("headerExtensions") or []
        if (ext["id"], ext["uri"]) in accepted
    ]
    _reduce_bandwidth_feedback(codecs, header_extensions)

    consumable_encodings = consumable_rtp_parameters.get("encodings") or []
    if pipe:
        encodings = _pipe_encodings(consumable_encodings, with_rtx=rtx_supported)
    else:
        encodings = [_single_consumer_encoding(consumable_encodings, with_rtx=rtx_supported)]
    return _consumer_parameters(consumable_rtp_parameters, codecs, header_extensions, encodings)


def _codecs_supported_by_remote(
    consumable: RtpParameters, remote_codecs: list[RtpCodecCapability], enable_rtx: bool
) -> list[RtpCodecParameters]:
    result: list[RtpCodecParameters] = []
    for codec in copy.deepcopy(_codecs_of(consumable, "consumable_rtp_parameters")):
        if not enable_rtx and is_rtx_codec(codec):
            continue
        cap_codec = next((c for c in remote_codecs if match_codecs(c, codec, strict=True)), None)
        if cap_codec is None:
            continue
        # enable_rtx=False means no retransmission at all (the worker keeps no packets to
        # resend), so a generic NACK would go unanswered; PLI ("nack pli") still makes sense.
        codec["rtcpFeedback"] = [
            copy.deepcopy(fb)
            for fb in cap_codec.get("rtcpFeedback") or []
            if enable_rtx or fb.get("type") != "nack" or _is_truthy(fb.get("parameter"))
        ]
        result.append(codec)
    return result


def _drop_orphan_rtx_codecs(codecs: list[RtpCodecParameters]) -> bool:
    """Removes RTX codecs whose media codec is gone; returns whether any RTX codec is left.

    Walks backwards and tests against the list as it shrinks, exactly like
    mediasoup, so even odd inputs (an ``apt`` naming another RTX codec) give
    the same result.
    """
    rtx_supported = False
    for index in range(len(codecs) - 1, -1, -1):
        codec = codecs[index]
        if not is_rtx_codec(codec):
            continue
        apt = _parameters_of(codec).get("apt")
        if any(other.get("payloadType") == apt for other in codecs):
            rtx_supported = True
        else:
            del codecs[index]
    return rtx_supported


def _reduce_bandwidth_feedback(
    codecs: list[RtpCodecParameters], header_extensions: list[RtpHeaderExtensionParameters]
) -> None:
    """Keeps one bandwidth estimation: transport-cc, else REMB, each needing its extension."""
    uris = {ext["uri"] for ext in header_extensions}
    if TRANSPORT_WIDE_CC_URI in uris:
        dropped = {"goog-remb"}
    elif ABS_SEND_TIME_URI in uris:
        dropped = {"transport-cc"}
    else:
        dropped = {"transport-cc", "goog-remb"}
    for codec in codecs:
        codec["rtcpFeedback"] = [
            fb for fb in codec.get("rtcpFeedback") or [] if fb.get("type") not in dropped
        ]


def _single_consumer_encoding(
    consumable_encodings: list[RtpEncodingParameters], *, with_rtx: bool
) -> RtpEncodingParameters:
    encoding: RtpEncodingParameters = {"ssrc": generate_random_number()}
    if with_rtx:
        encoding["rtx"] = {"ssrc": encoding["ssrc"] + 1}

    # All streams are assumed to share one scalability mode; the first set one is used.
    scalability_mode = next(
        (
            e["scalabilityMode"]
            for e in consumable_encodings
            if _is_truthy(e.get("scalabilityMode"))
        ),
        None,
    )
    if len(consumable_encodings) > 1:
        # Simulcast streams become the spatial layers of the one consumer stream.
        temporal_layers = parse_scalability_mode(scalability_mode)["temporalLayers"]
        scalability_mode = f"L{len(consumable_encodings)}T{temporal_layers}"
    if scalability_mode:
        encoding["scalabilityMode"] = scalability_mode

    max_bitrate = max(
        (
            e["maxBitrate"]
            for e in consumable_encodings
            if _is_number(e.get("maxBitrate")) and e["maxBitrate"] > 0
        ),
        default=0,
    )
    if max_bitrate:
        encoding["maxBitrate"] = max_bitrate
    return encoding


def _pipe_encodings(
    consumable_encodings: list[RtpEncodingParameters], *, with_rtx: bool
) -> list[RtpEncodingParameters]:
    """Every stream kept, with consecutive fresh SSRCs (and RTX SSRCs from a second base)."""
    encodings = copy.deepcopy(consumable_encodings)
    base_ssrc = generate_random_number()
    base_rtx_ssrc = generate_random_number()
    for offset, encoding in enumerate(encodings):
        encoding["ssrc"] = base_ssrc + offset
        if with_rtx:
            encoding["rtx"] = {"ssrc": base_rtx_ssrc + offset}
        else:
            encoding.pop("rtx", None)
    return encodings


def _consumer_parameters(
    consumable: RtpParameters,
    codecs: list[RtpCodecParameters],
    header_extensions: list[RtpHeaderExtensionParameters],
    encodings: list[RtpEncodingParameters],
) -> RtpParameters:
    params: RtpParameters = {
        "codecs": codecs,
        "headerExtensions": header_extensions,
        "encodings": encodings,
    }
    if consumable.get("rtcp") is not None:
        params["rtcp"] = copy.deepcopy(consumable["rtcp"])
    if consumable.get("msid") is not None:
        params["msid"] = consumable["msid"]
    return params


def get_pipe_consumer_rtp_parameters(
    consumable_rtp_parameters: RtpParameters, enable_rtx: bool = False
) -> RtpParameters:
    """RTP parameters of a pipe consumer: every stream, towards another router.

    No bandwidth estimation and no MID between routers; only PLI/FIR feedback
    (plus plain NACK and RTX codecs when ``enable_rtx``). The dependency
    descriptor extension is added although routers only receive it, because
    the router on the other side needs it to forward SVC streams.
    """
    codecs: list[RtpCodecParameters] = []
    for codec in copy.deepcopy(_codecs_of(consumable_rtp_parameters, "consumable_rtp_parameters")):
        if not enable_rtx and is_rtx_codec(codec):
            continue
        codec["rtcpFeedback"] = [
            fb
            for fb in codec.get("rtcpFeedback") or []
            if _keeps_pipe_feedback(fb, enable_rtx=enable_rtx)
        ]
        codecs.append(codec)

    header_extensions = [
        copy.deepcopy(ext)
        for ext in consumable_rtp_parameters.get("headerExtensions") or []
        if ext["uri"] not in _PIPE_EXCLUDED_EXTENSION_URIS
    ]
    dependency_descriptor = _pipe_dependency_descriptor_extension()
    if dependency_descriptor is not None:
        header_extensions.append(dependency_descriptor)
        header_extensions.sort(key=lambda ext: ext["id"])

    encodings = _pipe_encodings(
        consumable_rtp_parameters.get("encodings") or [], with_rtx=enable_rtx
    )
    return _consumer_parameters(consumable_rtp_parameters, codecs, header_extensions, encodings)


def _keeps_pipe_feedback(fb: RtcpFeedback, *, enable_rtx: bool) -> bool:
    fb_type, parameter = fb.get("type"), fb.get("parameter")
    return (
        (fb_type == "nack" and parameter == "pli")
        or (fb_type == "ccm" and parameter == "fir")
        or (enable_rtx and fb_type == "nack" and not _is_truthy(parameter))
    )


def _pipe_dependency_descriptor_extension() -> RtpHeaderExtensionParameters | None:
    """A fresh copy of the dependency descriptor extension a pipe consumer sends, if any."""
    return copy.deepcopy(_PIPE_DEPENDENCY_DESCRIPTOR)


def _find_pipe_dependency_descriptor() -> RtpHeaderExtensionParameters | None:
    """The catalogue's receive-only dependency descriptor extension, as a pipe consumer sends it.

    mediasoup caches this when it first generates router capabilities; it is
    derived here from the same catalogue at import instead, which gives the
    same value without depending on call order.
    """
    catalogue = supported_rtp_capabilities()
    validate_and_normalize_rtp_capabilities(catalogue)
    for ext in catalogue["headerExtensions"]:
        if ext["uri"] == DEPENDENCY_DESCRIPTOR_URI and ext.get("direction") != "sendrecv":
            return {
                "uri": ext["uri"],
                "id": ext["preferredId"],
                "encrypt": ext.get("preferredEncrypt", False),
                "parameters": {},
            }
    return None


_PIPE_DEPENDENCY_DESCRIPTOR: Final = _find_pipe_dependency_descriptor()
