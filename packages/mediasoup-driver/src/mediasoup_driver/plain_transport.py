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

from typing import Any, cast

from . import transport_messages
from .dumps import PlainTransportDump
from .errors import MediasoupTypeError
from .events import Event
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.PlainTransport.TupleNotification import TupleNotification
from .ids import new_uuid
from .lifecycle import CloseReason, create_request
from .options import SRTP_CRYPTO_SUITES, TransportTuple
from .options import PlainTransportOptions as PlainTransportOptions
from .rtp_fbs import SrtpCryptoSuite as SrtpCryptoSuite
from .rtp_fbs import SrtpParameters
from .transport import Transport, TransportContext, TransportId


class PlainTransport(Transport):
    """A plain RTP transport. Create with ``Router.create_plain_transport``."""

    _DUMP = transport_messages.PLAIN_TRANSPORT_DUMP
    _STATS = transport_messages.PLAIN_TRANSPORT_GET_STATS
    kind_name = "plain_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        state: transport_messages.PlainTransportState,
    ) -> None:
        """Built by ``create`` from the worker's answer (a PlainTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.rtcp_mux: bool = state.rtcp_mux
        self.comedia: bool = state.comedia
        self.tuple: TransportTuple = state.tuple
        self.rtcp_tuple: TransportTuple | None = state.rtcp_tuple
        self.srtp_parameters: SrtpParameters | None = state.srtp_parameters
        self.on_tuple: Event[TransportTuple] = Event("plain_transport.tuple")
        self.on_rtcp_tuple: Event[TransportTuple] = Event("plain_transport.rtcp_tuple")

    @classmethod
    async def create(
        cls, context: TransportContext, options: PlainTransportOptions
    ) -> PlainTransport:
        """Sends ROUTER_CREATE_PLAINTRANSPORT and builds the transport from the answer."""
        if options.srtp_crypto_suite not in SRTP_CRYPTO_SUITES:
            raise MediasoupTypeError(
                f"srtp_crypto_suite: invalid value {options.srtp_crypto_suite!r}"
            )
        transport_id = TransportId(new_uuid())
        params = transport_messages.CreateTransport(transport_id, options)
        state = await create_request(
            context.channel,
            transport_id,
            context.transports,
            lambda: transport_messages.CREATE_PLAIN_TRANSPORT.call(
                context.channel, context.router_id, params
            ),
        )
        return cls(context, transport_id, options.app_data, state)

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
        connected = await transport_messages.PLAIN_TRANSPORT_CONNECT.call(
            self._channel,
            self.id,
            transport_messages.PlainConnect(ip, port, rtcp_port, srtp_parameters),
        )
        if connected.tuple is not None:
            self.tuple = connected.tuple
        if connected.rtcp_tuple is not None:
            self.rtcp_tuple = connected.rtcp_tuple
        if connected.srtp_parameters is not None:
            self.srtp_parameters = connected.srtp_parameters

    def _on_notification(self, event: int, notification: Any) -> None:
        if event in (
            NotificationEvent.PLAINTRANSPORT_TUPLE,
            NotificationEvent.PLAINTRANSPORT_RTCP_TUPLE,
        ):
            body = notification.Body()
            change = TupleNotification()  # same layout as RtcpTupleNotification
            change.Init(body.Bytes, body.Pos)
            new_tuple = transport_messages.read_tuple(change.Tuple())
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
