"""Audio vs video of the same instant, as a viewer receives them (lip-sync offset).

Why: bench/camera_ingest.py times the *first* audio and video frames of a join; this
measures the steady state. A real gst-rtsp-server camera in marker mode
(tests/support/rtsp_server.py ``--marker``: once a second a white flash in the picture and
a 1 kHz beep in the audio, both starting at the same pipeline timestamp) is pulled by a
real media node behind the control API (SQLite), fast start off, and watched by an
aiortc viewer through the Python SDK (``client.watch(id, audio=True)``). The viewer
records the local arrival time of each flash onset (mean luma of a decoded frame
crossing mid-grey after a dark frame) and each beep onset (first sample above 0.1
after >= 0.5 s of silence; its time is the arrival of its audio frame plus the sample's
position in it, i.e. when a player starting that frame on arrival would sound it).

Per camera (H.264+AAC: the node transcodes AAC to Opus; H.264+PCMA: passed through):
- arrival offset: audio onset - video onset of the same marker, p50/p95 (and range)
  over ``--markers`` markers after ``--warmup-s``; positive = audio late;
- the same on the media timestamps (video RTP time, audio frame pts): the RTP streams
  have independent random bases (aligning them needs RTCP sender reports, which aiortc
  does not expose), so only its spread about its median is meaningful: it is the
  source+ingest jitter of the offset, next to the arrival offset's spread (which adds
  network, jitter buffers and decoding); the marker period on each media clock
  (1.000 s expected) checks that the onsets were found on the right frames.

    .venv/bin/python bench/av_offset.py [--markers 20] [--kinds h264+aac h264+pcma]

Takes about a minute (two cameras, ~25 s of markers each, plus stack start; 62 s at load
average ~6 on 2 cores), so `make bench` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.control_api.flows import live_stream  # noqa: E402
from tests.control_api.support import ApiServer, make_settings, serve, start_node, wait_until  # noqa: E402
from tests.support.rtsp_server import RtspServer  # noqa: E402
from vasms_client import VasmsClient  # noqa: E402

CAMERAS = {"h264+aac": "aac", "h264+pcma": "pcma"}
LUMA_THRESHOLD = 128.0
"""Mid-grey: the ball pattern's mean luma is ~20, the flash ~235."""
SAMPLE_THRESHOLD = 0.1
"""The beep's amplitude is 0.5 of full scale; the silence between decodes to ~0."""
QUIET_S = 0.5
"""A beep onset needs this long without a loud sample before it (a beep lasts 0.2 s)."""


@dataclass
class Onsets:
    """Onsets of one stream: (local arrival time, media time) each."""

    found: list[tuple[float, float]] = field(default_factory=list)
    last_loud: float = float("-inf")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def watch_video(viewer: Any, onsets: Onsets, enough: asyncio.Event) -> None:
    dark = False
    async for frame in viewer.frames():
        luma = float(np.mean(frame.to_ndarray(format="gray")))
        bright = luma > LUMA_THRESHOLD
        if bright and dark and frame.media_time is not None:
            onsets.found.append((frame.received_at, frame.media_time))
        dark = not bright
        if enough.is_set():
            return


async def watch_audio(viewer: Any, onsets: Onsets, enough: asyncio.Event) -> None:
    async for frame in viewer.audio_frames():
        arrived = time.time()  # the SDK stamps video frames with time.time() too
        rate = frame.sample_rate
        samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
        samples = samples.astype(np.float32) / 32768.0
        loud = np.flatnonzero(np.abs(samples) > SAMPLE_THRESHOLD)
        if loud.size and frame.pts is not None and frame.time_base is not None:
            first = int(loud[0])
            media = float(frame.pts * frame.time_base) + first / rate
            if media - onsets.last_loud >= QUIET_S:
                onsets.found.append((arrived + first / rate, media))
            onsets.last_loud = float(frame.pts * frame.time_base) + int(loud[-1]) / rate
        if enough.is_set():
            return


def pair(video: list[tuple[float, float]], audio: list[tuple[float, float]]) -> list[tuple]:
    """Each video onset with the audio onset nearest in arrival time (within 0.5 s)."""
    pairs = []
    for v in video:
        nearest = min(audio, key=lambda a: abs(a[0] - v[0]), default=None)
        if nearest is not None and abs(nearest[0] - v[0]) < 0.5:
            pairs.append((v, nearest))
    return pairs


def period(onsets: list[tuple[float, float]]) -> float:
    return statistics.median(b[1] - a[1] for a, b in itertools.pairwise(onsets))


async def measure(api: ApiServer, token: str, kind: str, args: argparse.Namespace) -> dict:
    camera = await RtspServer.start(
        kind="h264",
        size=args.size,
        fps=args.fps,
        gop=round(args.gop_s * args.fps),
        audio=CAMERAS[kind],
        marker=True,
    )
    try:
        body = {
            "name": kind,
            "source": {"type": "rtsp", "url": camera.url, "fast_start": False},
        }
        stream = await live_stream(api, token, body)
        async with api.client(token) as c:

            async def audio_codec() -> str | None:
                found = (await c.get(f"/api/v2/streams/{stream['id']}")).json()
                return found["audio"]["codec"] if found["audio"] else None

            codec = await wait_until(audio_codec, 30)
        video, audio = Onsets(), Onsets()
        enough = asyncio.Event()
        client = VasmsClient(api.base_url, token=token)
        async with client, client.watch(stream["id"], audio=True) as viewer:
            tasks = [
                asyncio.create_task(watch_video(viewer, video, enough)),
                asyncio.create_task(watch_audio(viewer, audio, enough)),
            ]
            started = time.time()
            wanted = args.markers + 2
            try:
                async with asyncio.timeout(args.warmup_s + args.markers * 2 + 30):
                    while True:
                        await asyncio.sleep(0.5)  # polling two lists the tasks fill
                        settled = [o for o in video.found if o[0] > started + args.warmup_s]
                        done = [o for o in audio.found if o[0] > started + args.warmup_s]
                        if len(settled) >= wanted and len(done) >= wanted:
                            break
                        for task in tasks:
                            if task.done():
                                task.result()  # raises what stopped it
            except TimeoutError:
                raise RuntimeError(
                    f"{kind}: {len(video.found)} flashes, {len(audio.found)} beeps found"
                ) from None
            finally:
                enough.set()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        async with api.client(token) as c:
            await c.delete(f"/api/v2/streams/{stream['id']}")
    finally:
        await camera.stop()
    cutoff = started + args.warmup_s
    pairs = pair(
        [o for o in video.found if o[0] > cutoff], [o for o in audio.found if o[0] > cutoff]
    )[: args.markers]
    arrival = [a[0] - v[0] for v, a in pairs]
    media = [a[1] - v[1] for v, a in pairs]
    media_center = statistics.median(media)
    return {
        "codec": codec,
        "n": len(pairs),
        "arrival": arrival,
        "media_dev": [m - media_center for m in media],
        "video_period": period([v for v, _ in pairs]),
        "audio_period": period([a for _, a in pairs]),
    }


def ms(value: float) -> str:
    return f"{value * 1000:+.0f}"


async def run(args: argparse.Namespace) -> None:
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        node = await start_node(tmp_path)
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}",
            media_nodes=[node.address],
            node_token=node.token,
        )
        try:
            async with serve(settings) as api:
                token = await api.user("bench", "operator")
                for kind in args.kinds:
                    rows[kind] = await measure(api, token, kind, args)
        finally:
            await node.stop()
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    width, height = args.size
    print(
        f"\naudio onset - video onset of the same marker (ms, + = audio late), cameras "
        f"{width}x{height}@{args.fps} GOP {args.gop_s:g} s, fast start off, "
        f"load average {load_before} -> {load_after}"
    )
    print(
        f"{'camera':<11} {'audio':<6} {'n':>3} {'p50':>6} {'p95':>6} {'min':>6} {'max':>6}"
        f"   {'media dev p50':>13} {'p95':>5}   {'period v/a (s)':>14}"
    )
    for kind, row in rows.items():
        arrival = row["arrival"]
        dev = [abs(d) for d in row["media_dev"]]
        arrival_center = statistics.median(arrival)
        spread = [abs(a - arrival_center) for a in arrival]
        print(
            f"{kind:<11} {row['codec']:<6} {row['n']:>3} {ms(arrival_center):>6} "
            f"{ms(percentile(arrival, 0.95)):>6} {ms(min(arrival)):>6} {ms(max(arrival)):>6}"
            f"   {statistics.median(dev) * 1000:>13.0f} {percentile(dev, 0.95) * 1000:>5.0f}"
            f"   {row['video_period']:.3f}/{row['audio_period']:.3f}"
        )
        spread_p50 = statistics.median(spread) * 1000
        spread_p95 = percentile(spread, 0.95) * 1000
        print(
            f"{'':<11} arrival offset's own |dev| from its p50: p50 {spread_p50:.0f} ms, "
            f"p95 {spread_p95:.0f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(CAMERAS), choices=list(CAMERAS))
    parser.add_argument("--markers", type=int, default=20)
    parser.add_argument("--warmup-s", type=float, default=3.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop-s", type=float, default=2.0)
    parser.add_argument(
        "--size", type=lambda s: tuple(int(x) for x in s.split("x")), default=(640, 360)
    )
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
