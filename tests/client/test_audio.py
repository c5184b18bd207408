"""`viewer.audio_frames()` against the real stack: a test pattern with its tone, decoded
audio with non-silent samples next to the video; without `audio=True` the server sends
none (the consume asks for video only)."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from protos import media_node_pb2 as pb
from tests.client.support import PATTERN, Stack

AUDIO_RMS_MIN = 0.02
"""The tone: a 440 Hz sine at volume 0.3 (RMS ~0.21 of full scale); silence is ~0."""


def rms(frame: av.AudioFrame) -> float:
    data = frame.to_ndarray().astype(np.float64)
    if frame.format.name.startswith("s16"):
        data /= 32768.0
    return float(np.sqrt(np.mean(np.square(data))))


def worker_consumers(dump: pb.NodeDump) -> int:
    return sum(w.worker_consumers for w in dump.workers)


async def test_audio_frames_of_a_stream_with_a_tone(stack: Stack) -> None:
    body = {**PATTERN, "source": {**PATTERN["source"], "audio": True}}
    stream = await stack.demo_stream(body)
    async with stack.viewer_client() as client, client.watch(stream["id"], audio=True) as viewer:

        async def video() -> int:
            return len([f async for f in viewer.frames(10)])

        async def audio() -> list[av.AudioFrame]:
            return [f async for f in viewer.audio_frames(30)]

        count, frames = await asyncio.wait_for(asyncio.gather(video(), audio()), 60)
        with_audio = worker_consumers(await stack.node.dump())
    assert count == 10 and len(frames) == 30
    assert {f.sample_rate for f in frames} == {48000}
    loud = [f for f in frames[5:] if rms(f) > AUDIO_RMS_MIN]
    assert len(loud) >= 15, [round(rms(f), 3) for f in frames]
    assert with_audio == 2  # the viewer's video and audio consumers, in the worker's count

    # Without audio=True: video only, and audio_frames() says how to get audio.
    async with stack.viewer_client() as client, client.watch(stream["id"]) as viewer:
        assert len([f async for f in viewer.frames(3)]) == 3
        consumer = await client.get_consumer(viewer.consumer_id or "")
        assert consumer.kind == "video"
        assert worker_consumers(await stack.node.dump()) == 1  # the server sends no audio
        with pytest.raises(RuntimeError, match="audio=True"):
            async for _ in viewer.audio_frames(1):
                pass
