"""A real RTSP server for ingest tests: GStreamer's gst-rtsp-server imitating an IP camera.

Runs with the *system* Python (``/usr/bin/python3``), which has ``gi`` and the
GstRtspServer typelib (Debian: python3-gi, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-rtsp); the project's virtualenv has no ``gi``, so tests start this
file as a subprocess (``RtspServer.start``) rather than importing it. Once the
server listens it prints one line, ``READY rtsp://127.0.0.1:<port><path>``, so a
test awaits that line instead of sleeping.

The stream imitates a camera (``--kind``, see ``CAMERA_KINDS``): by default H.264
constrained baseline from x264enc with a fixed GOP (``--gop`` frames) and SPS/PPS
before every IDR; also H.264 main/high, H.265, MJPEG. ``--port 0`` picks a
free port; restart on the same ``--port`` to simulate a camera coming back.

``--marker`` (bench/av_offset.py) makes the camera a lip-sync clapperboard: once a
second a white flash in the picture and a 1 kHz beep in the audio (silence between),
starting at the same pipeline timestamp (see ``MarkerClock``). Without the flag the
pipeline is exactly the plain camera's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = str(Path(__file__).resolve())


CAMERA_KINDS = ("h264", "h264-main", "h264-high", "h265", "mjpeg", "mpeg4")
"""What the test camera can send: H.264 (constrained baseline, main, high), H.265,
MJPEG, MPEG-4 Part 2 (simple profile, RTP MP4V-ES); each from a real encoder at the
asked size, rate and GOP."""

MPEG4_ENCODER = "mpeg4enc"
"""Name of the MPEG-4 Part 2 encoder, whose timestamps ``restamp_mpeg4`` repairs."""


def video_chain(kind: str, gop: int) -> str:
    """The encoder and payloader of one camera kind (gst-launch syntax: test support only)."""
    x264 = f"x264enc tune=zerolatency key-int-max={gop} bitrate=2000"
    h264pay = "rtph264pay name=pay0 pt=96 config-interval=-1"
    if kind == "h264":
        return (
            f"{x264} speed-preset=ultrafast ! video/x-h264,profile=constrained-baseline ! {h264pay}"
        )
    if kind in ("h264-main", "h264-high"):
        # superfast, not ultrafast: x264 signals the lowest profile its tools need, and
        # ultrafast uses none beyond baseline (no CABAC, no 8x8 transform).
        return (
            f"{x264} speed-preset=superfast ! video/x-h264,profile={kind.split('-')[1]} ! {h264pay}"
        )
    if kind == "h265":
        return (
            f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=1500 "
            "! video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    if kind == "mpeg4":
        # No B-frames: output order is input order (restamp_mpeg4 relies on it). The
        # VOL/VOS config rides in the SDP and before every key frame (config-interval).
        return (
            f"avenc_mpeg4 name={MPEG4_ENCODER} bitrate=2000000 gop-size={gop} max-bframes=0 "
            "! rtpmp4vpay name=pay0 pt=96 config-interval=1"
        )
    if kind == "mjpeg":
        # RTP/JPEG (RFC 2435) carries 4:2:0 or 4:2:2 only.
        return (
            "videoconvert ! video/x-raw,format=I420 ! jpegenc quality=60 "
            "! rtpjpegpay name=pay0 pt=26"
        )
    raise SystemExit(f"unknown camera kind {kind!r}")


AUDIO_KINDS = ("aac", "pcma", "pcmu")


MARKER_FLASH = "markerflash"
MARKER_BEEP = "markerbeep"
MARKER_ON_NS = 200_000_000
"""How long each flash and beep lasts (5 frames at 25 fps, 10 Opus frames)."""


def audio_chain(kind: str, marker: bool = False) -> str:
    """A 440 Hz tone as a camera's microphone would send it (second stream, ``pay1``);
    with ``marker``, a 1 kHz beep gated by ``MarkerClock`` instead."""
    tone = "audiotestsrc is-live=true wave=sine freq=440 volume=0.3"
    if marker:
        tone = (
            "audiotestsrc is-live=true wave=sine freq=1000 volume=0.5 "
            f"! volume name={MARKER_BEEP} volume=0"
        )
    if kind == "aac":
        return (
            f"{tone} ! audio/x-raw,rate=16000,channels=1 ! avenc_aac ! aacparse "
            "! rtpmp4gpay name=pay1 pt=97"
        )
    if kind in ("pcma", "pcmu"):
        encoder = "alawenc" if kind == "pcma" else "mulawenc"
        pay = "rtppcmapay name=pay1 pt=8" if kind == "pcma" else "rtppcmupay name=pay1 pt=0"
        return f"{tone} ! audio/x-raw,rate=8000,channels=1 ! {encoder} ! {pay}"
    raise SystemExit(f"unknown audio kind {kind!r}")


class MarkerClock:
    """Flash and beep at the same pipeline timestamps: the first video frame's PTS plus
    whole seconds.

    Why these tools: both sources are live in one pipeline, so their buffer timestamps
    are running time on the same clock. The video frame at a whole second after the
    first one (integer frame rates land on it exactly) is whitened by ``videobalance``,
    whose brightness a probe on its sink pad sets from the frame's PTS before the frame
    is processed. The audio's ``volume`` is driven by a step control source with points
    at the same instants, which ``volume`` applies per sample: the beep's first sample
    is the flash frame's timestamp, not the next audio buffer's.
    """

    HOURS = 3600
    """Marker seconds scheduled ahead (a control source holds every point)."""

    def __init__(self, flash: object, beep: object | None) -> None:
        import gi

        gi.require_version("GstController", "1.0")
        from gi.repository import Gst, GstController

        self.gst = Gst
        self.flash = flash
        self.base: int | None = None
        self.lit = False
        self.control: object | None = None
        if beep is not None:
            control = GstController.InterpolationControlSource()
            control.set_property("mode", GstController.InterpolationMode.NONE)
            binding = GstController.DirectControlBinding.new_absolute(beep, "volume", control)
            beep.add_control_binding(binding)  # type: ignore[attr-defined]
            self.control = control
        flash.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self.on_frame)  # type: ignore[attr-defined]

    def on_frame(self, _pad: object, info: object) -> object:
        second = self.gst.SECOND
        pts = info.get_buffer().pts  # type: ignore[attr-defined]
        if self.base is None:
            self.base = pts
            if self.control is not None:
                self.control.set(0, 0.0)  # type: ignore[attr-defined]
                for k in range(1, self.HOURS + 1):
                    self.control.set(pts + k * second, 1.0)  # type: ignore[attr-defined]
                    self.control.set(pts + k * second + MARKER_ON_NS, 0.0)  # type: ignore[attr-defined]
        lit = pts > self.base and (pts - self.base) % second < MARKER_ON_NS
        if lit != self.lit:
            self.flash.set_property("brightness", 1.0 if lit else 0.0)  # type: ignore[attr-defined]
            self.lit = lit
        return self.gst.PadProbeReturn.OK


def restamp_mpeg4(encoder: object) -> None:
    """Gives avenc_mpeg4's output the timestamps of its input.

    Why: with GStreamer 1.22's gst-libav here, avenc_mpeg4 stamps every output buffer
    with PTS 2^63 ns (libav's "no PTS" converted as a time) inside a segment that
    GstVideoEncoder starts 1000 h later. rtpmp4vpay then computes no running time (every
    RTP timestamp equal) and the RTSP server's udpsink, which syncs to the clock, waits
    for a running time that never comes: the camera served SDP and sent no RTP. Without
    B-frames each output buffer is the next input frame, so its PTS is the input's,
    moved into the output segment (input PTS + output segment start).
    """
    import collections

    from gi.repository import Gst

    queued: collections.deque[tuple[int, int]] = collections.deque()
    segment_start = [0]

    def on_input(_pad: object, info: object) -> object:
        buffer = info.get_buffer()  # type: ignore[attr-defined]
        queued.append((buffer.pts, buffer.duration))
        return Gst.PadProbeReturn.OK

    def on_output(_pad: object, info: object) -> object:
        if info.type & Gst.PadProbeType.EVENT_DOWNSTREAM:  # type: ignore[attr-defined]
            event = info.get_event()  # type: ignore[attr-defined]
            if event.type == Gst.EventType.SEGMENT:
                segment_start[0] = event.parse_segment().start
            return Gst.PadProbeReturn.OK
        buffer = info.get_buffer()  # type: ignore[attr-defined]
        if queued:
            pts, duration = queued.popleft()
            buffer.pts = buffer.dts = pts + segment_start[0]
            buffer.duration = duration
        return Gst.PadProbeReturn.OK

    encoder.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_input)  # type: ignore[attr-defined]
    encoder.get_static_pad("src").add_probe(  # type: ignore[attr-defined]
        Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, on_output
    )


def _serve(
    port: int,
    path: str,
    width: int,
    height: int,
    fps: int,
    gop: int,
    kind: str,
    audio: str | None = None,
    marker: bool = False,
) -> None:
    import gi  # only in the system Python

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 "
        "! clockoverlay "
        + (f"! videobalance name={MARKER_FLASH} " if marker else "")
        + f"! {video_chain(kind, gop)} "
        + (audio_chain(audio, marker) if audio else "")
        + " )"
    )
    # One pipeline for every client, as a camera has one encoder.
    factory.set_shared(True)
    markers: list[MarkerClock] = []  # kept alive with their media

    def on_media(_factory: object, media: object) -> None:
        encoder = media.get_element().get_by_name(MPEG4_ENCODER)  # type: ignore[attr-defined]
        if encoder is not None:
            restamp_mpeg4(encoder)
        if marker:
            pipeline = media.get_element()  # type: ignore[attr-defined]
            markers.append(
                MarkerClock(pipeline.get_by_name(MARKER_FLASH), pipeline.get_by_name(MARKER_BEEP))
            )

    factory.connect("media-configure", on_media)
    server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"ERROR cannot listen on port {port}", flush=True)
        raise SystemExit(1)
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{path}", flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()


@dataclass
class RtspServer:
    """Handle of a running server subprocess (test side, project virtualenv)."""

    process: asyncio.subprocess.Process
    url: str
    port: int

    @classmethod
    async def start(
        cls,
        port: int = 0,
        path: str = "/cam",
        gop: int = 30,
        within: float = 15.0,
        kind: str = "h264",
        size: tuple[int, int] = (640, 360),
        fps: int = 30,
        audio: str | None = None,
        marker: bool = False,
    ) -> RtspServer:
        """Starts the server and waits for its READY line (raises if it exits first)."""
        process = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON,
            SCRIPT,
            "--port",
            str(port),
            "--path",
            path,
            "--gop",
            str(gop),
            "--kind",
            kind,
            "--width",
            str(size[0]),
            "--height",
            str(size[1]),
            "--fps",
            str(fps),
            *(["--audio", audio] if audio else []),
            *(["--marker"] if marker else []),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,  # left on the test's stderr: pytest shows it on failure
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(within):
                while True:
                    line = (await process.stdout.readline()).decode().strip()
                    if not line:
                        raise RuntimeError(f"RTSP server exited ({await process.wait()})")
                    if line.startswith("READY "):
                        url = line.split(" ", 1)[1]
                        break
                    if line.startswith("ERROR"):
                        raise RuntimeError(line)
        except BaseException:
            await _kill(process)
            raise
        bound_port = int(url.split(":")[2].split("/")[0])
        return cls(process, url, bound_port)

    async def stop(self) -> None:
        """Kills the server like a camera losing power (no RTSP TEARDOWN)."""
        await _kill(self.process)


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--gop", type=int, default=30, help="key-frame interval in frames")
    parser.add_argument("--kind", default="h264", choices=CAMERA_KINDS)
    parser.add_argument("--audio", default=None, choices=AUDIO_KINDS)
    parser.add_argument(
        "--marker", action="store_true", help="a flash and a beep at each whole second"
    )
    args = parser.parse_args()
    _serve(
        args.port,
        args.path,
        args.width,
        args.height,
        args.fps,
        args.gop,
        args.kind,
        args.audio,
        args.marker,
    )


if __name__ == "__main__":
    sys.exit(main())
