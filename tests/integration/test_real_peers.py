"""Real media end to end through our driver: encoder -> worker -> aiortc viewer.

Also the DTLS regression guard of the worker build (see
third_party/mediasoup-worker/patches/0001-dtls-bio-callback-return-bit.patch).
"""

from __future__ import annotations

import asyncio

import pytest
from mediasoup_driver import Router, Worker

from tests.support import ingest
from tests.support.driver_flow import (
    ffmpeg_ingest,
    gstreamer_ingest,
    wait_for_media,
    watch,
)

# A key frame asked for arrives in ~0.1 s here (figures in the tests' output and bench/);
# the bound only has to sit well below the ~8 s wait for the GOP's next natural one.
KEY_FRAME_ON_REQUEST_WITHIN_S = 4.0


async def test_dtls_handshake_with_a_real_peer_reaches_connected(
    worker: Worker, router: Router
) -> None:
    """Guards the DTLS fix: without it the worker crashes on a real peer's ClientHello."""
    source = await ffmpeg_ingest(router, "vp8")
    try:
        watching = await watch(router, source.producer)
        state = watching.transport.dtls_state
        if state != "connected":
            async with asyncio.timeout(10):
                while state != "connected":
                    state = await watching.transport.on_dtls_state_change.wait()
                    assert state not in ("failed", "closed")
        assert watching.viewer.connect_calls == 1
        assert not worker.closed and not worker.died.fired
        assert (await worker.dump()).pid == worker.pid
        await watching.viewer.close()
    finally:
        await source.stop()


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_viewer_decodes_ingested_video(router: Router, codec: str) -> None:
    source = await ffmpeg_ingest(router, codec)
    try:
        watching = await watch(router, source.producer)
        frames = await watching.viewer.frames(30)
        assert len(frames) == 30
        assert {(f.width, f.height) for f in frames} == {(ingest.WIDTH, ingest.HEIGHT)}
        # Passthrough: the consumer sends the producer's codec, nothing transcodes.
        assert watching.consumer.rtp_parameters["codecs"][0]["mimeType"].lower() == (
            f"video/{codec}"
        )
        stats = await watching.consumer.get_stats()
        assert stats[0]["type"] == "outbound-rtp" and stats[0]["packetCount"] > 0
        await watching.viewer.close()
    finally:
        await source.stop()


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_late_joiner_gets_a_key_frame_on_request(router: Router, codec: str) -> None:
    """10 s key-frame interval; the worker's PLI on DTLS connect makes GStreamer send one."""
    source = await gstreamer_ingest(router, codec, keyframe_interval_s=10)
    try:
        await wait_for_media(source.producer)
        # The scenario itself: join mid-GOP, well after the stream's first key frame.
        await asyncio.sleep(2.0)
        watching = await watch(router, source.producer)
        frames = await watching.viewer.frames(1, within=15)
        assert watching.dtls_connected_at, "DTLS never connected"
        ttff = frames[0].received_at - watching.dtls_connected_at[0]
        print(
            f"\n{codec}: first frame {ttff * 1000:.0f} ms after DTLS connected "
            f"({(frames[0].received_at - watching.consume_returned_at) * 1000:.0f} ms "
            "after consume returned)"
        )
        # Behaviour, not speed: joined 2 s into a 10 s GOP, the next natural key
        # frame is ~8 s away; a first frame well before it comes from a key-frame request.
        assert ttff < KEY_FRAME_ON_REQUEST_WITHIN_S
        assert (frames[0].width, frames[0].height) == (ingest.WIDTH, ingest.HEIGHT)
        await watching.viewer.close()
    finally:
        await source.stop()
