"""Fan-out of one stream across the node's workers: piped routers, placed by load.

Why: a stream's router lives on one worker, so every viewer of it is forwarded
by one core (bench/viewers_per_core.py: ~41 µs per forwarded packet, ~114
viewers of a 1.5 Mbit/s stream per core). mediasoup's answer is
``pipeToRouter``: a PipeTransport pair between the stream's router and a
router on another worker, a pipe consumer of each producer (video, and audio
when the stream has it) on the origin side and a producer with the *same id* on
the other side; viewers placed there are
forwarded by that worker's core. This module is that pattern on our driver.

Placement (``FanoutPolicy.mode``, VASMS_FANOUT):
- ``fill`` (default): viewers stay on the stream's own worker until it passes
  the load threshold (``max_viewers_per_worker`` viewers, or
  ``max_cpu_percent`` of a core as the load monitor last measured it), then go
  to the least-loaded worker under the threshold, preferring one that already
  carries the stream (no new pipe).
- ``spread``: every viewer goes to the worker with the fewest viewers.
- ``off``: always the stream's own worker (as before fan-out existed).

Lifecycle: a piped route is created on the first viewer placed on its worker
(concurrent joins share one creation) and closed when its last viewer leaves.
It also closes when its origin goes away: the pipe consumer closes when the
origin producer closes (ingest replaced it, the stream stopped) or the origin
worker dies; the route's viewers are then reported through ``on_lost`` with
the driver's reason, so the node closes them as it closes the origin's own
viewers. When the piped side's worker dies, the driver closes that router and
its viewers (reported by the viewer manager, reason worker died); the route
drops itself and frees its pipe on the origin; the stream keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mediasoup_driver import (
    Consumer,
    ConsumerOptions,
    ListenInfo,
    MediasoupError,
    PipeTransport,
    PipeTransportOptions,
    Producer,
    ProducerOptions,
    Router,
    RouterOptions,
)

from media_node.ingest import router_media_codecs
from media_node.pool import WorkerPool, WorkerSlot
from media_node.streams import Stream

_log = logging.getLogger(__name__)

FanoutMode = Literal["fill", "spread", "off"]
PIPE_OPTIONS = PipeTransportOptions(listen_info=ListenInfo(ip="127.0.0.1"), enable_rtx=True)
"""Pipes between workers of one host stay on loopback. RTX on: a packet the target worker
missed (its socket buffer overflowed while its core was busy) is asked for again over the
pipe instead of being lost for every viewer on that worker."""


@dataclass(frozen=True, slots=True)
class FanoutPolicy:
    mode: FanoutMode = "fill"
    max_viewers_per_worker: int = 100
    """~114 viewers of a 1.5 Mbit/s stream saturate a core here (bench/viewers_per_core.py);
    100 leaves headroom for joins, key-frame bursts and RTCP."""
    max_cpu_percent: float = 85.0
    """A worker above this (of one core, last load refresh) counts as loaded whatever its
    viewer count: streams differ in bitrate, so viewers alone can misjudge."""


@dataclass(frozen=True, slots=True)
class SlotLoad:
    """What placement knows of one running worker."""

    index: int
    viewers: int
    cpu_percent: float
    has_route: bool
    """It already carries the stream (its own router or a piped one)."""


def choose_slot(policy: FanoutPolicy, origin: int, slots: list[SlotLoad]) -> int:
    """The index of the worker a new viewer goes to (pure: unit-tested on its own)."""
    by_index = {s.index: s for s in slots}
    if policy.mode == "off" or origin not in by_index or len(slots) == 1:
        return origin

    def loaded(s: SlotLoad) -> bool:
        return s.viewers >= policy.max_viewers_per_worker or s.cpu_percent >= policy.max_cpu_percent

    def rank(s: SlotLoad) -> tuple[int, int, int, int]:
        return (s.viewers, s.index != origin, not s.has_route, s.index)

    if policy.mode == "spread":
        return min(slots, key=rank).index
    if not loaded(by_index[origin]):
        return origin
    free = [s for s in slots if not loaded(s)]
    if free:
        return min(free, key=lambda s: (not s.has_route, s.viewers, s.index)).index
    return min(slots, key=rank).index


@dataclass(eq=False)
class PipedRoute:
    """A router on another worker carrying one stream's producer through a pipe pair."""

    stream_id: str
    producer_id: str
    slot: WorkerSlot
    router: Router
    pipe_out: PipeTransport
    """On the stream's own router: carries the pipe consumer."""
    pipe_in: PipeTransport
    """On ``router``: carries the producer with the origin's id."""
    consumer_ids: set[str] = field(default_factory=set)
    reserved: int = 0
    """Viewers placed here whose consume has not finished yet."""
    closed: bool = False

    @property
    def viewers(self) -> int:
        return len(self.consumer_ids) + self.reserved


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one viewer goes; give it back with ``Fanout.attach`` or ``Fanout.release``."""

    slot: WorkerSlot
    router: Router
    route: PipedRoute | None
    """None: the stream's own router."""


RouteLost = Callable[[list[str], str], None]
"""(consumer ids of the route's viewers, the driver's close reason)."""


class Fanout:
    def __init__(
        self,
        pool: WorkerPool,
        policy: FanoutPolicy,
        cpu_percent: Callable[[int], float],
        on_lost: RouteLost,
    ) -> None:
        self._pool = pool
        self.policy = policy
        self._cpu_percent = cpu_percent
        self._on_lost = on_lost
        self.routes: dict[str, dict[int, PipedRoute]] = {}
        """stream id -> slot index -> its piped route there."""
        self._creating: dict[tuple[str, int], asyncio.Future[PipedRoute]] = {}
        self._viewers: dict[int, int] = {}
        """slot index -> viewers placed on it (all streams, reservations included)."""
        self._by_consumer: dict[str, tuple[int, PipedRoute | None]] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    # -- figures -----------------------------------------------------------------------

    def viewers_on(self, slot: WorkerSlot) -> int:
        return self._viewers.get(slot.index, 0)

    def piped_routers_on(self, slot: WorkerSlot) -> list[PipedRoute]:
        return [r for routes in self.routes.values() for r in routes.values() if r.slot is slot]

    def slot_of(self, consumer_id: str) -> WorkerSlot | None:
        entry = self._by_consumer.get(consumer_id)
        return self._pool.slots[entry[0]] if entry is not None else None

    # -- placement ---------------------------------------------------------------------

    async def place(self, stream: Stream) -> Placement | None:
        """Reserves a place for one viewer of a live stream (its worker's count goes up at
        once, so concurrent joins see each other); None when the stream is not live (the
        viewer manager words that refusal). Falls back to the stream's own router when
        piping fails: a viewer served by a loaded worker beats a refused one."""
        origin, router = stream.slot, stream.router
        producer = stream.producer
        if stream.status != "live" or origin is None or router is None:
            return None
        if producer is None or producer.closed:
            return None
        routes = self.routes.get(stream.id, {})
        loads = [
            SlotLoad(
                s.index,
                self.viewers_on(s),
                self._cpu_percent(s.pid),
                s is origin or s.index in routes or (stream.id, s.index) in self._creating,
            )
            for s in self._pool.slots
            if s.ready.is_set() and s.worker is not None and not s.worker.closed
        ]
        index = choose_slot(self.policy, origin.index, loads)
        self._viewers[index] = self._viewers.get(index, 0) + 1
        if index == origin.index:
            return Placement(origin, router, None)
        try:
            route = await self._route(stream, self._pool.slots[index], producer.id)
        except Exception:
            _log.exception("stream %s: piping to worker slot %d failed", stream.id, index)
            self._viewers[index] -= 1
            self._viewers[origin.index] = self._viewers.get(origin.index, 0) + 1
            return Placement(origin, router, None)
        route.reserved += 1
        return Placement(route.slot, route.router, route)

    def attach(self, placement: Placement, consumer_id: str) -> None:
        """The viewer placed there exists now (its consumer id)."""
        self._by_consumer[consumer_id] = (placement.slot.index, placement.route)
        if placement.route is not None:
            placement.route.reserved -= 1
            placement.route.consumer_ids.add(consumer_id)

    def release(self, placement: Placement) -> None:
        """The viewer placed there was not created (consume refused or failed)."""
        self._viewers[placement.slot.index] -= 1
        if placement.route is not None:
            placement.route.reserved -= 1
            self._close_if_idle(placement.route)

    def viewer_left(self, consumer_id: str) -> None:
        entry = self._by_consumer.pop(consumer_id, None)
        if entry is None:
            return
        index, route = entry
        self._viewers[index] -= 1
        if route is not None:
            route.consumer_ids.discard(consumer_id)
            self._close_if_idle(route)

    # -- piped routes ------------------------------------------------------------------

    async def _route(self, stream: Stream, slot: WorkerSlot, producer_id: str) -> PipedRoute:
        route = self.routes.get(stream.id, {}).get(slot.index)
        if route is not None and not route.closed and route.producer_id == producer_id:
            return route
        key = (stream.id, slot.index)
        pending = self._creating.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._pipe(stream, slot, producer_id))
            self._creating[key] = pending
            pending.add_done_callback(lambda _f: self._creating.pop(key, None))
        return await asyncio.shield(pending)

    async def _pipe(self, stream: Stream, slot: WorkerSlot, producer_id: str) -> PipedRoute:
        """mediasoup's pipeToRouter: pipe pair, pipe consumer on the origin, producer with
        the same id on the target. Everything created is closed again if a step fails."""
        assert stream.router is not None and slot.worker is not None
        origin_router = stream.router
        router = await slot.worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
        try:
            pipe_out = await origin_router.create_pipe_transport(PIPE_OPTIONS)
            try:
                pipe_in = await router.create_pipe_transport(PIPE_OPTIONS)
                await pipe_out.connect(pipe_in.tuple.local_address, pipe_in.tuple.local_port)
                await pipe_in.connect(pipe_out.tuple.local_address, pipe_out.tuple.local_port)
                consumer, _ = await self._pipe_one(origin_router, pipe_out, pipe_in, producer_id)
                audio = stream.audio_producer
                if audio is not None and not audio.closed:
                    # Audio rides along: viewers on this router consume it by the same id.
                    audio_consumer, audio_piped = await self._pipe_one(
                        origin_router, pipe_out, pipe_in, audio.id
                    )
                    audio_consumer.on_close.add_listener(
                        lambda _reason: self._spawn_close(audio_piped)
                    )
            except BaseException:
                await pipe_out.close()
                raise
        except BaseException:
            await router.close()
            raise
        route = PipedRoute(stream.id, producer_id, slot, router, pipe_out, pipe_in)
        old = self.routes.setdefault(stream.id, {}).get(slot.index)
        self.routes[stream.id][slot.index] = route
        if old is not None:
            self._lost(old, "producer closed")
        consumer.on_close.add_listener(lambda reason: self._lost(route, reason))
        router.on_close.add_listener(lambda reason: self._lost(route, reason))
        _log.info("stream %s piped to worker slot %d (router %s)", stream.id, slot.index, router.id)
        return route

    @staticmethod
    async def _pipe_one(
        origin_router: Router, pipe_out: PipeTransport, pipe_in: PipeTransport, producer_id: str
    ) -> tuple[Consumer, Producer]:
        """One producer through the pipe: a pipe consumer on the origin, a producer with the
        same id on the target."""
        consumer = await pipe_out.consume(
            ConsumerOptions(
                producer_id=producer_id, rtp_capabilities=origin_router.rtp_capabilities
            )
        )
        piped = await pipe_in.produce(
            ProducerOptions(
                kind=consumer.kind,
                rtp_parameters=consumer.rtp_parameters,
                id=producer_id,
                paused=consumer.producer_paused,
            )
        )
        return consumer, piped

    def _spawn_close(self, producer: Producer) -> None:
        """The origin's audio producer went away: so does its copy (its viewers' audio
        consumers close, their video plays on), as mediasoup's pipeToRouter does."""
        task = asyncio.ensure_future(producer.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _lost(self, route: PipedRoute, reason: str) -> None:
        """The origin side (or the route's own worker) went away: its viewers go too."""
        if route.closed:
            return
        if route.consumer_ids:
            self._on_lost(sorted(route.consumer_ids), reason)
        self._close(route)

    def _close_if_idle(self, route: PipedRoute) -> None:
        if route.viewers == 0:
            self._close(route)

    def _close(self, route: PipedRoute) -> None:
        if route.closed:
            return
        route.closed = True
        routes = self.routes.get(route.stream_id, {})
        if routes.get(route.slot.index) is route:
            del routes[route.slot.index]
            if not routes:
                self.routes.pop(route.stream_id, None)
        _log.info(
            "stream %s: piped router on worker slot %d closed", route.stream_id, route.slot.index
        )
        task = asyncio.ensure_future(self._free(route))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _free(self, route: PipedRoute) -> None:
        for entity in (route.pipe_out, route.router):
            try:
                await entity.close()
            except MediasoupError as error:
                _log.debug("closing piped route of %s: %s", route.stream_id, error)

    async def close_stream(self, stream_id: str) -> None:
        """Closes every piped route of a stream (its viewers were closed before)."""
        for route in list(self.routes.get(stream_id, {}).values()):
            self._close(route)
        await self.settle()

    async def settle(self) -> None:
        """Waits for pending route closes (tests and shutdown)."""
        while self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.gather(*tuple(self._tasks))

    async def close(self) -> None:
        for stream_id in list(self.routes):
            await self.close_stream(stream_id)
