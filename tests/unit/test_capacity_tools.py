"""The capacity bench's own tools: the knee search, CFS throttling deltas, per-socket drops.

The search is tested with a stand-in probe (one pure function under test); the drop
counter against the real kernel: a UDP socket that nobody reads overflows.
"""

from __future__ import annotations

import os
import socket

import pytest

from bench.capacity import Row, find_capacity
from bench.load import udp
from bench.load.cgroups import Throttling
from bench.load.fleet import Window


def _row(level: int, knee: int) -> Row:
    lost = 0 if level <= knee else 100  # 7 % loss past the knee
    window = Window(8.0, {f"v{i}": (1250, lost, 1_500_000) for i in range(level)})  # 1.5 Mbit/s
    return Row(
        server="stand-in",
        viewers=level,
        flowing=level,
        window=window,
        cpu={"workers": level * 0.0015 * 8.0},  # 0.15 % of a core per viewer
        drops={},
        machine_pct=50.0,
        bench_pct=20.0,
        worker_split=[],
        throttling=[],
    )


@pytest.mark.parametrize("knee", [7, 38, 75, 100, 260])
async def test_search_finds_the_knee_within_its_resolution(knee: int) -> None:
    probed: list[int] = []

    async def probe(level: int) -> Row:
        probed.append(level)
        return _row(level, knee)

    found, rows = await find_capacity(probe, 20, 400, 0.03, worker_budget_pct=15.0)
    assert found <= knee
    assert knee - found <= max(2, 0.03 * knee)
    assert [r.viewers for r in rows] == probed
    assert len(probed) <= 12, probed


async def test_search_stops_at_the_ceiling_when_nothing_fails() -> None:
    async def probe(level: int) -> Row:
        return _row(level, 10_000)

    found, _ = await find_capacity(probe, 20, 120, 0.03, worker_budget_pct=None)
    assert found == 120


async def test_a_failed_attach_counts_as_not_served() -> None:
    async def probe(level: int) -> Row | None:
        return None if level > 30 else _row(level, 10_000)

    found, _ = await find_capacity(probe, 20, 400, 0.03, worker_budget_pct=None)
    assert 28 <= found <= 30


def test_a_level_delivered_late_is_not_served() -> None:
    """No packet lost, but the receivers get half the stream's rate (a worker queueing
    behind large socket buffers): not served."""
    row = _row(50, 100)
    assert row.ok
    row.window = Window(8.0, {f"v{i}": (625, 0, 750_000) for i in range(50)})
    assert row.summary["loss_pct"] == 0.0
    assert not row.ok


def test_throttling_delta_and_share() -> None:
    before = Throttling(periods=100, throttled=10, throttled_ns=5_000_000)
    after = Throttling(periods=900, throttled=410, throttled_ns=305_000_000)
    delta = after - before
    assert delta == Throttling(800, 400, 300_000_000)
    assert delta.throttled_pct == 50.0
    assert Throttling(0, 0, 0).throttled_pct == 0.0


def test_drops_are_counted_on_the_socket_that_did_not_read() -> None:
    reader = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    writer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.bind(("127.0.0.1", 0))
        before = udp.drops({"me": [os.getpid()]})["me"]
        for _ in range(200):  # far more than a 4 KiB buffer holds; nobody reads
            writer.sendto(b"x" * 1200, reader.getsockname())
        after = udp.drops({"me": [os.getpid()], "nobody": []})
        assert after["me"] - before > 100
        assert after["nobody"] == 0
    finally:
        reader.close()
        writer.close()
