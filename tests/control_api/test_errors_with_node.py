"""Every error case of the contract against a real node: status, JSON body, and the
node's Dump identical before and after (a refused request changes nothing)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.control_api.flows import (
    WsClient,
    live_stream,
    snapshot,
    wait_released,
    watch_v2,
)
from tests.control_api.support import ADMIN, ApiServer, Node
from tests.control_api.test_auth_and_errors import assert_error
from tests.support.viewer import Viewer

FAKE_DTLS = {
    "role": "client",
    "fingerprints": [{"algorithm": "sha-256", "value": ":".join(["ab"] * 32)}],
}
OPUS_ONLY = {
    "codecs": [
        {
            "kind": "audio",
            "mimeType": "audio/opus",
            "clockRate": 48000,
            "channels": 2,
            "preferredPayloadType": 100,
            "rtcpFeedback": [],
        }
    ],
    "headerExtensions": [],
}


@contextlib.asynccontextmanager
async def unchanged(node: Node) -> AsyncIterator[None]:
    before = snapshot(await node.dump())
    yield
    assert snapshot(await node.dump()) == before


async def viewer_caps(c: httpx.AsyncClient, stream_id: str) -> dict[str, Any]:
    r = await c.get(f"/api/v2/streams/{stream_id}/router-capabilities")
    assert r.status_code == 200
    caps = r.json()["rtp_capabilities"]
    assert set(caps) >= {"codecs", "headerExtensions", "fecMechanisms"}
    return await Viewer().load(caps)


async def test_consume_errors_change_nothing(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    token = await api.user("eve", "viewer")
    url = f"/api/v2/streams/{stream['id']}/consume"
    async with api.client(token) as c:
        caps = await viewer_caps(c, stream["id"])
        async with unchanged(node):
            assert_error(
                await c.post(url, json={"client_id": "x", "rtp_capabilities": OPUS_ONLY}),
                422,
                "cannot_consume",
            )
            assert_error(await c.post(url, json={"rtp_capabilities": caps}), 422, "invalid_request")
            bad_dtls = {
                "client_id": "x",
                "rtp_capabilities": caps,
                "dtls_parameters": {"fingerprints": [{"algorithm": "md5", "value": "x"}]},
            }
            assert_error(await c.post(url, json=bad_dtls), 422, "invalid_request")
            big = {"client_id": "x", "rtp_capabilities": {**caps, "pad": "p" * 70_000}}
            assert_error(await c.post(url, json=big), 413, "payload_too_large")
            r = await c.post(
                url,
                json={"client_id": "x", "rtp_capabilities": caps},
                headers={"authorization": "Bearer nope"},
            )
            assert_error(r, 401, "unauthorized")
            r = await c.post(
                "/api/v2/streams/3c1e0f0e-0000-4000-8000-000000000000/consume",
                json={"client_id": "x", "rtp_capabilities": caps},
            )
            assert_error(r, 404, "not_found")
            # 422 (malformed) is answered before 404 (unknown stream).
            r = await c.post("/api/v2/streams/unknown/consume", json={"client_id": "x"})
            assert_error(r, 422, "invalid_request")


async def test_dtls_in_consume_connects_at_once_and_connect_is_then_409(
    api: ApiServer, node: Node
) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    baseline = snapshot(await node.dump())
    token = await api.user("dora", "viewer")
    async with api.client(token) as c:
        caps = await viewer_caps(c, stream["id"])
        upper = {
            "role": "client",
            "fingerprints": [
                {"algorithm": "SHA-256", "value": FAKE_DTLS["fingerprints"][0]["value"].lower()}
            ],
        }
        r = await c.post(
            f"/api/v2/streams/{stream['id']}/consume",
            json={"client_id": "dora", "rtp_capabilities": caps, "dtls_parameters": upper},
        )
        assert r.status_code == 201, r.text
        consumed = r.json()
        assert consumed["connected"] is True
        info = (await c.get(f"/api/v2/consumers/{consumed['consumer_id']}")).json()
        assert info["state"] in ("connecting", "connected", "closed")
        async with unchanged(node):
            r = await c.post(
                f"/api/v2/transports/{consumed['transport']['id']}/connect",
                json={"dtls_parameters": FAKE_DTLS},
            )
            assert_error(r, 409, "already_connected")
            r = await c.post(
                f"/api/v2/transports/{consumed['transport']['id']}/connect",
                json={"dtls_parameters": {"role": "client"}},
            )
            assert_error(r, 422, "invalid_request")
        assert (await c.delete(f"/api/v2/consumers/{consumed['consumer_id']}")).status_code == 204
    await wait_released(node, "dora", baseline)


async def test_another_users_consumer_is_404_and_untouched(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    owner = await api.user("olive", "viewer")
    other = await api.user("mallory", "admin")  # even an admin does not see it
    owner_client = api.client(owner)
    watch = await watch_v2(owner_client, stream["id"], "olive")
    try:
        await watch.viewer.frames(2)
        async with api.client(other) as m, unchanged(node):
            cid, tid = watch.consumer_id, watch.transport_id
            assert_error(await m.get(f"/api/v2/consumers/{cid}"), 404, "not_found")
            assert_error(await m.delete(f"/api/v2/consumers/{cid}"), 404, "not_found")
            assert_error(await m.post(f"/api/v2/consumers/{cid}/resume"), 404, "not_found")
            r = await m.post(
                f"/api/v2/transports/{tid}/connect", json={"dtls_parameters": FAKE_DTLS}
            )
            assert_error(r, 404, "not_found")
        async with api.client(owner) as c:
            assert (await c.get(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 200
            assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 204
    finally:
        await watch.viewer.close()
        await owner_client.aclose()


async def test_not_live_and_running_conflicts(api: ApiServer, node: Node) -> None:
    admin = await api.token(*ADMIN)
    stream = await live_stream(api, admin)
    token = await api.user("nina", "viewer")
    async with api.client(token) as c:
        caps = await viewer_caps(c, stream["id"])
    async with api.client(admin) as a:
        # start on a live stream is a no-op answering the stream.
        r = await a.post(f"/api/v2/streams/{stream['id']}/start")
        assert r.status_code == 200 and r.json()["status"] == "live"
        assert_error(await a.delete(f"/api/v2/streams/{stream['id']}"), 409, "stream_running")
        r = await a.post(f"/api/v2/streams/{stream['id']}/stop")
        assert r.status_code == 200 and r.json()["status"] == "stopped"
        r = await a.post(f"/api/v2/streams/{stream['id']}/stop")  # no-op
        assert r.status_code == 200 and r.json()["status"] == "stopped"
    async with api.client(token) as c, unchanged(node):
        body = {"client_id": "nina", "rtp_capabilities": caps}
        r = await c.post(f"/api/v2/streams/{stream['id']}/consume", json=body)
        assert_error(r, 409, "stream_not_live")
        r = await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")
        assert_error(r, 409, "stream_not_live")
        # 422 for capabilities comes after 409 for the state.
        r = await c.post(
            f"/api/v2/streams/{stream['id']}/consume",
            json={"client_id": "nina", "rtp_capabilities": OPUS_ONLY},
        )
        assert_error(r, 409, "stream_not_live")
    async with api.client(admin) as a:
        assert (await a.delete(f"/api/v2/streams/{stream['id']}")).status_code == 204
        assert_error(await a.get(f"/api/v2/streams/{stream['id']}"), 404, "not_found")


async def test_v1_errors(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    token = await api.user("val", "viewer")
    for bad in ("", "?token=garbage"):
        try:
            ws = await WsClient.connect(api.ws_url + bad)
        except Exception as exc:  # refused at the handshake
            assert "403" in str(exc)
        else:
            await ws.close()
            raise AssertionError("socket without a valid token was accepted")
    ws = await WsClient.connect(f"{api.ws_url}?token={token}")
    try:
        async with unchanged(node):
            answer = await ws.send_raw("{not json")
            assert answer == {
                "id": None,
                "ok": False,
                "error": {"code": "invalid_request", "detail": "message is not JSON"},
            }
            checks = [
                ("nope", {}, "unknown_method"),
                ("getRouterRtpCapabilities", {}, "invalid_request"),
                ("getRouterRtpCapabilities", {"streamId": "unknown"}, "not_found"),
                ("createWebRtcTransport", {"streamId": "unknown"}, "not_found"),
                (
                    "connectWebRtcTransport",
                    {"transportId": "t", "dtlsParameters": FAKE_DTLS},
                    "not_found",
                ),
                (
                    "consume",
                    {
                        "transportId": "t",
                        "streamId": stream["id"],
                        "rtpCapabilities": {"codecs": []},
                    },
                    "not_found",
                ),
                (
                    "consume",
                    {
                        "transportId": "t",
                        "streamId": stream["id"],
                        "rtpCapabilities": {"codecs": "x"},
                    },
                    "invalid_request",
                ),
                ("resume", {"consumerId": "c"}, "not_found"),
                ("closeConsumer", {"consumerId": "c"}, "not_found"),
            ]
            for method, data, code in checks:
                answer = await ws.request(method, data)
                assert answer["ok"] is False and answer["error"]["code"] == code, (method, answer)
            answer = await ws.request("getRouterRtpCapabilities", {"streamId": "x" * 70_000})
            assert answer["error"]["code"] == "payload_too_large"
        caps = await Viewer().load(
            await ws.call("getRouterRtpCapabilities", {"streamId": stream["id"]})
        )
        transport = await ws.call("createWebRtcTransport", {"streamId": stream["id"]})
        async with unchanged(node):
            answer = await ws.request(
                "consume",
                {
                    "transportId": transport["id"],
                    "streamId": stream["id"],
                    "rtpCapabilities": OPUS_ONLY,
                },
            )
            assert answer["error"]["code"] == "cannot_consume"
        consumer = await ws.call(
            "consume",
            {"transportId": transport["id"], "streamId": stream["id"], "rtpCapabilities": caps},
        )
        answer = await ws.request(
            "consume",
            {"transportId": transport["id"], "streamId": stream["id"], "rtpCapabilities": caps},
        )
        assert answer["error"]["code"] == "already_consuming"
        await ws.call(
            "connectWebRtcTransport", {"transportId": transport["id"], "dtlsParameters": FAKE_DTLS}
        )
        answer = await ws.request(
            "connectWebRtcTransport", {"transportId": transport["id"], "dtlsParameters": FAKE_DTLS}
        )
        assert answer["error"]["code"] == "already_connected"
        assert await ws.call("resume", {"consumerId": consumer["id"]}) == {}
    finally:
        await ws.close()


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


WEIRD_CAPS = [
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "x": {"y": [1, None, True]}}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000}], "headerExtensions": [{"uri": 5}]},
    {"codecs": [{"mimeType": "", "clockRate": 1}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": -5}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "parameters": {"a": [1]}}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "rtcpFeedback": [{}]}]},
]
MALFORMED_CAPS = [
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 1e400}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": True}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "parameters": []}]},
    {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000, "rtcpFeedback": ["x"]}]},
    {"codecs": [], "deep": _deep(40)},
    {"codecs": [], "big": 10**400},
    {"codecs": [], "nan": float("nan")},
]


async def test_odd_inputs_never_yield_a_5xx(api: ApiServer, node: Node) -> None:
    stream = await live_stream(api, await api.token(*ADMIN))
    token = await api.user("fuzz", "viewer")
    url = f"/api/v2/streams/{stream['id']}/consume"
    async with api.client(token) as c:
        baseline = snapshot(await node.dump())
        for caps in WEIRD_CAPS:
            r = await c.post(url, json={"client_id": "fuzz", "rtp_capabilities": caps})
            assert r.status_code in (201, 422), (caps, r.text)
            if r.status_code == 201:
                await c.delete(f"/api/v2/consumers/{r.json()['consumer_id']}")
        for caps in MALFORMED_CAPS:  # Infinity is sent as JSON's non-standard literal
            body = json.dumps({"client_id": "fuzz", "rtp_capabilities": caps})
            r = await c.post(url, content=body, headers={"content-type": "application/json"})
            assert_error(r, 422, "invalid_request")
        deep = b'{"client_id": "x", "rtp_capabilities": ' + b"[" * 30000 + b"]" * 30000 + b"}"
        r = await c.post(url, content=deep, headers={"content-type": "application/json"})
        assert r.status_code in (413, 422), r.text
        r = await c.post(url, content=b"[" * 60000, headers={"content-type": "application/json"})
        assert_error(r, 422, "invalid_request")
        await wait_released(node, "fuzz", baseline)
    ws = await WsClient.connect(f"{api.ws_url}?token={token}")
    try:
        transport = await ws.call("createWebRtcTransport", {"streamId": stream["id"]})
        for caps in WEIRD_CAPS + MALFORMED_CAPS:
            answer = await ws.request(
                "consume",
                {"transportId": transport["id"], "streamId": stream["id"], "rtpCapabilities": caps},
            )
            assert answer["ok"] or answer["error"]["code"] in ("invalid_request", "cannot_consume")
            if answer["ok"]:
                break
        nested = "[" * 5000 + "]" * 5000
        answer = await ws.send_raw('{"id": 7, "method": "consume", "data": ' + nested + "}")
        assert answer["id"] is None and answer["error"]["code"] == "invalid_request"
    finally:
        await ws.close()
