"""PipeTransport: carries producers between routers, possibly on other hosts.

Used for cross-node fan-out: a producer on node A is consumed into a
PipeTransport, whose twin on node B (``connect(ip, port)`` to each other)
produces it there with the same id. Pipe consumers carry all the producer's
streams unchanged (no bandwidth estimation; RTX/NACK only with ``enable_rtx``).
"""

from __future__ import annotations

from typing import Any, cast

from . import ortc, transport_messages
from .consume_plan import consume_parameters
from .consumer import Consumer, ConsumerId, ConsumerOptions
from .dumps import PipeTransportDump
from .errors import MediasoupTypeError
from .ids import new_uuid
from .lifecycle import create_request
from .options import PipeTransportOptions as PipeTransportOptions
from .options import TransportTuple
from .rtp_fbs import SrtpParameters
from .transport import Transport, TransportContext, TransportId


class PipeTransport(Transport):
    """A pipe transport. Create with ``Router.create_pipe_transport``."""

    _DUMP = transport_messages.PIPE_TRANSPORT_DUMP
    _STATS = transport_messages.PIPE_TRANSPORT_GET_STATS
    kind_name = "pipe_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        state: transport_messages.PipeTransportState,
    ) -> None:
        """Built by ``create`` from the worker's answer (a PipeTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.tuple: TransportTuple = state.tuple
        self.rtx: bool = state.rtx
        self.srtp_parameters: SrtpParameters | None = state.srtp_parameters

    @classmethod
    async def create(
        cls, context: TransportContext, options: PipeTransportOptions
    ) -> PipeTransport:
        """Sends ROUTER_CREATE_PIPETRANSPORT and builds the transport from the answer."""
        transport_id = TransportId(new_uuid())
        params = transport_messages.CreateTransport(transport_id, options)
        state = await create_request(
            context.channel,
            transport_id,
            context.transports,
            lambda: transport_messages.CREATE_PIPE_TRANSPORT.call(
                context.channel, context.router_id, params
            ),
        )
        return cls(context, transport_id, options.app_data, state)

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
        self.tuple = await transport_messages.PIPE_TRANSPORT_CONNECT.call(
            self._channel, self.id, transport_messages.PipeConnect(ip, port, srtp_parameters)
        )

    async def consume(self, options: ConsumerOptions) -> Consumer:
        """Pipe consumers take all the producer's streams; capabilities are not used."""
        self._check_open()
        producer = self._producer_to_consume(options.producer_id)
        rtp_parameters = ortc.get_pipe_consumer_rtp_parameters(
            producer.consumable_rtp_parameters, enable_rtx=self.rtx
        )
        consumer_id = ConsumerId(new_uuid())
        params = consume_parameters(producer, consumer_id, rtp_parameters, True, False, None, False)
        return await self._create_consumer(
            producer,
            consumer_id,
            rtp_parameters,
            "pipe",
            options.app_data,
            lambda: transport_messages.TRANSPORT_CONSUME.call(self._channel, self.id, params),
        )
