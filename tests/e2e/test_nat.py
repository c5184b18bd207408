"""Viewers behind NAT and firewalls: TURN through a real coturn, in network namespaces.

Layout (tests/support/netns.py; everything here runs as root, on addresses of its own):

    root namespace: media node (WebRTC on SERVER:20000-20199 UDP/TCP, gRPC on loopback),
                    coturn (SERVER:3478 UDP/TCP, TLS on SERVER:443, relays from
                    SERVER:20200-20399), control API (SERVER:free port)
    router namespace: MASQUERADE towards the server + the test's firewall rules, random
                    loss (iptables statistic) and rate cap (tc tbf) towards the viewer
    viewer namespace: headless Chromium (demo page) and aiortc (vasms-watch)

SERVER is 10.201.N.1 with N picked free on this machine; the viewer's only route goes
through the router, which has no default route: no packet can leave the test's own
addresses. The namespaces (and so every rule, qdisc and veth) are deleted in `finally`.

Firewalls: "ports blocked" drops UDP and TCP to the node's RTC range (a corporate
network that allows only well-known ports); "UDP blocked" drops every UDP packet;
"TLS only" also drops TCP 3478, so only TURN over TLS on 443 gets through. Chromium
trusts coturn's self-signed certificate through --ignore-certificate-errors, aiortc
through SSL_CERT_FILE. Run with -s for the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from control_api.services.turn import turn_credential
from protos import media_node_pb2 as pb
from tests.control_api.flows import live_stream
from tests.control_api.support import ADMIN, ApiServer, Node, make_settings, serve, start_node
from tests.e2e.browser import Browser
from tests.support.coturn import Coturn, coturn
from tests.support.netns import NatLab, missing_tools, nat_lab

REPO = Path(__file__).resolve().parents[2]
RTC_PORTS = (20000, 20199)
RELAY_PORTS = (20200, 20399)
ICE_TIMEOUT_S = 10
RATE = "200kbit"  # the test pattern sends ~100 kbit/s on average, key frames in bursts
SECRET = "nat-test-" + secrets.token_hex(8)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(autouse=True)
def _root_and_tools() -> None:
    reason = missing_tools()
    if reason:
        pytest.fail(f"NAT tests cannot run: {reason}")


@pytest.fixture
async def lab() -> AsyncIterator[NatLab]:
    async with nat_lab() as built:
        yield built


@pytest.fixture
async def turn(lab: NatLab, tmp_path: Path) -> AsyncIterator[Coturn]:
    async with coturn(tmp_path, lab.server_ip, SECRET, relay_ports=RELAY_PORTS) as server:
        yield server


@pytest.fixture
async def nat_node(lab: NatLab, tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(
        tmp_path,
        VASMS_RTC_LISTEN_IP=lab.server_ip,
        VASMS_RTC_MIN_PORT=str(RTC_PORTS[0]),
        VASMS_RTC_MAX_PORT=str(RTC_PORTS[1]),
    )
    try:
        yield n
    finally:
        await n.stop()


def api_settings(db_url: str, node: Node, turn: Coturn | None) -> Any:
    extra: dict[str, Any] = {}
    if turn is not None:
        extra = {"turn_urls": ",".join(turn.urls), "turn_secret": turn.secret}
    return make_settings(db_url, media_nodes=[node.address], node_token=node.token, **extra)


async def block_node_ports(lab: NatLab) -> None:
    for proto in ("udp", "tcp"):
        await lab.forward_drop(
            "-p", proto, "-d", lab.server_ip, "--dport", f"{RTC_PORTS[0]}:{RTC_PORTS[1]}"
        )


async def block_udp(lab: NatLab) -> None:
    await block_node_ports(lab)
    await lab.forward_drop("-p", "udp")


# ---------------------------------------------------------------------------
# The two viewers, each run inside the viewer namespace


def demo_state_js() -> str:
    return "window.vasmsDemo?.snapshot()?.[0] ?? null"


async def chromium_watch(
    lab: NatLab,
    api: ApiServer,
    tmp_path: Path,
    stream_id: str,
    token: str,
    *,
    relay: bool,
    protocol: str = "auto",
) -> dict[str, Any]:
    """The demo page in the viewer namespace; the first player's snapshot once it plays
    (with its ICE stats) or fails."""
    args = [
        f"--unsafely-treat-insecure-origin-as-secure={api.base_url}",
        "--ignore-certificate-errors",  # coturn's self-signed certificate on 443
    ]
    async with Browser.launch(tmp_path, prefix=lab.in_viewer(), chromium_args=args) as browser:
        query = "?relay=1" if relay else ""
        started = time.monotonic()
        fragment = f"token={token}&play={stream_id}&protocol={protocol}"
        await browser.goto(f"{api.base_url}/{query}#{fragment}")
        done = (
            "(() => { const t = window.vasmsDemo?.snapshot()?.[0];"
            " return t && (t.state === 'failed' || (t.state === 'playing' && t.videoWidth > 0"
            " && t.stats.candidateType)) ? t : null; })()"
        )
        snap = dict(await browser.wait_for(done, within=ICE_TIMEOUT_S * 3 + 30))
        snap["elapsed_s"] = round(time.monotonic() - started, 2)
        if snap["state"] == "playing":
            await asyncio.sleep(2)
            later = dict(await browser.eval(demo_state_js()))
            snap["frames_in_2s"] = later["totalVideoFrames"] - snap["totalVideoFrames"]
            snap["stats"] = later["stats"]
        return snap


async def sdk_watch(
    lab: NatLab, api: ApiServer, turn: Coturn | None, stream_id: str, token: str, *flags: str
) -> tuple[int, dict[str, Any]]:
    """vasms-watch (aiortc) in the viewer namespace: exit code and its JSON summary."""
    env = {**os.environ, "SSL_CERT_FILE": str(turn.ca_file) if turn else ""}
    cmd = lab.in_viewer(
        sys.executable, "-m", "vasms_client.cli", stream_id, "--url", api.base_url,
        "--token", token, "--json", "--quiet", "--frames", "60", "--timeout", "60",
        "--ice-timeout", str(ICE_TIMEOUT_S), *flags,
    )  # fmt: skip
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=REPO
    )
    async with asyncio.timeout(ICE_TIMEOUT_S * 4 + 60):
        out, err = await proc.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"no JSON from vasms-watch (exit {proc.returncode}):\n{err.decode()[-3000:]}"
    summary = dict(json.loads(lines[-1]))
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    assert proc.returncode is not None
    return proc.returncode, summary


def report(label: str, data: dict[str, Any]) -> None:
    keep = {
        k: data.get(k)
        for k in (
            "state",
            "exit_code",
            "elapsed_s",
            "frames",
            "frames_in_2s",
            "candidate_type",
            "ice_route",
            "error",
        )
        if k in data
    }
    stats = data.get("stats") or {}
    for k in ("candidateType", "relayProtocol", "fps", "bitrateKbps", "lastError", "turnUrls"):
        if k in stats:
            keep[k] = stats[k]
    print(f"\n  {label}: {json.dumps(keep)}")


# ---------------------------------------------------------------------------


async def test_without_turn_ice_fails_with_a_clear_error(
    lab: NatLab, nat_node: Node, db_url: str, tmp_path: Path
) -> None:
    await block_node_ports(lab)
    async with serve(api_settings(db_url, nat_node, None), host=lab.server_ip) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.token(*ADMIN)

        snap = await chromium_watch(lab, api, tmp_path, stream["id"], token, relay=False)
        report("Chromium, node ports blocked, no TURN", snap)
        assert snap["state"] == "failed", snap
        assert snap["stats"]["lastError"].startswith("ICE "), snap
        assert "no TURN server offered" in snap["stats"]["lastError"], snap
        assert snap["stats"]["turnUrls"] == []

        code, summary = await sdk_watch(lab, api, None, stream["id"], token)
        report("aiortc, node ports blocked, no TURN", summary)
        assert code == 5, summary
        assert summary["error"]["code"] == "ice_failed", summary
        assert summary["error"]["tried"] == ["direct"], summary
        assert "no TURN server offered" in summary["error"]["detail"]
    drops = await lab.forward_counters()
    assert any(packets > 0 for packets, _ in drops), drops  # the firewall really dropped


async def test_turn_udp_relays_when_the_node_ports_are_blocked(
    lab: NatLab, nat_node: Node, turn: Coturn, db_url: str, tmp_path: Path
) -> None:
    await block_node_ports(lab)
    async with serve(api_settings(db_url, nat_node, turn), host=lab.server_ip) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.token(*ADMIN)

        # Not forced: the browser finds by itself that only the relay works.
        snap = await chromium_watch(lab, api, tmp_path, stream["id"], token, relay=False)
        report("Chromium, node ports blocked, TURN offered", snap)
        assert snap["state"] == "playing", snap
        assert snap["stats"]["candidateType"] == "relay", snap
        assert snap["stats"]["relayProtocol"] == "udp", snap
        assert snap["frames_in_2s"] >= 20, snap

        # V1 WebSocket: iceServers of createWebRtcTransport, relay forced.
        snap = await chromium_watch(
            lab, api, tmp_path, stream["id"], token, relay=True, protocol="v1"
        )
        report("Chromium over V1, relay forced", snap)
        assert snap["state"] == "playing" and snap["stats"]["protocol"] == "v1", snap
        assert snap["stats"]["candidateType"] == "relay", snap

        code, summary = await sdk_watch(lab, api, turn, stream["id"], token)
        report("aiortc, node ports blocked, TURN offered", summary)
        assert code == 0, summary
        assert summary["frames"] == 60 and summary["candidate_type"] == "relay", summary
        assert summary["ice_route"] == turn.urls[0], summary  # UDP, the first route

        code, summary = await sdk_watch(lab, api, turn, stream["id"], token, "--relay")
        report("aiortc, relay forced", summary)
        assert code == 0 and summary["candidate_type"] == "relay", summary
    assert "allocation" in turn.log().lower(), turn.log()[-2000:]


async def test_turn_over_tcp_when_all_udp_is_dropped(
    lab: NatLab, nat_node: Node, turn: Coturn, db_url: str, tmp_path: Path
) -> None:
    await block_udp(lab)
    async with serve(api_settings(db_url, nat_node, turn), host=lab.server_ip) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.token(*ADMIN)

        snap = await chromium_watch(lab, api, tmp_path, stream["id"], token, relay=True)
        report("Chromium, all UDP dropped, relay", snap)
        assert snap["state"] == "playing", snap
        assert snap["stats"]["candidateType"] == "relay", snap
        assert snap["stats"]["relayProtocol"] in ("tcp", "tls"), snap

        # aiortc: the UDP route fails, the viewer moves on to TURN over TCP by itself.
        code, summary = await sdk_watch(lab, api, turn, stream["id"], token)
        report("aiortc, all UDP dropped (UDP route first, then TCP)", summary)
        assert code == 0, summary
        assert summary["candidate_type"] == "relay", summary
        assert summary["ice_route"] == turn.urls[1], summary


async def test_turn_over_tls_443_when_only_443_gets_through(
    lab: NatLab, nat_node: Node, turn: Coturn, db_url: str, tmp_path: Path
) -> None:
    await block_udp(lab)
    await lab.forward_drop("-p", "tcp", "--dport", str(turn.port))
    async with serve(api_settings(db_url, nat_node, turn), host=lab.server_ip) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.token(*ADMIN)

        snap = await chromium_watch(lab, api, tmp_path, stream["id"], token, relay=True)
        report("Chromium, only TCP 443 open, relay", snap)
        assert snap["state"] == "playing", snap
        assert snap["stats"]["candidateType"] == "relay", snap
        assert snap["stats"]["relayProtocol"] == "tls", snap

        code, summary = await sdk_watch(
            lab, api, turn, stream["id"], token, "--relay", "--turn-transport", "tls"
        )
        report("aiortc, only TCP 443 open, TURN over TLS", summary)
        assert code == 0, summary
        assert summary["candidate_type"] == "relay", summary
        assert summary["ice_route"] == turn.urls[2], summary


async def test_coturn_refuses_expired_and_forged_credentials(lab: NatLab, turn: Coturn) -> None:
    """coturn's own check of the control API's credentials: a real TURN Allocate."""

    async def allocate(username: str, password: str) -> tuple[str, int]:
        transport, _ = await create_turn_endpoint(
            asyncio.DatagramProtocol, (turn.ip, turn.port), username, password
        )
        try:
            return transport.get_extra_info("sockname")
        finally:
            transport.close()

    good = turn_credential(turn.secret, "user-1", 600)
    relayed = await allocate(good.username, good.credential)
    assert relayed[0] == turn.ip and RELAY_PORTS[0] <= relayed[1] <= RELAY_PORTS[1]

    expired = turn_credential(turn.secret, "user-1", 600, now=time.time() - 3600)
    forged = turn_credential("not-the-secret", "user-1", 600)
    for label, cred in (("expired", expired), ("forged", forged)):
        with pytest.raises(stun.TransactionFailed) as failed:
            await allocate(cred.username, cred.credential)
        code, reason = failed.value.response.attributes["ERROR-CODE"]
        print(f"\n  {label} credential: TURN error {code} {reason}")
        assert code == 401, (label, code, reason)
    # Someone else's user id with our HMAC does not pass either.
    with pytest.raises(stun.TransactionFailed):
        await allocate(good.username.replace("user-1", "user-2"), good.credential)


# ---------------------------------------------------------------------------
# Loss and a thin link on the viewer's side


# The browser's own receiver counters, read from the demo's first player (test-only reach
# into the player: its stats event has no NACK/PLI/freeze fields).
INBOUND_JS = """(async () => {
  const consumer = window.vasmsDemo.tiles[0].player.session.consumer;
  let found = null;
  (await consumer.getStats()).forEach((e) => { if (e.type === 'inbound-rtp') found = e; });
  const keep = ['packetsReceived', 'packetsLost', 'nackCount', 'pliCount', 'firCount',
    'retransmittedPacketsReceived', 'framesDecoded', 'framesDropped', 'freezeCount',
    'totalFreezesDuration', 'keyFramesDecoded'];
  return Object.fromEntries(keep.map((k) => [k, found?.[k] ?? null]));
})()"""


def consumer_figures(info: pb.ConsumerInfo) -> dict[str, Any]:
    s = info.stats
    return {
        "packets_sent": s.packets_sent,
        "packets_lost": s.packets_lost,
        "nack_count": s.nack_count,
        "nack_packet_count": s.nack_packet_count,
        "packets_retransmitted": s.packets_retransmitted,
        "pli_count": s.pli_count,
        "fir_count": s.fir_count,
        "rtt_ms": round(s.round_trip_time_ms, 1),
        "bitrate_bps": s.bitrate_bps,
        "score": s.score,
    }


async def test_loss_and_thin_link_are_repaired(
    lab: NatLab, nat_node: Node, db_url: str, tmp_path: Path
) -> None:
    """5 % of UDP towards the viewer dropped and the link capped (tbf) near the stream's
    rate; halfway, a 3 s drop-out. NACKs repair the random loss, PLIs the drop-out."""
    await lab.router(
        "iptables", "-A", "FORWARD", "-o", lab.down_dev, "-p", "udp",
        "-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP",
    )  # fmt: skip
    await lab.router(
        "tc", "qdisc", "add", "dev", lab.down_dev, "root",
        "tbf", "rate", RATE, "burst", "10kb", "latency", "100ms",
    )  # fmt: skip
    async with serve(api_settings(db_url, nat_node, None), host=lab.server_ip) as api:
        stream = await live_stream(api, await api.token(*ADMIN))
        token = await api.token(*ADMIN)
        args = [f"--unsafely-treat-insecure-origin-as-secure={api.base_url}"]
        async with Browser.launch(tmp_path, prefix=lab.in_viewer(), chromium_args=args) as b:
            await b.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
            playing = (
                "(() => { const t = window.vasmsDemo?.snapshot()?.[0];"
                " return t && t.state === 'playing' && t.videoWidth > 0 ? t : null; })()"
            )
            start = dict(await b.wait_for(playing, within=60))
            consumer = pb.ConsumerRef(consumer_id=start["stats"]["consumerId"])

            async def phase(seconds: float) -> dict[str, Any]:
                before = dict(await b.eval(demo_state_js()))
                await asyncio.sleep(seconds)
                after = dict(await b.eval(demo_state_js()))
                return {
                    "state": after["state"],
                    "fps": round(
                        (after["totalVideoFrames"] - before["totalVideoFrames"]) / seconds, 1
                    ),
                    "played_s": round(after["currentTime"] - before["currentTime"], 2),
                    "bitrate_kbps": after["stats"]["bitrateKbps"],
                    "node": consumer_figures(await nat_node.call("GetConsumer", consumer)),
                    "viewer": dict(await b.eval(INBOUND_JS)),
                }

            lossy = await phase(10)
            # A 3 s drop-out (Wi-Fi gone): longer than the node keeps packets for
            # retransmission, so only a key frame (PLI) can repair it.
            await lab.router(
                "iptables", "-I", "FORWARD", "1", "-o", lab.down_dev, "-p", "udp", "-j", "DROP"
            )
            await asyncio.sleep(3)
            await lab.router("iptables", "-D", "FORWARD", "1")
            await asyncio.sleep(5)  # recovery
            recovered = await phase(5)
        counters = await lab.forward_counters()
        qdisc = await lab.qdisc_stats()
    dropped = next(p for p, rule in counters if "statistic" in rule)
    tbf = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", qdisc)
    assert tbf is not None, qdisc
    print(
        f"\n  LOSS 5 % + TBF {RATE} (Chromium, VP8 test pattern)"
        f"\n    10 s of loss: {json.dumps(lossy)}"
        f"\n    5 s, 5 s after a 3 s drop-out: {json.dumps(recovered)}"
        f"\n    router: the statistic rule dropped {dropped} packets; tbf sent {tbf.group(2)} "
        f"packets, dropped {tbf.group(3)}, overlimits {tbf.group(4)}"
    )
    assert dropped > 0, counters  # the random drop really dropped
    assert int(tbf.group(4)) > 0, qdisc  # and the cap really held packets back
    # Random loss: NACKed, retransmitted, repaired; the picture keeps its frame rate.
    assert lossy["node"]["nack_count"] > 0, lossy
    assert lossy["node"]["packets_retransmitted"] > 0, lossy
    assert lossy["viewer"]["retransmittedPacketsReceived"] > 0, lossy
    assert lossy["state"] == "playing" and lossy["fps"] >= 20, lossy
    # The drop-out: key-frame requests reach the node, and playback comes back.
    assert recovered["node"]["pli_count"] + recovered["node"]["fir_count"] > 0, recovered
    assert recovered["node"]["nack_count"] > lossy["node"]["nack_count"], recovered
    # (The retransmission burst after it crowds the thin link for a while: 20-30 fps here.)
    assert recovered["state"] == "playing" and recovered["fps"] >= 10, recovered
