"""`Viewer`: decoded frames of one live stream, for as long as the caller wants them.

    async with client.watch(stream_id) as viewer:
        async for frame in viewer.frames():
            image = frame.to_ndarray()          # numpy array (height, width, 3), RGB

A supervisor task owns the media sessions (see `session.py`): it attaches, hands frames to
a bounded buffer that `frames()` reads, and when a session ends it decides what comes next
by asking the server about the stream:

- still live (the transport failed, the consumer was closed): attach again at once, then
  with exponential backoff while attaches keep failing or die before any frame;
- stopped, starting or error: wait (polling every `live_poll_s`) and attach when it is live
  again, so a stop → start cycle costs the caller nothing;
- deleted (404): end `frames()` cleanly, with `ended_reason == "stream_deleted"`;
- bad credentials, a codec this machine cannot decode: raise from `frames()`.

Leaving the `async with` (normally, by an exception or by cancellation) detaches: the
consumer is deleted on the server and the peer connection closed, shielded from further
cancellation so a cancelled worker leaves nothing behind on the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import av

from vasms_client.errors import (
    IceFailedError,
    MediaError,
    NotFoundError,
    ServerUnreachableError,
    ServiceUnavailableError,
    StreamNotFoundError,
    StreamNotLiveError,
    VasmsError,
)
from vasms_client.ice import TurnTransport
from vasms_client.session import MediaSession

if TYPE_CHECKING:
    import numpy as np

    from vasms_client.client import VasmsClient

log = logging.getLogger("vasms_client")

AUDIO_BUFFER_FRAMES = 250
"""Decoded audio frames kept for `audio_frames()` (5 s of 20 ms Opus frames)."""

ViewerState = Literal["idle", "connecting", "playing", "waiting_live", "reconnecting", "ended"]


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How a `Viewer` behaves; every default says why it is what it is."""

    client_id: str | None = None
    """Our id in the server's logs and dumps. Default: `vasms-client-<random>`, unique per
    viewer, so two workers on one host are told apart."""

    audio: bool = False
    """Receive the stream's audio too, for `audio_frames()`. Default False: analytics
    workers want pictures, and without it the server sends no audio at all."""

    wait_live: bool = False
    """Whether entering the viewer waits for a stream that is not live yet. Default False:
    a stopped stream or a typo should fail fast (`StreamNotLiveError`); long-running workers
    started before their camera set it True. After the first attach the viewer always waits
    for a stream that stops (see `reconnect`)."""

    reconnect: bool = True
    """Attach again after the session ends while the stream exists. Default True: analytics
    workers must ride through node restarts and stop/start cycles without code of their own.
    With False, `frames()` ends at the first disconnection (`ended_reason` tells why)."""

    max_offline_s: float | None = None
    """Give up (raise `StreamNotLiveError` from `frames()`) once the stream has not been
    live for this long. Default None: wait forever, as a camera may be down for hours."""

    backoff_initial_s: float = 0.5
    """First delay after a failed attach; doubles up to `backoff_max_s`. The first retry
    after a session that delivered frames is immediate (most failures are one-offs)."""

    backoff_max_s: float = 10.0
    """Cap of the backoff: a server that is down sees one attempt per 10 s per viewer."""

    live_poll_s: float = 1.0
    """How often a stopped stream's status is polled: a GET is cheap, and viewers resume
    within about a second of the stream going live."""

    health_check_s: float = 2.0
    """After this long without a frame, ask the server whether our consumer still exists:
    a server-side close does not always reach aiortc (a lost network drops the DTLS close)."""

    stall_timeout_s: float = 30.0
    """Reattach when no frame came for this long although the consumer looks alive (a fresh
    consumer gets a key frame at once). 30 s is above the longest key-frame interval of
    cameras that ignore key-frame requests."""

    buffer_frames: int | None = 30
    """Decoded frames kept for `frames()` when the caller is slower than the stream; the
    oldest are dropped (counted in `stats().frames_dropped`). 30 (one second at 30 fps)
    keeps a slow detector on recent pictures instead of minutes behind. None: keep all
    (a recorder that must see every frame, at the cost of unbounded memory)."""

    stats_interval_s: float = 1.0
    """How often receiver statistics (bytes, packets, loss) are sampled from aiortc."""

    detach_timeout_s: float = 5.0
    """Bound on the DELETE sent when leaving, so an unreachable server cannot hang exit
    (the peer connection's DTLS close then tells the node anyway)."""

    relay: bool = False
    """Relay-only ICE: media goes through the server's TURN (its `ice_servers`), never
    directly. Default False: direct is cheaper, and TURN is tried alongside anyway. For
    tests, and for networks where direct attempts are unwelcome."""

    turn_transport: TurnTransport | None = None
    """Use only the server's TURN URLs of this transport ("udp", "tcp" or "tls"). Default
    None: aiortc takes one TURN URL per attempt, so they are tried in turn, UDP → TCP → TLS,
    when ICE fails (at most one ICE timeout each)."""

    ice_timeout_s: float = 15.0
    """How long ICE may take to connect after consume before the attempt counts as failed
    (`IceFailedError` once every route failed). 15 s: a working path connects in well under
    a second even through TURN over TLS; a blocked one never does."""

    def __post_init__(self) -> None:
        for name in (
            "backoff_initial_s",
            "backoff_max_s",
            "live_poll_s",
            "health_check_s",
            "stall_timeout_s",
            "stats_interval_s",
            "detach_timeout_s",
            "ice_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.buffer_frames is not None and self.buffer_frames < 1:
            raise ValueError("buffer_frames must be >= 1 or None")
        if self.max_offline_s is not None and self.max_offline_s < 0:
            raise ValueError("max_offline_s must be >= 0 or None")


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame and when it came.

    `video_frame` is PyAV's `av.VideoFrame` (YUV 4:2:0 as decoded): `to_ndarray()` converts
    it to a numpy array, `save_png()` writes it. Timestamps:
    `received_at` is the wall clock (`time.time()`) when aiortc handed the frame over,
    comparable across hosts and with the test pattern's burnt-in clock; `media_time` is
    the sender's clock in seconds (RTP timestamp, 90 kHz), exact between frames of one
    session and restarting at each reconnect (`session` tells which).
    """

    video_frame: av.VideoFrame
    index: int
    """0-based position among all frames this viewer decoded (dropped ones included)."""
    session: int
    """0 for the first attach, +1 at each reconnect."""
    received_at: float
    media_time: float | None

    @property
    def width(self) -> int:
        return int(self.video_frame.width)

    @property
    def height(self) -> int:
        return int(self.video_frame.height)

    @property
    def pts(self) -> int | None:
        return self.video_frame.pts

    @property
    def time_base(self) -> Fraction | None:
        return self.video_frame.time_base

    def to_ndarray(self, format: str = "rgb24") -> np.ndarray:
        """A numpy array `(height, width, 3)` of uint8 (needs numpy, in the `client` extra).

        `format` is any PyAV pixel format: "rgb24" (default), "bgr24" for OpenCV,
        "gray" for `(height, width)` luma only.
        """
        return self.video_frame.to_ndarray(format=format)

    def save_png(self, path: str | Path) -> Path:
        """Writes the frame as a PNG (with PyAV's encoder: no Pillow needed)."""
        return save_png(self.video_frame, path)


def save_png(frame: av.VideoFrame, path: str | Path) -> Path:
    """Encodes one frame to PNG at its own resolution; returns the path written."""
    rgb = frame.reformat(format="rgb24")
    codec = av.CodecContext.create("png", "w")
    codec.width = rgb.width
    codec.height = rgb.height
    codec.pix_fmt = "rgb24"
    packets = [*codec.encode(rgb), *codec.encode(None)]
    target = Path(path)
    target.write_bytes(b"".join(bytes(p) for p in packets))
    return target


@dataclass(frozen=True, slots=True)
class ViewerStats:
    """A snapshot of a viewer's counters (`Viewer.stats()`); `as_dict()` for JSON."""

    state: ViewerState
    frames: int
    """Frames decoded since the viewer started (across reconnects)."""
    frames_dropped: int
    """Frames the caller was too slow for (see `WatchOptions.buffer_frames`)."""
    fps: float
    """Frames per second over the last two seconds (0 when fewer than two frames came)."""
    average_fps: float
    """Frames per second since the first frame."""
    bitrate_bps: float
    """Bits per second received by the current session's transport, last ~3 s."""
    bytes_received: int
    packets_received: int
    packets_lost: int
    packet_loss: float
    """packets_lost / (packets_received + packets_lost), 0..1, across sessions."""
    time_to_first_frame_s: float | None
    """From entering the viewer to its first decoded frame."""
    last_time_to_first_frame_s: float | None
    """From the current session's attach to its first frame (after a reconnect)."""
    reconnects: int
    """Sessions attached after the first one."""
    last_disconnect_reason: str | None
    width: int | None
    height: int | None
    consumer_id: str | None
    elapsed_s: float
    candidate_type: str | None = None
    """Our side of the ICE pair carrying the media: "host", "srflx" or "relay" (TURN)."""
    ice_route: str | None = None
    """"direct" or the TURN URL the current session was given."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Backoff:
    """Exponential backoff with jitter; the first delay after `reset()` is zero."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        if self.attempt == 1:
            return 0.0
        delay = min(self.maximum, self.initial * 2.0 ** (self.attempt - 2))
        return delay * random.uniform(0.8, 1.0)  # spread viewers that failed together


_RETRYABLE = (ServerUnreachableError, ServiceUnavailableError, MediaError, TimeoutError)


class Viewer:
    """Frames of one stream; create it with `VasmsClient.watch()` and use `async with`."""

    def __init__(self, client: VasmsClient, stream_id: str, options: WatchOptions) -> None:
        self.client = client
        self.stream_id = stream_id
        self.options = options
        self.client_id = options.client_id or f"vasms-client-{secrets.token_hex(4)}"
        maxlen = options.buffer_frames
        self._buffer: deque[Frame] = deque(maxlen=maxlen)
        self._audio: deque[av.AudioFrame] = deque(maxlen=AUDIO_BUFFER_FRAMES)
        self._audio_wakeup = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._state: ViewerState = "idle"
        self._session: MediaSession | None = None
        self._sessions = 0
        self._route_index = 0  # which TURN route of the server's list sessions use
        self._runner: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._ended_reason: str | None = None
        self._started_at: float | None = None
        self._first_frame_at: float | None = None
        self._frames = 0
        self._dropped = 0
        self._frame_times: deque[float] = deque(maxlen=512)
        self._size: tuple[int, int] | None = None
        self._last_disconnect: str | None = None
        # Totals of sessions already over (the current one adds its own live counters).
        self._done_bytes = 0
        self._done_packets = 0
        self._done_lost = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Attaches once (errors raise here), then lets the supervisor run.

        `StreamNotFoundError`, `AuthError` and, unless `wait_live`, `StreamNotLiveError`
        propagate: those are mistakes to report, not conditions to wait out.
        """
        if self._runner is not None or self._closing is not None:
            raise RuntimeError("a Viewer is started once")
        self._started_at = time.monotonic()
        session: MediaSession | None = None
        try:
            session = await self._attach()
        except StreamNotLiveError as exc:
            if not self.options.wait_live:
                await self._fill_status(exc)
                self._finish(f"not_live: {exc.stream_status or 'unknown'}")
                raise
            self._state = "waiting_live"
        except BaseException:
            self._finish("attach_failed")
            raise
        self._runner = asyncio.create_task(
            self._run(session), name=f"vasms-viewer-{self.client_id}"
        )

    async def close(self) -> None:
        """Detaches and stops; idempotent, and completes even if the caller is cancelled."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        runner = self._runner
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        if self._session is not None:
            await self._end_session(self._session, "detached")
        self._finish(self._ended_reason or "closed")

    def _finish(self, reason: str) -> None:
        if self._ended_reason is None:
            self._ended_reason = reason
        self._state = "ended"
        self._wakeup.set()
        self._audio_wakeup.set()

    @property
    def state(self) -> ViewerState:
        return self._state

    @property
    def ended_reason(self) -> str | None:
        """None while running; then "stream_deleted", "closed", "disconnected: …" (with
        `reconnect=False`) or the error that stopped it."""
        return self._ended_reason

    @property
    def consumer_id(self) -> str | None:
        """The current session's consumer on the server (None between sessions)."""
        return self._session.consumer_id if self._session else None

    @property
    def transport_id(self) -> str | None:
        """The current session's transport on the server (None between sessions)."""
        return self._session.transport_id if self._session else None

    # ------------------------------------------------------------------ frames

    async def frames(self, limit: int | None = None) -> AsyncIterator[Frame]:
        """Decoded frames as they come, across reconnects, until the stream is deleted or
        the viewer closes (or `limit` frames were yielded).

        Raises what stopped the viewer for good: `AuthError`, `CannotConsumeError`,
        `StreamNotLiveError` (with `max_offline_s`), ... The loop may be left and entered
        again; frames that arrive meanwhile wait in the buffer.
        """
        if self._runner is None and self._closing is None:
            raise RuntimeError("enter the viewer first: `async with client.watch(id) as viewer`")
        yielded = 0
        while limit is None or yielded < limit:
            if self._buffer:
                yielded += 1
                yield self._buffer.popleft()
                continue
            if self._state == "ended" or self._runner is None or self._runner.done():
                if self._error is not None:
                    raise self._error
                return
            self._wakeup.clear()
            if not self._buffer:
                await self._wakeup.wait()

    async def audio_frames(self, limit: int | None = None) -> AsyncIterator[av.AudioFrame]:
        """Decoded audio frames (PyAV, 20 ms each for Opus) as they come, across reconnects,
        until the viewer ends (or `limit` were yielded). Needs `watch(id, audio=True)`; a
        stream without audio yields nothing until the viewer ends. Raises what stopped the
        viewer for good, as `frames()` does. The newest `AUDIO_BUFFER_FRAMES` wait while
        the caller is away."""
        if not self.options.audio:
            raise RuntimeError("watch with audio=True to receive audio frames")
        if self._runner is None and self._closing is None:
            raise RuntimeError("enter the viewer first: `async with client.watch(id) as viewer`")
        yielded = 0
        while limit is None or yielded < limit:
            if self._audio:
                yielded += 1
                yield self._audio.popleft()
                continue
            if self._state == "ended" or self._runner is None or self._runner.done():
                if self._error is not None:
                    raise self._error
                return
            self._audio_wakeup.clear()
            if not self._audio:
                await self._audio_wakeup.wait()

    def _on_audio(self, _session: MediaSession, frame: av.AudioFrame) -> None:
        self._audio.append(frame)
        self._audio_wakeup.set()

    def _on_frame(self, session: MediaSession, video: av.VideoFrame) -> None:
        now = time.monotonic()
        if self._first_frame_at is None:
            self._first_frame_at = now
        self._frame_times.append(now)
        self._size = (int(video.width), int(video.height))
        if self._state in ("connecting", "reconnecting"):
            self._state = "playing"
        media_time = None
        if video.pts is not None and video.time_base is not None:
            media_time = float(video.pts * video.time_base)
        frame = Frame(video, self._frames, session.index, time.time(), media_time)
        self._frames += 1
        if self._buffer.maxlen is not None and len(self._buffer) == self._buffer.maxlen:
            self._dropped += 1
        self._buffer.append(frame)
        self._wakeup.set()

    # ------------------------------------------------------------------ stats

    def stats(self) -> ViewerStats:
        now = time.monotonic()
        session = self._session
        recent = [t for t in self._frame_times if now - t <= 2.0]
        fps = 0.0
        if len(recent) >= 2 and recent[-1] > recent[0]:
            fps = (len(recent) - 1) / (recent[-1] - recent[0])
        average = 0.0
        if self._first_frame_at is not None and self._frames > 1:
            span = (self._frame_times[-1] if self._frame_times else now) - self._first_frame_at
            average = (self._frames - 1) / span if span > 0 else 0.0
        received = self._done_packets + (session.packets_received if session else 0)
        lost = self._done_lost + (session.packets_lost if session else 0)
        ttff = None
        if self._first_frame_at is not None and self._started_at is not None:
            ttff = self._first_frame_at - self._started_at
        return ViewerStats(
            state=self._state,
            frames=self._frames,
            frames_dropped=self._dropped,
            fps=round(fps, 2),
            average_fps=round(average, 2),
            bitrate_bps=round(session.bitrate_bps(), 1) if session else 0.0,
            bytes_received=self._done_bytes + (session.bytes_received if session else 0),
            packets_received=received,
            packets_lost=lost,
            packet_loss=lost / (received + lost) if received + lost else 0.0,
            time_to_first_frame_s=ttff,
            last_time_to_first_frame_s=session.time_to_first_frame_s if session else None,
            reconnects=max(0, self._sessions - 1),
            last_disconnect_reason=self._last_disconnect,
            width=self._size[0] if self._size else None,
            height=self._size[1] if self._size else None,
            consumer_id=self.consumer_id,
            elapsed_s=now - self._started_at if self._started_at is not None else 0.0,
            candidate_type=session.pair.local_type if session and session.pair else None,
            ice_route=session.route_name if session else None,
        )

    # ------------------------------------------------------------------ supervision

    async def _attach(self) -> MediaSession:
        """One session, over each TURN route in turn while ICE fails on them.

        The route that worked is kept for later reattaches. `IceFailedError` (naming every
        route tried) once none got through: the network blocks the path, and trying the
        same routes again at once would not change that.
        """
        self._state = "connecting" if self._sessions == 0 else "reconnecting"
        opts = self.options
        tried: list[str] = []
        while True:
            session = MediaSession(
                self.client,
                self.stream_id,
                self.client_id,
                self._sessions,
                self._on_frame,
                stats_interval_s=opts.stats_interval_s,
                close_timeout_s=opts.detach_timeout_s,
                ice_policy="relay" if opts.relay else "all",
                turn_transport=opts.turn_transport,
                route_index=self._route_index,
                ice_timeout_s=opts.ice_timeout_s,
                audio_sink=self._on_audio if opts.audio else None,
            )
            try:
                await session.open()
                break
            except IceFailedError as exc:
                tried += exc.tried
                self._route_index += 1
                if not exc.tried or len(tried) >= max(1, session.routes_offered):
                    raise IceFailedError(
                        f"{exc.detail}; tried: {', '.join(tried) or 'nothing'}",
                        tried=tried,
                        timeout_s=opts.ice_timeout_s,
                    ) from exc
                log.info("viewer %s: %s; trying the next TURN route", self.client_id, exc)
        self._session = session
        self._sessions += 1
        return session

    async def _end_session(self, session: MediaSession, reason: str) -> None:
        """Closes a session and folds its counters into the totals, once: if we are
        cancelled while it closes, `self._session` still names it and `close()` finishes."""
        session.end(reason)
        await session.close()
        if self._session is session:
            self._session = None
            self._done_bytes += session.bytes_received
            self._done_packets += session.packets_received
            self._done_lost += session.packets_lost
            if reason != "detached":
                self._last_disconnect = session.end_reason

    async def _run(self, session: MediaSession | None) -> None:
        backoff = _Backoff(self.options.backoff_initial_s, self.options.backoff_max_s)
        try:
            while True:
                if session is None:
                    session = await self._reattach(backoff)
                    if session is None:
                        return
                reason = await self._supervise(session)
                await self._end_session(session, reason)
                if session.frames:
                    backoff.reset()
                session = None
                if not self.options.reconnect:
                    self._finish(f"disconnected: {reason}")
                    return
                self._state = "reconnecting"
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.warning("viewer %s of stream %s stopped: %r", self.client_id, self.stream_id, exc)
            self._error = exc
            if self._session is not None:  # detach now, not when the caller gets around to it
                await self._end_session(self._session, f"error: {type(exc).__name__}")
            self._finish(f"error: {exc}")
        finally:
            self._finish(self._ended_reason or "closed")

    async def _supervise(self, session: MediaSession) -> str:
        """Waits for the session to end; between frames, checks that it is still alive."""
        opts = self.options
        while True:
            try:
                async with asyncio.timeout(opts.health_check_s):
                    await session.ended.wait()
                return session.end_reason or "ended"
            except TimeoutError:
                pass
            idle = time.monotonic() - (session.last_frame_at or session.started_at)
            if idle < opts.health_check_s:
                continue
            reason = await self._health_check(session)
            if reason is None and idle >= opts.stall_timeout_s:
                reason = f"stalled: no frame for {idle:.0f} s"
            if reason is not None:
                return reason

    async def _health_check(self, session: MediaSession) -> str | None:
        """The server's word on our consumer; None when it looks alive (or is unknowable)."""
        consumer_id = session.consumer_id
        if consumer_id is None:
            return "no_consumer"
        try:
            info = await self.client.get_consumer(consumer_id)
        except NotFoundError:
            return "consumer_gone"
        except _RETRYABLE:
            return None
        if info.closed:
            return f"consumer_closed: {info.closed_reason or 'unknown'}"
        return None

    async def _reattach(self, backoff: _Backoff) -> MediaSession | None:
        """Attaches again once the stream is live; None when it was deleted."""
        offline_since: float | None = None
        while True:
            delay = backoff.next()
            if delay:
                await asyncio.sleep(delay)
            try:
                stream = await self.client.get_stream(self.stream_id)
            except StreamNotFoundError:
                self._finish("stream_deleted")
                return None
            except _RETRYABLE as exc:
                log.info("viewer %s: server unavailable (%s); retrying", self.client_id, exc)
                continue
            if not stream.can_consume:
                self._state = "waiting_live"
                now = time.monotonic()
                offline_since = offline_since or now
                limit = self.options.max_offline_s
                if limit is not None and now - offline_since >= limit:
                    raise StreamNotLiveError(
                        409,
                        "stream_not_live",
                        f"stream {self.stream_id} not live for {limit:.0f} s ({stream.status})",
                        stream_status=stream.status,
                    )
                backoff.reset()  # the first attempt once it is live again is immediate
                await asyncio.sleep(self.options.live_poll_s)
                continue
            offline_since = None
            try:
                return await self._attach()
            except StreamNotFoundError:
                self._finish("stream_deleted")
                return None
            except StreamNotLiveError:
                backoff.reset()  # went down again between the GET and consume: poll it
                continue
            except _RETRYABLE as exc:
                log.info("viewer %s: attach failed (%s); backing off", self.client_id, exc)
                continue

    async def _fill_status(self, exc: StreamNotLiveError) -> None:
        """Adds the stream's status to a not-live error (for messages like `stopped`)."""
        with contextlib.suppress(VasmsError):
            exc.stream_status = (await self.client.get_stream(self.stream_id)).status
