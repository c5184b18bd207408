"""VAS-MS Python client: REST V2 wrappers and decoded frames of live streams.

    from vasms_client import VasmsClient

    async with VasmsClient("http://127.0.0.1:8080", username="vic", password="...") as client:
        async with client.watch(stream_id) as viewer:
            async for frame in viewer.frames():
                image = frame.to_ndarray()  # numpy (height, width, 3) uint8, RGB

Needs httpx, pymediasoup/aiortc, PyAV and numpy (`pip install 'vasms[client]'`), nothing
of the server. `vasms-watch` (or `python -m vasms_client.cli`) is the command-line face.
See docs/python-client.md.
"""

from vasms_client.client import DEFAULT_URL, VasmsClient
from vasms_client.errors import (
    ApiError,
    AuthError,
    CannotConsumeError,
    ConflictError,
    ForbiddenError,
    IceFailedError,
    InvalidRequestError,
    MediaError,
    NotFoundError,
    PayloadTooLargeError,
    ServerUnreachableError,
    ServiceUnavailableError,
    StreamNotFoundError,
    StreamNotLiveError,
    VasmsError,
)
from vasms_client.models import (
    ConsumerId,
    ConsumerInfo,
    ConsumerStats,
    Consumption,
    ProducerId,
    Stream,
    StreamId,
    Token,
    TransportId,
    TransportParameters,
)
from vasms_client.viewer import Frame, Viewer, ViewerStats, WatchOptions, save_png

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "AuthError",
    "CannotConsumeError",
    "ConflictError",
    "ConsumerId",
    "ConsumerInfo",
    "ConsumerStats",
    "Consumption",
    "ForbiddenError",
    "Frame",
    "IceFailedError",
    "InvalidRequestError",
    "MediaError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ProducerId",
    "ServerUnreachableError",
    "ServiceUnavailableError",
    "Stream",
    "StreamId",
    "StreamNotFoundError",
    "StreamNotLiveError",
    "Token",
    "TransportId",
    "TransportParameters",
    "VasmsClient",
    "VasmsError",
    "Viewer",
    "ViewerStats",
    "WatchOptions",
    "save_png",
]
