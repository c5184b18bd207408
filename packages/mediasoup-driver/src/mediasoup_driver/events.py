"""Typed events for the driver's entities, usable from asyncio.

One mechanism everywhere: listeners are plain callables added with
``add_listener`` (returns a function that removes it); ``await event.wait()``
gives the next emitted value. A ``OnceEvent`` (close, died) fires at most once
and remembers its value, so awaiting it after the fact returns immediately —
callers never race the event they want to observe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_log = logging.getLogger(__name__)

Listener = Callable[[T], object]


class Event(Generic[T]):
    """A repeating event. Listener exceptions are logged, never propagated to the emitter."""

    __slots__ = ("_listeners", "_name", "_waiters")

    def __init__(self, name: str = "event") -> None:
        self._name = name
        self._listeners: list[Listener[T]] = []
        self._waiters: list[asyncio.Future[T]] = []

    def add_listener(self, listener: Listener[T]) -> Callable[[], None]:
        self._listeners.append(listener)

        def remove() -> None:
            self.remove_listener(listener)

        return remove

    def remove_listener(self, listener: Listener[T]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def listener_count(self) -> int:
        return len(self._listeners)

    def emit(self, value: T) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(value)
            except Exception:
                _log.exception("listener of %s failed", self._name)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(value)

    async def wait(self) -> T:
        """Waits for the next emission."""
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    def clear(self) -> None:
        """Drops every listener (used when the owning entity closes)."""
        self._listeners.clear()


class OnceEvent(Event[T]):
    """An event that fires at most once and remembers its value."""

    __slots__ = ("_fired", "_value")

    def __init__(self, name: str = "event") -> None:
        super().__init__(name)
        self._fired = False
        self._value: T | None = None

    @property
    def fired(self) -> bool:
        return self._fired

    def emit(self, value: T) -> None:
        if self._fired:
            return
        self._fired = True
        self._value = value
        super().emit(value)
        self.clear()

    async def wait(self) -> T:
        if self._fired:
            return self._value  # type: ignore[return-value]
        return await super().wait()
