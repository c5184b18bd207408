"""Bodies of the viewer endpoints: capabilities, consume, connect, consumers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from control_api.rtp import check_rtp_capabilities, normalise_dtls

DTLS_EXAMPLE = {
    "role": "client",
    "fingerprints": [{"algorithm": "sha-256", "value": "82:5A:68:3D:36:C3:0A:DE:AF:E7:…"}],
}
CAPS_EXAMPLE = {
    "codecs": [
        {
            "kind": "video",
            "mimeType": "video/VP8",
            "clockRate": 90000,
            "preferredPayloadType": 101,
            "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}],
        }
    ],
    "headerExtensions": [],
    "fecMechanisms": [],
}


class RouterCapabilitiesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"rtp_capabilities": CAPS_EXAMPLE}]})

    rtp_capabilities: dict[str, Any] = Field(
        description="mediasoup router RTP capabilities: codecs, headerExtensions, fecMechanisms."
    )


class ConsumeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"client_id": "player-42", "rtp_capabilities": CAPS_EXAMPLE},
                {
                    "client_id": "player-42",
                    "rtp_capabilities": CAPS_EXAMPLE,
                    "dtls_parameters": DTLS_EXAMPLE,
                },
            ]
        }
    )

    client_id: str = Field(min_length=1, max_length=200, description="The viewer's own id.")
    rtp_capabilities: dict[str, Any] = Field(description="mediasoup-client device.rtpCapabilities")
    dtls_parameters: dict[str, Any] | None = Field(
        default=None, description="The client's DTLS parameters: connect at once, no connect call."
    )
    paused: bool = Field(default=False, description="Start paused (resume to get media).")
    audio: StrictBool = Field(
        default=True,
        description="false: video only, no audio consumer even when the stream has audio.",
    )

    @field_validator("rtp_capabilities")
    @classmethod
    def _caps(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_rtp_capabilities(value)
        return value

    @field_validator("dtls_parameters")
    @classmethod
    def _dtls(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else normalise_dtls(value)


class TransportOut(BaseModel):
    id: str
    ice_parameters: dict[str, Any]
    ice_candidates: list[dict[str, Any]]
    dtls_parameters: dict[str, Any]


class IceServerOut(BaseModel):
    """A TURN server for the viewer's peer connection (RTCIceServer), credential short-lived."""

    urls: list[str]
    username: str
    credential: str


class AudioConsumerOut(BaseModel):
    """The viewer's audio consumer, on the same transport as its video."""

    consumer_id: str
    producer_id: str
    kind: Literal["audio"] = "audio"
    rtp_parameters: dict[str, Any]


class ConsumeResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "consumer_id": "5c0e…",
                    "producer_id": "9a1d…",
                    "stream_id": "0b8f5c0e-8d0c-4f39-9a3e-3e2b1f6d7a10",
                    "kind": "video",
                    "rtp_parameters": {"codecs": [], "encodings": [], "headerExtensions": []},
                    "transport": {
                        "id": "e4d2…",
                        "ice_parameters": {
                            "usernameFragment": "x",
                            "password": "y",
                            "iceLite": True,
                        },
                        "ice_candidates": [
                            {
                                "foundation": "udpcandidate",
                                "priority": 1076302079,
                                "address": "203.0.113.7",
                                "ip": "203.0.113.7",
                                "protocol": "udp",
                                "port": 40001,
                                "type": "host",
                            }
                        ],
                        "dtls_parameters": {"role": "auto", "fingerprints": []},
                    },
                    "connected": False,
                    "paused": False,
                }
            ]
        }
    )

    consumer_id: str
    producer_id: str
    stream_id: str
    kind: str = Field(description="video | audio")
    rtp_parameters: dict[str, Any]
    transport: TransportOut
    connected: bool = Field(description="True when dtls_parameters were given and accepted.")
    paused: bool
    ice_servers: list[IceServerOut] = Field(
        default_factory=list, description="TURN servers (RTCIceServer); empty without TURN."
    )
    audio: AudioConsumerOut | None = Field(
        default=None,
        description="The audio consumer on the same transport; null when the stream has no "
        "audio, the capabilities cannot receive it, or the request said audio: false. "
        "DELETE of the video consumer closes it and the transport too.",
    )


class ConnectRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"dtls_parameters": DTLS_EXAMPLE}]})

    dtls_parameters: dict[str, Any]

    @field_validator("dtls_parameters")
    @classmethod
    def _normalise(cls, value: dict[str, Any]) -> dict[str, Any]:
        return normalise_dtls(value)


class ConsumerStats(BaseModel):
    bitrate: int = Field(description="Outgoing bits per second.")
    packets_sent: int
    packets_lost: int
    score: int = Field(description="0..10, mediasoup's consumer score.")


class ConsumerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5c0e…",
                    "stream_id": "0b8f5c0e-8d0c-4f39-9a3e-3e2b1f6d7a10",
                    "transport_id": "e4d2…",
                    "producer_id": "9a1d…",
                    "kind": "video",
                    "state": "connected",
                    "closed_reason": None,
                    "client_id": "player-42",
                    "paused": False,
                    "created_at": "2026-11-25T13:00:05Z",
                    "stats": {
                        "bitrate": 812000,
                        "packets_sent": 4210,
                        "packets_lost": 0,
                        "score": 10,
                    },
                },
                {
                    "id": "5c0e…",
                    "stream_id": "0b8f5c0e-8d0c-4f39-9a3e-3e2b1f6d7a10",
                    "transport_id": "e4d2…",
                    "producer_id": "9a1d…",
                    "kind": "video",
                    "state": "closed",
                    "closed_reason": "dtls_closed",
                    "client_id": "player-42",
                    "paused": False,
                    "created_at": "2026-11-25T13:00:05Z",
                    "stats": {"bitrate": 0, "packets_sent": 0, "packets_lost": 0, "score": 0},
                },
            ]
        }
    )

    id: str
    stream_id: str
    transport_id: str
    producer_id: str
    kind: str
    state: Literal["new", "connecting", "connected", "closed"]
    closed_reason: str | None = Field(
        description="requested, stream_stopped, dtls_failed, dtls_closed, ice_disconnected, "
        "never_connected, worker_died, drain_deadline, node_lost"
    )
    client_id: str
    paused: bool
    created_at: datetime
    stats: ConsumerStats
