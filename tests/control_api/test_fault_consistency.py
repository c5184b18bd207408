"""Consistency under faults, on real processes: a node paused past the failover delay,
a stop and a delete while a node is unreachable, start/stop racing on two replicas,
and the node forgetting deleted streams.

The invariant every test checks: a stream runs on exactly the node its row names
(`ListStreams` over all nodes shows it once), or nowhere once stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from control_api.models import Desired, Stream
from protos import media_node_pb2 as pb
from tests.control_api.conftest import _postgres_available
from tests.control_api.flows import TEST_PATTERN, live_stream, wait_status, watch_v2
from tests.control_api.support import (
    ADMIN,
    ApiServer,
    Node,
    database,
    make_settings,
    serve,
    start_node,
    wait_until,
)

FAST = {
    "node_failover_after_s": 2.0,
    "node_stale_after_s": 3.0,
    "grpc_timeout_s": 2.0,
    "orphan_sweep_interval_s": 1.0,
}


@dataclass
class Pair:
    a: ApiServer
    b: ApiServer
    nodes: list[Node]
    admin: str

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    """Two replicas on one PostgreSQL database, two media nodes."""
    if not await _postgres_available():
        pytest.fail("PostgreSQL not reachable at 127.0.0.1:5432")
    nodes: list[Node] = []
    try:
        async with database("postgresql", tmp_path) as url:
            for _ in range(2):
                nodes.append(await start_node(tmp_path, token="f" * 32))
            settings = make_settings(
                url, media_nodes=[n.address for n in nodes], node_token=nodes[0].token, **FAST
            )
            async with serve(settings) as a, serve(settings) as b:
                await wait_until(lambda: _fresh(a, b), within=15)
                yield Pair(a, b, nodes, await a.token(*ADMIN))
    finally:
        for node in nodes:
            _resume(node)  # a node a test paused must run to be stopped
            await node.stop()


def _resume(node: Node) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(node.process.pid, signal.SIGCONT)


async def _fresh(*apis: ApiServer) -> bool:
    return all(h.fresh(3.0) and not h.down for api in apis for h in api.ctx.nodes.handles)


async def _running_on(nodes: list[Node]) -> Counter[str]:
    """stream id -> how many nodes list it (any status: a forgotten stream is gone)."""
    seen: Counter[str] = Counter()
    for node in nodes:
        listed = await node.call("ListStreams", pb.ListStreamsRequest())
        seen.update(s.stream_id for s in listed.streams)
    return seen


async def _row(api: ApiServer, stream_id: str) -> Stream | None:
    async with api.ctx.sessions() as session:
        return await session.get(Stream, stream_id)


async def _consistent(pair: Pair, stream_id: str) -> bool:
    """Running on exactly the row's node if wanted, running nowhere if stopped."""
    row = await _row(pair.a, stream_id)
    assert row is not None
    running = []
    for node in pair.nodes:
        listed = await node.call("ListStreams", pb.ListStreamsRequest())
        running += [
            node.node_id
            for s in listed.streams
            if s.stream_id == stream_id and s.status != pb.STREAM_STATUS_STOPPED
        ]
    if row.desired == Desired.running.value:
        return running == [row.node_id]
    return running == []


async def _create(api: ApiServer, token: str, name: str) -> str:
    async with api.client(token) as c:
        r = await c.post("/api/v2/streams", json={**TEST_PATTERN, "name": name})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


async def test_paused_node_no_duplicate_ingest_and_moved_viewers_kept(pair: Pair) -> None:
    a, b, admin = pair.a, pair.b, pair.admin
    streams = [
        await live_stream((a, b)[i], admin, {**TEST_PATTERN, "name": f"p{i}"}) for i in range(2)
    ]
    assert {s["node_id"] for s in streams} == {n.node_id for n in pair.nodes}  # one each
    moved = streams[0]
    paused = pair.node(moved["node_id"])

    os.kill(paused.process.pid, signal.SIGSTOP)  # longer than the failover delay
    stopped_at = time.monotonic()
    try:
        async with b.client(admin) as c:

            async def elsewhere() -> dict[str, Any] | None:
                body = (await c.get(f"/api/v2/streams/{moved['id']}")).json()
                ok = body["status"] == "live" and body["node_id"] != paused.node_id
                return body if ok else None

            now = await wait_until(elsewhere, within=30, interval=0.2)
        print(f"pause: live on the other node {time.monotonic() - stopped_at:.2f} s after SIGSTOP")
        new_node = pair.node(now["node_id"])
        token = await a.user("pia", "viewer")
        async with a.client(token) as ca:
            watch = await watch_v2(ca, moved["id"], "pia")
            try:
                await watch.viewer.frames(3)
            finally:
                _resume(paused)
                resumed_at = time.monotonic()
            try:
                # The paused node comes back still ingesting the moved stream: it is
                # reconciled (the event stream never broke) and forgets its copy.
                async def once_each() -> bool:
                    seen = await _running_on(pair.nodes)
                    return all(seen[s["id"]] == 1 for s in streams)

                await wait_until(once_each, within=20, interval=0.3)
                print(
                    f"pause: each stream once {time.monotonic() - resumed_at:.2f} s after SIGCONT"
                )
                listed = await paused.call("ListStreams", pb.ListStreamsRequest())
                assert moved["id"] not in {s.stream_id for s in listed.streams}
                assert await _consistent(pair, moved["id"])
                # The viewer on the new node outlives several sweeps of every replica.
                await wait_until(lambda: _fresh(a, b), within=15)
                for _ in range(3):
                    await asyncio.sleep(FAST["orphan_sweep_interval_s"])  # let sweeps run
                    assert len(await watch.viewer.frames(10)) == 10
                dump = await new_node.dump()
                assert watch.consumer_id in {c.id for c in dump.consumers}
                info = (await ca.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
                assert info["state"] != "closed", info
            finally:
                await watch.viewer.close()
    finally:
        _resume(paused)


async def test_stop_and_delete_during_outage_applied_when_node_answers(pair: Pair) -> None:
    a, b, admin = pair.a, pair.b, pair.admin
    # Two streams on one node: the node of the first, and the next one placed there.
    first = await live_stream(a, admin, {**TEST_PATTERN, "name": "to-stop"})
    node = pair.node(first["node_id"])
    second = None
    for i in range(4):  # placement alternates; take the first one that lands on `node`
        candidate = await live_stream(b, admin, {**TEST_PATTERN, "name": f"to-delete-{i}"})
        if candidate["node_id"] == node.node_id:
            second = candidate
            break
    assert second is not None, "placement never chose the same node"

    os.kill(node.process.pid, signal.SIGSTOP)
    try:
        # Stopped at once (so the failover has nothing to move): the node's calls time out.
        async with a.client(admin) as c:
            r = await c.post(f"/api/v2/streams/{first['id']}/stop")
            assert (r.status_code, r.json()["status"]) == (200, "stopped"), r.text
            r = await c.post(f"/api/v2/streams/{second['id']}/stop")
            assert r.status_code == 200, r.text
            r = await c.delete(f"/api/v2/streams/{second['id']}")
            assert r.status_code == 204, r.text
            assert (await c.get(f"/api/v2/streams/{second['id']}")).status_code == 404
            ids = {s["id"] for s in (await c.get("/api/v2/streams")).json()}
            assert second["id"] not in ids

        async def down() -> bool:
            handles = [h for api in (a, b) for h in api.ctx.nodes.handles]
            return all(h.down for h in handles if h.node_id == node.node_id)

        await wait_until(down, within=20, interval=0.2)  # an outage past the failover delay
    finally:
        _resume(node)

    async def applied() -> bool:
        listed = await node.call("ListStreams", pb.ListStreamsRequest())
        by_id = {s.stream_id: s.status for s in listed.streams}
        return by_id.get(first["id"]) == pb.STREAM_STATUS_STOPPED and second["id"] not in by_id

    await wait_until(applied, within=20, interval=0.3)
    # The paused node could not be told at delete time: a hidden tombstone row told it.
    tombstone = await _row(a, second["id"])
    assert tombstone is not None and tombstone.desired == Desired.deleted.value
    assert await _consistent(pair, first["id"])
    async with b.client(admin) as c:
        body = (await c.get(f"/api/v2/streams/{first['id']}")).json()
        assert body["status"] == "stopped"


async def test_start_stop_race_on_two_replicas_ends_consistent(pair: Pair) -> None:
    a, b, admin = pair.a, pair.b, pair.admin
    stream_ids = [await _create(a, admin, f"race-{i}") for i in range(3)]
    async with a.client(admin) as ca, b.client(admin) as cb:
        for round_ in range(6):
            calls = []
            for i, stream_id in enumerate(stream_ids):
                starter, stopper = (ca, cb) if (round_ + i) % 2 else (cb, ca)
                calls.append(starter.post(f"/api/v2/streams/{stream_id}/start"))
                calls.append(stopper.post(f"/api/v2/streams/{stream_id}/stop"))
                if round_ % 3 == 2:  # two starts at once as well (placement may differ)
                    calls.append(stopper.post(f"/api/v2/streams/{stream_id}/start"))
            replies = await asyncio.gather(*calls)
            assert all(r.status_code in (200, 503) for r in replies), [r.text for r in replies]
            for stream_id in stream_ids:

                async def settled(stream_id: str = stream_id) -> bool:
                    return await _consistent(pair, stream_id)

                await wait_until(settled, within=15, interval=0.2)
    # Whatever the last word was, the API agrees with the nodes.
    for stream_id in stream_ids:
        row = await _row(b, stream_id)
        assert row is not None
        if row.desired == Desired.running.value:
            await wait_status(b, admin, stream_id, "live", within=20)


async def test_deleted_stream_is_forgotten_by_the_node(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    kept = await live_stream(api, admin, {**TEST_PATTERN, "name": "kept"})
    gone = await live_stream(api, admin, {**TEST_PATTERN, "name": "gone"})
    async with api.client(admin) as c:
        for stream in (kept, gone):
            assert (await c.post(f"/api/v2/streams/{stream['id']}/stop")).status_code == 200
        assert (await c.delete(f"/api/v2/streams/{gone['id']}")).status_code == 204
    listed = await node.call("ListStreams", pb.ListStreamsRequest())
    # The stopped stream stays listed (it may start again); the deleted one is gone.
    assert [(s.stream_id, s.status) for s in listed.streams] == [
        (kept["id"], pb.STREAM_STATUS_STOPPED)
    ]
