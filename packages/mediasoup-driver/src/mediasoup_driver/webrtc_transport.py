"""WebRtcTransport: ICE-lite + DTLS-SRTP to a browser or another WebRTC peer.

The worker is ICE-lite and controlled: the peer sends connectivity checks to
the candidates given here, and ``connect`` hands the peer's DTLS fingerprint
to the worker (which can happen before ICE, "without additional signaling").
State changes arrive as notifications and fire ``on_ice_state_change`` /
``on_dtls_state_change``; a closed transport reports both as "closed".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

import flatbuffers

from . import fbs_reader as fr
from . import messages
from .channel import Channel
from .dumps import WebRtcTransportDump
from .errors import MediasoupTypeError
from .events import Event
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CreateWebRtcTransportRequest as create_fbs
from .fbs.FBS.Transport.RestartIceResponse import RestartIceResponse
from .fbs.FBS.WebRtcTransport import ConnectRequest as connect_fbs
from .fbs.FBS.WebRtcTransport import DtlsParameters as dtls_parameters_fbs
from .fbs.FBS.WebRtcTransport import Fingerprint as fingerprint_fbs
from .fbs.FBS.WebRtcTransport import ListenIndividual as listen_individual_fbs
from .fbs.FBS.WebRtcTransport import WebRtcTransportOptions as options_fbs
from .fbs.FBS.WebRtcTransport.ConnectResponse import ConnectResponse
from .fbs.FBS.WebRtcTransport.DtlsStateChangeNotification import DtlsStateChangeNotification
from .fbs.FBS.WebRtcTransport.DumpResponse import DumpResponse, DumpResponseT
from .fbs.FBS.WebRtcTransport.GetStatsResponse import GetStatsResponse, GetStatsResponseT
from .fbs.FBS.WebRtcTransport.IceSelectedTupleChangeNotification import (
    IceSelectedTupleChangeNotification,
)
from .fbs.FBS.WebRtcTransport.IceStateChangeNotification import IceStateChangeNotification
from .fbs.FBS.WebRtcTransport.Listen import Listen
from .lifecycle import CloseReason, create_request
from .transport import (
    ListenInfo,
    Transport,
    TransportContext,
    TransportId,
    TransportTuple,
    read_tuple,
    write_base_options,
    write_listen_info,
)
from .wire import RequestTemplate, Sentinels, body_as, body_position

IceState = Literal["new", "connected", "completed", "disconnected", "closed"]
DtlsState = Literal["new", "connecting", "connected", "failed", "closed"]
DtlsRole = Literal["auto", "client", "server"]

ICE_STATES: tuple[IceState, ...] = ("new", "connected", "completed", "disconnected")
DTLS_STATES: tuple[DtlsState, ...] = ("new", "connecting", "connected", "failed", "closed")
DTLS_ROLES: tuple[DtlsRole, ...] = ("auto", "client", "server")
FINGERPRINT_ALGORITHMS = ("sha-1", "sha-224", "sha-256", "sha-384", "sha-512")
_PROTOCOLS = {1: "udp", 2: "tcp"}


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


def normalize_dtls_parameters(params: Any) -> DtlsParameters:
    """Checks a peer's DTLS parameters and normalises them (lower-case algorithm,
    upper-case fingerprint as in SDP). Raises TypeError naming the bad field."""
    if not isinstance(params, dict):
        raise MediasoupTypeError("dtls_parameters must be an object")
    role = params.get("role", "auto")
    if role not in DTLS_ROLES:
        raise MediasoupTypeError(f"dtls_parameters.role: invalid value {role!r}")
    fingerprints = params.get("fingerprints")
    if not isinstance(fingerprints, list) or not fingerprints:
        raise MediasoupTypeError("dtls_parameters.fingerprints: must be a non-empty list")
    normalized: list[DtlsFingerprint] = []
    for index, fingerprint in enumerate(fingerprints):
        if not isinstance(fingerprint, dict):
            raise MediasoupTypeError(f"dtls_parameters.fingerprints[{index}]: must be an object")
        algorithm = str(fingerprint.get("algorithm", "")).lower()
        value = fingerprint.get("value")
        if algorithm not in FINGERPRINT_ALGORITHMS:
            raise MediasoupTypeError(
                f"dtls_parameters.fingerprints[{index}].algorithm: invalid value {algorithm!r}"
            )
        if not isinstance(value, str) or not _is_fingerprint(value):
            raise MediasoupTypeError(
                f"dtls_parameters.fingerprints[{index}].value: not a fingerprint"
            )
        normalized.append({"algorithm": algorithm, "value": value.upper()})
    return {"role": role, "fingerprints": normalized}


def _is_fingerprint(value: str) -> bool:
    parts = value.split(":")
    return len(parts) >= 20 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


def _write_create_request(
    b: flatbuffers.Builder, transport_id: str, options: WebRtcTransportOptions
) -> int:
    tid = b.CreateString(transport_id)
    infos = [write_listen_info(b, info) for info in options.listen_infos]
    listen_individual_fbs.StartListenInfosVector(b, len(infos))
    for offset in reversed(infos):
        b.PrependUOffsetTRelative(offset)
    infos_vector = b.EndVector()
    listen_individual_fbs.Start(b)
    listen_individual_fbs.AddListenInfos(b, infos_vector)
    listen = listen_individual_fbs.End(b)
    base = write_base_options(
        b,
        initial_available_outgoing_bitrate=options.initial_available_outgoing_bitrate,
        is_data_channel=True,
    )
    options_fbs.Start(b)
    options_fbs.AddBase(b, base)
    options_fbs.AddListenType(b, Listen.ListenIndividual)
    options_fbs.AddListen(b, listen)
    options_fbs.AddEnableUdp(b, options.enable_udp)
    options_fbs.AddEnableTcp(b, options.enable_tcp)
    options_fbs.AddPreferUdp(b, options.prefer_udp)
    options_fbs.AddPreferTcp(b, options.prefer_tcp)
    options_fbs.AddIceConsentTimeout(b, options.ice_consent_timeout)
    webrtc_options = options_fbs.End(b)
    create_fbs.Start(b)
    create_fbs.AddTransportId(b, tid)
    create_fbs.AddOptions(b, webrtc_options)
    result: int = create_fbs.End(b)
    return result


def _read_dtls_parameters(buf: bytes, table: int) -> DtlsParameters:
    """DtlsParameters table: fingerprints 0 (Fingerprint: algorithm 0, value 1), role 1."""
    start, count = fr.read_vector(buf, table, 0)
    fingerprints: list[DtlsFingerprint] = []
    for i in range(count):
        f = fr.table_in_vector(buf, start, i)
        fingerprints.append(
            {
                "algorithm": FINGERPRINT_ALGORITHMS[fr.read_u8(buf, f, 0)],
                "value": fr.read_string(buf, f, 1) or "",
            }
        )
    return {"role": DTLS_ROLES[fr.read_u8(buf, table, 1)], "fingerprints": fingerprints}


def _create_template(channel: Channel, options: WebRtcTransportOptions) -> RequestTemplate:
    """ROUTER_CREATE_WEBRTCTRANSPORT for one options value: every viewer's transport
    looks the same, so the request is serialised once per channel and options, with
    the router and transport ids patched per send."""
    sentinels = Sentinels()
    transport_id = sentinels.uuid("transport_id")
    return channel.template(
        Method.ROUTER_CREATE_WEBRTCTRANSPORT,
        sentinels.uuid("router_id"),
        RequestBody.Router_CreateWebRtcTransportRequest,
        lambda b: _write_create_request(b, transport_id, options),
        sentinels=sentinels,
    )


class WebRtcTransport(Transport):
    """A WebRTC transport. Create with ``Router.create_webrtc_transport``."""

    _DUMP = messages.Query(
        Method.TRANSPORT_DUMP, messages.plain_reader(DumpResponse, DumpResponseT)
    )
    _STATS = messages.Query(
        Method.TRANSPORT_GET_STATS, messages.plain_reader(GetStatsResponse, GetStatsResponseT)
    )
    kind_name = "webrtc_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        buf: bytes,
        dump: int,
    ) -> None:
        """Built by ``create`` from the worker's answer (a WebRtcTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.ice_role = "controlled"
        self.ice_parameters: IceParameters
        self.ice_candidates: list[IceCandidate] = []
        self.dtls_parameters: DtlsParameters = {}
        self.ice_state: IceState = "new"
        self.dtls_state: DtlsState = "new"
        self.ice_selected_tuple: TransportTuple | None = None
        self.dtls_remote_cert: str | None = None
        self.on_ice_state_change: Event[IceState] = Event("webrtc_transport.ice_state")
        self.on_dtls_state_change: Event[DtlsState] = Event("webrtc_transport.dtls_state")
        self.on_ice_selected_tuple_change: Event[TransportTuple] = Event(
            "webrtc_transport.ice_selected_tuple"
        )
        self._load(buf, dump)

    @classmethod
    async def create(
        cls, context: TransportContext, options: WebRtcTransportOptions
    ) -> WebRtcTransport:
        """Sends ROUTER_CREATE_WEBRTCTRANSPORT and builds the transport from the answer."""
        if not options.listen_infos:
            raise MediasoupTypeError("listen_infos: at least one ListenInfo is required")
        channel = context.channel
        template = channel.template_for(
            ("webrtc_create", options), lambda: _create_template(channel, options)
        )
        transport_id = TransportId(str(uuid.uuid4()))
        response = await create_request(
            channel,
            transport_id,
            context.transports,
            lambda: channel.send(
                template, {"router_id": context.router_id, "transport_id": transport_id}
            ),
        )
        return cls(context, transport_id, options.app_data, *body_position(response))

    def _load(self, buf: bytes, dump: int) -> None:
        """Reads what callers use from the creation dump (webRtcTransport.fbs DumpResponse:
        base 0, ice_role 1, ice_parameters 2, ice_candidates 3, ice_state 4,
        ice_selected_tuple 5, dtls_parameters 6, dtls_state 7)."""
        ice = fr.read_table(buf, dump, 2)
        self.ice_parameters = {
            "usernameFragment": fr.read_string(buf, ice, 0) or "",
            "password": fr.read_string(buf, ice, 1) or "",
            "iceLite": fr.read_bool(buf, ice, 2, default=True),
        }
        candidates: list[IceCandidate] = []
        start, count = fr.read_vector(buf, dump, 3)
        for i in range(count):
            c = fr.table_in_vector(buf, start, i)
            address = fr.read_string(buf, c, 2) or ""
            candidate: IceCandidate = {
                "foundation": fr.read_string(buf, c, 0) or "",
                "priority": fr.read_u32(buf, c, 1),
                "address": address,
                "ip": address,
                "protocol": _PROTOCOLS.get(fr.read_u8(buf, c, 3, default=1), "udp"),
                "port": fr.read_u16(buf, c, 4),
                "type": "host",
            }
            if fr.field_position(buf, c, 6):
                candidate["tcpType"] = "passive"
            candidates.append(candidate)
        self.ice_candidates = candidates
        self.dtls_parameters = _read_dtls_parameters(buf, fr.read_table(buf, dump, 6))
        self.ice_state = ICE_STATES[fr.read_u8(buf, dump, 4)]
        self.dtls_state = DTLS_STATES[fr.read_u8(buf, dump, 7)]

    # -- requests ------------------------------------------------------------------------

    async def dump(self) -> WebRtcTransportDump:
        return cast(WebRtcTransportDump, await super().dump())

    async def connect(self, dtls_parameters: DtlsParameters | dict[str, Any]) -> None:
        """Gives the worker the peer's DTLS parameters (fingerprint, role).

        Raises TypeError for malformed parameters (nothing is sent then) and
        the worker's error if the transport is already connected.
        """
        self._check_open()
        params = normalize_dtls_parameters(dtls_parameters)

        def body(b: flatbuffers.Builder) -> int:
            values = [b.CreateString(f["value"]) for f in params["fingerprints"]]
            offsets = []
            for fingerprint, value in zip(params["fingerprints"], values, strict=True):
                fingerprint_fbs.Start(b)
                fingerprint_fbs.AddAlgorithm(
                    b, FINGERPRINT_ALGORITHMS.index(fingerprint["algorithm"])
                )
                fingerprint_fbs.AddValue(b, value)
                offsets.append(fingerprint_fbs.End(b))
            dtls_parameters_fbs.StartFingerprintsVector(b, len(offsets))
            for offset in reversed(offsets):
                b.PrependUOffsetTRelative(offset)
            vector = b.EndVector()
            dtls_parameters_fbs.Start(b)
            dtls_parameters_fbs.AddFingerprints(b, vector)
            dtls_parameters_fbs.AddRole(b, DTLS_ROLES.index(params["role"]))
            dtls = dtls_parameters_fbs.End(b)
            connect_fbs.Start(b)
            connect_fbs.AddDtlsParameters(b, dtls)
            result: int = connect_fbs.End(b)
            return result

        response = await self._channel.request(
            Method.WEBRTCTRANSPORT_CONNECT,
            self.id,
            RequestBody.WebRtcTransport_ConnectRequest,
            body,
        )
        self.dtls_parameters["role"] = DTLS_ROLES[
            body_as(response, ConnectResponse).DtlsLocalRole()
        ]

    async def restart_ice(self) -> IceParameters:
        """New ICE username/password (the peer must restart ICE with them)."""
        self._check_open()
        response = await self._channel.request(Method.TRANSPORT_RESTART_ICE, self.id)
        reply = body_as(response, RestartIceResponse)
        self.ice_parameters = {
            "usernameFragment": reply.UsernameFragment().decode(),
            "password": reply.Password().decode(),
            "iceLite": reply.IceLite(),
        }
        return self.ice_parameters

    async def get_stats(self) -> dict[str, Any]:
        """Transport statistics with the ICE/DTLS states named as mediasoup names them."""
        stats = await super().get_stats()
        stats["iceState"] = ICE_STATES[stats.get("iceState", 0)]
        stats["dtlsState"] = DTLS_STATES[stats.get("dtlsState", 0)]
        return stats

    # -- notifications -------------------------------------------------------------------

    def _on_notification(self, event: int, notification: Any) -> None:
        if event == NotificationEvent.WEBRTCTRANSPORT_ICE_STATE_CHANGE:
            body = notification.Body()
            ice = IceStateChangeNotification()
            ice.Init(body.Bytes, body.Pos)
            self.ice_state = ICE_STATES[ice.IceState()]
            self.on_ice_state_change.emit(self.ice_state)
        elif event == NotificationEvent.WEBRTCTRANSPORT_DTLS_STATE_CHANGE:
            body = notification.Body()
            dtls = DtlsStateChangeNotification()
            dtls.Init(body.Bytes, body.Pos)
            self.dtls_state = DTLS_STATES[dtls.DtlsState()]
            if self.dtls_state == "connected":
                cert = dtls.RemoteCert()
                self.dtls_remote_cert = cert.decode() if cert else None
            self.on_dtls_state_change.emit(self.dtls_state)
        elif event == NotificationEvent.WEBRTCTRANSPORT_ICE_SELECTED_TUPLE_CHANGE:
            body = notification.Body()
            tuple_change = IceSelectedTupleChangeNotification()
            tuple_change.Init(body.Bytes, body.Pos)
            selected = read_tuple(tuple_change.Tuple())
            if selected is not None:
                self.ice_selected_tuple = selected
                self.on_ice_selected_tuple_change.emit(selected)
        else:
            super()._on_notification(event, notification)

    def _mark_closed(self, reason: CloseReason) -> None:
        self.ice_state = "closed"
        self.ice_selected_tuple = None
        self.dtls_state = "closed"
        super()._mark_closed(reason)
        for event in (
            self.on_ice_state_change,
            self.on_dtls_state_change,
            self.on_ice_selected_tuple_change,
        ):
            event.clear()
