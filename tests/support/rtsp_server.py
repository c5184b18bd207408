"""A real RTSP server for ingest tests: GStreamer's gst-rtsp-server serving an H.264 test pattern.

Runs with the *system* Python (``/usr/bin/python3``), which has ``gi`` and the
GstRtspServer typelib (Debian: python3-gi, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-rtsp); the project's virtualenv has no ``gi``, so tests start this
file as a subprocess (``RtspServer.start``) rather than importing it. Once the
server listens it prints one line, ``READY rtsp://127.0.0.1:<port><path>``, so a
test awaits that line instead of sleeping.

The stream imitates a camera: H.264 constrained baseline from x264enc with a
fixed GOP (``--gop`` frames) and SPS/PPS before every IDR. ``--port 0`` picks a
free port; restart on the same ``--port`` to simulate a camera coming back.
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


def _serve(port: int, path: str, width: int, height: int, fps: int, gop: int) -> None:
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
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} "
        "! video/x-h264,profile=constrained-baseline "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    # One pipeline for every client, as a camera has one encoder.
    factory.set_shared(True)
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
        cls, port: int = 0, path: str = "/cam", gop: int = 30, within: float = 15.0
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
    args = parser.parse_args()
    _serve(args.port, args.path, args.width, args.height, args.fps, args.gop)


if __name__ == "__main__":
    sys.exit(main())
