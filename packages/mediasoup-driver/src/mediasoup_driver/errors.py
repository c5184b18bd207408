"""Exceptions raised by the mediasoup driver.

They mirror the failure classes of mediasoup's own libraries so that callers can
tell a closed worker (retry elsewhere) from a rejected request (caller's fault)
from a timeout (worker stuck or overloaded).

Everything the driver raises on purpose derives from ``MediasoupError``. Where
mediasoup raises a JavaScript built-in, the driver's class also derives from the
matching Python built-in, so code written against mediasoup's semantics keeps
working: malformed input raises ``MediasoupTypeError`` (a ``TypeError``, as
mediasoup throws ``TypeError``), an unknown id ``NotFoundError`` (a
``LookupError``), a request timeout ``RequestTimeoutError`` (a ``TimeoutError``),
settings the worker rejects ``WorkerSettingsError`` (a ``ValueError``). Not
raised by the driver itself but passed through: ``asyncio.CancelledError`` when
the caller cancels, and whatever an application's own event listener raises is
logged, never propagated.
"""

from __future__ import annotations


class MediasoupError(Exception):
    """Base class of every error raised by this package."""


class InvalidStateError(MediasoupError):
    """The entity is closed or otherwise cannot perform the operation."""


class MediasoupTypeError(MediasoupError, TypeError):
    """Malformed input (a wrong type, a missing or invalid field): mediasoup's ``TypeError``."""


class NotFoundError(MediasoupError, LookupError):
    """An id the driver does not know (e.g. consuming an unknown producer)."""


class WireError(MediasoupError, ValueError):
    """A message that does not match the schema this driver speaks (a driver or worker bug,
    or a worker of another version)."""


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


class ChannelTypeError(ChannelRequestError, MediasoupTypeError):
    """The worker rejected a request as malformed (its ``TypeError``)."""


class ChannelNotFoundError(ChannelRequestError, NotFoundError):
    """The request addressed an id the worker does not know (its ``NotFoundError``)."""


def error_from_response(name: str, reason: str, method: str) -> ChannelRequestError:
    """Maps the worker's error class name onto the matching exception type."""
    if name == "TypeError":
        return ChannelTypeError(name, reason, method)
    if name == "NotFoundError":
        return ChannelNotFoundError(name, reason, method)
    return ChannelRequestError(name, reason, method)
