"""On-demand pull and snapshots: what a viewer and a thumbnail wait for.

Runs a real media node, the control API (SQLite) and an RTSP camera (gst-rtsp-server,
H.264 640x360, GOP 1 s), then measures, side by side:
- first decoded frame (aiortc viewer) from the viewer's first request, for an on-demand
  stream released between joins (camera connect included) vs an always-pulled stream
  of the same camera (the baseline), `--joins` times each; the ratio is the price of
  not pulling cameras nobody watches;
- snapshot.jpg latency: the first request (decoder opened, waits for a key frame) vs a
  request answered from the latest key frame, for a node-encoded test pattern and the
  passed-through camera.

    .venv/bin/python bench/on_demand.py [--joins 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.control_api.flows import live_stream, wait_status, watch_v2  # noqa: E402
from tests.control_api.support import ApiServer, make_settings, serve, start_node  # noqa: E402
from tests.support.rtsp_server import RtspServer  # noqa: E402

IDLE_S = 1.0


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    ms = ", ".join(f"{v * 1000:.0f}" for v in values)
    return (
        f"{label}: p50 {statistics.median(values) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms  [{ms}]"
    )


async def first_frame(api: ApiServer, token: str, stream_id: str, client_id: str) -> float:
    async with api.client(token) as c:
        started = time.monotonic()
        watch = await watch_v2(c, stream_id, client_id)
        (frame,) = await watch.viewer.frames(1, within=30)
        elapsed = frame.received_at - started
        await watch.viewer.close()
        await c.delete(f"/api/v2/consumers/{watch.consumer_id}")
    return elapsed


async def snapshot_s(api: ApiServer, token: str, stream_id: str) -> float:
    async with api.client(token) as c:
        started = time.monotonic()
        r = await c.get(f"/api/v2/streams/{stream_id}/snapshot.jpg")
        r.raise_for_status()
        return time.monotonic() - started


async def run(joins: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        node = await start_node(tmp_path, VASMS_SNAPSHOT_LINGER_S="1")
        camera = await RtspServer.start(gop=30)
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}",
            media_nodes=[node.address],
            node_token=node.token,
            on_demand_idle_s=IDLE_S,
        )
        try:
            async with serve(settings) as api:
                token = await api.user("bench", "operator")
                od = {
                    "name": "od",
                    "source": {"type": "rtsp", "url": camera.url, "on_demand": True},
                }
                pulled = {"name": "pulled", "source": {"type": "rtsp", "url": camera.url}}
                pattern = {"name": "p", "source": {"type": "test_pattern"}}
                async with api.client(token) as c:
                    r = await c.post("/api/v2/streams", json=od)
                    od_id = r.json()["id"]
                    await c.post(f"/api/v2/streams/{od_id}/start")
                pulled_id = (await live_stream(api, token, pulled))["id"]
                pattern_id = (await live_stream(api, token, pattern))["id"]
                on_demand, baseline = [], []
                for join in range(joins):
                    await wait_status(api, token, od_id, "idle", within=30)
                    on_demand.append(await first_frame(api, token, od_id, f"od-{join}"))
                    baseline.append(await first_frame(api, token, pulled_id, f"pulled-{join}"))
                print(summary("first frame, on demand (camera connect included)", on_demand))
                print(summary("first frame, always pulled (baseline)", baseline))
                ratio = statistics.median(on_demand) / statistics.median(baseline)
                print(f"on demand / always pulled (p50): {ratio:.1f}x")
                for label, stream_id in (("test pattern", pattern_id), ("camera", pulled_id)):
                    first, cached = [], []
                    for _ in range(joins):
                        first.append(await snapshot_s(api, token, stream_id))
                        cached.append(await snapshot_s(api, token, stream_id))
                        await asyncio.sleep(2.5)  # past the linger: the next one opens again
                    print(summary(f"snapshot {label}, decoder opened", first))
                    print(summary(f"snapshot {label}, from the latest key frame", cached))
                    ratio = statistics.median(first) / statistics.median(cached)
                    print(f"snapshot {label}: opened / cached (p50) {ratio:.1f}x")
        finally:
            await camera.stop()
            await node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.joins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
