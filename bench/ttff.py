"""Time to first frame of a passthrough camera, fast start on vs off, side by side.

One real gst-rtsp-server camera (tests/support/rtsp_server.py: H.264 high, 1280x720,
25 fps, GOP ``--gop-s``, default 10 s) is pulled by two ``Ingest``s on one router,
``fast_start`` on and off (the camera's RTSP stream is shared, so both see the same
key frames). Each ingest has an early aiortc viewer watching throughout. Then
``--joins`` times, at a random moment, one aiortc viewer joins each ingest at the same
instant, consuming as the media node's Consume does (``fast_start.start_layers`` and
``raise_when_started``). Printed per mode:

- ttff: from the consume request (``transport.consume``) to the first decoded frame,
  p50/p95/max over the joins, and the first frame's size;
- switch: for fast start, when the viewer reached the camera's own 1280x720 (the
  camera's next natural key frame) after the consume request;
- bridge behind: while on the bridge, how much later the joiner receives a picture
  than the early viewer receives the camera's frame of the same capture time (RTP
  timestamp), median per join, then p50/max over joins;
- behind: once on the camera's encoding, how much later the joiner receives the
  switch key frame than the early viewer does, p50/max;
- CPU of each ingest process (% of one core): steady state with its early viewer
  watching (``--seconds``), and over the whole join phase.

    .venv/bin/python bench/ttff.py [--joins 10] [--gop-s 10] [--seconds 20] [--chromium]

``--chromium``: the same on/off comparison in headless Chromium through the whole
stack (control API, media node, the demo page's player), first frame p50/p95 and
the first picture's height.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediasoup_driver import (  # noqa: E402
    ConsumerOptions,
    ListenInfo,
    Producer,
    Router,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
)

import bench.paths  # noqa: E402, F401  (points the driver at this checkout's worker)
from media_node.ingest import Ingest, IngestSpec, router_media_codecs  # noqa: E402
from media_node.ingest.fast_start import raise_when_started, start_layers  # noqa: E402
from tests.support.rtsp_server import RtspServer  # noqa: E402
from tests.support.viewer import Frame, Viewer  # noqa: E402

SIZE = (1280, 720)
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Watching:
    viewer: Viewer
    asked_at: float
    frames: list[Frame] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def until(self, count_full: int, within: float) -> None:
        async with asyncio.timeout(within):
            while sum((f.width, f.height) == SIZE for f in self.frames) < count_full:
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.viewer.close()


async def join(router: Router, producer: Producer) -> Watching:
    viewer = Viewer()
    caps = await viewer.load(router.rtp_capabilities)
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1"),))
    )
    viewer.create_transport(
        {
            "id": transport.id,
            "iceParameters": transport.ice_parameters,
            "iceCandidates": transport.ice_candidates,
            "dtlsParameters": transport.dtls_parameters,
        },
        on_connect=transport.connect,
    )
    asked = time.monotonic()
    consumer = await transport.consume(
        ConsumerOptions(
            producer_id=producer.id, rtp_capabilities=caps, preferred_layers=start_layers(producer)
        )
    )
    raise_when_started(consumer)
    await viewer.consume(
        {
            "id": consumer.id,
            "producerId": producer.id,
            "kind": consumer.kind,
            "rtpParameters": consumer.rtp_parameters,
        }
    )
    watching = Watching(viewer, asked)

    async def collect() -> None:
        while True:
            watching.frames.extend(await viewer.frames(1, within=120))
            watching.arrived.set()

    watching.task = asyncio.create_task(collect())
    return watching


def behind(early: Watching, joiner: Watching) -> float | None:
    """Arrival of the joiner's first camera-size key frame minus the early viewer's
    arrival of the key frame nearest to it (the same camera key frame)."""
    switch = next((f for f in joiner.frames if (f.width, f.height) == SIZE and f.key_frame), None)
    if switch is None:
        return None
    keys = [f for f in early.frames if f.key_frame and (f.width, f.height) == SIZE]
    if not keys:
        return None
    nearest = min(keys, key=lambda f: abs(f.received_at - switch.received_at))
    return switch.received_at - nearest.received_at


def bridge_behind(early: Watching, joiner: Watching) -> float | None:
    """Median, over the joiner's bridge frames, of its arrival minus the early viewer's
    arrival of the camera picture of the same capture time. Each consumer numbers RTP
    time with its own offset; the offset between the two is read off the switch key
    frame (the same camera frame for both), and the worker keeps capture time
    continuous across the switch (sender reports)."""
    switch = next((f for f in joiner.frames if (f.width, f.height) == SIZE and f.key_frame), None)
    keys = [f for f in early.frames if f.key_frame and (f.width, f.height) == SIZE]
    if switch is None or switch.pts is None or not keys:
        return None
    twin = min(keys, key=lambda f: abs(f.received_at - switch.received_at))
    offset = switch.pts - (twin.pts or 0)
    arrivals = {f.pts: f.received_at for f in early.frames if f.pts is not None}
    lags = []
    for f in joiner.frames:
        if (f.width, f.height) == SIZE or f.pts is None:
            continue
        want = f.pts - offset
        nearest = min(arrivals, key=lambda p: abs(p - want))
        if abs(nearest - want) <= 1800:
            lags.append(f.received_at - arrivals[nearest])
    return statistics.median(lags) if lags else None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    fps = 25
    camera = await RtspServer.start(
        kind="h264-high", size=SIZE, fps=fps, gop=round(args.gop_s * fps)
    )
    worker = await Worker.start()
    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    ingests = {
        mode: Ingest(router, IngestSpec(kind="rtsp", url=camera.url, fast_start=mode == "on"))
        for mode in ("on", "off")
    }
    watchers: list[Watching] = []
    try:
        for ingest in ingests.values():
            await ingest.start()
        for ingest in ingests.values():
            async with asyncio.timeout(60):
                await ingest.wait_for_status("live")
        early = {}
        for mode, ingest in ingests.items():
            assert ingest.producer is not None
            early[mode] = await join(router, ingest.producer)
            watchers.append(early[mode])
        for w in early.values():
            await w.until(fps, within=3 * args.gop_s + 30)
        pids = {mode: ingest.pid for mode, ingest in ingests.items()}
        before = {mode: cpu_seconds(pid) for mode, pid in pids.items() if pid}
        t0 = time.monotonic()
        await asyncio.sleep(args.seconds)  # steady state: the measurement window itself
        steady = {
            mode: 100 * (cpu_seconds(pid) - before[mode]) / (time.monotonic() - t0)
            for mode, pid in pids.items()
            if pid
        }
        before = {mode: cpu_seconds(pid) for mode, pid in pids.items() if pid}
        t0 = time.monotonic()
        results: dict[str, list[dict[str, float | None]]] = {"on": [], "off": []}
        for _ in range(args.joins):
            await asyncio.sleep(random.uniform(0.5, args.gop_s))  # a join at a random moment
            joined = {}
            for mode, ingest in ingests.items():
                assert ingest.producer is not None
                joined[mode] = asyncio.create_task(join(router, ingest.producer))
            for mode, task in joined.items():
                w = await task
                await w.until(5, within=3 * args.gop_s + 30)
                first = w.frames[0]
                switch = next(f for f in w.frames if (f.width, f.height) == SIZE)
                results[mode].append(
                    {
                        "ttff": first.received_at - w.asked_at,
                        "height": first.height,
                        "switch": switch.received_at - w.asked_at,
                        "behind": behind(early[mode], w),
                        "bridge_behind": bridge_behind(early[mode], w),
                    }
                )
                if os.environ.get("TTFF_DEBUG"):
                    print(f"join {mode}: {results[mode][-1]}", flush=True)
                await w.close()
        joins_cpu = {
            mode: 100 * (cpu_seconds(pid) - before[mode]) / (time.monotonic() - t0)
            for mode, pid in pids.items()
            if pid
        }
    finally:
        for w in watchers:
            await w.close()
        for ingest in ingests.values():
            await ingest.stop()
        await worker.close()
        await camera.stop()

    print(
        f"camera H.264 high {SIZE[0]}x{SIZE[1]}@{fps}, GOP {args.gop_s:g} s, "
        f"{args.joins} joins at random moments, aiortc viewers"
    )
    print(
        f"{'fast_start':<11}{'ttff p50':>10}{'p95':>8}{'max':>8}  first heights"
        f"{'switch p50':>12}{'bridge behind p50':>19}{'max':>7}{'behind p50':>12}{'max':>7}"
        f"{'CPU steady':>12}{'joins':>7}"
    )
    for mode in ("on", "off"):
        rows = results[mode]
        ttff = [float(r["ttff"]) for r in rows]  # type: ignore[arg-type]
        switch = [float(r["switch"]) for r in rows]  # type: ignore[arg-type]
        lag = [float(r["behind"]) for r in rows if r["behind"] is not None]  # type: ignore[arg-type]
        blag = [float(r["bridge_behind"]) for r in rows if r["bridge_behind"] is not None]  # type: ignore[arg-type]
        heights = sorted({int(r["height"]) for r in rows})  # type: ignore[arg-type]
        print(
            f"{mode:<11}{statistics.median(ttff) * 1000:>8.0f}ms{pct(ttff, 0.95) * 1000:>6.0f}ms"
            f"{max(ttff) * 1000:>6.0f}ms  {heights!s:<13}"
            f"{statistics.median(switch):>10.2f} s"
            f"{(statistics.median(blag) * 1000 if blag else float('nan')):>17.0f}ms"
            f"{(max(blag) * 1000 if blag else float('nan')):>5.0f}ms"
            f"{(statistics.median(lag) * 1000 if lag else float('nan')):>10.0f}ms"
            f"{(max(lag) * 1000 if lag else float('nan')):>5.0f}ms"
            f"{steady.get(mode, float('nan')):>11.1f}%{joins_cpu.get(mode, float('nan')):>6.1f}%"
        )
    on = statistics.median(float(r["ttff"]) for r in results["on"])  # type: ignore[arg-type]
    off = statistics.median(float(r["ttff"]) for r in results["off"])  # type: ignore[arg-type]
    print(f"ttff p50 off/on: {off / on:.1f}x")


async def run_chromium(args: argparse.Namespace) -> None:
    """The same comparison in headless Chromium through the real stack (control API,
    media node over gRPC, the demo page's player): two streams of the one camera,
    ``fast_start`` true and false; each join loads the player page for one of them
    (alternating, at random moments) and reads its own consume-to-first-frame
    figure (``consumeToFirstFrameMs``) and the picture's first size."""
    import tempfile

    from tests.control_api.flows import live_stream
    from tests.control_api.support import ADMIN, database, make_settings, serve, start_node
    from tests.e2e.browser import Browser
    from tests.e2e.test_web_player import all_playing_js

    fps = 25
    camera = await RtspServer.start(
        kind="h264-high", size=SIZE, fps=fps, gop=round(args.gop_s * fps)
    )
    results: dict[str, list[tuple[float, int]]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        node = await start_node(tmp_path)
        try:
            async with (
                database("sqlite", tmp_path) as db_url,
                serve(
                    make_settings(db_url, media_nodes=[node.address], node_token=node.token)
                ) as api,
                Browser.launch(tmp_path) as browser,
            ):
                admin = await api.token(*ADMIN)
                streams = {}
                for mode in ("on", "off"):
                    source = {"type": "rtsp", "url": camera.url, "fast_start": mode == "on"}
                    streams[mode] = await live_stream(api, admin, {"name": mode, "source": source})
                token = await api.user("bench-viewer", "viewer")
                for _ in range(args.joins):
                    for mode in ("on", "off"):
                        await asyncio.sleep(random.uniform(0.5, args.gop_s))  # a random moment
                        await browser.goto(
                            f"{api.base_url}/#token={token}&play={streams[mode]['id']}"
                        )
                        shot = await browser.wait_for(all_playing_js(1), within=3 * args.gop_s + 30)
                        stats = shot[0]["stats"]
                        waited = 0
                        while stats.get("consumeToFirstFrameMs") is None and waited < 50:
                            await asyncio.sleep(0.1)  # the figure lands a moment after playing
                            stats = (await browser.eval("window.vasmsDemo.snapshot()[0]"))["stats"]
                            waited += 1
                        results[mode].append(
                            (float(stats["consumeToFirstFrameMs"]) / 1000, shot[0]["videoHeight"])
                        )
                        if os.environ.get("TTFF_DEBUG"):
                            print(f"chromium join {mode}: {results[mode][-1]}", flush=True)
                        await browser.goto("about:blank")
        finally:
            await node.stop()
            await camera.stop()
    print(
        f"Chromium {SIZE[0]}x{SIZE[1]}@{fps} H.264 high, GOP {args.gop_s:g} s, {args.joins} joins "
        "each (consume request -> first frame, the player's own figure)"
    )
    print(f"{'fast_start':<11}{'ttff p50':>10}{'p95':>8}{'max':>8}  first heights")
    for mode in ("on", "off"):
        ttff = [t for t, _ in results[mode]]
        heights = sorted({h for _, h in results[mode]})
        print(
            f"{mode:<11}{statistics.median(ttff) * 1000:>8.0f}ms{pct(ttff, 0.95) * 1000:>6.0f}ms"
            f"{max(ttff) * 1000:>6.0f}ms  {heights}"
        )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    if os.environ.get("TTFF_DEBUG"):
        logging.getLogger("media_node.ingest").setLevel(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--gop-s", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--chromium", action="store_true", help="headless Chromium through the whole stack"
    )
    args = parser.parse_args()
    asyncio.run(run_chromium(args) if args.chromium else run(args))


if __name__ == "__main__":
    main()
