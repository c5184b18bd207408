"""`client.watch()` against the real stack: frames, stats, reconnection, clean detach.

Each test starts the control API, a media node process and its mediasoup-worker, and a
live test-pattern stream (GStreamer, which answers key-frame requests: the first frame
comes in well under a second).
"""

from __future__ import annotations

import asyncio
import time

import av
import pytest

from tests.client.support import PATTERN, VIEWER, Stack
from tests.control_api.support import wait_until
from vasms_client import (
    AuthError,
    Frame,
    StreamNotFoundError,
    StreamNotLiveError,
    VasmsClient,
    Viewer,
)


async def collect(viewer: Viewer, into: list[Frame]) -> None:
    async for frame in viewer.frames():
        into.append(frame)


async def wait_frames(frames: list[Frame], predicate, within: float = 30.0) -> None:
    async def reached() -> bool:
        return predicate(frames)

    await wait_until(reached, within, interval=0.05)


async def test_frames_carry_pictures_timestamps_and_stats(stack: Stack) -> None:
    stream = await stack.demo_stream()
    async with stack.viewer_client() as client, client.watch(stream["id"]) as viewer:
        frames = [frame async for frame in viewer.frames(45)]
        stats = viewer.stats()
        client_id = viewer.client_id
        assert await stack.consumers_of(client_id)
    assert len(frames) == 45
    assert [f.index for f in frames] == list(range(45))
    assert {f.session for f in frames} == {0}
    assert all(isinstance(f.video_frame, av.VideoFrame) for f in frames)
    assert {(f.width, f.height) for f in frames} == {(424, 240)}
    media_times = [f.media_time for f in frames]
    assert all(t is not None for t in media_times)
    assert media_times == sorted(media_times) and media_times[-1] > media_times[0]
    assert abs(frames[-1].received_at - time.time()) < 30
    # 45 frames at 30 fps span about 1.5 s of the sender's clock.
    assert 1.0 < media_times[-1] - media_times[0] < 3.0  # type: ignore[operator]

    image = frames[-1].to_ndarray()
    assert image.shape == (240, 424, 3) and str(image.dtype) == "uint8"
    assert image.std() > 10  # a moving ball and a clock, not one colour
    assert frames[-1].to_ndarray("gray").shape == (240, 424)

    assert stats.state == "playing" and stats.frames >= 45
    assert stats.fps > 10 and stats.average_fps > 10
    assert stats.bitrate_bps > 0 and stats.bytes_received > 0
    assert stats.packets_received > 0 and 0.0 <= stats.packet_loss < 0.5
    assert stats.time_to_first_frame_s is not None and 0 < stats.time_to_first_frame_s < 10
    assert stats.reconnects == 0 and stats.consumer_id
    # Leaving the `async with` detached: nothing left on the node, nor in the API.
    assert await stack.consumers_of(client_id) == []
    async with stack.viewer_client() as client:
        with pytest.raises(Exception) as caught:
            await client.get_consumer(stats.consumer_id)
        assert getattr(caught.value, "status", None) == 404


async def test_viewer_survives_stop_start_cycle(stack: Stack) -> None:
    stream = await stack.demo_stream()
    frames: list[Frame] = []
    async with stack.viewer_client() as client, client.watch(stream["id"]) as viewer:
        task = asyncio.create_task(collect(viewer, frames))
        try:
            await wait_frames(frames, lambda f: len(f) >= 10)
            first_consumer = viewer.consumer_id
            await stack.stop(stream["id"])
            await wait_until(_state_is(viewer, "waiting_live"), 15)
            stopped_at = len(frames)
            await stack.start(stream["id"])
            # Frames resume by themselves, from a new session (a new consumer).
            await wait_frames(frames, lambda f: len(f) >= stopped_at + 10 and f[-1].session >= 1)
            assert not task.done()
            stats = viewer.stats()
            assert stats.reconnects == 1
            assert stats.last_disconnect_reason is not None
            assert stats.state == "playing" and stats.last_time_to_first_frame_s is not None
            assert viewer.consumer_id not in (None, first_consumer)
            assert [f.index for f in frames] == list(range(len(frames)))
            held = await stack.consumers_of(viewer.client_id)
            assert held == [f"consumer {viewer.consumer_id}", f"transport {viewer.transport_id}"]
        finally:
            task.cancel()
    assert await stack.consumers_of(viewer.client_id) == []


def _state_is(viewer: Viewer, state: str):
    async def check() -> bool:
        return viewer.state == state

    return check


async def test_cancelling_the_consumer_task_detaches_within_two_seconds(stack: Stack) -> None:
    stream = await stack.demo_stream()
    playing = asyncio.Event()

    async def worker(client: VasmsClient) -> None:
        async with client.watch(stream["id"], client_id="doomed-worker") as viewer:
            async for _ in viewer.frames():
                playing.set()

    async with stack.viewer_client() as client:
        task = asyncio.create_task(worker(client))
        await asyncio.wait_for(playing.wait(), 20)
        assert len(await stack.consumers_of("doomed-worker")) == 2  # consumer + transport
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def released() -> bool:
            return await stack.consumers_of("doomed-worker") == []

        await wait_until(released, within=2.0, interval=0.05)
        assert time.monotonic() - cancelled_at < 2.0


async def test_an_error_in_the_callers_code_detaches_and_propagates(stack: Stack) -> None:
    stream = await stack.demo_stream()
    async with stack.viewer_client() as client:
        with pytest.raises(ZeroDivisionError):
            async with client.watch(stream["id"], client_id="buggy-detector") as viewer:
                async for frame in viewer.frames():
                    _ = frame.width / 0
        assert await stack.consumers_of("buggy-detector") == []
        assert viewer.state == "ended"


async def test_transport_loss_reconnects_while_the_stream_stays_live(stack: Stack) -> None:
    """The server closes our consumer and transport (here: our own DELETE from another
    client of the same user); the viewer attaches again by itself."""
    stream = await stack.demo_stream()
    frames: list[Frame] = []
    async with stack.viewer_client() as client, client.watch(stream["id"]) as viewer:
        task = asyncio.create_task(collect(viewer, frames))
        try:
            await wait_frames(frames, lambda f: len(f) >= 5)
            lost = viewer.consumer_id
            assert lost is not None
            async with stack.viewer_client() as other:
                assert await other.detach(lost) is True
            await wait_frames(frames, lambda f: f[-1].session >= 1 and len(f) >= 15)
            stats = viewer.stats()
            assert stats.reconnects == 1 and stats.last_disconnect_reason
            assert viewer.consumer_id != lost
        finally:
            task.cancel()


async def test_deleting_the_stream_ends_frames_cleanly(stack: Stack) -> None:
    stream = await stack.demo_stream()
    frames: list[Frame] = []
    async with stack.viewer_client() as client, client.watch(stream["id"]) as viewer:
        task = asyncio.create_task(collect(viewer, frames))
        await wait_frames(frames, lambda f: len(f) >= 5)
        await stack.stop(stream["id"])
        async with stack.admin_client() as admin:
            await admin.delete_stream(stream["id"])
        await asyncio.wait_for(task, 15)  # frames() returned: no exception, no hang
        assert viewer.ended_reason == "stream_deleted"
        assert viewer.state == "ended"
    assert await stack.consumers_of(viewer.client_id) == []


async def test_watch_errors_are_typed(stack: Stack) -> None:
    stream = await stack.demo_stream()
    async with VasmsClient(stack.url, username=VIEWER[0], password="wrong-password") as bad:
        with pytest.raises(AuthError) as auth:
            async with bad.watch(stream["id"]):
                pass
    assert auth.value.status == 401 and auth.value.code == "invalid_credentials"

    async with stack.viewer_client() as client:
        with pytest.raises(StreamNotFoundError) as missing:
            async with client.watch("no-such-stream"):
                pass
        assert missing.value.status == 404 and missing.value.code == "not_found"

        await stack.stop(stream["id"])
        with pytest.raises(StreamNotLiveError) as not_live:
            async with client.watch(stream["id"], client_id="too-early"):
                pass
        assert not_live.value.status == 409 and not_live.value.code == "stream_not_live"
        assert not_live.value.stream_status == "stopped"
    assert await stack.consumers_of("too-early") == []


async def test_wait_live_waits_for_a_stopped_stream(stack: Stack) -> None:
    stream = await stack.demo_stream()
    await stack.stop(stream["id"])
    async with (
        stack.viewer_client() as client,
        client.watch(stream["id"], wait_live=True, live_poll_s=0.2) as viewer,
    ):
        assert viewer.state == "waiting_live"
        await stack.start(stream["id"])
        frame = await asyncio.wait_for(anext(viewer.frames()), 30)
        assert frame.session == 0 and frame.width == 424


async def test_eight_concurrent_viewers_in_one_process(stack: Stack) -> None:
    stream = await stack.demo_stream()
    counts = [0] * 8

    async def watch(i: int, client: VasmsClient) -> float | None:
        async with client.watch(stream["id"], client_id=f"worker-{i}") as viewer:
            async for _ in viewer.frames(20):
                counts[i] += 1
            return viewer.stats().time_to_first_frame_s

    async with stack.viewer_client() as client:
        ttffs = await asyncio.wait_for(asyncio.gather(*(watch(i, client) for i in range(8))), 60)
    assert counts == [20] * 8, counts
    assert all(t is not None for t in ttffs)
    for i in range(8):
        assert await stack.consumers_of(f"worker-{i}") == []
    assert PATTERN["source"]["fps"] == 30
