"""Viewer transports are closed and reported for every way a viewer can go away, and load
figures follow the viewers."""

from __future__ import annotations

import asyncio

import grpc

from media_node.convert import dict_to_struct
from protos import media_node_pb2 as pb
from tests.support.node_process import NodeClient, running_node
from tests.support.node_viewer import pattern_request, watch_over_grpc


async def _closed_event(events: grpc.aio.UnaryStreamCall, consumer_id: str) -> pb.ConsumerClosed:
    while (event := await events.read()) is not grpc.aio.EOF:
        kind = event.WhichOneof("event")
        if kind == "consumer_closed" and event.consumer_closed.consumer_id == consumer_id:
            return event.consumer_closed
    raise AssertionError("event stream ended")


async def _live(client: NodeClient, stream_id: str) -> grpc.aio.UnaryStreamCall:
    await client.StartStream(pattern_request(stream_id))
    await client.wait_status(stream_id, pb.STREAM_STATUS_LIVE)
    events = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
    await events.read()  # snapshot: subscribed
    return events


async def test_transport_that_never_connects_is_closed() -> None:
    async with running_node(VASMS_CONNECT_TIMEOUT_S="1.5") as (_node, client):
        events = await _live(client, "cam-n")
        caps = await client.GetRouterCapabilities(
            pb.GetRouterCapabilitiesRequest(stream_id="cam-n")
        )
        response = await client.Consume(
            pb.ConsumeRequest(
                stream_id="cam-n", client_id="ghost", rtp_capabilities=caps.rtp_capabilities
            )
        )
        assert response.consumer.state == pb.CONSUMER_STATE_NEW
        async with asyncio.timeout(10):
            closed = await _closed_event(events, response.consumer.id)
        events.cancel()
        assert closed.reason == pb.CLOSE_REASON_NEVER_CONNECTED and closed.client_id == "ghost"
        assert len((await client.Dump(pb.DumpRequest())).transports) == 0


async def test_viewer_hanging_up_is_reported_as_dtls_closed() -> None:
    async with running_node() as (_node, client):
        events = await _live(client, "cam-h")
        watching = await watch_over_grpc(client, "cam-h", "polite")
        await watching.viewer.frames(3)
        await watching.viewer.close()  # aiortc sends a DTLS close_notify
        async with asyncio.timeout(10):
            closed = await _closed_event(events, watching.consumer_id)
        events.cancel()
        assert closed.reason == pb.CLOSE_REASON_DTLS_CLOSED


async def test_dtls_in_consume_connects_at_once_and_a_second_connect_is_refused() -> None:
    async with running_node() as (_node, client):
        await _live(client, "cam-c")
        caps = await client.GetRouterCapabilities(
            pb.GetRouterCapabilitiesRequest(stream_id="cam-c")
        )
        dtls = {
            "role": "client",
            "fingerprints": [{"algorithm": "sha-256", "value": ":".join(["ab"] * 32)}],
        }
        response = await client.Consume(
            pb.ConsumeRequest(
                stream_id="cam-c",
                rtp_capabilities=caps.rtp_capabilities,
                dtls_parameters=dict_to_struct(dtls),
            )
        )
        assert response.connected
        assert response.consumer.state == pb.CONSUMER_STATE_CONNECTING
        try:
            await client.ConnectTransport(
                pb.ConnectTransportRequest(
                    transport_id=response.transport.id, dtls_parameters=dict_to_struct(dtls)
                )
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        else:
            raise AssertionError("second connect accepted")


async def test_load_counts_viewers_and_worker_cpu() -> None:
    async with running_node(VASMS_LOAD_REFRESH_S="0.2") as (_node, client):
        await _live(client, "cam-l")
        watchers = [await watch_over_grpc(client, "cam-l", f"v{i}") for i in range(3)]
        for watching in watchers:
            await watching.viewer.frames(5)
        async with asyncio.timeout(10):
            while True:
                load = await client.GetLoad(pb.GetLoadRequest())
                if load.consumers == 3 and load.outgoing_bitrate_bps > 0:
                    break
                await asyncio.sleep(0.2)  # figures refresh on their own period
        assert load.streams == 1 and load.producers == 1
        assert sum(w.consumers for w in load.workers) == 3
        assert sum(w.routers for w in load.workers) == 1
        assert any(w.cpu_percent > 0 for w in load.workers)
        for watching in watchers:
            await watching.viewer.close()
