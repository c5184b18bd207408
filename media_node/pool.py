"""The node's mediasoup workers: one per core, placed by load, restarted when they die.

mediasoup never restarts a worker; a media node must, because its streams have
to come back without an operator. The pool restarts a dead worker in the same
slot (with backoff if it keeps dying) and tells its owner which slot died and
when the slot is running again, so streams can be re-ingested there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from mediasoup_driver import Worker, WorkerExit, WorkerSettings

_log = logging.getLogger(__name__)
RESTART_BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 5.0)


@dataclass(eq=False)
class WorkerSlot:
    """One worker position in the pool; the worker in it changes when it restarts."""

    index: int
    worker: Worker | None = None
    routers: int = 0
    """Routers (= streams) placed on this slot; the placement criterion."""
    deaths: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        return self.worker.pid if self.worker is not None else 0


SlotDied = Callable[[WorkerSlot, int, WorkerExit], None]
SlotRestarted = Callable[[WorkerSlot, int], None]


class WorkerPool:
    def __init__(
        self,
        size: int,
        settings: WorkerSettings,
        on_died: SlotDied,
        on_restarted: SlotRestarted,
    ) -> None:
        self.slots = [WorkerSlot(i) for i in range(size)]
        self._settings = settings
        self._on_died = on_died
        self._on_restarted = on_restarted
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await asyncio.gather(*(self._start_slot(slot) for slot in self.slots))

    async def _start_slot(self, slot: WorkerSlot) -> None:
        worker = await Worker.start(self._settings)
        slot.worker = worker
        slot.ready.set()
        worker.died.add_listener(lambda exit_info: self._slot_died(slot, worker, exit_info))

    def _slot_died(self, slot: WorkerSlot, worker: Worker, exit_info: WorkerExit) -> None:
        if self._closing or slot.worker is not worker:
            return
        slot.ready.clear()
        slot.deaths += 1
        _log.error("worker %d (slot %d) died: %s; restarting", worker.pid, slot.index, exit_info)
        self._on_died(slot, worker.pid, exit_info)
        task = asyncio.ensure_future(self._restart(slot, worker.pid))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, slot: WorkerSlot, old_pid: int) -> None:
        delay = RESTART_BACKOFF_S[min(slot.deaths - 1, len(RESTART_BACKOFF_S) - 1)]
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._start_slot(slot)
            except Exception:
                _log.exception("restarting worker slot %d failed", slot.index)
                delay = RESTART_BACKOFF_S[-1]
                continue
            _log.info("worker slot %d restarted: pid %d -> %d", slot.index, old_pid, slot.pid)
            self._on_restarted(slot, old_pid)
            return

    def least_loaded(self) -> WorkerSlot:
        """The running slot with the fewest routers (ties: lowest index)."""
        running = [s for s in self.slots if s.ready.is_set()]
        candidates = running or self.slots
        return min(candidates, key=lambda s: (s.routers, s.index))

    async def close(self) -> None:
        self._closing = True
        for task in tuple(self._restarts):
            task.cancel()
        for task in tuple(self._restarts):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(
            *(slot.worker.close() for slot in self.slots if slot.worker is not None)
        )
