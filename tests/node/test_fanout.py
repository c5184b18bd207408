"""Fan-out across the workers of one node (media_node/fanout.py): a real node with two
workers, a live stream, real decoding viewers (pymediasoup/aiortc) on both workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import grpc

from protos import media_node_pb2 as pb
from tests.node.test_audio import assert_plays, wait_stream
from tests.support.node_process import NodeClient, running_node
from tests.support.node_viewer import NodeWatch, pattern_request, watch_over_grpc


async def _viewer_workers(client: NodeClient) -> dict[str, int]:
    """consumer id -> pid of the worker forwarding it."""
    dump = await client.Dump(pb.DumpRequest())
    return {t.consumer_ids[0]: t.worker_pid for t in dump.transports}


async def _origin_pid(client: NodeClient, stream_id: str) -> int:
    return (await client.GetStream(pb.GetStreamRequest(stream_id=stream_id))).worker_pid


async def _until_no_piped_router(client: NodeClient, within: float = 20.0) -> pb.NodeDump:
    """Polls Dump (no event reports a router closing) until no piped router is left."""
    async with asyncio.timeout(within):
        while True:
            dump = await client.Dump(pb.DumpRequest())
            if not any(w.piped_router_ids for w in dump.workers) and all(
                len(w.worker_router_ids) == len(w.router_ids) for w in dump.workers
            ):
                return dump
            await asyncio.sleep(0.2)


async def _fresh_load(client: NodeClient) -> dict[int, pb.WorkerLoad]:
    """GetLoad per worker pid, from a refresh taken after this call started (figures are
    cached for a second)."""
    asked_at_ms = int(time.time() * 1000)
    async with asyncio.timeout(10):
        while True:
            load = await client.GetLoad(pb.GetLoadRequest())
            if load.updated_at_ms > asked_at_ms:
                return {w.pid: w for w in load.workers}
            await asyncio.sleep(0.2)


async def _close(client: NodeClient, watch: NodeWatch) -> None:
    await client.CloseConsumer(pb.ConsumerRef(consumer_id=watch.consumer_id))
    await watch.viewer.close()


async def test_viewers_decode_on_both_workers_and_the_piped_router_closes_after_them() -> None:
    async with running_node(
        workers=2, VASMS_FANOUT="fill", VASMS_FANOUT_MAX_VIEWERS_PER_WORKER="2"
    ) as (_node, client):
        await client.StartStream(pattern_request("fan-1", keyframe_interval_s=2))
        await client.wait_status("fan-1", pb.STREAM_STATUS_LIVE)
        origin = await _origin_pid(client, "fan-1")
        watches = [await watch_over_grpc(client, "fan-1", f"v{i}") for i in range(4)]
        for watch in watches:
            frames = await watch.viewer.frames(5)
            assert {(f.width, f.height) for f in frames} == {(640, 360)}

        placed = await _viewer_workers(client)
        on_origin = [w for w in watches if placed[w.consumer_id] == origin]
        piped = [w for w in watches if placed[w.consumer_id] != origin]
        # fill: the first two on the stream's own worker, the next two on the other one.
        assert [w.consumer_id for w in on_origin] == [w.consumer_id for w in watches[:2]]
        assert len(piped) == 2 and len({placed[w.consumer_id] for w in piped}) == 1
        dump = await client.Dump(pb.DumpRequest())
        by_pid = {w.pid: w for w in dump.workers}
        other = placed[piped[0].consumer_id]
        assert by_pid[origin].viewers == 2 and by_pid[other].viewers == 2
        assert len(by_pid[other].piped_router_ids) == 1 and not by_pid[origin].piped_router_ids
        # The worker itself has the piped router, its pipe transport and both viewers.
        assert by_pid[other].worker_router_ids == by_pid[other].piped_router_ids
        assert by_pid[other].worker_consumers == 2 and by_pid[other].worker_producers == 1
        loads = await _fresh_load(client)
        assert loads[origin].viewers == 2 and loads[other].viewers == 2
        assert loads[other].piped_routers == 1 and loads[origin].piped_routers == 0

        await _close(client, piped[0])
        # One viewer left there: the piped router stays.
        dump = await client.Dump(pb.DumpRequest())
        assert len({w.pid: w for w in dump.workers}[other].piped_router_ids) == 1
        assert len(await piped[1].viewer.frames(5)) == 5
        await _close(client, piped[1])
        dump = await _until_no_piped_router(client)
        by_pid = {w.pid: w for w in dump.workers}
        assert not by_pid[other].worker_router_ids and by_pid[other].viewers == 0
        # The pipe consumer and pipe transport on the origin are gone too: the origin's
        # router holds the ingest's transport + producer and the two viewers only.
        assert by_pid[origin].worker_consumers == 2 and by_pid[origin].worker_transports == 3
        for watch in on_origin:
            assert len(await watch.viewer.frames(5)) == 5
            await _close(client, watch)


async def test_worker_death_on_the_piped_side_closes_its_viewers_and_the_stream_keeps_running() -> (
    None
):
    async with running_node(workers=2, VASMS_FANOUT="spread") as (_node, client):
        await client.StartStream(pattern_request("fan-2", keyframe_interval_s=2))
        await client.wait_status("fan-2", pb.STREAM_STATUS_LIVE)
        origin = await _origin_pid(client, "fan-2")
        first = await watch_over_grpc(client, "fan-2", "on-origin")
        second = await watch_over_grpc(client, "fan-2", "piped")
        await first.viewer.frames(3)
        await second.viewer.frames(3)
        placed = await _viewer_workers(client)
        assert placed[first.consumer_id] == origin and placed[second.consumer_id] != origin
        piped_pid = placed[second.consumer_id]

        events = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
        await events.read()  # the subscription is live once its snapshot arrives
        os.kill(piped_pid, signal.SIGKILL)
        closed: dict[str, int] = {}
        died = None
        statuses: list[int] = []
        async with asyncio.timeout(20):
            while (event := await events.read()) is not grpc.aio.EOF:
                kind = event.WhichOneof("event")
                if kind == "consumer_closed":
                    closed[event.consumer_closed.consumer_id] = event.consumer_closed.reason
                elif kind == "worker_died":
                    died = event.worker_died
                elif kind == "stream_status" and event.stream_status.stream.stream_id == "fan-2":
                    statuses.append(event.stream_status.stream.status)
                elif kind == "worker_restarted" and event.worker_restarted.old_pid == piped_pid:
                    break
        events.cancel()
        assert closed == {second.consumer_id: pb.CLOSE_REASON_WORKER_DIED}
        assert died is not None and died.pid == piped_pid and "fan-2" not in died.stream_ids
        assert pb.STREAM_STATUS_ERROR not in statuses
        stream = await client.GetStream(pb.GetStreamRequest(stream_id="fan-2"))
        assert stream.status == pb.STREAM_STATUS_LIVE and stream.worker_pid == origin
        assert len(await first.viewer.frames(10)) == 10
        await second.viewer.close()

        # A new viewer is piped to the restarted worker and plays.
        third = await watch_over_grpc(client, "fan-2", "after-restart")
        assert len(await third.viewer.frames(5)) == 5
        placed = await _viewer_workers(client)
        assert set(placed) == {first.consumer_id, third.consumer_id}
        assert placed[third.consumer_id] not in (origin, piped_pid)
        await _close(client, third)
        await _close(client, first)
        await _until_no_piped_router(client)


async def test_origin_worker_death_closes_the_piped_viewers_too() -> None:
    async with running_node(workers=2, VASMS_FANOUT="spread") as (_node, client):
        await client.StartStream(pattern_request("fan-3", keyframe_interval_s=2))
        await client.wait_status("fan-3", pb.STREAM_STATUS_LIVE)
        origin = await _origin_pid(client, "fan-3")
        watches = [await watch_over_grpc(client, "fan-3", f"v{i}") for i in range(2)]
        for watch in watches:
            await watch.viewer.frames(3)
        assert len(set((await _viewer_workers(client)).values())) == 2
        events = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
        await events.read()
        os.kill(origin, signal.SIGKILL)
        closed: dict[str, int] = {}
        async with asyncio.timeout(20):
            while len(closed) < 2 and (event := await events.read()) is not grpc.aio.EOF:
                if event.WhichOneof("event") == "consumer_closed":
                    closed[event.consumer_closed.consumer_id] = event.consumer_closed.reason
        events.cancel()
        assert closed == {w.consumer_id: pb.CLOSE_REASON_WORKER_DIED for w in watches}
        for watch in watches:
            await watch.viewer.close()
        await client.wait_status("fan-3", pb.STREAM_STATUS_LIVE)
        await _until_no_piped_router(client)
        again = await watch_over_grpc(client, "fan-3", "again")
        assert len(await again.viewer.frames(5)) == 5
        await _close(client, again)


async def test_audio_is_piped_with_the_video() -> None:
    async with running_node(workers=2, VASMS_FANOUT="spread") as (_node, client):
        tone = pb.StreamSource(test_pattern=pb.TestPatternSource(audio=True))
        await client.StartStream(
            pb.StartStreamRequest(stream_id="fan-a", source=tone, codec=pb.CODEC_H264)
        )
        await client.wait_status("fan-a", pb.STREAM_STATUS_LIVE)
        origin = await _origin_pid(client, "fan-a")
        await wait_stream(
            client, "fan-a", lambda i: i.status == pb.STREAM_STATUS_LIVE and i.HasField("audio")
        )
        first = await watch_over_grpc(client, "fan-a", "on-origin")
        second = await watch_over_grpc(client, "fan-a", "piped")
        placed = await _viewer_workers(client)
        assert placed[first.consumer_id] == origin and placed[second.consumer_id] != origin
        assert second.audio_consumer_id
        await assert_plays(second, "piped viewer")
        await _close(client, second)
        await _close(client, first)
        await _until_no_piped_router(client)
