"""Router: one media room inside a worker (this product: one router per stream).

The router's RTP capabilities are computed here from its media codecs
(mediasoup never sends them to the worker). Producers are registered
router-wide, so any transport of the router can consume any of them.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import messages, ortc
from .errors import InvalidStateError, MediasoupError, NotFoundError
from .events import Event, OnceEvent
from .ids import new_uuid
from .lifecycle import Children, CloseReason, child_reason, soft_close
from .messages import RouterDump as RouterDump
from .messages import RouterId as RouterId
from .producer import Producer, ProducerId
from .rtp_parameters import RtpCapabilities, RtpCodecCapability
from .transport import Transport, TransportContext, TransportId

if TYPE_CHECKING:
    from .channel import Channel
    from .pipe_transport import PipeTransport, PipeTransportOptions
    from .plain_transport import PlainTransport, PlainTransportOptions
    from .webrtc_transport import WebRtcTransport, WebRtcTransportOptions

TransportT = TypeVar("TransportT", bound="Transport")

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class RouterOptions:
    """Options of ``Worker.create_router``."""

    media_codecs: list[RtpCodecCapability] = field(default_factory=list)
    """Codecs this router offers; payload types are assigned if not given. Empty: a
    router that can route nothing (useful only in tests of the bare entity)."""
    app_data: dict[str, Any] = field(default_factory=dict)


class Router:
    """Handle of a router living in a worker. Create it with ``Worker.create_router``."""

    def __init__(
        self,
        router_id: RouterId,
        channel: Channel,
        rtp_capabilities: RtpCapabilities,
        app_data: dict[str, Any],
        routers: Children[RouterId, Router],
    ) -> None:
        """Called by the worker once the worker created the router; joins ``routers``
        (the worker's registry), which closes it when the worker closes."""
        self.id = router_id
        self.app_data = app_data
        self._rtp_capabilities = rtp_capabilities
        """Shared with nobody who changes it: handed to transports read-only."""
        self._rtp_capabilities_json: str | None = None
        self._channel = channel
        self._closed = False
        self._registry = routers
        self._transports: Children[TransportId, Transport] = Children("router")
        self._producers: dict[ProducerId, Producer] = {}
        self._transport_context = TransportContext(
            channel=channel,
            router_id=router_id,
            transports=self._transports,
            get_router_rtp_capabilities=self._get_rtp_capabilities,
            get_producer_by_id=self._producers.get,
        )
        self.on_close: OnceEvent[CloseReason] = OnceEvent("router.close")
        """Fires once with the reason: "closed" (by us) or "worker closed"."""
        self.on_new_transport: Event[Transport] = Event("router.new_transport")
        routers.adopt(router_id, self, self._on_worker_closed)

    # -- state -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def rtp_capabilities(self) -> RtpCapabilities:
        """The router's RTP capabilities (a copy: changing it cannot change the router).

        Copied from JSON text made once per router: several times faster than
        copy.deepcopy, and this getter runs for every viewer that joins.
        """
        if self._rtp_capabilities_json is None:
            self._rtp_capabilities_json = json.dumps(self._rtp_capabilities)
        copied: RtpCapabilities = json.loads(self._rtp_capabilities_json)
        return copied

    def _get_rtp_capabilities(self) -> RtpCapabilities:
        return self._rtp_capabilities

    @property
    def transports(self) -> dict[TransportId, Transport]:
        return self._transports.snapshot()

    @property
    def producers(self) -> dict[ProducerId, Producer]:
        return dict(self._producers)

    def can_consume(self, producer_id: str, rtp_capabilities: RtpCapabilities) -> bool:
        """Whether an endpoint with these capabilities can consume the producer.

        False (never an exception) for an unknown producer and for capabilities
        that are malformed or do not match, as in mediasoup.
        """
        producer = self._producers.get(ProducerId(producer_id))
        if producer is None:
            _log.debug("can_consume: producer %s not found", producer_id)
            return False
        try:
            return ortc.can_consume(
                producer.consumable_rtp_parameters, copy.deepcopy(rtp_capabilities)
            )
        except (TypeError, MediasoupError) as error:
            _log.debug("can_consume: %s", error)
            return False

    def check_consume(
        self, producer_id: str, rtp_capabilities: RtpCapabilities, enable_rtx: bool | None = None
    ) -> None:
        """Raises what ``Transport.consume`` would raise for these capabilities, without
        creating anything: LookupError (unknown producer), TypeError (malformed
        capabilities), UnsupportedError (they cannot consume the producer).

        Callers that must not leave a half-created transport behind check first.
        The consumer parameters computed here are cached for the consume that follows.
        """
        producer = self._producers.get(ProducerId(producer_id))
        if producer is None:
            raise NotFoundError(f'Producer with id "{producer_id}" not found')
        producer.consume_plan(
            rtp_capabilities, producer.kind == "video" if enable_rtx is None else enable_rtx
        )

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("router closed")

    # -- transports ----------------------------------------------------------------------

    async def create_webrtc_transport(self, options: WebRtcTransportOptions) -> WebRtcTransport:
        from .webrtc_transport import WebRtcTransport

        self._check_open()
        return self._follow(await WebRtcTransport.create(self._transport_context, options))

    async def create_plain_transport(self, options: PlainTransportOptions) -> PlainTransport:
        from .plain_transport import PlainTransport

        self._check_open()
        return self._follow(await PlainTransport.create(self._transport_context, options))

    async def create_pipe_transport(self, options: PipeTransportOptions) -> PipeTransport:
        from .pipe_transport import PipeTransport

        self._check_open()
        return self._follow(await PipeTransport.create(self._transport_context, options))

    def _follow(self, transport: TransportT) -> TransportT:
        """The router-wide producer registry follows each transport's producer events
        (Node: ``@newproducer`` / ``@producerclose``)."""
        transport.on_new_producer.add_listener(self._on_new_producer)
        self.on_new_transport.emit(transport)
        return transport

    def _on_new_producer(self, producer: Producer) -> None:
        self._producers[producer.id] = producer

        def forget(_reason: object) -> None:
            if self._producers.get(producer.id) is producer:
                del self._producers[producer.id]

        producer.on_close.add_listener(forget)

    # -- dump / close --------------------------------------------------------------------

    async def dump(self) -> RouterDump:
        self._check_open()
        return await messages.ROUTER_DUMP.call(self._channel, self.id)

    async def close(self) -> None:
        """Closes the router in the worker (and, there, everything in it). Idempotent."""
        if self._closed:
            return
        self._mark_closed(CloseReason.CLOSED)
        await soft_close(
            lambda: messages.CLOSE_ROUTER.send(self._channel, "", self.id),
            "router",
            self.id,
        )

    def _on_worker_closed(self, reason: CloseReason) -> None:
        """The worker closed or died: everything below is gone."""
        if not self._closed:
            self._mark_closed(reason)

    def _mark_closed(self, reason: CloseReason) -> None:
        self._closed = True
        self._registry.leave(self.id, self)
        self._transports.close(child_reason(reason, CloseReason.ROUTER_CLOSED))
        self._producers.clear()
        self.on_close.emit(reason)
        self.on_new_transport.clear()


def new_router_id() -> RouterId:
    return RouterId(new_uuid())


def router_capabilities(options: RouterOptions) -> RtpCapabilities:
    """The router's capabilities; raises TypeError/UnsupportedError for bad codecs."""
    return ortc.generate_router_rtp_capabilities(options.media_codecs)
