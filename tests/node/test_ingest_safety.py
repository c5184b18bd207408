"""The ingest cannot be injected or orphaned, proven on a real node over real gRPC.

Injection: camera URLs carrying every separator a pipeline parser would split on
(tab, newline, quotes, ``!``, ``=``, ``(``) reach StartStream. Each either gets
INVALID_ARGUMENT (whitespace and control characters: no URL has them) and leaves
nothing behind, or runs a pipeline with exactly the intended elements, as GStreamer
itself lists them (its graph dump of the running pipeline), and the ``filesink`` the
URL asks for never writes its file.

Orphans: a media node SIGKILLed with ingest processes running takes them with it
within 2 s; a node restarted in its place finds none left over.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from protos import media_node_pb2 as pb
from tests.support.node_process import NodeClient, running_node, start_node
from tests.support.pipeline_graph import dumps, top_level_elements
from tests.support.rtsp_server import RtspServer

# The funnel joins the camera's audio (if it has any) to the video in front of udpsink.
BUILT = sorted(["GstFunnel", "GstRtpBin", "GstRTSPSrc", "GstRtpH264Pay", "GstUDPSink", "GstUDPSrc"])
PASSTHROUGH = sorted([*BUILT, "GstRtpH264Depay", "GstH264Parse"])


@pytest.fixture
async def camera() -> AsyncIterator[RtspServer]:
    server = await RtspServer.start(gop=30)
    try:
        yield server
    finally:
        await server.stop()


def rtsp(url: str) -> pb.StreamSource:
    # Fast start off: the plain passthrough graph (fast start's bridge has its own tests).
    return pb.StreamSource(rtsp=pb.RtspSource(url=url, no_fast_start=True))


async def wait_graph(directory: Path, pid: int, stage: str, within: float = 15.0) -> list[str]:
    path = directory / f"vasms-ingest-{pid}-{stage}.dot"
    async with asyncio.timeout(within):
        while not path.exists():  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # a file another process writes: nothing to await
    return top_level_elements(await asyncio.to_thread(path.read_text))


async def test_no_separator_in_a_url_changes_the_pipeline(
    camera: RtspServer, tmp_path: Path
) -> None:
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    target = tmp_path / "pwned"
    inject = f"filesink location={target}"
    host = f"127.0.0.1:{camera.port}"
    rejected = [
        f"{camera.url}\t! {inject}",
        f"{camera.url}\n! {inject}",
        f"{camera.url}\r! {inject}",
        f"{camera.url} ! {inject}",
        f"{camera.url}\x00! {inject}",
    ]
    # No whitespace: what a pipeline parser would still split on, in the path's query
    # and in the user name and password (a camera password may hold any of these).
    accepted = [
        f"{camera.url}?a=1!{inject.replace(' ', '!')}",
        f'{camera.url}?a="x"!{inject.replace(" ", "=")}"',
        f"{camera.url}?a='x'!({inject.replace(' ', '(')})",
        f"rtsp://us!er=(x:p\"a'ss!=(@{host}/cam",
    ]
    async with running_node(GST_DEBUG_DUMP_DOT_DIR=str(graphs)) as (_node, client):
        for i, url in enumerate(rejected):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await client.StartStream(
                    pb.StartStreamRequest(stream_id=f"bad-{i}", source=rtsp(url))
                )
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, url
            assert "source.rtsp.url" in (caught.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await client.GetStream(pb.GetStreamRequest(stream_id=f"bad-{i}"))
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert dumps(graphs) == {}, "a rejected URL started an ingest process"

        for i, url in enumerate(accepted):
            stream_id = f"odd-{i}"
            await client.StartStream(pb.StartStreamRequest(stream_id=stream_id, source=rtsp(url)))
            live = await client.wait_status(stream_id, pb.STREAM_STATUS_LIVE)
            pid = live.ingest.process_pid
            assert await wait_graph(graphs, pid, "built") == BUILT, url
            assert await wait_graph(graphs, pid, "video") == PASSTHROUGH, url
            command = (await asyncio.to_thread(Path(f"/proc/{pid}/cmdline").read_bytes)).split(
                b"\0"
            )
            assert not [arg for arg in command if b"rtsp" in arg], "the URL is in ps"
            await client.StopStream(pb.StopStreamRequest(stream_id=stream_id))
        assert not target.exists()
        assert {stage for _pid, stage in dumps(graphs)} == {"built", "video"}


def ended(pid: int) -> bool:
    """Gone, or a zombie: it has exited (reaping is its new parent's business)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def ingest_children_of(node_pid: int) -> list[int]:
    """Live ingest processes started by the node process ``node_pid`` (its ingests
    carry VASMS_INGEST_PARENT_PID in their environment), whoever their parent is now."""
    marker = f"VASMS_INGEST_PARENT_PID={node_pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and not ended(int(entry.name)):
            found.append(int(entry.name))
    return found


async def start_streams(client: NodeClient, camera: RtspServer) -> list[int]:
    await client.StartStream(
        pb.StartStreamRequest(
            stream_id="pattern", source=pb.StreamSource(test_pattern=pb.TestPatternSource())
        )
    )
    await client.StartStream(pb.StartStreamRequest(stream_id="camera", source=rtsp(camera.url)))
    pids = []
    for stream_id in ("pattern", "camera"):
        live = await client.wait_status(stream_id, pb.STREAM_STATUS_LIVE)
        pids.append(live.ingest.process_pid)
    return pids


async def test_a_killed_node_takes_its_ingest_processes_with_it(camera: RtspServer) -> None:
    node = await start_node(workers=1)
    client = NodeClient(node)
    try:
        pids = await start_streams(client, camera)
        assert sorted(await asyncio.to_thread(ingest_children_of, node.process.pid)) == sorted(pids)
        await client.close()
        os.kill(node.process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await node.process.wait()
        async with asyncio.timeout(2.0):
            while not all(ended(pid) for pid in pids):  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # /proc has no change notification
        print(f"\ningest processes ended {time.monotonic() - killed_at:.3f} s after SIGKILL")
        assert await asyncio.to_thread(ingest_children_of, node.process.pid) == []
    finally:
        await node.stop()

    # A node started in its place (same id) finds nothing of the old one's, and runs.
    async with running_node(workers=1, VASMS_NODE_ID=node.node_id) as (again, client):
        assert await asyncio.to_thread(ingest_children_of, node.process.pid) == []
        pids = await start_streams(client, camera)
        assert sorted(await asyncio.to_thread(ingest_children_of, again.process.pid)) == sorted(
            pids
        )
