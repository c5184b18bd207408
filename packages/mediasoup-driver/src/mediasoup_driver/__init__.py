"""A Python driver of mediasoup-worker (mediasoup 3.27.1), over its FlatBuffers channel.

This package is a library: it knows nothing of gRPC, ingest or the media
node's service, so it could ship on its own as a server-side mediasoup binding.
Entities and their lifecycle follow mediasoup's own libraries: Worker > Router >
Transport (WebRtc, Plain, Pipe) > Producer / Consumer; closing a parent closes
everything below it, and every entity fires ``on_close`` once with a reason
(``CloseReason``).

Errors: everything the driver raises derives from ``MediasoupError``; where
mediasoup raises a JavaScript built-in (``TypeError``), the driver's error also
derives from the matching Python built-in — see ``errors`` for the list.
"""

from .consumer import Consumer, ConsumerId, ConsumerLayers, ConsumerOptions
from .dumps import (
    ConsumerDump,
    PipeTransportDump,
    PlainTransportDump,
    ProducerDump,
    TransportBaseDump,
    TransportDump,
    WebRtcTransportDump,
)
from .errors import (
    ChannelNotFoundError,
    ChannelRequestError,
    ChannelTypeError,
    InvalidStateError,
    MediasoupError,
    MediasoupTypeError,
    NotFoundError,
    RequestTimeoutError,
    UnsupportedError,
    WireError,
    WorkerClosedError,
    WorkerSettingsError,
    WorkerStartError,
)
from .events import Event, OnceEvent
from .lifecycle import CloseReason
from .pipe_transport import PipeTransport, PipeTransportOptions
from .plain_transport import PlainTransport, PlainTransportOptions
from .process import WorkerExit
from .producer import Producer, ProducerId, ProducerOptions, ProducerScore
from .router import Router, RouterDump, RouterId, RouterOptions
from .transport import ListenInfo, Transport, TransportId, TransportTuple
from .webrtc_transport import WebRtcTransport, WebRtcTransportOptions
from .worker import (
    MEDIASOUP_VERSION,
    Worker,
    WorkerDump,
    WorkerResourceUsage,
    WorkerSettings,
    resolve_worker_bin,
)

__all__ = [
    "MEDIASOUP_VERSION",
    "ChannelNotFoundError",
    "ChannelRequestError",
    "ChannelTypeError",
    "CloseReason",
    "Consumer",
    "ConsumerDump",
    "ConsumerId",
    "ConsumerLayers",
    "ConsumerOptions",
    "Event",
    "InvalidStateError",
    "ListenInfo",
    "MediasoupError",
    "MediasoupTypeError",
    "NotFoundError",
    "OnceEvent",
    "PipeTransport",
    "PipeTransportDump",
    "PipeTransportOptions",
    "PlainTransport",
    "PlainTransportDump",
    "PlainTransportOptions",
    "Producer",
    "ProducerDump",
    "ProducerId",
    "ProducerOptions",
    "ProducerScore",
    "RequestTimeoutError",
    "Router",
    "RouterDump",
    "RouterId",
    "RouterOptions",
    "Transport",
    "TransportBaseDump",
    "TransportDump",
    "TransportId",
    "TransportTuple",
    "UnsupportedError",
    "WebRtcTransport",
    "WebRtcTransportDump",
    "WebRtcTransportOptions",
    "WireError",
    "Worker",
    "WorkerClosedError",
    "WorkerDump",
    "WorkerExit",
    "WorkerResourceUsage",
    "WorkerSettings",
    "WorkerSettingsError",
    "WorkerStartError",
    "resolve_worker_bin",
]
