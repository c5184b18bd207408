"""TURN credentials in consume answers (V2 `ice_servers`, V1 `iceServers`).

The credential scheme itself (coturn refusing expired and forged ones) is proven against
a real coturn in tests/e2e/test_nat.py; here: the HMAC against an independent
implementation (openssl), the settings checks, and the field in both protocols.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from pydantic import ValidationError

from control_api.config import secret_problems
from control_api.services.turn import ice_servers, turn_credential
from tests.control_api.flows import WsClient, live_stream
from tests.control_api.support import ADMIN, Node, make_settings, serve

URLS = "turn:10.0.0.1:3478?transport=udp,turns:10.0.0.1:443?transport=tcp"


def test_credential_matches_openssl_hmac() -> None:
    # `echo -n "1700000000:u-1" | openssl dgst -sha1 -hmac north-secret -binary | base64`
    cred = turn_credential("north-secret", "u-1", 1000, now=1_699_999_000)
    assert cred.username == "1700000000:u-1"
    assert cred.credential == "5DNFx33NonW7dVBLDZOhn1vX67o="
    assert cred.expires_at == 1_700_000_000


def test_ice_servers_from_settings() -> None:
    settings = make_settings(
        "sqlite+aiosqlite://", turn_urls=URLS, turn_secret="s3", turn_ttl_s=600
    )
    before = int(time.time())
    [server] = ice_servers(settings, "user-7")
    assert server["urls"] == [
        "turn:10.0.0.1:3478?transport=udp",
        "turns:10.0.0.1:443?transport=tcp",
    ]
    expiry, user = str(server["username"]).split(":")
    assert user == "user-7" and before + 600 <= int(expiry) <= int(time.time()) + 600
    digest = hmac.new(b"s3", str(server["username"]).encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(digest).decode()
    assert ice_servers(make_settings("sqlite+aiosqlite://"), "user-7") == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"turn_urls": URLS}, "VASMS_TURN_SECRET"),
        ({"turn_urls": "http://x:3478", "turn_secret": "s"}, "not a TURN/STUN URL"),
        ({"turn_urls": URLS, "turn_secret": "s", "turn_ttl_s": 5}, "turn_ttl_s"),
    ],
)
def test_bad_turn_settings_fail_at_start(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings("sqlite+aiosqlite://", **overrides)


async def test_consume_and_v1_transport_carry_ice_servers(db_url: str, node: Node) -> None:
    settings = make_settings(
        db_url, media_nodes=[node.address], node_token=node.token, turn_urls=URLS, turn_secret="s3"
    )
    async with serve(settings) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.user("tina", "viewer")
        async with api.client(token) as c:
            caps = (await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")).json()
            r = await c.post(
                f"/api/v2/streams/{stream['id']}/consume",
                json={"client_id": "tina-1", "rtp_capabilities": caps["rtp_capabilities"]},
            )
            assert r.status_code == 201, r.text
            [server] = r.json()["ice_servers"]
            me = (await c.get("/api/v2/users/me")).json()
            assert server["username"].endswith(f":{me['id']}")
            assert len(server["urls"]) == 2 and server["credential"]
            assert (await c.delete(f"/api/v2/consumers/{r.json()['consumer_id']}")).status_code
        ws = await WsClient.connect(f"{api.ws_url}?token={token}&clientId=tina-2")
        try:
            answer = await ws.request("createWebRtcTransport", {"streamId": stream["id"]})
            assert answer["ok"], answer
            [v1_server] = answer["data"]["iceServers"]
            assert v1_server["username"].endswith(f":{me['id']}")
            assert v1_server["urls"] == server["urls"]
        finally:
            await ws.close()

    # Without TURN the field is there, empty.
    plain = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
    async with serve(plain) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        async with api.client(await api.token(*ADMIN)) as c:
            caps = (await c.get(f"/api/v2/streams/{stream['id']}/router-capabilities")).json()
            r = await c.post(
                f"/api/v2/streams/{stream['id']}/consume",
                json={"client_id": "a-1", "rtp_capabilities": caps["rtp_capabilities"]},
            )
            assert r.status_code == 201 and r.json()["ice_servers"] == [], r.text


def test_weak_turn_secret_is_refused_at_start_and_empty_means_unset() -> None:
    weak = make_settings("sqlite+aiosqlite://", turn_urls=URLS, turn_secret="REPLACE-ME")
    assert "VASMS_TURN_SECRET is a placeholder" in secret_problems(weak)
    short = make_settings("sqlite+aiosqlite://", turn_urls=URLS, turn_secret="k3Yq9xZ")
    assert any("VASMS_TURN_SECRET is shorter" in p for p in secret_problems(short))
    strong = make_settings(
        "sqlite+aiosqlite://", turn_urls=URLS, turn_secret="x7" * 3 + "Qm9tz-4Kp2"
    )
    assert not any("TURN" in p for p in secret_problems(strong))
    assert make_settings("sqlite+aiosqlite://", turn_urls="", turn_secret="").turn_secret is None
    with pytest.raises(ValidationError, match="VASMS_TURN_SECRET"):
        make_settings("sqlite+aiosqlite://", turn_urls=URLS, turn_secret="")
