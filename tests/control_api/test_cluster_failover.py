"""The cluster topology: two API replicas on PostgreSQL driving three media nodes.

Placement spreads streams over the nodes, a viewer attached through one replica
detaches through the other, and a node killed under a watched stream has the
stream live on another node within 10 s (moved by exactly one replica).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from control_api.models import Consumer
from tests.control_api.conftest import _postgres_available
from tests.control_api.flows import TEST_PATTERN, wait_status, watch_v2
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


@dataclass
class Cluster:
    a: ApiServer
    b: ApiServer
    nodes: list[Node]
    admin: str

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    if not await _postgres_available():
        pytest.fail("PostgreSQL not reachable at 127.0.0.1:5432")
    nodes: list[Node] = []
    try:
        async with database("postgresql", tmp_path) as url:
            for i in range(3):
                rtc = {"VASMS_RTC_MIN_PORT": str(46000 + 1000 * i)}
                rtc["VASMS_RTC_MAX_PORT"] = str(46999 + 1000 * i)
                node = await start_node(tmp_path, node_id=f"cl-node-{i + 1}", token="t" * 32, **rtc)
                nodes.append(node)
            settings = make_settings(
                url, media_nodes=[n.address for n in nodes], node_token=nodes[0].token
            )
            async with serve(settings) as a, serve(settings) as b:
                admin = await a.token(*ADMIN)
                await wait_until(lambda: _all_fresh(a, b), within=15)
                yield Cluster(a, b, nodes, admin)
    finally:
        for node in nodes:
            await node.stop()


async def _all_fresh(*apis: ApiServer) -> bool:
    return all(h.fresh(3.0) for api in apis for h in api.ctx.nodes.handles)


async def start_stream(api: ApiServer, token: str, name: str) -> dict[str, Any]:
    async with api.client(token) as c:
        r = await c.post("/api/v2/streams", json={**TEST_PATTERN, "name": name})
        assert r.status_code == 201, r.text
        r = await c.post(f"/api/v2/streams/{r.json()['id']}/start")
        assert r.status_code == 200, r.text
        return dict(r.json())


async def test_streams_spread_and_viewer_crosses_replicas(cluster: Cluster) -> None:
    a, b, admin = cluster.a, cluster.b, cluster.admin
    # Started through both replicas in turn: placement counts the database, not
    # the nodes' last polled figures, so a burst still spreads.
    started = [await start_stream((a, b)[i % 2], admin, f"cam-{i}") for i in range(6)]
    live = [await wait_status(a, admin, s["id"], "live") for s in started]
    per_node = Counter(s["node_id"] for s in live)
    assert len(per_node) == 3 and max(per_node.values()) <= 3, per_node

    stream = live[0]
    node = cluster.node(stream["node_id"])
    token = await a.user("vic", "viewer")
    async with a.client(token) as ca, b.client(token) as cb:
        watch = await watch_v2(ca, stream["id"], "vic")
        try:
            frames = await watch.viewer.frames(3)
            assert frames[0].width > 0
            r = await cb.delete(f"/api/v2/consumers/{watch.consumer_id}")
            assert r.status_code == 204, r.text
        finally:
            await watch.viewer.close()

    async def gone() -> bool:
        dump = await node.dump()
        return watch.consumer_id not in {c.id for c in dump.consumers}

    await wait_until(gone, within=10)


async def test_killed_node_fails_over_within_10s(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="control_api")
    a, b, admin = cluster.a, cluster.b, cluster.admin
    streams = [await start_stream(a, admin, f"cam-{i}") for i in range(3)]
    for s in streams:
        await wait_status(a, admin, s["id"], "live")
    async with a.client(admin) as c:
        stream = (await c.get(f"/api/v2/streams/{streams[0]['id']}")).json()
    dead = cluster.node(stream["node_id"])
    token = await a.user("wes", "viewer")
    async with a.client(token) as ca, b.client(token) as cb:
        watch = await watch_v2(ca, stream["id"], "wes")
        try:
            await watch.viewer.frames(3)
            # SIGKILL while the viewer still plays: no drain, no goodbye. (Hanging up
            # first would let the node report the close as dtls_closed before it dies.)
            dead.process.kill()
            killed_at = time.monotonic()
        finally:
            await watch.viewer.close()

        async def moved() -> dict[str, Any] | None:
            body = (await cb.get(f"/api/v2/streams/{stream['id']}")).json()
            ok = body["status"] == "live" and body["node_id"] not in (None, dead.node_id)
            return body if ok else None

        now_live = await wait_until(moved, within=10, interval=0.1)
        failover_s = time.monotonic() - killed_at
        print(f"failover: live on {now_live['node_id']} {failover_s:.2f} s after SIGKILL")

        # The old viewer's consumer is reported closed; a new one plays on the new node.
        old = (await ca.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
        assert (old["state"], old["closed_reason"]) == ("closed", "node_lost")
        again = await watch_v2(cb, stream["id"], "wes")
        try:
            assert len(await again.viewer.frames(3)) == 3
            new_node = cluster.node(now_live["node_id"])
            dump = await new_node.dump()
            assert again.consumer_id in {c.id for c in dump.consumers}
        finally:
            await again.viewer.close()
        assert (await cb.delete(f"/api/v2/consumers/{again.consumer_id}")).status_code == 204

    # No open consumer row is left on the dead node, and exactly one replica moved each
    # of its streams (the conditional UPDATE): the other only observed.
    async with a.ctx.sessions() as session:
        rows = await session.exec(
            select(Consumer.id).where(
                col(Consumer.node_id) == dead.node_id, col(Consumer.state) != "closed"
            )
        )
        assert rows.all() == []
    moves = [r for r in caplog.records if r.getMessage() == "stream failed over"]
    on_dead = sum(1 for s in streams if s["node_id"] == dead.node_id)
    assert len(moves) == on_dead, [getattr(r, "stream_id", None) for r in moves]

    # The node comes back (same id and address) and takes new work again.
    revived = await start_node(
        Path(dead.log_path).parent,
        address=dead.address,
        node_id=dead.node_id,
        token=dead.token,
    )
    cluster.nodes[cluster.nodes.index(dead)] = revived

    async def back() -> bool:
        return await _all_fresh(a, b) and not _any_down(a, b)

    await wait_until(back, within=15, interval=0.2)
    fresh = await start_stream(b, admin, "after-return")
    assert fresh["node_id"] == revived.node_id  # the emptiest node is the returned one
    await wait_status(a, admin, fresh["id"], "live", within=15)


def _any_down(*apis: ApiServer) -> bool:
    return any(h.down for api in apis for h in api.ctx.nodes.handles)


async def test_drained_node_keeps_viewers_and_gets_no_new_work(cluster: Cluster) -> None:
    a, b, admin = cluster.a, cluster.b, cluster.admin
    streams = [await start_stream(a, admin, f"cam-{i}") for i in range(3)]
    for s in streams:
        await wait_status(a, admin, s["id"], "live")
    stream = streams[0]
    drained = cluster.node(stream["node_id"])
    token = await a.user("dee", "viewer")
    async with a.client(token) as ca, b.client(token) as cb, b.client(admin) as adm:
        watch = await watch_v2(ca, stream["id"], "dee")
        try:
            await watch.viewer.frames(3)
            r = await adm.post(f"/api/v2/nodes/{drained.node_id}/drain", json={"deadline_s": 120})
            assert r.status_code == 200 and r.json()["draining"], r.text

            async def known_draining() -> bool:  # replica A learns it from the node itself
                return all(h.draining for h in a.ctx.nodes.handles if h.node_id == drained.node_id)

            await wait_until(known_draining, within=5)
            more = [await start_stream((a, b)[i % 2], admin, f"more-{i}") for i in range(3)]
            assert drained.node_id not in {s["node_id"] for s in more}
            caps = watch.viewer.device.rtpCapabilities.model_dump(exclude_none=True)
            r = await cb.post(
                f"/api/v2/streams/{stream['id']}/consume",
                json={"client_id": "dee-2", "rtp_capabilities": caps},
            )
            assert (r.status_code, r.json()["code"]) == (503, "node_draining"), r.text
            assert len(await watch.viewer.frames(10)) == 10  # the viewer stays
            body = (await ca.get(f"/api/v2/streams/{stream['id']}")).json()
            assert (body["status"], body["node_id"]) == ("live", drained.node_id)
        finally:
            await watch.viewer.close()
