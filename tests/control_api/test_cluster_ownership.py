"""A node obeys one cluster: a second control API of another cluster (another, empty
database) on the same node stops nothing, even across a node restart (state file)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import grpc
import pytest

from control_api.node_security import cluster_id
from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc
from tests.control_api.flows import live_stream, watch_v2
from tests.control_api.support import (
    ADMIN,
    REPO,
    ApiServer,
    Node,
    make_settings,
    serve,
    start_node,
    wait_until,
)


async def _as_api(api: ApiServer, node: Node, method: str, request: object) -> object:
    """Calls the node with exactly the metadata `api` sends (token + cluster id)."""
    async with grpc.aio.insecure_channel(node.address) as channel:
        stub = pb_grpc.MediaNodeStub(channel)
        return await getattr(stub, method)(request, metadata=api.ctx.nodes.metadata, timeout=10)


async def test_foreign_cluster_stops_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="control_api")
    state = tmp_path / "node-state.json"
    node = await start_node(tmp_path, VASMS_NODE_STATE_FILE=str(state))
    quick = {"orphan_sweep_interval_s": 0.5, "node_token": node.token}
    ours = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", media_nodes=[node.address], **quick
    )
    theirs = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", media_nodes=[node.address], **quick
    )
    assert cluster_id(ours) != cluster_id(theirs)
    try:
        async with serve(ours) as a:
            admin = await a.token(*ADMIN)
            stream = await live_stream(a, admin)
            token = await a.user("olga", "viewer")
            async with a.client(token) as c:
                watch = await watch_v2(c, stream["id"], "olga")
                try:
                    await watch.viewer.frames(3)
                    assert json.loads(state.read_text()) == {"cluster_id": cluster_id(ours)}

                    async with serve(theirs) as b:

                        async def refused_repeatedly() -> bool:
                            seen = [
                                r for r in caplog.records if "belongs to cluster" in r.getMessage()
                            ]
                            return len(seen) >= 3

                        await wait_until(refused_repeatedly, within=15, interval=0.2)
                        assert b.ctx.nodes.handles[0].node_id is None  # never let in
                        for method, request in (
                            ("StopStream", pb.StopStreamRequest(stream_id=stream["id"])),
                            ("CloseConsumer", pb.ConsumerRef(consumer_id=watch.consumer_id)),
                            ("ListStreams", pb.ListStreamsRequest()),
                        ):
                            with pytest.raises(grpc.aio.AioRpcError) as denied:
                                await _as_api(b, node, method, request)
                            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
                        # Their start of a stream of their own finds no node.
                        b_admin = await b.token(*ADMIN)
                        async with b.client(b_admin) as bc:
                            r = await bc.post(
                                "/api/v2/streams",
                                json={"name": "theirs", "source": {"type": "test_pattern"}},
                            )
                            r = await bc.post(f"/api/v2/streams/{r.json()['id']}/start")
                            assert r.status_code == 503, r.text

                    # Our stream and viewer went through all of it untouched.
                    assert len(await watch.viewer.frames(10)) == 10
                    dump = await node.dump()
                    assert [(s.stream_id, s.status) for s in dump.streams] == [
                        (stream["id"], pb.STREAM_STATUS_LIVE)
                    ]
                    assert watch.consumer_id in {c.id for c in dump.consumers}
                finally:
                    await watch.viewer.close()

        # The claim survives a restart of the node (state file): the foreign cluster is
        # still refused, ours is let in and starts its stream again.
        await node.stop()
        node = await start_node(
            tmp_path,
            address=node.address,
            node_id=node.node_id,
            token=node.token,
            VASMS_NODE_STATE_FILE=str(state),
        )
        assert f"cluster {cluster_id(ours)}" in node.log()
        async with serve(theirs) as b:
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await _as_api(b, node, "GetLoad", pb.GetLoadRequest())
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        async with serve(ours) as a:
            load = await _as_api(a, node, "GetLoad", pb.GetLoadRequest())
            assert load.node_id == node.node_id  # type: ignore[attr-defined]

            async def restarted() -> bool:
                dump = await node.dump()
                return [(s.stream_id, s.status) for s in dump.streams] == [
                    (stream["id"], pb.STREAM_STATUS_LIVE)
                ]

            await wait_until(restarted, within=30, interval=0.3)
    finally:
        await node.stop()


async def test_configured_cluster_id_is_the_only_one_accepted(tmp_path: Path) -> None:
    node = await start_node(tmp_path, VASMS_NODE_CLUSTER_ID="prod-eu")
    try:
        db = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
        wrong = make_settings(db, media_nodes=[node.address], node_token=node.token)
        right = make_settings(
            db, media_nodes=[node.address], node_token=node.token, cluster_id="prod-eu"
        )
        async with serve(wrong, sync=False) as api:
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await _as_api(api, node, "GetLoad", pb.GetLoadRequest())
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "prod-eu" in (denied.value.details() or "")
        async with serve(right, sync=False) as api:
            await _as_api(api, node, "GetLoad", pb.GetLoadRequest())
    finally:
        await node.stop()


async def test_unreadable_state_file_refuses_to_start(tmp_path: Path) -> None:
    state = tmp_path / "node-state.json"
    state.write_text("{not json")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "media_node.server",
        env={**os.environ, "VASMS_NODE_TOKEN": "t" * 32, "VASMS_NODE_STATE_FILE": str(state)},
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "VASMS_NODE_STATE_FILE" in lines[0], lines
