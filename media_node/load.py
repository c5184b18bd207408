"""Load figures of the node, refreshed every second and served from that cache.

CPU per worker comes from the worker's own getrusage (utime+stime) deltas over
wall time. Bitrates are estimated from what the node already knows without
asking every transport for stats each second: incoming = the ingests' bitrate,
outgoing = each stream's bitrate times its connected viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from media_node.pool import WorkerPool
from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)

Snapshot = Callable[[], pb.Load]


class LoadMonitor:
    def __init__(self, pool: WorkerPool, snapshot: Snapshot, interval_s: float) -> None:
        self._pool = pool
        self._snapshot = snapshot
        self._interval = interval_s
        self._cpu: dict[int, float] = {}
        self._last: dict[int, tuple[float, int]] = {}
        self._task: asyncio.Task[None] | None = None
        self.current = pb.Load()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def cpu_percent(self, pid: int) -> float:
        return self._cpu.get(pid, 0.0)

    async def refresh(self) -> pb.Load:
        now = time.monotonic()
        for slot in self._pool.slots:
            worker = slot.worker
            if worker is None or worker.closed:
                continue
            try:
                usage = await worker.get_resource_usage()
            except Exception as error:
                _log.debug("resource usage of worker %d: %s", worker.pid, error)
                continue
            cpu_ms = usage.ru_utime + usage.ru_stime
            previous = self._last.get(worker.pid)
            if previous is not None and now > previous[0]:
                self._cpu[worker.pid] = (cpu_ms - previous[1]) / ((now - previous[0]) * 10.0)
            self._last[worker.pid] = (now, cpu_ms)
        self.current = self._snapshot()
        return self.current

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                _log.exception("refreshing load figures failed")
            await asyncio.sleep(self._interval)
