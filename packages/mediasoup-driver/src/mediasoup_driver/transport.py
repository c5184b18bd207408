"""Transport: what every transport kind shares (produce, consume, close, dump, stats).

A transport carries media between the worker and one remote peer. Producers
created on it inject media into the router; consumers created on it send a
producer's media out. Closing a transport closes both kinds, and the worker
then closes every consumer of its producers on other transports (they see
``producer_close``). Subclasses: WebRtcTransport, PlainTransport, PipeTransport.
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from . import messages, ortc, transport_messages
from .channel import Channel
from .consume_plan import consume_parameters
from .consumer import Consumer, ConsumerContext, ConsumerId, ConsumerOptions
from .dumps import TransportDump
from .errors import InvalidStateError, MediasoupTypeError, NotFoundError
from .events import Event, OnceEvent
from .ids import new_uuid
from .lifecycle import Children, CloseReason, child_reason, soft_close
from .options import ListenInfo as ListenInfo
from .options import TransportId as TransportId
from .options import TransportProtocol as TransportProtocol
from .options import TransportTuple as TransportTuple
from .producer import Producer, ProducerContext, ProducerId, ProducerOptions
from .rtp_parameters import RtpCapabilities, RtpParameters
from .transport_messages import TRANSPORT_CONSUME, ConsumeReply

_log = logging.getLogger(__name__)

MAX_MID = 100_000_000
"""mediasoup uses at most 8 characters for a consumer's MID and wraps to 0 there."""


@dataclass(frozen=True, slots=True)
class TransportContext:
    """What a transport gets from its router (Node: ``getRouterRtpCapabilities``,
    ``getProducerById`` and the router's registry), instead of the router itself."""

    channel: Channel
    router_id: str
    transports: Children[TransportId, Transport]
    """The router's registry: the transport joins it and leaves it when it closes."""
    get_router_rtp_capabilities: Callable[[], RtpCapabilities]
    """The router's capabilities, shared: read them, never change them."""
    get_producer_by_id: Callable[[ProducerId], Producer | None]
    """Any producer of the router (consumers may take any transport's producers)."""


class Transport:
    """Base of every transport. Created by the Router; use its create_* methods."""

    kind_name = "transport"

    def __init__(
        self, context: TransportContext, transport_id: TransportId, app_data: dict[str, Any]
    ) -> None:
        """Called once the worker created the transport; joins the router's registry
        and subscribes to the transport's notifications (held until now)."""
        self.id = transport_id
        self.router_id = context.router_id
        self.app_data = app_data
        self._context = context
        self._channel = context.channel
        self._closed = False
        self._producers: Children[ProducerId, Producer] = Children(self.kind_name)
        self._consumers: Children[ConsumerId, Consumer] = Children(self.kind_name)
        self._cname_for_producers: str | None = None
        self._next_mid = 0
        self.on_close: OnceEvent[CloseReason] = OnceEvent(f"{self.kind_name}.close")
        """Fires once with the reason: "closed", "router closed" or "worker closed"."""
        self.on_new_producer: Event[Producer] = Event("transport.new_producer")
        self.on_new_consumer: Event[Consumer] = Event("transport.new_consumer")
        context.transports.adopt(transport_id, self, self._on_router_closed)
        self._unsubscribe = self._channel.subscribe(transport_id, self._on_notification)

    # -- state -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def producers(self) -> dict[ProducerId, Producer]:
        return self._producers.snapshot()

    @property
    def consumers(self) -> dict[ConsumerId, Consumer]:
        return self._consumers.snapshot()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError(f"{self.kind_name} closed")

    # -- dump / stats --------------------------------------------------------------------

    _DUMP: ClassVar[messages.Query[Any]]
    """This kind's TRANSPORT_DUMP (the reply's type depends on the kind)."""
    _STATS: ClassVar[messages.Query[Any]]
    """This kind's TRANSPORT_GET_STATS."""

    async def dump(self) -> TransportDump:
        """What the worker holds for this transport, as it reports it (each kind
        narrows the type: WebRtcTransportDump, PlainTransportDump, PipeTransportDump)."""
        self._check_open()
        return cast(TransportDump, await self._DUMP.call(self._channel, self.id))

    async def get_stats(self) -> dict[str, Any]:
        """Transport statistics (bytes, bitrates, tuples) as mediasoup reports them."""
        self._check_open()
        stats: dict[str, Any] = await self._STATS.call(self._channel, self.id)
        return stats

    # -- bitrate limits --------------------------------------------------------------------

    async def set_max_incoming_bitrate(self, bitrate: int) -> None:
        """Caps what the remote side may send to this transport (bps; 0 removes the cap).

        Raises TypeError (MediasoupTypeError) for a negative or non-integer value.
        """
        await self._set_bitrate(transport_messages.TRANSPORT_SET_MAX_INCOMING_BITRATE, bitrate)

    async def set_max_outgoing_bitrate(self, bitrate: int) -> None:
        """A ceiling for this transport's send-side bandwidth estimate (bps; 0: none).

        The worker refuses (TypeError) values below its absolute minimum (30 kbit/s) or
        below the current minimum outgoing bitrate.
        """
        await self._set_bitrate(transport_messages.TRANSPORT_SET_MAX_OUTGOING_BITRATE, bitrate)

    async def set_min_outgoing_bitrate(self, bitrate: int) -> None:
        """A floor for this transport's send-side bandwidth estimate (bps; 0: none):
        the worker never assumes less is available when it picks consumers' layers.

        The worker refuses (TypeError) values below 30 kbit/s or above the current
        maximum outgoing bitrate.
        """
        await self._set_bitrate(transport_messages.TRANSPORT_SET_MIN_OUTGOING_BITRATE, bitrate)

    async def _set_bitrate(self, request: messages.Request[int, None], bitrate: int) -> None:
        self._check_open()
        if not isinstance(bitrate, int) or isinstance(bitrate, bool) or bitrate < 0:
            raise MediasoupTypeError("bitrate must be a non-negative integer (bps)")
        await request.call(self._channel, self.id, bitrate)

    # -- notifications -------------------------------------------------------------------

    def _on_notification(self, event: int, notification: Any) -> None:
        """Subclasses handle their own events; the base has none to act on."""
        _log.debug("%s %s: unhandled notification %d", self.kind_name, self.id, event)

    # -- close ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Closes the transport, its producers and consumers. Idempotent."""
        if self._closed:
            return
        self._mark_closed(CloseReason.CLOSED)
        await soft_close(
            lambda: messages.CLOSE_TRANSPORT.send(self._channel, self.router_id, self.id),
            self.kind_name,
            self.id,
        )

    def _on_router_closed(self, reason: CloseReason) -> None:
        """The router (or worker) is gone: everything below is already gone in the worker."""
        if not self._closed:
            self._mark_closed(reason)

    def _mark_closed(self, reason: CloseReason) -> None:
        self._closed = True
        self._unsubscribe()
        self._context.transports.leave(self.id, self)
        below = child_reason(reason, CloseReason.TRANSPORT_CLOSED)
        self._producers.close(below)
        self._consumers.close(below)
        self.on_close.emit(reason)
        self.on_new_producer.clear()
        self.on_new_consumer.clear()

    # -- produce -------------------------------------------------------------------------

    async def produce(self, options: ProducerOptions) -> Producer:
        """Creates a producer: media the remote peer sends into the router."""
        self._check_open()
        if options.kind not in ("audio", "video"):
            raise MediasoupTypeError(f"invalid kind {options.kind!r}")
        producer_id = ProducerId(options.id or new_uuid())
        # The id may also be live in another router of this worker (the worker refuses it
        # then); subscribing a new producer under it would steal the live one's notifications.
        if self._context.get_producer_by_id(producer_id) is not None or (
            self._channel.is_subscribed(producer_id)
        ):
            raise MediasoupTypeError(f'a Producer with same id "{producer_id}" already exists')
        rtp_parameters: RtpParameters = copy.deepcopy(options.rtp_parameters)
        ortc.validate_and_normalize_rtp_parameters(rtp_parameters)
        if not rtp_parameters.get("encodings"):
            rtp_parameters["encodings"] = [{}]
        self._assign_cname(rtp_parameters)
        router_caps = self._context.get_router_rtp_capabilities()
        mapping = ortc.get_producer_rtp_parameters_mapping(rtp_parameters, router_caps)
        consumable = ortc.get_consumable_rtp_parameters(
            options.kind, rtp_parameters, router_caps, mapping
        )
        producer = await Producer.create(
            ProducerContext(self._channel, self.id, self._producers),
            producer_id,
            options,
            rtp_parameters,
            consumable,
            mapping,
            transport=self,
        )
        self.on_new_producer.emit(producer)
        return producer

    def _assign_cname(self, rtp_parameters: RtpParameters) -> None:
        """One CNAME per transport for all its producers (they share a sender's clock),
        as mediasoup does; pipe transports keep each producer's own."""
        rtcp = rtp_parameters.setdefault("rtcp", {})
        if self.kind_name == "pipe_transport":
            rtcp.setdefault("cname", secrets.token_hex(4))
            return
        if self._cname_for_producers is None:
            self._cname_for_producers = rtcp.get("cname") or new_uuid()[:8]
        rtcp["cname"] = self._cname_for_producers

    # -- consume -------------------------------------------------------------------------

    def _producer_to_consume(self, producer_id: str) -> Producer:
        producer = self._context.get_producer_by_id(ProducerId(producer_id))
        if producer is None:
            raise NotFoundError(f'Producer with id "{producer_id}" not found')
        return producer

    async def consume(self, options: ConsumerOptions) -> Consumer:
        """Creates a consumer sending ``options.producer_id``'s media to the remote peer.

        Raises TypeError for malformed capabilities, LookupError for an unknown
        producer, UnsupportedError when the capabilities cannot consume it.
        """
        self._check_open()
        if options.mid is not None and not options.mid:
            raise MediasoupTypeError("if given, mid must be a non-empty string")
        producer = self._producer_to_consume(options.producer_id)
        enable_rtx = producer.kind == "video" if options.enable_rtx is None else options.enable_rtx
        consumer_id = ConsumerId(new_uuid())
        if options.pipe:
            # All of the producer's streams, fresh SSRCs: nothing worth caching.
            caps = copy.deepcopy(options.rtp_capabilities)
            ortc.validate_and_normalize_rtp_capabilities(caps)
            rtp_parameters = ortc.get_consumer_rtp_parameters(
                producer.consumable_rtp_parameters, caps, pipe=True, enable_rtx=enable_rtx
            )
            plan = None
        else:
            plan = producer.consume_plan(options.rtp_capabilities, enable_rtx)
            if options.mid is not None:
                mid = options.mid
            else:
                mid = str(self._next_mid)
                self._next_mid = (self._next_mid + 1) % MAX_MID
            rtp_parameters = plan.rtp_parameters(mid, ortc.generate_random_number())
        if plan is not None and options.preferred_layers is None and not options.ignore_dtx:
            templated = plan

            def send() -> Awaitable[ConsumeReply]:
                return templated.send(
                    self._channel, self.id, consumer_id, rtp_parameters, options.paused
                )

        else:
            params = consume_parameters(
                producer,
                consumer_id,
                rtp_parameters,
                options.pipe,
                options.paused,
                options.preferred_layers,
                options.ignore_dtx,
            )

            def send() -> Awaitable[ConsumeReply]:
                return TRANSPORT_CONSUME.call(self._channel, self.id, params)

        return await self._create_consumer(
            producer,
            consumer_id,
            rtp_parameters,
            "pipe" if options.pipe else producer.type,
            options.app_data,
            send,
        )

    async def _create_consumer(
        self,
        producer: Producer,
        consumer_id: ConsumerId,
        rtp_parameters: RtpParameters,
        consumer_type: str,
        app_data: dict[str, Any],
        send: Callable[[], Awaitable[ConsumeReply]],
    ) -> Consumer:
        """The one path that makes a Consumer for every transport kind."""
        consumer = await Consumer.create(
            ConsumerContext(self._channel, self.id, self._consumers),
            consumer_id=consumer_id,
            producer=producer,
            rtp_parameters=rtp_parameters,
            consumer_type=consumer_type,
            app_data=app_data,
            send=send,
            transport=self,
        )
        self.on_new_consumer.emit(consumer)
        return consumer
