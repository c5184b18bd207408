"""Data and helpers of the mediasoup-parity tests (test_mediasoup_parity_*.py).

Those tests check, against the real worker, what mediasoup's own Node tests
(node/lib/test/test-*.js of the same 3.27.1 release) assert about workers,
routers, transports, producers and consumers. The media codecs, RTP parameters
and device capabilities below are copied from those tests, so that each
expectation can be compared with theirs value for value.

Dumps and stats keep the worker's FlatBuffers shape in this driver (enums as
integers, codec parameters as name/value entries); the ``*_from_dump`` helpers
turn them into the driver's own shapes for comparison with entity attributes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import socket
from collections.abc import Mapping
from typing import Any, TypeVar

import flatbuffers
from mediasoup_driver import ListenInfo, TransportTuple
from mediasoup_driver.channel import Channel
from mediasoup_driver.events import Event
from mediasoup_driver.fbs.FBS.Message import Message as message_fbs
from mediasoup_driver.fbs.FBS.Message.Body import Body as MessageBody
from mediasoup_driver.fbs.FBS.Notification import Notification as notification_fbs
from mediasoup_driver.rtp_fbs import FBS_TO_HEADER_EXTENSION_URI
from mediasoup_driver.webrtc_transport import DTLS_ROLES, FINGERPRINT_ALGORITHMS

T = TypeVar("T")

LOCALHOST = ListenInfo(ip="127.0.0.1")

# FlatBuffers enum values found in dumps (rtpParameters.fbs, transport.fbs, webRtcTransport.fbs).
KIND_AUDIO, KIND_VIDEO = 0, 1
TYPE_SIMPLE, TYPE_SIMULCAST, TYPE_SVC, TYPE_PIPE = 0, 1, 2, 3
PROTOCOL_UDP, PROTOCOL_TCP = 1, 2
ICE_ROLE_CONTROLLED = 0

# -- test-Router / test-WebRtcTransport / test-PlainTransport --------------------------

MEDIA_CODECS: list[dict[str, Any]] = [
    {
        "kind": "audio",
        "mimeType": "audio/opus",
        "clockRate": 48000,
        "channels": 2,
        "parameters": {"useinbandfec": 1, "foo": "bar"},
    },
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {
            "level-asymmetry-allowed": 1,
            "packetization-mode": 1,
            "profile-level-id": "4d0032",
            "foo": "bar",
        },
        "rtcpFeedback": [],  # Ignored: routers set their own.
    },
]

UNSUPPORTED_MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/x-aiff", "clockRate": 8000, "channels": 1},
    {"kind": "video", "mimeType": "video/3gpp", "clockRate": 90000},
]

PEER_DTLS_PARAMETERS: dict[str, Any] = {
    "role": "client",
    "fingerprints": [
        {
            "algorithm": "sha-256",
            "value": "82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:AC:2D:65:E5:80:C4:B6:FB:"
            "AF:1A:A0:21:9F:6D:0C:AD",
        }
    ],
}

# SRTP master keys of mediasoup's tests: 30 bytes (AES_CM_128_*) and 44 bytes (AEAD_AES_256_GCM).
SRTP_KEY_AES_CM = "ZnQ3eWJraDg0d3ZoYzM5cXN1Y2pnaHU5NWxrZTVv"
SRTP_KEY_AEAD_256 = "YTdjcDBvY2JoMGY5YXNlNDc0eDJsdGgwaWRvNnJsamRrdG16aWVpZHphdHo="

# -- test-Producer / test-Consumer -----------------------------------------------------

AUDIO_PARAMETERS: dict[str, Any] = {
    "mid": "AUDIO",
    "codecs": [
        {
            "mimeType": "audio/opus",
            "payloadType": 111,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {"useinbandfec": 1, "usedtx": 1, "foo": 222.222, "bar": "333"},
        }
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10},
        {"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 12},
    ],
    "encodings": [{"ssrc": 11111111}],
    "rtcp": {"cname": "FOOBAR"},
    "msid": "1111-1111-1111-1111 2222-2222-2222-2222",
}

VIDEO_PARAMETERS: dict[str, Any] = {
    "mid": "VIDEO",
    "codecs": [
        {
            "mimeType": "video/h264",
            "payloadType": 112,
            "clockRate": 90000,
            "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"},
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "nack", "parameter": "pli"},
                {"type": "goog-remb", "parameter": ""},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 113,
            "clockRate": 90000,
            "parameters": {"apt": 112},
        },
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10},
        {"uri": "urn:3gpp:video-orientation", "id": 13},
    ],
    "encodings": [
        {"ssrc": 22222222, "scalabilityMode": "L1T5", "rtx": {"ssrc": 22222223}},
        {"ssrc": 22222224, "scalabilityMode": "L1T5", "rtx": {"ssrc": 22222225}},
        {"ssrc": 22222226, "scalabilityMode": "L1T5", "rtx": {"ssrc": 22222227}},
        {"ssrc": 22222228, "scalabilityMode": "L1T5", "rtx": {"ssrc": 22222229}},
    ],
    "rtcp": {"cname": "FOOBAR"},
}

DEVICE_CAPABILITIES: dict[str, Any] = {
    "codecs": [
        {
            "mimeType": "audio/opus",
            "kind": "audio",
            "preferredPayloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "rtcpFeedback": [{"type": "nack", "parameter": ""}],
        },
        {
            "mimeType": "video/H264",
            "kind": "video",
            "preferredPayloadType": 101,
            "clockRate": 90000,
            "parameters": {
                "level-asymmetry-allowed": 1,
                "packetization-mode": 1,
                "profile-level-id": "4d0032",
            },
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "nack", "parameter": "pli"},
                {"type": "ccm", "parameter": "fir"},
                {"type": "goog-remb", "parameter": ""},
            ],
        },
        {
            "mimeType": "video/rtx",
            "kind": "video",
            "preferredPayloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ],
    "headerExtensions": [
        {
            "kind": "audio",
            "uri": "urn:ietf:params:rtp-hdrext:sdes:mid",
            "preferredId": 1,
            "preferredEncrypt": False,
        },
        {
            "kind": "video",
            "uri": "urn:ietf:params:rtp-hdrext:sdes:mid",
            "preferredId": 1,
            "preferredEncrypt": False,
        },
        {
            "kind": "video",
            "uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "preferredId": 2,
            "preferredEncrypt": False,
        },
        {
            "kind": "audio",
            "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "preferredId": 4,
            "preferredEncrypt": False,
        },
        {
            "kind": "video",
            "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "preferredId": 4,
            "preferredEncrypt": False,
        },
        {
            "kind": "audio",
            "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "preferredId": 6,
            "preferredEncrypt": False,
        },
        {
            "kind": "video",
            "uri": "urn:3gpp:video-orientation",
            "preferredId": 8,
            "preferredEncrypt": False,
        },
        {
            "kind": "video",
            "uri": "urn:ietf:params:rtp-hdrext:toffset",
            "preferredId": 9,
            "preferredEncrypt": False,
        },
    ],
}

_VPX_FEEDBACK: list[dict[str, str]] = [
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
    {"type": "goog-remb", "parameter": ""},
]

VPX_MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "rtcpFeedback": _VPX_FEEDBACK},
    {"kind": "video", "mimeType": "video/VP9", "clockRate": 90000, "rtcpFeedback": _VPX_FEEDBACK},
]

VPX_DEVICE_CAPABILITIES: dict[str, Any] = {
    "codecs": [
        {
            "kind": "video",
            "mimeType": "video/VP8",
            "preferredPayloadType": 101,
            "clockRate": 90000,
            "rtcpFeedback": _VPX_FEEDBACK,
        },
        {
            "kind": "video",
            "mimeType": "video/VP9",
            "preferredPayloadType": 102,
            "clockRate": 90000,
            "rtcpFeedback": _VPX_FEEDBACK,
        },
    ],
    "headerExtensions": [],
}

VP9_SVC_PARAMETERS: dict[str, Any] = {
    "mid": "VIDEOSVC",
    "codecs": [
        {
            "mimeType": "video/VP9",
            "payloadType": 96,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": _VPX_FEEDBACK,
        }
    ],
    "headerExtensions": [],
    "encodings": [{"ssrc": 33333333, "scalabilityMode": "L3T3"}],
    "rtcp": {"cname": "FOOBAR"},
}

VP8_SIMULCAST_PARAMETERS: dict[str, Any] = {
    "mid": "VIDEOVP8",
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 96,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": _VPX_FEEDBACK,
        }
    ],
    "headerExtensions": [],
    "encodings": [
        {"ssrc": 44444441, "scalabilityMode": "L1T5"},
        {"ssrc": 44444442, "scalabilityMode": "L1T5"},
        {"ssrc": 44444443, "scalabilityMode": "L1T5"},
    ],
    "rtcp": {"cname": "FOOBAR"},
}

# -- test-PipeTransport ------------------------------------------------------------------

PIPE_MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]

PIPE_AUDIO_PARAMETERS: dict[str, Any] = {
    "mid": "AUDIO",
    "codecs": [
        {
            "mimeType": "audio/opus",
            "payloadType": 111,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {"useinbandfec": 1, "foo": "bar1"},
        }
    ],
    "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10}],
    "encodings": [{"ssrc": 11111111}],
    "rtcp": {"cname": "FOOBAR"},
}

PIPE_VIDEO_PARAMETERS: dict[str, Any] = {
    "mid": "VIDEO",
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 112,
            "clockRate": 90000,
            "rtcpFeedback": [
                {"type": "nack"},
                {"type": "nack", "parameter": "pli"},
                {"type": "goog-remb"},
                {"type": "lalala"},
            ],
        }
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10},
        {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 11},
        {"uri": "urn:3gpp:video-orientation", "id": 13},
    ],
    "encodings": [{"ssrc": 22222222}, {"ssrc": 22222223}, {"ssrc": 22222224}],
    "rtcp": {"cname": "FOOBAR"},
    "msid": "aaaa-bbbb",
}

PIPE_DEVICE_CAPABILITIES: dict[str, Any] = {
    "codecs": [
        {
            "kind": "audio",
            "mimeType": "audio/opus",
            "preferredPayloadType": 100,
            "clockRate": 48000,
            "channels": 2,
        },
        {
            "kind": "video",
            "mimeType": "video/VP8",
            "preferredPayloadType": 101,
            "clockRate": 90000,
            "rtcpFeedback": [
                {"type": "nack"},
                {"type": "ccm", "parameter": "fir"},
                {"type": "transport-cc"},
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
        {
            "kind": "video",
            "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "preferredId": 4,
            "preferredEncrypt": False,
            "direction": "sendrecv",
        },
        {
            "kind": "video",
            "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "preferredId": 5,
            "preferredEncrypt": False,
        },
        {
            "kind": "audio",
            "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "preferredId": 6,
            "preferredEncrypt": False,
        },
    ],
}


def free_udp_port_pair() -> tuple[int, int]:
    """Two consecutive UDP ports free on 127.0.0.1 (to give a transport a 2-port range)."""
    rng = random.Random()
    for _ in range(200):
        first = rng.randrange(30000, 39998)
        with contextlib.ExitStack() as stack:
            try:
                for port in (first, first + 1):
                    probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first, first + 1
    raise RuntimeError("no two consecutive free UDP ports")


def params(template: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of one of the structures above, with top-level keys replaced."""
    result = copy.deepcopy(dict(template))
    result.update(changes)
    return result


def header_extension(uri: str, ext_id: int) -> dict[str, Any]:
    """A negotiated header extension as mediasoup writes it (no encryption, no parameters)."""
    return {"uri": uri, "id": ext_id, "encrypt": False, "parameters": {}}


# -- events ------------------------------------------------------------------------------


def record(event: Event[T]) -> list[T]:
    """Every value ``event`` emits from now on, in order (to count emissions)."""
    values: list[T] = []
    event.add_listener(values.append)
    return values


def next_value(event: Event[T]) -> asyncio.Future[T]:
    """A future resolved with the next value ``event`` emits.

    The listener is added at once, so an emission that happens before the future is
    awaited is not missed (``event.wait()`` only starts listening once awaited).
    """
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def on_value(value: T) -> None:
        remove()
        if not future.done():
            future.set_result(value)

    remove = event.add_listener(on_value)
    return future


async def settled(future: asyncio.Future[T], within: float = 5.0) -> T:
    """Awaits an event's future, failing the test fast if the event never comes."""
    async with asyncio.timeout(within):
        return await future


def inject_notification(
    channel: Channel, handler_id: str, event: int, body_type: int, body: Any
) -> None:
    """Feeds the channel a worker notification as if it came down the pipe.

    ``body`` is a generated object-API value (``...T``) packed as the notification
    body. Like mediasoup's tests (which emit on the channel), this drives an
    entity's notification handling without needing the worker to produce the event;
    unlike them it goes through the channel's own framing and dispatch. Handlers run
    on the next loop iteration, as for real notifications.
    """
    b = flatbuffers.Builder(256)
    handler = b.CreateString(handler_id)
    body_offset = body.Pack(b)
    notification_fbs.Start(b)
    notification_fbs.AddHandlerId(b, handler)
    notification_fbs.AddEvent(b, event)
    notification_fbs.AddBodyType(b, body_type)
    notification_fbs.AddBody(b, body_offset)
    data = notification_fbs.End(b)
    message_fbs.Start(b)
    message_fbs.AddDataType(b, MessageBody.Notification)
    message_fbs.AddData(b, data)
    b.FinishSizePrefixed(message_fbs.End(b))
    channel._on_data(bytes(b.Output()))


# -- dumps -------------------------------------------------------------------------------


def _parameters(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {entry["name"]: entry["value"]["value"] for entry in entries or []}


def rtp_parameters_from_dump(dumped: Mapping[str, Any]) -> dict[str, Any]:
    """A dump's rtpParameters in mediasoup's JSON shape (parameters as objects, URIs as
    strings); what is absent or empty in the dump stays absent."""
    result = copy.deepcopy(dict(dumped))
    for codec in result.get("codecs", []):
        codec["parameters"] = _parameters(codec.get("parameters"))
    for extension in result.get("headerExtensions", []):
        extension["uri"] = FBS_TO_HEADER_EXTENSION_URI[extension["uri"]]
        extension["parameters"] = _parameters(extension.get("parameters"))
    if not result.get("msid"):
        result.pop("msid", None)
    return result


def tuple_from_dump(dumped: Mapping[str, Any]) -> TransportTuple:
    """A dumped/stats Transport.Tuple as the driver's TransportTuple."""
    remote_ip = dumped.get("remoteIp")
    return TransportTuple(
        local_address=dumped["localAddress"],
        local_port=dumped["localPort"],
        protocol="udp" if dumped["protocol"] == PROTOCOL_UDP else "tcp",
        remote_ip=remote_ip,
        remote_port=dumped["remotePort"] if remote_ip else None,
    )


def ice_candidates_from_dump(dumped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dumped ICE candidates in the driver's (mediasoup's) shape."""
    candidates = []
    for c in dumped:
        candidate = {
            "foundation": c["foundation"],
            "priority": c["priority"],
            "address": c["address"],
            "ip": c["address"],
            "protocol": "udp" if c["protocol"] == PROTOCOL_UDP else "tcp",
            "port": c["port"],
            "type": "host" if c["type"] == 0 else c["type"],
        }
        if "tcpType" in c:
            candidate["tcpType"] = "passive" if c["tcpType"] == 0 else c["tcpType"]
        candidates.append(candidate)
    return candidates


def dtls_parameters_from_dump(dumped: Mapping[str, Any]) -> dict[str, Any]:
    """Dumped DTLS parameters in the driver's shape."""
    return {
        "role": DTLS_ROLES[dumped["role"]],
        "fingerprints": [
            {"algorithm": FINGERPRINT_ALGORITHMS[f["algorithm"]], "value": f["value"]}
            for f in dumped["fingerprints"]
        ],
    }
