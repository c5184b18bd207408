"""Router: one media room inside a worker (this product: one router per stream).

The router's RTP capabilities are computed here from its media codecs
(mediasoup never sends them to the worker). Producers are registered
router-wide, so any transport of the router can consume any of them.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NewType

import flatbuffers

from . import fbs_reader as fr
from . import ortc
from .errors import InvalidStateError, MediasoupError
from .events import Event, OnceEvent
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CloseTransportRequest as close_transport_fbs
from .fbs.FBS.Worker import CloseRouterRequest as close_router_fbs
from .rtp_parameters import RtpCapabilities, RtpCodecCapability
from .wire import RequestTemplate, Sentinels, body_position

if TYPE_CHECKING:
    from .channel import Channel
    from .fbs.FBS.Response.Response import Response
    from .pipe_transport import PipeTransport, PipeTransportOptions
    from .plain_transport import PlainTransport, PlainTransportOptions
    from .producer import Producer, ProducerId
    from .transport import Transport, TransportId
    from .webrtc_transport import WebRtcTransport, WebRtcTransportOptions

RouterId = NewType("RouterId", str)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouterDump:
    """What the worker holds for a router (ROUTER_DUMP)."""

    id: RouterId
    transport_ids: list[str]
    rtp_observer_ids: list[str]
    map_producer_id_consumer_ids: dict[str, list[str]]
    map_consumer_id_producer_id: dict[str, str]


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
    ) -> None:
        self.id = router_id
        self.app_data = app_data
        self._rtp_capabilities = rtp_capabilities
        self._rtp_capabilities_json: str | None = None
        self._channel = channel
        self._closed = False
        self._transports: dict[TransportId, Transport] = {}
        self._producers: dict[ProducerId, Producer] = {}
        self.on_close: OnceEvent[str] = OnceEvent("router.close")
        """Fires once with the reason: "closed" (by us) or "worker closed"."""
        self.on_new_transport: Event[Transport] = Event("router.new_transport")

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

    @property
    def transports(self) -> dict[TransportId, Transport]:
        return dict(self._transports)

    @property
    def producers(self) -> dict[ProducerId, Producer]:
        return dict(self._producers)

    def can_consume(self, producer_id: str, rtp_capabilities: RtpCapabilities) -> bool:
        """Whether an endpoint with these capabilities can consume the producer.

        False (never an exception) for an unknown producer and for capabilities
        that are malformed or do not match, as in mediasoup.
        """
        producer = self._producers.get(producer_id)  # type: ignore[call-overload]
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
        producer = self._producers.get(producer_id)  # type: ignore[call-overload]
        if producer is None:
            raise LookupError(f'Producer with id "{producer_id}" not found')
        producer._consume_plan(
            rtp_capabilities, producer.kind == "video" if enable_rtx is None else enable_rtx
        )

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("router closed")

    # -- transports ----------------------------------------------------------------------

    async def create_webrtc_transport(self, options: WebRtcTransportOptions) -> WebRtcTransport:
        from .webrtc_transport import WebRtcTransport

        self._check_open()
        transport = await WebRtcTransport.create(self, self._channel, options)
        return self._adopt(transport)

    async def create_plain_transport(self, options: PlainTransportOptions) -> PlainTransport:
        from .plain_transport import PlainTransport

        self._check_open()
        transport = await PlainTransport.create(self, self._channel, options)
        return self._adopt(transport)

    async def create_pipe_transport(self, options: PipeTransportOptions) -> PipeTransport:
        from .pipe_transport import PipeTransport

        self._check_open()
        transport = await PipeTransport.create(self, self._channel, options)
        return self._adopt(transport)

    def _close_transport_request(self, transport_id: str) -> Awaitable[Response]:
        """Sends ROUTER_CLOSE_TRANSPORT for ``transport_id`` from the channel's template."""
        template = self._channel.template_for("router_close_transport", self._close_template)
        return self._channel.send(template, {"router_id": self.id, "transport_id": transport_id})

    def _close_template(self) -> RequestTemplate:
        sentinels = Sentinels()
        transport_id = sentinels.uuid("transport_id")

        def body(b: flatbuffers.Builder) -> int:
            offset = b.CreateString(transport_id)
            close_transport_fbs.Start(b)
            close_transport_fbs.AddTransportId(b, offset)
            return close_transport_fbs.End(b)

        return self._channel.template(
            Method.ROUTER_CLOSE_TRANSPORT,
            sentinels.uuid("router_id"),
            RequestBody.Router_CloseTransportRequest,
            body,
            sentinels=sentinels,
        )

    def _adopt(self, transport: Any) -> Any:
        if self._closed:  # closed while the create request was in flight
            transport._router_closed("router closed")
            raise InvalidStateError("router closed while creating a transport")
        self._transports[transport.id] = transport
        transport.on_close.add_listener(lambda _reason: self._transports.pop(transport.id, None))
        self.on_new_transport.emit(transport)
        return transport

    # -- producers registry (router-wide) ------------------------------------------------

    def _get_producer(self, producer_id: ProducerId) -> Producer | None:
        return self._producers.get(producer_id)

    def _add_producer(self, producer: Producer) -> None:
        self._producers[producer.id] = producer

    def _remove_producer(self, producer: Producer) -> None:
        if self._producers.get(producer.id) is producer:
            del self._producers[producer.id]

    # -- dump / close --------------------------------------------------------------------

    async def dump(self) -> RouterDump:
        self._check_open()
        response = await self._channel.request(Method.ROUTER_DUMP, self.id)
        return read_router_dump(*body_position(response))

    async def close(self) -> None:
        """Closes the router in the worker (and, there, everything in it). Idempotent."""
        if self._closed:
            return
        self._mark_closed("closed")
        router_id = self.id

        def body(b: flatbuffers.Builder) -> int:
            offset = b.CreateString(router_id)
            close_router_fbs.Start(b)
            close_router_fbs.AddRouterId(b, offset)
            return close_router_fbs.End(b)

        try:
            await self._channel.request(
                Method.WORKER_CLOSE_ROUTER, "", RequestBody.Worker_CloseRouterRequest, body
            )
        except MediasoupError as error:
            # The worker is gone or already dropped the router: nothing left to free.
            _log.debug("closing router %s: %s", self.id, error)

    def _worker_closed(self) -> None:
        """Called by the worker when it closes or dies: everything below is gone."""
        if not self._closed:
            self._mark_closed("worker closed")

    def _mark_closed(self, reason: str) -> None:
        self._closed = True
        child_reason = "router closed" if reason == "closed" else reason
        for transport in list(self._transports.values()):
            transport._router_closed(child_reason)
        self._transports.clear()
        self._producers.clear()
        self.on_close.emit(reason)
        self.on_new_transport.clear()


def read_router_dump(buf: bytes, dump: int) -> RouterDump:
    """Router.DumpResponse: id 0, transport_ids 1, rtp_observer_ids 2,
    map_producer_id_consumer_ids 3 (key 0, values 1), map_consumer_id_producer_id 4
    (key 0, value 1)."""
    producers: dict[str, list[str]] = {}
    start, count = fr.read_vector(buf, dump, 3)
    for i in range(count):
        entry = fr.table_in_vector(buf, start, i)
        producers[fr.read_string(buf, entry, 0) or ""] = fr.read_strings(buf, entry, 1)
    consumers: dict[str, str] = {}
    start, count = fr.read_vector(buf, dump, 4)
    for i in range(count):
        pair = fr.table_in_vector(buf, start, i)
        consumers[fr.read_string(buf, pair, 0) or ""] = fr.read_string(buf, pair, 1) or ""
    return RouterDump(
        id=RouterId(fr.read_string(buf, dump, 0) or ""),
        transport_ids=fr.read_strings(buf, dump, 1),
        rtp_observer_ids=fr.read_strings(buf, dump, 2),
        map_producer_id_consumer_ids=producers,
        map_consumer_id_producer_id=consumers,
    )


def new_router_id() -> RouterId:
    return RouterId(str(uuid.uuid4()))


def router_capabilities(options: RouterOptions) -> RtpCapabilities:
    """The router's capabilities; raises TypeError/UnsupportedError for bad codecs."""
    return ortc.generate_router_rtp_capabilities(options.media_codecs)
