"""Exceptions raised by the mediasoup driver.

They mirror the failure classes of mediasoup's own libraries so that callers can
tell a closed worker (retry elsewhere) from a rejected request (caller's fault)
from a timeout (worker stuck or overloaded).
"""

from __future__ import annotations


class MediasoupError(Exception):
    """Base class of every error raised by this package."""


class InvalidStateError(MediasoupError):
    """The entity is closed or otherwise cannot perform the operation."""


class UnsupportedError(MediasoupError):
    """Valid input that mediasoup does not support (e.g. a codec no router offers)."""


class WorkerClosedError(InvalidStateError):
    """The worker (or its channel) is closed: pending and new requests fail with this."""


class WorkerStartError(MediasoupError):
    """The worker process exited or stayed silent before reporting it was running."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class WorkerSettingsError(WorkerStartError, ValueError):
    """The worker rejected its settings at start-up (it exits with code 42)."""


class RequestTimeoutError(MediasoupError, TimeoutError):
    """The worker did not answer a request within the channel's request timeout."""


class ChannelRequestError(MediasoupError):
    """The worker rejected a request; ``name`` is the worker's error class."""

    def __init__(self, name: str, reason: str, method: str) -> None:
        super().__init__(f"{method}: {reason}")
        self.name = name
        self.reason = reason
        self.method = method


class ChannelTypeError(ChannelRequestError, TypeError):
    """The worker rejected a request as malformed (its ``TypeError``)."""


class ChannelNotFoundError(ChannelRequestError, LookupError):
    """The request addressed an id the worker does not know (its ``NotFoundError``)."""


def error_from_response(name: str, reason: str, method: str) -> ChannelRequestError:
    """Maps the worker's error class name onto the matching exception type."""
    if name == "TypeError":
        return ChannelTypeError(name, reason, method)
    if name == "NotFoundError":
        return ChannelNotFoundError(name, reason, method)
    return ChannelRequestError(name, reason, method)
