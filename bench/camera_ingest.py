"""Cameras through the ingest: time to first frame, CPU per camera kind, audio.

For each camera kind a real gst-rtsp-server camera (tests/support/rtsp_server.py,
1280x720) is pulled by our ``Ingest`` (transcode ``auto``): H.264 baseline, main
and high pass through, H.265, MJPEG and MPEG-4 Part 2 are transcoded to H.264 at
1280x720. Audio cameras are H.264 baseline with a microphone: ``h264+aac`` (the
ingest decodes AAC and encodes Opus), ``h264+pcma`` (G.711 passed through,
repacketised to 20 ms), and ``h264+aac:off`` (the same camera, audio not wanted:
drained); the plain ``h264`` row is the same camera without audio, so the audio
rows' CPU minus its CPU is what the camera's audio costs. Fast start is off (its
bridge decoder would add the same ~1.5 % to every H.264 row; bench/ttff.py
measures it).
Printed per kind:
- time to first frame: aiortc viewers (pymediasoup) joining at random moments,
  from the consume request to the first decoded frame (p50 and max over
  ``--joins``); passthrough waits for the camera's next key frame (GOP
  ``--gop-s``), transcoding answers the key-frame request;
- CPU of the ingest process (utime+stime from /proc over ``--seconds``, % of one
  core) and its RSS. The camera server's own encoder is not counted.
- audio cameras: the first audio frame after the consume returned, next to the
  first video frame of the same join (p50 over the joins), and their difference.
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

VIDEO_KINDS = ("h264", "h264-main", "h264-high", "h265", "mjpeg", "mpeg4")
AUDIO_CAMERAS = {"h264+aac": "aac", "h264+pcma": "pcma", "h264+aac:off": "aac"}
KINDS = (*VIDEO_KINDS, *AUDIO_CAMERAS)
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
    video_kind = kind.split("+")[0]
    microphone = AUDIO_CAMERAS.get(kind)
    wants_audio = microphone is not None and not kind.endswith(":off")
    camera = await RtspServer.start(
        kind=video_kind,
        size=(1280, 720),
        fps=fps,
        gop=round(args.gop_s * fps),
        audio=microphone,
    )
    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    spec = IngestSpec(kind="rtsp", url=camera.url, audio=wants_audio, fast_start=args.fast_start)
    ingest = Ingest(router, spec)
    try:
        await ingest.start()
        async with asyncio.timeout(60):
            await ingest.wait_for_status("live")
            while wants_audio and ingest.audio_producer is None:
                await ingest.audio_changed.wait()
        assert ingest.producer is not None and ingest.pid is not None
        pid = ingest.pid
        before, started = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(args.seconds)  # the measuring window itself
        cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100
        rss = rss_mb(pid)
        ttffs: list[float] = []
        firsts: list[tuple[float, float]] = []  # (video, audio) after the consume returned
        audio_producer = ingest.audio_producer if wants_audio else None
        for _ in range(args.joins):
            await asyncio.sleep(random.uniform(0.2, args.gop_s))  # a random moment in the GOP
            asked = time.monotonic()
            watching = await watch(router, ingest.producer, audio_producer=audio_producer)
            if audio_producer is None:
                frames = await watching.viewer.frames(1, within=60)
            else:
                frames, sound = await asyncio.gather(
                    watching.viewer.frames(1, within=60),
                    watching.viewer.audio_frames(1, within=60),
                )
                returned = watching.consume_returned_at
                firsts.append((frames[0].received_at - returned, sound[0].received_at - returned))
            ttffs.append(frames[0].received_at - asked)
            await watching.viewer.close()
            await watching.transport.close()
        action = (ingest.camera or {}).get("action", "?")
        audio = ingest.audio.codec if wants_audio and ingest.audio else "-"
        row = {
            "action": f"{action}/{audio}",  # type: ignore[dict-item]
            "cpu": cpu,
            "rss": rss,
            "ttff_p50": statistics.median(ttffs),
            "ttff_max": max(ttffs),
        }
        if firsts:
            row["first_video_p50"] = statistics.median(v for v, _ in firsts)
            row["first_audio_p50"] = statistics.median(a for _, a in firsts)
            row["audio_minus_video_p50"] = statistics.median(a - v for v, a in firsts)
        return row
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
    load = [f"{x:.2f}" for x in os.getloadavg()]
    print(
        f"\ncameras 1280x720@{args.fps}, GOP {args.gop_s:g} s, {args.joins} joins each, "
        f"CPU over {args.seconds:g} s (% of one core), fast start "
        f"{'on' if args.fast_start else 'off'}, load average {' '.join(load)}"
    )
    print(
        f"{'camera':<13} {'ingest':<18} {'ttff p50':>9} {'ttff max':>9} {'cpu %':>7} "
        f"{'rss MB':>7} {'vs h264':>8} {'+cpu %':>7}"
    )
    base = rows.get("h264", {}).get("cpu")
    for kind, row in rows.items():
        ratio = f"{row['cpu'] / base:.1f}x" if base else "-"
        extra = f"{row['cpu'] - base:+.1f}" if base is not None else "-"
        print(
            f"{kind:<13} {row['action']:<18} {row['ttff_p50']:>8.2f}s {row['ttff_max']:>8.2f}s "
            f"{row['cpu']:>7.1f} {row['rss']:>7.0f} {ratio:>8} {extra:>7}"
        )
    audio_rows = {k: r for k, r in rows.items() if "first_audio_p50" in r}
    if audio_rows:
        print("first frame after the consume returned, p50 over the joins (audio vs video):")
        for kind, row in audio_rows.items():
            print(
                f"  {kind:<13} video {row['first_video_p50']:.3f} s, audio "
                f"{row['first_audio_p50']:.3f} s, audio - video "
                f"{row['audio_minus_video_p50']:+.3f} s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--joins", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop-s", type=float, default=2.0)
    parser.add_argument(
        "--fast-start", action="store_true", help="H.264 passthrough with its bridge encoding"
    )
    asyncio.run(main(parser.parse_args()))
