"""Streams on this node: one router per stream, fed by a supervised ingest.

Status follows the ingest (starting -> live -> error -> live ...). A stream
whose worker dies goes to error at once and is re-ingested on the restarted
worker; a stopped stream holds nothing (no router, no process, no ports).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mediasoup_driver import Producer, Router, RouterOptions

from media_node.errors import InvalidArgument, NotFound
from media_node.ingest import Ingest, IngestSpec, check_rtsp_url, router_media_codecs
from media_node.pool import WorkerPool, WorkerSlot
from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)

Status = Literal["starting", "live", "stopped", "error"]
STATUS_TO_PB = {
    "starting": pb.STREAM_STATUS_STARTING,
    "live": pb.STREAM_STATUS_LIVE,
    "stopped": pb.STREAM_STATUS_STOPPED,
    "error": pb.STREAM_STATUS_ERROR,
}
CODEC_NAMES = {pb.CODEC_UNSPECIFIED: None, pb.CODEC_VP8: "vp8", pb.CODEC_H264: "h264"}
CODEC_TO_PB = {"vp8": pb.CODEC_VP8, "h264": pb.CODEC_H264}
TRANSCODE_MODES = {
    pb.TRANSCODE_MODE_AUTO: "auto",
    pb.TRANSCODE_MODE_ALWAYS: "always",
    pb.TRANSCODE_MODE_NEVER: "never",
}


@dataclass(eq=False)
class Stream:
    id: str
    source: pb.StreamSource
    codec: int
    spec: IngestSpec
    status: Status = "starting"
    reason: str = ""
    slot: WorkerSlot | None = None
    router: Router | None = None
    ingest: Ingest | None = None
    consumer_ids: set[str] = field(default_factory=set)
    generation: int = 0
    """Bumped on every (re)launch so late callbacks of an old ingest are ignored."""
    relay_producer: Producer | None = None
    """Edge relays (relay.py): the producer piped from the origin node (no ingest here)."""
    relay_audio_producer: Producer | None = None
    """Edge relays: the audio producer piped from the origin, when the stream has audio."""

    @property
    def producer(self) -> Producer | None:
        """What viewers consume: the ingest's producer, or the relayed one on an edge."""
        if self.relay_producer is not None:
            return self.relay_producer
        return self.ingest.producer if self.ingest is not None else None

    @property
    def audio_producer(self) -> Producer | None:
        """The stream's audio producer (None without audio): the ingest's, or on an edge
        the relayed one."""
        if self.relay_producer is not None:
            return self.relay_audio_producer
        return self.ingest.audio_producer if self.ingest is not None else None

    @property
    def producer_id(self) -> str:
        producer = self.producer
        return producer.id if producer is not None and not producer.closed else ""


def spec_from_request(
    source: pb.StreamSource,
    codec: int,
    no_packet_timeout_s: float,
    transcode_max_height: int = 1080,
) -> IngestSpec:
    """Validates the StartStream source (InvalidArgument names the field)."""
    codec_name = CODEC_NAMES.get(codec, "invalid")
    if codec_name == "invalid":
        raise InvalidArgument("codec", f"unknown value {codec}")
    kind = source.WhichOneof("kind")
    if kind == "test_pattern":
        pattern = source.test_pattern
        for name in ("width", "height", "fps"):
            value = getattr(pattern, name)
            if value and not 16 <= value <= (120 if name == "fps" else 4096):
                raise InvalidArgument(f"source.test_pattern.{name}", f"out of range ({value})")
        return IngestSpec(
            kind="test_pattern",
            codec=codec_name or "vp8",
            width=pattern.width or 640,
            height=pattern.height or 360,
            fps=pattern.fps or 30,
            keyframe_interval_s=pattern.keyframe_interval_s or 10,
            no_packet_timeout_s=no_packet_timeout_s,
            audio=pattern.audio,
        )
    if kind == "rtsp":
        url = source.rtsp.url
        try:
            check_rtsp_url(url)
        except ValueError as error:
            raise InvalidArgument("source.rtsp.url", str(error).removeprefix("url: ")) from None
        mode = TRANSCODE_MODES.get(source.rtsp.transcode_mode)
        if mode is None:
            raise InvalidArgument("source.rtsp.transcode_mode", "unknown value")
        if source.rtsp.transcode:
            mode = "always"  # the legacy flag: re-encoded, to VP8 unless H.264 is asked
        output = codec_name or ("vp8" if source.rtsp.transcode else "h264")
        if mode == "never" and output != "h264":
            raise InvalidArgument("codec", "passthrough (transcode never) carries H.264 only")
        return IngestSpec(
            kind="rtsp",
            codec=output,
            url=url,
            transcode=mode,  # type: ignore[arg-type]
            max_height=transcode_max_height,
            no_packet_timeout_s=no_packet_timeout_s,
            fast_start=not source.rtsp.no_fast_start,
            audio=not source.rtsp.no_audio,
        )
    if kind == "rtp":
        return IngestSpec(
            kind="rtp", codec=codec_name or "h264", no_packet_timeout_s=no_packet_timeout_s
        )
    raise InvalidArgument("source", "one of test_pattern, rtsp, rtp is required")


StatusListener = Callable[[Stream], None]


class StreamManager:
    def __init__(
        self,
        pool: WorkerPool,
        listen_ip: str,
        no_packet_timeout_s: float,
        on_status: StatusListener,
        announced_address: str | None = None,
        transcode_max_height: int = 1080,
    ) -> None:
        self._pool = pool
        self._transcode_max_height = transcode_max_height
        self._listen_ip = listen_ip
        self._announced_address = announced_address
        self._no_packet_timeout_s = no_packet_timeout_s
        self._on_status = on_status
        self.streams: dict[str, Stream] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    def get(self, stream_id: str) -> Stream:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise NotFound(f"stream {stream_id!r} not found on this node")
        return stream

    async def start(self, stream_id: str, source: pb.StreamSource, codec: int) -> Stream:
        if not stream_id:
            raise InvalidArgument("stream_id", "required")
        spec = spec_from_request(
            source, codec, self._no_packet_timeout_s, self._transcode_max_height
        )
        stream = self.streams.get(stream_id)
        if stream is not None and stream.status != "stopped":
            if stream.spec == spec:
                return stream  # already starting/live/retrying with this source
            await self._teardown(stream)
        stream = Stream(stream_id, source, codec, spec)
        self.streams[stream_id] = stream
        await self._launch(stream)
        return stream

    async def stop(self, stream_id: str) -> Stream:
        stream = self.get(stream_id)
        if stream.status != "stopped":
            await self._teardown(stream)
            self._set_status(stream, "stopped", "stopped on request")
        return stream

    def forget(self, stream_id: str) -> None:
        """Drops a stopped stream (it holds nothing any more); NotFound when unknown."""
        stream = self.get(stream_id)
        if stream.status == "stopped":
            del self.streams[stream_id]

    async def _launch(self, stream: Stream) -> None:
        stream.generation += 1
        generation = stream.generation
        slot = self._pool.least_loaded()
        await slot.ready.wait()
        assert slot.worker is not None
        router = await slot.worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
        slot.routers += 1
        stream.slot, stream.router = slot, router
        self._set_status(stream, "starting", "")

        def on_ingest_status(status: str, reason: str) -> None:
            if stream.generation == generation and stream.status != "stopped":
                self._set_status(stream, status, reason)  # type: ignore[arg-type]

        def on_video(_media: object) -> None:
            if stream.generation == generation and stream.status != "stopped":
                self._on_status(stream)  # GET shows the video and audio; same status

        stream.ingest = Ingest(
            router,
            stream.spec,
            listen_ip=self._listen_ip,
            on_status=on_ingest_status,
            on_video=on_video,
            on_audio=on_video,
        )
        try:
            await stream.ingest.start()
        except Exception as error:
            _log.exception("stream %s: ingest failed to start", stream.id)
            self._set_status(stream, "error", f"ingest failed to start: {error}")

    async def _teardown(self, stream: Stream) -> None:
        stream.generation += 1
        ingest, router, slot = stream.ingest, stream.router, stream.slot
        stream.ingest = stream.router = stream.slot = None
        if ingest is not None:
            await ingest.stop()
        if router is not None:
            await router.close()
        if slot is not None:
            slot.routers -= 1

    def _set_status(self, stream: Stream, status: Status, reason: str) -> None:
        if (stream.status, stream.reason) == (status, reason):
            return
        stream.status, stream.reason = status, reason
        _log.info("stream %s: %s %s", stream.id, status, reason)
        self._on_status(stream)

    # -- worker death and restart -----------------------------------------------------

    def worker_died(self, slot: WorkerSlot) -> list[str]:
        """Marks the slot's streams failed (their routers are gone) and re-ingests them on
        the least-loaded running worker (the restarted one if it is the only one)."""
        affected = [s for s in self.streams.values() if s.slot is slot and s.status != "stopped"]
        for stream in affected:
            stream.generation += 1
            ingest = stream.ingest
            stream.ingest = stream.router = stream.slot = None
            slot.routers -= 1
            self._set_status(stream, "error", "worker died")
            task = asyncio.ensure_future(self._relaunch(stream, ingest))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return [s.id for s in affected]

    async def _relaunch(self, stream: Stream, old_ingest: Ingest | None) -> None:
        generation = stream.generation
        if old_ingest is not None:
            try:
                await old_ingest.stop()  # its process; the router is already gone
            except Exception:
                _log.exception("stream %s: stopping the old ingest failed", stream.id)
        if stream.generation == generation and stream.status == "error":
            await self._launch(stream)

    async def close(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        for stream in list(self.streams.values()):
            with contextlib.suppress(Exception):
                await self._teardown(stream)
