"""Database tables: users, streams, media nodes, consumers, edge relays.

Plain string columns hold the enumerations (roles, statuses, states) rather
than database enum types: adding a value then needs no migration on
PostgreSQL, and SQLite has no enum types anyway. The values are checked at
the API boundary by the pydantic schemas.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NewType

from sqlalchemy import JSON, BigInteger, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

UserId = NewType("UserId", str)
StreamId = NewType("StreamId", str)
NodeId = NewType("NodeId", str)
ConsumerId = NewType("ConsumerId", str)
TransportId = NewType("TransportId", str)


class Role(StrEnum):
    """Ordered roles: each one may do everything the previous ones may."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class StreamStatus(StrEnum):
    created = "created"
    starting = "starting"
    live = "live"
    stopped = "stopped"
    error = "error"
    idle = "idle"  # on demand, not pulled (no node) until the next consume


class Desired(StrEnum):
    """What the operator asked for; the reconciler restarts `running` streams a node lost.

    `deleted`: deleted by the API while its node could not be told; the row is hidden
    (404) and kept only until the node forgets the stream (node_sync.reconcile).
    """

    running = "running"
    stopped = "stopped"
    deleted = "deleted"


class ConsumerState(StrEnum):
    new = "new"
    connecting = "connecting"
    connected = "connected"
    closed = "closed"

    @property
    def rank(self) -> int:
        return list(ConsumerState).index(self)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def _ts_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    username: str = Field(index=True, unique=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.viewer.value, max_length=16)
    disabled: bool = Field(default=False)
    # Copied into every token ("ver"); bumped by disabling or a password change,
    # which makes every token issued before invalid at once.
    token_version: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class Stream(SQLModel, table=True):
    __tablename__ = "streams"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    codec: str | None = Field(default=None, max_length=16)
    desired: str = Field(default=Desired.stopped.value, max_length=16)
    status: str = Field(default=StreamStatus.created.value, max_length=16)
    status_reason: str = Field(default="", max_length=500)
    # The node's clock (ms) of the last event applied: older events are ignored,
    # so replicas replaying the same event stream converge on the same row.
    status_at_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    node_id: str | None = Field(default=None, index=True, max_length=128)
    producer_id: str | None = Field(default=None, max_length=64)
    rtp_endpoint: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    video: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """What the node says viewers receive: {codec, width, height}."""
    audio: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """The stream's audio as viewers receive it: {codec}; NULL without audio."""
    idle_since: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    """On-demand streams: when the sweep first saw no viewer (NULL while watched, and
    reset by every consume so a viewer being created is never swept away)."""
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class MediaNode(SQLModel, table=True):
    __tablename__ = "media_nodes"

    id: str = Field(primary_key=True, max_length=128)
    address: str = Field(max_length=255)
    draining: bool = Field(default=False)
    cpu_percent: float = Field(default=0.0)
    streams: int = Field(default=0)
    transports: int = Field(default=0)
    consumers: int = Field(default=0)
    outgoing_bitrate_bps: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class Consumer(SQLModel, table=True):
    __tablename__ = "consumers"

    id: str = Field(primary_key=True, max_length=64)
    stream_id: str = Field(index=True, max_length=36)
    node_id: str = Field(index=True, max_length=128)
    transport_id: str = Field(index=True, max_length=64)
    # NULL for a tombstone: a close the node reported before our insert landed.
    owner_id: str | None = Field(default=None, index=True, max_length=36)
    client_id: str = Field(default="", max_length=200)
    producer_id: str = Field(default="", max_length=64)
    kind: str = Field(default="video", max_length=8)
    origin: str = Field(default="v2", max_length=8)
    paused: bool = Field(default=False)
    state: str = Field(default=ConsumerState.new.value, max_length=16)
    closed_reason: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class Relay(SQLModel, table=True):
    """An edge relay: `stream_id` piped from its node (`origin_node_id`) to an edge node
    whose viewers it feeds (control_api/services/relays.py). One per (stream, edge)."""

    __tablename__ = "relays"
    __table_args__ = (UniqueConstraint("stream_id", "edge_node_id", name="uq_relays_stream_edge"),)

    id: str = Field(primary_key=True, max_length=36)
    stream_id: str = Field(index=True, max_length=36)
    origin_node_id: str = Field(index=True, max_length=128)
    edge_node_id: str = Field(index=True, max_length=128)
    ready: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
