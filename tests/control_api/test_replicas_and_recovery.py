"""Several stateless replicas on one database; recovery after a node restart; orphans."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from protos import media_node_pb2 as pb
from tests.control_api.flows import live_stream, snapshot, wait_released, wait_status, watch_v2
from tests.control_api.support import (
    ADMIN,
    Node,
    make_settings,
    serve,
    start_node,
    wait_until,
)


async def test_two_replicas_share_state_and_both_apply_events(
    db_url: str, node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="control_api")
    settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
    async with serve(settings) as a, serve(settings) as b:
        admin = await a.token(*ADMIN)
        stream = await live_stream(a, admin)
        baseline = snapshot(await node.dump())
        token = await a.user("rita", "viewer")
        async with a.client(token) as ca, b.client(token) as cb:
            watch = await watch_v2(ca, stream["id"], "rita")
            try:
                await watch.viewer.frames(3)
                info = (await cb.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
                assert info["client_id"] == "rita"
                assert (await cb.get(f"/api/v2/streams/{stream['id']}")).json()[
                    "consumer_count"
                ] == 1
                assert (
                    await cb.delete(f"/api/v2/consumers/{watch.consumer_id}")
                ).status_code == 204
                assert (await ca.get(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404
            finally:
                await watch.viewer.close()
        await wait_released(node, "rita", baseline)
        # Both replicas watch the node and write the same events: the row converges.
        info = await node.call("GetStream", pb.GetStreamRequest(stream_id=stream["id"]))
        os.kill(info.ingest.process_pid, signal.SIGKILL)
        await wait_status(b, admin, stream["id"], "error", within=20)
        await wait_status(a, admin, stream["id"], "live", within=30)
        await wait_status(b, admin, stream["id"], "live", within=5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_node_restart_brings_streams_back(db_url: str, tmp_path: Path) -> None:
    node = await start_node(tmp_path)
    settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
    try:
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            stream = await live_stream(api, admin)
            await node.stop()
            await wait_status(api, admin, stream["id"], "error", within=15)
            node = await start_node(
                tmp_path, address=node.address, node_id=node.node_id, token=node.token
            )
            # The node came back empty; the reconciler starts what the operator wanted.
            live = await wait_status(api, admin, stream["id"], "live", within=40)
            assert live["node_id"] == node.node_id
            dump = await node.dump()
            assert [s.stream_id for s in dump.streams] == [stream["id"]]
    finally:
        await node.stop()


async def test_consumers_nobody_owns_are_closed(db_url: str, node: Node) -> None:
    settings = make_settings(
        db_url, media_nodes=[node.address], node_token=node.token, orphan_sweep_interval_s=0.5
    )
    async with serve(settings) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        caps = await node.call(
            "GetRouterCapabilities", pb.GetRouterCapabilitiesRequest(stream_id=stream["id"])
        )
        orphan = await node.call(
            "Consume",
            pb.ConsumeRequest(
                stream_id=stream["id"], client_id="orphan", rtp_capabilities=caps.rtp_capabilities
            ),
        )
        assert orphan.consumer.id

        async def closed() -> bool:
            dump = await node.dump()
            return not [c for c in dump.consumers if c.client_id == "orphan"]

        await wait_until(closed, 15, 0.3)


async def test_stream_unknown_to_the_database_is_left_alone(
    db_url: str, node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    """A control API whose database does not know a node's stream (a second control
    API on an empty database, a restored backup) must not stop it: it may be another
    deployment's. Streams the database deleted are forgotten instead (ForgetStream)."""
    caplog.set_level(logging.INFO, logger="control_api")
    stream_id = "11111111-2222-4333-8444-555555555555"
    await node.call(
        "StartStream",
        pb.StartStreamRequest(
            stream_id=stream_id, source=pb.StreamSource(test_pattern=pb.TestPatternSource())
        ),
    )
    settings = make_settings(
        db_url, media_nodes=[node.address], node_token=node.token, orphan_sweep_interval_s=0.5
    )
    async with serve(settings):

        async def looked_at() -> bool:  # reconciled (at connect, then every sweep) twice
            seen = [r for r in caplog.records if "unknown to the database" in r.getMessage()]
            return len(seen) >= 2

        await wait_until(looked_at, 15, 0.2)
        info = await node.call("GetStream", pb.GetStreamRequest(stream_id=stream_id))
        assert info.status != pb.STREAM_STATUS_STOPPED
