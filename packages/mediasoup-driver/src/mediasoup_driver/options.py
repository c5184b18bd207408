"""Option types and named values shared by the entities and the wire layer.

The wire layer (messages.py, transport_messages.py) writes requests from these
options and reads replies into these types; the entity modules take them from
callers and hold them. Kept apart from both so that neither imports the other
for a type (the entity modules import the wire layer, never the reverse).
Each entity module re-exports the names it is known by
(``webrtc_transport.WebRtcTransportOptions``, ``transport.ListenInfo``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, NewType, TypedDict, get_args

from .rtp_fbs import SrtpCryptoSuite

TransportId = NewType("TransportId", str)
TransportProtocol = Literal["udp", "tcp"]
ProducerType = Literal["simple", "simulcast", "svc", "pipe"]

IceState = Literal["new", "connected", "completed", "disconnected", "closed"]
DtlsState = Literal["new", "connecting", "connected", "failed", "closed"]
DtlsRole = Literal["auto", "client", "server"]

ICE_STATES: tuple[IceState, ...] = ("new", "connected", "completed", "disconnected")
"""By the worker's enum value (IceState in webRtcTransport.fbs)."""
DTLS_STATES: tuple[DtlsState, ...] = ("new", "connecting", "connected", "failed", "closed")
DTLS_ROLES: tuple[DtlsRole, ...] = ("auto", "client", "server")
FINGERPRINT_ALGORITHMS = ("sha-1", "sha-224", "sha-256", "sha-384", "sha-512")
SRTP_CRYPTO_SUITES: tuple[SrtpCryptoSuite, ...] = get_args(SrtpCryptoSuite)


@dataclass(frozen=True, slots=True)
class ListenInfo:
    """Where a transport listens. ``port=0`` takes a free port from the worker's
    rtcMinPort..rtcMaxPort (or from ``port_range`` when given)."""

    ip: str
    protocol: TransportProtocol = "udp"
    announced_address: str | None = None
    """Address given to peers instead of ``ip`` (public address behind NAT)."""
    expose_internal_ip: bool = False
    port: int = 0
    port_range: tuple[int, int] = (0, 0)
    ipv6_only: bool = False
    udp_reuse_port: bool = False
    send_buffer_size: int = 0
    recv_buffer_size: int = 0


@dataclass(frozen=True, slots=True)
class TransportTuple:
    """The 5-tuple a transport uses (remote side absent until known)."""

    local_address: str
    local_port: int
    protocol: TransportProtocol
    remote_ip: str | None = None
    remote_port: int | None = None


class IceParameters(TypedDict):
    usernameFragment: str
    password: str
    iceLite: bool


class IceCandidate(TypedDict, total=False):
    foundation: str
    priority: int
    address: str
    ip: str
    """Same as address; mediasoup keeps it for older clients (and pymediasoup wants it)."""
    protocol: str
    port: int
    type: str
    tcpType: str


class DtlsFingerprint(TypedDict):
    algorithm: str
    value: str


class DtlsParameters(TypedDict, total=False):
    role: DtlsRole
    fingerprints: list[DtlsFingerprint]


@dataclass(frozen=True, slots=True)
class WebRtcTransportOptions:
    """Options of ``Router.create_webrtc_transport``; defaults are mediasoup's."""

    listen_infos: tuple[ListenInfo, ...]
    enable_udp: bool = True
    enable_tcp: bool = False
    """mediasoup's default without a WebRtcServer; enable for viewers behind UDP-hostile
    networks (then give a TCP ListenInfo too)."""
    prefer_udp: bool = False
    prefer_tcp: bool = False
    ice_consent_timeout: int = 30
    """Seconds without ICE consent (RFC 7675) before ICE goes "disconnected"; 0 disables."""
    initial_available_outgoing_bitrate: int = 600_000
    app_data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class PlainTransportOptions:
    """Options of ``Router.create_plain_transport``; defaults are mediasoup's."""

    listen_info: ListenInfo
    rtcp_listen_info: ListenInfo | None = None
    """Given: RTCP on its own socket there (forces rtcp_mux off, as mediasoup does)."""
    rtcp_mux: bool = True
    comedia: bool = False
    enable_srtp: bool = False
    srtp_crypto_suite: SrtpCryptoSuite = "AES_CM_128_HMAC_SHA1_80"
    app_data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class PipeTransportOptions:
    """Options of ``Router.create_pipe_transport``; defaults are mediasoup's."""

    listen_info: ListenInfo
    enable_rtx: bool = False
    enable_srtp: bool = False
    app_data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class ConsumerLayers(NamedTuple):
    """Spatial/temporal layer of a simulcast or SVC stream."""

    spatial_layer: int
    temporal_layer: int | None = None
