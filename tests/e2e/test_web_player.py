"""The browser player in a real headless Chromium against a real control API and media node.

The demo page (`make web`, served by the control API at `/`) signs in, lists the
streams, plays them side by side; the player's server-side footprint is checked
through the control API itself: its Prometheus request counters, its consumer
rows, its REST answers. Run with `-s` to see the measured time to first frame.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from sqlmodel import select

from control_api.models import Consumer
from tests.control_api.flows import live_stream, wait_status
from tests.control_api.support import ADMIN, ApiServer, Node, make_settings, serve, wait_until
from tests.e2e.browser import Browser
from tests.e2e.png import decode, picture_stats

CONNECT_ROUTE = "/api/v2/transports/{transport_id}/connect"
CONSUME_ROUTE = "/api/v2/streams/{stream_id}/consume"
CONSUMER_ROUTE = "/api/v2/consumers/{consumer_id}"
DEMO_STREAM = {"name": "demo", "source": {"type": "test_pattern"}}
HIDE_OVERLAYS = ".overlay, .close { visibility: hidden !important; }"
SAMPLE = re.compile(r"^(\w+)\{(.*)\}\s+(\S+)$")  # route labels hold braces themselves


def snapshot_js(index: int) -> str:
    return f"window.vasmsDemo.snapshot()[{index}]"


def all_playing_js(count: int) -> str:
    """Truthy (the snapshots) once `count` players show frames."""
    return (
        "(() => { const s = window.vasmsDemo?.snapshot() ?? [];"
        f" return s.length >= {count} && s.every(t => t.state === 'playing'"
        " && t.videoWidth > 0) ? s : null; })()"
    )


async def request_counts(api: ApiServer, route: str, method: str | None = None) -> dict[str, int]:
    """Requests the control API answered on `route`, by status, from its /metrics."""
    async with api.client() as c:
        text = (await c.get("/metrics")).text
    counts: dict[str, int] = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != "vasms_http_requests_total":
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if labels.get("route") != route or (method and labels.get("method") != method):
            continue
        counts[labels["status"]] = counts.get(labels["status"], 0) + int(float(m.group(3)))
    return counts


async def gauge(api: ApiServer, name: str) -> float:
    async with api.client() as c:
        text = (await c.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


async def assert_plays(
    browser: Browser, index: int, tmp_path: Path, min_colours: int = 20
) -> dict[str, Any]:
    """videoWidth > 0, currentTime and decoded frames advance over 3 s, the picture has detail.

    ``min_colours``: the demo's test pattern has 44-52 sampled colours; a camera's flat colour
    bars at a low bitrate have fewer (19 seen) — a black or frozen tile has 1 or 2."""
    before = await browser.eval(snapshot_js(index))
    assert before["state"] == "playing", before
    assert before["videoWidth"] > 0 and before["videoHeight"] > 0, before
    await asyncio.sleep(3)
    after = await browser.eval(snapshot_js(index))
    played = after["currentTime"] - before["currentTime"]
    frames = after["totalVideoFrames"] - before["totalVideoFrames"]
    print(
        f"  player {index}: {after['videoWidth']}x{after['videoHeight']}, "
        f"{played:.2f} s played and {frames} frames in 3 s, stats {json.dumps(after['stats'])}"
    )
    assert played > 2.0, (before, after)
    assert frames >= 30, (before, after)
    shot = await browser.screenshot(
        f".tile:nth-child({index + 1}) video", tmp_path / f"player-{index}.png", HIDE_OVERLAYS
    )
    pic = picture_stats(decode(shot))
    print(
        f"  screenshot {pic.width}x{pic.height}: {pic.distinct_colours} colours, "
        f"luma stdev {pic.luma_stdev:.1f}"
    )
    assert pic.distinct_colours > min_colours and pic.luma_stdev > 10, pic
    return dict(after)


def report_ttff(stats: dict[str, Any], label: str) -> None:
    print(
        f"\n  TIME TO FIRST FRAME ({label}): {stats['ttffMs']} ms from attach, "
        f"{stats['consumeToFirstFrameMs']} ms from consume "
        f"[{stats['protocol']}, DTLS {stats['dtls']}, {stats['codec']}]"
    )
    assert stats["ttffMs"] is not None and stats["ttffMs"] > 0, stats


async def consumer_rows(api: ApiServer) -> list[Consumer]:
    async with api.ctx.sessions() as session:
        return list((await session.exec(select(Consumer))).all())


def api_settings(db_url: str, node: Node, **overrides: Any) -> Any:
    return make_settings(db_url, media_nodes=[node.address], node_token=node.token, **overrides)


async def test_demo_page_signs_in_lists_streams_and_plays_side_by_side(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    async with serve(api_settings(db_url, node)) as api:
        admin = await api.token(*ADMIN)
        stream = await live_stream(api, admin, DEMO_STREAM)
        await api.user("vera", "viewer", "vera-password")
        print(f"\n  Chromium {await browser.version()}")

        await browser.goto(api.base_url + "/")
        await browser.fill("#username", "vera")
        await browser.fill("#password", "vera-password")
        await browser.click("#signin-button")
        row = f'#streams tr[data-stream-id="{stream["id"]}"][data-status="live"]'
        await browser.wait_for(f"document.querySelector('{row}')")
        assert await browser.eval("document.getElementById('session-user').textContent") == (
            "vera (viewer)"
        )
        # Click to play, twice: two players side by side.
        await browser.click(row)
        await browser.wait_for(all_playing_js(1), within=30)
        first = await browser.eval(snapshot_js(0) + ".stats")
        report_ttff(first, "demo page, first player")
        await browser.click(row)
        await browser.wait_for(all_playing_js(2), within=30)

        for index in (0, 1):
            await assert_plays(browser, index, tmp_path)
        # The overlay shows the stats.
        overlay = await browser.eval("document.querySelector('.tile .overlay').textContent")
        assert "640x360" in overlay and "fps" in overlay and "first frame" in overlay, overlay
        async with api.client(admin) as c:
            listed = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
        assert listed["consumer_count"] == 2, listed
        events = await browser.events()
        assert not events["pageErrors"], events["pageErrors"]


async def test_fingerprint_in_consume_makes_no_connect_request(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    async with serve(api_settings(db_url, node)) as api:
        admin = await api.token(*ADMIN)
        stream = await live_stream(api, admin, DEMO_STREAM)
        token = await api.user("fern", "viewer")
        assert await request_counts(api, CONNECT_ROUTE) == {}

        await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
        await browser.wait_for(all_playing_js(1), within=30)
        stats = await assert_plays(browser, 0, tmp_path)
        report_ttff(stats["stats"], "fingerprint in consume")

        s = stats["stats"]
        assert s["protocol"] == "v2" and s["dtls"] == "in-consume", s
        # The browser's DTLS certificate is the one announced in consume.
        assert s["certificateFingerprint"], s
        assert s["localFingerprint"] == s["certificateFingerprint"], s
        # Server side: one consume, no connect, and the consumer is connected.
        assert await request_counts(api, CONSUME_ROUTE, "POST") == {"201": 1}
        assert await request_counts(api, CONNECT_ROUTE) == {}
        async with api.client(token) as c:
            consumer = (await c.get(f"/api/v2/consumers/{s['consumerId']}")).json()
        assert consumer["state"] == "connected", consumer
        assert consumer["stats"]["packets_sent"] > 0, consumer
        # Client side agrees: the page never asked for /connect.
        events = await browser.events()
        assert not [r for r in events["requests"] if r.endswith("/connect")], events["requests"]


async def test_connect_call_when_the_certificate_is_not_pregenerated(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    """The path of browsers that cannot pre-generate: the transport's connect event calls
    /connect (forced here with the page's `dtls=connect` option)."""
    async with serve(api_settings(db_url, node)) as api:
        admin = await api.token(*ADMIN)
        stream = await live_stream(api, admin, DEMO_STREAM)
        token = await api.user("carl", "viewer")

        await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}&dtls=connect")
        await browser.wait_for(all_playing_js(1), within=30)
        stats = await assert_plays(browser, 0, tmp_path)
        report_ttff(stats["stats"], "/connect call")
        assert stats["stats"]["dtls"] == "connect-call", stats
        assert await request_counts(api, CONNECT_ROUTE, "POST") == {"204": 1}


async def test_v1_websocket_plays_when_v2_is_disabled(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    """Two replicas on one database: an operator's (V2 on) and the viewers' (V2 off)."""
    async with (
        serve(api_settings(db_url, node)) as ops,
        serve(api_settings(db_url, node, enable_v2=False)) as api,
    ):
        admin = await ops.token(*ADMIN)
        stream = await live_stream(ops, admin, DEMO_STREAM)
        token = await ops.user("vlad", "viewer")
        async with api.client(token) as c:
            r = await c.get(f"/api/v2/streams/{stream['id']}")
            assert r.status_code == 404 and r.json()["detail"] == "not found", r.text
            # Sign-in stays: V1 clients need a token (wrong credentials -> 401, not 404).
            r = await c.post("/api/v2/auth/token", json={"username": "x", "password": "y"})
            assert r.status_code == 401, r.text

        await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
        await browser.wait_for(all_playing_js(1), within=30)
        stats = await assert_plays(browser, 0, tmp_path)
        report_ttff(stats["stats"], "V1 WebSocket fallback")
        assert stats["stats"]["protocol"] == "v1", stats

        # The page itself knows V2 is off: no sign-in, token form, badge.
        assert await browser.eval("document.getElementById('v2-off').hidden") is False
        assert await browser.eval("document.getElementById('api-status').textContent") == (
            "V1 WebSocket only"
        )
        # The WebSocket was used: the browser opened it, the replica counts it open,
        # and the consumer row was made by V1.
        events = await browser.events()
        assert [u for u in events["websockets"] if "/api/v1/ws" in u], events["websockets"]
        assert not [r for r in events["requests"] if r.endswith("/consume")], events["requests"]
        assert await gauge(api, "vasms_ws_connections") == 1
        rows = [r for r in await consumer_rows(api) if r.state != "closed"]
        assert [r.origin for r in rows] == ["v1"], rows
        assert await request_counts(api, CONSUME_ROUTE) == {}


async def test_pagehide_detaches_the_consumer(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    async with serve(api_settings(db_url, node)) as api:
        admin = await api.token(*ADMIN)
        stream = await live_stream(api, admin, DEMO_STREAM)
        token = await api.user("paul", "viewer")
        await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
        await browser.wait_for(all_playing_js(1), within=30)
        consumer_id = await browser.eval(snapshot_js(0) + ".stats.consumerId")

        await browser.goto("about:blank")  # pagehide → keepalive DELETE

        async def deleted() -> bool:
            return (await request_counts(api, CONSUMER_ROUTE, "DELETE")).get("204", 0) == 1

        await wait_until(deleted, within=10)
        async with api.client(token) as c:
            r = await c.get(f"/api/v2/consumers/{consumer_id}")
        assert r.status_code == 404, r.text
        async with api.client(admin) as c:
            listed = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
        assert listed["consumer_count"] == 0, listed


async def test_player_reattaches_when_the_stream_comes_back(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    async with serve(api_settings(db_url, node)) as api:
        admin = await api.token(*ADMIN)
        stream = await live_stream(api, admin, DEMO_STREAM)
        token = await api.user("rosa", "viewer")
        await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
        await browser.wait_for(all_playing_js(1), within=30)
        first = await browser.eval(snapshot_js(0) + ".stats.consumerId")

        async with api.client(admin) as c:
            assert (await c.post(f"/api/v2/streams/{stream['id']}/stop")).status_code == 200
        state = await browser.wait_for(
            f"['waiting', 'reconnecting'].includes({snapshot_js(0)}.state)"
            f" && {snapshot_js(0)}.state",
            within=20,
        )
        reason = await browser.eval(snapshot_js(0) + ".stats.lastError")
        print(f"\n  after stop the player is {state}: {reason}")
        async with api.client(admin) as c:
            assert (await c.post(f"/api/v2/streams/{stream['id']}/start")).status_code == 200
        await wait_status(api, admin, stream["id"], "live")
        await browser.wait_for(
            f"{snapshot_js(0)}.state === 'playing' && {snapshot_js(0)}.stats.consumerId !== "
            f"'{first}'",
            within=40,
        )
        stats = await assert_plays(browser, 0, tmp_path)
        assert stats["stats"]["reconnects"] >= 1, stats
        report_ttff(stats["stats"], "after the stream came back")
