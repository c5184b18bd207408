"""PipeTransport: carries producers between routers, possibly on other hosts.

Used for cross-node fan-out: a producer on node A is consumed into a
PipeTransport, whose twin on node B (``connect(ip, port)`` to each other)
produces it there with the same id. Pipe consumers carry all the producer's
streams unchanged (no bandwidth estimation; RTX/NACK only with ``enable_rtx``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import flatbuffers

from . import messages, ortc
from .consume_plan import consume_request_body
from .consumer import Consumer, ConsumerId, ConsumerOptions
from .dumps import PipeTransportDump
from .errors import MediasoupTypeError
from .fbs.FBS.PipeTransport import ConnectRequest as connect_fbs
from .fbs.FBS.PipeTransport import PipeTransportOptions as options_fbs
from .fbs.FBS.PipeTransport.ConnectResponse import ConnectResponse
from .fbs.FBS.PipeTransport.DumpResponse import DumpResponse, DumpResponseT
from .fbs.FBS.PipeTransport.GetStatsResponse import GetStatsResponse, GetStatsResponseT
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CreatePipeTransportRequest as create_fbs
from .lifecycle import create_request
from .rtp_fbs import SrtpParameters, read_srtp_parameters, write_srtp_parameters
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


@dataclass(frozen=True, slots=True)
class PipeTransportOptions:
    """Options of ``Router.create_pipe_transport``; defaults are mediasoup's."""

    listen_info: ListenInfo
    enable_rtx: bool = False
    enable_srtp: bool = False
    app_data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class PipeTransport(Transport):
    """A pipe transport. Create with ``Router.create_pipe_transport``."""

    _DUMP = messages.Query(
        Method.TRANSPORT_DUMP, messages.plain_reader(DumpResponse, DumpResponseT)
    )
    _STATS = messages.Query(
        Method.TRANSPORT_GET_STATS, messages.plain_reader(GetStatsResponse, GetStatsResponseT)
    )
    kind_name = "pipe_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        dump: DumpResponse,
    ) -> None:
        """Built by ``create`` from the worker's answer (a PipeTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.tuple: TransportTuple = read_tuple(dump.Tuple())  # type: ignore[assignment]
        self.rtx: bool = dump.Rtx()
        srtp = dump.SrtpParameters()
        self.srtp_parameters: SrtpParameters | None = (
            read_srtp_parameters(srtp) if srtp is not None else None
        )

    @classmethod
    async def create(
        cls, context: TransportContext, options: PipeTransportOptions
    ) -> PipeTransport:
        """Sends ROUTER_CREATE_PIPETRANSPORT and builds the transport from the answer."""
        transport_id = TransportId(str(uuid.uuid4()))

        def body(b: flatbuffers.Builder) -> int:
            tid = b.CreateString(transport_id)
            listen = write_listen_info(b, options.listen_info)
            base = write_base_options(
                b, initial_available_outgoing_bitrate=None, is_data_channel=False
            )
            options_fbs.Start(b)
            options_fbs.AddBase(b, base)
            options_fbs.AddListenInfo(b, listen)
            options_fbs.AddEnableRtx(b, options.enable_rtx)
            options_fbs.AddEnableSrtp(b, options.enable_srtp)
            pipe_options = options_fbs.End(b)
            create_fbs.Start(b)
            create_fbs.AddTransportId(b, tid)
            create_fbs.AddOptions(b, pipe_options)
            result: int = create_fbs.End(b)
            return result

        response = await create_request(
            context.channel,
            transport_id,
            context.transports,
            lambda: context.channel.request(
                Method.ROUTER_CREATE_PIPETRANSPORT,
                context.router_id,
                RequestBody.Router_CreatePipeTransportRequest,
                body,
            ),
        )
        return cls(context, transport_id, options.app_data, body_as(response, DumpResponse))

    async def dump(self) -> PipeTransportDump:
        return cast(PipeTransportDump, await super().dump())

    async def connect(
        self, ip: str, port: int, srtp_parameters: SrtpParameters | None = None
    ) -> None:
        """Points this pipe at its twin's tuple."""
        self._check_open()
        if not isinstance(ip, str) or not ip:
            raise MediasoupTypeError("ip: required")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise MediasoupTypeError(f"port: invalid value {port!r}")

        def body(b: flatbuffers.Builder) -> int:
            ip_offset = b.CreateString(ip)
            srtp = write_srtp_parameters(b, srtp_parameters) if srtp_parameters else None
            connect_fbs.Start(b)
            connect_fbs.AddIp(b, ip_offset)
            connect_fbs.AddPort(b, port)
            if srtp is not None:
                connect_fbs.AddSrtpParameters(b, srtp)
            result: int = connect_fbs.End(b)
            return result

        response = await self._channel.request(
            Method.PIPETRANSPORT_CONNECT, self.id, RequestBody.PipeTransport_ConnectRequest, body
        )
        self.tuple = read_tuple(body_as(response, ConnectResponse).Tuple())  # type: ignore[assignment]

    async def consume(self, options: ConsumerOptions) -> Consumer:
        """Pipe consumers take all the producer's streams; capabilities are not used."""
        self._check_open()
        producer = self._producer_to_consume(options.producer_id)
        rtp_parameters = ortc.get_pipe_consumer_rtp_parameters(
            producer.consumable_rtp_parameters, enable_rtx=self.rtx
        )
        consumer_id = ConsumerId(str(uuid.uuid4()))
        body = consume_request_body(producer, consumer_id, rtp_parameters, True, False, None, False)
        return await self._create_consumer(
            producer,
            consumer_id,
            rtp_parameters,
            "pipe",
            options.app_data,
            lambda: self._channel.request(
                Method.TRANSPORT_CONSUME, self.id, RequestBody.Transport_ConsumeRequest, body
            ),
        )
