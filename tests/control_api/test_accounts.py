"""Account lifecycle on real processes: two control API replicas, one real media node.

Disabling a user or changing a password revokes its tokens at once on every
replica (REST 401) and closes its open V1 sockets within 5 s, on the replica
that made the change (at once) and on the other (periodic re-check).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.control_api.api_process import ApiProcess, api_env, api_process
from tests.control_api.flows import WsClient, held_for, live_stream
from tests.control_api.support import ADMIN, Node, start_node, wait_until


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(tmp_path)
    try:
        yield n
    finally:
        await n.stop()


@pytest.fixture
async def replicas(
    db_url: str, node: Node, tmp_path: Path
) -> AsyncIterator[tuple[ApiProcess, ApiProcess]]:
    env = api_env(db_url, VASMS_MEDIA_NODES=node.address, VASMS_NODE_TOKEN=node.token)
    async with api_process(env, tmp_path) as a, api_process(env, tmp_path) as b:
        yield a, b


async def _socket(api: ApiProcess, token: str, stream_id: str, client_id: str) -> WsClient:
    """A V1 socket holding one transport (and its paused consumer) on the node."""
    ws = await WsClient.connect(f"{api.ws_url}?token={token}&clientId={client_id}")
    await ws.call("createWebRtcTransport", {"streamId": stream_id})
    return ws


async def _closed_within(ws: WsClient, seconds: float) -> tuple[int | None, float]:
    """Waits for the server to close the socket; returns (close code, seconds it took)."""
    started = time.monotonic()
    await asyncio.wait_for(ws.socket.wait_closed(), seconds)
    took = time.monotonic() - started
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.reader  # ended by the close; collect its exception
    return ws.socket.close_code, took


async def _status(api: ApiProcess, token: str, path: str = "/api/v2/users/me") -> int:
    async with api.client(token) as c:
        return (await c.get(path)).status_code


async def test_disabling_revokes_tokens_and_closes_sockets_on_both_replicas(
    replicas: tuple[ApiProcess, ApiProcess], node: Node
) -> None:
    a, b = replicas
    admin = await a.token(*ADMIN)
    stream = await live_stream(a, admin)  # type: ignore[arg-type]
    vic_id = await a.user("vic", "viewer", "vic-password-1")
    await a.user("val", "viewer", "val-password-1")
    vic = await a.token("vic", "vic-password-1")
    val = await b.token("val", "val-password-1")

    on_a = await _socket(a, vic, stream["id"], "vic-a")
    on_b = await _socket(b, vic, stream["id"], "vic-b")
    other = await _socket(b, val, stream["id"], "val-b")
    async with a.client(vic) as c:
        caps = (await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")).json()
        body = {"client_id": "vic-rest", "rtp_capabilities": caps["rtp_capabilities"]}
        r = await c.post(f"/api/v2/streams/{stream['id']}/consume", json=body)
        assert r.status_code == 201, r.text
    dump = await node.dump()
    assert held_for(dump, "vic-a") and held_for(dump, "vic-b") and held_for(dump, "vic-rest")

    async with a.client(admin) as c:
        r = await c.patch(f"/api/v2/users/{vic_id}", json={"disabled": True})
        assert r.status_code == 200, r.text
        assert r.json()["disabled"] is True and r.json()["username"] == "vic"

    # REST: 401 at once, on both replicas.
    assert await _status(a, vic) == 401
    assert await _status(b, vic) == 401
    # V1: closed with 4401 within 5 s, on the replica that disabled and on the other one.
    code_a, took_a = await _closed_within(on_a, 5)
    code_b, took_b = await _closed_within(on_b, 5)
    print(f"socket closed after disable: same replica {took_a:.2f} s, other {took_b:.2f} s")
    assert code_a == 4401 and code_b == 4401
    # Their media is gone from the node (socket and REST consumers alike).
    await wait_until(
        lambda: _released(node, ("vic-a", "vic-b", "vic-rest")), within=20, interval=0.2
    )
    # Another user's socket is untouched.
    assert other.socket.close_code is None
    assert (await other.request("getRouterRtpCapabilities", {"streamId": stream["id"]}))["ok"]
    # A disabled user cannot sign in; enabling again does not revive old tokens.
    async with a.client() as c:
        r = await c.post(
            "/api/v2/auth/token", json={"username": "vic", "password": "vic-password-1"}
        )
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    async with a.client(admin) as c:
        r = await c.patch(f"/api/v2/users/{vic_id}", json={"disabled": False})
        assert r.status_code == 200 and r.json()["disabled"] is False
    assert await _status(b, vic) == 401
    fresh = await b.token("vic", "vic-password-1")
    assert await _status(a, fresh) == 200
    # A socket opened with a revoked token is refused at the handshake.
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{b.ws_url}?token={vic}")
    await other.close()


async def _released(node: Node, client_ids: tuple[str, ...]) -> bool:
    dump = await node.dump()
    return not any(held_for(dump, cid) for cid in client_ids)


async def test_password_change_revokes_older_tokens(
    replicas: tuple[ApiProcess, ApiProcess], node: Node
) -> None:
    a, b = replicas
    admin = await a.token(*ADMIN)
    stream = await live_stream(a, admin)  # type: ignore[arg-type]
    await a.user("pat", "viewer", "pat-password-1")
    old = await a.token("pat", "pat-password-1")
    other_session = await b.token("pat", "pat-password-1")
    ws = await _socket(b, other_session, stream["id"], "pat-b")

    async with a.client(old) as c:
        wrong = {"current_password": "not-my-password", "new_password": "pat-password-2"}
        r = await c.post("/api/v2/users/me/password", json=wrong)
        assert r.status_code == 403 and r.json()["code"] == "invalid_credentials"
        short = {"current_password": "pat-password-1", "new_password": "short"}
        r = await c.post("/api/v2/users/me/password", json=short)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"
        assert await _status(a, old) == 200  # refused changes revoke nothing
        ok = {"current_password": "pat-password-1", "new_password": "pat-password-2"}
        r = await c.post("/api/v2/users/me/password", json=ok)
        assert r.status_code == 200, r.text
        new = r.json()["access_token"]
        assert r.json()["token_type"] == "bearer"

    assert await _status(a, old) == 401
    assert await _status(b, other_session) == 401
    assert await _status(b, new) == 200
    code, took = await _closed_within(ws, 5)
    print(f"socket of another session closed {took:.2f} s after the password change")
    assert code == 4401
    async with b.client() as c:
        r = await c.post(
            "/api/v2/auth/token", json={"username": "pat", "password": "pat-password-1"}
        )
        assert r.status_code == 401
    await b.token("pat", "pat-password-2")


async def test_admin_changes_roles_and_deletes_users(
    replicas: tuple[ApiProcess, ApiProcess],
) -> None:
    a, b = replicas
    admin = await a.token(*ADMIN)
    rob_id = await a.user("rob", "viewer", "rob-password-1")
    rob = await a.token("rob", "rob-password-1")
    stream_body = {"name": "x", "source": {"type": "rtp"}}
    async with a.client(rob) as c:
        assert (await c.post("/api/v2/streams", json=stream_body)).status_code == 403
        r = await c.patch(f"/api/v2/users/{rob_id}", json={"role": "admin"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert (await c.delete(f"/api/v2/users/{rob_id}")).status_code == 403

    async with a.client(admin) as c:
        r = await c.patch(f"/api/v2/users/{rob_id}", json={"role": "operator"})
        assert r.status_code == 200 and r.json()["role"] == "operator"
        # Bad bodies and unknown ids change nothing.
        bad = await c.patch(f"/api/v2/users/{rob_id}", json={"role": "king"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
        extra = await c.patch(f"/api/v2/users/{rob_id}", json={"password": "x"})
        assert extra.status_code == 422
        missing = await c.patch("/api/v2/users/no-such-user", json={"disabled": True})
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    # The role applies at once, with the same token (roles are read per request).
    async with b.client(rob) as c:
        assert (await c.post("/api/v2/streams", json=stream_body)).status_code == 201

    async with a.client(admin) as c:
        me = (await c.get("/api/v2/users/me")).json()
        # The only admin cannot disable, demote or delete itself.
        for r in (
            await c.patch(f"/api/v2/users/{me['id']}", json={"disabled": True}),
            await c.patch(f"/api/v2/users/{me['id']}", json={"role": "viewer"}),
            await c.delete(f"/api/v2/users/{me['id']}"),
        ):
            assert r.status_code == 409 and r.json()["code"] == "last_admin", r.text
        assert (await c.delete(f"/api/v2/users/{rob_id}")).status_code == 204
        assert (await c.delete(f"/api/v2/users/{rob_id}")).status_code == 404
        users: list[dict[str, Any]] = (await c.get("/api/v2/users")).json()
    assert [u["username"] for u in users] == ["admin"]
    assert await _status(b, rob) == 401
    assert await _status(a, admin) == 200
