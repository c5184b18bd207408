"""Errors the node's managers raise; the gRPC layer maps each to one status code.

Keeping them transport-neutral lets the managers stay free of gRPC and keeps the
mapping (and the promise "bad input never yields UNKNOWN/INTERNAL") in one place.
"""

from __future__ import annotations


class NodeError(Exception):
    """Base class; the message is what the caller sees."""


class NotFound(NodeError):
    """Unknown stream, transport or consumer."""


class FailedPrecondition(NodeError):
    """Valid request in the wrong state (stream not live, transport already connected)."""


class InvalidArgument(NodeError):
    """Malformed input, or capabilities that cannot consume; the message names the field."""

    def __init__(self, field: str, problem: str, *, cannot_consume: bool = False) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.cannot_consume = cannot_consume


class Unavailable(NodeError):
    """The node refuses new work (draining)."""
