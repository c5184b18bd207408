"""Wiring used by driver tests: an ingest producer and a real viewer on one router."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mediasoup_driver import (
    Consumer,
    ConsumerOptions,
    ListenInfo,
    PlainTransport,
    PlainTransportOptions,
    Producer,
    ProducerOptions,
    Router,
    WebRtcTransport,
    WebRtcTransportOptions,
)

from tests.support import ingest
from tests.support.viewer import Viewer

LOCALHOST = ListenInfo(ip="127.0.0.1")
SSRC = 22222222
PAYLOAD_TYPE = 101


@dataclass
class Ingest:
    transport: PlainTransport
    producer: Producer
    process: asyncio.subprocess.Process

    async def stop(self) -> None:
        await ingest.stop(self.process)


async def ffmpeg_ingest(router: Router, codec: str, gop: int = 60) -> Ingest:
    """ffmpeg -> comedia PlainTransport (rtcp-mux) -> Producer."""
    transport = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=True, rtcp_mux=True)
    )
    producer = await transport.produce(
        ProducerOptions(
            kind="video",
            rtp_parameters=ingest.producer_rtp_parameters(codec, SSRC, PAYLOAD_TYPE),
        )
    )
    process = await ingest.start_ffmpeg(codec, transport.tuple.local_port, SSRC, PAYLOAD_TYPE, gop)
    return Ingest(transport, producer, process)


async def gstreamer_ingest(router: Router, codec: str, keyframe_interval_s: int) -> Ingest:
    """GStreamer rtpbin -> PlainTransport connected to its RTP source and RTCP ports, so
    the worker's PLI reaches the encoder (comedia cannot: see ingest.py)."""
    transport = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=False, rtcp_mux=False)
    )
    rtp_source_port = ingest.free_udp_port()
    rtcp_port = ingest.free_udp_port()
    await transport.connect(ip="127.0.0.1", port=rtp_source_port, rtcp_port=rtcp_port)
    producer = await transport.produce(
        ProducerOptions(
            kind="video",
            rtp_parameters=ingest.producer_rtp_parameters(codec, SSRC, PAYLOAD_TYPE),
        )
    )
    process = await ingest.start_gstreamer(
        codec,
        transport.tuple.local_port,
        rtp_source_port,
        rtcp_port,
        SSRC,
        PAYLOAD_TYPE,
        keyframe_interval_s * ingest.FPS,
    )
    return Ingest(transport, producer, process)


async def wait_for_media(producer: Producer, within: float = 15.0) -> None:
    """Waits until the worker scores the producer's stream (packets are arriving)."""
    if producer.score and producer.score[0].score > 0:
        return
    async with asyncio.timeout(within):
        while True:
            scores = await producer.on_score.wait()
            if scores and scores[0].score > 0:
                return


@dataclass
class Watch:
    viewer: Viewer
    transport: WebRtcTransport
    consumer: Consumer
    consume_returned_at: float
    dtls_connected_at: list[float] = field(default_factory=list)
    audio_consumer: Consumer | None = None


async def watch(
    router: Router,
    producer: Producer,
    viewer: Viewer | None = None,
    audio_producer: Producer | None = None,
) -> Watch:
    """A real viewer consuming ``producer`` through a new WebRtcTransport (connect call),
    and ``audio_producer`` too, on the same transport, when given."""
    viewer = viewer or Viewer()
    caps = await viewer.load(router.rtp_capabilities)
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    connected: list[float] = []
    transport.on_dtls_state_change.add_listener(
        lambda state: connected.append(time.monotonic()) if state == "connected" else None
    )
    viewer.create_transport(
        {
            "id": transport.id,
            "iceParameters": transport.ice_parameters,
            "iceCandidates": transport.ice_candidates,
            "dtlsParameters": transport.dtls_parameters,
        },
        on_connect=transport.connect,
    )
    consumer = await transport.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps)
    )
    returned_at = time.monotonic()
    await viewer.consume(
        {
            "id": consumer.id,
            "producerId": producer.id,
            "kind": consumer.kind,
            "rtpParameters": consumer.rtp_parameters,
        }
    )
    audio_consumer = None
    if audio_producer is not None:
        audio_consumer = await transport.consume(
            ConsumerOptions(producer_id=audio_producer.id, rtp_capabilities=caps)
        )
        await viewer.consume_audio(
            {
                "id": audio_consumer.id,
                "producerId": audio_producer.id,
                "rtpParameters": audio_consumer.rtp_parameters,
            }
        )
    return Watch(viewer, transport, consumer, returned_at, connected, audio_consumer)
