"""Supervised ingest (media_node.ingest) with real processes, the real worker and real viewers.

Sources are real: GStreamer pipelines run by the ingest, a GStreamer RTSP server
(tests/support/rtsp_server.py, system Python), ffmpeg pushing RTP. Viewers are
aiortc peers through pymediasoup. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mediasoup_driver import Producer, Router, RouterOptions, Worker

from media_node.ingest import Backoff, Ingest, IngestSpec, router_media_codecs
from tests.support import ingest as media
from tests.support.driver_flow import Watch, watch
from tests.support.rtsp_server import RtspServer

WIDTH, HEIGHT = 640, 360

# A key frame asked for arrives in ~0.1 s here (figures in the tests' output and bench/);
# the bound only has to sit well below the ~8 s wait for the GOP's next natural one.
KEY_FRAME_ON_REQUEST_WITHIN_S = 4.0


@pytest.fixture
async def ingest_router(worker: Worker) -> AsyncIterator[Router]:
    """A router with the media node's own codec list."""
    r = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    yield r
    await r.close()


@dataclass
class Recorder:
    """What the ingest reported through its callbacks."""

    statuses: list[tuple[str, str]] = field(default_factory=list)
    producers: list[Producer] = field(default_factory=list)

    def on_status(self, status: str, reason: str) -> None:
        self.statuses.append((status, reason))

    def on_producer(self, producer: Producer) -> None:
        self.producers.append(producer)


@contextlib.asynccontextmanager
async def running(
    router: Router, spec: IngestSpec, **kwargs: object
) -> AsyncIterator[tuple[Ingest, Recorder]]:
    recorder = Recorder()
    ingest = Ingest(
        router,
        spec,
        on_status=recorder.on_status,
        on_producer=recorder.on_producer,
        **kwargs,  # type: ignore[arg-type]
    )
    await ingest.start()
    try:
        yield ingest, recorder
    finally:
        await ingest.stop()


async def wait_status(ingest: Ingest, *wanted: str, within: float = 30.0) -> str:
    """Waits for an ingest status; bounds are generous: process starts are slow on a loaded host."""
    async with asyncio.timeout(within):
        return await ingest.wait_for_status(*wanted)  # type: ignore[arg-type]


async def first_frame_after_dtls(watching: Watch) -> float:
    """Seconds from the viewer transport's DTLS connection to its first decoded frame."""
    frames = await watching.viewer.frames(1, within=15)
    assert watching.dtls_connected_at, "DTLS never connected"
    assert (frames[0].width, frames[0].height) == (WIDTH, HEIGHT)
    return frames[0].received_at - watching.dtls_connected_at[0]


async def element_classes(factories: list[str]) -> dict[str, str]:
    """Each pipeline element's GStreamer class ("Codec/Encoder/Video", …), from gst-inspect."""
    classes = {}
    for name in set(factories):
        process = await asyncio.create_subprocess_exec(
            "gst-inspect-1.0",
            name,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await process.communicate()
        assert process.returncode == 0, f"gst-inspect-1.0 {name} failed"
        klass = next(line for line in out.decode().splitlines() if line.strip().startswith("Klass"))
        classes[name] = klass.split(None, 1)[1].strip()
    return classes


def process_gone(pid: int) -> bool:
    """True once ``pid`` is reaped (not even a zombie left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pipeline_ports(config: dict[str, Any] | None) -> tuple[int, int]:
    """(P1, P2) of a run: udpsink's bind port, udpsrc's port."""
    assert config is not None
    return config["rtp"]["rtp_source_port"], config["rtp"]["rtcp_port"]


async def wait_elements(ingest: Ingest, *wanted: str, within: float = 10.0) -> list[str]:
    """The running pipeline's elements once all of ``wanted`` are among them."""
    async with asyncio.timeout(within):
        while not set(wanted) <= set(ingest.elements):
            await ingest.elements_changed.wait()
    return ingest.elements


# -- spec ------------------------------------------------------------------------------------


def test_spec_rejects_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="rtsp:// URL"):
        IngestSpec(kind="rtsp")
    with pytest.raises(ValueError, match="passthrough"):
        IngestSpec(kind="rtsp", url="rtsp://cam/x", codec="vp8", transcode="never")
    with pytest.raises(ValueError, match="only an rtsp"):
        IngestSpec(kind="test_pattern", transcode="always")
    with pytest.raises(ValueError, match="width"):
        IngestSpec(kind="test_pattern", width=0)
    for separator in ("\t", "\n", "\r", " ", "\x00", "\x7f"):
        with pytest.raises(ValueError, match="whitespace or control"):
            IngestSpec(kind="rtsp", url=f"rtsp://cam/x{separator}!filesink")
    # Characters a camera password may hold are a URL's business, not the ingest's.
    assert IngestSpec(kind="rtsp", url="rtsp://u:p!=(\"'@cam/x").url
    assert IngestSpec(kind="rtsp", url="rtsp://cam/x", transcode="always", codec="vp8").encodes
    assert not IngestSpec(kind="rtsp", url="rtsp://cam/x").encodes


# -- test pattern ----------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_test_pattern_goes_live_and_a_late_viewer_gets_a_frame_at_once(
    ingest_router: Router, codec: str
) -> None:
    spec = IngestSpec(kind="test_pattern", codec=codec, keyframe_interval_s=10)  # type: ignore[arg-type]
    async with running(ingest_router, spec) as (ingest, recorder):
        assert recorder.statuses[0] == ("starting", "")
        assert ingest.status in ("starting", "live")
        assert ingest.producer is not None and recorder.producers == [ingest.producer]
        await wait_status(ingest, "live")
        config = ingest.run_config
        assert config is not None and config["rtp"]["mtu"] == 1200
        elements = await wait_elements(ingest, "clockoverlay")
        assert ("vp8enc" if codec == "vp8" else "x264enc") in elements
        assert ingest.video is not None
        assert (ingest.video.codec, ingest.video.width, ingest.video.height) == (
            codec,
            WIDTH,
            HEIGHT,
        )

        # The scenario: join mid-GOP (10 s key-frame interval), long after the first key frame.
        await asyncio.sleep(2.0)
        watching = await watch(ingest_router, ingest.producer)
        ttff = await first_frame_after_dtls(watching)
        print(f"\ntest_pattern {codec}: first frame {ttff * 1000:.0f} ms after DTLS connected")
        # Behaviour, not speed: joined 2 s into a 10 s GOP, the next natural key
        # frame is ~8 s away; a first frame well before it comes from a key-frame request.
        assert ttff < KEY_FRAME_ON_REQUEST_WITHIN_S
        frames = await watching.viewer.frames(30)
        assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}

        stats = ingest.stats()
        assert stats.status == "live" and stats.packets > 0 and stats.bytes > 0
        assert stats.bitrate_bps > 0 and stats.restarts == 0 and stats.pid == ingest.pid
        assert stats.last_packet_age_s is not None and stats.last_packet_age_s < 2
        params = ingest.producer_rtp_parameters
        assert params is not None and params["encodings"][0]["ssrc"] == ingest.ssrc
        await watching.viewer.close()


async def test_killed_process_restarts_and_the_same_producer_keeps_serving_a_viewer(
    ingest_router: Router,
) -> None:
    spec = IngestSpec(kind="test_pattern", codec="vp8", keyframe_interval_s=10)
    async with running(ingest_router, spec) as (ingest, recorder):
        await wait_status(ingest, "live")
        producer = ingest.producer
        assert producer is not None
        watching = await watch(ingest_router, producer)
        await watching.viewer.frames(10)
        old_pid = ingest.pid
        assert old_pid is not None

        os.kill(old_pid, signal.SIGKILL)
        await wait_status(ingest, "error", within=15)
        assert "SIGKILL" in ingest.reason
        restarted_at = time.monotonic()
        await wait_status(ingest, "live", within=30)
        print(f"\nlive again {time.monotonic() - restarted_at:.2f} s after the error")

        assert ingest.stats().restarts == 1
        assert ingest.pid not in (None, old_pid)
        assert process_gone(old_pid)
        # Same transport and producer: the viewer was never told anything and keeps playing.
        assert ingest.producer is producer and not producer.closed
        assert recorder.producers == [producer]
        assert not watching.consumer.closed
        frames = await watching.viewer.frames(30, within=20)
        assert frames[-1].received_at > restarted_at
        # The new run continued the old one's sequence numbers: nothing lost, nothing dropped.
        (stream,) = await producer.get_stats()
        print(f"after restart: {stream['packetCount']} packets, {stream['packetsLost']} lost")
        assert stream["packetsLost"] == 0
        assert [s for s, _ in recorder.statuses] == ["starting", "live", "error", "live"]
        await watching.viewer.close()


async def test_a_stalled_process_is_killed_and_restarted(ingest_router: Router) -> None:
    """A process that runs but sends nothing (here: frozen with SIGSTOP) is an error after
    no_packet_timeout_s, and is replaced."""
    spec = IngestSpec(kind="test_pattern", codec="h264", no_packet_timeout_s=1)
    async with running(ingest_router, spec) as (ingest, _recorder):
        await wait_status(ingest, "live")
        frozen = ingest.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        await wait_status(ingest, "error", within=15)
        assert ingest.reason == "no RTP packet for 1 s"
        await wait_status(ingest, "live", within=30)
        assert process_gone(frozen) and ingest.pid != frozen
        assert ingest.stats().restarts == 1


async def test_router_closing_under_an_ingest_halts_it(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    spec = IngestSpec(kind="test_pattern", codec="vp8")
    async with running(router, spec) as (ingest, _recorder):
        await wait_status(ingest, "live")
        pid = ingest.pid
        assert pid is not None
        await router.close()
        assert ingest.status == "error" and ingest.reason == "transport closed: router closed"
        assert ingest.producer is None
    # stop() (by running()) reaped the process; nothing was restarted meanwhile.
    assert process_gone(pid) and ingest.stats().restarts == 0


async def test_taken_ports_make_a_new_transport_and_producer(ingest_router: Router) -> None:
    """If P1 is no longer free at restart, the transport (connected to it for good) and its
    producer are recreated with new ports, and on_producer announces the new producer."""
    spec = IngestSpec(kind="test_pattern", codec="h264")
    async with running(ingest_router, spec) as (ingest, recorder):
        await wait_status(ingest, "live")
        assert ingest.pid is not None
        p1, _ = pipeline_ports(ingest.run_config)
        first = ingest.producer
        os.kill(ingest.pid, signal.SIGKILL)
        await wait_status(ingest, "error", within=15)
        # The process is reaped (status changed after its exit): take P1 during the backoff.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
            squatter.bind(("127.0.0.1", p1))
            async with asyncio.timeout(15):
                while "Address already in use" not in ingest.reason:
                    await ingest.status_changed.wait()
            print(f"\nport taken: {ingest.reason}")
            await wait_status(ingest, "live")
        assert ingest.producer is recorder.producers[1] and ingest.producer is not first
        assert first is not None and first.closed
        assert pipeline_ports(ingest.run_config)[0] != p1
        assert ingest.stats().restarts >= 2
        assert len((await ingest_router.dump()).transport_ids) == 1


async def test_stop_frees_every_resource(ingest_router: Router) -> None:
    spec = IngestSpec(kind="test_pattern", codec="vp8")
    # A node listening on every interface: a supervised ingest still wires over loopback.
    async with running(ingest_router, spec, listen_ip="0.0.0.0") as (ingest, recorder):
        await wait_status(ingest, "live")
        assert ingest.listen_ip == "127.0.0.1"
        pid = ingest.pid
        config = ingest.run_config
        assert pid is not None and config is not None
        transport = ingest.transport
        assert transport is not None
        worker_port = transport.tuple.local_port
        assert len((await ingest_router.dump()).transport_ids) == 1
    # running() has called stop()
    assert ingest.status == "stopped" and recorder.statuses[-1] == ("stopped", "")
    assert ingest.producer is None and ingest.pid is None
    assert (await ingest_router.dump()).transport_ids == []
    assert transport.closed
    assert process_gone(pid)
    p1, p2 = pipeline_ports(config)
    assert udp_port_free(p1) and udp_port_free(p2) and udp_port_free(worker_port)
    await ingest.stop()  # idempotent


# -- RTSP ------------------------------------------------------------------------------------


@pytest.fixture
async def rtsp_server() -> AsyncIterator[RtspServer]:
    server = await RtspServer.start(gop=30)
    try:
        yield server
    finally:
        await server.stop()


async def test_rtsp_passthrough_survives_the_camera_going_away(
    ingest_router: Router, rtsp_server: RtspServer
) -> None:
    spec = IngestSpec(kind="rtsp", url=rtsp_server.url, no_packet_timeout_s=3)
    # A camera that is down is retried often in this test (default cap: 10 s).
    backoff = Backoff(initial=0.25, cap=1.0)
    async with running(ingest_router, spec, backoff=backoff) as (ingest, _recorder):
        await wait_status(ingest, "live")
        elements = await wait_elements(ingest, "rtph264depay", "h264parse", "rtph264pay")
        classes = await element_classes(elements)
        # The camera's own encoding is depayloaded and repayloaded only; the one decoder
        # and encoder are fast start's bridge (tests/integration/test_fast_start.py).
        codecs = {n for n, k in classes.items() if "Encoder" in k or "Decoder" in k}
        assert codecs == {"avdec_h264", "x264enc"}, classes
        assert "decodebin" not in elements
        assert ingest.camera == {
            "codec": "h264",
            "h264_profile": "baseline",
            "action": "passthrough",
        }

        producer = ingest.producer
        assert producer is not None
        watching = await watch(ingest_router, producer)
        ttff = await first_frame_after_dtls(watching)
        print(f"\nrtsp passthrough (camera GOP 1 s): first frame {ttff * 1000:.0f} ms after DTLS")
        frames = await watching.viewer.frames(30)
        assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
        assert watching.consumer.rtp_parameters["codecs"][0]["mimeType"] == "video/H264"

        await rtsp_server.stop()
        await wait_status(ingest, "error", within=20)
        print(f"camera gone: {ingest.reason}")
        restarts = ingest.stats().restarts

        back = await RtspServer.start(port=rtsp_server.port, gop=30)
        try:
            came_back = time.monotonic()
            await wait_status(ingest, "live", within=30)
            print(f"live again {time.monotonic() - came_back:.2f} s after the camera came back")
            assert ingest.stats().restarts > restarts
            assert ingest.producer is producer
            frames = await watching.viewer.frames(10, within=20)
            assert frames[-1].received_at > came_back
        finally:
            await back.stop()
        await watching.viewer.close()


async def test_rtsp_transcoded_to_vp8_answers_key_frame_requests(ingest_router: Router) -> None:
    # A camera with a 10 s GOP: only the node's own encoder can give a late viewer a
    # key frame at once.
    server = await RtspServer.start(gop=300)
    try:
        spec = IngestSpec(kind="rtsp", url=server.url, transcode="always", codec="vp8")
        async with running(ingest_router, spec) as (ingest, _recorder):
            await wait_status(ingest, "live")
            await wait_elements(ingest, "decodebin", "vp8enc")
            # The scenario: join mid-GOP.
            await asyncio.sleep(2.0)
            assert ingest.producer is not None
            watching = await watch(ingest_router, ingest.producer)
            ttff = await first_frame_after_dtls(watching)
            print(f"\nrtsp -> VP8 transcode: first frame {ttff * 1000:.0f} ms after DTLS connected")
            # Behaviour, not speed: joined 2 s into a 10 s GOP, the next natural key
            # frame is ~8 s away; a first frame well before it comes from a key-frame request.
            assert ttff < KEY_FRAME_ON_REQUEST_WITHIN_S
            assert watching.consumer.rtp_parameters["codecs"][0]["mimeType"] == "video/VP8"
            await watching.viewer.close()
    finally:
        await server.stop()


# -- RTP push --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_rtp_push_from_an_external_sender(ingest_router: Router, codec: str) -> None:
    spec = IngestSpec(kind="rtp", codec=codec, no_packet_timeout_s=2)  # type: ignore[arg-type]
    async with running(ingest_router, spec) as (ingest, recorder):
        endpoint = ingest.rtp_endpoint
        assert endpoint is not None and ingest.pid is None
        assert endpoint.ip == "127.0.0.1" and endpoint.ssrc == ingest.ssrc
        assert endpoint.srtp_crypto_suite == "AES_CM_128_HMAC_SHA1_80"
        assert endpoint.srtp_key_base64 == ingest.srtp_key
        sender = await media.start_ffmpeg(
            codec, endpoint.port, endpoint.ssrc, endpoint.payload_type, srtp_key=ingest.srtp_key
        )
        try:
            await wait_status(ingest, "live")
            assert ingest.producer is not None
            watching = await watch(ingest_router, ingest.producer)
            frames = await watching.viewer.frames(5)
            assert {(f.width, f.height) for f in frames} == {(media.WIDTH, media.HEIGHT)}
            await watching.viewer.close()
            await watching.transport.close()
        finally:
            await media.stop(sender)

        # The sender goes away: error after the silence timeout.
        await wait_status(ingest, "error", within=20)
        assert "no RTP packet" in ingest.reason

        # It comes back from another source port: the transport is re-armed on the same port
        # with a new producer (the old one latched onto the old address for good).
        sender = await media.start_ffmpeg(
            codec, endpoint.port, endpoint.ssrc, endpoint.payload_type, srtp_key=ingest.srtp_key
        )
        try:
            await wait_status(ingest, "live", within=30)
        finally:
            await media.stop(sender)
        assert len(recorder.producers) == 2 and ingest.producer is recorder.producers[1]
        assert ingest.rtp_endpoint == endpoint
        stats = ingest.stats()
        assert stats.restarts == 1 and stats.pid is None and stats.process_pid == 0
        assert stats.packets > 0 and 0 <= stats.last_packet_age_ms < 5000
    assert (await ingest_router.dump()).transport_ids == []


async def test_rtp_push_without_a_sender_turns_to_error(ingest_router: Router) -> None:
    spec = IngestSpec(kind="rtp", codec="vp8", no_packet_timeout_s=1)
    async with running(ingest_router, spec) as (ingest, _recorder):
        assert ingest.status == "starting"
        await wait_status(ingest, "error", within=15)
        assert "no RTP received" in ingest.reason and str(ingest.ssrc) in ingest.reason


async def intrude(port: int, ssrc: int, payload_type: int, srtp_like: bool) -> None:
    """Sends forged RTP to ``port`` until cancelled: the stream's SSRC and payload type, a
    VP8 key-frame-looking payload of noise, ~200 packets/s; ``srtp_like`` appends a
    random 10-byte "authentication tag" as SRTP would. Cheap on purpose (no encoder)."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        seq, timestamp = secrets.randbelow(0x10000), secrets.randbelow(0x100000000)
        while True:
            for _ in range(10):
                header = struct.pack("!BBHII", 0x80, 0x80 | payload_type, seq, timestamp, ssrc)
                payload = bytes([0x10, 0x00, 0x9D, 0x01, 0x2A]) + os.urandom(900)
                tag = os.urandom(10) if srtp_like else b""
                await loop.sock_sendto(sock, header + payload + tag, ("127.0.0.1", port))
                seq = (seq + 1) % 0x10000
            timestamp = (timestamp + 3000) % 0x100000000
            await asyncio.sleep(0.05)  # the pace of a sender, not a wait for anything


async def test_rtp_push_is_pinned_to_the_keyed_sender(ingest_router: Router) -> None:
    """Intruders who know the endpoint, payload type and SSRC but not the SRTP key (plain
    RTP, and SRTP-shaped packets with a made-up tag) can neither feed viewers nor latch
    the transport onto their address: before and while the real sender sends, viewers
    get only the real sender's picture."""
    spec = IngestSpec(kind="rtp", codec="vp8", no_packet_timeout_s=2)
    async with running(ingest_router, spec) as (ingest, _recorder):
        endpoint = ingest.rtp_endpoint
        assert endpoint is not None and ingest.producer is not None and ingest.transport
        producer, transport = ingest.producer, ingest.transport
        viewer = await watch(ingest_router, producer)
        intruders = [
            asyncio.create_task(
                intrude(endpoint.port, endpoint.ssrc, endpoint.payload_type, srtp_like)
            )
            for srtp_like in (False, True)
        ]
        try:
            # The intruders' datagrams reach the transport...
            async with asyncio.timeout(15):
                # The worker's counters: polled, there is no event for them.
                while int((await transport.get_stats())["base"]["bytesReceived"]) < 200_000:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            # ...but none is taken as RTP: not live, nothing produced, nothing sent.
            assert ingest.status != "live"
            assert sum(int(s.get("packetCount", 0)) for s in await producer.get_stats()) == 0
            sent = await viewer.consumer.get_stats()
            assert sum(int(s.get("packetCount", 0)) for s in sent) == 0
            assert transport.tuple.remote_ip in (None, "")  # latched onto nobody

            sender = await media.start_ffmpeg(
                "vp8", endpoint.port, endpoint.ssrc, endpoint.payload_type, srtp_key=ingest.srtp_key
            )
            try:
                await wait_status(ingest, "live", within=30)
                # While the intruders keep sending: whole, decodable pictures of the
                # keyed sender only (a forged packet would break the decoder's frames).
                frames = await viewer.viewer.frames(30, within=20)
                assert {(f.width, f.height) for f in frames} == {(media.WIDTH, media.HEIGHT)}
                assert ingest.producer is producer  # no re-arm: the intruders never latched
            finally:
                await media.stop(sender)
        finally:
            for task in intruders:
                task.cancel()
            await asyncio.gather(*intruders, return_exceptions=True)
        await viewer.viewer.close()
