"""What the REST V2 API answers, as frozen dataclasses with typed ids.

Plain dataclasses (not pydantic) keep this package's dependencies to httpx and the
media stack. Every model keeps the server's whole JSON in `raw`, so a field the server
adds later is readable before this client learns about it. RTP structures (capabilities,
parameters, ICE/DTLS) stay dicts in mediasoup's own camelCase: they are handed to
pymediasoup as they are, and typing them twice would only let the two copies drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NewType

StreamId = NewType("StreamId", str)
ConsumerId = NewType("ConsumerId", str)
TransportId = NewType("TransportId", str)
ProducerId = NewType("ProducerId", str)

JsonDict = dict[str, Any]

StreamStatus = Literal["created", "starting", "live", "stopped", "error", "idle"]
ConsumerState = Literal["new", "connecting", "connected", "closed"]


def _time(value: Any) -> datetime | None:
    """ISO-8601 timestamps from the server (`Z` suffix included) or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Token:
    """An access token; `expires_in` counts seconds from when the server issued it."""

    access_token: str
    token_type: str
    expires_in: int

    @classmethod
    def from_json(cls, body: JsonDict) -> Token:
        return cls(
            access_token=str(body["access_token"]),
            token_type=str(body.get("token_type", "bearer")),
            expires_in=int(body.get("expires_in", 0)),
        )


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream as `GET /api/v2/streams/{id}` shows it."""

    id: StreamId
    name: str
    status: str
    status_reason: str
    source: JsonDict
    codec: str | None
    node_id: str | None
    producer_id: ProducerId | None
    consumer_count: int
    created_at: datetime | None
    raw: JsonDict = field(repr=False, compare=False)

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    @property
    def can_consume(self) -> bool:
        """Live, or `idle`: an on-demand stream, which the consume itself starts (the
        server answers once it is live, or 504 `stream_start_timeout`)."""
        return self.status in ("live", "idle")

    @classmethod
    def from_json(cls, body: JsonDict) -> Stream:
        producer = body.get("producer_id")
        return cls(
            id=StreamId(str(body["id"])),
            name=str(body.get("name", "")),
            status=str(body.get("status", "")),
            status_reason=str(body.get("status_reason") or ""),
            source=dict(body.get("source") or {}),
            codec=body.get("codec"),
            node_id=body.get("node_id"),
            producer_id=ProducerId(producer) if producer else None,
            consumer_count=int(body.get("consumer_count") or 0),
            created_at=_time(body.get("created_at")),
            raw=body,
        )


@dataclass(frozen=True, slots=True)
class TransportParameters:
    """The receive transport the server created for one consumer."""

    id: TransportId
    ice_parameters: JsonDict
    ice_candidates: list[JsonDict]
    dtls_parameters: JsonDict

    @classmethod
    def from_json(cls, body: JsonDict) -> TransportParameters:
        return cls(
            id=TransportId(str(body["id"])),
            ice_parameters=dict(body["ice_parameters"]),
            ice_candidates=[dict(c) for c in body["ice_candidates"]],
            dtls_parameters=dict(body["dtls_parameters"]),
        )


@dataclass(frozen=True, slots=True)
class Consumption:
    """The answer of `POST /streams/{id}/consume`: a consumer and its transport."""

    consumer_id: ConsumerId
    producer_id: ProducerId
    stream_id: StreamId
    kind: str
    rtp_parameters: JsonDict
    transport: TransportParameters
    connected: bool
    paused: bool
    raw: JsonDict = field(repr=False, compare=False)
    ice_servers: list[JsonDict] = field(default_factory=list)
    """TURN servers `[{urls, username, credential}]` with short-lived credentials ([] without
    TURN on the server)."""
    audio: JsonDict | None = None
    """The audio consumer on the same transport, `{consumer_id, producer_id, kind,
    rtp_parameters}` (None: the stream has no audio, or it was not asked for)."""

    @classmethod
    def from_json(cls, body: JsonDict, stream_id: str) -> Consumption:
        return cls(
            consumer_id=ConsumerId(str(body["consumer_id"])),
            producer_id=ProducerId(str(body["producer_id"])),
            stream_id=StreamId(str(body.get("stream_id") or stream_id)),
            kind=str(body.get("kind", "video")),
            rtp_parameters=dict(body["rtp_parameters"]),
            transport=TransportParameters.from_json(body["transport"]),
            connected=bool(body.get("connected", False)),
            paused=bool(body.get("paused", False)),
            raw=body,
            ice_servers=[dict(s) for s in body.get("ice_servers") or []],
            audio=dict(body["audio"]) if body.get("audio") else None,
        )


@dataclass(frozen=True, slots=True)
class ConsumerStats:
    """The node's view of one consumer (what it sent, not what we received)."""

    bitrate: int
    packets_sent: int
    packets_lost: int
    score: int

    @classmethod
    def from_json(cls, body: JsonDict | None) -> ConsumerStats:
        body = body or {}
        return cls(
            bitrate=int(body.get("bitrate") or 0),
            packets_sent=int(body.get("packets_sent") or 0),
            packets_lost=int(body.get("packets_lost") or 0),
            score=int(body.get("score") or 0),
        )


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    """`GET /api/v2/consumers/{id}`; a consumer its node closed shows `closed_reason` for 60 s."""

    id: ConsumerId
    stream_id: StreamId
    transport_id: TransportId
    producer_id: ProducerId
    kind: str
    state: str
    closed_reason: str | None
    client_id: str | None
    paused: bool
    created_at: datetime | None
    stats: ConsumerStats
    raw: JsonDict = field(repr=False, compare=False)

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @classmethod
    def from_json(cls, body: JsonDict) -> ConsumerInfo:
        return cls(
            id=ConsumerId(str(body["id"])),
            stream_id=StreamId(str(body.get("stream_id", ""))),
            transport_id=TransportId(str(body.get("transport_id", ""))),
            producer_id=ProducerId(str(body.get("producer_id", ""))),
            kind=str(body.get("kind", "video")),
            state=str(body.get("state", "")),
            closed_reason=body.get("closed_reason"),
            client_id=body.get("client_id"),
            paused=bool(body.get("paused", False)),
            created_at=_time(body.get("created_at")),
            stats=ConsumerStats.from_json(body.get("stats")),
            raw=body,
        )
