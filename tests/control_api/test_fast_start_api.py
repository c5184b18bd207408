"""`source.fast_start` through REST V2 on a real node: on by default for an RTSP camera,
a viewer joining a 10 s GOP camera mid-GOP starts on the bridge (half height) and moves
to the camera's own 1280x720 at its next key frame; `false` reaches the node."""

from __future__ import annotations

import asyncio

from protos import media_node_pb2 as pb
from tests.control_api.flows import live_stream, watch_v2
from tests.control_api.support import ADMIN, ApiServer, Node
from tests.support.rtsp_server import RtspServer


async def test_fast_start_is_the_default_and_starts_viewers_on_the_bridge(
    api: ApiServer, node: Node
) -> None:
    admin = await api.token(*ADMIN)
    async with api.client(admin) as c:
        r = await c.post(
            "/api/v2/streams",
            json={
                "name": "off",
                "source": {"type": "rtsp", "url": "rtsp://cam/x", "fast_start": False},
            },
        )
        assert r.status_code == 201 and r.json()["source"]["fast_start"] is False, r.text
        r = await c.post(
            "/api/v2/streams",
            json={"name": "bad", "source": {"type": "rtsp", "url": "rtsp://c/x", "fast_start": 1}},
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"

    camera = await RtspServer.start(kind="h264-high", size=(1280, 720), fps=25, gop=250)
    try:
        stream = await live_stream(
            api, admin, {"name": "cam", "source": {"type": "rtsp", "url": camera.url}}
        )
        assert stream["source"]["fast_start"] is True
        info = await node.call("GetStream", pb.GetStreamRequest(stream_id=stream["id"]))
        assert not info.source.rtsp.no_fast_start
        # Join well inside the camera's GOP, once the bridge has started (it starts at
        # the camera's first key frame; a deliberate pause, nothing to await instead).
        await asyncio.sleep(2)
        async with api.client(admin) as c:
            watch = await watch_v2(c, stream["id"], "joiner")
            try:
                frames = await watch.viewer.frames(1, within=30)
                sizes = [(f.width, f.height) for f in frames]
                while (1280, 720) not in sizes:
                    more = await watch.viewer.frames(1, within=30)
                    frames += more
                    sizes.append((more[0].width, more[0].height))
            finally:
                await watch.viewer.close()
        assert frames[0].key_frame and sizes[0] == (640, 360), sizes[:3]
        at = sizes.index((1280, 720))
        assert set(sizes[:at]) == {(640, 360)} and frames[at].key_frame
    finally:
        await camera.stop()
