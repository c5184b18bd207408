"""What one replica holds while it runs: settings, DB, node pool, metrics, tasks.

Built in the lifespan and stored on `app.state.ctx`; request handlers reach
it through `api.deps.CtxDep`, background tasks get it passed in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from control_api.auth import TokenCodec
from control_api.config import Settings
from control_api.db import SessionFactory
from control_api.hot_path import HotPath
from control_api.metrics import ApiMetrics
from control_api.node_client import NodePool
from control_api.placement import Selector
from control_api.services.quotas import Limits
from control_api.services.revocation import SocketRegistry

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    tokens: TokenCodec
    nodes: NodePool
    metrics: ApiMetrics
    selector: Selector
    # The request path's statements without a session (the auth gate's user read).
    hot: HotPath | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Keys of one-off jobs in flight (e.g. "restart:<stream id>"), so they coalesce.
    pending: set[str] = field(default_factory=set)
    # Open V1 sockets, re-checked against their users (created by the first socket).
    sockets: SocketRegistry | None = None
    # Per-replica limit state (consume buckets, login failures; services/quotas.py).
    limits: Limits | None = None
    # Router RTP capabilities by (node id, stream id, producer id): a router's never
    # change, and a restarted or moved stream has a new producer (services/viewers.py).
    router_caps: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, key: str | None = None) -> None:
        """Runs `coro` in the background, kept referenced until done; `key` dedups jobs."""
        if key is not None:
            if key in self.pending:
                coro.close()
                return
            self.pending.add(key)
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self.tasks.discard(t)
            if key is not None:
                self.pending.discard(key)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s failed", name, exc_info=t.exception())

        task.add_done_callback(done)

    async def stop_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
