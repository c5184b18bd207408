"""How entities are created, registered with their parent, and closed.

The shape is mediasoup's Node lib (Router.ts, Transport.ts): a parent hands
each child what it needs and keeps a registry of its open children; the child
registers itself with that registry and leaves it when it closes; closing a
parent tells every child, once, with a reason. Nobody touches another
entity's private state: the registry is the whole interface between them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import InvalidStateError, MediasoupError

if TYPE_CHECKING:
    from .channel import Channel

K = TypeVar("K", bound=str)
C = TypeVar("C")
R = TypeVar("R")

_log = logging.getLogger(__name__)


class CloseReason(StrEnum):
    """Why an entity closed, as its ``on_close`` event gives it.

    A ``StrEnum``: each member equals its string value, so owners that map
    reasons by text ("router closed", ...) keep working.
    """

    CLOSED = "closed"
    """Closed by our own call."""
    PRODUCER_CLOSED = "producer closed"
    """A consumer whose producer closed (the worker closed the consumer with it)."""
    TRANSPORT_CLOSED = "transport closed"
    ROUTER_CLOSED = "router closed"
    WORKER_CLOSED = "worker closed"


def child_reason(own: CloseReason, closed_by_us: CloseReason) -> CloseReason:
    """The reason a parent gives its children: ``closed_by_us`` when the parent itself
    was closed by a call, else the parent's own reason (e.g. "worker closed" all the
    way down)."""
    return closed_by_us if own is CloseReason.CLOSED else own


ParentClosed = Callable[[CloseReason], None]
"""A child's handler for its parent closing (the worker already freed the child)."""


class Children(Generic[K, C]):
    """A parent's registry of its open children, by id.

    A child joins with ``adopt(id, child, on_parent_closed)`` and leaves with
    ``leave(id, child)``; ``close(reason)`` empties the registry and calls every
    child's handler once. After ``close`` nothing can join.
    """

    __slots__ = ("_entries", "closed", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.closed = False
        self._entries: dict[K, tuple[C, ParentClosed]] = {}

    def adopt(self, child_id: K, child: C, on_parent_closed: ParentClosed) -> None:
        if self.closed:
            raise InvalidStateError(f"{self.what} closed")
        self._entries[child_id] = (child, on_parent_closed)

    def leave(self, child_id: K, child: C) -> None:
        entry = self._entries.get(child_id)
        if entry is not None and entry[0] is child:
            del self._entries[child_id]

    def get(self, child_id: K) -> C | None:
        entry = self._entries.get(child_id)
        return None if entry is None else entry[0]

    def snapshot(self) -> dict[K, C]:
        """The open children by id (a copy)."""
        return {child_id: entry[0] for child_id, entry in self._entries.items()}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[C]:
        return iter([entry[0] for entry in self._entries.values()])

    def close(self, reason: CloseReason) -> None:
        self.closed = True
        entries, self._entries = self._entries, {}
        for _child, on_parent_closed in entries.values():
            on_parent_closed(reason)


async def create_request(
    channel: Channel,
    entity_id: str,
    parent: Children[K, C],
    send: Callable[[], Awaitable[R]],
) -> R:
    """Sends the create request of a new entity and returns the worker's answer
    (as ``send`` reads it: a wire-layer request's typed reply).

    The worker may notify about the new id before it answers (e.g.
    CONSUMER_PRODUCER_PAUSE while it handles a consume), so the channel holds
    the id's notifications until the entity, constructed from the answer,
    subscribes. A failed request, or a parent that closed meanwhile
    (InvalidStateError), drops what was held: the entity is never built.
    """
    channel.hold(entity_id)
    try:
        response = await send()
    except BaseException:
        channel.release(entity_id)
        raise
    if parent.closed:
        channel.release(entity_id)
        raise InvalidStateError(f"{parent.what} closed while creating {entity_id}")
    return response


async def soft_close(send: Callable[[], Awaitable[object]], what: str, entity_id: str) -> None:
    """Sends a close request whose failure changes nothing for the caller.

    The entity is already closed locally; if the worker is gone or already
    freed it (e.g. with its parent), there is nothing left to free — the Rust
    crate's ``default_for_soft_error``. Logged at debug level only.
    """
    try:
        await send()
    except MediasoupError as error:
        _log.debug("closing %s %s: %s", what, entity_id, error)
