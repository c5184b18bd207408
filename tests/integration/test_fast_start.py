"""Fast start: a viewer joining a passthrough camera mid-GOP starts on the bridge at once.

Real gst-rtsp-server cameras (H.264 main and high, 1280x720 at 25 fps, GOP 10 s and
4 s) passed through with ``fast_start`` on (the default); real aiortc viewers on
consumers made as the media node makes them (``fast_start.start_layers`` and
``raise_when_started``). What must hold, whatever the machine's speed:

- a joining viewer's first decoded frame is a whole picture (a key frame) of the
  bridge's size, i.e. it came before the camera's next natural key frame;
- from the camera's next key frame on it receives the camera's own 1280x720 (the
  switch frame is a key frame), with no frame out of order and no decoder error;
- a viewer already watching sees every frame, one frame time apart in RTP time,
  no gap and no repeat, while others join.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from mediasoup_driver import (
    ConsumerOptions,
    ListenInfo,
    Producer,
    Router,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
)

from media_node.ingest import Ingest, IngestSpec, router_media_codecs
from media_node.ingest.bridge import bridge_size
from media_node.ingest.fast_start import raise_when_started, start_layers
from tests.support.rtsp_server import RtspServer
from tests.support.viewer import Frame, Viewer

SIZE = (1280, 720)
BRIDGE = bridge_size(*SIZE)
FPS = 25
FRAME_TICKS = 90000 // FPS


@pytest.fixture
async def router(worker: Worker) -> AsyncIterator[Router]:
    r = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    yield r
    await r.close()


@contextlib.asynccontextmanager
async def camera(router: Router, kind: str, gop_s: float, **spec: object) -> AsyncIterator[Ingest]:
    server = await RtspServer.start(kind=kind, size=SIZE, fps=FPS, gop=round(gop_s * FPS))
    try:
        ingest = Ingest(router, IngestSpec(kind="rtsp", url=server.url, **spec))  # type: ignore[arg-type]
        await ingest.start()
        try:
            async with asyncio.timeout(40):
                await ingest.wait_for_status("live")
            yield ingest
        finally:
            await ingest.stop()
    finally:
        await server.stop()


@dataclass
class Watching:
    viewer: Viewer
    frames: list[Frame]
    task: asyncio.Task[None]
    arrived: asyncio.Event
    consumed_at: float
    """When its consume request was sent (loop time)."""

    async def wait_until(self, condition: Callable[[list[Frame]], bool], within: float) -> None:
        """Waits (frame by frame) until ``condition(frames)`` holds."""
        async with asyncio.timeout(within):
            while not condition(self.frames):
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.viewer.close()


async def join(router: Router, producer: Producer) -> Watching:
    """A viewer consuming as the media node's Consume does, collecting frames."""
    viewer = Viewer()
    caps = await viewer.load(router.rtp_capabilities)
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1"),))
    )
    viewer.create_transport(
        {
            "id": transport.id,
            "iceParameters": transport.ice_parameters,
            "iceCandidates": transport.ice_candidates,
            "dtlsParameters": transport.dtls_parameters,
        },
        on_connect=transport.connect,
    )
    consumed_at = asyncio.get_running_loop().time()
    consumer = await transport.consume(
        ConsumerOptions(
            producer_id=producer.id,
            rtp_capabilities=caps,
            preferred_layers=start_layers(producer),
        )
    )
    raise_when_started(consumer)
    await viewer.consume(
        {
            "id": consumer.id,
            "producerId": producer.id,
            "kind": consumer.kind,
            "rtpParameters": consumer.rtp_parameters,
        }
    )
    frames: list[Frame] = []
    arrived = asyncio.Event()

    async def collect() -> None:
        while True:
            frames.extend(await viewer.frames(1, within=60))
            arrived.set()

    return Watching(viewer, frames, asyncio.create_task(collect()), arrived, consumed_at)


def switched(frames: list[Frame], extra: int = 10) -> bool:
    sizes = [(f.width, f.height) for f in frames]
    return SIZE in sizes and len(sizes) - sizes.index(SIZE) >= extra


def check_joiner(frames: list[Frame], bridge_first: bool = True) -> None:
    """``bridge_first`` False: a viewer joining as the stream starts may start on the
    camera's encoding (the bridge starts at the camera's first key frame)."""
    first = frames[0]
    assert first.key_frame, "the first decoded frame is a whole picture"
    if bridge_first:
        assert (first.width, first.height) == BRIDGE, "started on the bridge (before the key frame)"
    sizes = [(f.width, f.height) for f in frames]
    at = sizes.index(SIZE)
    assert set(sizes[:at]) <= {BRIDGE} and set(sizes[at:]) == {SIZE}, "one switch, bridge -> camera"
    assert frames[at].key_frame, "switched at a camera key frame"
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in itertools.pairwise(pts)), "frames in order"  # type: ignore[operator]


def check_continuous(frames: list[Frame]) -> None:
    steps = [b.pts - a.pts for a, b in itertools.pairwise(frames)]  # type: ignore[operator]
    # One frame time each (the ingest's clock-skew correction moves it by a few ticks):
    # a lost frame would be a step of two frame times, a repeat a step <= 0.
    odd = [(i, s) for i, s in enumerate(steps) if not 0.5 * FRAME_TICKS < s < 1.5 * FRAME_TICKS]
    assert not odd, f"gaps or repeats in an existing viewer's frames: {odd[:5]}"


@pytest.mark.parametrize(("kind", "gop_s"), [("h264-high", 10), ("h264-main", 4)])
async def test_joins_start_on_the_bridge_and_switch_at_the_cameras_key_frame(
    router: Router, kind: str, gop_s: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with camera(router, kind, gop_s) as ingest:
        assert ingest.producer is not None
        assert len(ingest.producer.rtp_parameters["encodings"]) == 2
        early = await join(router, ingest.producer)
        await early.wait_until(switched, within=3 * gop_s + 30)
        check_joiner(early.frames, bridge_first=False)
        watched_from = len(early.frames)
        for _ in range(3):
            # Join at a random moment of the camera's GOP (a deliberate pause: the
            # scenario is a join at an arbitrary time).
            await asyncio.sleep(random.uniform(0.3, gop_s))
            joiner = await join(router, ingest.producer)
            await joiner.wait_until(switched, within=3 * gop_s + 30)
            await joiner.close()
            check_joiner(joiner.frames)
            print(
                f"\n{kind} GOP {gop_s:g} s: {len(joiner.frames)} frames, bridge frames "
                f"before the switch {sum((f.width, f.height) == BRIDGE for f in joiner.frames)}"
            )
        seen = early.frames[watched_from:]
        await early.close()
        assert len(seen) > FPS, "the early viewer kept receiving"
        assert {(f.width, f.height) for f in seen} == {SIZE}
        check_continuous(seen)
    errors = [r for r in caplog.records if "decode" in r.getMessage().lower()]
    assert not errors, [r.getMessage() for r in errors]


async def test_simultaneous_joins_each_start_on_the_bridge(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    """Four viewers joining at one random moment (their consumes in flight together):
    each starts on a whole bridge picture and switches once, at the camera's key frame;
    the early viewer's sequence stays whole. GOP 4 s: five aiortc decoders share this
    process, the shorter the bridging the less it is starved."""
    caplog.set_level(logging.WARNING)
    gop_s = 4
    async with camera(router, "h264-main", gop_s) as ingest:
        assert ingest.producer is not None
        early = await join(router, ingest.producer)
        await early.wait_until(switched, within=3 * gop_s + 30)
        watched_from = len(early.frames)
        # A random moment of the camera's GOP (a deliberate pause, as above).
        await asyncio.sleep(random.uniform(0.3, gop_s))
        joiners = await asyncio.gather(*(join(router, ingest.producer) for _ in range(4)))
        try:
            for joiner in joiners:
                await joiner.wait_until(switched, within=3 * gop_s + 30)
            for joiner in joiners:
                check_joiner(joiner.frames)
            bridged = [sum((f.width, f.height) == BRIDGE for f in j.frames) for j in joiners]
            sent = [j.consumed_at for j in joiners]
            print(
                f"\n4 simultaneous joins, consumes sent within {1000 * (max(sent) - min(sent)):.0f}"
                f" ms: bridge frames before the switch {bridged}"
            )
        finally:
            for joiner in joiners:
                await joiner.close()
        seen = early.frames[watched_from:]
        await early.close()
        assert len(seen) > FPS, "the early viewer kept receiving"
        assert {(f.width, f.height) for f in seen} == {SIZE}
        check_continuous(seen)
    errors = [r for r in caplog.records if "decode" in r.getMessage().lower()]
    assert not errors, [r.getMessage() for r in errors]


async def test_fast_start_off_sends_the_cameras_bitstream_alone(router: Router) -> None:
    async with camera(router, "h264-high", 1, fast_start=False) as ingest:
        assert ingest.producer is not None
        assert len(ingest.producer.rtp_parameters["encodings"]) == 1
        assert start_layers(ingest.producer) is None
        assert not {"avdec_h264", "x264enc"} & set(ingest.elements)
        watching = await join(router, ingest.producer)
        await watching.wait_until(lambda frames: len(frames) >= 5, within=30)
        assert {(f.width, f.height) for f in watching.frames} == {SIZE}
        await watching.close()
