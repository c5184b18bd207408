"""Limits on real processes: consumers per user (across replicas), consume rate,
transports per V1 socket, and the login throttle (per username+address, no argon2
while throttled, X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.control_api.api_process import ApiProcess, api_env, api_process
from tests.control_api.flows import WsClient, live_stream
from tests.control_api.support import ADMIN, Node, start_node


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(tmp_path)
    try:
        yield n
    finally:
        await n.stop()


async def _consume(api: ApiProcess, token: str, stream_id: str, client_id: str) -> httpx.Response:
    async with api.client(token) as c:
        caps = (await c.get(f"/api/v2/streams/{stream_id}/router-capabilities")).json()
        body = {"client_id": client_id, "rtp_capabilities": caps["rtp_capabilities"]}
        return await c.post(f"/api/v2/streams/{stream_id}/consume", json=body)


def _assert_quota(r: httpx.Response, detail_has: str) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == "quota_exceeded" and set(body) == {"detail", "code"}, body
    assert detail_has in body["detail"], body


async def test_consumer_limits_hold_across_replicas(
    db_url: str, node: Node, tmp_path: Path
) -> None:
    base = api_env(db_url, VASMS_MEDIA_NODES=node.address, VASMS_NODE_TOKEN=node.token)
    # Replica A: default consumer limit (20) and rate; replica B: a strict consume rate.
    env_a = dict(base, VASMS_MAX_TRANSPORTS_PER_SOCKET="3")
    env_b = dict(base, VASMS_CONSUME_BURST_PER_USER="2", VASMS_CONSUME_RATE_PER_USER_S="0.01")
    async with api_process(env_a, tmp_path) as a, api_process(env_b, tmp_path) as b:
        admin = await a.token(*ADMIN)
        stream = await live_stream(a, admin)  # type: ignore[arg-type]
        sid = stream["id"]
        for name in ("ann", "bea", "cid", "dot"):
            await a.user(name, "viewer", f"{name}-password")
        ann, bea, cid, dot = [
            await a.token(n, f"{n}-password") for n in ("ann", "bea", "cid", "dot")
        ]

        # 20 consumes by one viewer work; the 21st is refused, on either replica
        # (the count is read from the shared database).
        ids = []
        for i in range(20):
            r = await _consume(a, ann, sid, f"ann-{i}")
            assert r.status_code == 201, (i, r.text)
            ids.append(r.json()["consumer_id"])
        _assert_quota(await _consume(a, ann, sid, "ann-20"), "20 open consumers")
        _assert_quota(await _consume(b, ann, sid, "ann-20b"), "20 open consumers")
        # Another user still consumes meanwhile.
        r = await _consume(a, bea, sid, "bea-0")
        assert r.status_code == 201, r.text
        # Releasing one makes room again.
        async with a.client(ann) as c:
            assert (await c.delete(f"/api/v2/consumers/{ids.pop()}")).status_code == 204
        assert (await _consume(a, ann, sid, "ann-again")).status_code == 201
        # The node holds exactly what was granted: 20 of ann's, 1 of bea's.
        dump = await node.dump()
        held = [c.client_id for c in dump.consumers]
        assert sum(1 for cid_ in held if cid_.startswith("ann-")) == 20
        assert sum(1 for cid_ in held if cid_.startswith("bea-")) == 1

        # Consume rate (replica B: burst 2, then 1 per 100 s): 429 with Retry-After.
        assert (await _consume(b, cid, sid, "cid-0")).status_code == 201
        assert (await _consume(b, cid, sid, "cid-1")).status_code == 201
        r = await _consume(b, cid, sid, "cid-2")
        _assert_quota(r, "consume rate")
        assert 1 <= int(r.headers["retry-after"]) <= 100
        # The rate is per user: another viewer is not slowed down.
        assert (await _consume(b, dot, sid, "dot-0")).status_code == 201

        # Transports per V1 socket (replica A: 3).
        ws = await WsClient.connect(f"{a.ws_url}?token={dot}&clientId=dot-ws")
        try:
            for _ in range(3):
                await ws.call("createWebRtcTransport", {"streamId": sid})
            answer: dict[str, Any] = await ws.request("createWebRtcTransport", {"streamId": sid})
            assert not answer["ok"] and answer["error"]["code"] == "quota_exceeded", answer
            assert "3 transports per WebSocket" in answer["error"]["detail"]
        finally:
            await ws.close()

        # Counted in /metrics, by limit.
        for api, limit, at_least in (
            (a, "consumers_per_user", 1),
            (b, "consumers_per_user", 1),
            (b, "consume_rate", 1),
            (a, "transports_per_socket", 1),
        ):
            value = await api.metric(f'vasms_quota_rejections_total{{limit="{limit}"}}')
            assert value >= at_least, (limit, value)


async def _login(
    api: ApiProcess, username: str, password: str, source: str, **headers: str
) -> httpx.Response:
    async with api.client(source=source) as c:
        body = {"username": username, "password": password}
        return await c.post("/api/v2/auth/token", json=body, headers=headers)


async def test_login_throttle(tmp_path: Path) -> None:
    env = api_env(f"sqlite+aiosqlite:///{tmp_path / 'vasms.db'}", VASMS_TRUSTED_PROXIES="127.0.0.5")
    async with api_process(env, tmp_path) as api:
        await api.user("eve", "viewer", "eve-password")
        # Five wrong passwords from 127.0.0.2: 401 each.
        for _ in range(5):
            r = await _login(api, "eve", "guess", "127.0.0.2")
            assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
        checks = await api.metric("vasms_password_checks_total")
        # The 6th is refused before any password hashing, even with the right password.
        for password in ("guess", "eve-password"):
            r = await _login(api, "eve", password, "127.0.0.2")
            assert r.status_code == 429, r.text
            assert r.json()["code"] == "login_throttled" and set(r.json()) == {"detail", "code"}
            assert 1 <= int(r.headers["retry-after"]) <= 60
        assert await api.metric("vasms_password_checks_total") == checks  # no argon2 spent
        assert await api.metric('vasms_logins_total{result="throttled"}') == 2
        # The right password from another address still works.
        assert (await _login(api, "eve", "eve-password", "127.0.0.3")).status_code == 200
        # X-Forwarded-For from an untrusted peer is ignored: still 127.0.0.2's count.
        spoofed = await _login(
            api, "eve", "eve-password", "127.0.0.2", **{"X-Forwarded-For": "10.9.8.7"}
        )
        assert spoofed.status_code == 429
        # From a trusted proxy it names the client: that client has its own count.
        for _ in range(5):
            r = await _login(api, "eve", "guess", "127.0.0.5", **{"X-Forwarded-For": "10.1.1.1"})
            assert r.status_code == 401
        r = await _login(api, "eve", "eve-password", "127.0.0.5", **{"X-Forwarded-For": "10.1.1.1"})
        assert r.status_code == 429
        r = await _login(api, "eve", "eve-password", "127.0.0.5", **{"X-Forwarded-For": "10.2.2.2"})
        assert r.status_code == 200, r.text
        # Unknown usernames are throttled the same way (no hint which names exist).
        for _ in range(5):
            assert (await _login(api, "nobody", "x", "127.0.0.6")).status_code == 401
        assert (await _login(api, "nobody", "x", "127.0.0.6")).status_code == 429


async def test_password_change_is_throttled(tmp_path: Path) -> None:
    env = api_env(f"sqlite+aiosqlite:///{tmp_path / 'vasms.db'}")
    async with api_process(env, tmp_path) as api:
        await api.user("fay", "viewer", "fay-password")
        token = await api.token("fay", "fay-password", source="127.0.0.7")
        async with api.client(token, source="127.0.0.7") as c:
            body = {"current_password": "wrong", "new_password": "fay-password-2"}
            for _ in range(5):
                r = await c.post("/api/v2/users/me/password", json=body)
                assert r.status_code == 403, r.text
            right = {"current_password": "fay-password", "new_password": "fay-password-2"}
            r = await c.post("/api/v2/users/me/password", json=right)
            assert r.status_code == 429 and "retry-after" in r.headers
        assert (await _login(api, "fay", "fay-password", "127.0.0.8")).status_code == 200
