"""What mediasoup's test-Consumer.js asserts, checked against our driver and the real worker.

Not implemented here, so not covered: enableTraceEvent and trace events,
``unsetPriority()`` (``set_priority(1)`` restores the default), the consumer's
``pause``/``resume`` observer events (its ``paused`` state is checked instead).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from mediasoup_driver import (
    Consumer,
    ConsumerLayers,
    ConsumerOptions,
    InvalidStateError,
    Producer,
    ProducerOptions,
    Router,
    RouterOptions,
    UnsupportedError,
    WebRtcTransport,
    WebRtcTransportOptions,
    Worker,
)
from mediasoup_driver.fbs.FBS.Consumer.ConsumerScore import ConsumerScoreT
from mediasoup_driver.fbs.FBS.Consumer.ScoreNotification import ScoreNotificationT
from mediasoup_driver.fbs.FBS.Notification.Body import Body
from mediasoup_driver.fbs.FBS.Notification.Event import Event

from tests.integration.parity_support import (
    AUDIO_PARAMETERS,
    DEVICE_CAPABILITIES,
    KIND_AUDIO,
    KIND_VIDEO,
    LOCALHOST,
    MEDIA_CODECS,
    TYPE_SIMPLE,
    TYPE_SIMULCAST,
    VIDEO_PARAMETERS,
    VP8_SIMULCAST_PARAMETERS,
    VP9_SVC_PARAMETERS,
    VPX_DEVICE_CAPABILITIES,
    VPX_MEDIA_CODECS,
    header_extension,
    inject_notification,
    next_value,
    params,
    record,
    rtp_parameters_from_dump,
    settled,
)

OPUS_PARAMETERS = {"useinbandfec": 1, "usedtx": 1, "foo": 222.222, "bar": "333"}
H264_PARAMETERS = {"packetization-mode": 1, "profile-level-id": "4d0032"}
CONSUMER_H264_FEEDBACK = [
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
    {"type": "goog-remb", "parameter": ""},
]
CONSUMER_H264 = {
    "mimeType": "video/H264",
    "payloadType": 103,
    "clockRate": 90000,
    "parameters": H264_PARAMETERS,
    "rtcpFeedback": CONSUMER_H264_FEEDBACK,
}
CONSUMER_RTX = {
    "mimeType": "video/rtx",
    "payloadType": 104,
    "clockRate": 90000,
    "parameters": {"apt": 103},
    "rtcpFeedback": [],
}


@dataclass
class Setup:
    router: Router
    transport1: WebRtcTransport
    transport2: WebRtcTransport
    audio: Producer
    video: Producer

    async def consume(self, producer: Producer, **options: Any) -> Consumer:
        return await self.transport2.consume(
            ConsumerOptions(
                producer_id=producer.id,
                rtp_capabilities=copy.deepcopy(DEVICE_CAPABILITIES),
                **options,
            )
        )


@pytest.fixture
async def setup(worker: Worker) -> AsyncIterator[Setup]:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    transport1 = await router.create_webrtc_transport(options)
    transport2 = await router.create_webrtc_transport(options)
    audio = await transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(AUDIO_PARAMETERS))
    )
    video = await transport1.produce(
        ProducerOptions(kind="video", rtp_parameters=params(VIDEO_PARAMETERS))
    )
    yield Setup(router, transport1, transport2, audio, video)
    await router.close()


@pytest.fixture
async def vpx_router(worker: Worker) -> AsyncIterator[Router]:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(VPX_MEDIA_CODECS)))
    yield router
    await router.close()


async def _vpx_consumer(
    router: Router, rtp_parameters: dict[str, Any], **options: Any
) -> tuple[Producer, Consumer]:
    transport_options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    sender = await router.create_webrtc_transport(transport_options)
    receiver = await router.create_webrtc_transport(transport_options)
    producer = await sender.produce(
        ProducerOptions(kind="video", rtp_parameters=copy.deepcopy(rtp_parameters))
    )
    assert router.can_consume(producer.id, copy.deepcopy(VPX_DEVICE_CAPABILITIES))
    return producer, await receiver.consume(
        ConsumerOptions(
            producer_id=producer.id,
            rtp_capabilities=copy.deepcopy(VPX_DEVICE_CAPABILITIES),
            **options,
        )
    )


async def test_consume(setup: Setup) -> None:
    router, transport2 = setup.router, setup.transport2
    new_consumers = record(transport2.on_new_consumer)
    assert router.can_consume(setup.audio.id, copy.deepcopy(DEVICE_CAPABILITIES))
    audio = await setup.consume(setup.audio, app_data={"baz": "LOL"})
    assert new_consumers == [audio]
    assert isinstance(audio.id, str) and audio.producer_id == setup.audio.id
    assert not audio.closed and audio.kind == "audio"
    assert audio.rtp_parameters["mid"] == "0"
    assert audio.rtp_parameters["codecs"] == [
        {
            "mimeType": "audio/opus",
            "payloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": OPUS_PARAMETERS,
            "rtcpFeedback": [],  # no NACK without RTX, and no RTX for audio by default
        }
    ]
    assert audio.rtp_parameters["msid"] == AUDIO_PARAMETERS["msid"]
    assert audio.type == "simple"
    assert not audio.paused and not audio.producer_paused and audio.priority == 1
    assert audio.score == {"score": 10, "producerScore": 0, "producerScores": [0]}
    assert audio.preferred_layers is None and audio.current_layers is None
    assert audio.app_data == {"baz": "LOL"}
    router_dump = await router.dump()
    assert router_dump.map_producer_id_consumer_ids[setup.audio.id] == [audio.id]
    assert router_dump.map_consumer_id_producer_id == {audio.id: setup.audio.id}
    transport_dump = await transport2.dump()
    assert transport_dump["base"]["id"] == transport2.id
    assert transport_dump["base"]["producerIds"] == []
    assert transport_dump["base"]["consumerIds"] == [audio.id]

    # A paused consumer of a paused (simulcast) producer, with preferred layers
    # beyond the producer's: they are clamped to its 4 spatial layers.
    assert router.can_consume(setup.video.id, copy.deepcopy(DEVICE_CAPABILITIES))
    await setup.video.pause()
    video = await setup.consume(
        setup.video, paused=True, preferred_layers=ConsumerLayers(12, 0), app_data={"baz": "LOL"}
    )
    assert new_consumers == [audio, video]
    assert video.producer_id == setup.video.id and video.kind == "video"
    assert video.rtp_parameters["mid"] == "1"
    assert video.rtp_parameters["codecs"] == [CONSUMER_H264, CONSUMER_RTX]
    assert "msid" not in video.rtp_parameters
    assert video.type == "simulcast"
    assert video.paused and video.producer_paused and video.priority == 1
    assert video.score == {"score": 10, "producerScore": 0, "producerScores": [0, 0, 0, 0]}
    assert video.preferred_layers == ConsumerLayers(3, 0)
    assert video.current_layers is None
    assert video.app_data == {"baz": "LOL"}

    # A pipe consumer (all the producer's streams, as they are).
    assert router.can_consume(setup.video.id, copy.deepcopy(DEVICE_CAPABILITIES))
    pipe = await setup.consume(setup.video, pipe=True)
    assert new_consumers == [audio, video, pipe]
    assert pipe.producer_id == setup.video.id and pipe.kind == "video"
    assert "mid" not in pipe.rtp_parameters
    assert pipe.rtp_parameters["codecs"] == [CONSUMER_H264, CONSUMER_RTX]
    assert len(pipe.rtp_parameters["encodings"]) == 4
    assert pipe.type == "pipe"
    assert not pipe.paused and pipe.producer_paused and pipe.priority == 1
    assert pipe.score == {"score": 10, "producerScore": 10, "producerScores": [0, 0, 0, 0]}
    assert pipe.preferred_layers is None and pipe.current_layers is None
    assert pipe.app_data == {}

    router_dump = await router.dump()
    assert router_dump.map_producer_id_consumer_ids[setup.audio.id] == [audio.id]
    assert sorted(router_dump.map_producer_id_consumer_ids[setup.video.id]) == sorted(
        [video.id, pipe.id]
    )
    assert router_dump.map_consumer_id_producer_id == {
        audio.id: setup.audio.id,
        video.id: setup.video.id,
        pipe.id: setup.video.id,
    }
    transport_dump = await transport2.dump()
    assert transport_dump["base"]["producerIds"] == []
    assert sorted(transport_dump["base"]["consumerIds"]) == sorted([audio.id, video.id, pipe.id])
    assert transport2.consumers.keys() == {audio.id, video.id, pipe.id}


async def test_consume_an_unknown_producer_fails(setup: Setup) -> None:
    with pytest.raises(LookupError):
        await setup.transport2.consume(
            ConsumerOptions(
                producer_id="12345678", rtp_capabilities=copy.deepcopy(DEVICE_CAPABILITIES)
            )
        )
    assert setup.transport2.consumers == {}


async def test_consume_with_enable_rtx(setup: Setup) -> None:
    # RTX (and so NACK) also for audio when asked.
    audio = await setup.consume(setup.audio, enable_rtx=True)
    assert audio.kind == "audio"
    assert audio.rtp_parameters["codecs"] == [
        {
            "mimeType": "audio/opus",
            "payloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": OPUS_PARAMETERS,
            "rtcpFeedback": [{"type": "nack", "parameter": ""}],
        }
    ]
    # And none for video when refused: no RTX codec or stream, no generic NACK.
    video = await setup.consume(setup.video, enable_rtx=False)
    assert video.rtp_parameters["codecs"] == [
        {
            **CONSUMER_H264,
            "rtcpFeedback": [
                fb for fb in CONSUMER_H264_FEEDBACK if fb["type"] != "nack" or fb["parameter"]
            ],
        }
    ]
    assert [set(e) for e in video.rtp_parameters["encodings"]] == [{"ssrc", "scalabilityMode"}]
    dump = await video.dump()
    assert "rtx" not in dump["rtpParameters"]["encodings"][0]


async def test_consume_with_a_given_mid(setup: Setup) -> None:
    first = await setup.consume(setup.audio)
    assert first.rtp_parameters["mid"].isdigit()
    custom = await setup.consume(setup.audio, mid="custom-mid")
    assert custom.rtp_parameters["mid"] == "custom-mid"
    third = await setup.consume(setup.audio)
    assert int(third.rtp_parameters["mid"]) == int(first.rtp_parameters["mid"]) + 1
    assert (await custom.dump())["rtpParameters"]["mid"] == "custom-mid"
    with pytest.raises(TypeError, match="mid"):
        await setup.consume(setup.audio, mid="")


async def test_consume_with_incompatible_capabilities_is_refused(setup: Setup) -> None:
    isac_only = {
        "codecs": [
            {
                "kind": "audio",
                "mimeType": "audio/ISAC",
                "preferredPayloadType": 100,
                "clockRate": 32000,
                "channels": 1,
            }
        ],
        "headerExtensions": [],
    }
    no_codecs: dict = {"codecs": [], "headerExtensions": []}
    for caps in (isac_only, no_codecs):
        assert not setup.router.can_consume(setup.audio.id, copy.deepcopy(caps))
        with pytest.raises(UnsupportedError):
            await setup.transport2.consume(
                ConsumerOptions(producer_id=setup.audio.id, rtp_capabilities=copy.deepcopy(caps))
            )
    assert setup.transport2.consumers == {}
    assert (await setup.router.dump()).map_consumer_id_producer_id == {}


async def test_consumer_dump(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    dump = await audio.dump()
    assert dump["id"] == audio.id and dump["producerId"] == setup.audio.id
    assert dump["kind"] == KIND_AUDIO
    rtp = rtp_parameters_from_dump(dump["rtpParameters"])
    assert rtp["codecs"] == [
        {
            "mimeType": "audio/opus",
            "payloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "parameters": OPUS_PARAMETERS,
            "rtcpFeedback": [],
        }
    ]
    assert rtp["headerExtensions"] == [
        header_extension("urn:ietf:params:rtp-hdrext:sdes:mid", 1),
        header_extension("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4),
        header_extension("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6),
    ]
    [encoding] = rtp["encodings"]
    assert encoding["codecPayloadType"] == 100
    assert encoding["ssrc"] == audio.rtp_parameters["encodings"][0]["ssrc"]
    assert rtp["msid"] == AUDIO_PARAMETERS["msid"]
    assert dump["type"] == TYPE_SIMPLE
    assert [e["ssrc"] for e in dump["consumableRtpEncodings"]] == [
        setup.audio.consumable_rtp_parameters["encodings"][0]["ssrc"]
    ]
    assert dump["supportedCodecPayloadTypes"] == [100]
    assert dump["paused"] is False and dump["producerPaused"] is False
    assert dump["priority"] == 1

    video = await setup.consume(setup.video, paused=True)
    dump = await video.dump()
    assert dump["id"] == video.id and dump["producerId"] == setup.video.id
    assert dump["kind"] == KIND_VIDEO
    rtp = rtp_parameters_from_dump(dump["rtpParameters"])
    h264, rtx = rtp["codecs"]
    assert (h264["mimeType"], h264["payloadType"], h264["clockRate"]) == ("video/H264", 103, 90000)
    assert "channels" not in h264
    assert h264["parameters"] == H264_PARAMETERS
    assert h264["rtcpFeedback"] == [
        {"type": "nack"},
        {"type": "nack", "parameter": "pli"},
        {"type": "ccm", "parameter": "fir"},
        {"type": "goog-remb"},
    ]
    assert (rtx["mimeType"], rtx["payloadType"], rtx["parameters"]) == (
        "video/rtx",
        104,
        {"apt": 103},
    )
    assert rtp["headerExtensions"] == [
        header_extension("urn:ietf:params:rtp-hdrext:sdes:mid", 1),
        header_extension("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4),
        header_extension("urn:3gpp:video-orientation", 8),
        header_extension("urn:ietf:params:rtp-hdrext:toffset", 9),
    ]
    [encoding] = rtp["encodings"]
    ours = video.rtp_parameters["encodings"][0]
    assert encoding["codecPayloadType"] == 103
    assert (encoding["ssrc"], encoding["rtx"]["ssrc"]) == (ours["ssrc"], ours["rtx"]["ssrc"])
    # One stream out of 4 simulcast streams of 5 temporal layers each.
    assert encoding["scalabilityMode"] == ours["scalabilityMode"] == "L4T5"
    assert "msid" not in rtp
    assert dump["type"] == TYPE_SIMULCAST
    assert [(e["ssrc"], e["scalabilityMode"]) for e in dump["consumableRtpEncodings"]] == [
        (e["ssrc"], "L1T5") for e in setup.video.consumable_rtp_parameters["encodings"]
    ]
    assert dump["supportedCodecPayloadTypes"] == [103]
    assert dump["paused"] is True and dump["producerPaused"] is False
    assert dump["priority"] == 1


async def test_consumer_get_stats_without_media(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    [stats] = await audio.get_stats()
    assert (stats["type"], stats["kind"], stats["mimeType"]) == (
        "outbound-rtp",
        "audio",
        "audio/opus",
    )
    assert stats["ssrc"] == audio.rtp_parameters["encodings"][0]["ssrc"]
    video = await setup.consume(setup.video)
    [stats] = await video.get_stats()
    assert (stats["type"], stats["kind"], stats["mimeType"]) == (
        "outbound-rtp",
        "video",
        "video/H264",
    )
    assert stats["ssrc"] == video.rtp_parameters["encodings"][0]["ssrc"]


async def test_pause_and_resume(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    await audio.pause()
    assert audio.paused and (await audio.dump())["paused"] is True
    await audio.resume()
    assert not audio.paused and (await audio.dump())["paused"] is False
    # Issued back to back: the worker and the consumer end in the last requested state.
    await asyncio.gather(
        audio.pause(), audio.resume(), audio.pause(), audio.pause(), audio.pause(), audio.resume()
    )
    assert not audio.paused and (await audio.dump())["paused"] is False
    await asyncio.gather(audio.resume(), audio.pause())
    assert audio.paused and (await audio.dump())["paused"] is True


async def test_producer_pause_and_resume_reach_the_consumer_in_order(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    events: list[str] = []
    audio.on_producer_pause.add_listener(lambda _: events.append("pause"))
    audio.on_producer_resume.add_listener(lambda _: events.append("resume"))
    resumed = next_value(audio.on_producer_resume)
    await asyncio.gather(setup.audio.pause(), setup.audio.resume())
    await settled(resumed)
    assert events == ["pause", "resume"]
    assert not audio.paused and not audio.producer_paused

    paused = next_value(audio.on_producer_pause)
    await setup.audio.pause()
    await settled(paused)
    assert not audio.paused and audio.producer_paused
    assert (await audio.dump())["producerPaused"] is True
    resumed = next_value(audio.on_producer_resume)
    await setup.audio.resume()
    await settled(resumed)
    assert not audio.paused and not audio.producer_paused
    assert events == ["pause", "resume", "pause", "resume"]


async def test_set_preferred_layers(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    video = await setup.consume(setup.video)
    # Nothing to prefer in a simple stream.
    assert await audio.set_preferred_layers(ConsumerLayers(1, 1)) is None
    assert audio.preferred_layers is None
    # 4 simulcast streams of 5 temporal layers: out-of-range layers are clamped, a
    # missing temporal layer means the highest.
    for asked, expected in (
        (ConsumerLayers(2, 3), ConsumerLayers(2, 3)),
        (ConsumerLayers(3), ConsumerLayers(3, 4)),
        (ConsumerLayers(3, 0), ConsumerLayers(3, 0)),
        (ConsumerLayers(66, 66), ConsumerLayers(3, 4)),
    ):
        assert await video.set_preferred_layers(asked) == expected
        assert video.preferred_layers == expected
        dump = await video.dump()
        assert (dump["preferredSpatialLayer"], dump["preferredTemporalLayer"]) == expected


async def test_set_preferred_layers_with_wrong_arguments_is_a_type_error(setup: Setup) -> None:
    video = await setup.consume(setup.video)
    before = video.preferred_layers
    for wrong in ("foo", {"spatialLayer": 1}, ConsumerLayers(None), ConsumerLayers("123"), -1):  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await video.set_preferred_layers(wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await video.set_preferred_layers(ConsumerLayers(1, -2))
    assert video.preferred_layers == before


async def test_svc_consumer_honours_preferred_layers(vpx_router: Router) -> None:
    producer, consumer = await _vpx_consumer(
        vpx_router, VP9_SVC_PARAMETERS, paused=True, preferred_layers=ConsumerLayers(1, 0)
    )
    assert producer.type == "svc"
    assert consumer.type == "svc"
    assert consumer.preferred_layers == ConsumerLayers(1, 0)
    assert consumer.rtp_parameters["encodings"][0]["scalabilityMode"] == "L3T3"
    receiver = consumer.transport
    # Out of range: clamped to the highest layers (3 spatial, 3 temporal).
    clamped = await receiver.consume(
        ConsumerOptions(
            producer_id=producer.id,
            rtp_capabilities=copy.deepcopy(VPX_DEVICE_CAPABILITIES),
            paused=True,
            preferred_layers=ConsumerLayers(9, 9),
        )
    )
    assert clamped.preferred_layers == ConsumerLayers(2, 2)
    # No temporal layer given: the highest one.
    no_temporal = await receiver.consume(
        ConsumerOptions(
            producer_id=producer.id,
            rtp_capabilities=copy.deepcopy(VPX_DEVICE_CAPABILITIES),
            paused=True,
            preferred_layers=ConsumerLayers(1),
        )
    )
    assert no_temporal.preferred_layers == ConsumerLayers(1, 2)


async def test_simulcast_consumer_honours_preferred_layers(vpx_router: Router) -> None:
    producer, consumer = await _vpx_consumer(
        vpx_router, VP8_SIMULCAST_PARAMETERS, paused=True, preferred_layers=ConsumerLayers(1, 0)
    )
    assert producer.type == "simulcast" and consumer.type == "simulcast"
    assert consumer.preferred_layers == ConsumerLayers(1, 0)
    # 3 streams of 5 temporal layers each, sent as one layered stream.
    assert consumer.rtp_parameters["encodings"][0]["scalabilityMode"] == "L3T5"
    clamped = await consumer.transport.consume(
        ConsumerOptions(
            producer_id=producer.id,
            rtp_capabilities=copy.deepcopy(VPX_DEVICE_CAPABILITIES),
            paused=True,
            preferred_layers=ConsumerLayers(9, 9),
        )
    )
    assert clamped.preferred_layers == ConsumerLayers(2, 4)
    # Preferred layers can be changed later, and are clamped the same way.
    assert await consumer.set_preferred_layers(ConsumerLayers(5, 1)) == ConsumerLayers(2, 1)


async def test_rid_simulcast_consumer(vpx_router: Router) -> None:
    """A browser-like simulcast producer (3 RID-identified streams with RTX) consumed with the
    router's own capabilities: one video stream with RTX and L3T3 layers."""
    rid_parameters = {
        "mid": "0",
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
            {
                "mimeType": "video/rtx",
                "payloadType": 97,
                "clockRate": 90000,
                "parameters": {"apt": 96},
            },
        ],
        "headerExtensions": [
            {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1},
            {"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 2},
            {"uri": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "id": 3},
        ],
        "encodings": [
            {"rid": "r0", "scalabilityMode": "L1T3", "maxBitrate": 100000},
            {"rid": "r1", "scalabilityMode": "L1T3", "maxBitrate": 300000},
            {"rid": "r2", "scalabilityMode": "L1T3", "maxBitrate": 900000},
        ],
    }
    transport_options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    sender = await vpx_router.create_webrtc_transport(transport_options)
    producer = await sender.produce(ProducerOptions(kind="video", rtp_parameters=rid_parameters))
    assert producer.type == "simulcast"
    dump = await producer.dump()
    assert [e["rid"] for e in dump["rtpParameters"]["encodings"]] == ["r0", "r1", "r2"]
    consumable = producer.consumable_rtp_parameters["encodings"]
    assert len({e["ssrc"] for e in consumable}) == 3  # router-side SSRCs for the RIDs
    receiver = await vpx_router.create_webrtc_transport(transport_options)
    consumer = await receiver.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=vpx_router.rtp_capabilities)
    )
    assert consumer.type == "simulcast"
    [encoding] = consumer.rtp_parameters["encodings"]
    assert encoding["scalabilityMode"] == "L3T3"
    assert encoding["rtx"]["ssrc"] == encoding["ssrc"] + 1
    assert [c["mimeType"] for c in consumer.rtp_parameters["codecs"]] == ["video/VP8", "video/rtx"]
    assert consumer.preferred_layers == ConsumerLayers(2, 2)
    assert await consumer.set_preferred_layers(ConsumerLayers(0, 1)) == ConsumerLayers(0, 1)


@pytest.mark.parametrize(
    ("encodings", "expected"),
    [
        ([{"ssrc": 11111111}], "simple"),
        ([{"ssrc": 55555555, "scalabilityMode": "L1T3"}], "svc"),
        (
            [
                {"ssrc": 11111111, "scalabilityMode": "L1T3"},
                {"ssrc": 22222222, "scalabilityMode": "L1T3"},
            ],
            "simulcast",
        ),
    ],
    ids=["single-encoding", "temporal-layers", "multiple-encodings"],
)
async def test_consumer_type_follows_the_producer(
    vpx_router: Router, encodings: list[dict], expected: str
) -> None:
    rtp_parameters = {
        "codecs": [
            {
                "mimeType": "video/VP8",
                "payloadType": 96,
                "clockRate": 90000,
                "rtcpFeedback": [
                    {"type": "nack", "parameter": ""},
                    {"type": "nack", "parameter": "pli"},
                ],
            }
        ],
        "headerExtensions": [],
        "encodings": encodings,
        "rtcp": {"cname": "test"},
    }
    producer, consumer = await _vpx_consumer(vpx_router, rtp_parameters)
    assert producer.type == expected and consumer.type == expected


async def test_set_priority(setup: Setup) -> None:
    video = await setup.consume(setup.video)
    await video.set_priority(2)
    assert video.priority == 2 and (await video.dump())["priority"] == 2
    for wrong in (0, "foo", None, 256):
        with pytest.raises(TypeError):
            await video.set_priority(wrong)  # type: ignore[arg-type]
    assert video.priority == 2
    await video.set_priority(1)  # mediasoup's unsetPriority()
    assert video.priority == 1 and (await video.dump())["priority"] == 1


async def test_score_event(worker: Worker, setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    scores = record(audio.on_score)
    score = ConsumerScoreT()
    score.score, score.producerScore, score.producerScores = 9, 10, [8]
    notification = ScoreNotificationT()
    notification.score = score
    for _ in range(3):
        waiting = next_value(audio.on_score)
        inject_notification(
            worker.channel,
            audio.id,
            Event.CONSUMER_SCORE,
            Body.Consumer_ScoreNotification,
            notification,
        )
        await settled(waiting)
    expected = {"score": 9, "producerScore": 10, "producerScores": [8]}
    assert scores == [expected] * 3
    assert audio.score == expected


async def test_consumer_close(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    video = await setup.consume(setup.video)
    closes = record(audio.on_close)
    producer_closes = record(audio.on_producer_close)
    await audio.close()
    assert closes == ["closed"] and audio.closed
    with pytest.raises(InvalidStateError):
        await audio.dump()
    router_dump = await setup.router.dump()
    assert router_dump.map_producer_id_consumer_ids == {
        setup.audio.id: [],
        setup.video.id: [video.id],
    }
    assert router_dump.map_consumer_id_producer_id == {video.id: setup.video.id}
    transport_dump = await setup.transport2.dump()
    assert transport_dump["base"]["producerIds"] == []
    assert transport_dump["base"]["consumerIds"] == [video.id]
    assert setup.transport2.consumers.keys() == {video.id}
    await audio.close()
    await setup.audio.close()
    assert closes == ["closed"] and producer_closes == []


async def test_methods_reject_once_closed(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    await audio.close()
    for call in (
        audio.dump,
        audio.get_stats,
        audio.pause,
        audio.resume,
        lambda: audio.set_preferred_layers(ConsumerLayers(0)),
        lambda: audio.set_priority(2),
        audio.request_key_frame,
    ):
        with pytest.raises(InvalidStateError):
            await call()


async def test_producer_close_closes_the_consumer(setup: Setup) -> None:
    audio = await setup.consume(setup.audio)
    closes = record(audio.on_close)
    producer_closes = record(audio.on_producer_close)
    closed = next_value(audio.on_producer_close)
    await setup.audio.close()
    await settled(closed)
    assert producer_closes == [None] and closes == ["producer closed"]
    assert audio.closed and setup.transport2.consumers == {}
    with pytest.raises(InvalidStateError):
        await audio.dump()
    await setup.transport2.close()
    assert closes == ["producer closed"] and producer_closes == [None]


async def test_transport_close_closes_the_consumer(setup: Setup) -> None:
    video = await setup.consume(setup.video)
    closes = record(video.on_close)
    producer_closes = record(video.on_producer_close)
    await setup.transport2.close()
    assert closes == ["transport closed"] and video.closed
    with pytest.raises(InvalidStateError):
        await video.dump()
    router_dump = await setup.router.dump()
    assert router_dump.map_producer_id_consumer_ids == {setup.audio.id: [], setup.video.id: []}
    assert router_dump.map_consumer_id_producer_id == {}
    await setup.video.close()
    assert closes == ["transport closed"] and producer_closes == []
