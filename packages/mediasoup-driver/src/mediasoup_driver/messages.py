"""Worker requests described once each, like the Rust crate's ``messages.rs``.

- ``IdRequest``: requests whose body is one id (create/close of routers,
  transports, producers, consumers): method, body type, how the body is
  written; sent from a channel-wide template with the ids patched in. Their
  reply has no body.
- ``Query``: body-less requests and how their reply is read, with the typed
  replies: worker and router dumps and resource usage (they repeat — monitoring
  polls them — so they are read by direct struct reads, not the generated
  per-field readers), and the dumps and stats of transports, producers and
  consumers (read rarely: through the generated object API).
- ``Command``: body-less requests whose reply carries nothing (pause, resume,
  key-frame requests).
- ``Request``: requests with a real body: method, body type, how the body is
  written from typed parameters, how the reply is read (worker settings,
  consumer priority and layers here; transport requests — create, connect,
  restart ICE, produce, consume — in transport_messages.py).

Entities call these descriptions and never build FlatBuffers themselves. What
a failure of a request means is the caller's: close requests go through
lifecycle.soft_close (the Rust crate's ``default_for_soft_error``: an entity
the worker already freed is closed), everything else raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, NewType, TypeVar, cast

import flatbuffers

from . import fbs_reader as fr
from .dumps import ConsumerDump, ProducerDump
from .fbs.FBS.Consumer import ConsumerLayers as consumer_layers_fbs
from .fbs.FBS.Consumer import SetPreferredLayersRequest as set_preferred_layers_fbs
from .fbs.FBS.Consumer import SetPriorityRequest as set_priority_fbs
from .fbs.FBS.Consumer.DumpResponse import DumpResponse as ConsumerDumpResponse
from .fbs.FBS.Consumer.DumpResponse import DumpResponseT as ConsumerDumpResponseT
from .fbs.FBS.Consumer.GetStatsResponse import GetStatsResponse as ConsumerGetStatsResponse
from .fbs.FBS.Producer.DumpResponse import DumpResponse as ProducerDumpResponse
from .fbs.FBS.Producer.DumpResponse import DumpResponseT as ProducerDumpResponseT
from .fbs.FBS.Producer.GetStatsResponse import GetStatsResponse as ProducerGetStatsResponse
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Router import CloseTransportRequest as close_transport_fbs
from .fbs.FBS.Transport import CloseConsumerRequest as close_consumer_fbs
from .fbs.FBS.Transport import CloseProducerRequest as close_producer_fbs
from .fbs.FBS.Worker import CloseRouterRequest as close_router_fbs
from .fbs.FBS.Worker import CreateRouterRequest as create_router_fbs
from .fbs.FBS.Worker import UpdateSettingsRequest as update_settings_fbs
from .options import ConsumerLayers
from .rtp_fbs import RtpStreamStats, read_rtp_stream_stats
from .wire import UUID_LENGTH, RequestTemplate, Sentinels, body_position, plain

if TYPE_CHECKING:
    import asyncio

    from .channel import Channel
    from .wire import Reply


R = TypeVar("R")
P = TypeVar("P")
RouterId = NewType("RouterId", str)


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

    def send(self, channel: Channel, handler_id: str, entity_id: str) -> asyncio.Future[Reply]:
        """Sends the request; from the channel's template when the ids are UUIDs (always,
        except producer ids an application chose itself)."""
        if _is_uuid_shaped(entity_id) and (not handler_id or _is_uuid_shaped(handler_id)):
            template = channel.template_for(
                (self.method, bool(handler_id)), lambda: self._template(channel, bool(handler_id))
            )
            if handler_id:
                return channel.send(template, {"entity_id": entity_id, "handler_id": handler_id})
            return channel.send(template, {"entity_id": entity_id})
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


# -- queries: body-less requests with a typed reply ---------------------------------------


@dataclass(frozen=True, slots=True)
class Query(Generic[R]):
    """A request without a body addressed to ``handler_id``, and how its reply is read."""

    method: int
    read: Callable[[bytes, int], R]

    async def call(self, channel: Channel, handler_id: str = "") -> R:
        return self.read(*body_position(await channel.request(self.method, handler_id)))


@dataclass(frozen=True, slots=True)
class WorkerDump:
    """What the worker process holds (WORKER_DUMP)."""

    pid: int
    router_ids: list[str]
    web_rtc_server_ids: list[str]
    channel_request_handlers: list[str]
    channel_notification_handlers: list[str]


@dataclass(frozen=True, slots=True)
class WorkerResourceUsage:
    """getrusage(2) of the worker process; ``ru_utime``/``ru_stime`` in milliseconds."""

    ru_utime: int
    ru_stime: int
    ru_maxrss: int
    ru_ixrss: int
    ru_idrss: int
    ru_isrss: int
    ru_minflt: int
    ru_majflt: int
    ru_nswap: int
    ru_inblock: int
    ru_oublock: int
    ru_msgsnd: int
    ru_msgrcv: int
    ru_nsignals: int
    ru_nvcsw: int
    ru_nivcsw: int


def read_worker_dump(buf: bytes, dump: int) -> WorkerDump:
    """Worker.DumpResponse: pid 0, web_rtc_server_ids 1, router_ids 2,
    channel_message_handlers 3 (channel_request_handlers 0, channel_notification_handlers 1).

    Read with direct struct reads: with thousands of routers a dump holds
    thousands of strings, and the generated readers cost microseconds each.
    """
    handlers = fr.read_table(buf, dump, 3)
    return WorkerDump(
        pid=fr.read_u32(buf, dump, 0),
        router_ids=fr.read_strings(buf, dump, 2),
        web_rtc_server_ids=fr.read_strings(buf, dump, 1),
        channel_request_handlers=fr.read_strings(buf, handlers, 0) if handlers else [],
        channel_notification_handlers=fr.read_strings(buf, handlers, 1) if handlers else [],
    )


def read_resource_usage(buf: bytes, usage: int) -> WorkerResourceUsage:
    """Worker.ResourceUsageResponse: 16 uint64 fields in getrusage order (slots 0-15)."""
    return WorkerResourceUsage(*(fr.read_u64(buf, usage, slot) for slot in range(16)))


@dataclass(frozen=True, slots=True)
class RouterDump:
    """What the worker holds for a router (ROUTER_DUMP)."""

    id: RouterId
    transport_ids: list[str]
    rtp_observer_ids: list[str]
    map_producer_id_consumer_ids: dict[str, list[str]]
    map_consumer_id_producer_id: dict[str, str]


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


WORKER_DUMP = Query(Method.WORKER_DUMP, read_worker_dump)
WORKER_GET_RESOURCE_USAGE = Query(Method.WORKER_GET_RESOURCE_USAGE, read_resource_usage)
ROUTER_DUMP = Query(Method.ROUTER_DUMP, read_router_dump)


@dataclass(frozen=True, slots=True)
class Command:
    """A request without a body whose reply carries nothing the caller reads."""

    method: int

    async def call(self, channel: Channel, handler_id: str) -> None:
        await channel.request(self.method, handler_id)


def plain_reader(reader: type[Any], object_api: type[Any]) -> Callable[[bytes, int], Any]:
    """A reply reader giving the generated object-API unpacking as plain data (wire.plain)."""

    def read(buf: bytes, pos: int) -> Any:
        table = reader()
        table.Init(buf, pos)
        return plain(object_api.InitFromObj(table))

    return read


def _stats_reader(reader: type[Any]) -> Callable[[bytes, int], list[RtpStreamStats]]:
    def read(buf: bytes, pos: int) -> list[RtpStreamStats]:
        body = reader()
        body.Init(buf, pos)
        return [read_rtp_stream_stats(body.Stats(i)) for i in range(body.StatsLength())]

    return read


def _read_consumer_dump(buf: bytes, pos: int) -> ConsumerDump:
    # Flattened like mediasoup's parseConsumerDumpResponse: base fields at the top.
    data = plain_reader(ConsumerDumpResponse, ConsumerDumpResponseT)(buf, pos)["data"]
    dump: dict[str, Any] = data.pop("base")
    dump.update(data)
    return cast(ConsumerDump, dump)


PRODUCER_DUMP: Query[ProducerDump] = Query(
    Method.PRODUCER_DUMP, plain_reader(ProducerDumpResponse, ProducerDumpResponseT)
)
PRODUCER_GET_STATS = Query(Method.PRODUCER_GET_STATS, _stats_reader(ProducerGetStatsResponse))
"""RTP statistics of each received stream (mediasoup's RtpStreamRecvStats)."""
PRODUCER_PAUSE = Command(Method.PRODUCER_PAUSE)
PRODUCER_RESUME = Command(Method.PRODUCER_RESUME)

CONSUMER_DUMP = Query(Method.CONSUMER_DUMP, _read_consumer_dump)
CONSUMER_GET_STATS = Query(Method.CONSUMER_GET_STATS, _stats_reader(ConsumerGetStatsResponse))
"""Outbound RTP statistics, then the producer's inbound ones (as mediasoup)."""
CONSUMER_PAUSE = Command(Method.CONSUMER_PAUSE)
CONSUMER_RESUME = Command(Method.CONSUMER_RESUME)
CONSUMER_REQUEST_KEY_FRAME = Command(Method.CONSUMER_REQUEST_KEY_FRAME)


# -- requests with a body -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request(Generic[P, R]):
    """A request with a body written from parameters ``P``; its reply is read as ``R``.

    ``call`` builds and sends it once. Requests that repeat with the same
    shape (create WebRTC transport, consume) are serialised once with
    ``template`` (sentinels in the fields that change) and sent with
    ``call_template``: the same body writer and reply reader either way.
    """

    method: int
    body_type: int
    write: Callable[[flatbuffers.Builder, P], int]
    read: Callable[[Reply], R]

    async def call(self, channel: Channel, handler_id: str, params: P) -> R:
        write = self.write
        reply = await channel.request(
            self.method, handler_id, self.body_type, lambda b: write(b, params)
        )
        return self.read(reply)

    def template(
        self, channel: Channel, handler_id: str, params: P, sentinels: Sentinels
    ) -> RequestTemplate:
        """The request serialised once; ``handler_id`` and ``params`` hold the sentinels."""
        write = self.write
        return channel.template(
            self.method, handler_id, self.body_type, lambda b: write(b, params), sentinels=sentinels
        )

    async def call_template(
        self,
        channel: Channel,
        template: RequestTemplate,
        strings: dict[str, str],
        numbers: dict[str, int] | None = None,
    ) -> R:
        """Sends a template of this request with the real values patched in."""
        return self.read(await channel.send(template, strings, numbers))


def body_reader(read: Callable[[bytes, int], R]) -> Callable[[Reply], R]:
    """A reply reader from a reader of the body table (raises WireError without a body)."""

    def read_reply(reply: Reply) -> R:
        return read(*body_position(reply))

    return read_reply


def no_reply(_reply: Reply) -> None:
    """The reply reader of requests whose answer carries nothing the caller reads."""


def write_consumer_layers(b: flatbuffers.Builder, layers: ConsumerLayers) -> int:
    """A Consumer.ConsumerLayers table (the temporal layer is optional)."""
    consumer_layers_fbs.Start(b)
    consumer_layers_fbs.AddSpatialLayer(b, layers.spatial_layer)
    if layers.temporal_layer is not None:
        consumer_layers_fbs.AddTemporalLayer(b, layers.temporal_layer)
    result: int = consumer_layers_fbs.End(b)
    return result


def read_consumer_layers(buf: bytes, layers: int) -> ConsumerLayers:
    """Consumer.ConsumerLayers: spatial_layer 0, temporal_layer 1 (optional)."""
    temporal = fr.field_position(buf, layers, 1)
    return ConsumerLayers(fr.read_u8(buf, layers, 0), buf[temporal] if temporal else None)


class Settings(NamedTuple):
    """Parameters of WORKER_UPDATE_SETTINGS; None leaves the setting as it is."""

    log_level: str | None
    log_tags: tuple[str, ...] | None


def _write_update_settings(b: flatbuffers.Builder, settings: Settings) -> int:
    level = b.CreateString(settings.log_level) if settings.log_level is not None else None
    tags = None
    if settings.log_tags is not None:
        offsets = [b.CreateString(tag) for tag in settings.log_tags]
        update_settings_fbs.StartLogTagsVector(b, len(offsets))
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        tags = b.EndVector()
    update_settings_fbs.Start(b)
    if level is not None:
        update_settings_fbs.AddLogLevel(b, level)
    if tags is not None:
        update_settings_fbs.AddLogTags(b, tags)
    result: int = update_settings_fbs.End(b)
    return result


WORKER_UPDATE_SETTINGS = Request(
    Method.WORKER_UPDATE_SETTINGS,
    RequestBody.Worker_UpdateSettingsRequest,
    _write_update_settings,
    no_reply,
)
"""To the worker: new log level and/or tags."""


def _write_set_preferred_layers(b: flatbuffers.Builder, layers: ConsumerLayers) -> int:
    offset = write_consumer_layers(b, layers)
    set_preferred_layers_fbs.Start(b)
    set_preferred_layers_fbs.AddPreferredLayers(b, offset)
    result: int = set_preferred_layers_fbs.End(b)
    return result


def _read_preferred_layers(reply: Reply) -> ConsumerLayers | None:
    """Consumer.SetPreferredLayersResponse: preferred_layers 0 (absent for simple streams;
    the worker may also answer without a body then)."""
    if not reply.body:
        return None
    layers = fr.read_table(reply.buf, reply.body, 0)
    return read_consumer_layers(reply.buf, layers) if layers else None


CONSUMER_SET_PREFERRED_LAYERS = Request(
    Method.CONSUMER_SET_PREFERRED_LAYERS,
    RequestBody.Consumer_SetPreferredLayersRequest,
    _write_set_preferred_layers,
    _read_preferred_layers,
)
"""To the consumer: the layers wanted; the reply holds the layers the worker settled on."""


def _write_set_priority(b: flatbuffers.Builder, priority: int) -> int:
    set_priority_fbs.Start(b)
    set_priority_fbs.AddPriority(b, priority)
    result: int = set_priority_fbs.End(b)
    return result


CONSUMER_SET_PRIORITY = Request(
    Method.CONSUMER_SET_PRIORITY,
    RequestBody.Consumer_SetPriorityRequest,
    _write_set_priority,
    body_reader(lambda buf, reply: fr.read_u8(buf, reply, 0)),
)
"""To the consumer: priority 1..255; the reply (SetPriorityResponse: priority 0) echoes it."""
