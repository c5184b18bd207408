"""Audio through REST V2 and V1 on a real node with real cameras: the consume answer's
`audio` part (null without audio or with `audio: false`), the audio consumer as a
resource of its own, DELETE of the video consumer closing both and the transport, GET
stream's `audio: {codec}`, V1 `consume` with `kind`. A real aiortc viewer decodes the
audio (non-silent samples) and the video."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.control_api.flows import (
    WsClient,
    live_stream,
    snapshot,
    wait_released,
    watch_v1,
    watch_v2,
)
from tests.control_api.support import ADMIN, ApiServer, Node, wait_until
from tests.support.rtsp_server import RtspServer
from tests.support.viewer import Viewer

AUDIO_RMS_MIN = 0.02
"""The cameras' and the test pattern's tone: a 440 Hz sine at volume 0.3 (RMS ~0.21)."""


async def stream_with_audio(api: ApiServer, token: str, body: dict[str, Any]) -> dict[str, Any]:
    stream = await live_stream(api, token, body)
    async with api.client(token) as c:

        async def has_audio() -> dict[str, Any] | None:
            found = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
            return found if found["audio"] else None

        return await wait_until(has_audio, 30)


async def assert_plays(viewer: Viewer, label: str, started: float) -> None:
    video, audio = await asyncio.gather(
        viewer.frames(5, within=30), viewer.audio_frames(25, within=30)
    )
    loud = [f for f in audio[5:] if f.rms > AUDIO_RMS_MIN]
    assert len(loud) >= 10, [round(f.rms, 3) for f in audio]
    print(
        f"\n{label}: first video frame {video[0].received_at - started:.3f} s, first audio "
        f"frame {audio[0].received_at - started:.3f} s after the consume answer"
    )


async def consume_audio(viewer: Viewer, audio: dict[str, Any]) -> None:
    await viewer.consume_audio(
        {
            "id": audio["consumer_id"],
            "producerId": audio["producer_id"],
            "rtpParameters": audio["rtp_parameters"],
        }
    )


async def test_camera_audio_consumer_and_delete_semantics(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    camera = await RtspServer.start(kind="h264", fps=15, gop=15, audio="aac")
    try:
        stream = await stream_with_audio(
            api, admin, {"name": "cam", "source": {"type": "rtsp", "url": camera.url}}
        )
        assert stream["audio"] == {"codec": "opus"}
        sid = stream["id"]
        baseline = snapshot(await node.dump())
        async with api.client(admin) as c:
            watch = await watch_v2(c, sid, "rest-audio")
            started = asyncio.get_running_loop().time()
            audio = watch.consume["audio"]
            assert audio is not None and set(audio) == {
                "consumer_id",
                "producer_id",
                "kind",
                "rtp_parameters",
            }
            assert audio["kind"] == "audio" and watch.consume["kind"] == "video"
            assert audio["rtp_parameters"]["codecs"][0]["mimeType"].lower() == "audio/opus"
            await consume_audio(watch.viewer, audio)
            await assert_plays(watch.viewer, "REST V2, H.264+AAC camera", started)

            r = await c.get(f"/api/v2/consumers/{audio['consumer_id']}")
            assert r.status_code == 200, r.text
            row = r.json()
            assert row["kind"] == "audio" and row["transport_id"] == watch.transport_id
            assert row["state"] == "connected" and row["stats"]["packets_sent"] > 0
            assert (await c.get(f"/api/v2/streams/{sid}")).json()["consumer_count"] == 1

            # DELETE of the video consumer: both consumers and the transport are gone.
            r = await c.delete(f"/api/v2/consumers/{watch.consumer_id}")
            assert r.status_code == 204, r.text
            for consumer_id in (watch.consumer_id, audio["consumer_id"]):
                r = await c.get(f"/api/v2/consumers/{consumer_id}")
                assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
            await wait_released(node, "rest-audio", baseline)
            await watch.viewer.close()

            # audio: false opts out.
            video_only = await opt_out(c, sid)
            assert video_only["audio"] is None
            r = await c.delete(f"/api/v2/consumers/{video_only['consumer_id']}")
            assert r.status_code == 204
            r = await c.post(
                f"/api/v2/streams/{sid}/consume",
                json={"client_id": "x", "rtp_capabilities": {"codecs": []}, "audio": "no"},
            )
            assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    finally:
        await camera.stop()


async def opt_out(c: httpx.AsyncClient, stream_id: str) -> dict[str, Any]:
    viewer = Viewer()
    caps = await viewer.load(
        (await c.get(f"/api/v2/streams/{stream_id}/router-capabilities")).json()["rtp_capabilities"]
    )
    r = await c.post(
        f"/api/v2/streams/{stream_id}/consume",
        json={"client_id": "video-only", "rtp_capabilities": caps, "audio": False},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_tone_no_audio_v1_kind_and_closing_audio_alone(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    tone = await stream_with_audio(
        api, admin, {"name": "tone", "source": {"type": "test_pattern", "audio": True}}
    )
    assert tone["audio"] == {"codec": "opus"} and tone["source"]["audio"] is True
    silent = await live_stream(api, admin)
    assert silent["audio"] is None
    async with api.client(admin) as c:
        plain = await watch_v2(c, silent["id"], "no-audio")
        assert plain.consume["audio"] is None
        await plain.viewer.close()

        watch = await watch_v2(c, tone["id"], "tone-viewer")
        audio = watch.consume["audio"]
        assert audio is not None
        await consume_audio(watch.viewer, audio)
        await assert_plays(
            watch.viewer, "REST V2, test pattern tone", asyncio.get_running_loop().time()
        )
        # DELETE of the audio consumer alone: the video keeps playing.
        r = await c.delete(f"/api/v2/consumers/{audio['consumer_id']}")
        assert r.status_code == 204
        assert (await c.get(f"/api/v2/consumers/{audio['consumer_id']}")).status_code == 404
        r = await c.get(f"/api/v2/consumers/{watch.consumer_id}")
        assert r.status_code == 200 and r.json()["state"] != "closed", r.text
        assert len(await watch.viewer.frames(5, within=30)) == 5
        await watch.viewer.close()

    ws = await WsClient.connect(f"{api.ws_url}?token={admin}&clientId=v1-audio")
    try:
        v1 = await watch_v1(ws, tone["id"])
        answer = await ws.call(
            "consume",
            {
                "transportId": v1.transport["id"],
                "streamId": tone["id"],
                "rtpCapabilities": v1.viewer.device.rtpCapabilities.model_dump(exclude_none=True),
                "kind": "audio",
            },
        )
        assert answer["kind"] == "audio" and answer["id"] != v1.consumer["id"]
        await v1.viewer.consume_audio(answer)
        await assert_plays(v1.viewer, "V1, test pattern tone", asyncio.get_running_loop().time())
        bad = await ws.request(
            "consume",
            {
                "transportId": v1.transport["id"],
                "streamId": tone["id"],
                "rtpCapabilities": {"codecs": []},
                "kind": "data",
            },
        )
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_request", bad
        await v1.viewer.close()
    finally:
        await ws.close()
