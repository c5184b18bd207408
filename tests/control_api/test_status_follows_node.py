"""Stream status and consumer state follow the node through its event stream.

Nothing here polls the node from the API side on GET: the rows change because
the replica's WatchEvents task applied the node's events.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protos import media_node_pb2 as pb
from tests.control_api.flows import live_stream, snapshot, wait_released, wait_status, watch_v2
from tests.control_api.support import ADMIN, ApiServer, Node, make_settings, serve, wait_until


async def test_killed_ingest_shows_error_then_live_again(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    stream = await live_stream(api, admin)
    info = await node.call("GetStream", pb.GetStreamRequest(stream_id=stream["id"]))
    assert info.ingest.process_pid > 0
    os.kill(info.ingest.process_pid, signal.SIGKILL)
    errored = await wait_status(api, admin, stream["id"], "error", within=20)
    assert errored["status_reason"]
    live = await wait_status(api, admin, stream["id"], "live", within=30)
    assert live["status_reason"] == "" or live["status"] == "live"


async def test_stop_on_the_node_shows_error_then_live_again(api: ApiServer, node: Node) -> None:
    """Someone stops the stream on the node itself: the operator still wants it running,
    so the API reports error and its reconciler starts it again."""
    admin = await api.token(*ADMIN)
    stream = await live_stream(api, admin)
    stopped = await node.call("StopStream", pb.StopStreamRequest(stream_id=stream["id"]))
    assert stopped.status == pb.STREAM_STATUS_STOPPED
    errored = await wait_status(api, admin, stream["id"], "error", within=10)
    assert "stopped" in errored["status_reason"]
    await wait_status(api, admin, stream["id"], "live", within=30)


async def test_stop_through_the_api_closes_consumers(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    stream = await live_stream(api, admin)
    token = await api.user("sam", "viewer")
    async with api.client(token) as c:
        watch = await watch_v2(c, stream["id"], "sam")
        try:
            await watch.viewer.frames(2)
            async with api.client(admin) as a:
                r = await a.post(f"/api/v2/streams/{stream['id']}/stop")
                assert r.status_code == 200 and r.json()["status"] == "stopped"
                assert r.json()["consumer_count"] == 0
            info = (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
            assert info["state"] == "closed" and info["closed_reason"] == "stream_stopped"
            dump = await node.dump()
            assert not [x for x in dump.consumers if x.client_id == "sam"]
            assert sum(w.worker_consumers for w in dump.workers) == 0
            # Still addressable: the first DELETE answers 204, then 404.
            assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 204
            assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404
        finally:
            await watch.viewer.close()
    # And it starts again.
    async with api.client(admin) as a:
        assert (await a.post(f"/api/v2/streams/{stream['id']}/start")).status_code == 200
    await wait_status(api, admin, stream["id"], "live")


async def test_viewer_hang_up_is_reported_with_its_reason(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    baseline = snapshot(await node.dump())
    token = await api.user("hugo", "viewer")
    async with api.client(token) as c:
        watch = await watch_v2(c, stream["id"], "hugo")
        await watch.viewer.frames(2)
        await watch.viewer.close()  # DTLS close_notify: the node closes transport + consumer

        async def closed() -> dict | None:
            body = (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
            return body if body["state"] == "closed" else None

        info = await wait_until(closed, 20)
        assert info["closed_reason"] in ("dtls_closed", "ice_disconnected")
        assert info["stats"] == {"bitrate": 0, "packets_sent": 0, "packets_lost": 0, "score": 0}
        await wait_released(node, "hugo", baseline)
        assert (await c.get(f"/api/v2/streams/{stream['id']}")).json()["consumer_count"] == 0
        assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 204
        assert (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404


@pytest.fixture
async def api_short_ttl(db_url: str, node: Node) -> AsyncIterator[ApiServer]:
    settings = make_settings(
        db_url, media_nodes=[node.address], node_token=node.token, closed_consumer_ttl_s=1.0
    )
    async with serve(settings) as server:
        yield server


async def test_closed_consumer_is_forgotten_after_its_ttl(
    api_short_ttl: ApiServer, node: Node
) -> None:
    api = api_short_ttl
    admin = await api.token(*ADMIN)
    stream = await live_stream(api, admin)
    token = await api.user("tina", "viewer")
    async with api.client(token) as c:
        watch = await watch_v2(c, stream["id"], "tina")
        await watch.viewer.frames(1)
        await watch.viewer.close()

        async def gone() -> bool:
            return (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404

        await wait_until(gone, 20)
        assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404


async def test_node_going_away_marks_streams_error_and_readiness_fails(
    db_url: str, tmp_path: Path
) -> None:
    from tests.control_api.support import start_node

    node = await start_node(tmp_path)
    try:
        settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            stream = await live_stream(api, admin)
            async with api.client() as c:
                assert (await c.get("/readyz")).status_code == 200
            await node.stop()
            errored = await wait_status(api, admin, stream["id"], "error", within=15)
            assert errored["status_reason"] == "media node unreachable"
            async with api.client() as c:
                ready = await c.get("/readyz")
                assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
                metrics = (await c.get("/metrics")).text
                assert f'vasms_node_up{{node="{node.node_id}"}} 0' in metrics
                assert 'vasms_streams{status="error"} 1' in metrics
    finally:
        await node.stop()
