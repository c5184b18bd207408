"""The media node daemon end to end: real process, real gRPC, real worker, real ingest,
real viewers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from media_node.convert import dict_to_struct
from protos import media_node_pb2 as pb
from tests.support.node_process import REPO, NodeClient, running_node
from tests.support.node_viewer import pattern_request, watch_over_grpc

GRPCURL = str(REPO / ".venv" / "bin" / "grpcurl")

# A key frame asked for arrives in ~0.1 s here (figures in the tests' output and bench/);
# the bound only has to sit well below the ~8 s wait for the GOP's next natural one.
KEY_FRAME_ON_REQUEST_WITHIN_S = 4.0


def _grpcurl(address: str, token: str, *args: str) -> str:
    return subprocess.run(
        [GRPCURL, "-plaintext", "-H", f"authorization: Bearer {token}", address, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


async def test_operators_can_use_grpcurl_reflection_and_health() -> None:
    async with running_node() as (node, _client):
        services = await asyncio.to_thread(_grpcurl, node.address, node.token, "list")
        assert "vasms.medianode.v1.MediaNode" in services.split()
        assert "grpc.health.v1.Health" in services.split()
        methods = await asyncio.to_thread(
            _grpcurl, node.address, node.token, "list", "vasms.medianode.v1.MediaNode"
        )
        assert "vasms.medianode.v1.MediaNode.WatchEvents" in methods
        load = json.loads(
            await asyncio.to_thread(
                _grpcurl, node.address, node.token, "vasms.medianode.v1.MediaNode/GetLoad"
            )
        )
        assert load["node_id"] == node.node_id and len(load["workers"]) == 2
        dump = json.loads(
            await asyncio.to_thread(
                _grpcurl, node.address, node.token, "vasms.medianode.v1.MediaNode/Dump"
            )
        )
        assert dump["node_id"] == node.node_id
        health = json.loads(
            await asyncio.to_thread(
                _grpcurl, node.address, node.token, "grpc.health.v1.Health/Check"
            )
        )
        assert health == {"status": "SERVING"}
        # Probes (load balancers, Kubernetes) carry no token: health needs none.
        async with node.channel() as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="vasms.medianode.v1.MediaNode")
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def _dump_leftovers(client: NodeClient) -> tuple[int, int, int]:
    dump = await client.Dump(pb.DumpRequest())
    return (
        len(dump.transports) + len(dump.consumers),
        sum(w.worker_consumers for w in dump.workers),
        sum(w.worker_transports for w in dump.workers),
    )


async def test_full_viewer_flow_over_grpc_and_nothing_left_after_close() -> None:
    async with running_node() as (_node, client):
        await client.StartStream(pattern_request("cam-1"))
        await client.wait_status("cam-1", pb.STREAM_STATUS_LIVE)
        watching = await watch_over_grpc(client, "cam-1")
        frames = await watching.viewer.frames(20)
        assert {(f.width, f.height) for f in frames} == {(640, 360)}
        info = await client.GetConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
        assert info.state == pb.CONSUMER_STATE_CONNECTED and info.stats.packets_sent > 0
        assert (await client.GetStream(pb.GetStreamRequest(stream_id="cam-1"))).consumer_count == 1
        await client.CloseConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
        await watching.viewer.close()
        # Only the ingest's plain transport remains in the worker.
        assert await _dump_leftovers(client) == (0, 0, 1)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client.GetConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_ten_viewers_leave_one_by_one_and_the_rest_keep_playing() -> None:
    async with running_node() as (_node, client):
        await client.StartStream(pattern_request("cam-10"))
        await client.wait_status("cam-10", pb.STREAM_STATUS_LIVE)
        watchers = [await watch_over_grpc(client, "cam-10", f"v{i}") for i in range(10)]
        for watching in watchers:
            assert len(await watching.viewer.frames(5)) == 5
        for index, leaving in enumerate(watchers[:-1]):
            await client.CloseConsumer(pb.ConsumerRef(consumer_id=leaving.consumer_id))
            await leaving.viewer.close()
            for staying in watchers[index + 1 :]:
                assert len(await staying.viewer.frames(2)) == 2
        await watchers[-1].viewer.close()


@pytest.mark.parametrize("codec", [pb.CODEC_VP8, pb.CODEC_H264], ids=["vp8", "h264"])
async def test_first_frame_comes_from_a_key_frame_request_not_the_gop(codec: int) -> None:
    async with running_node() as (_node, client):
        await client.StartStream(pattern_request("cam-k", codec=codec, keyframe_interval_s=10))
        await client.wait_status("cam-k", pb.STREAM_STATUS_LIVE)
        # The scenario: join mid-GOP, well after the first key frame of a 10 s interval.
        await asyncio.sleep(2.0)
        watching = await watch_over_grpc(client, "cam-k")
        frames = await watching.viewer.frames(1, within=15)
        ttff = frames[0].received_at - watching.consume_returned_at
        print(f"\n{pb.Codec.Name(codec)}: first frame {ttff * 1000:.0f} ms after Consume returned")
        # Behaviour, not speed: joined 2 s into a 10 s GOP, the next natural key
        # frame is ~8 s away; a first frame well before it comes from a key-frame request.
        assert ttff < KEY_FRAME_ON_REQUEST_WITHIN_S
        await watching.viewer.close()


async def test_abandoned_viewer_is_closed_and_reported_within_35_s() -> None:
    async with running_node() as (node, client):
        await client.StartStream(pattern_request("cam-a"))
        await client.wait_status("cam-a", pb.STREAM_STATUS_LIVE)
        events = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
        await events.read()  # snapshot: the subscription is live
        viewer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.viewer_process",
            node.address,
            node.token,
            "cam-a",
            stdout=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env=dict(os.environ),
        )
        assert viewer.stdout is not None
        line = await asyncio.wait_for(viewer.stdout.readline(), 30)
        assert line.startswith(b"playing "), line
        consumer_id = line.split()[1].decode()
        viewer.send_signal(signal.SIGKILL)  # no DTLS close, no goodbye: the peer just vanishes
        await viewer.wait()
        killed_at = time.monotonic()
        async with asyncio.timeout(40):
            while (event := await events.read()) is not grpc.aio.EOF:
                closed = event.consumer_closed
                if (
                    event.WhichOneof("event") == "consumer_closed"
                    and closed.consumer_id == consumer_id
                ):
                    break
        elapsed = time.monotonic() - killed_at
        events.cancel()
        print(
            f"\nabandoned viewer closed after {elapsed:.1f} s: {pb.CloseReason.Name(closed.reason)}"
        )
        assert elapsed <= 35
        assert closed.reason == pb.CLOSE_REASON_ICE_DISCONNECTED
        assert await _dump_leftovers(client) == (0, 0, 1)


async def test_worker_killed_during_playback_stream_comes_back_within_3_s() -> None:
    async with running_node() as (_node, client):
        await client.StartStream(pattern_request("cam-w"))
        await client.wait_status("cam-w", pb.STREAM_STATUS_LIVE)
        watching = await watch_over_grpc(client, "cam-w")
        await watching.viewer.frames(3)
        pid = (await client.GetStream(pb.GetStreamRequest(stream_id="cam-w"))).worker_pid
        events = client.stub.WatchEvents(pb.WatchEventsRequest(), metadata=client.metadata)
        snapshot = await events.read()  # the subscription is live once its snapshot arrives
        assert snapshot.stream_status.stream.status == pb.STREAM_STATUS_LIVE
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        seen: set[str] = set()
        async with asyncio.timeout(10):
            while (event := await events.read()) is not grpc.aio.EOF:
                kind = event.WhichOneof("event")
                if kind == "worker_died":
                    assert event.worker_died.pid == pid and "cam-w" in event.worker_died.stream_ids
                    seen.add(kind)
                elif (
                    kind == "consumer_closed"
                    and event.consumer_closed.consumer_id == watching.consumer_id
                ):
                    assert event.consumer_closed.reason == pb.CLOSE_REASON_WORKER_DIED
                    seen.add(kind)
                elif (
                    kind == "stream_status"
                    and event.stream_status.stream.stream_id == "cam-w"
                    and event.stream_status.stream.status == pb.STREAM_STATUS_LIVE
                    and "worker_died" in seen
                ):
                    break
        back_after = time.monotonic() - killed_at
        events.cancel()
        print(f"\nstream live again {back_after * 1000:.0f} ms after the worker was killed")
        assert back_after <= 3.0
        assert seen == {"worker_died", "consumer_closed"}
        await watching.viewer.close()
        again = await watch_over_grpc(client, "cam-w")
        assert len(await again.viewer.frames(5)) == 5
        await again.viewer.close()


async def test_drain_refuses_new_viewers_keeps_existing_and_exits_after_they_leave() -> None:
    async with running_node() as (node, client):
        await client.StartStream(pattern_request("cam-d"))
        await client.wait_status("cam-d", pb.STREAM_STATUS_LIVE)
        watching = await watch_over_grpc(client, "cam-d")
        await watching.viewer.frames(3)
        response = await client.Drain(pb.DrainRequest(deadline_s=60))
        assert response.draining and response.consumers_remaining == 1
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await watch_over_grpc(client, "cam-d", "late")
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "draining" in error.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client.StartStream(pattern_request("cam-new"))
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(await watching.viewer.frames(10)) == 10  # still playing
        assert node.process.returncode is None
        await client.CloseConsumer(pb.ConsumerRef(consumer_id=watching.consumer_id))
        await watching.viewer.close()
        assert await asyncio.wait_for(node.process.wait(), 20) == 0


async def test_bad_inputs_get_their_codes_and_change_nothing() -> None:
    async with running_node() as (node, client):
        await client.StartStream(pattern_request("cam-b"))
        await client.wait_status("cam-b", pb.STREAM_STATUS_LIVE)
        await client.StartStream(pattern_request("cam-stopped"))
        await client.StopStream(pb.StopStreamRequest(stream_id="cam-stopped"))
        before = await client.Dump(pb.DumpRequest())
        good_caps = (
            await client.GetRouterCapabilities(pb.GetRouterCapabilitiesRequest(stream_id="cam-b"))
        ).rtp_capabilities
        bad_fingerprint = dict_to_struct(
            {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": "zz"}]}
        )
        cases = [
            (client.GetStream(pb.GetStreamRequest(stream_id="nope")), grpc.StatusCode.NOT_FOUND),
            (
                client.GetRouterCapabilities(pb.GetRouterCapabilitiesRequest(stream_id="nope")),
                grpc.StatusCode.NOT_FOUND,
            ),
            (
                client.GetRouterCapabilities(
                    pb.GetRouterCapabilitiesRequest(stream_id="cam-stopped")
                ),
                grpc.StatusCode.FAILED_PRECONDITION,
            ),
            (
                client.Consume(
                    pb.ConsumeRequest(stream_id="cam-stopped", rtp_capabilities=good_caps)
                ),
                grpc.StatusCode.FAILED_PRECONDITION,
            ),
            (
                client.Consume(pb.ConsumeRequest(stream_id="nope", rtp_capabilities=good_caps)),
                grpc.StatusCode.NOT_FOUND,
            ),
            (
                client.Consume(pb.ConsumeRequest(stream_id="cam-b")),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.Consume(
                    pb.ConsumeRequest(stream_id="cam-b", rtp_capabilities=dict_to_struct({}))
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.Consume(
                    pb.ConsumeRequest(
                        stream_id="cam-b",
                        rtp_capabilities=dict_to_struct(
                            {"codecs": [{"kind": "video", "mimeType": 7}]}
                        ),
                    )
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.Consume(
                    pb.ConsumeRequest(
                        stream_id="cam-b",
                        rtp_capabilities=dict_to_struct(
                            {
                                "codecs": [
                                    {
                                        "kind": "audio",
                                        "mimeType": "audio/opus",
                                        "clockRate": 48000,
                                        "channels": 2,
                                        "preferredPayloadType": 100,
                                    }
                                ]
                            }
                        ),
                    )
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.Consume(
                    pb.ConsumeRequest(
                        stream_id="cam-b",
                        rtp_capabilities=good_caps,
                        dtls_parameters=bad_fingerprint,
                    )
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.ConnectTransport(
                    pb.ConnectTransportRequest(transport_id="nope", dtls_parameters=bad_fingerprint)
                ),
                grpc.StatusCode.NOT_FOUND,
            ),
            (client.CloseConsumer(pb.ConsumerRef(consumer_id="nope")), grpc.StatusCode.NOT_FOUND),
            (client.ResumeConsumer(pb.ConsumerRef(consumer_id="nope")), grpc.StatusCode.NOT_FOUND),
            (
                client.CloseTransport(pb.CloseTransportRequest(transport_id="nope")),
                grpc.StatusCode.NOT_FOUND,
            ),
            (
                client.StartStream(pb.StartStreamRequest(stream_id="x")),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.StartStream(
                    pb.StartStreamRequest(
                        stream_id="x", source=pb.StreamSource(rtsp=pb.RtspSource(url="http://no"))
                    )
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                client.GetLoad(pb.GetLoadRequest(), metadata=(("authorization", "Bearer wrong"),)),
                grpc.StatusCode.UNAUTHENTICATED,
            ),
            (client.Dump(pb.DumpRequest(), metadata=()), grpc.StatusCode.UNAUTHENTICATED),
        ]
        for call, code in cases:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call
            assert error.value.code() == code, error.value.details()
        after = await client.Dump(pb.DumpRequest())
        for message in (before, after):  # ingest counters move; compare what the node holds
            for stream in message.streams:
                stream.ClearField("ingest")
        assert after == before
        # The field is named in the message.
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client.Consume(
                pb.ConsumeRequest(
                    stream_id="cam-b", rtp_capabilities=good_caps, dtls_parameters=bad_fingerprint
                )
            )
        assert "dtls_parameters" in error.value.details()
        assert node.process.returncode is None


async def test_json_fields_carry_what_the_structs_carry() -> None:
    """GetRouterCapabilities / Consume with `json`: the same content as the Structs, no
    Struct set; bad JSON is INVALID_ARGUMENT naming the field and creates nothing."""
    from media_node.convert import struct_to_dict

    async with running_node() as (_node, client):
        await client.StartStream(pattern_request("cam-j"))
        await client.wait_status("cam-j", pb.STREAM_STATUS_LIVE)
        as_struct = await client.GetRouterCapabilities(
            pb.GetRouterCapabilitiesRequest(stream_id="cam-j")
        )
        as_json = await client.GetRouterCapabilities(
            pb.GetRouterCapabilitiesRequest(stream_id="cam-j", json=True)
        )
        caps = struct_to_dict(as_struct.rtp_capabilities)
        assert caps["codecs"] and not as_struct.rtp_capabilities_json
        assert json.loads(as_json.rtp_capabilities_json) == caps
        assert not as_json.HasField("rtp_capabilities")
        old = await client.Consume(
            pb.ConsumeRequest(stream_id="cam-j", rtp_capabilities=dict_to_struct(caps))
        )
        new = await client.Consume(
            pb.ConsumeRequest(stream_id="cam-j", rtp_capabilities_json=json.dumps(caps), json=True)
        )
        t_old, t_new = old.transport, new.transport
        assert not t_new.HasField("ice_parameters") and not new.consumer.HasField("rtp_parameters")
        assert (
            json.loads(new.consumer.rtp_parameters_json)["codecs"]
            == struct_to_dict(old.consumer.rtp_parameters)["codecs"]
        )
        assert set(json.loads(t_new.ice_parameters_json)) == set(
            struct_to_dict(t_old.ice_parameters)
        )
        candidates = json.loads(t_new.ice_candidates_json)
        assert len(candidates) == len(t_old.ice_candidates) > 0
        assert {c["protocol"] for c in candidates} == {
            struct_to_dict(c)["protocol"] for c in t_old.ice_candidates
        }
        assert (
            json.loads(t_new.dtls_parameters_json)["fingerprints"]
            == struct_to_dict(t_old.dtls_parameters)["fingerprints"]
        )
        for bad in ("{not json", "[1, 2]"):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await client.Consume(
                    pb.ConsumeRequest(stream_id="cam-j", rtp_capabilities_json=bad, json=True)
                )
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "rtp_capabilities" in error.value.details()
        dump = await client.Dump(pb.DumpRequest())
        assert len(dump.consumers) == 2  # the two above, nothing from the bad ones
        for reply in (old, new):
            await client.CloseConsumer(pb.ConsumerRef(consumer_id=reply.consumer.id))
