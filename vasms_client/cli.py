"""`vasms-watch`: watch a live stream from a terminal or a script, and say how it went.

    vasms-watch STREAM_ID [--frames N] [--seconds S] [--snapshot out.png] [--json]
                [--url URL] [--token T | --username U --password P]

Server and credentials come from the options or from VASMS_URL, VASMS_TOKEN,
VASMS_USERNAME and VASMS_PASSWORD (the URL defaults to http://127.0.0.1:8080).
A progress line (frames, fps, bitrate) goes to stderr; the summary (text, or one JSON
object with --json) goes to stdout when watching ends.

Exit codes: 0 ok, 1 other failure (bad options, server unreachable, no frame in time),
2 stream not found (or deleted while watching), 3 stream not live, 4 authentication
(or authorisation) refused, 128+N when stopped by signal N (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from vasms_client.client import DEFAULT_URL, VasmsClient
from vasms_client.errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    IceFailedError,
    ServerUnreachableError,
    StreamNotFoundError,
    StreamNotLiveError,
    VasmsError,
)
from vasms_client.viewer import Frame, Viewer, ViewerStats, WatchOptions

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_NOT_FOUND = 2
EXIT_NOT_LIVE = 3
EXIT_AUTH = 4
EXIT_ICE = 5


class UsageError(Exception):
    """Options that cannot work; `exit_code` is 4 for missing credentials, else 1."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad options, but 2 means "stream not found" here: a script that
    checks exit codes must not mistake a typo for a missing stream, so bad options exit 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILURE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vasms-watch",
        description="Watch a VAS-MS live stream: decode its frames, report fps, bitrate and "
        "time to first frame, optionally save a snapshot.",
        epilog="Exit codes: 0 ok, 1 other failure (bad options too), 2 stream not found, "
        "3 stream not live, 4 authentication refused, 5 ICE failed (network blocks the media), "
        "130 interrupted.",
    )
    parser.add_argument("stream_id", metavar="STREAM_ID")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--snapshot", metavar="PATH", help="save the last frame as a PNG")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--url", help=f"control API (env VASMS_URL, default {DEFAULT_URL})")
    parser.add_argument("--token", help="bearer token (env VASMS_TOKEN)")
    parser.add_argument("--username", help="user name (env VASMS_USERNAME)")
    parser.add_argument(
        "--password", help="password (env VASMS_PASSWORD; prompted on a terminal if missing)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="fail (exit 1) when no frame came within S seconds (default 30; 0: no limit)",
    )
    parser.add_argument(
        "--wait-live", action="store_true", help="wait for a stream that is not live yet"
    )
    parser.add_argument(
        "--relay", action="store_true", help="relay-only ICE through the server's TURN"
    )
    parser.add_argument(
        "--turn-transport",
        choices=("udp", "tcp", "tls"),
        help="use only the server's TURN URLs of this transport",
    )
    parser.add_argument(
        "--ice-timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="ICE must connect within S seconds per route (default 15; exit 5 otherwise)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    parser.add_argument("--verbose", "-v", action="store_true", help="log lifecycle events")
    return parser


@dataclass(frozen=True, slots=True)
class Settings:
    """The command line merged with the environment (arguments win)."""

    url: str
    token: str | None
    username: str | None
    password: str | None

    @classmethod
    def resolve(cls, args: argparse.Namespace, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        url = args.url or env.get("VASMS_URL") or DEFAULT_URL
        token = args.token or env.get("VASMS_TOKEN") or None
        username = args.username or env.get("VASMS_USERNAME") or None
        password = args.password or env.get("VASMS_PASSWORD") or None
        if username and not password and sys.stdin.isatty():
            password = getpass.getpass(f"password for {username}: ")
        if username and not password:
            raise UsageError(
                f"no password for {username} (--password or VASMS_PASSWORD)", EXIT_AUTH
            )
        if not token and not username:
            raise UsageError(
                "no credentials: give --token or --username/--password "
                "(or VASMS_TOKEN, VASMS_USERNAME/VASMS_PASSWORD)",
                EXIT_AUTH,
            )
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--url must start with http:// or https://, got {url!r}")
        return cls(url, token, username, password if username else None)


def _human_bitrate(bps: float) -> str:
    if bps >= 1_000_000:
        return f"{bps / 1_000_000:.2f} Mbit/s"
    return f"{bps / 1000:.0f} kbit/s"


class Progress:
    """The progress line on stderr: redrawn in place on a terminal, else one line per 2 s
    (so logs of a non-interactive run stay readable)."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.tty = out.isatty()
        self.last = 0.0
        self.drawn = False

    def update(self, stats: ViewerStats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < (0.25 if self.tty else 2.0):
            return
        self.last = now
        line = (
            f"frames {stats.frames}  fps {stats.fps:.1f}  "
            f"bitrate {_human_bitrate(stats.bitrate_bps)}  "
            f"lost {stats.packet_loss * 100:.1f}%  [{stats.state}]"
        )
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
            self.drawn = True
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self.drawn:
            self.out.write("\n")
            self.out.flush()


@dataclass(slots=True)
class Outcome:
    """What the watch loop ended with."""

    ended: str  # frames | seconds | stream_deleted | timeout | interrupted | error
    frames: int
    last: Frame | None
    stats: ViewerStats | None
    duration_s: float


def summary_dict(
    stream_id: str, outcome: Outcome, snapshot: str | None, exit_code: int
) -> dict[str, Any]:
    stats = outcome.stats
    data: dict[str, Any] = {
        "stream_id": stream_id,
        "ended": outcome.ended,
        "exit_code": exit_code,
        "frames": outcome.frames,
        "duration_s": round(outcome.duration_s, 3),
        "snapshot": snapshot,
    }
    if stats is not None:
        average_bitrate = stats.bytes_received * 8 / outcome.duration_s if outcome.duration_s else 0
        data.update(
            {
                "frames_decoded": stats.frames,
                "frames_dropped": stats.frames_dropped,
                "fps": stats.average_fps,
                "bitrate_bps": round(average_bitrate, 1),
                "bytes_received": stats.bytes_received,
                "width": stats.width,
                "height": stats.height,
                "packets_received": stats.packets_received,
                "packets_lost": stats.packets_lost,
                "packet_loss": round(stats.packet_loss, 5),
                "time_to_first_frame_s": (
                    round(stats.time_to_first_frame_s, 3)
                    if stats.time_to_first_frame_s is not None
                    else None
                ),
                "reconnects": stats.reconnects,
                "last_disconnect_reason": stats.last_disconnect_reason,
                "candidate_type": stats.candidate_type,
                "ice_route": stats.ice_route,
            }
        )
    return data


def summary_text(data: dict[str, Any]) -> str:
    ttff = data.get("time_to_first_frame_s")
    rows = [
        ("stream", data["stream_id"]),
        ("ended", data["ended"]),
        ("frames", f"{data['frames']} ({data.get('frames_dropped', 0)} dropped)"),
        ("duration", f"{data['duration_s']:.2f} s"),
        ("fps", f"{data.get('fps', 0.0):.1f}"),
        ("bitrate", _human_bitrate(data.get("bitrate_bps") or 0.0)),
        ("resolution", f"{data.get('width')}x{data.get('height')}" if data.get("width") else "-"),
        (
            "packets",
            f"{data.get('packets_received', 0)} received, {data.get('packets_lost', 0)} lost "
            f"({(data.get('packet_loss') or 0.0) * 100:.2f} %)",
        ),
        ("time to first frame", f"{ttff:.3f} s" if ttff is not None else "-"),
        ("reconnects", str(data.get("reconnects", 0))),
    ]
    if data.get("snapshot"):
        rows.append(("snapshot", str(data["snapshot"])))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


async def watch_loop(
    viewer: Viewer,
    *,
    frames: int | None,
    seconds: float | None,
    first_frame_timeout: float,
    stop: asyncio.Event,
    progress: Progress,
) -> Outcome:
    """Consumes frames until a limit, the stream's deletion, a signal or the timeout."""
    started = time.monotonic()
    state: dict[str, Any] = {"count": 0, "last": None}

    async def consume() -> str:
        async for frame in viewer.frames():
            state["count"] += 1
            state["last"] = frame
            if frames is not None and state["count"] >= frames:
                return "frames"
        return viewer.ended_reason or "ended"

    task = asyncio.create_task(consume())
    ended = "error"
    try:
        while True:
            if task.done():
                ended = task.result()  # raises what stopped the viewer
                break
            elapsed = time.monotonic() - started
            if stop.is_set():
                ended = "interrupted"
                break
            if seconds is not None and elapsed >= seconds:
                ended = "seconds"
                break
            if state["count"] == 0 and 0 < first_frame_timeout <= elapsed:
                ended = "timeout"
                break
            progress.update(viewer.stats())
            waits: set[asyncio.Future[Any]] = {task, asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waits, timeout=0.25, return_when=asyncio.FIRST_COMPLETED
            )
            for future in pending - {task}:
                future.cancel()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        progress.done()
    return Outcome(ended, state["count"], state["last"], viewer.stats(), time.monotonic() - started)


def _exit_for(exc: BaseException) -> int:
    if isinstance(exc, AuthError | ForbiddenError):
        return EXIT_AUTH
    if isinstance(exc, StreamNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, StreamNotLiveError):
        return EXIT_NOT_LIVE
    if isinstance(exc, IceFailedError):
        return EXIT_ICE
    return EXIT_FAILURE


def _error_message(exc: BaseException, stream_id: str, url: str) -> str:
    if isinstance(exc, AuthError):
        return f"authentication refused by {url}: {exc.detail} ({exc.code})"
    if isinstance(exc, ForbiddenError):
        return f"not allowed: {exc.detail} ({exc.code})"
    if isinstance(exc, StreamNotFoundError):
        return f"stream {stream_id} not found"
    if isinstance(exc, StreamNotLiveError):
        status = f" (status: {exc.stream_status})" if exc.stream_status else ""
        return f"stream {stream_id} is not live{status}"
    if isinstance(exc, IceFailedError):
        return exc.detail
    if isinstance(exc, ServerUnreachableError):
        return str(exc)  # names the URL and the cause
    if isinstance(exc, ApiError):
        return f"{exc.detail} ({exc.code}, HTTP {exc.status})"
    return f"{type(exc).__name__}: {exc}"


def _print_error(args: argparse.Namespace, message: str, code: int, exc: Any = None) -> None:
    print(f"vasms-watch: {message}", file=sys.stderr)
    if args.json:
        error: dict[str, Any] = {"message": message}
        if isinstance(exc, ApiError):
            error.update({"code": exc.code, "status": exc.status, "detail": exc.detail})
        elif isinstance(exc, IceFailedError):
            error.update({"code": "ice_failed", "detail": exc.detail, "tried": exc.tried})
        body = {"stream_id": args.stream_id, "exit_code": code, "error": error}
        print(json.dumps(body))


async def run(args: argparse.Namespace) -> int:
    settings = Settings.resolve(args)
    stop = asyncio.Event()
    signalled: list[int] = []

    def on_signal(signum: int) -> None:
        """Ctrl-C and SIGTERM stop watching gracefully: detach, then print the summary."""
        signalled.append(signum)
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
    progress = Progress(sys.stderr, enabled=not args.quiet)
    options = WatchOptions(
        client_id=f"vasms-watch-{os.getpid()}",
        wait_live=args.wait_live,
        relay=args.relay,
        turn_transport=args.turn_transport,
        ice_timeout_s=args.ice_timeout,
    )
    client = VasmsClient(
        settings.url,
        token=settings.token,
        username=settings.username,
        password=settings.password,
    )
    try:
        async with client, client.watch(args.stream_id, options) as viewer:
            outcome = await watch_loop(
                viewer,
                frames=args.frames,
                seconds=args.seconds,
                first_frame_timeout=args.timeout,
                stop=stop,
                progress=progress,
            )
    except VasmsError as exc:
        code = _exit_for(exc)
        _print_error(args, _error_message(exc, args.stream_id, settings.url), code, exc)
        return code

    code = EXIT_OK
    message = None
    if outcome.ended == "interrupted":
        code = 128 + (signalled[0] if signalled else signal.SIGINT)
    elif outcome.ended == "timeout":
        code, message = EXIT_FAILURE, f"no frame within {args.timeout:g} s"
    elif outcome.ended == "stream_deleted":
        code, message = EXIT_NOT_FOUND, f"stream {args.stream_id} was deleted"
    snapshot = None
    if args.snapshot:
        if outcome.last is not None:
            snapshot = str(await asyncio.to_thread(outcome.last.save_png, args.snapshot))
        else:
            code = code or EXIT_FAILURE
            message = message or "no frame to save as snapshot"
    data = summary_dict(args.stream_id, outcome, snapshot, code)
    if message:
        print(f"vasms-watch: {message}", file=sys.stderr)
    print(json.dumps(data) if args.json else summary_text(data), flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames is not None and args.frames < 1:
        build_parser().error("--frames must be >= 1")
    if args.seconds is not None and args.seconds <= 0:
        build_parser().error("--seconds must be > 0")
    logging.basicConfig(
        level=logging.WARNING, format="vasms-watch: %(levelname)s %(name)s: %(message)s"
    )
    # aiortc and aioice log expected teardown noise at WARNING; they are not ours to report.
    for name in ("aiortc", "aioice", "pymediasoup"):
        logging.getLogger(name).setLevel(logging.DEBUG if args.verbose else logging.ERROR)
    logging.getLogger("vasms_client").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return asyncio.run(run(args))
    except UsageError as exc:
        _print_error(args, str(exc), exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
