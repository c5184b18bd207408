"""Stream sources through REST V2 on a real node: the RTP-push endpoint and its SRTP key
are for operators only, `transcode` takes "auto" / true / false, `video` mirrors what
the node reports."""

from __future__ import annotations

from protos import media_node_pb2 as pb
from tests.control_api.flows import live_stream, wait_status, watch_v2
from tests.control_api.support import ADMIN, ApiServer, Node, wait_until
from tests.support import ingest as media
from tests.support.rtsp_server import RtspServer


async def test_rtp_push_endpoint_is_for_operators_only(api: ApiServer, node: Node) -> None:
    operator = await api.user("olga", "operator")
    viewer = await api.user("vic", "viewer")
    async with api.client(operator) as c:
        created = await c.post(
            "/api/v2/streams", json={"name": "push", "source": {"type": "rtp"}, "codec": "vp8"}
        )
        assert created.status_code == 201, created.text
        stream_id = created.json()["id"]
        assert (await c.post(f"/api/v2/streams/{stream_id}/start")).status_code == 200

        async def endpoint() -> dict | None:
            return (await c.get(f"/api/v2/streams/{stream_id}")).json()["rtp_endpoint"]

        ep = await wait_until(endpoint)
    assert ep["srtp_crypto_suite"] == "AES_CM_128_HMAC_SHA1_80"
    assert len(ep["srtp_key_base64"]) == 40  # 30 bytes
    async with api.client(viewer) as c:
        assert (await c.get(f"/api/v2/streams/{stream_id}")).json()["rtp_endpoint"] is None
        listed = (await c.get("/api/v2/streams")).json()
        assert [s["rtp_endpoint"] for s in listed if s["id"] == stream_id] == [None]

    sender = await media.start_ffmpeg(
        "vp8", ep["port"], ep["ssrc"], ep["payload_type"], srtp_key=ep["srtp_key_base64"]
    )
    try:
        live = await wait_status(api, viewer, stream_id, "live")
        assert live["rtp_endpoint"] is None
        assert live["video"] == {"codec": "vp8", "width": None, "height": None}
        async with api.client(viewer) as c:
            watch = await watch_v2(c, stream_id, "vic")
            try:
                frames = await watch.viewer.frames(5)
                assert {(f.width, f.height) for f in frames} == {(media.WIDTH, media.HEIGHT)}
            finally:
                await watch.viewer.close()
    finally:
        await media.stop(sender)


async def test_transcode_modes_and_video(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    async with api.client(admin) as c:
        for mode in ("auto", True, False):
            r = await c.post(
                "/api/v2/streams",
                json={
                    "name": "cam",
                    "source": {"type": "rtsp", "url": "rtsp://cam/x", "transcode": mode},
                },
            )
            assert r.status_code == 201 and r.json()["source"]["transcode"] == mode, r.text
        r = await c.post(
            "/api/v2/streams",
            json={"name": "cam", "source": {"type": "rtsp", "url": "rtsp://cam/x"}},
        )
        assert r.json()["source"]["transcode"] == "auto" and r.json()["video"] is None
        r = await c.post(
            "/api/v2/streams",
            json={"name": "c", "source": {"type": "rtsp", "url": "rtsp://c/x", "transcode": "no"}},
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"

    stream = await live_stream(
        api, admin, {"name": "p", "source": {"type": "test_pattern", "width": 320, "height": 240}}
    )
    assert stream["video"] == {"codec": "vp8", "width": 320, "height": 240}
    info = await node.call("GetStream", pb.GetStreamRequest(stream_id=stream["id"]))
    assert (info.video.width, info.video.height) == (320, 240)


async def test_cameras_through_rest_say_what_they_send(api: ApiServer, node: Node) -> None:
    """An H.265 camera: `transcode: false` is an error saying why; the default (auto)
    plays it as H.264 at the camera's size, and GET shows that."""
    operator = await api.user("otto", "operator")
    camera = await RtspServer.start(kind="h265", size=(1280, 720), fps=15, gop=15)
    try:
        async with api.client(operator) as c:
            r = await c.post(
                "/api/v2/streams",
                json={
                    "name": "hevc-as-is",
                    "source": {"type": "rtsp", "url": camera.url, "transcode": False},
                },
            )
            refused = r.json()["id"]
            assert (await c.post(f"/api/v2/streams/{refused}/start")).status_code == 200
        errored = await wait_status(api, operator, refused, "error")
        assert errored["status_reason"].startswith(
            "camera sends H.265; viewers receive H.264 or VP8 — set transcode to auto (GStreamer:"
        )
        stream = await live_stream(
            api, operator, {"name": "hevc", "source": {"type": "rtsp", "url": camera.url}}
        )
        assert stream["source"]["transcode"] == "auto"

        async def with_video() -> dict | None:
            async with api.client(operator) as c:
                body = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
            return body if body["video"] else None

        shown = await wait_until(with_video)
        assert shown["video"] == {"codec": "h264", "width": 1280, "height": 720}
        async with api.client(operator) as c:
            watch = await watch_v2(c, stream["id"], "otto")
            try:
                frames = await watch.viewer.frames(5, within=30)
                assert {(f.width, f.height) for f in frames} == {(1280, 720)}
            finally:
                await watch.viewer.close()
    finally:
        await camera.stop()
