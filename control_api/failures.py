"""Domain failures: what went wrong in the control plane, said without HTTP.

Services, placement and the node client raise these; the edge (api/failure_map.py)
turns each kind into one HTTP status and `{"detail", "code"}` body for REST and
into the same `code` for V1 socket answers. `code` is the stable name clients branch
on; it belongs to the failure, the status to the edge.
"""

from __future__ import annotations

from typing import ClassVar


class Failure(Exception):
    """Base of every domain failure; `detail` is for humans, `code` for programs."""

    code: ClassVar[str] = "failure"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(Failure):
    """An id we do not know (or not the caller's: indistinguishable on purpose)."""

    code = "not_found"


def not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"{what} {ident} not found")


class InvalidRequest(Failure):
    code = "invalid_request"


class Conflict(Failure):
    """The node refused an operation in its current state (no better name known)."""

    code = "conflict"


class StreamNotLive(Failure):
    code = "stream_not_live"


class StreamRunning(Failure):
    code = "stream_running"


class StreamStartTimeout(Failure):
    """An on-demand stream did not go live within its start timeout."""

    code = "stream_start_timeout"


class CannotConsume(Failure):
    """The viewer's RTP capabilities cannot receive the stream."""

    code = "cannot_consume"


class AlreadyConnected(Failure):
    code = "already_connected"


class ConsumerClosed(Failure):
    code = "consumer_closed"


class NodeUnavailable(Failure):
    """The media node did not answer, refused us, or is overloaded."""

    code = "node_unavailable"


class NodeDraining(Failure):
    code = "node_draining"


class NodeError(Failure):
    """The media node failed in a way it has no name for (a bug there)."""

    code = "node_error"


class NoNodeAvailable(Failure):
    code = "no_node_available"


class RelayUnavailable(Failure):
    code = "relay_unavailable"


class QuotaExceeded(Failure):
    """A per-user or per-socket limit; `retry_after` when waiting helps (rate limits)."""

    code = "quota_exceeded"

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class LastAdmin(Failure):
    code = "last_admin"


class WrongPassword(Failure):
    """The current password given to change it is wrong (counts as a failed sign-in)."""

    code = "invalid_credentials"
