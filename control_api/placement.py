"""Which media node hosts a stream: small interchangeable selectors.

As in LiveKit's `pkg/routing/selector`: first drop nodes that must not get new
work (stale load figures, draining), then let one selector pick among the
rest. Selectors are pure functions of the candidates, so they are tested
without nodes and swapped by configuration (`VASMS_PLACEMENT`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from control_api.failures import NoNodeAvailable
from control_api.node_client import NodeHandle


@dataclass(frozen=True)
class Candidate:
    """A node's figures as last reported by its `GetLoad`."""

    node_id: str
    address: str
    draining: bool
    age_s: float  # how old the figures are
    cpu_percent: float  # mean over the node's workers, percent of one core
    streams: int
    consumers: int
    transports: int
    outgoing_bitrate_bps: int


def no_node(detail: str = "no media node available") -> NoNodeAvailable:
    return NoNodeAvailable(detail)


def available(candidates: Sequence[Candidate], stale_after_s: float) -> list[Candidate]:
    """The nodes that may take new work: figures fresh, not draining."""
    return [c for c in candidates if not c.draining and c.age_s <= stale_after_s]


class Selector(Protocol):
    def select(self, candidates: Sequence[Candidate]) -> Candidate: ...


@dataclass(frozen=True)
class AnySelector:
    """Any node at random: spreads streams when nodes are alike."""

    rng: Callable[[Sequence[Candidate]], Candidate] = random.choice

    def select(self, candidates: Sequence[Candidate]) -> Candidate:
        if not candidates:
            raise no_node()
        return self.rng(candidates)


SortKey = Literal["cpu", "streams", "consumers", "bitrate"]
_KEYS: dict[str, Callable[[Candidate], float]] = {
    "cpu": lambda c: c.cpu_percent,
    "streams": lambda c: c.streams,
    "consumers": lambda c: c.consumers,
    "bitrate": lambda c: c.outgoing_bitrate_bps,
}


@dataclass(frozen=True)
class LeastLoadSelector:
    """The node lowest on one figure; ties broken by streams then id (deterministic)."""

    sort_by: SortKey = "cpu"

    def select(self, candidates: Sequence[Candidate]) -> Candidate:
        if not candidates:
            raise no_node()
        key = _KEYS[self.sort_by]
        return min(candidates, key=lambda c: (key(c), c.streams, c.node_id))


@dataclass(frozen=True)
class CpuLimitSelector:
    """Prefers nodes under a CPU limit, then defers to `inner`; over the limit everywhere
    it still places (an overloaded node beats refusing the stream)."""

    limit_percent: float = 80.0
    inner: Selector = LeastLoadSelector("streams")

    def select(self, candidates: Sequence[Candidate]) -> Candidate:
        under = [c for c in candidates if c.cpu_percent < self.limit_percent]
        return self.inner.select(under or list(candidates))


@dataclass(frozen=True)
class StickySelector:
    """Keeps a stream on the node it had when that node is still available."""

    preferred: str | None
    inner: Selector

    def select(self, candidates: Sequence[Candidate]) -> Candidate:
        for c in candidates:
            if c.node_id == self.preferred:
                return c
        return self.inner.select(candidates)


PlacementName = Literal["any", "cpu", "streams", "consumers", "bitrate", "cpu_limit"]


def selector_named(name: PlacementName, cpu_limit: float = 80.0) -> Selector:
    if name == "any":
        return AnySelector()
    if name == "cpu_limit":
        return CpuLimitSelector(cpu_limit)
    return LeastLoadSelector(name)


def candidates_from(
    handles: Sequence[NodeHandle],
    now: float | None = None,
    stream_counts: Mapping[str, int] | None = None,
) -> list[Candidate]:
    """Candidates from the pool's last `GetLoad` answers (nodes never reached or down are
    left out).

    `stream_counts` (streams per node from the database) overrides the node's own
    figure when higher: a node reports a stream only after StartStream, and its load
    is polled every few seconds, so streams started in a burst (or by another replica)
    would otherwise all land on the node that looked emptiest a moment ago.
    """
    now = time.monotonic() if now is None else now
    counts = stream_counts or {}
    out = []
    for h in handles:
        if h.node_id is None or h.load is None or h.down:
            continue
        load = h.load
        workers = list(load.workers)
        cpu = sum(w.cpu_percent for w in workers) / len(workers) if workers else 0.0
        out.append(
            Candidate(
                node_id=h.node_id,
                address=h.address,
                draining=h.draining or load.draining,
                age_s=now - h.load_at,
                cpu_percent=cpu,
                streams=max(load.streams, counts.get(h.node_id, 0)),
                consumers=load.consumers,
                transports=load.transports,
                outgoing_bitrate_bps=load.outgoing_bitrate_bps,
            )
        )
    return out


def place(
    handles: Sequence[NodeHandle],
    selector: Selector,
    stale_after_s: float,
    preferred: str | None = None,
    stream_counts: Mapping[str, int] | None = None,
    exclude: str | None = None,
) -> NodeHandle:
    """The handle of the node chosen for a stream (503 `no_node_available` if none);
    `exclude` names a node that must not get it (the one it is failing over from)."""
    pool = [
        c
        for c in available(candidates_from(handles, stream_counts=stream_counts), stale_after_s)
        if c.node_id != exclude
    ]
    chosen = StickySelector(preferred, selector).select(pool)
    return next(h for h in handles if h.node_id == chosen.node_id)
