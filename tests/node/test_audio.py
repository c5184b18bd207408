"""Audio through a real media node over gRPC: a camera's audio (AAC encoded to Opus,
G.711 passed through) and the test pattern's tone reach a real aiortc viewer as an
audio consumer on the video's transport; its lifecycle follows the video's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import grpc
import pytest

from protos import media_node_pb2 as pb
from tests.support.node_process import NodeClient, running_node
from tests.support.node_viewer import NodeWatch, watch_over_grpc
from tests.support.rtsp_server import RtspServer

AUDIO_RMS_MIN = 0.02
"""The tone is a 440 Hz sine at volume 0.3 (RMS ~0.21); silence decodes to ~0."""


async def wait_stream(
    client: NodeClient, stream_id: str, wanted: Callable[[pb.StreamInfo], bool], within: float = 40
) -> pb.StreamInfo:
    """GetStream until ``wanted`` holds, woken by the node's events (bounded waits: an
    event may have passed before the watch began)."""
    call = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
    events = call.__aiter__()
    try:
        async with asyncio.timeout(within):
            while True:
                info = await client.GetStream(pb.GetStreamRequest(stream_id=stream_id))
                if wanted(info):
                    return info
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(events.__anext__(), 2.0)
    finally:
        call.cancel()


async def assert_plays(watching: NodeWatch, label: str) -> None:
    # Both at once: each frame's arrival time is when aiortc delivered it.
    video, audio = await asyncio.gather(
        watching.viewer.frames(5, within=30), watching.viewer.audio_frames(25, within=30)
    )
    loud = [f for f in audio[5:] if f.rms > AUDIO_RMS_MIN]
    assert len(loud) >= 10, [round(f.rms, 3) for f in audio]
    start = watching.consume_returned_at
    print(
        f"\n{label}: first video frame {video[0].received_at - start:.3f} s, first audio frame "
        f"{audio[0].received_at - start:.3f} s after Consume returned; "
        f"audio {audio[0].sample_rate} Hz, rms {sum(f.rms for f in loud) / len(loud):.3f}"
    )


async def assert_not_found(client: NodeClient, consumer_id: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.GetConsumer(pb.ConsumerRef(consumer_id=consumer_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("audio", "codec"), [("aac", "opus"), ("pcma", "pcma")])
async def test_camera_audio_plays_and_closes_with_the_video(audio: str, codec: str) -> None:
    camera = await RtspServer.start(kind="h264", fps=15, gop=15, audio=audio)
    try:
        async with running_node() as (_node, client):
            await client.StartStream(
                pb.StartStreamRequest(
                    stream_id="cam", source=pb.StreamSource(rtsp=pb.RtspSource(url=camera.url))
                )
            )
            info = await wait_stream(
                client,
                "cam",
                lambda i: i.status == pb.STREAM_STATUS_LIVE and i.HasField("audio"),
            )
            assert info.audio.codec == codec and info.audio_producer_id

            watching = await watch_over_grpc(client, "cam", f"viewer-{audio}")
            response = watching.response
            assert response is not None and response.HasField("audio")
            assert response.audio.kind == "audio" and response.consumer.kind == "video"
            assert response.audio.transport_id == response.transport.id
            assert response.audio.producer_id == info.audio_producer_id
            mime = response.audio.rtp_parameters["codecs"][0]["mimeType"]
            assert mime.lower() == f"audio/{codec}"
            await assert_plays(watching, f"H.264+{audio.upper()} camera ({codec})")

            audio_info = await client.GetConsumer(
                pb.ConsumerRef(consumer_id=watching.audio_consumer_id)
            )
            assert audio_info.kind == "audio" and audio_info.stats.packets_sent > 0

            # Closing the video consumer closes the audio one and the transport.
            await client.CloseConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
            await assert_not_found(client, watching.consumer_id)
            await assert_not_found(client, watching.audio_consumer_id)
            dump = await client.Dump(pb.DumpRequest())
            assert watching.transport_id not in str(dump)
            await watching.viewer.close()
    finally:
        await camera.stop()


async def test_tone_opt_out_and_closing_audio_alone() -> None:
    async with running_node() as (_node, client):
        tone = pb.StreamSource(test_pattern=pb.TestPatternSource(audio=True))
        await client.StartStream(
            pb.StartStreamRequest(stream_id="tone", source=tone, codec=pb.CODEC_H264)
        )
        silent = pb.StreamSource(test_pattern=pb.TestPatternSource())
        await client.StartStream(
            pb.StartStreamRequest(stream_id="silent", source=silent, codec=pb.CODEC_H264)
        )
        info = await wait_stream(
            client, "tone", lambda i: i.status == pb.STREAM_STATUS_LIVE and i.HasField("audio")
        )
        assert info.audio.codec == "opus"
        plain = await wait_stream(client, "silent", lambda i: i.status == pb.STREAM_STATUS_LIVE)
        assert not plain.HasField("audio") and not plain.audio_producer_id

        no_audio_stream = await watch_over_grpc(client, "silent", "v-silent")
        assert no_audio_stream.response is not None
        assert not no_audio_stream.response.HasField("audio")
        opted_out = await watch_over_grpc(client, "tone", "v-opt-out", audio=False)
        assert opted_out.response is not None and not opted_out.response.HasField("audio")
        assert len(await opted_out.viewer.frames(3)) == 3

        watching = await watch_over_grpc(client, "tone", "v-tone")
        assert watching.audio_consumer_id
        await assert_plays(watching, "test pattern tone (opus)")
        # Closing the audio consumer alone leaves the video playing.
        await client.CloseConsumer(pb.ConsumerRef(consumer_id=watching.audio_consumer_id))
        await assert_not_found(client, watching.audio_consumer_id)
        video = await client.GetConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
        assert video.state != pb.CONSUMER_STATE_CLOSED
        assert len(await watching.viewer.frames(5)) == 5
        for viewer in (watching, opted_out, no_audio_stream):
            await viewer.viewer.close()
