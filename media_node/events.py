"""Fan-out of node events to WatchEvents subscribers.

Each subscriber has a bounded queue: a watcher that stops reading must not make
the node buffer without limit, so one that falls too far behind is dropped
(its stream ends with RESOURCE_EXHAUSTED) and can watch again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)
MAX_BACKLOG = 10_000


class Overflowed(Exception):
    """The subscriber fell more than MAX_BACKLOG events behind."""


class _Subscriber:
    __slots__ = ("overflowed", "queue", "sequence")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[pb.NodeEvent | None] = asyncio.Queue(MAX_BACKLOG)
        self.sequence = 0
        self.overflowed = False


class EventBus:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._subscribers: set[_Subscriber] = set()
        self._last_ms = 0

    def _now_ms(self) -> int:
        """Wall-clock milliseconds, never decreasing: watchers order events by it."""
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        return self._last_ms

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, **event: Any) -> None:
        """Publishes one event; keyword: the NodeEvent oneof field and its message."""
        now = self._now_ms()
        for subscriber in tuple(self._subscribers):
            if subscriber.overflowed:
                continue
            subscriber.sequence += 1
            message = pb.NodeEvent(
                node_id=self.node_id, sequence=subscriber.sequence, timestamp_ms=now, **event
            )
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:
                subscriber.overflowed = True
                _log.warning("dropping a WatchEvents subscriber that fell behind")

    async def subscribe(
        self, initial: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[pb.NodeEvent]:
        """Events from now on, preceded by ``initial`` ones (a snapshot of current state,
        so a new watcher needs no separate query and cannot miss a change in between)."""
        subscriber = _Subscriber()
        now = self._now_ms()
        for event in initial or ():
            subscriber.sequence += 1
            subscriber.queue.put_nowait(
                pb.NodeEvent(
                    node_id=self.node_id, sequence=subscriber.sequence, timestamp_ms=now, **event
                )
            )
        self._subscribers.add(subscriber)
        try:
            while True:
                if subscriber.overflowed and subscriber.queue.empty():
                    raise Overflowed
                event = await subscriber.queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._subscribers.discard(subscriber)

    def close(self) -> None:
        """Ends every subscription (node shutting down)."""
        for subscriber in tuple(self._subscribers):
            try:
                subscriber.queue.put_nowait(None)
            except asyncio.QueueFull:
                subscriber.overflowed = True
