"""``Ingest``: one live stream fed into a router, supervised.

Per stream: a PlainTransport and a Producer in the router, and (kinds
``test_pattern`` and ``rtsp``) an ingest child process (``runner.py``, a GStreamer
pipeline built in code) sending RTP into it.

**Why the transport outlives the process.** Viewers consume the producer; were it
recreated on every process restart, each viewer would have to re-consume. So a
restart reuses the transport, its producer and both pipeline ports (P1 = the RTP
source port the transport is connected to, P2 = the RTCP port): the new process
binds the same ports and sends the same SSRC and payload type, and the worker
takes it as the same stream after one sequence-number jump. Only when a port is
no longer free (the process fails with "Address already in use") are new ports
needed; a PlainTransport can be connected once only, so the transport and
producer are then recreated and the new producer is announced via
``on_producer``.

**How packet flow is detected.** The producer's stats are polled every
``poll_interval_s`` (0.5 s): a growing ``packetCount`` means live, the same
poll gives the counters and bitrate ``stats()`` reports, and silence is timed
from the last growth. Score events alone would not do: the worker sends them
only when a score changes and lowers a silent stream's score late, so they
cannot time a configurable silence; but a positive score does wake the poller
at once, which cuts the starting → live latency below one poll period. One
stats request per stream per poll is negligible next to the channel's capacity.

**Failures.** A process that exits (or is killed) turns the stream to ``error``
with a reason from the runner's error event and is restarted after a backoff
(0.5 s doubling to 10 s, reset once a run has been live for 10 s). A process
that runs but sends nothing for ``no_packet_timeout_s`` is killed and
restarted the same way. The status stays ``error`` while retrying and turns
``live`` when RTP flows again.

**Audio** (``spec.audio``). The same transport carries a second producer, of kind
audio, with its own SSRC (``audio_ssrc``). It is created when a run reports the
audio branch it linked (the ``audio`` event: for a camera, only then is it known
whether it sends audio and in which codec), and again after the transport was
recreated or when a later run reports another codec. The stream's liveness is its
video's; audio comes and goes with it. Consumers of a replaced audio producer are
closed by the worker, like video ones.

**Kind ``rtp``.** No process: a comedia PlainTransport with rtcp-mux waits for an
external sender (``rtp_endpoint``), which must send SRTP with the stream's own key
(``SRTP_CRYPTO_SUITE``, a random key per ingest, shown to operators only). The
worker authenticates every packet before it learns the sender's address from it,
so whoever lacks the key can neither feed the stream nor latch the transport onto
their own address; a packet with another SSRC is dropped by the producer. The
worker latches onto the first keyed sender's address and ignores any other for
good, so a sender that restarts from a new source port would be shut out forever.
When the stream is silent while datagrams still reach the transport, the transport
is therefore re-armed once per silence:
recreated on the same port (new producer, announced via ``on_producer``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import logging
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

from mediasoup_driver import (
    Event,
    InvalidStateError,
    ListenInfo,
    MediasoupError,
    PlainTransport,
    PlainTransportOptions,
    Producer,
    ProducerOptions,
    ProducerScore,
    Router,
)
from mediasoup_driver.rtp_parameters import RtpParameters

from .pipelines import RtpTarget, run_config, runner_argv
from .process import Backoff, IngestProcess
from .spec import (
    PAYLOAD_TYPES,
    AudioCodec,
    AudioInfo,
    IngestSpec,
    IngestStats,
    RtpEndpoint,
    Status,
    VideoInfo,
    audio_producer_rtp_parameters,
    producer_rtp_parameters,
)

_log = logging.getLogger(__name__)

StatusCallback = Callable[[Status, str], object]
ProducerCallback = Callable[[Producer], object]
VideoCallback = Callable[[VideoInfo], object]
AudioCallback = Callable[[AudioInfo | None], object]

SRTP_CRYPTO_SUITE = "AES_CM_128_HMAC_SHA1_80"
"""What an RTP-push sender must encrypt with (ffmpeg's ``-srtp_out_suite``, GStreamer's
srtpenc, libsrtp): the suite every SRTP stack implements."""

LOOPBACK_IP = "127.0.0.1"
"""Where a supervised ingest's process and its transport talk: nothing outside the host
needs that transport, so it is never exposed beyond loopback."""


class Ingest:
    """A supervised ingest of one stream into ``router``.

    ``listen_ip``: kind ``rtp`` only, where the transport listens for the external
    sender; ``announced_address`` replaces it in ``rtp_endpoint`` (a public address
    behind NAT, or the host's address when listening on 0.0.0.0). ``test_pattern``
    and ``rtsp`` ignore both: their process and transport always meet on loopback
    (``LOOPBACK_IP``), so the node's listen address may be anything.

    ``on_status(status, reason)`` is called on every change of either (including the
    initial ``starting``); ``on_producer(producer)`` with the first producer during
    ``start()`` and with each replacement (its id changes; consumers of the old one
    were closed by the worker); ``on_video(video)`` when the codec or size viewers
    receive becomes known or changes. All are plain callables run on the event loop: they
    must not block; exceptions are logged and ignored.
    """

    def __init__(
        self,
        router: Router,
        spec: IngestSpec,
        listen_ip: str = "127.0.0.1",
        on_status: StatusCallback | None = None,
        on_producer: ProducerCallback | None = None,
        *,
        announced_address: str | None = None,
        name: str | None = None,
        on_video: VideoCallback | None = None,
        on_audio: AudioCallback | None = None,
        backoff: Backoff | None = None,
        poll_interval_s: float = 0.5,
    ) -> None:
        if not poll_interval_s > 0:
            raise ValueError(f"poll_interval_s: must be > 0, got {poll_interval_s}")
        self.router = router
        self.spec = spec
        self.listen_ip = LOOPBACK_IP if spec.supervised else listen_ip
        """The transport's address (always loopback for a supervised ingest)."""
        self.announced_address = announced_address
        self.name = name or f"ingest-{spec.kind}"
        self.ssrc = 1 + secrets.randbelow(0x7FFFFFFE)
        """Fixed for the ingest's life: every process run and replacement producer uses it.
        Below 2**31 because some senders (ffmpeg's ``-ssrc``) take a signed 32-bit int."""
        self.audio_ssrc = self.ssrc % 0x7FFFFFFE + 1
        """The audio stream's SSRC (differs from the video's)."""
        self.srtp_key = base64.b64encode(secrets.token_bytes(30)).decode()
        """Kind ``rtp``: the sender's SRTP master key and salt (30 bytes, base64)."""
        self.bridge_ssrc = 1 + secrets.randbelow(0x7FFFFFFE) if spec.bridged else 0
        """The fast-start bridge encoding's SSRC (0: none), see ``bridge``."""
        self._seq0 = secrets.randbelow(0x10000)
        self._bridge_seq0 = secrets.randbelow(0x10000)
        self._ts0 = secrets.randbelow(0x100000000)
        self._clock0 = time.monotonic()
        self.status_changed: Event[tuple[Status, str]] = Event("ingest.status")
        """Emits (status, reason) on each change; ``wait_for_status`` builds on it."""
        self.elements_changed: Event[list[str]] = Event("ingest.elements")
        """Emits the pipeline's element factories each time the ingest process reports them."""
        self.audio_changed: Event[AudioInfo] = Event("ingest.audio")
        """Emits the audio's codec each time an audio producer is created."""
        self._on_status = on_status
        self._on_producer = on_producer
        self._on_video = on_video
        self._on_audio = on_audio
        self._audio: AudioInfo | None = None
        self._audio_producer: Producer | None = None
        self._audio_lock = asyncio.Lock()
        self._backoff = backoff or Backoff()
        self._poll_interval = poll_interval_s
        self._status: Status = "starting"
        self._reason = ""
        self._started = False
        self._stopping = False
        self._stop_task: asyncio.Task[None] | None = None
        self._transport: PlainTransport | None = None
        self._producer: Producer | None = None
        self._ports: tuple[int, int] | None = None
        self._endpoint_task: asyncio.Task[None] | None = None
        self._process: IngestProcess | None = None
        self._config: dict[str, Any] | None = None
        self._elements: list[str] = []
        self._video: VideoInfo | None = VideoInfo(spec.codec, 0, 0) if spec.kind == "rtp" else None
        self._camera: dict[str, Any] | None = None
        self._bridge = ""
        self._kill_reason: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._poll_now = asyncio.Event()
        self._restarts = 0
        # Counters: the current producer's last polled values plus those of replaced ones.
        self._packets = 0
        self._bytes = 0
        self._packets_before = 0
        self._bytes_before = 0
        self._bitrate = 0
        self._bridge_packets = 0
        """Of ``_packets``, those of the bridge encoding (fast start)."""
        self._last_packet_at: float | None = None
        self._silent_since = 0.0
        """When the current silence began at the latest: start, process spawn, re-arm."""
        self._live_since: float | None = None
        self._transport_bytes: int | None = None
        self._rearmed_in_silence = False

    # -- public state ----------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    @property
    def reason(self) -> str:
        """Why the status is ``error`` (empty otherwise)."""
        return self._reason

    @property
    def producer(self) -> Producer | None:
        """The producer viewers consume (None before start and after stop)."""
        return self._producer

    @property
    def audio_producer(self) -> Producer | None:
        """The audio producer on the same transport (None while the source's audio is
        not, or not yet, ingested)."""
        producer = self._audio_producer
        return producer if producer is not None and not producer.closed else None

    @property
    def audio(self) -> AudioInfo | None:
        """The audio codec viewers receive, once the ingest process linked its audio."""
        return self._audio if self.audio_producer is not None else None

    @property
    def transport(self) -> PlainTransport | None:
        return self._transport

    @property
    def producer_rtp_parameters(self) -> RtpParameters | None:
        """The RTP parameters the producer was created with (what the ingest sends)."""
        if self._producer is None:
            return None
        return copy.deepcopy(self._producer.rtp_parameters)

    @property
    def rtp_endpoint(self) -> RtpEndpoint | None:
        """Kind ``rtp``: where and how an external sender must send (None otherwise)."""
        if self.spec.kind != "rtp" or self._transport is None:
            return None
        codec = producer_rtp_parameters(self.spec.codec, self.ssrc)["codecs"][0]
        return RtpEndpoint(
            ip=self.announced_address or self._transport.tuple.local_address,
            port=self._transport.tuple.local_port,
            payload_type=PAYLOAD_TYPES[self.spec.codec],
            ssrc=self.ssrc,
            mime_type=codec["mimeType"],
            clock_rate=codec["clockRate"],
            parameters=dict(codec.get("parameters", {})),
            srtp_crypto_suite=SRTP_CRYPTO_SUITE,
            srtp_key_base64=self.srtp_key,
        )

    @property
    def pid(self) -> int | None:
        """The running ingest process (None between runs, for kind ``rtp``, after stop)."""
        return self._process.pid if self._process is not None else None

    @property
    def run_config(self) -> dict[str, Any] | None:
        """The configuration handed to the current (or last) ingest process."""
        return copy.deepcopy(self._config)

    @property
    def elements(self) -> list[str]:
        """Factory names of the top-level elements of the current (or last) run's
        pipeline, as its process last reported them (the part chosen by what the camera
        sends is added once the camera's stream is known)."""
        return list(self._elements)

    @property
    def video(self) -> VideoInfo | None:
        """Codec and size viewers receive (as the ingest process last reported; for
        kind ``rtp`` the codec only, size 0x0: the node never decodes the sender's)."""
        return self._video

    @property
    def camera(self) -> dict[str, Any] | None:
        """Kind ``rtsp``: what the camera sends (``codec``, ``h264_profile``) and what the
        ingest does with it (``action``: passthrough or transcode), once known."""
        return copy.deepcopy(self._camera)

    @property
    def bridge(self) -> str:
        """Fast start: the bridge encoding's state as the process last reported it,
        ``idle`` or ``active`` (empty before it is built, or without fast start)."""
        return self._bridge

    def stats(self) -> IngestStats:
        """Counters as of the last poll; cheap (no worker request)."""
        now = time.monotonic()
        return IngestStats(
            status=self._status,
            reason=self._reason,
            producer_id=self._producer.id if self._producer is not None else None,
            packets=self._packets_before + self._packets,
            bytes=self._bytes_before + self._bytes,
            bitrate_bps=self._bitrate if self._status == "live" else 0,
            restarts=self._restarts,
            last_packet_age_s=(
                now - self._last_packet_at if self._last_packet_at is not None else None
            ),
            pid=self.pid,
        )

    async def wait_for_status(self, *wanted: Status) -> Status:
        """Waits until the status is one of ``wanted`` (returns at once if it is); bound
        it with ``asyncio.timeout``."""
        while self._status not in wanted:
            await self.status_changed.wait()
        return self._status

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Creates the transport and producer, then starts supervising.

        Returns once the producer exists (status ``starting``); the process is
        started in the background and RTP makes the status ``live``. Raises what
        the worker raises if the transport or producer cannot be created (nothing
        is left behind then).
        """
        if self._started or self._stop_task is not None:
            raise InvalidStateError("ingest already started (an ingest runs once)")
        self._started = True
        self._emit_status()
        try:
            await self._run_endpoint_task(self._create_endpoints())
        except BaseException:
            await self.stop()
            raise
        self._silent_since = time.monotonic()
        self._tasks.append(asyncio.create_task(self._poll_loop(), name=f"{self.name}-poll"))
        if self.spec.supervised:
            self._tasks.append(asyncio.create_task(self._supervise(), name=f"{self.name}-run"))

    async def stop(self) -> None:
        """Frees everything: the process is killed and reaped, the transport closed (and with
        it the producer and its consumers, and the worker's sockets); the pipeline's own
        ports went with the process. Idempotent, and every caller returns only once all is
        freed (even if one of them is cancelled). The status becomes ``stopped``."""
        if self._stop_task is None:
            self._stop_task = asyncio.create_task(self._stop(), name=f"{self.name}-stop")
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._endpoint_task is not None:
            # A create in flight: let it finish so that its transport is known and closed.
            await asyncio.gather(self._endpoint_task, return_exceptions=True)
        process, self._process = self._process, None
        if process is not None:
            await process.kill()
        transport, self._transport, self._producer = self._transport, None, None
        self._audio_producer = None
        if transport is not None:
            await transport.close()
        self._set_status("stopped", "")

    # -- endpoints (transport + producer) --------------------------------------------------

    async def _run_endpoint_task(self, coro: Coroutine[Any, Any, None]) -> None:
        """Runs a transport/producer creation so that cancelling the caller cannot orphan
        a transport in the worker: the work goes on in its own task, which ``stop()``
        awaits before closing whatever it created."""
        task = self._endpoint_task = asyncio.create_task(coro)
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._endpoint_task is task:
                self._endpoint_task = None

    async def _create_endpoints(self, port: int = 0) -> None:
        """A PlainTransport and its producer; ``port`` only for kind ``rtp`` (re-arm)."""
        if self.spec.supervised:
            # A bridged stream's RTCP shares its RTP socket (sender reports of both
            # encodings must come from where RTP does): rtcp-mux.
            options = PlainTransportOptions(
                listen_info=ListenInfo(ip=self.listen_ip),
                rtcp_mux=self.spec.bridged,
                comedia=False,
            )
        else:
            options = PlainTransportOptions(
                listen_info=ListenInfo(
                    ip=self.listen_ip, announced_address=self.announced_address, port=port
                ),
                rtcp_mux=True,
                comedia=True,
                enable_srtp=True,
                srtp_crypto_suite=SRTP_CRYPTO_SUITE,
            )
        transport = await self.router.create_plain_transport(options)
        self._transport = transport  # from now on stop() closes it, whatever happens next
        transport.on_close.add_listener(lambda reason: self._transport_closed(transport, reason))
        try:
            if self.spec.supervised:
                self._ports = _free_udp_port_pair(self.listen_ip)
                await transport.connect(
                    ip=self.listen_ip,
                    port=self._ports[0],
                    rtcp_port=None if self.spec.bridged else self._ports[1],
                )
            else:
                await transport.connect(
                    srtp_parameters={"cryptoSuite": SRTP_CRYPTO_SUITE, "keyBase64": self.srtp_key}
                )
            producer = await transport.produce(
                ProducerOptions(
                    kind="video",
                    rtp_parameters=producer_rtp_parameters(
                        self.spec.codec, self.ssrc, self.bridge_ssrc
                    ),
                    app_data={"ingest": self.name, "fast_start": bool(self.bridge_ssrc)},
                )
            )
        except BaseException:
            # No half-made endpoints: a transport without its producer is of no use.
            if self._transport is transport:
                self._transport = None
            await transport.close()
            raise
        self._producer = producer
        producer.on_score.add_listener(self._on_score)
        self._transport_bytes = None
        _log.info(
            "%s: producer %s on transport %s (%s:%d)",
            self.name,
            producer.id,
            transport.id,
            transport.tuple.local_address,
            transport.tuple.local_port,
        )
        if self._on_producer is not None:
            try:
                self._on_producer(producer)
            except Exception:
                _log.exception("%s: on_producer callback failed", self.name)

    async def _replace_endpoints(self, why: str) -> None:
        """Closes the transport (with its producer) and creates new ones. Kind ``rtp``
        keeps its port so a sender's configuration stays valid; if that port cannot be
        had again, the worker picks another (``rtp_endpoint`` then shows it)."""
        old = self._transport
        port = old.tuple.local_port if old is not None and not self.spec.supervised else 0
        _log.warning("%s: recreating transport and producer: %s", self.name, why)
        self._packets_before += self._packets
        self._bytes_before += self._bytes
        self._packets = self._bytes = self._bitrate = 0
        self._transport = self._producer = self._audio_producer = None
        if old is not None:
            await old.close()
        try:
            await self._run_endpoint_task(self._create_endpoints(port))
        except MediasoupError:
            if not port:
                raise
            _log.warning("%s: port %d not available again; taking another", self.name, port)
            await self._run_endpoint_task(self._create_endpoints(0))

    def _transport_closed(self, transport: PlainTransport, reason: str) -> None:
        if transport is self._transport and not self._stopping and reason != "closed":
            self._halt(f"transport closed: {reason}")

    def _halt(self, reason: str) -> None:
        """The router or worker went away under us: nothing can be ingested any more.
        The stream stays in error (no restarts) until ``stop()``."""
        _log.error("%s: %s; ingest halted", self.name, reason)
        self._set_status("error", reason)
        self._transport = self._producer = self._audio_producer = None
        for task in self._tasks:
            task.cancel()
        process = self._process
        if process is not None:
            self._tasks.append(asyncio.create_task(process.kill(), name=f"{self.name}-kill"))

    # -- the process -----------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Runs the ingest process, again and again, with backoff between runs."""
        delay = self._backoff.initial
        while True:
            reason: str
            bind_failed = False
            self._live_since = None
            if self.router.closed:
                self._halt("router closed")
                return
            try:
                if self._transport is None or self._producer is None:
                    await self._replace_endpoints("the previous creation failed")
            except (MediasoupError, OSError) as error:
                reason = f"cannot create the ingest transport: {error}"
            else:
                reason, bind_failed = await self._run_once()
            was_live_for = (
                time.monotonic() - self._live_since if self._live_since is not None else 0.0
            )
            if was_live_for >= self._backoff.reset_after:
                delay = self._backoff.initial
            _log.warning("%s: %s; restarting in %.1f s", self.name, reason, delay)
            self._set_status("error", reason)
            if bind_failed:
                try:
                    await self._replace_endpoints(f"ingest ports taken ({reason})")
                except (MediasoupError, OSError) as error:
                    _log.error("%s: cannot recreate the transport: %s", self.name, error)
            # The backoff itself: a deliberate pause, nothing to wait for instead.
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff.cap)
            self._restarts += 1

    async def _run_once(self) -> tuple[str, bool]:
        """One run of the ingest process, to its end: (why it ended, whether a port of
        its was taken)."""
        # Count what the previous run sent before it died: only this run's packets
        # may make the stream live, and this run continues the sequence.
        with contextlib.suppress(MediasoupError):
            await self._poll()
        argv = runner_argv()
        config = self._config = run_config(self.spec, self._rtp_target(), self.audio_ssrc)
        self._silent_since = time.monotonic()
        try:
            process = await IngestProcess.spawn(argv, config, self.name, self._on_event)
        except OSError as error:
            return f"cannot run {argv[0]}: {error}", False
        self._process = process
        # Cancelled here (by stop()), the process stays in self._process for stop() to kill.
        await process.wait()
        self._process = None
        reason = self._kill_reason or process.exit_reason()
        self._kill_reason = None
        return reason, process.bind_failed()

    def _rtp_target(self) -> RtpTarget:
        """Where the next run sends, and the RTP numbering that makes it continue the
        previous run's stream (same SSRC, next sequence number, timestamps on one
        timeline). Without that the worker drops the first packet of a run as a
        sequence jump, which is the start of its first key frame, and a viewer is left
        with undecodable frames until the next key frame."""
        assert self._transport is not None and self._ports is not None
        elapsed = time.monotonic() - self._clock0
        bridge_sent = self._bridge_packets
        sent = self._packets_before + self._packets - bridge_sent
        return RtpTarget(
            local_ip=self.listen_ip,
            rtp_source_port=self._ports[0],
            rtcp_port=self._ports[1],
            transport_ip=self._transport.tuple.local_address,
            transport_port=self._transport.tuple.local_port,
            ssrc=self.ssrc,
            seqnum_offset=(self._seq0 + sent) % 0x10000,
            timestamp_offset=(self._ts0 + round(elapsed * 90000)) % 0x100000000,
            picture_id_offset=round(elapsed * self.spec.fps) % 0x8000,
            bridge_ssrc=self.bridge_ssrc,
            bridge_seqnum_offset=(self._bridge_seq0 + bridge_sent) % 0x10000,
        )

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "elements":
            self._elements = [str(e) for e in event.get("elements", [])]
            self.elements_changed.emit(list(self._elements))
        elif kind == "audio" and self.spec.audio:
            codec = str(event.get("codec", ""))
            if codec in ("opus", "pcma", "pcmu"):
                task = asyncio.create_task(
                    self._ensure_audio_producer(codec),  # type: ignore[arg-type]
                    name=f"{self.name}-audio",
                )
                self._tasks.append(task)
                task.add_done_callback(self._forget_task)
        elif kind == "camera":
            self._camera = {k: v for k, v in event.items() if k != "event"}
        elif kind == "bridge":
            self._bridge = str(event.get("state", ""))
            _log.info("%s: fast-start bridge %s", self.name, self._bridge)
        elif kind == "video":
            video = VideoInfo(
                codec=str(event.get("codec", self.spec.codec)),
                width=int(event.get("width", 0)),
                height=int(event.get("height", 0)),
            )
            if video != self._video:
                self._video = video
                if self._on_video is not None:
                    try:
                        self._on_video(video)
                    except Exception:
                        _log.exception("%s: on_video callback failed", self.name)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _ensure_audio_producer(self, codec: AudioCodec) -> None:
        """An audio producer of ``codec`` on the current transport (the one the running
        process sends to); an older one of another codec is closed first."""
        async with self._audio_lock:
            transport = self._transport
            if transport is None or self._stopping:
                return
            current = self.audio_producer
            if current is not None and self._audio == AudioInfo(codec):
                return
            if current is not None:
                self._audio_producer = None
                await current.close()
            try:
                producer = await transport.produce(
                    ProducerOptions(
                        kind="audio",
                        rtp_parameters=audio_producer_rtp_parameters(codec, self.audio_ssrc),
                        app_data={"ingest": self.name, "media": "audio"},
                    )
                )
            except MediasoupError as error:
                _log.warning("%s: cannot create the audio producer: %s", self.name, error)
                return
            if transport is not self._transport or self._stopping:
                await producer.close()
                return
            self._audio_producer = producer
            self._audio = AudioInfo(codec)
            _log.info("%s: audio producer %s (%s)", self.name, producer.id, codec)
        self.audio_changed.emit(AudioInfo(codec))
        if self._on_audio is not None:
            try:
                self._on_audio(self._audio)
            except Exception:
                _log.exception("%s: on_audio callback failed", self.name)

    async def _kill_process(self, reason: str) -> None:
        process = self._process
        if process is None or self._kill_reason is not None:
            return
        self._kill_reason = reason
        await process.kill()

    # -- packet flow -----------------------------------------------------------------------

    def _on_score(self, scores: list[ProducerScore]) -> None:
        if self._status != "live" and any(s.score > 0 for s in scores):
            self._poll_now.set()

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), self._poll_interval)
            self._poll_now.clear()
            try:
                await self._poll()
            except MediasoupError as error:
                # The producer closed under us (replaced, or the router went away).
                _log.debug("%s: poll: %s", self.name, error)

    async def _poll(self) -> None:
        producer = self._producer
        if producer is None or producer.closed:
            return
        streams = await producer.get_stats()
        if producer is not self._producer:
            return  # replaced while the request was in flight
        packets = sum(int(s.get("packetCount", 0)) for s in streams)
        if self.bridge_ssrc:
            self._bridge_packets = sum(
                int(s.get("packetCount", 0)) for s in streams if s.get("ssrc") == self.bridge_ssrc
            )
        now = time.monotonic()
        self._bytes = sum(int(s.get("byteCount", 0)) for s in streams)
        self._bitrate = sum(int(s.get("bitrate", 0)) for s in streams)
        if packets > self._packets:
            self._packets = packets
            self._last_packet_at = now
            self._rearmed_in_silence = False
            # A supervised stream is live only while its process runs: packets counted
            # after the process died were sent before it did.
            running = not self.spec.supervised or self._process is not None
            if self._status != "live" and running:
                self._live_since = now
                self._set_status("live", "")
            return
        latest = max(self._silent_since, self._last_packet_at or 0.0)
        if now - latest < self.spec.no_packet_timeout_s:
            return
        if self.spec.supervised:
            if self._process is not None and self._kill_reason is None:
                timeout = f"{self.spec.no_packet_timeout_s:g} s"
                if self._last_packet_at is not None and self._last_packet_at >= self._silent_since:
                    reason = f"no RTP packet for {timeout}"
                else:
                    reason = f"no RTP packet within {timeout} of starting the ingest process"
                self._set_status("error", reason)
                await self._kill_process(reason)
        else:
            await self._check_external_sender()

    async def _check_external_sender(self) -> None:
        """Kind ``rtp``, silent for the timeout: error, and re-arm the transport if
        datagrams still reach it (the sender restarted from another address)."""
        transport = self._transport
        if transport is None:
            return
        stats = await transport.get_stats()
        received = int(stats["base"]["bytesReceived"])
        arriving = self._transport_bytes is not None and received > self._transport_bytes
        self._transport_bytes = received
        endpoint = self.rtp_endpoint
        expected = (
            f"payload type {endpoint.payload_type}, SSRC {endpoint.ssrc}"
            if endpoint is not None
            else ""
        )
        if arriving and self._packets > 0 and not self._rearmed_in_silence:
            self._set_status("error", f"no RTP packet for {self.spec.no_packet_timeout_s:g} s")
            self._rearmed_in_silence = True
            self._restarts += 1
            await self._replace_endpoints("datagrams from an unknown sender address")
            self._silent_since = time.monotonic()
        elif arriving:
            remote = transport.tuple
            source = f" from {remote.remote_ip}:{remote.remote_port}" if remote.remote_ip else ""
            self._set_status("error", f"datagrams arrive{source} but no RTP with {expected}")
        elif self._last_packet_at is None:
            self._set_status(
                "error",
                f"no RTP received within {self.spec.no_packet_timeout_s:g} s "
                f"(expected {expected} at {endpoint.ip if endpoint else '?'}:"
                f"{endpoint.port if endpoint else '?'})",
            )
        else:
            self._set_status("error", f"no RTP packet for {self.spec.no_packet_timeout_s:g} s")

    # -- status ----------------------------------------------------------------------------

    def _set_status(self, status: Status, reason: str) -> None:
        if self._status == "stopped" or (status, reason) == (self._status, self._reason):
            return
        self._status, self._reason = status, reason
        log = _log.warning if status == "error" else _log.info
        log("%s: %s%s", self.name, status, f" ({reason})" if reason else "")
        self._emit_status()

    def _emit_status(self) -> None:
        if self._on_status is not None:
            try:
                self._on_status(self._status, self._reason)
            except Exception:
                _log.exception("%s: on_status callback failed", self.name)
        self.status_changed.emit((self._status, self._reason))


def _free_udp_port_pair(ip: str) -> tuple[int, int]:
    """Two distinct free UDP ports on ``ip`` (bound together so they differ). They are
    released before the process binds them, and the kernel's ephemeral range overlaps
    the worker's default RTC range, so the worker (or anyone) may take one meanwhile or
    between two runs: the run then fails with "Address already in use" and the
    supervisor recreates the transport with new ports."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sockets = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for sock in sockets:
            sock.bind((ip, 0))
        ports = [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    return ports[0], ports[1]
