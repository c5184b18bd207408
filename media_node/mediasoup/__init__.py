"""A Python driver of mediasoup-worker (mediasoup 3.27.1), over its FlatBuffers channel.

This package is a library: it knows nothing of gRPC, ingest or the media
node's service, so it could ship on its own as a server-side mediasoup binding.
"""

from .errors import (
    ChannelNotFoundError,
    ChannelRequestError,
    ChannelTypeError,
    InvalidStateError,
    MediasoupError,
    RequestTimeoutError,
    WorkerClosedError,
    WorkerSettingsError,
    WorkerStartError,
)
from .events import Event, OnceEvent
from .process import WorkerExit
from .router import Router, RouterDump, RouterId, RouterOptions
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
    "Event",
    "InvalidStateError",
    "MediasoupError",
    "OnceEvent",
    "RequestTimeoutError",
    "Router",
    "RouterDump",
    "RouterId",
    "RouterOptions",
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
