"""Snapshots: a JPEG of a stream's latest video key frame, made only when asked.

Nothing runs for a stream until its first snapshot request. That request opens a
*snapshot session* on the stream's router: a PlainTransport consumer of the video
producer whose RTP the node reads on a UDP socket and hands, framed (RFC 4571
two-byte lengths), to a `gst-launch-1.0` child on its stdin. The child depayloads,
drops every delta frame before the decoder (`identity drop-buffer-flags=delta-unit`,
so only key frames are decoded: one decode per GOP) and writes one JPEG per key frame
to stdout (multipart). The session keeps the latest one: that is the cache, one JPEG
per key frame. It lingers `linger_s` after the last request, then closes.

Choices: the first picture needs a key frame. The consumer asks for one at once; a
node-encoded stream (test pattern, transcoded camera) answers within a frame, a
passed-through camera does not (its GOP decides: up to its key-frame interval, which
the timeout must cover). Keeping the last key frame's packets of every stream all the
time would answer passthrough cameras at once, but costs a consumer per stream while
nobody asks. The child's stdin is its lifeline: when the node dies, the pipe closes,
fdsrc ends the stream and the child exits (no orphans). Its argv holds only values the
node chooses (payload type, codec from a fixed table, sizes as integers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from dataclasses import dataclass, field

from mediasoup_driver import ConsumerOptions, ListenInfo, PlainTransportOptions, Router

from media_node.errors import FailedPrecondition, InvalidArgument

_log = logging.getLogger(__name__)
GST = "gst-launch-1.0"
_DEPAY = {
    "video/h264": ("H264", "rtph264depay ! h264parse", "avdec_h264"),
    "video/vp8": ("VP8", "rtpvp8depay", "vp8dec"),
}
_MAX_BUFFERED = 2 * 1024 * 1024  # bytes queued to the child's stdin before packets drop


@dataclass(frozen=True)
class Picture:
    jpeg: bytes
    width: int
    height: int
    seq: int
    at_ms: int


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's SOF marker; ValueError when there is none."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ValueError("no SOF marker")


class _Feed(asyncio.DatagramProtocol):
    """RTP datagrams from the worker → framed writes on the child's stdin."""

    def __init__(self, stdin: asyncio.StreamWriter) -> None:
        self.stdin = stdin

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.stdin.is_closing() or self.stdin.transport.get_write_buffer_size() > _MAX_BUFFERED:
            return
        self.stdin.write(struct.pack(">H", len(data)) + data)


@dataclass(eq=False)
class Session:
    """One stream's decoder while snapshots are asked for."""

    producer_id: str
    process: asyncio.subprocess.Process
    transport: object
    udp: asyncio.DatagramTransport
    consumer: object
    latest: Picture | None = None
    last_used: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    scaled: dict[tuple[int, int], bytes] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return (
            self.process.returncode is None
            and not getattr(self.transport, "closed", True)
            and not getattr(self.consumer, "closed", True)
        )

    async def read_pictures(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        seq = 0
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while True:
                head = await stdout.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if not length:
                    continue
                jpeg = await stdout.readexactly(length)
                try:
                    width, height = jpeg_size(jpeg)
                except ValueError:
                    continue
                seq += 1
                self.latest = Picture(jpeg, width, height, seq, int(time.time() * 1000))
                self.scaled.clear()
                self.changed.set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.udp.close()
        with contextlib.suppress(Exception):
            await self.transport.close()  # type: ignore[attr-defined]
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


class Snapshots:
    """Snapshot sessions per stream id."""

    def __init__(self, listen_ip: str, timeout_s: float, linger_s: float) -> None:
        self._listen_ip = listen_ip
        self._timeout_s = timeout_s
        self._linger_s = linger_s
        self._sessions: dict[str, Session] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    @property
    def open_sessions(self) -> int:
        return len(self._sessions)

    async def get(
        self, stream_id: str, router: Router, producer_id: str, width: int
    ) -> tuple[Picture, bytes, bool]:
        """(the latest key frame, its JPEG at `width` or the source size, cached)."""
        if width and not 16 <= width <= 3840:
            raise InvalidArgument("width", f"out of range ({width}; 16..3840 or 0)")
        lock = self._opening.setdefault(stream_id, asyncio.Lock())
        async with lock:
            session = self._sessions.get(stream_id)
            if session is not None and (not session.alive or session.producer_id != producer_id):
                await self.close_stream(stream_id)
                session = None
            if session is None:
                session = await self._open(stream_id, router, producer_id)
        session.last_used = time.monotonic()
        cached = session.latest is not None
        picture = session.latest or await self._first_picture(stream_id, session)
        if not width or width == picture.width:
            return picture, picture.jpeg, cached
        key = (picture.seq, width)
        scaled = session.scaled.get(key)
        if scaled is None:
            height = max(2, round(picture.height * width / picture.width / 2) * 2)
            scaled = await scale(picture.jpeg, width, height)
            session.scaled[key] = scaled
        return picture, scaled, cached

    async def _first_picture(self, stream_id: str, session: Session) -> Picture:
        deadline = time.monotonic() + self._timeout_s
        while session.latest is None:
            left = deadline - time.monotonic()
            if left <= 0 or not session.alive:
                raise FailedPrecondition(
                    f"stream {stream_id!r}: no key frame within {self._timeout_s:g} s"
                )
            session.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.changed.wait(), min(left, 0.5))
        return session.latest

    async def _open(self, stream_id: str, router: Router, producer_id: str) -> Session:
        transport = await router.create_plain_transport(
            PlainTransportOptions(listen_info=ListenInfo(ip=self._listen_ip), rtcp_mux=True)
        )
        process: asyncio.subprocess.Process | None = None
        udp: asyncio.DatagramTransport | None = None
        try:
            consumer = await transport.consume(
                ConsumerOptions(
                    producer_id=producer_id,
                    rtp_capabilities=dict(router.rtp_capabilities),  # type: ignore[arg-type]
                    paused=True,
                )
            )
            codec = consumer.rtp_parameters["codecs"][0]
            mime = str(codec["mimeType"]).lower()
            if mime not in _DEPAY:
                raise FailedPrecondition(f"stream {stream_id!r}: no snapshot decoder for {mime}")
            process = await asyncio.create_subprocess_exec(
                *decoder_argv(mime, int(codec["payloadType"]), int(codec["clockRate"])),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=16 * 1024 * 1024,
            )
            assert process.stdin is not None
            loop = asyncio.get_running_loop()
            feed = _Feed(process.stdin)
            udp, _ = await loop.create_datagram_endpoint(
                lambda: feed, local_addr=(self._listen_ip, 0)
            )
            port = udp.get_extra_info("sockname")[1]
            await transport.connect(ip=self._listen_ip, port=port)
            await consumer.resume()
            await consumer.request_key_frame()
        except BaseException:
            if udp is not None:
                udp.close()
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
            with contextlib.suppress(Exception):
                await transport.close()
            raise
        session = Session(producer_id, process, transport, udp, consumer)
        session.tasks.append(asyncio.create_task(session.read_pictures()))
        session.tasks.append(asyncio.create_task(self._linger(stream_id, session)))
        self._sessions[stream_id] = session
        _log.info("stream %s: snapshot session opened (pid %d)", stream_id, process.pid)
        return session

    async def _linger(self, stream_id: str, session: Session) -> None:
        while True:
            idle = time.monotonic() - session.last_used
            if idle >= self._linger_s:
                break
            await asyncio.sleep(self._linger_s - idle)
        if self._sessions.get(stream_id) is session:
            del self._sessions[stream_id]
            session.tasks.remove(asyncio.current_task())  # type: ignore[arg-type]
            await session.close()
            _log.info("stream %s: snapshot session closed (unused)", stream_id)

    async def close_stream(self, stream_id: str) -> None:
        session = self._sessions.pop(stream_id, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        for stream_id in list(self._sessions):
            await self.close_stream(stream_id)


def decoder_argv(mime: str, payload_type: int, clock_rate: int) -> list[str]:
    """The key-frame decoder; every value comes from the node (fixed table, integers)."""
    name, depay, decoder = _DEPAY[mime]
    caps = (
        f"application/x-rtp-stream,media=video,encoding-name={name},"
        f"clock-rate={clock_rate:d},payload={payload_type:d}"
    )
    pipeline = (
        f"fdsrc fd=0 ! {caps} ! rtpstreamdepay ! rtpjitterbuffer latency=100 ! {depay} ! "
        f"identity drop-buffer-flags=delta-unit ! {decoder} ! videoconvert ! "
        "jpegenc quality=85 ! multipartmux ! fdsink fd=1"
    )
    return [GST, "-q", *pipeline.split(" ")]


async def scale(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG scaled to width x height (a one-shot GStreamer child)."""
    pipeline = (
        f"fdsrc fd=0 ! jpegparse ! jpegdec ! videoconvert ! videoscale ! "
        f"video/x-raw,width={width:d},height={height:d} ! jpegenc quality=85 ! fdsink fd=1"
    )
    process = await asyncio.create_subprocess_exec(
        GST,
        "-q",
        *pipeline.split(" "),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(jpeg), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise FailedPrecondition("scaling the snapshot timed out") from None
    if process.returncode != 0 or not out:
        raise FailedPrecondition(f"scaling the snapshot failed (exit {process.returncode})")
    return out
