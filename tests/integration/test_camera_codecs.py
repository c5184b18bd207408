"""Cameras of every common kind play in aiortc at the camera's own size (transcode auto).

Real gst-rtsp-server cameras (tests/support/rtsp_server.py) at 1280x720: H.264
constrained baseline, main and high are passed through untouched (no decoder, no
encoder: the bitstream viewers decode is the camera's); H.265, MJPEG and MPEG-4
Part 2 are decoded and re-encoded to H.264 at the camera's size, by an encoder that
answers key-frame requests. ``transcode: never`` on an H.265 camera fails with a
sentence a person understands, GStreamer's words after it. ``max_height`` scales a
transcoded picture down, aspect kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from mediasoup_driver import Router, RouterOptions, Worker

from media_node.ingest import Ingest, IngestSpec, VideoInfo, router_media_codecs
from tests.support.driver_flow import watch
from tests.support.rtsp_server import RtspServer

SIZE = (1280, 720)
PASSTHROUGH = {"h264": "baseline", "h264-main": "main", "h264-high": "high"}
TRANSCODED = ("h265", "mjpeg", "mpeg4")


@pytest.fixture
async def router(worker: Worker) -> AsyncIterator[Router]:
    r = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    yield r
    await r.close()


@contextlib.asynccontextmanager
async def camera_ingest(
    router: Router, kind: str, fps: int, gop_s: float, **spec: object
) -> AsyncIterator[tuple[Ingest, RtspServer]]:
    camera = await RtspServer.start(kind=kind, size=SIZE, fps=fps, gop=round(gop_s * fps))
    try:
        ingest = Ingest(router, IngestSpec(kind="rtsp", url=camera.url, **spec))  # type: ignore[arg-type]
        await ingest.start()
        try:
            yield ingest, camera
        finally:
            await ingest.stop()
    finally:
        await camera.stop()


async def wait_status(ingest: Ingest, *wanted: str, within: float = 40.0) -> str:
    async with asyncio.timeout(within):
        return await ingest.wait_for_status(*wanted)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(PASSTHROUGH))
async def test_h264_cameras_pass_through_and_play_at_their_size(router: Router, kind: str) -> None:
    # fast_start off: the camera's bitstream alone (its bridge: test_fast_start.py).
    async with camera_ingest(router, kind, fps=25, gop_s=1, fast_start=False) as (ingest, _):
        await wait_status(ingest, "live")
        assert ingest.camera == {
            "codec": "h264",
            "h264_profile": PASSTHROUGH[kind],
            "action": "passthrough",
        }
        elements = ingest.elements
        assert {"rtph264depay", "h264parse", "rtph264pay"} <= set(elements)
        assert not [e for e in elements if "enc" in e or "dec" in e], elements
        assert ingest.video == VideoInfo("h264", *SIZE)
        assert ingest.producer is not None
        asked = time.monotonic()
        watching = await watch(router, ingest.producer)
        frames = await watching.viewer.frames(10, within=30)
        print(
            f"\n{kind} passthrough: first frame {frames[0].received_at - asked:.2f} s after consume"
        )
        assert {(f.width, f.height) for f in frames} == {SIZE}
        assert watching.consumer.rtp_parameters["codecs"][0]["mimeType"] == "video/H264"
        await watching.viewer.close()


@pytest.mark.parametrize("kind", TRANSCODED)
async def test_other_cameras_are_transcoded_to_h264_at_their_size(
    router: Router, kind: str
) -> None:
    """A 10 s camera GOP: a viewer joining mid-GOP still starts at once, because the
    node's encoder answers its key-frame request (passthrough would wait ~8 s)."""
    async with camera_ingest(router, kind, fps=15, gop_s=10) as (ingest, _camera):
        await wait_status(ingest, "live")
        assert ingest.camera == {"codec": kind, "h264_profile": None, "action": "transcode"}
        assert {"decodebin", "x264enc", "rtph264pay"} <= set(ingest.elements)
        assert ingest.video == VideoInfo("h264", *SIZE)
        assert ingest.producer is not None
        await asyncio.sleep(2)  # the scenario: join 2 s into the camera's 10 s GOP
        asked = time.monotonic()
        watching = await watch(router, ingest.producer)
        frames = await watching.viewer.frames(10, within=30)
        ttff = frames[0].received_at - asked
        print(f"\n{kind} transcoded: first frame {ttff:.2f} s after consume")
        assert {(f.width, f.height) for f in frames} == {SIZE}
        assert watching.consumer.rtp_parameters["codecs"][0]["mimeType"] == "video/H264"
        # Before the camera's next natural key frame (>= 8 s away): the encoder answered.
        assert ttff < 6.0
        await watching.viewer.close()


async def test_a_camera_that_cannot_play_as_configured_says_why(router: Router) -> None:
    async with camera_ingest(router, "h265", fps=15, gop_s=1, transcode="never") as (
        ingest,
        _camera,
    ):
        await wait_status(ingest, "error")
        print(f"\nreason: {ingest.reason}")
        human = "camera sends H.265; viewers receive H.264 or VP8 — set transcode to auto"
        assert ingest.reason.startswith(f"{human} (GStreamer: ")
        assert "encoding-name=H265" in ingest.reason
        assert ingest.camera is not None and ingest.camera["codec"] == "h265"
        assert ingest.producer is not None and ingest.video is None


async def test_transcoded_pictures_are_capped_at_max_height(router: Router) -> None:
    async with camera_ingest(router, "mjpeg", fps=15, gop_s=1, max_height=480) as (
        ingest,
        _camera,
    ):
        await wait_status(ingest, "live")
        assert ingest.video == VideoInfo("h264", 854, 480)
        assert ingest.producer is not None
        watching = await watch(router, ingest.producer)
        frames = await watching.viewer.frames(5, within=30)
        assert {(f.width, f.height) for f in frames} == {(854, 480)}
        await watching.viewer.close()


AUDIO_RMS_MIN = 0.02
"""The cameras' and the test pattern's tone is a 440 Hz sine at volume 0.3 (RMS ~0.21);
silence decodes to ~0. Opus/G.711 round trips keep it far above this."""


async def assert_audio_and_video(
    ingest: Ingest, router: Router, size: tuple[int, int], audio_codec: str
) -> None:
    async with asyncio.timeout(30):
        while ingest.audio_producer is None:
            await ingest.audio_changed.wait()
    assert ingest.audio is not None and ingest.audio.codec == audio_codec
    assert ingest.producer is not None and ingest.audio_producer is not None
    watching = await watch(router, ingest.producer, audio_producer=ingest.audio_producer)
    assert watching.audio_consumer is not None
    # Both at once: each frame's arrival time is when aiortc delivered it.
    video, audio = await asyncio.gather(
        watching.viewer.frames(5, within=30), watching.viewer.audio_frames(25, within=30)
    )
    assert {(f.width, f.height) for f in video} == {size}
    loud = [f for f in audio[5:] if f.rms > AUDIO_RMS_MIN]
    assert len(loud) >= 10, [round(f.rms, 3) for f in audio]
    first_video, first_audio = video[0].received_at, audio[0].received_at
    print(
        f"\n{audio_codec}: first video frame {first_video - watching.consume_returned_at:.3f} s,"
        f" first audio frame {first_audio - watching.consume_returned_at:.3f} s after consume;"
        f" audio rms {sum(f.rms for f in loud) / len(loud):.3f}"
    )
    await watching.viewer.close()


@pytest.mark.parametrize(
    ("kind", "audio", "codec"),
    [("h264", "aac", "opus"), ("h264", "pcma", "pcma"), ("h265", "pcmu", "pcmu")],
)
async def test_camera_audio_reaches_the_viewer(
    router: Router, kind: str, audio: str, codec: str
) -> None:
    """The camera's audio is a second producer on the stream's transport: AAC encoded to
    Opus, G.711 passed through; a real aiortc viewer decodes the tone (non-silent) and the
    video at the camera's size."""
    camera = await RtspServer.start(kind=kind, size=SIZE, fps=15, gop=15, audio=audio)
    ingest = Ingest(router, IngestSpec(kind="rtsp", url=camera.url, audio=True))
    try:
        await ingest.start()
        await wait_status(ingest, "live")
        await assert_audio_and_video(ingest, router, SIZE, codec)
        expected = "opusenc" if codec == "opus" else f"rtp{codec}pay"
        assert expected in ingest.elements and "fakesink" not in ingest.elements
        assert ingest.status == "live"
    finally:
        await ingest.stop()
        await camera.stop()


async def test_test_pattern_tone(router: Router) -> None:
    ingest = Ingest(router, IngestSpec(kind="test_pattern", codec="h264", audio=True))
    try:
        await ingest.start()
        await wait_status(ingest, "live")
        await assert_audio_and_video(ingest, router, (640, 360), "opus")
    finally:
        await ingest.stop()


async def test_camera_audio_off_is_drained(router: Router) -> None:
    """``audio`` False: the camera's audio is drained (never left unlinked to stall the
    session), no audio producer; the video plays at the camera's size."""
    camera = await RtspServer.start(kind="h264", size=SIZE, fps=15, gop=15, audio="aac")
    ingest = Ingest(router, IngestSpec(kind="rtsp", url=camera.url))
    try:
        await ingest.start()
        await wait_status(ingest, "live")
        async with asyncio.timeout(10):
            while "fakesink" not in ingest.elements:
                await ingest.elements_changed.wait()
        assert ingest.producer is not None and ingest.audio_producer is None
        watching = await watch(router, ingest.producer)
        frames = await watching.viewer.frames(10, within=30)
        assert {(f.width, f.height) for f in frames} == {SIZE}
        await watching.viewer.close()
        assert ingest.status == "live"
    finally:
        await ingest.stop()
        await camera.stop()
