"""A Python driver of mediasoup-worker (mediasoup 3.27.1), over its FlatBuffers channel.

This package is a library: it knows nothing of gRPC, ingest or the media
node's service, so it could ship on its own as a server-side mediasoup binding.
Entities and their lifecycle follow mediasoup's own libraries: Worker > Router >
Transport (WebRtc, Plain, Pipe) > Producer / Consumer; closing a parent closes
everything below it, and every entity fires ``on_close`` once with a reason.
"""

from .consumer import Consumer, ConsumerId, ConsumerLayers, ConsumerOptions
from .errors import (
    ChannelNotFoundError,
    ChannelRequestError,
    ChannelTypeError,
    InvalidStateError,
    MediasoupError,
    RequestTimeoutError,
    UnsupportedError,
    WorkerClosedError,
    WorkerSettingsError,
    WorkerStartError,
)
from .events import Event, OnceEvent
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
    "Consumer",
    "ConsumerId",
    "ConsumerLayers",
    "ConsumerOptions",
    "Event",
    "InvalidStateError",
    "ListenInfo",
    "MediasoupError",
    "OnceEvent",
    "PipeTransport",
    "PipeTransportOptions",
    "PlainTransport",
    "PlainTransportOptions",
    "Producer",
    "ProducerId",
    "ProducerOptions",
    "ProducerScore",
    "RequestTimeoutError",
    "Router",
    "RouterDump",
    "RouterId",
    "RouterOptions",
    "Transport",
    "TransportId",
    "TransportTuple",
    "UnsupportedError",
    "WebRtcTransport",
    "WebRtcTransportOptions",
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
