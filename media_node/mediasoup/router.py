"""Router: one media room inside a worker.

At this layer a router is a bare worker entity (create, dump, close). Its RTP
capabilities are computed on our side (mediasoup never sends them to the
worker) and are added together with transports, producers and consumers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NewType

import flatbuffers

from .errors import InvalidStateError, MediasoupError
from .events import OnceEvent
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router.DumpResponse import DumpResponse
from .fbs.FBS.Worker import CloseRouterRequest as close_router_fbs
from .wire import body_as, strings

if TYPE_CHECKING:
    from .channel import Channel

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
    """Options of ``Worker.create_router``.

    ``app_data`` is the caller's own bookkeeping; the driver never reads it.
    """

    app_data: dict[str, Any] = field(default_factory=dict)


class Router:
    """Handle of a router living in a worker. Create it with ``Worker.create_router``."""

    def __init__(self, router_id: RouterId, channel: Channel, app_data: dict[str, Any]) -> None:
        self.id = router_id
        self.app_data = app_data
        self._channel = channel
        self._closed = False
        self.on_close: OnceEvent[str] = OnceEvent("router.close")
        """Fires once with the reason: "closed" (by us) or "worker closed"."""

    @property
    def closed(self) -> bool:
        return self._closed

    async def dump(self) -> RouterDump:
        if self._closed:
            raise InvalidStateError("router closed")
        response = await self._channel.request(Method.ROUTER_DUMP, self.id)
        body = body_as(response, DumpResponse)
        producers: dict[str, list[str]] = {}
        for i in range(body.MapProducerIdConsumerIdsLength()):
            entry = body.MapProducerIdConsumerIds(i)
            producers[entry.Key().decode()] = [
                entry.Values(j).decode() for j in range(entry.ValuesLength())
            ]
        consumers: dict[str, str] = {}
        for i in range(body.MapConsumerIdProducerIdLength()):
            pair = body.MapConsumerIdProducerId(i)
            consumers[pair.Key().decode()] = pair.Value().decode()
        return RouterDump(
            id=RouterId(body.Id().decode()),
            transport_ids=strings(body.TransportIdsLength(), body.TransportIds),
            rtp_observer_ids=strings(body.RtpObserverIdsLength(), body.RtpObserverIds),
            map_producer_id_consumer_ids=producers,
            map_consumer_id_producer_id=consumers,
        )

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
        self.on_close.emit(reason)
