"""Edge relays between two real nodes over gRPC (media_node/relay.py): the handshake the
control plane drives, a decoding viewer on the edge, and both ends of a relay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from protos import media_node_pb2 as pb
from tests.node.test_audio import assert_plays, wait_stream
from tests.support.node_process import NodeClient, running_node
from tests.support.node_viewer import pattern_request, watch_over_grpc


@contextlib.asynccontextmanager
async def _events(client: NodeClient) -> AsyncIterator[grpc.aio.UnaryStreamCall]:
    call = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
    await call.initial_metadata()  # the node sends headers once the subscription is live
    try:
        yield call
    finally:
        call.cancel()


async def _relay_closed(events: grpc.aio.UnaryStreamCall, within: float = 30.0) -> pb.RelayClosed:
    async with asyncio.timeout(within):
        while (event := await events.read()) is not grpc.aio.EOF:
            if event.WhichOneof("event") == "relay_closed":
                return event.relay_closed
    raise AssertionError("event stream ended")


async def _relay(
    origin: NodeClient,
    edge: NodeClient,
    relay_id: str,
    stream_id: str,
    kinds: list[str] | None = None,
) -> None:
    """The control plane's four calls."""
    o = await origin.OpenRelay(
        pb.OpenRelayRequest(relay_id=relay_id, stream_id=stream_id, role=pb.RELAY_ROLE_ORIGIN)
    )
    e = await edge.OpenRelay(
        pb.OpenRelayRequest(relay_id=relay_id, stream_id=stream_id, role=pb.RELAY_ROLE_EDGE)
    )
    assert o.endpoint.port and e.endpoint.port
    assert o.endpoint.HasField("srtp_parameters")  # VASMS_PIPE_SRTP defaults on
    piped = await origin.ConnectRelay(pb.ConnectRelayRequest(relay_id=relay_id, peer=e.endpoint))
    assert [p.kind for p in piped.producers] == (kinds or ["video"])
    await edge.ConnectRelay(
        pb.ConnectRelayRequest(relay_id=relay_id, peer=o.endpoint, producers=piped.producers)
    )


async def test_a_viewer_on_the_edge_decodes_and_the_relay_closes_after_it() -> None:
    async with (
        running_node(workers=1) as (_o, origin),
        running_node(workers=1, VASMS_RTC_MIN_PORT="47000", VASMS_RTC_MAX_PORT="47999") as (
            _e,
            edge,
        ),
    ):
        await origin.StartStream(pattern_request("relay-1", keyframe_interval_s=2))
        await origin.wait_status("relay-1", pb.STREAM_STATUS_LIVE)
        await _relay(origin, edge, "r1", "relay-1")
        watching = await watch_over_grpc(edge, "relay-1", "edge-viewer")
        frames = await watching.viewer.frames(10)
        assert {(f.width, f.height) for f in frames} == {(640, 360)}
        # One ingest in total: the edge lists no stream of its own and runs no ingest.
        assert not (await edge.ListStreams(pb.ListStreamsRequest())).streams
        edge_dump = await edge.Dump(pb.DumpRequest())
        assert [w.worker_producers for w in edge_dump.workers] == [1]
        assert len(edge_dump.transports) == 1

        async with _events(edge) as edge_events, _events(origin) as origin_events:
            await edge.CloseConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
            await watching.viewer.close()
            closed = await _relay_closed(edge_events)
            assert (closed.relay_id, closed.role, closed.reason) == (
                "r1",
                pb.RELAY_ROLE_EDGE,
                "idle",
            )
            await origin.CloseRelay(pb.CloseRelayRequest(relay_id="r1"))
            # The origin's side was closed on request: it reports nothing.
            with contextlib.suppress(TimeoutError):
                unexpected = await _relay_closed(origin_events, within=1.0)
                raise AssertionError(f"origin reported {unexpected}")
        edge_dump = await edge.Dump(pb.DumpRequest())
        assert not any(w.worker_router_ids for w in edge_dump.workers)
        origin_dump = await origin.Dump(pb.DumpRequest())
        # Only the ingest's transport and producer are left on the origin.
        assert [(w.worker_transports, w.worker_consumers) for w in origin_dump.workers] == [(1, 0)]


async def test_stopping_the_stream_on_the_origin_reports_the_relay_gone() -> None:
    async with (
        running_node(workers=1) as (_o, origin),
        running_node(workers=1, VASMS_RTC_MIN_PORT="47000", VASMS_RTC_MAX_PORT="47999") as (
            _e,
            edge,
        ),
    ):
        await origin.StartStream(pattern_request("relay-2", keyframe_interval_s=2))
        await origin.wait_status("relay-2", pb.STREAM_STATUS_LIVE)
        await _relay(origin, edge, "r2", "relay-2")
        watching = await watch_over_grpc(edge, "relay-2", "edge-viewer")
        await watching.viewer.frames(3)
        async with _events(origin) as origin_events, _events(edge) as edge_events:
            await origin.StopStream(pb.StopStreamRequest(stream_id="relay-2"))
            closed = await _relay_closed(origin_events)
            assert (closed.relay_id, closed.role, closed.reason) == (
                "r2",
                pb.RELAY_ROLE_ORIGIN,
                "origin_gone",
            )
            # The control plane then closes the edge, telling its viewers why.
            await edge.CloseRelay(
                pb.CloseRelayRequest(relay_id="r2", reason=pb.CLOSE_REASON_NODE_LOST)
            )
            async with asyncio.timeout(10):
                while (event := await edge_events.read()) is not grpc.aio.EOF:
                    if event.WhichOneof("event") == "consumer_closed":
                        assert event.consumer_closed.consumer_id == watching.consumer_id
                        assert event.consumer_closed.reason == pb.CLOSE_REASON_NODE_LOST
                        break
        await watching.viewer.close()
        edge_dump = await edge.Dump(pb.DumpRequest())
        assert not edge_dump.transports and not any(w.worker_router_ids for w in edge_dump.workers)


async def test_audio_rides_the_relay_with_the_video() -> None:
    async with (
        running_node(workers=1) as (_o, origin),
        running_node(workers=1, VASMS_RTC_MIN_PORT="47000", VASMS_RTC_MAX_PORT="47999") as (
            _e,
            edge,
        ),
    ):
        tone = pb.StreamSource(test_pattern=pb.TestPatternSource(audio=True))
        await origin.StartStream(
            pb.StartStreamRequest(stream_id="relay-a", source=tone, codec=pb.CODEC_H264)
        )
        await wait_stream(
            origin, "relay-a", lambda i: i.status == pb.STREAM_STATUS_LIVE and i.HasField("audio")
        )
        await _relay(origin, edge, "ra", "relay-a", kinds=["video", "audio"])
        watching = await watch_over_grpc(edge, "relay-a", "edge-viewer")
        assert watching.audio_consumer_id
        await assert_plays(watching, "edge viewer")
        await watching.viewer.close()
