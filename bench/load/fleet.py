"""A fleet of receivers spread over a few pion processes, attached to VAS-MS or any SDP offerer.

``attach_vasms`` does what a player does through REST V2: router capabilities
once, then per viewer ``POST /streams/{id}/consume`` with the receiver process'
DTLS fingerprint (no connect round trip), an SDP offer built from the answer,
and the receiver's answer kept local (mediasoup is ICE-lite and needs nothing
back). ``detach`` deletes the consumers. ``attach_offers`` takes any coroutine
returning an SDP offer and a way to give the answer back (Janus).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.load.receivers import ReceiverProcess, ReceiverStats
from bench.load.sdp import mediasoup_offer
from bench.load.stack import Stack

OfferSource = Callable[[str], Awaitable[tuple[str, Callable[[str], Awaitable[None]]]]]
"""receiver id -> (offer, coroutine function taking the answer)."""


def client_capabilities(router_caps: dict[str, Any]) -> dict[str, Any]:
    """The receivers' capabilities: the router's video codecs without RTX (retransmissions
    come on the media SSRC, which pion's NACK responder path counts like any packet) and no
    header extensions (nothing the receivers would use)."""
    codecs = [
        c
        for c in router_caps["codecs"]
        if c["kind"] == "video" and not c["mimeType"].lower().endswith("/rtx")
    ]
    return {"codecs": codecs, "headerExtensions": [], "fecMechanisms": []}


@dataclass
class Window:
    """What every receiver got between two snapshots."""

    seconds: float
    viewers: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """receiver id -> (packets, lost, bytes) in the window."""

    def loss_pct(self, rid: str) -> float:
        packets, lost, _ = self.viewers[rid]
        return 100.0 * lost / (packets + lost) if packets + lost else 100.0

    def summary(self) -> dict[str, float]:
        if not self.viewers:
            return {"viewers": 0}
        losses = sorted(self.loss_pct(r) for r in self.viewers)
        kbps = [b * 8 / self.seconds / 1000 for _, _, b in self.viewers.values()]
        packets = sum(p for p, _, _ in self.viewers.values())
        lost = sum(lo for _, lo, _ in self.viewers.values())
        return {
            "viewers": len(self.viewers),
            "packets": packets,
            "pps": packets / self.seconds,
            "loss_pct": 100.0 * lost / (packets + lost) if packets + lost else 100.0,
            "loss_p50": losses[len(losses) // 2],
            "loss_p99": losses[min(len(losses) - 1, int(len(losses) * 0.99))],
            "kbps_p50": statistics.median(kbps),
            "kbps_min": min(kbps),
            "silent": sum(1 for p, _, _ in self.viewers.values() if p == 0),
            "ok_viewers": sum(1 for r in self.viewers if self.loss_pct(r) < 1.0),
        }


@dataclass
class _Viewer:
    process: ReceiverProcess
    consumer_id: str | None = None


async def _delete(stack: Stack, consumer_id: str, attempts: int = 3) -> None:
    """DELETE a consumer; a saturated machine may answer 503 (node call timed out): try
    again, and if it still fails leave it to the node (the receiver hangs up next, and the
    node closes a transport whose DTLS closed)."""
    for attempt in range(attempts):
        response = await stack.http.delete(
            f"{stack.base}/api/v2/consumers/{consumer_id}",
            headers={"Authorization": f"Bearer {stack.token}"},
        )
        if response.status_code in (204, 404):
            return
        await asyncio.sleep(0.5 * (attempt + 1))  # back off before asking again
    print(f"consumer {consumer_id}: DELETE answered {response.status_code}, left to the node")


class Fleet:
    """Receivers spread round-robin over `processes` pion processes."""

    def __init__(self, processes: list[ReceiverProcess]) -> None:
        self.processes = processes
        self.viewers: dict[str, _Viewer] = {}
        self._ids = itertools.count(1)
        self._next = itertools.cycle(processes)

    @classmethod
    async def start(
        cls,
        processes: int,
        kind: str = "pion",
        allow: str = "127.0.0.0/8",
        env: dict[str, str] | None = None,
    ) -> Fleet:
        started = await asyncio.gather(
            *(ReceiverProcess.start(kind, allow, env) for _ in range(processes))
        )
        return cls(list(started))

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)

    async def attach_vasms(
        self, stack: Stack, stream_id: str, count: int, concurrency: int = 4
    ) -> list[str]:
        caps = client_capabilities(
            (await stack.request("GET", f"/api/v2/streams/{stream_id}/router-capabilities"))[
                "rtp_capabilities"
            ]
        )
        gate = asyncio.Semaphore(concurrency)

        async def one() -> str:
            rid = f"v{next(self._ids)}"
            process = next(self._next)
            async with gate:
                answer = await stack.request(
                    "POST",
                    f"/api/v2/streams/{stream_id}/consume",
                    json={
                        "client_id": f"load-{rid}",
                        "rtp_capabilities": caps,
                        "dtls_parameters": process.dtls_parameters,
                    },
                )
                self.viewers[rid] = _Viewer(process, answer["consumer_id"])
                await process.add(rid, mediasoup_offer(answer["transport"], [answer]))
            return rid

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def attach_offers(
        self, source: OfferSource, count: int, concurrency: int = 4
    ) -> list[str]:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> str:
            rid = f"v{next(self._ids)}"
            process = next(self._next)
            async with gate:
                offer, give_answer = await source(rid)
                self.viewers[rid] = _Viewer(process)
                await give_answer(await process.add(rid, offer))
            return rid

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def snapshot(self) -> dict[str, ReceiverStats]:
        lists = await asyncio.gather(*(p.stats() for p in self.processes))
        return {s.id: s for stats in lists for s in stats}

    async def wait_flowing(self, within: float = 60.0) -> int:
        """Waits until every receiver got packets (or the time is up); returns how many did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            snap = await self.snapshot()
            flowing = sum(1 for s in snap.values() if s.packets > 0)
            if flowing >= len(self.viewers) or loop.time() > deadline:
                return flowing
            await asyncio.sleep(0.5)  # counters live in other processes: sample them

    async def measure(self, seconds: float) -> Window:
        loop = asyncio.get_running_loop()
        before, t0 = await self.snapshot(), loop.time()
        await asyncio.sleep(seconds)  # the measurement window itself
        after, t1 = await self.snapshot(), loop.time()
        window = Window(t1 - t0)
        for rid, s in after.items():
            b = before.get(rid)
            if b is None:
                continue
            window.viewers[rid] = (
                s.packets - b.packets,
                max(0, s.lost - b.lost),
                s.bytes - b.bytes,
            )
        return window

    async def detach(self, stack: Stack | None = None, concurrency: int = 8) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(rid: str, viewer: _Viewer) -> None:
            async with gate:
                if stack is not None and viewer.consumer_id is not None:
                    await _delete(stack, viewer.consumer_id)
                await viewer.process.remove(rid)

        viewers, self.viewers = self.viewers, {}
        await asyncio.gather(*(one(rid, v) for rid, v in viewers.items()))

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.processes))
