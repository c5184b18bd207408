"""GET /api/v2/streams/{id}/snapshot.jpg on a real node: test pattern and RTSP camera.

The JPEG is decoded with PyAV to check its size. The node's decoder child exists only
while snapshots are asked for (it lingers VASMS_SNAPSHOT_LINGER_S, short here).
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from tests.control_api.flows import live_stream
from tests.control_api.support import ApiServer, Node, make_settings, serve, start_node, wait_until
from tests.support.procs import cmdlines
from tests.support.rtsp_server import RtspServer

LINGER_S = 2.0


def decoded_size(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg), format="mjpeg") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def decoders(node: Node) -> set[int]:
    return {pid for pid, cmd in cmdlines(node.process.pid).items() if b"jpegenc" in cmd}


@pytest.fixture
async def snap_node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(tmp_path, VASMS_SNAPSHOT_LINGER_S=str(LINGER_S))
    try:
        yield n
    finally:
        await n.stop()


@pytest.fixture
async def snap_api(db_url: str, snap_node: Node) -> AsyncIterator[ApiServer]:
    settings = make_settings(db_url, media_nodes=[snap_node.address], node_token=snap_node.token)
    async with serve(settings) as server:
        yield server


async def test_snapshot_of_test_pattern_and_camera(snap_api: ApiServer, snap_node: Node) -> None:
    api, node = snap_api, snap_node
    token = await api.user("op", "operator")
    source = {"type": "test_pattern", "width": 640, "height": 360, "keyframe_interval_s": 60}
    pattern = await live_stream(api, token, {"name": "p", "source": source})
    camera = await RtspServer.start(gop=30)
    try:
        body = {"name": "c", "source": {"type": "rtsp", "url": camera.url}}
        cam = await live_stream(api, token, body)
        assert decoders(node) == set()  # nothing decodes before the first request
        async with api.client(token) as c:
            for stream in (pattern, cam):
                url = f"/api/v2/streams/{stream['id']}/snapshot.jpg"
                started = time.monotonic()
                first = await c.get(url)
                first_s = time.monotonic() - started
                assert first.status_code == 200, first.text
                assert first.headers["content-type"] == "image/jpeg"
                assert decoded_size(first.content) == (640, 360)
                started = time.monotonic()
                r = await c.get(url, params={"width": 320})
                scaled_s = time.monotonic() - started
                assert r.status_code == 200, r.text
                assert decoded_size(r.content) == (320, 180)
                started = time.monotonic()
                again = await c.get(url)
                again_s = time.monotonic() - started
                assert decoded_size(again.content) == (640, 360)
                if stream is pattern:  # one key frame a minute: the same picture, cached
                    key = "x-vasms-key-frame-at-ms"
                    assert again.headers[key] == first.headers[key]
                    assert again.content == first.content
                print(
                    f"snapshot {stream['source']['type']}: first {first_s * 1000:.0f} ms, "
                    f"width=320 {scaled_s * 1000:.0f} ms, again {again_s * 1000:.0f} ms"
                )
            assert len(decoders(node)) == 2
            r = await c.get(f"/api/v2/streams/{pattern['id']}/snapshot.jpg", params={"width": 5})
            assert r.status_code == 422
            r = await c.get("/api/v2/streams/nope/snapshot.jpg")
            assert r.status_code == 404 and r.json()["code"] == "not_found"
            r = await c.post(f"/api/v2/streams/{pattern['id']}/stop")
            assert r.status_code == 200
            r = await c.get(f"/api/v2/streams/{pattern['id']}/snapshot.jpg")
            assert r.status_code == 409 and r.json()["code"] == "stream_not_live"
            assert len(decoders(node)) == 1  # the stopped stream's decoder went with it
        async with api.client() as anonymous:
            r = await anonymous.get(f"/api/v2/streams/{cam['id']}/snapshot.jpg")
            assert r.status_code == 401

        async def none_left() -> bool:
            return not decoders(node)

        assert await wait_until(none_left, within=LINGER_S + 20)  # unused: closed
    finally:
        await camera.stop()
