"""A real viewer (pymediasoup/aiortc) through the public APIs only, against a real node.

REST V2: token → router capabilities → consume → connect → decoded frames → DELETE.
V1 WebSocket: the same methods; closing the socket releases everything.
Afterwards the node's Dump (and its worker's own counts) show nothing left.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.control_api.flows import (
    WsClient,
    live_stream,
    snapshot,
    wait_released,
    watch_v1,
    watch_v2,
)
from tests.control_api.support import ADMIN, ApiServer, Node, wait_until
from tests.support.viewer import Viewer


async def test_rest_v2_viewer_end_to_end(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    assert stream["node_id"] == node.node_id and stream["producer_id"]
    baseline = snapshot(await node.dump())
    token = await api.user("vic", "viewer")
    async with api.client(token) as c:
        watch = await watch_v2(c, stream["id"], "vic-player")
        try:
            frames = await watch.viewer.frames(10)
            assert len(frames) == 10 and frames[0].width > 0
            assert watch.connect_statuses == [204]
            assert watch.consume["connected"] is False and watch.consume["paused"] is False
            assert watch.consume["rtp_parameters"]["codecs"][0]["mimeType"].lower() == "video/vp8"

            async def connected() -> dict | None:
                body = (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).json()
                return body if body["state"] == "connected" else None

            info = await wait_until(connected, 10)
            assert info["stream_id"] == stream["id"]
            assert info["transport_id"] == watch.transport_id
            assert info["client_id"] == "vic-player" and info["closed_reason"] is None
            assert info["stats"]["packets_sent"] > 0
            assert (await c.get(f"/api/v2/streams/{stream['id']}")).json()["consumer_count"] == 1
            dump = await node.dump()
            assert [t.id for t in dump.transports if t.client_id == "vic-player"] == [
                watch.transport_id
            ]
        finally:
            deleted = await c.delete(f"/api/v2/consumers/{watch.consumer_id}")
            await watch.viewer.close()
        assert deleted.status_code == 204
        await wait_released(node, "vic-player", baseline)
        assert (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404
        assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 404
        assert (await c.get(f"/api/v2/streams/{stream['id']}")).json()["consumer_count"] == 0


async def test_v1_websocket_viewer_end_to_end(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    baseline = snapshot(await node.dump())
    token = await api.user("wes", "viewer")
    ws = await WsClient.connect(f"{api.ws_url}?token={token}&clientId=wes-player")
    try:
        watch = await watch_v1(ws, stream["id"])
        frames = await watch.viewer.frames(10)
        assert len(frames) == 10
        dump = await node.dump()
        assert [c.id for c in dump.consumers if c.client_id == "wes-player"] == [
            watch.consumer["id"]
        ]
        # The same consumer through REST V2, since it is the same user's.
        async with api.client(token) as c:
            info = (await c.get(f"/api/v2/consumers/{watch.consumer['id']}")).json()
        assert info["paused"] is False and info["state"] in ("connecting", "connected")
        # Closing the socket alone releases everything it created. The viewer stays
        # connected meanwhile: were it to hang up first, the node would report the
        # consumer closed by itself, which stays readable for 60 s by contract.
        await ws.close()
        await wait_released(node, "wes-player", baseline)
    finally:
        await ws.close()
        await watch.viewer.close()
    async with api.client(token) as c:
        r = await c.get(f"/api/v2/consumers/{watch.consumer['id']}")
        assert r.status_code == 404
        assert (await c.get(f"/api/v2/streams/{stream['id']}")).json()["consumer_count"] == 0


async def test_v1_close_consumer_releases_at_once(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    baseline = snapshot(await node.dump())
    token = await api.user("cleo", "viewer")
    ws = await WsClient.connect(
        f"{api.ws_url}?clientId=cleo", additional_headers={"authorization": f"Bearer {token}"}
    )
    try:
        watch = await watch_v1(ws, stream["id"])
        await watch.viewer.frames(3)
        assert await ws.call("closeConsumer", {"consumerId": watch.consumer["id"]}) == {}
        await wait_released(node, "cleo", baseline)
        answer = await ws.request("resume", {"consumerId": watch.consumer["id"]})
        assert answer["error"]["code"] == "not_found"
    finally:
        await ws.close()
        await watch.viewer.close()


async def test_many_viewers_at_once_leave_nothing_behind(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    baseline = snapshot(await node.dump())
    token = await api.user("crowd", "viewer")
    async with api.client(token) as c:
        watches = await asyncio.gather(*(watch_v2(c, stream["id"], f"crowd-{i}") for i in range(4)))
        try:
            await asyncio.gather(*(w.viewer.frames(3) for w in watches))
            listed = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
            assert listed["consumer_count"] == 4
        finally:
            for w in watches:
                assert (await c.delete(f"/api/v2/consumers/{w.consumer_id}")).status_code == 204
                await w.viewer.close()
    for i in range(4):
        await wait_released(node, f"crowd-{i}", baseline)


async def test_paused_consumer_plays_after_resume(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    token = await api.user("paula", "viewer")
    async with api.client(token) as c:
        viewer = Viewer()
        caps_body = (await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")).json()
        caps = await viewer.load(caps_body["rtp_capabilities"])
        r = await c.post(
            f"/api/v2/streams/{stream['id']}/consume",
            json={"client_id": "paula", "rtp_capabilities": caps, "paused": True},
        )
        assert r.status_code == 201 and r.json()["paused"] is True
        consumed = r.json()
        t = consumed["transport"]

        async def connect(dtls: dict) -> None:
            await c.post(f"/api/v2/transports/{t['id']}/connect", json={"dtls_parameters": dtls})

        viewer.create_transport(
            {
                "id": t["id"],
                "iceParameters": t["ice_parameters"],
                "iceCandidates": t["ice_candidates"],
                "dtlsParameters": t["dtls_parameters"],
            },
            on_connect=connect,
        )
        await viewer.consume(
            {
                "id": consumed["consumer_id"],
                "producerId": consumed["producer_id"],
                "kind": consumed["kind"],
                "rtpParameters": consumed["rtp_parameters"],
            }
        )
        try:
            with pytest.raises(TimeoutError):
                await viewer.frames(1, within=1.5)
            assert (await c.get(f"/api/v2/consumers/{consumed['consumer_id']}")).json()["paused"]
            r = await c.post(f"/api/v2/consumers/{consumed['consumer_id']}/resume")
            assert r.status_code == 204
            assert len(await viewer.frames(3)) == 3
            info = (await c.get(f"/api/v2/consumers/{consumed['consumer_id']}")).json()
            assert info["paused"] is False
        finally:
            await c.delete(f"/api/v2/consumers/{consumed['consumer_id']}")
            await viewer.close()
