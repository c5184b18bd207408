"""RTSP camera pulled by the media node: H.264 passthrough (no encoder in the ingest),
error when the camera goes away, live again when it comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protos import media_node_pb2 as pb
from tests.support.node_process import running_node
from tests.support.node_viewer import watch_over_grpc
from tests.support.pipeline_graph import top_level_elements
from tests.support.rtsp_server import RtspServer

PASSTHROUGH = sorted(
    [
        "GstFunnel",  # where the camera's audio (none here) would join the video
        "GstRtpBin",
        "GstRTSPSrc",
        "GstRtpH264Depay",
        "GstH264Parse",
        "GstRtpH264Pay",
        "GstUDPSink",
        "GstUDPSrc",
    ]
)


@pytest.fixture
async def camera() -> AsyncIterator[RtspServer]:
    server = await RtspServer.start(gop=30)
    try:
        yield server
    finally:
        await server.stop()


async def test_rtsp_camera_passthrough_error_and_recovery(
    camera: RtspServer, tmp_path: Path
) -> None:
    async with running_node(
        VASMS_INGEST_NO_PACKET_TIMEOUT_S="3", GST_DEBUG_DUMP_DOT_DIR=str(tmp_path)
    ) as (_node, client):
        await client.StartStream(
            pb.StartStreamRequest(
                stream_id="cam-rtsp",
                source=pb.StreamSource(rtsp=pb.RtspSource(url=camera.url, no_fast_start=True)),
            )
        )
        live = await client.wait_status("cam-rtsp", pb.STREAM_STATUS_LIVE)
        assert live.codec == pb.CODEC_H264
        pid = live.ingest.process_pid
        # What runs, as GStreamer lists it: no decoder, no encoder.
        graph = tmp_path / f"vasms-ingest-{pid}-video.dot"
        assert top_level_elements(await asyncio.to_thread(graph.read_text)) == PASSTHROUGH
        assert (live.video.codec, live.video.width, live.video.height) == ("h264", 640, 360)

        watching = await watch_over_grpc(client, "cam-rtsp")
        frames = await watching.viewer.frames(20)
        assert {(f.width, f.height) for f in frames} == {(640, 360)}
        await watching.viewer.close()

        await camera.stop()
        down = await client.wait_status("cam-rtsp", pb.STREAM_STATUS_ERROR, within=20)
        assert down.status_reason
        back = await RtspServer.start(port=camera.port, gop=30)
        try:
            again = await client.wait_status("cam-rtsp", pb.STREAM_STATUS_LIVE, within=30)
            assert again.ingest.restarts >= 1
            watching = await watch_over_grpc(client, "cam-rtsp", "after-recovery")
            assert len(await watching.viewer.frames(5)) == 5
            await watching.viewer.close()
        finally:
            await back.stop()
