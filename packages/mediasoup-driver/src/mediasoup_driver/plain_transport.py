"""PlainTransport: plain RTP/RTCP (optionally SRTP) with a non-WebRTC endpoint.

This product ingests with it: an encoder (ffmpeg, GStreamer) sends RTP to the
transport's tuple. Two wirings work:
- ``comedia=True`` (+ rtcp-mux): the worker learns the sender's address from
  the first packet (``on_tuple`` fires); no connect call is needed.
- ``comedia=False``: ``connect(ip, port, rtcp_port)`` tells the worker where
  the endpoint is. The worker accepts RTP only from that address and sends
  RTCP (e.g. PLI key-frame requests) to ``rtcp_port`` — what an encoder that
  answers key-frame requests needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import flatbuffers

from . import messages
from .dumps import PlainTransportDump
from .errors import MediasoupTypeError
from .events import Event
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.PlainTransport import ConnectRequest as connect_fbs
from .fbs.FBS.PlainTransport import PlainTransportOptions as options_fbs
from .fbs.FBS.PlainTransport.ConnectResponse import ConnectResponse
from .fbs.FBS.PlainTransport.DumpResponse import DumpResponse, DumpResponseT
from .fbs.FBS.PlainTransport.GetStatsResponse import GetStatsResponse, GetStatsResponseT
from .fbs.FBS.PlainTransport.TupleNotification import TupleNotification
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CreatePlainTransportRequest as create_fbs
from .lifecycle import CloseReason, create_request
from .rtp_fbs import (
    SRTP_CRYPTO_SUITE_TO_FBS,
    SrtpParameters,
    read_srtp_parameters,
    write_srtp_parameters,
)
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
from .wire import body_as

SrtpCryptoSuite = Literal[
    "AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"
]


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


class PlainTransport(Transport):
    """A plain RTP transport. Create with ``Router.create_plain_transport``."""

    _DUMP = messages.Query(
        Method.TRANSPORT_DUMP, messages.plain_reader(DumpResponse, DumpResponseT)
    )
    _STATS = messages.Query(
        Method.TRANSPORT_GET_STATS, messages.plain_reader(GetStatsResponse, GetStatsResponseT)
    )
    kind_name = "plain_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        dump: DumpResponse,
    ) -> None:
        """Built by ``create`` from the worker's answer (a PlainTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.rtcp_mux: bool = dump.RtcpMux()
        self.comedia: bool = dump.Comedia()
        self.tuple: TransportTuple = read_tuple(dump.Tuple())  # type: ignore[assignment]
        self.rtcp_tuple: TransportTuple | None = read_tuple(dump.RtcpTuple())
        srtp = dump.SrtpParameters()
        self.srtp_parameters: SrtpParameters | None = (
            read_srtp_parameters(srtp) if srtp is not None else None
        )
        self.on_tuple: Event[TransportTuple] = Event("plain_transport.tuple")
        self.on_rtcp_tuple: Event[TransportTuple] = Event("plain_transport.rtcp_tuple")

    @classmethod
    async def create(
        cls, context: TransportContext, options: PlainTransportOptions
    ) -> PlainTransport:
        """Sends ROUTER_CREATE_PLAINTRANSPORT and builds the transport from the answer."""
        if options.srtp_crypto_suite not in SRTP_CRYPTO_SUITE_TO_FBS:
            raise MediasoupTypeError(
                f"srtp_crypto_suite: invalid value {options.srtp_crypto_suite!r}"
            )
        rtcp_mux = options.rtcp_mux and options.rtcp_listen_info is None
        transport_id = TransportId(str(uuid.uuid4()))

        def body(b: flatbuffers.Builder) -> int:
            tid = b.CreateString(transport_id)
            listen = write_listen_info(b, options.listen_info)
            rtcp_listen = (
                write_listen_info(b, options.rtcp_listen_info)
                if options.rtcp_listen_info is not None
                else None
            )
            base = write_base_options(
                b, initial_available_outgoing_bitrate=None, is_data_channel=False
            )
            options_fbs.Start(b)
            options_fbs.AddBase(b, base)
            options_fbs.AddListenInfo(b, listen)
            if rtcp_listen is not None:
                options_fbs.AddRtcpListenInfo(b, rtcp_listen)
            options_fbs.AddRtcpMux(b, rtcp_mux)
            options_fbs.AddComedia(b, options.comedia)
            options_fbs.AddEnableSrtp(b, options.enable_srtp)
            options_fbs.AddSrtpCryptoSuite(b, SRTP_CRYPTO_SUITE_TO_FBS[options.srtp_crypto_suite])
            plain_options = options_fbs.End(b)
            create_fbs.Start(b)
            create_fbs.AddTransportId(b, tid)
            create_fbs.AddOptions(b, plain_options)
            result: int = create_fbs.End(b)
            return result

        response = await create_request(
            context.channel,
            transport_id,
            context.transports,
            lambda: context.channel.request(
                Method.ROUTER_CREATE_PLAINTRANSPORT,
                context.router_id,
                RequestBody.Router_CreatePlainTransportRequest,
                body,
            ),
        )
        return cls(context, transport_id, options.app_data, body_as(response, DumpResponse))

    async def dump(self) -> PlainTransportDump:
        return cast(PlainTransportDump, await super().dump())

    async def connect(
        self,
        ip: str | None = None,
        port: int | None = None,
        rtcp_port: int | None = None,
        srtp_parameters: SrtpParameters | None = None,
    ) -> None:
        """Tells the worker where the remote endpoint is (not needed with comedia)."""
        self._check_open()
        if port is not None and not 0 < port < 65536:
            raise MediasoupTypeError(f"port: invalid value {port!r}")
        if rtcp_port is not None and not 0 < rtcp_port < 65536:
            raise MediasoupTypeError(f"rtcp_port: invalid value {rtcp_port!r}")

        def body(b: flatbuffers.Builder) -> int:
            ip_offset = b.CreateString(ip) if ip is not None else None
            srtp = write_srtp_parameters(b, srtp_parameters) if srtp_parameters else None
            connect_fbs.Start(b)
            if ip_offset is not None:
                connect_fbs.AddIp(b, ip_offset)
            if port is not None:
                connect_fbs.AddPort(b, port)
            if rtcp_port is not None:
                connect_fbs.AddRtcpPort(b, rtcp_port)
            if srtp is not None:
                connect_fbs.AddSrtpParameters(b, srtp)
            result: int = connect_fbs.End(b)
            return result

        response = await self._channel.request(
            Method.PLAINTRANSPORT_CONNECT, self.id, RequestBody.PlainTransport_ConnectRequest, body
        )
        reply = body_as(response, ConnectResponse)
        if reply.Tuple() is not None:
            self.tuple = read_tuple(reply.Tuple())  # type: ignore[assignment]
        if reply.RtcpTuple() is not None:
            self.rtcp_tuple = read_tuple(reply.RtcpTuple())
        if reply.SrtpParameters() is not None:
            self.srtp_parameters = read_srtp_parameters(reply.SrtpParameters())

    def _on_notification(self, event: int, notification: Any) -> None:
        if event in (
            NotificationEvent.PLAINTRANSPORT_TUPLE,
            NotificationEvent.PLAINTRANSPORT_RTCP_TUPLE,
        ):
            body = notification.Body()
            change = TupleNotification()  # same layout as RtcpTupleNotification
            change.Init(body.Bytes, body.Pos)
            new_tuple = read_tuple(change.Tuple())
            if new_tuple is None:
                return
            if event == NotificationEvent.PLAINTRANSPORT_TUPLE:
                self.tuple = new_tuple
                self.on_tuple.emit(new_tuple)
            else:
                self.rtcp_tuple = new_tuple
                self.on_rtcp_tuple.emit(new_tuple)
        else:
            super()._on_notification(event, notification)

    def _mark_closed(self, reason: CloseReason) -> None:
        super()._mark_closed(reason)
        self.on_tuple.clear()
        self.on_rtcp_tuple.clear()
