"""Event and OnceEvent semantics the entities rely on."""

from __future__ import annotations

import asyncio

from mediasoup_driver.events import Event, OnceEvent


async def test_event_calls_listeners_and_wakes_waiters() -> None:
    event: Event[int] = Event()
    seen: list[int] = []
    remove = event.add_listener(seen.append)
    waiter = asyncio.ensure_future(event.wait())
    await asyncio.sleep(0)
    event.emit(1)
    remove()
    event.emit(2)
    assert seen == [1]
    assert await waiter == 1


async def test_failing_listener_does_not_stop_the_others() -> None:
    event: Event[str] = Event()
    seen: list[str] = []

    def broken(_value: str) -> None:
        raise RuntimeError("boom")

    event.add_listener(broken)
    event.add_listener(seen.append)
    event.emit("x")
    assert seen == ["x"]


async def test_once_event_fires_once_and_remembers() -> None:
    event: OnceEvent[str] = OnceEvent()
    seen: list[str] = []
    event.add_listener(seen.append)
    event.emit("first")
    event.emit("second")
    assert seen == ["first"]
    assert event.fired
    assert await event.wait() == "first"  # awaiting after the fact returns at once
    assert event.listener_count() == 0
