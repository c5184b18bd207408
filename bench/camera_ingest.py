"""Cameras through the ingest: time to first frame and CPU per camera kind.

For each camera kind a real gst-rtsp-server camera (tests/support/rtsp_server.py,
1280x720) is pulled by our ``Ingest`` (transcode ``auto``): H.264 baseline, main
and high pass through, H.265 and MJPEG are transcoded to H.264 at 1280x720.
Printed per kind:
- time to first frame: aiortc viewers (pymediasoup) joining at random moments,
  from the consume request to the first decoded frame (p50 and max over
  ``--joins``); passthrough waits for the camera's next key frame (GOP
  ``--gop-s``), transcoding answers the key-frame request;
- CPU of the ingest process (utime+stime from /proc over ``--seconds``, % of one
  core) and its RSS. The camera server's own encoder is not counted.
The passthrough row is the baseline the transcoded ones are compared with (ratio).

    .venv/bin/python bench/camera_ingest.py [--kinds h264 h265] [--joins 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediasoup_driver import RouterOptions, Worker  # noqa: E402

import bench.paths  # noqa: E402, F401  (points the driver at this checkout's worker)
from media_node.ingest import Ingest, IngestSpec, router_media_codecs  # noqa: E402
from tests.support.driver_flow import watch  # noqa: E402
from tests.support.rtsp_server import RtspServer  # noqa: E402

KINDS = ("h264", "h264-main", "h264-high", "h265", "mjpeg")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(worker: Worker, kind: str, args: argparse.Namespace) -> dict[str, float]:
    fps = args.fps
    camera = await RtspServer.start(
        kind=kind, size=(1280, 720), fps=fps, gop=round(args.gop_s * fps)
    )
    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    ingest = Ingest(router, IngestSpec(kind="rtsp", url=camera.url))
    try:
        await ingest.start()
        async with asyncio.timeout(60):
            await ingest.wait_for_status("live")
        assert ingest.producer is not None and ingest.pid is not None
        pid = ingest.pid
        before, started = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(args.seconds)  # the measuring window itself
        cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100
        rss = rss_mb(pid)
        ttffs = []
        for _ in range(args.joins):
            await asyncio.sleep(random.uniform(0.2, args.gop_s))  # a random moment in the GOP
            asked = time.monotonic()
            watching = await watch(router, ingest.producer)
            frames = await watching.viewer.frames(1, within=60)
            ttffs.append(frames[0].received_at - asked)
            await watching.viewer.close()
            await watching.transport.close()
        action = (ingest.camera or {}).get("action", "?")
        return {
            "action": action,  # type: ignore[dict-item]
            "cpu": cpu,
            "rss": rss,
            "ttff_p50": statistics.median(ttffs),
            "ttff_max": max(ttffs),
        }
    finally:
        await ingest.stop()
        await router.close()
        await camera.stop()


async def main(args: argparse.Namespace) -> None:
    worker = await Worker.start()
    rows = {}
    try:
        for kind in args.kinds:
            rows[kind] = await measure(worker, kind, args)
    finally:
        await worker.close()
    print(
        f"\ncameras 1280x720@{args.fps}, GOP {args.gop_s:g} s, {args.joins} joins each, "
        f"CPU over {args.seconds:g} s (% of one core)"
    )
    print(
        f"{'camera':<10} {'ingest':<12} {'ttff p50':>9} {'ttff max':>9} {'cpu %':>7} "
        f"{'rss MB':>7} {'cpu vs h264':>12}"
    )
    base = rows.get("h264", {}).get("cpu")
    for kind, row in rows.items():
        ratio = f"{row['cpu'] / base:.1f}x" if base else "-"
        print(
            f"{kind:<10} {row['action']:<12} {row['ttff_p50']:>8.2f}s {row['ttff_max']:>8.2f}s "
            f"{row['cpu']:>7.1f} {row['rss']:>7.0f} {ratio:>12}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--joins", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop-s", type=float, default=2.0)
    asyncio.run(main(parser.parse_args()))
