"""Viewer flows over the public APIs only (REST V2, V1 WebSocket), and node snapshots."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from protos import media_node_pb2 as pb
from tests.control_api.support import ApiServer, Node, wait_until
from tests.support.viewer import Viewer

TEST_PATTERN = {"name": "pattern", "source": {"type": "test_pattern"}}


async def live_stream(api: ApiServer, token: str, body: dict | None = None) -> dict[str, Any]:
    """Creates and starts a stream; returns it once the API reports it live."""
    async with api.client(token) as c:
        r = await c.post("/api/v2/streams", json=body or TEST_PATTERN)
        assert r.status_code == 201, r.text
        stream = r.json()
        r = await c.post(f"/api/v2/streams/{stream['id']}/start")
        assert r.status_code == 200, r.text
        assert r.json()["status"] in ("starting", "live")
    return await wait_status(api, token, stream["id"], "live")


async def wait_status(
    api: ApiServer, token: str, stream_id: str, status: str, within: float = 30.0
) -> dict[str, Any]:
    async with api.client(token) as c:

        async def reached() -> dict[str, Any] | None:
            body = (await c.get(f"/api/v2/streams/{stream_id}")).json()
            return body if body["status"] == status else None

        return await wait_until(reached, within)


@dataclass
class V2Watch:
    viewer: Viewer
    consume: dict[str, Any]
    connect_statuses: list[int] = field(default_factory=list)

    @property
    def consumer_id(self) -> str:
        return str(self.consume["consumer_id"])

    @property
    def transport_id(self) -> str:
        return str(self.consume["transport"]["id"])


async def watch_v2(c: httpx.AsyncClient, stream_id: str, client_id: str) -> V2Watch:
    """token → capabilities → consume → (connect from the transport's event) → consumer."""
    viewer = Viewer()
    r = await c.get(f"/api/v2/streams/{stream_id}/router-capabilities")
    assert r.status_code == 200, r.text
    caps = await viewer.load(r.json()["rtp_capabilities"])
    r = await c.post(
        f"/api/v2/streams/{stream_id}/consume",
        json={"client_id": client_id, "rtp_capabilities": caps},
    )
    assert r.status_code == 201, r.text
    watch = V2Watch(viewer, r.json())
    t = watch.consume["transport"]

    async def connect(dtls: dict[str, Any]) -> None:
        resp = await c.post(f"/api/v2/transports/{t['id']}/connect", json={"dtls_parameters": dtls})
        watch.connect_statuses.append(resp.status_code)

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
            "id": watch.consume["consumer_id"],
            "producerId": watch.consume["producer_id"],
            "kind": watch.consume["kind"],
            "rtpParameters": watch.consume["rtp_parameters"],
        }
    )
    return watch


class WsClient:
    """A V1 WebSocket client: `await request(method, data)` → answer message."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> WsClient:
        return cls(await websockets.connect(url, max_size=2**22, **kwargs))

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            future = self.waiting.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)

    async def send_raw(self, raw: str, msg_id: Any = None) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = future
        await self.socket.send(raw)
        return await asyncio.wait_for(future, 30)

    async def request(self, method: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        msg_id = next(self.ids)
        raw = json.dumps({"id": msg_id, "method": method, "data": data or {}})
        return await self.send_raw(raw, msg_id)

    async def call(self, method: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self.request(method, data)
        assert answer["ok"], answer
        return dict(answer["data"])

    async def close(self) -> None:
        await self.socket.close()
        self.reader.cancel()


@dataclass
class V1Watch:
    viewer: Viewer
    transport: dict[str, Any]
    consumer: dict[str, Any]


async def watch_v1(ws: WsClient, stream_id: str) -> V1Watch:
    viewer = Viewer()
    caps = await viewer.load(await ws.call("getRouterRtpCapabilities", {"streamId": stream_id}))
    transport = await ws.call("createWebRtcTransport", {"streamId": stream_id})
    assert set(transport) >= {"id", "iceParameters", "iceCandidates", "dtlsParameters"}

    async def connect(dtls: dict[str, Any]) -> None:
        await ws.call(
            "connectWebRtcTransport", {"transportId": transport["id"], "dtlsParameters": dtls}
        )

    viewer.create_transport(transport, on_connect=connect)
    consumer = await ws.call(
        "consume", {"transportId": transport["id"], "streamId": stream_id, "rtpCapabilities": caps}
    )
    assert set(consumer) == {"id", "producerId", "kind", "rtpParameters"}
    await viewer.consume(consumer)
    return V1Watch(viewer, transport, consumer)


# ---------------------------------------------------------------------------
# What the node holds


def snapshot(dump: pb.NodeDump) -> dict[str, Any]:
    """The parts of a Dump a request must not change (ids and counts, not ICE timers)."""
    return {
        "streams": sorted((s.stream_id, s.status) for s in dump.streams),
        "transports": sorted(t.id for t in dump.transports),
        "consumers": sorted(c.id for c in dump.consumers),
        "worker_transports": sum(w.worker_transports for w in dump.workers),
        "worker_consumers": sum(w.worker_consumers for w in dump.workers),
    }


def held_for(dump: pb.NodeDump, client_id: str) -> list[str]:
    """Transports and consumers the node still holds for one viewer."""
    return [f"transport {t.id}" for t in dump.transports if t.client_id == client_id] + [
        f"consumer {c.id}" for c in dump.consumers if c.client_id == client_id
    ]


async def wait_released(
    node: Node, client_id: str, baseline: dict[str, Any], within: float = 10.0
) -> pb.NodeDump:
    """Waits until the node holds nothing for `client_id` and is back at `baseline`,
    also in the worker's own counts (the ground truth for leaks)."""
    last: list[Any] = [None]

    async def released() -> pb.NodeDump | None:
        dump = await node.dump()
        last[0] = (held_for(dump, client_id), snapshot(dump))
        if held_for(dump, client_id) or snapshot(dump) != baseline:
            return None
        return dump

    try:
        return await wait_until(released, within, interval=0.2)
    except TimeoutError:
        raise AssertionError(f"node still holds {last[0]} (baseline {baseline})") from None
