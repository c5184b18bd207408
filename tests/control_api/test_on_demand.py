"""On-demand streams: no pull before the first consume, pull released after the idle time.

Real media node process, real RTSP camera (gst-rtsp-server), real aiortc viewer.
The ingest child is looked for both in the node's own view (Dump: no stream, no
ingest pid) and in /proc (no process under the node but its mediasoup workers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.control_api.flows import WsClient, wait_status, watch_v1, watch_v2
from tests.control_api.support import ApiServer, Node, make_settings, serve, start_node, wait_until
from tests.support.procs import cmdlines
from tests.support.rtsp_server import RtspServer
from vasms_client import VasmsClient

IDLE_S = 2.0


def ingest_processes(node: Node) -> set[int]:
    """The node's descendants that are not mediasoup workers (the ingest children)."""
    return {
        pid for pid, cmd in cmdlines(node.process.pid).items() if b"mediasoup-worker" not in cmd
    }


@pytest.fixture
async def camera() -> AsyncIterator[RtspServer]:
    server = await RtspServer.start(gop=30)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def od_api(db_url: str, node: Node) -> AsyncIterator[ApiServer]:
    settings = make_settings(
        db_url,
        media_nodes=[node.address],
        node_token=node.token,
        on_demand_idle_s=IDLE_S,
        on_demand_start_timeout_s=15.0,
    )
    async with serve(settings) as server:
        yield server


async def create_started(api: ApiServer, token: str, source: dict) -> dict:
    async with api.client(token) as c:
        r = await c.post("/api/v2/streams", json={"name": "cam", "source": source})
        assert r.status_code == 201, r.text
        r = await c.post(f"/api/v2/streams/{r.json()['id']}/start")
        assert r.status_code == 200, r.text
        return r.json()


async def test_pull_starts_at_first_consume_and_stops_after_idle(
    od_api: ApiServer, node: Node, camera: RtspServer
) -> None:
    token = await od_api.user("op", "operator")
    source = {"type": "rtsp", "url": camera.url, "on_demand": True}
    stream = await create_started(od_api, token, source)
    assert stream["status"] == "idle" and stream["node_id"] is None
    await asyncio.sleep(IDLE_S)  # longer than a sweep: still nothing pulled
    dump = await node.dump()
    assert [s.stream_id for s in dump.streams] == []
    assert ingest_processes(node) == set()
    assert (await wait_status(od_api, token, stream["id"], "idle"))["node_id"] is None

    figures = []
    for join in range(3):
        async with od_api.client(token) as c:
            started = time.monotonic()
            watch = await watch_v2(c, stream["id"], f"viewer-{join}")
            frames = await watch.viewer.frames(1, within=30)
            figures.append(frames[0].received_at - started)
            # Fast start: the first frames may come from the half-size bridge layer;
            # the camera's own size follows.
            assert (frames[0].width, frames[0].height) in ((640, 360), (320, 180)), frames
            full = frames[0]
            while (full.width, full.height) != (640, 360):
                (full,) = await watch.viewer.frames(1, within=30)
            (info,) = (await node.dump()).streams
            assert info.stream_id == stream["id"] and info.ingest.process_pid
            assert info.ingest.process_pid in ingest_processes(node)
            await watch.viewer.close()
            r = await c.delete(f"/api/v2/consumers/{watch.consumer_id}")
            assert r.status_code == 204
        # Released IDLE_S after the last viewer left: status idle, no stream, no child.
        await wait_status(od_api, token, stream["id"], "idle", within=IDLE_S + 20)

        async def released() -> bool:
            return not (await node.dump()).streams and not ingest_processes(node)

        await wait_until(released, within=20)
    print(
        "on-demand first frame from the first request (camera connect included): "
        + ", ".join(f"{f * 1000:.0f} ms" for f in figures)
    )


async def test_preload_keeps_it_pulled(od_api: ApiServer, node: Node, camera: RtspServer) -> None:
    token = await od_api.user("op", "operator")
    source = {"type": "rtsp", "url": camera.url, "on_demand": True, "preload": True}
    stream = await create_started(od_api, token, source)
    assert stream["status"] in ("starting", "live")
    await wait_status(od_api, token, stream["id"], "live")
    await asyncio.sleep(IDLE_S * 2)
    assert (await wait_status(od_api, token, stream["id"], "live"))["node_id"] == node.node_id
    assert len((await node.dump()).streams) == 1


async def test_camera_that_never_answers_times_out_with_504(
    db_url: str, node: Node, camera: RtspServer
) -> None:
    settings = make_settings(
        db_url,
        media_nodes=[node.address],
        node_token=node.token,
        on_demand_start_timeout_s=1.5,
        on_demand_idle_s=IDLE_S,
    )
    await camera.stop()  # the port is closed now: nothing answers there
    async with serve(settings) as api:
        token = await api.user("op", "operator")
        stream = await create_started(
            api, token, {"type": "rtsp", "url": camera.url, "on_demand": True}
        )
        async with api.client(token) as c:
            r = await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")
            assert r.status_code == 504, r.text
            assert r.json()["code"] == "stream_start_timeout"
            r = await c.post(
                f"/api/v2/streams/{stream['id']}/consume",
                json={"client_id": "x", "rtp_capabilities": {"codecs": []}},
            )
            assert r.status_code == 504 and r.json()["code"] == "stream_start_timeout"
        # Nobody got a viewer: the failing pull is released like an unwatched one.
        await wait_status(api, token, stream["id"], "idle", within=IDLE_S + 20)


async def test_two_replicas_racing_start_it_once(
    db_url: str, tmp_path: Path, camera: RtspServer
) -> None:
    token = "race-token"
    nodes = [await start_node(tmp_path, token=token), await start_node(tmp_path, token=token)]
    try:
        settings = make_settings(
            db_url, media_nodes=[n.address for n in nodes], node_token=token, on_demand_idle_s=30.0
        )
        async with serve(settings) as one, serve(settings) as two:
            op = await one.user("op", "operator")
            source = {"type": "rtsp", "url": camera.url, "on_demand": True}
            stream = await create_started(one, op, source)
            path = f"/api/v2/streams/{stream['id']}/router-capabilities"
            async with one.client(op) as a, two.client(op) as b:
                answers = await asyncio.gather(*(c.get(path) for c in (a, b, a, b)))
            assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
            held = [[s.stream_id for s in (await n.dump()).streams] for n in nodes]
            assert sorted(map(len, held)) == [0, 1], held  # one node, one start
            (info,) = [s for n in nodes for s in (await n.dump()).streams]
            assert info.ingest.restarts == 0
            row = await wait_status(two, op, stream["id"], "live")
            assert row["node_id"] == nodes[[len(h) for h in held].index(1)].node_id
    finally:
        for n in nodes:
            await n.stop()


async def test_python_sdk_viewer_starts_an_idle_stream(
    od_api: ApiServer, node: Node, camera: RtspServer
) -> None:
    token = await od_api.user("op", "operator")
    source = {"type": "rtsp", "url": camera.url, "on_demand": True}
    stream = await create_started(od_api, token, source)
    assert stream["status"] == "idle"
    async with (
        VasmsClient(od_api.base_url, token=token) as client,
        client.watch(stream["id"]) as viewer,
    ):
        async for frame in viewer.frames(1):
            assert frame.width in (320, 640)
    await wait_status(od_api, token, stream["id"], "idle", within=IDLE_S + 20)


async def test_v1_websocket_viewer_starts_an_idle_stream(
    od_api: ApiServer, node: Node, camera: RtspServer
) -> None:
    token = await od_api.user("op", "operator")
    source = {"type": "rtsp", "url": camera.url, "on_demand": True}
    stream = await create_started(od_api, token, source)
    assert stream["status"] == "idle" and not (await node.dump()).streams
    ws = await WsClient.connect(f"{od_api.ws_url}?token={token}")
    try:
        watch = await watch_v1(ws, stream["id"])
        (frame,) = await watch.viewer.frames(1, within=30)
        assert frame.width in (320, 640)
        assert [s.stream_id for s in (await node.dump()).streams] == [stream["id"]]
        await watch.viewer.close()
    finally:
        await ws.close()  # closes what the socket created: the stream goes idle again
    await wait_status(od_api, token, stream["id"], "idle", within=IDLE_S + 20)
