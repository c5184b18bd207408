"""What mediasoup's test-PipeTransport.js asserts, checked against our driver and the real
worker.

This driver has no ``router.pipeToRouter()``: ``pipe_to_router`` below does what it
does with the driver's own entities (a connected PipeTransport pair, a pipe consumer
in the origin router, a producer with the same id in the other one, pause/resume/close
forwarded between them), and the tests check what mediasoup's check through it.
Covered elsewhere: real media through a pipe (test_plain_pipe_transport.py).
Not implemented here, so not covered: data producers/consumers over pipes, SCTP,
pipeToRouter's own bookkeeping (one pipe pair per router pair, keepId).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mediasoup_driver import (
    Consumer,
    ConsumerOptions,
    InvalidStateError,
    ListenInfo,
    PipeTransport,
    PipeTransportOptions,
    Producer,
    ProducerOptions,
    ProducerScore,
    Router,
    RouterOptions,
    WebRtcTransport,
    WebRtcTransportOptions,
    Worker,
)
from mediasoup_driver.fbs.FBS.Notification.Body import Body
from mediasoup_driver.fbs.FBS.Notification.Event import Event
from mediasoup_driver.fbs.FBS.Producer.Score import ScoreT
from mediasoup_driver.fbs.FBS.Producer.ScoreNotification import ScoreNotificationT

from tests.integration.parity_support import (
    LOCALHOST,
    PIPE_AUDIO_PARAMETERS,
    PIPE_DEVICE_CAPABILITIES,
    PIPE_MEDIA_CODECS,
    PIPE_VIDEO_PARAMETERS,
    SRTP_KEY_AEAD_256,
    header_extension,
    inject_notification,
    next_value,
    params,
    settled,
)
from tests.support.media import free_udp_port

DEPENDENCY_DESCRIPTOR = (
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
)
PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
PACKET_ID = "urn:mediasoup:params:rtp-hdrext:packet-id"
PIPE_AUDIO_EXTENSIONS = [
    header_extension("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6),
    header_extension(DEPENDENCY_DESCRIPTOR, 7),
    header_extension(PLAYOUT_DELAY, 11),
    header_extension(PACKET_ID, 12),
]
PIPE_VIDEO_EXTENSIONS = [
    header_extension(DEPENDENCY_DESCRIPTOR, 7),
    header_extension("urn:3gpp:video-orientation", 8),
    header_extension("urn:ietf:params:rtp-hdrext:toffset", 9),
    header_extension(PLAYOUT_DELAY, 11),
    header_extension(PACKET_ID, 12),
]
PIPE_OPUS = {
    "mimeType": "audio/opus",
    "payloadType": 100,
    "clockRate": 48000,
    "channels": 2,
    "parameters": {"useinbandfec": 1, "foo": "bar1"},
    "rtcpFeedback": [],
}
PIPE_VP8 = {
    "mimeType": "video/VP8",
    "payloadType": 101,
    "clockRate": 90000,
    "parameters": {},
    # No NACK without RTX on the pipe; goog-remb and unknown feedback are dropped.
    "rtcpFeedback": [{"type": "nack", "parameter": "pli"}, {"type": "ccm", "parameter": "fir"}],
}
VALID_SRTP = {"cryptoSuite": "AEAD_AES_256_GCM", "keyBase64": SRTP_KEY_AEAD_256}


@dataclass
class Setup:
    worker1: Worker
    worker2: Worker
    router1: Router
    router2: Router
    webrtc1: WebRtcTransport
    webrtc2: WebRtcTransport
    audio: Producer
    video: Producer
    pipes: dict[str, tuple[PipeTransport, PipeTransport]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def pipe_pair(self, router1: Router, router2: Router) -> tuple[PipeTransport, ...]:
        """One connected PipeTransport pair per pair of routers, as pipeToRouter keeps."""
        key = f"{router1.id}/{router2.id}"
        if key not in self.pipes:
            pipe1 = await router1.create_pipe_transport(PipeTransportOptions(listen_info=LOCALHOST))
            pipe2 = await router2.create_pipe_transport(PipeTransportOptions(listen_info=LOCALHOST))
            await pipe1.connect(ip="127.0.0.1", port=pipe2.tuple.local_port)
            await pipe2.connect(ip="127.0.0.1", port=pipe1.tuple.local_port)
            self.pipes[key] = (pipe1, pipe2)
        return self.pipes[key]

    async def pipe_to_router(
        self, producer: Producer, router2: Router | None = None, keep_id: bool = True
    ) -> tuple[Consumer, Producer]:
        router2 = router2 or self.router2
        assert producer.transport is not None
        source = producer.transport.router_id
        router1 = next(
            r for w in (self.worker1, self.worker2) for r in w.routers.values() if r.id == source
        )
        pipe1, pipe2 = await self.pipe_pair(router1, router2)
        pipe_consumer = await pipe1.consume(
            ConsumerOptions(producer_id=producer.id, rtp_capabilities={})
        )
        try:
            pipe_producer = await pipe2.produce(
                ProducerOptions(
                    id=producer.id if keep_id else None,
                    kind=pipe_consumer.kind,
                    rtp_parameters=pipe_consumer.rtp_parameters,
                    paused=pipe_consumer.producer_paused,
                    app_data=dict(producer.app_data),
                )
            )
        except Exception:
            await pipe_consumer.close()
            raise
        self._forward(pipe_consumer.on_close, pipe_producer.close)
        self._forward(pipe_consumer.on_producer_pause, pipe_producer.pause)
        self._forward(pipe_consumer.on_producer_resume, pipe_producer.resume)
        self._forward(pipe_producer.on_close, pipe_consumer.close)
        return pipe_consumer, pipe_producer

    def _forward(self, event: Any, action: Any) -> None:
        def run(_value: object) -> None:
            task = asyncio.ensure_future(action())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        event.add_listener(run)


@pytest.fixture
async def setup(worker: Worker) -> AsyncIterator[Setup]:
    worker2 = await Worker.start()
    try:
        options = RouterOptions(media_codecs=copy.deepcopy(PIPE_MEDIA_CODECS))
        router1 = await worker.create_router(options)
        router2 = await worker2.create_router(
            RouterOptions(media_codecs=copy.deepcopy(PIPE_MEDIA_CODECS))
        )
        transport_options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
        webrtc1 = await router1.create_webrtc_transport(transport_options)
        webrtc2 = await router2.create_webrtc_transport(transport_options)
        audio = await webrtc1.produce(
            ProducerOptions(
                kind="audio", rtp_parameters=params(PIPE_AUDIO_PARAMETERS), app_data={"foo": "bar1"}
            )
        )
        video = await webrtc1.produce(
            ProducerOptions(
                kind="video", rtp_parameters=params(PIPE_VIDEO_PARAMETERS), app_data={"foo": "bar2"}
            )
        )
        setup = Setup(worker, worker2, router1, router2, webrtc1, webrtc2, audio, video)
        yield setup
        await asyncio.gather(*setup.tasks)
    finally:
        await worker2.close()


async def test_pipe_audio(setup: Setup) -> None:
    pipe_consumer, pipe_producer = await setup.pipe_to_router(setup.audio)
    # Each router: its WebRtcTransport and one end of the pipe.
    assert len((await setup.router1.dump()).transport_ids) == 2
    assert len((await setup.router2.dump()).transport_ids) == 2

    assert isinstance(pipe_consumer.id, str) and not pipe_consumer.closed
    assert pipe_consumer.kind == "audio"
    assert "mid" not in pipe_consumer.rtp_parameters
    assert pipe_consumer.rtp_parameters["codecs"] == [PIPE_OPUS]
    assert pipe_consumer.rtp_parameters["headerExtensions"] == PIPE_AUDIO_EXTENSIONS
    assert pipe_consumer.type == "pipe"
    assert not pipe_consumer.paused and not pipe_consumer.producer_paused
    assert pipe_consumer.score["score"] == 10 and pipe_consumer.score["producerScore"] == 10
    assert pipe_consumer.app_data == {}

    assert pipe_producer.id == setup.audio.id and not pipe_producer.closed
    assert pipe_producer.kind == "audio"
    assert "mid" not in pipe_producer.rtp_parameters
    assert pipe_producer.rtp_parameters["codecs"] == [PIPE_OPUS]
    assert pipe_producer.rtp_parameters["headerExtensions"] == PIPE_AUDIO_EXTENSIONS
    assert not pipe_producer.paused
    assert pipe_producer.app_data == {"foo": "bar1"}
    assert setup.router2.producers.keys() == {setup.audio.id}


async def test_pipe_video_of_a_paused_producer(setup: Setup) -> None:
    await setup.pipe_to_router(setup.audio)
    await setup.video.pause()
    pipe_consumer, pipe_producer = await setup.pipe_to_router(setup.video)
    # The existing pipe pair is reused.
    assert len((await setup.router1.dump()).transport_ids) == 2
    assert len((await setup.router2.dump()).transport_ids) == 2

    assert pipe_consumer.kind == "video" and not pipe_consumer.closed
    assert "mid" not in pipe_consumer.rtp_parameters
    assert pipe_consumer.rtp_parameters["codecs"] == [PIPE_VP8]
    assert pipe_consumer.rtp_parameters["headerExtensions"] == PIPE_VIDEO_EXTENSIONS
    assert len(pipe_consumer.rtp_parameters["encodings"]) == 3  # every simulcast stream
    assert pipe_consumer.type == "pipe"
    assert not pipe_consumer.paused and pipe_consumer.producer_paused
    assert pipe_consumer.score["score"] == 10 and pipe_consumer.score["producerScore"] == 10
    assert pipe_consumer.app_data == {}

    assert pipe_producer.id == setup.video.id and pipe_producer.kind == "video"
    assert "mid" not in pipe_producer.rtp_parameters
    assert pipe_producer.rtp_parameters["codecs"] == [PIPE_VP8]
    assert pipe_producer.rtp_parameters["headerExtensions"] == PIPE_VIDEO_EXTENSIONS
    assert pipe_producer.paused and pipe_producer.type == "simulcast"


async def test_pipe_consumer_gets_abs_capture_time_if_the_producer_has_it(setup: Setup) -> None:
    producer = await setup.webrtc1.produce(
        ProducerOptions(
            kind="video",
            rtp_parameters={
                "mid": "VIDEO2",
                "codecs": [{"mimeType": "video/VP8", "payloadType": 112, "clockRate": 90000}],
                "headerExtensions": [
                    {
                        "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
                        "id": 12,
                    }
                ],
                "encodings": [{"ssrc": 44444444}],
                "rtcp": {"cname": "FOOBAR"},
            },
        )
    )
    pipe_consumer, _ = await setup.pipe_to_router(producer)
    assert (
        header_extension("http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 10)
        in pipe_consumer.rtp_parameters["headerExtensions"]
    )
    # ... which a producer without it does not get.
    plain_consumer, _ = await setup.pipe_to_router(setup.video)
    assert all(
        "abs-capture-time" not in e["uri"]
        for e in plain_consumer.rtp_parameters["headerExtensions"]
    )


async def test_create_pipe_transport_with_wrong_arguments_is_a_type_error(setup: Setup) -> None:
    for listen_info in (
        ListenInfo(ip="127.0.0.1", port_range=(4000, 3000)),
        ListenInfo(ip="123"),
        ListenInfo(ip="127.0.0.1", protocol="tcp"),
    ):
        with pytest.raises(TypeError):
            await setup.router1.create_pipe_transport(PipeTransportOptions(listen_info=listen_info))
    assert setup.router1.transports.keys() == {setup.webrtc1.id}


async def test_create_pipe_transport_with_enable_rtx(setup: Setup) -> None:
    pipe = await setup.router1.create_pipe_transport(
        PipeTransportOptions(
            listen_info=ListenInfo(ip="127.0.0.1", port_range=(2000, 3000)), enable_rtx=True
        )
    )
    assert pipe.rtx and (await pipe.dump())["rtx"] is True
    consumer = await pipe.consume(ConsumerOptions(producer_id=setup.video.id, rtp_capabilities={}))
    assert isinstance(consumer.id, str) and not consumer.closed and consumer.kind == "video"
    assert "mid" not in consumer.rtp_parameters
    assert consumer.rtp_parameters["codecs"] == [
        {
            **PIPE_VP8,
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "nack", "parameter": "pli"},
                {"type": "ccm", "parameter": "fir"},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ]
    assert consumer.rtp_parameters["headerExtensions"] == PIPE_VIDEO_EXTENSIONS
    encodings = consumer.rtp_parameters["encodings"]
    assert len(encodings) == 3 and all(isinstance(e["rtx"]["ssrc"], int) for e in encodings)
    assert consumer.type == "pipe"
    assert not consumer.paused and not consumer.producer_paused
    assert consumer.score["score"] == 10 and consumer.score["producerScore"] == 10
    assert consumer.app_data == {}


async def test_connect_with_srtp(setup: Setup) -> None:
    pipe = await setup.router1.create_pipe_transport(
        PipeTransportOptions(listen_info=LOCALHOST, enable_srtp=True)
    )
    assert pipe.srtp_parameters is not None
    assert pipe.srtp_parameters["cryptoSuite"] == "AEAD_AES_256_GCM"
    assert len(pipe.srtp_parameters["keyBase64"]) == 60  # AEAD_AES_256_GCM's master length
    assert await pipe.connect(ip="127.0.0.2", port=9999, srtp_parameters=VALID_SRTP) is None
    assert (pipe.tuple.remote_ip, pipe.tuple.remote_port) == ("127.0.0.2", 9999)


async def test_connect_with_srtp_without_enable_srtp_is_a_type_error(setup: Setup) -> None:
    pipe = await setup.router1.create_pipe_transport(
        PipeTransportOptions(listen_info=LOCALHOST, enable_rtx=True)
    )
    assert pipe.srtp_parameters is None
    for srtp_parameters in (VALID_SRTP, "invalid"):
        with pytest.raises(TypeError):
            await pipe.connect(ip="127.0.0.2", port=9999, srtp_parameters=srtp_parameters)  # type: ignore[arg-type]
    assert pipe.tuple.remote_ip is None


async def test_connect_with_invalid_srtp_parameters_is_a_type_error(setup: Setup) -> None:
    pipe = await setup.router1.create_pipe_transport(
        PipeTransportOptions(listen_info=LOCALHOST, enable_srtp=True)
    )
    wrong: list[Any] = [
        None,  # missing: SRTP is enabled
        1,
        {"keyBase64": SRTP_KEY_AEAD_256},
        {"cryptoSuite": "AEAD_AES_256_GCM"},
        {"cryptoSuite": "FOO", "keyBase64": SRTP_KEY_AEAD_256},
        {"cryptoSuite": 123, "keyBase64": SRTP_KEY_AEAD_256},
        {"cryptoSuite": "AEAD_AES_256_GCM", "keyBase64": []},
    ]
    for srtp_parameters in wrong:
        with pytest.raises(TypeError):
            await pipe.connect(ip="127.0.0.2", port=9999, srtp_parameters=srtp_parameters)
    assert pipe.tuple.remote_ip is None
    await pipe.connect(ip="127.0.0.2", port=9999, srtp_parameters=VALID_SRTP)  # still possible


async def test_create_pipe_transport_with_fixed_port(setup: Setup) -> None:
    port = free_udp_port()
    pipe = await setup.router1.create_pipe_transport(
        PipeTransportOptions(listen_info=ListenInfo(ip="127.0.0.1", port=port))
    )
    assert pipe.tuple.local_port == port
    assert (await pipe.dump())["tuple"]["localPort"] == port


async def test_consume_a_pipe_producer(setup: Setup) -> None:
    _, pipe_producer = await setup.pipe_to_router(setup.video)
    consumer = await setup.webrtc2.consume(
        ConsumerOptions(
            producer_id=pipe_producer.id, rtp_capabilities=copy.deepcopy(PIPE_DEVICE_CAPABILITIES)
        )
    )
    assert isinstance(consumer.id, str) and not consumer.closed and consumer.kind == "video"
    assert consumer.rtp_parameters["mid"] == "0"
    assert consumer.rtp_parameters["codecs"] == [
        {
            "mimeType": "video/VP8",
            "payloadType": 101,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": [
                {"type": "nack", "parameter": ""},
                {"type": "ccm", "parameter": "fir"},
                {"type": "transport-cc", "parameter": ""},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ]
    assert consumer.rtp_parameters["headerExtensions"] == [
        header_extension("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4),
        header_extension(
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5
        ),
    ]
    [encoding] = consumer.rtp_parameters["encodings"]
    assert isinstance(encoding["ssrc"], int) and isinstance(encoding["rtx"]["ssrc"], int)
    assert consumer.rtp_parameters["msid"] == "aaaa-bbbb"
    assert consumer.type == "simulcast"
    assert not consumer.paused and not consumer.producer_paused
    assert consumer.score == {"score": 10, "producerScore": 0, "producerScores": [0, 0, 0]}
    assert consumer.app_data == {}


async def test_producer_pause_and_resume_reach_the_piped_consumer(setup: Setup) -> None:
    await setup.video.pause()
    _, pipe_producer = await setup.pipe_to_router(setup.video)
    consumer = await setup.webrtc2.consume(
        ConsumerOptions(
            producer_id=pipe_producer.id, rtp_capabilities=copy.deepcopy(PIPE_DEVICE_CAPABILITIES)
        )
    )
    assert setup.video.paused and pipe_producer.paused
    assert consumer.producer_paused and not consumer.paused

    resumed = next_value(consumer.on_producer_resume)
    pipe_resumed = next_value(pipe_producer.on_resume)
    await setup.video.resume()
    await settled(asyncio.gather(resumed, pipe_resumed))
    assert not consumer.producer_paused and not consumer.paused and not pipe_producer.paused

    paused = next_value(consumer.on_producer_pause)
    pipe_paused = next_value(pipe_producer.on_pause)
    await setup.video.pause()
    await settled(asyncio.gather(paused, pipe_paused))
    assert consumer.producer_paused and not consumer.paused and pipe_producer.paused


async def test_producer_close_reaches_the_piped_consumer(setup: Setup) -> None:
    pipe_consumer, pipe_producer = await setup.pipe_to_router(setup.video)
    consumer = await setup.webrtc2.consume(
        ConsumerOptions(
            producer_id=pipe_producer.id, rtp_capabilities=copy.deepcopy(PIPE_DEVICE_CAPABILITIES)
        )
    )
    closed = next_value(consumer.on_producer_close)
    await setup.video.close()
    assert setup.video.closed
    await settled(closed)
    assert pipe_consumer.closed and pipe_producer.closed and consumer.closed
    with pytest.raises(InvalidStateError):
        await consumer.dump()
    assert setup.router2.producers == {}
    assert (await setup.router2.dump()).map_producer_id_consumer_ids == {}


async def test_same_producer_id_in_two_routers_of_one_worker_is_refused(setup: Setup) -> None:
    """pipeToRouter with keepId fails between routers of one worker; the producer whose id
    was asked for must keep working (its notifications keep reaching it)."""
    router1bis = await setup.worker1.create_router(
        RouterOptions(media_codecs=copy.deepcopy(PIPE_MEDIA_CODECS))
    )
    with pytest.raises(TypeError, match="already exists"):
        await setup.pipe_to_router(setup.video, router1bis)
    assert router1bis.producers == {}
    assert (await setup.router1.dump()).map_producer_id_consumer_ids[setup.video.id] == []

    scores = next_value(setup.video.on_score)
    item = ScoreT()
    item.encodingIdx, item.ssrc, item.score = 0, 22222222, 7
    notification = ScoreNotificationT()
    notification.scores = [item]
    inject_notification(
        setup.worker1.channel,
        setup.video.id,
        Event.PRODUCER_SCORE,
        Body.Producer_ScoreNotification,
        notification,
    )
    assert await settled(scores) == [ProducerScore(0, 22222222, None, 7)]
    assert (await setup.video.dump())["id"] == setup.video.id

    # Without keeping the id it works.
    _, pipe_producer = await setup.pipe_to_router(setup.video, router1bis, keep_id=False)
    assert pipe_producer.id != setup.video.id
    assert router1bis.producers.keys() == {pipe_producer.id}
