"""Edge relays across a 3-node cluster on PostgreSQL (control_api/services/relays.py,
media_node/relay.py): one ingest, viewers decoding on every node, relays that close with
their last viewer, and an origin lost under relayed viewers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from control_api.models import Relay
from tests.control_api.conftest import _postgres_available
from tests.control_api.flows import TEST_PATTERN, V2Watch, wait_status, watch_v2
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


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[ApiServer, ApiServer, list[Node]]]:
    if not await _postgres_available():
        pytest.fail("PostgreSQL not reachable at 127.0.0.1:5432")
    nodes: list[Node] = []
    try:
        async with database("postgresql", tmp_path) as url:
            for i in range(3):
                rtc = {"VASMS_RTC_MIN_PORT": str(43000 + 1000 * i)}
                rtc["VASMS_RTC_MAX_PORT"] = str(43999 + 1000 * i)
                node = await start_node(tmp_path, node_id=f"er-node-{i + 1}", token="t" * 32, **rtc)
                nodes.append(node)
            # One viewer per node before the next node is used: three viewers, three nodes.
            settings = make_settings(
                url,
                media_nodes=[n.address for n in nodes],
                node_token=nodes[0].token,
                edge_relay_after=1,
            )
            async with serve(settings) as a, serve(settings) as b:
                await wait_until(lambda: _fresh(a, b), within=15)
                yield a, b, nodes
    finally:
        for node in nodes:
            await node.stop()


async def _fresh(*apis: ApiServer) -> bool:
    return all(h.fresh(3.0) for api in apis for h in api.ctx.nodes.handles)


async def _relays(api: ApiServer) -> list[Relay]:
    async with api.ctx.sessions() as session:
        return list((await session.exec(select(Relay))).all())


def _node(nodes: list[Node], node_id: str) -> Node:
    return next(n for n in nodes if n.node_id == node_id)


async def _viewer_nodes(nodes: list[Node], watches: list[V2Watch]) -> dict[str, str]:
    """consumer id -> the node holding it (from each node's own dump)."""
    where = {}
    for node in nodes:
        for consumer in (await node.dump()).consumers:
            where[consumer.id] = node.node_id
    return {w.consumer_id: where.get(w.consumer_id, "") for w in watches}


async def _start(api: ApiServer, token: str) -> dict[str, Any]:
    async with api.client(token) as c:
        r = await c.post("/api/v2/streams", json={**TEST_PATTERN, "name": "relayed"})
        assert r.status_code == 201, r.text
        r = await c.post(f"/api/v2/streams/{r.json()['id']}/start")
        assert r.status_code == 200, r.text
    return await wait_status(api, token, r.json()["id"], "live")


async def test_viewers_decode_on_three_nodes_from_one_ingest_and_relays_close_after_them(
    cluster: tuple[ApiServer, ApiServer, list[Node]],
) -> None:
    a, b, nodes = cluster
    admin = await a.token(*ADMIN)
    stream = await _start(a, admin)
    origin = _node(nodes, stream["node_id"])
    token = await a.user("eve", "viewer")
    watches: list[V2Watch] = []
    async with a.client(token) as ca, b.client(token) as cb:
        try:
            for i, client in enumerate((ca, cb, ca)):
                watches.append(await watch_v2(client, stream["id"], f"eve-{i}"))
            for watch in watches:
                frames = await watch.viewer.frames(5)
                assert frames[0].width == 640
            placed = await _viewer_nodes(nodes, watches)
            assert placed[watches[0].consumer_id] == origin.node_id
            assert set(placed.values()) == {n.node_id for n in nodes}
            # One ingest in total: only the origin runs the stream, the edges list nothing.
            for node in nodes:
                dump = await node.dump()
                listed = [s.stream_id for s in dump.streams]
                assert listed == ([stream["id"]] if node is origin else [])
            relays = await _relays(a)
            assert sorted(r.edge_node_id for r in relays) == sorted(
                n.node_id for n in nodes if n is not origin
            )
            assert all(r.ready and r.origin_node_id == origin.node_id for r in relays)

            # The last viewer of an edge leaves: its relay closes on both nodes.
            leaving = watches.pop()
            edge = _node(nodes, placed[leaving.consumer_id])
            assert (await cb.delete(f"/api/v2/consumers/{leaving.consumer_id}")).status_code == 204
            await leaving.viewer.close()

            async def relay_gone() -> bool:
                left = await _relays(b)
                edge_dump = await edge.dump()
                return edge.node_id not in {r.edge_node_id for r in left} and not any(
                    w.worker_router_ids for w in edge_dump.workers
                )

            await wait_until(relay_gone, within=30)
            origin_dump = await origin.dump()
            # The origin's pipe to that edge went too: the ingest, one viewer and one pipe.
            assert sum(w.worker_transports for w in origin_dump.workers) == 3
            for watch in watches:
                assert len(await watch.viewer.frames(5)) == 5
        finally:
            for watch in watches:
                await watch.viewer.close()


async def test_losing_the_origin_closes_relayed_viewers_and_the_stream_moves(
    cluster: tuple[ApiServer, ApiServer, list[Node]],
) -> None:
    a, b, nodes = cluster
    admin = await a.token(*ADMIN)
    stream = await _start(a, admin)
    origin = _node(nodes, stream["node_id"])
    token = await a.user("rex", "viewer")
    async with a.client(token) as ca, b.client(token) as cb:
        first = await watch_v2(ca, stream["id"], "rex-0")
        second = await watch_v2(cb, stream["id"], "rex-1")
        try:
            await first.viewer.frames(3)
            await second.viewer.frames(3)
            placed = await _viewer_nodes(nodes, [first, second])
            assert placed[first.consumer_id] == origin.node_id
            assert placed[second.consumer_id] not in ("", origin.node_id)

            origin.process.kill()  # SIGKILL: the origin is lost
            killed_at = time.monotonic()

            async def told() -> dict[str, Any] | None:
                body = (await cb.get(f"/api/v2/consumers/{second.consumer_id}")).json()
                return body if body["state"] == "closed" else None

            closed = await wait_until(told, within=30, interval=0.2)
            assert closed["closed_reason"] == "node_lost"
            print(f"edge viewer told node_lost {time.monotonic() - killed_at:.2f} s after SIGKILL")

            async def moved() -> dict[str, Any] | None:
                body = (await cb.get(f"/api/v2/streams/{stream['id']}")).json()
                ok = body["status"] == "live" and body["node_id"] not in (None, origin.node_id)
                return body if ok else None

            await wait_until(moved, within=30, interval=0.2)
            assert not await _relays(a)
            edge = _node(nodes, placed[second.consumer_id])
            edge_dump = await edge.dump()
            assert second.consumer_id not in {c.id for c in edge_dump.consumers}
        finally:
            await first.viewer.close()
            await second.viewer.close()
