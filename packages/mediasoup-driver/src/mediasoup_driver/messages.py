"""Worker requests whose body is one id: create/close of routers, transports, producers,
consumers.

Each is described once (method, body type, how the body is written) and sent
from a channel-wide template with the ids patched in, so entities never build
FlatBuffers for them. Like the Rust crate's ``messages.rs``, one description per
call; the reply of these requests has no body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flatbuffers

from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CloseTransportRequest as close_transport_fbs
from .fbs.FBS.Transport import CloseConsumerRequest as close_consumer_fbs
from .fbs.FBS.Transport import CloseProducerRequest as close_producer_fbs
from .fbs.FBS.Worker import CloseRouterRequest as close_router_fbs
from .fbs.FBS.Worker import CreateRouterRequest as create_router_fbs
from .wire import UUID_LENGTH, RequestTemplate, Sentinels

if TYPE_CHECKING:
    import asyncio

    from .channel import Channel
    from .fbs.FBS.Response.Response import Response


def _is_uuid_shaped(value: str) -> bool:
    return len(value) == UUID_LENGTH and value.isascii()


@dataclass(frozen=True, slots=True)
class IdRequest:
    """A request addressed to ``handler_id`` (the worker: "") with a body of one id."""

    method: int
    body_type: int
    start: Callable[[flatbuffers.Builder], None]
    add_id: Callable[[flatbuffers.Builder, int], None]
    end: Callable[[flatbuffers.Builder], int]

    def send(self, channel: Channel, handler_id: str, entity_id: str) -> asyncio.Future[Response]:
        """Sends the request; from the channel's template when the ids are UUIDs (always,
        except producer ids an application chose itself)."""
        if _is_uuid_shaped(entity_id) and (not handler_id or _is_uuid_shaped(handler_id)):
            template = channel.template_for(
                (self.method, bool(handler_id)), lambda: self._template(channel, bool(handler_id))
            )
            values = {"entity_id": entity_id}
            if handler_id:
                values["handler_id"] = handler_id
            return channel.send(template, values)
        return channel.request(self.method, handler_id, self.body_type, self._writer(entity_id))

    def _writer(self, entity_id: str) -> Callable[[flatbuffers.Builder], int]:
        def body(b: flatbuffers.Builder) -> int:
            offset = b.CreateString(entity_id)
            self.start(b)
            self.add_id(b, offset)
            return self.end(b)

        return body

    def _template(self, channel: Channel, addressed: bool) -> RequestTemplate:
        sentinels = Sentinels()
        entity_id = sentinels.uuid("entity_id")
        handler_id = sentinels.uuid("handler_id") if addressed else ""
        return channel.template(
            self.method, handler_id, self.body_type, self._writer(entity_id), sentinels=sentinels
        )


CREATE_ROUTER = IdRequest(
    Method.WORKER_CREATE_ROUTER,
    RequestBody.Worker_CreateRouterRequest,
    create_router_fbs.Start,
    create_router_fbs.AddRouterId,
    create_router_fbs.End,
)
"""To the worker: router id. Router RTP capabilities never go to the worker."""

CLOSE_ROUTER = IdRequest(
    Method.WORKER_CLOSE_ROUTER,
    RequestBody.Worker_CloseRouterRequest,
    close_router_fbs.Start,
    close_router_fbs.AddRouterId,
    close_router_fbs.End,
)
"""To the worker: router id."""

CLOSE_TRANSPORT = IdRequest(
    Method.ROUTER_CLOSE_TRANSPORT,
    RequestBody.Router_CloseTransportRequest,
    close_transport_fbs.Start,
    close_transport_fbs.AddTransportId,
    close_transport_fbs.End,
)
"""To the router: transport id (there is no TRANSPORT_CLOSE method)."""

CLOSE_PRODUCER = IdRequest(
    Method.TRANSPORT_CLOSE_PRODUCER,
    RequestBody.Transport_CloseProducerRequest,
    close_producer_fbs.Start,
    close_producer_fbs.AddProducerId,
    close_producer_fbs.End,
)
"""To the transport: producer id."""

CLOSE_CONSUMER = IdRequest(
    Method.TRANSPORT_CLOSE_CONSUMER,
    RequestBody.Transport_CloseConsumerRequest,
    close_consumer_fbs.Start,
    close_consumer_fbs.AddConsumerId,
    close_consumer_fbs.End,
)
"""To the transport: consumer id."""
