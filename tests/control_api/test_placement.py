"""Placement selectors: pure functions of the candidates."""

from __future__ import annotations

import time

import grpc
import pytest

from control_api.failures import NoNodeAvailable
from control_api.node_client import NodeHandle
from control_api.placement import (
    AnySelector,
    Candidate,
    CpuLimitSelector,
    LeastLoadSelector,
    StickySelector,
    available,
    candidates_from,
    place,
    selector_named,
)
from protos import media_node_pb2 as pb


def cand(node_id: str, **kw: object) -> Candidate:
    values: dict = {
        "node_id": node_id,
        "address": f"{node_id}:50051",
        "draining": False,
        "age_s": 0.5,
        "cpu_percent": 10.0,
        "streams": 1,
        "consumers": 0,
        "transports": 0,
        "outgoing_bitrate_bps": 0,
    }
    values.update(kw)
    return Candidate(**values)


def test_available_excludes_stale_and_draining() -> None:
    nodes = [cand("a"), cand("b", draining=True), cand("c", age_s=11.0), cand("d", age_s=9.9)]
    assert [c.node_id for c in available(nodes, stale_after_s=10)] == ["a", "d"]


@pytest.mark.parametrize(
    ("sort_by", "expected"),
    [("cpu", "b"), ("streams", "c"), ("consumers", "a"), ("bitrate", "c")],
)
def test_least_load_by_each_figure(sort_by: str, expected: str) -> None:
    nodes = [
        cand("a", cpu_percent=50, streams=5, consumers=0, outgoing_bitrate_bps=9),
        cand("b", cpu_percent=5, streams=3, consumers=7, outgoing_bitrate_bps=5),
        cand("c", cpu_percent=30, streams=1, consumers=3, outgoing_bitrate_bps=1),
    ]
    assert LeastLoadSelector(sort_by).select(nodes).node_id == expected  # type: ignore[arg-type]


def test_least_load_ties_are_deterministic() -> None:
    nodes = [cand("b"), cand("a"), cand("c", streams=0)]
    assert LeastLoadSelector("cpu").select(nodes).node_id == "c"
    assert LeastLoadSelector("cpu").select(nodes[:2]).node_id == "a"


def test_cpu_limit_prefers_nodes_under_the_limit_and_still_places_when_all_are_over() -> None:
    busy = cand("busy", cpu_percent=95, streams=0)
    calm = cand("calm", cpu_percent=20, streams=9)
    assert CpuLimitSelector(80).select([busy, calm]).node_id == "calm"
    hot = cand("hot", cpu_percent=99, streams=3)
    assert CpuLimitSelector(80).select([busy, hot]).node_id == "busy"


def test_sticky_keeps_the_current_node_when_available() -> None:
    nodes = [cand("a", cpu_percent=90), cand("b", cpu_percent=1)]
    assert StickySelector("a", LeastLoadSelector()).select(nodes).node_id == "a"
    assert StickySelector("gone", LeastLoadSelector()).select(nodes).node_id == "b"


def test_any_selector_uses_its_rng_and_refuses_empty() -> None:
    nodes = [cand("a"), cand("b")]
    assert AnySelector(rng=lambda cs: cs[-1]).select(nodes).node_id == "b"
    with pytest.raises(NoNodeAvailable) as err:
        AnySelector().select([])
    assert err.value.code == "no_node_available"


def test_selector_names() -> None:
    assert isinstance(selector_named("any"), AnySelector)
    assert isinstance(selector_named("cpu_limit", 70), CpuLimitSelector)
    assert selector_named("streams") == LeastLoadSelector("streams")


async def test_place_uses_pool_load_figures() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:1")
    try:
        now = time.monotonic()

        def handle(node_id: str | None, cpu: float, draining: bool = False) -> NodeHandle:
            h = NodeHandle(f"{node_id}:1", channel, None)  # type: ignore[arg-type]
            h.node_id = node_id  # type: ignore[assignment]
            if node_id is not None:
                h.load = pb.Load(
                    node_id=node_id,
                    draining=draining,
                    streams=1,
                    workers=[pb.WorkerLoad(cpu_percent=cpu), pb.WorkerLoad(cpu_percent=cpu * 3)],
                )
                h.load_at = now
            return h

        handles = [handle("a", 30), handle("b", 10), handle("c", 1, True), handle(None, 0)]
        cands = candidates_from(handles, now)
        assert [c.node_id for c in cands] == ["a", "b", "c"]
        assert cands[1].cpu_percent == 20  # mean over workers
        assert place(handles, LeastLoadSelector("cpu"), 10).node_id == "b"
        assert place(handles, LeastLoadSelector("cpu"), 10, preferred="a").node_id == "a"
        handles[1].load_at = now - 60  # stale
        assert place(handles, LeastLoadSelector("cpu"), 10).node_id == "a"
    finally:
        await channel.close()


async def test_place_counts_database_streams_and_skips_down_and_excluded_nodes() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:1")
    try:
        handles = []
        for node_id in ("a", "b", "c"):
            h = NodeHandle(f"{node_id}:1", channel, None)  # type: ignore[arg-type]
            h.node_id = node_id  # type: ignore[assignment]
            h.load, h.load_at = pb.Load(node_id=node_id, streams=0), time.monotonic()
            handles.append(h)
        by_streams = LeastLoadSelector("streams")
        # The nodes have not reported yet what the database already placed on them.
        assert place(handles, by_streams, 10, stream_counts={"a": 2, "b": 1, "c": 3}).node_id == "b"
        counts = {"a": 2, "c": 3}
        assert place(handles, by_streams, 10, stream_counts=counts, exclude="b").node_id == "a"
        handles[0].down = True
        counts = {"a": 0, "b": 1, "c": 3}
        assert place(handles, by_streams, 10, stream_counts=counts).node_id == "b"
        with pytest.raises(NoNodeAvailable) as err:
            place([handles[0]], by_streams, 10)  # only a down node left
        assert err.value.code == "no_node_available"
    finally:
        await channel.close()
