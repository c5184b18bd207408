"""Transport requests on the wire: create, connect, restart ICE, dump/stats, produce, consume.

The transport half of the wire layer (messages.py has the mechanism and the
other entities' requests). Each request is one ``messages.Request`` (or
``Query``): method, body writer from typed parameters, reply reader into the
types of options.py. The entity modules call these and never touch the
generated FlatBuffers code.

Hot requests: creating a WebRTC transport is sent from a channel template per
options value (``create_webrtc_transport``); consume from a template per
consume plan (consume_plan.py) — both through ``Request.template`` with this
module's body writers, so the templated and the built request cannot differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast

import flatbuffers

from . import fbs_reader as fr
from .fbs.FBS.PipeTransport import ConnectRequest as pipe_connect_fbs
from .fbs.FBS.PipeTransport import PipeTransportOptions as pipe_options_fbs
from .fbs.FBS.PipeTransport.ConnectResponse import ConnectResponse as PipeConnectResponse
from .fbs.FBS.PipeTransport.DumpResponse import DumpResponse as PipeDumpResponse
from .fbs.FBS.PipeTransport.DumpResponse import DumpResponseT as PipeDumpResponseT
from .fbs.FBS.PipeTransport.GetStatsResponse import GetStatsResponse as PipeStatsResponse
from .fbs.FBS.PipeTransport.GetStatsResponse import GetStatsResponseT as PipeStatsResponseT
from .fbs.FBS.PlainTransport import ConnectRequest as plain_connect_fbs
from .fbs.FBS.PlainTransport import PlainTransportOptions as plain_options_fbs
from .fbs.FBS.PlainTransport.ConnectResponse import ConnectResponse as PlainConnectResponse
from .fbs.FBS.PlainTransport.DumpResponse import DumpResponse as PlainDumpResponse
from .fbs.FBS.PlainTransport.DumpResponse import DumpResponseT as PlainDumpResponseT
from .fbs.FBS.PlainTransport.GetStatsResponse import GetStatsResponse as PlainStatsResponse
from .fbs.FBS.PlainTransport.GetStatsResponse import GetStatsResponseT as PlainStatsResponseT
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CreatePipeTransportRequest as create_pipe_fbs
from .fbs.FBS.Router import CreatePlainTransportRequest as create_plain_fbs
from .fbs.FBS.Router import CreateWebRtcTransportRequest as create_webrtc_fbs
from .fbs.FBS.RtpParameters.MediaKind import MediaKind as FbsMediaKind
from .fbs.FBS.RtpParameters.Type import Type as FbsRtpType
from .fbs.FBS.Transport import ConsumeRequest as consume_fbs
from .fbs.FBS.Transport import ListenInfo as listen_info_fbs
from .fbs.FBS.Transport import Options as options_fbs
from .fbs.FBS.Transport import PortRange as port_range_fbs
from .fbs.FBS.Transport import ProduceRequest as produce_fbs
from .fbs.FBS.Transport import SetMaxIncomingBitrateRequest as max_incoming_fbs
from .fbs.FBS.Transport import SetMaxOutgoingBitrateRequest as max_outgoing_fbs
from .fbs.FBS.Transport import SetMinOutgoingBitrateRequest as min_outgoing_fbs
from .fbs.FBS.Transport import SocketFlags as socket_flags_fbs
from .fbs.FBS.Transport.Protocol import Protocol as FbsProtocol
from .fbs.FBS.Transport.RestartIceResponse import RestartIceResponse
from .fbs.FBS.Transport.Tuple import Tuple as FbsTuple
from .fbs.FBS.WebRtcTransport import ConnectRequest as webrtc_connect_fbs
from .fbs.FBS.WebRtcTransport import DtlsParameters as dtls_parameters_fbs
from .fbs.FBS.WebRtcTransport import Fingerprint as fingerprint_fbs
from .fbs.FBS.WebRtcTransport import ListenIndividual as listen_individual_fbs
from .fbs.FBS.WebRtcTransport import WebRtcTransportOptions as webrtc_options_fbs
from .fbs.FBS.WebRtcTransport.ConnectResponse import ConnectResponse as WebRtcConnectResponse
from .fbs.FBS.WebRtcTransport.DumpResponse import DumpResponse as WebRtcDumpResponse
from .fbs.FBS.WebRtcTransport.DumpResponse import DumpResponseT as WebRtcDumpResponseT
from .fbs.FBS.WebRtcTransport.GetStatsResponse import GetStatsResponse as WebRtcStatsResponse
from .fbs.FBS.WebRtcTransport.GetStatsResponse import GetStatsResponseT as WebRtcStatsResponseT
from .fbs.FBS.WebRtcTransport.Listen import Listen
from .messages import Query, Request, body_reader, no_reply, plain_reader, read_consumer_layers
from .messages import write_consumer_layers as write_consumer_layers
from .options import (
    DTLS_ROLES,
    DTLS_STATES,
    FINGERPRINT_ALGORITHMS,
    ICE_STATES,
    ConsumerLayers,
    DtlsFingerprint,
    DtlsParameters,
    DtlsRole,
    DtlsState,
    IceCandidate,
    IceParameters,
    IceState,
    ListenInfo,
    PipeTransportOptions,
    PlainTransportOptions,
    ProducerType,
    TransportTuple,
    WebRtcTransportOptions,
)
from .rtp_fbs import (
    SRTP_CRYPTO_SUITE_TO_FBS,
    SrtpParameters,
    read_srtp_parameters,
    write_rtp_encoding_parameters,
    write_rtp_mapping,
    write_rtp_parameters,
    write_srtp_parameters,
)
from .rtp_parameters import MediaKind, RtpEncodingParameters, RtpMapping, RtpParameters
from .wire import RequestTemplate, Sentinels, body_as

if TYPE_CHECKING:
    from .channel import Channel
    from .wire import Reply

RTP_TYPE_NAMES: dict[int, ProducerType] = {
    FbsRtpType.SIMPLE: "simple",
    FbsRtpType.SIMULCAST: "simulcast",
    FbsRtpType.SVC: "svc",
    FbsRtpType.PIPE: "pipe",
}
RTP_TYPE_VALUES = {name: value for value, name in RTP_TYPE_NAMES.items()}
KIND_VALUES = {"audio": FbsMediaKind.AUDIO, "video": FbsMediaKind.VIDEO}
_PROTOCOLS = {1: "udp", 2: "tcp"}


# -- shared tables ------------------------------------------------------------------------


def write_listen_info(b: flatbuffers.Builder, info: ListenInfo) -> int:
    """Serialises a ListenInfo. port_range and flags are required tables: the worker
    dereferences them without checking, so they are always written."""
    ip = b.CreateString(info.ip)
    announced = b.CreateString(info.announced_address) if info.announced_address else None
    port_range_fbs.Start(b)
    port_range_fbs.AddMin(b, info.port_range[0])
    port_range_fbs.AddMax(b, info.port_range[1])
    port_range = port_range_fbs.End(b)
    socket_flags_fbs.Start(b)
    socket_flags_fbs.AddIpv6Only(b, info.ipv6_only)
    socket_flags_fbs.AddUdpReusePort(b, info.udp_reuse_port)
    flags = socket_flags_fbs.End(b)
    listen_info_fbs.Start(b)
    listen_info_fbs.AddProtocol(b, FbsProtocol.UDP if info.protocol == "udp" else FbsProtocol.TCP)
    listen_info_fbs.AddIp(b, ip)
    if announced is not None:
        listen_info_fbs.AddAnnouncedAddress(b, announced)
    listen_info_fbs.AddExposeInternalIp(b, info.expose_internal_ip)
    listen_info_fbs.AddPort(b, info.port)
    listen_info_fbs.AddPortRange(b, port_range)
    listen_info_fbs.AddFlags(b, flags)
    listen_info_fbs.AddSendBufferSize(b, info.send_buffer_size)
    listen_info_fbs.AddRecvBufferSize(b, info.recv_buffer_size)
    result: int = listen_info_fbs.End(b)
    return result


def write_base_options(
    b: flatbuffers.Builder,
    *,
    initial_available_outgoing_bitrate: int | None,
    is_data_channel: bool,
    max_message_size: int = 262144,
) -> int:
    """Transport.Options with SCTP disabled (this product carries no data channels)."""
    options_fbs.Start(b)
    if initial_available_outgoing_bitrate is not None:
        options_fbs.AddInitialAvailableOutgoingBitrate(b, initial_available_outgoing_bitrate)
    options_fbs.AddEnableSctp(b, False)
    options_fbs.AddMaxSendMessageSize(b, max_message_size)
    options_fbs.AddMaxReceiveMessageSize(b, max_message_size)
    options_fbs.AddIsDataChannel(b, is_data_channel)
    result: int = options_fbs.End(b)
    return result


def read_tuple(table: FbsTuple | None) -> TransportTuple | None:
    """A Transport.Tuple (in replies and in tuple notifications) as a TransportTuple."""
    if table is None:
        return None
    remote_ip = table.RemoteIp()
    return TransportTuple(
        local_address=table.LocalAddress().decode(),
        local_port=table.LocalPort(),
        protocol="udp" if table.Protocol() == FbsProtocol.UDP else "tcp",
        remote_ip=remote_ip.decode() if remote_ip else None,
        remote_port=table.RemotePort() if remote_ip else None,
    )


def _vector(b: flatbuffers.Builder, start: Any, offsets: Sequence[int]) -> int:
    start(b, len(offsets))
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    result: int = b.EndVector()
    return result


def _dump_and_stats(
    dump: tuple[type[Any], type[Any]], stats: tuple[type[Any], type[Any]]
) -> tuple[Query[Any], Query[dict[str, Any]]]:
    return (
        Query(Method.TRANSPORT_DUMP, plain_reader(*dump)),
        Query(Method.TRANSPORT_GET_STATS, plain_reader(*stats)),
    )


# -- WebRTC transport ---------------------------------------------------------------------


OptionsT = TypeVar("OptionsT", WebRtcTransportOptions, PlainTransportOptions, PipeTransportOptions)


class CreateTransport(NamedTuple, Generic[OptionsT]):
    """Parameters of a create-transport request: our id for it, and its options."""

    transport_id: str
    options: OptionsT


class WebRtcTransportState(NamedTuple):
    """What a WebRtcTransport keeps from the worker's answer to its creation."""

    ice_parameters: IceParameters
    ice_candidates: list[IceCandidate]
    dtls_parameters: DtlsParameters
    ice_state: IceState
    dtls_state: DtlsState


def _write_create_webrtc(
    b: flatbuffers.Builder, params: CreateTransport[WebRtcTransportOptions]
) -> int:
    options = params.options
    tid = b.CreateString(params.transport_id)
    infos = [write_listen_info(b, info) for info in options.listen_infos]
    infos_vector = _vector(b, listen_individual_fbs.StartListenInfosVector, infos)
    listen_individual_fbs.Start(b)
    listen_individual_fbs.AddListenInfos(b, infos_vector)
    listen = listen_individual_fbs.End(b)
    base = write_base_options(
        b,
        initial_available_outgoing_bitrate=options.initial_available_outgoing_bitrate,
        is_data_channel=True,
    )
    webrtc_options_fbs.Start(b)
    webrtc_options_fbs.AddBase(b, base)
    webrtc_options_fbs.AddListenType(b, Listen.ListenIndividual)
    webrtc_options_fbs.AddListen(b, listen)
    webrtc_options_fbs.AddEnableUdp(b, options.enable_udp)
    webrtc_options_fbs.AddEnableTcp(b, options.enable_tcp)
    webrtc_options_fbs.AddPreferUdp(b, options.prefer_udp)
    webrtc_options_fbs.AddPreferTcp(b, options.prefer_tcp)
    webrtc_options_fbs.AddIceConsentTimeout(b, options.ice_consent_timeout)
    webrtc_options = webrtc_options_fbs.End(b)
    create_webrtc_fbs.Start(b)
    create_webrtc_fbs.AddTransportId(b, tid)
    create_webrtc_fbs.AddOptions(b, webrtc_options)
    result: int = create_webrtc_fbs.End(b)
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


def read_webrtc_transport_dump(buf: bytes, dump: int) -> WebRtcTransportState:
    """What callers use of a WebRtcTransport.DumpResponse (the answer to its creation):
    base 0, ice_role 1, ice_parameters 2, ice_candidates 3, ice_state 4,
    ice_selected_tuple 5, dtls_parameters 6, dtls_state 7. Read by direct struct
    reads: every viewer's transport is created with one."""
    ice = fr.read_table(buf, dump, 2)
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
    return WebRtcTransportState(
        ice_parameters={
            "usernameFragment": fr.read_string(buf, ice, 0) or "",
            "password": fr.read_string(buf, ice, 1) or "",
            "iceLite": fr.read_bool(buf, ice, 2, default=True),
        },
        ice_candidates=candidates,
        dtls_parameters=_read_dtls_parameters(buf, fr.read_table(buf, dump, 6)),
        ice_state=ICE_STATES[fr.read_u8(buf, dump, 4)],
        dtls_state=DTLS_STATES[fr.read_u8(buf, dump, 7)],
    )


CREATE_WEBRTC_TRANSPORT = Request(
    Method.ROUTER_CREATE_WEBRTCTRANSPORT,
    RequestBody.Router_CreateWebRtcTransportRequest,
    _write_create_webrtc,
    body_reader(read_webrtc_transport_dump),
)
"""To the router: transport id and WebRtcTransportOptions; the reply is the transport's dump."""


def _create_webrtc_template(channel: Channel, options: WebRtcTransportOptions) -> RequestTemplate:
    sentinels = Sentinels()
    params = CreateTransport(sentinels.uuid("transport_id"), options)
    return CREATE_WEBRTC_TRANSPORT.template(channel, sentinels.uuid("router_id"), params, sentinels)


async def create_webrtc_transport(
    channel: Channel, router_id: str, transport_id: str, options: WebRtcTransportOptions
) -> WebRtcTransportState:
    """Sends CREATE_WEBRTC_TRANSPORT from the channel's template for ``options``: every
    viewer's transport looks the same, so the request is serialised once per channel
    and options value, with the router and transport ids patched per send."""
    template = channel.template_for(
        ("webrtc_create", options), lambda: _create_webrtc_template(channel, options)
    )
    return await CREATE_WEBRTC_TRANSPORT.call_template(
        channel, template, {"router_id": router_id, "transport_id": transport_id}
    )


def _write_webrtc_connect(b: flatbuffers.Builder, params: DtlsParameters) -> int:
    """WebRtcTransport.ConnectRequest from normalised DTLS parameters (role and
    fingerprints present, algorithms lower-case)."""
    values = [b.CreateString(f["value"]) for f in params["fingerprints"]]
    offsets = []
    for fingerprint, value in zip(params["fingerprints"], values, strict=True):
        fingerprint_fbs.Start(b)
        fingerprint_fbs.AddAlgorithm(b, FINGERPRINT_ALGORITHMS.index(fingerprint["algorithm"]))
        fingerprint_fbs.AddValue(b, value)
        offsets.append(fingerprint_fbs.End(b))
    vector = _vector(b, dtls_parameters_fbs.StartFingerprintsVector, offsets)
    dtls_parameters_fbs.Start(b)
    dtls_parameters_fbs.AddFingerprints(b, vector)
    dtls_parameters_fbs.AddRole(b, DTLS_ROLES.index(params["role"]))
    dtls = dtls_parameters_fbs.End(b)
    webrtc_connect_fbs.Start(b)
    webrtc_connect_fbs.AddDtlsParameters(b, dtls)
    result: int = webrtc_connect_fbs.End(b)
    return result


def _read_webrtc_connect(reply: Reply) -> DtlsRole:
    role: int = body_as(reply, WebRtcConnectResponse).DtlsLocalRole()
    return DTLS_ROLES[role]


WEBRTC_TRANSPORT_CONNECT = Request(
    Method.WEBRTCTRANSPORT_CONNECT,
    RequestBody.WebRtcTransport_ConnectRequest,
    _write_webrtc_connect,
    _read_webrtc_connect,
)
"""To the transport: the peer's DTLS parameters; the reply is our local DTLS role."""


def _read_restart_ice(buf: bytes, pos: int) -> IceParameters:
    reply = RestartIceResponse()
    reply.Init(buf, pos)
    return {
        "usernameFragment": reply.UsernameFragment().decode(),
        "password": reply.Password().decode(),
        "iceLite": reply.IceLite(),
    }


TRANSPORT_RESTART_ICE = Query(Method.TRANSPORT_RESTART_ICE, _read_restart_ice)
"""To the transport (no body): new ICE username fragment and password."""

WEBRTC_TRANSPORT_DUMP, WEBRTC_TRANSPORT_GET_STATS = _dump_and_stats(
    (WebRtcDumpResponse, WebRtcDumpResponseT), (WebRtcStatsResponse, WebRtcStatsResponseT)
)


# -- plain transport ----------------------------------------------------------------------


class PlainTransportState(NamedTuple):
    """What a PlainTransport keeps from the worker's answer to its creation."""

    rtcp_mux: bool
    comedia: bool
    tuple: TransportTuple
    rtcp_tuple: TransportTuple | None
    srtp_parameters: SrtpParameters | None


def _write_create_plain(
    b: flatbuffers.Builder, params: CreateTransport[PlainTransportOptions]
) -> int:
    options = params.options
    # A separate RTCP socket forces rtcp_mux off, as mediasoup does.
    rtcp_mux = options.rtcp_mux and options.rtcp_listen_info is None
    tid = b.CreateString(params.transport_id)
    listen = write_listen_info(b, options.listen_info)
    rtcp_listen = (
        write_listen_info(b, options.rtcp_listen_info)
        if options.rtcp_listen_info is not None
        else None
    )
    base = write_base_options(b, initial_available_outgoing_bitrate=None, is_data_channel=False)
    plain_options_fbs.Start(b)
    plain_options_fbs.AddBase(b, base)
    plain_options_fbs.AddListenInfo(b, listen)
    if rtcp_listen is not None:
        plain_options_fbs.AddRtcpListenInfo(b, rtcp_listen)
    plain_options_fbs.AddRtcpMux(b, rtcp_mux)
    plain_options_fbs.AddComedia(b, options.comedia)
    plain_options_fbs.AddEnableSrtp(b, options.enable_srtp)
    plain_options_fbs.AddSrtpCryptoSuite(b, SRTP_CRYPTO_SUITE_TO_FBS[options.srtp_crypto_suite])
    plain_options = plain_options_fbs.End(b)
    create_plain_fbs.Start(b)
    create_plain_fbs.AddTransportId(b, tid)
    create_plain_fbs.AddOptions(b, plain_options)
    result: int = create_plain_fbs.End(b)
    return result


def _read_create_plain(reply: Reply) -> PlainTransportState:
    dump = body_as(reply, PlainDumpResponse)
    srtp = dump.SrtpParameters()
    return PlainTransportState(
        rtcp_mux=dump.RtcpMux(),
        comedia=dump.Comedia(),
        tuple=cast(TransportTuple, read_tuple(dump.Tuple())),
        rtcp_tuple=read_tuple(dump.RtcpTuple()),
        srtp_parameters=read_srtp_parameters(srtp) if srtp is not None else None,
    )


CREATE_PLAIN_TRANSPORT = Request(
    Method.ROUTER_CREATE_PLAINTRANSPORT,
    RequestBody.Router_CreatePlainTransportRequest,
    _write_create_plain,
    _read_create_plain,
)
"""To the router: transport id and PlainTransportOptions; the reply is the transport's dump."""


class PlainConnect(NamedTuple):
    """Parameters of PLAINTRANSPORT_CONNECT; None fields are left out."""

    ip: str | None
    port: int | None
    rtcp_port: int | None
    srtp_parameters: SrtpParameters | None


class PlainConnected(NamedTuple):
    """The tuples and SRTP parameters in the reply (None: not in the reply)."""

    tuple: TransportTuple | None
    rtcp_tuple: TransportTuple | None
    srtp_parameters: SrtpParameters | None


def _write_plain_connect(b: flatbuffers.Builder, params: PlainConnect) -> int:
    ip = b.CreateString(params.ip) if params.ip is not None else None
    srtp = write_srtp_parameters(b, params.srtp_parameters) if params.srtp_parameters else None
    plain_connect_fbs.Start(b)
    if ip is not None:
        plain_connect_fbs.AddIp(b, ip)
    if params.port is not None:
        plain_connect_fbs.AddPort(b, params.port)
    if params.rtcp_port is not None:
        plain_connect_fbs.AddRtcpPort(b, params.rtcp_port)
    if srtp is not None:
        plain_connect_fbs.AddSrtpParameters(b, srtp)
    result: int = plain_connect_fbs.End(b)
    return result


def _read_plain_connect(reply: Reply) -> PlainConnected:
    connected = body_as(reply, PlainConnectResponse)
    srtp = connected.SrtpParameters()
    return PlainConnected(
        tuple=read_tuple(connected.Tuple()),
        rtcp_tuple=read_tuple(connected.RtcpTuple()),
        srtp_parameters=read_srtp_parameters(srtp) if srtp is not None else None,
    )


PLAIN_TRANSPORT_CONNECT = Request(
    Method.PLAINTRANSPORT_CONNECT,
    RequestBody.PlainTransport_ConnectRequest,
    _write_plain_connect,
    _read_plain_connect,
)
"""To the transport: where the remote endpoint is."""

PLAIN_TRANSPORT_DUMP, PLAIN_TRANSPORT_GET_STATS = _dump_and_stats(
    (PlainDumpResponse, PlainDumpResponseT), (PlainStatsResponse, PlainStatsResponseT)
)


# -- pipe transport -----------------------------------------------------------------------


class PipeTransportState(NamedTuple):
    """What a PipeTransport keeps from the worker's answer to its creation."""

    tuple: TransportTuple
    rtx: bool
    srtp_parameters: SrtpParameters | None


def _write_create_pipe(
    b: flatbuffers.Builder, params: CreateTransport[PipeTransportOptions]
) -> int:
    options = params.options
    tid = b.CreateString(params.transport_id)
    listen = write_listen_info(b, options.listen_info)
    base = write_base_options(b, initial_available_outgoing_bitrate=None, is_data_channel=False)
    pipe_options_fbs.Start(b)
    pipe_options_fbs.AddBase(b, base)
    pipe_options_fbs.AddListenInfo(b, listen)
    pipe_options_fbs.AddEnableRtx(b, options.enable_rtx)
    pipe_options_fbs.AddEnableSrtp(b, options.enable_srtp)
    pipe_options = pipe_options_fbs.End(b)
    create_pipe_fbs.Start(b)
    create_pipe_fbs.AddTransportId(b, tid)
    create_pipe_fbs.AddOptions(b, pipe_options)
    result: int = create_pipe_fbs.End(b)
    return result


def _read_create_pipe(reply: Reply) -> PipeTransportState:
    dump = body_as(reply, PipeDumpResponse)
    srtp = dump.SrtpParameters()
    return PipeTransportState(
        tuple=cast(TransportTuple, read_tuple(dump.Tuple())),
        rtx=dump.Rtx(),
        srtp_parameters=read_srtp_parameters(srtp) if srtp is not None else None,
    )


CREATE_PIPE_TRANSPORT = Request(
    Method.ROUTER_CREATE_PIPETRANSPORT,
    RequestBody.Router_CreatePipeTransportRequest,
    _write_create_pipe,
    _read_create_pipe,
)
"""To the router: transport id and PipeTransportOptions; the reply is the transport's dump."""


class PipeConnect(NamedTuple):
    """Parameters of PIPETRANSPORT_CONNECT: the twin's tuple, optional SRTP."""

    ip: str
    port: int
    srtp_parameters: SrtpParameters | None


def _write_pipe_connect(b: flatbuffers.Builder, params: PipeConnect) -> int:
    ip = b.CreateString(params.ip)
    srtp = write_srtp_parameters(b, params.srtp_parameters) if params.srtp_parameters else None
    pipe_connect_fbs.Start(b)
    pipe_connect_fbs.AddIp(b, ip)
    pipe_connect_fbs.AddPort(b, params.port)
    if srtp is not None:
        pipe_connect_fbs.AddSrtpParameters(b, srtp)
    result: int = pipe_connect_fbs.End(b)
    return result


def _read_pipe_connect(reply: Reply) -> TransportTuple:
    return cast(TransportTuple, read_tuple(body_as(reply, PipeConnectResponse).Tuple()))


PIPE_TRANSPORT_CONNECT = Request(
    Method.PIPETRANSPORT_CONNECT,
    RequestBody.PipeTransport_ConnectRequest,
    _write_pipe_connect,
    _read_pipe_connect,
)
"""To the transport: the twin's tuple; the reply is this pipe's tuple."""

PIPE_TRANSPORT_DUMP, PIPE_TRANSPORT_GET_STATS = _dump_and_stats(
    (PipeDumpResponse, PipeDumpResponseT), (PipeStatsResponse, PipeStatsResponseT)
)


# -- produce ------------------------------------------------------------------------------


class Produce(NamedTuple):
    """Parameters of TRANSPORT_PRODUCE (mediasoup's Transport.produce)."""

    producer_id: str
    kind: MediaKind
    rtp_parameters: RtpParameters
    rtp_mapping: RtpMapping
    paused: bool
    key_frame_request_delay: int
    enable_mediasoup_packet_id_header_extension: bool


def _write_produce(b: flatbuffers.Builder, params: Produce) -> int:
    pid = b.CreateString(params.producer_id)
    rtp_parameters = write_rtp_parameters(b, params.rtp_parameters)
    rtp_mapping = write_rtp_mapping(b, params.rtp_mapping)
    produce_fbs.Start(b)
    produce_fbs.AddProducerId(b, pid)
    produce_fbs.AddKind(b, KIND_VALUES[params.kind])
    produce_fbs.AddRtpParameters(b, rtp_parameters)
    produce_fbs.AddRtpMapping(b, rtp_mapping)
    produce_fbs.AddPaused(b, params.paused)
    produce_fbs.AddKeyFrameRequestDelay(b, params.key_frame_request_delay)
    produce_fbs.AddEnableMediasoupPacketIdHeaderExtension(
        b, params.enable_mediasoup_packet_id_header_extension
    )
    result: int = produce_fbs.End(b)
    return result


TRANSPORT_PRODUCE = Request(
    Method.TRANSPORT_PRODUCE,
    RequestBody.Transport_ProduceRequest,
    _write_produce,
    body_reader(lambda buf, reply: RTP_TYPE_NAMES[fr.read_u8(buf, reply, 0)]),
)
"""To the transport; the reply (ProduceResponse: type 0) is the producer's type."""


# -- consume ------------------------------------------------------------------------------


class Consume(NamedTuple):
    """Parameters of TRANSPORT_CONSUME (mediasoup's createConsumeRequest)."""

    consumer_id: str
    producer_id: str
    kind: MediaKind
    rtp_parameters: RtpParameters
    consumer_type: ProducerType
    """The producer's type, or "pipe" for pipe consumers."""
    consumable_encodings: list[RtpEncodingParameters]
    """The producer's consumable encodings (the worker maps them to this consumer's)."""
    paused: bool
    preferred_layers: ConsumerLayers | None
    ignore_dtx: bool


class ConsumeReply(NamedTuple):
    """The consumer's state in the worker's answer to TRANSPORT_CONSUME."""

    paused: bool
    producer_paused: bool
    score: dict[str, Any]
    preferred_layers: ConsumerLayers | None


def _write_consume(b: flatbuffers.Builder, params: Consume) -> int:
    cid = b.CreateString(params.consumer_id)
    pid = b.CreateString(params.producer_id)
    rtp_parameters = write_rtp_parameters(b, params.rtp_parameters)
    encodings = [write_rtp_encoding_parameters(b, e) for e in params.consumable_encodings]
    encodings_vector = _vector(b, consume_fbs.StartConsumableRtpEncodingsVector, encodings)
    layers = None
    if params.preferred_layers is not None:
        layers = write_consumer_layers(b, params.preferred_layers)
    consume_fbs.Start(b)
    consume_fbs.AddConsumerId(b, cid)
    consume_fbs.AddProducerId(b, pid)
    consume_fbs.AddKind(b, KIND_VALUES[params.kind])
    consume_fbs.AddRtpParameters(b, rtp_parameters)
    consume_fbs.AddType(b, RTP_TYPE_VALUES[params.consumer_type])
    consume_fbs.AddConsumableRtpEncodings(b, encodings_vector)
    consume_fbs.AddPaused(b, params.paused)
    if layers is not None:
        consume_fbs.AddPreferredLayers(b, layers)
    consume_fbs.AddIgnoreDtx(b, params.ignore_dtx)
    result: int = consume_fbs.End(b)
    return result


def read_consume_response(buf: bytes, table: int) -> ConsumeReply:
    """Transport.ConsumeResponse: paused 0, producer_paused 1, score 2 (ConsumerScore:
    score 0, producer_score 1, producer_scores 2), preferred_layers 3. Read by direct
    struct reads: every viewer's consume gets one."""
    score = fr.read_table(buf, table, 2)
    start, count = fr.read_vector(buf, score, 2)
    layers = fr.read_table(buf, table, 3)
    return ConsumeReply(
        paused=fr.read_bool(buf, table, 0),
        producer_paused=fr.read_bool(buf, table, 1),
        score={
            "score": fr.read_u8(buf, score, 0),
            "producerScore": fr.read_u8(buf, score, 1),
            "producerScores": list(buf[start : start + count]),
        },
        preferred_layers=read_consumer_layers(buf, layers) if layers else None,
    )


TRANSPORT_CONSUME = Request(
    Method.TRANSPORT_CONSUME,
    RequestBody.Transport_ConsumeRequest,
    _write_consume,
    body_reader(read_consume_response),
)
"""To the transport; sent from a consume plan's template for ordinary viewers."""


# -- bitrate limits (all transport kinds) --------------------------------------------------


def _bitrate_writer(module: Any, add: str) -> Any:
    """A body writer for one of the three one-field SetXxxBitrateRequest tables."""
    add_field = getattr(module, add)

    def write(b: flatbuffers.Builder, bitrate: int) -> int:
        module.Start(b)
        add_field(b, bitrate)
        result: int = module.End(b)
        return result

    return write


TRANSPORT_SET_MAX_INCOMING_BITRATE: Request[int, None] = Request(
    Method.TRANSPORT_SET_MAX_INCOMING_BITRATE,
    RequestBody.Transport_SetMaxIncomingBitrateRequest,
    _bitrate_writer(max_incoming_fbs, "AddMaxIncomingBitrate"),
    no_reply,
)
"""To the transport: the most the remote may send (bps, 0 = unlimited; REMB to senders)."""
TRANSPORT_SET_MAX_OUTGOING_BITRATE: Request[int, None] = Request(
    Method.TRANSPORT_SET_MAX_OUTGOING_BITRATE,
    RequestBody.Transport_SetMaxOutgoingBitrateRequest,
    _bitrate_writer(max_outgoing_fbs, "AddMaxOutgoingBitrate"),
    no_reply,
)
"""To the transport: a ceiling for the send-side bandwidth estimate (bps, 0 = none)."""
TRANSPORT_SET_MIN_OUTGOING_BITRATE: Request[int, None] = Request(
    Method.TRANSPORT_SET_MIN_OUTGOING_BITRATE,
    RequestBody.Transport_SetMinOutgoingBitrateRequest,
    _bitrate_writer(min_outgoing_fbs, "AddMinOutgoingBitrate"),
    no_reply,
)
"""To the transport: a floor for the send-side bandwidth estimate (bps, 0 = none)."""
