"""What mediasoup's test-Producer.js asserts, checked against our driver and the real worker,
plus producer scores and stats with real media.

Not implemented here, so not covered: enableTraceEvent and trace events,
``appData`` type checks (typed in Python, not checked at run time).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from mediasoup_driver import (
    ChannelRequestError,
    ConsumerOptions,
    InvalidStateError,
    ProducerOptions,
    ProducerScore,
    Router,
    RouterOptions,
    UnsupportedError,
    WebRtcTransport,
    WebRtcTransportOptions,
    Worker,
)
from mediasoup_driver.fbs.FBS.Notification.Body import Body
from mediasoup_driver.fbs.FBS.Notification.Event import Event
from mediasoup_driver.fbs.FBS.Producer.Score import ScoreT
from mediasoup_driver.fbs.FBS.Producer.ScoreNotification import ScoreNotificationT

from tests.integration.parity_support import (
    AUDIO_PARAMETERS,
    KIND_AUDIO,
    KIND_VIDEO,
    LOCALHOST,
    MEDIA_CODECS,
    TYPE_SIMPLE,
    TYPE_SIMULCAST,
    header_extension,
    inject_notification,
    next_value,
    params,
    record,
    rtp_parameters_from_dump,
    settled,
)
from tests.support.media import SSRC, ffmpeg_ingest, wait_for_media

# test-Producer.js' parameters: audio without encodings; video whose first encoding
# alone has temporal layers.
PRODUCER_AUDIO = params(
    AUDIO_PARAMETERS,
    codecs=[
        {
            "mimeType": "audio/opus",
            "payloadType": 0,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {"useinbandfec": 1, "usedtx": 1, "foo": 222.222, "bar": "333"},
        }
    ],
    rtcp={"cname": "audio-1"},
)
del PRODUCER_AUDIO["encodings"], PRODUCER_AUDIO["msid"]

PRODUCER_VIDEO = {
    "mid": "VIDEO",
    "codecs": [
        {
            "mimeType": "video/h264",
            "payloadType": 112,
            "clockRate": 90000,
            "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"},
            "rtcpFeedback": [
                {"type": "nack"},
                {"type": "nack", "parameter": "pli"},
                {"type": "goog-remb"},
            ],
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 113,
            "clockRate": 90000,
            "parameters": {"apt": 112},
        },
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10},
        {"uri": "urn:3gpp:video-orientation", "id": 13},
    ],
    "encodings": [
        {"ssrc": 22222222, "rtx": {"ssrc": 22222223}, "scalabilityMode": "L1T3"},
        {"ssrc": 22222224, "rtx": {"ssrc": 22222225}},
        {"ssrc": 22222226, "rtx": {"ssrc": 22222227}},
        {"ssrc": 22222228, "rtx": {"ssrc": 22222229}},
    ],
    "rtcp": {"cname": "video-1"},
}

H264 = {
    "mimeType": "video/h264",
    "payloadType": 112,
    "clockRate": 90000,
    "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"},
}
RTX = {"mimeType": "video/rtx", "payloadType": 113, "clockRate": 90000, "parameters": {"apt": 112}}
VP8 = {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}


@dataclass
class Setup:
    router: Router
    transport1: WebRtcTransport
    transport2: WebRtcTransport


@pytest.fixture
async def setup(worker: Worker) -> AsyncIterator[Setup]:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    yield Setup(
        router,
        await router.create_webrtc_transport(options),
        await router.create_webrtc_transport(options),
    )
    await router.close()


async def test_produce_audio(setup: Setup) -> None:
    new_producers = record(setup.transport1.on_new_producer)
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO), app_data={"foo": 1})
    )
    assert new_producers == [producer]
    assert isinstance(producer.id, str) and not producer.closed
    assert producer.kind == "audio" and producer.type == "simple"
    assert isinstance(producer.rtp_parameters, dict)
    assert isinstance(producer.consumable_rtp_parameters, dict)
    assert not producer.paused and producer.score == []
    assert producer.app_data == {"foo": 1}
    router_dump = await setup.router.dump()
    assert router_dump.map_producer_id_consumer_ids == {producer.id: []}
    assert router_dump.map_consumer_id_producer_id == {}
    transport_dump = await setup.transport1.dump()
    assert transport_dump["base"]["id"] == setup.transport1.id
    assert transport_dump["base"]["producerIds"] == [producer.id]
    assert transport_dump["base"]["consumerIds"] == []


async def test_produce_video(setup: Setup) -> None:
    new_producers = record(setup.transport2.on_new_producer)
    producer = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(PRODUCER_VIDEO), app_data={"bar": "2"})
    )
    assert new_producers == [producer]
    assert producer.kind == "video" and producer.type == "simulcast"
    assert not producer.paused and producer.score == [] and producer.app_data == {"bar": "2"}
    assert len(producer.consumable_rtp_parameters["encodings"]) == 4
    router_dump = await setup.router.dump()
    assert router_dump.map_producer_id_consumer_ids == {producer.id: []}
    assert router_dump.map_consumer_id_producer_id == {}
    transport_dump = await setup.transport2.dump()
    assert transport_dump["base"]["producerIds"] == [producer.id]
    assert transport_dump["base"]["consumerIds"] == []


async def test_produce_without_header_extensions_and_rtcp(setup: Setup) -> None:
    rtp_parameters = {"mid": "AUDIO2", "codecs": copy.deepcopy(PRODUCER_AUDIO["codecs"])}
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=rtp_parameters)
    )
    assert producer.kind == "audio" and producer.type == "simple" and not producer.paused
    assert producer.score == []
    assert producer.rtp_parameters["encodings"] == [{}]  # one added, as mediasoup does
    assert producer.rtp_parameters["rtcp"]["cname"]  # one CNAME given per transport
    assert rtp_parameters == {"mid": "AUDIO2", "codecs": PRODUCER_AUDIO["codecs"]}  # untouched
    await producer.close()
    assert producer.closed


async def test_produce_with_wrong_arguments_is_a_type_error(setup: Setup) -> None:
    wrong = [
        ProducerOptions(kind="chicken", rtp_parameters={}),  # type: ignore[arg-type, typeddict-item]
        ProducerOptions(kind="audio", rtp_parameters={}),  # type: ignore[typeddict-item]
        ProducerOptions(  # an SSRC must be a number
            kind="audio",
            rtp_parameters={
                "codecs": [],
                "headerExtensions": [],
                "encodings": [{"ssrc": "1111"}],  # type: ignore[typeddict-item]
                "rtcp": {"cname": "qwerty"},
            },
        ),
        ProducerOptions(  # no encodings and no MID: the worker cannot match streams
            kind="video",
            rtp_parameters={
                "codecs": [H264, RTX],
                "headerExtensions": [],
                "encodings": [],
                "rtcp": {"cname": "qwerty"},
            },
        ),
        ProducerOptions(  # the RTX codec's apt names no codec
            kind="audio",
            rtp_parameters={
                "codecs": [H264, {**RTX, "parameters": {"apt": 111}}],
                "headerExtensions": [],
                "encodings": [{"ssrc": 6666, "rtx": {"ssrc": 6667}}],
                "rtcp": {"cname": "video-1"},
            },
        ),
    ]
    for options in wrong:
        with pytest.raises(TypeError):
            await setup.transport1.produce(copy.deepcopy(options))
    assert setup.router.producers == {} and setup.transport1.producers == {}
    assert (await setup.transport1.dump())["base"]["producerIds"] == []


async def test_produce_with_unsupported_codecs_is_refused(setup: Setup) -> None:
    isac = {
        "codecs": [{"mimeType": "audio/ISAC", "payloadType": 108, "clockRate": 32000}],
        "headerExtensions": [],
        "encodings": [{"ssrc": 1111}],
        "rtcp": {"cname": "audio"},
    }
    bad_profile = {
        "codecs": [
            {**H264, "parameters": {"packetization-mode": 1, "profile-level-id": "CHICKEN"}},
            RTX,
        ],
        "headerExtensions": [],
        "encodings": [{"ssrc": 6666, "rtx": {"ssrc": 6667}}],
    }
    with pytest.raises(UnsupportedError):
        await setup.transport1.produce(ProducerOptions(kind="audio", rtp_parameters=isac))
    with pytest.raises(UnsupportedError):
        await setup.transport1.produce(ProducerOptions(kind="video", rtp_parameters=bad_profile))
    assert setup.router.producers == {}


async def test_produce_with_an_already_used_mid_or_ssrc_fails(setup: Setup) -> None:
    audio = {
        "mid": "AUDIO",
        "codecs": [{"mimeType": "audio/opus", "payloadType": 0, "clockRate": 48000, "channels": 2}],
        "encodings": [{"ssrc": 33333333}],
    }
    video = {
        "mid": "VIDEO2",
        "codecs": [H264],
        "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 10}],
        "encodings": [{"ssrc": 22222222}],
        "rtcp": {"cname": "video-1"},
    }
    first_audio = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(audio))
    )
    with pytest.raises(ChannelRequestError):
        await setup.transport1.produce(ProducerOptions(kind="audio", rtp_parameters=params(audio)))
    first_video = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(video))
    )
    with pytest.raises(ChannelRequestError):
        await setup.transport2.produce(ProducerOptions(kind="video", rtp_parameters=params(video)))
    assert setup.router.producers.keys() == {first_audio.id, first_video.id}
    assert (await setup.router.dump()).map_producer_id_consumer_ids.keys() == {
        first_audio.id,
        first_video.id,
    }


async def test_produce_without_mid_and_a_single_encoding_without_rid_or_ssrc_fails(
    setup: Setup,
) -> None:
    with pytest.raises(ChannelRequestError, match="missing ssrc or rid"):
        await setup.transport1.produce(
            ProducerOptions(
                kind="audio",
                rtp_parameters={
                    "codecs": [
                        {
                            "mimeType": "audio/opus",
                            "payloadType": 111,
                            "clockRate": 48000,
                            "channels": 2,
                        }
                    ],
                    "encodings": [{}],
                },
            )
        )
    assert setup.router.producers == {}


@pytest.mark.parametrize(
    ("encodings", "expected"),
    [
        ([{"ssrc": 11111111}], "simple"),
        ([{"ssrc": 11111111, "scalabilityMode": "L1T3"}], "svc"),
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
async def test_producer_type_follows_its_encodings(
    setup: Setup, encodings: list[dict], expected: str
) -> None:
    producer = await setup.transport1.produce(
        ProducerOptions(
            kind="video",
            rtp_parameters={
                "codecs": [VP8],
                "encodings": encodings,
                "rtcp": {"cname": "test"},
            },
        )
    )
    assert producer.type == expected
    dump = await producer.dump()
    assert dump["type"] == {"simple": 0, "simulcast": 1, "svc": 2}[expected]


async def test_producer_dump(setup: Setup) -> None:
    audio = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    dump = await audio.dump()
    assert dump["id"] == audio.id and dump["kind"] == KIND_AUDIO
    rtp = rtp_parameters_from_dump(dump["rtpParameters"])
    assert len(rtp["codecs"]) == 1
    codec = rtp["codecs"][0]
    assert (codec["mimeType"], codec["payloadType"], codec["clockRate"], codec["channels"]) == (
        "audio/opus",
        0,
        48000,
        2,
    )
    assert codec["parameters"] == {"useinbandfec": 1, "usedtx": 1, "foo": 222.222, "bar": "333"}
    assert codec["rtcpFeedback"] == []
    assert rtp["headerExtensions"] == [
        header_extension("urn:ietf:params:rtp-hdrext:sdes:mid", 10),
        header_extension("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 12),
    ]
    assert len(rtp["encodings"]) == 1 and rtp["encodings"][0]["codecPayloadType"] == 0
    assert dump["type"] == TYPE_SIMPLE

    video = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(PRODUCER_VIDEO))
    )
    dump = await video.dump()
    assert dump["id"] == video.id and dump["kind"] == KIND_VIDEO
    rtp = rtp_parameters_from_dump(dump["rtpParameters"])
    h264, rtx = rtp["codecs"]
    assert (h264["mimeType"], h264["payloadType"], h264["clockRate"]) == ("video/H264", 112, 90000)
    assert "channels" not in h264
    assert h264["parameters"] == {"packetization-mode": 1, "profile-level-id": "4d0032"}
    assert h264["rtcpFeedback"] == [
        {"type": "nack"},
        {"type": "nack", "parameter": "pli"},
        {"type": "goog-remb"},
    ]
    assert (rtx["mimeType"], rtx["payloadType"], rtx["clockRate"]) == ("video/rtx", 113, 90000)
    assert "channels" not in rtx
    assert rtx["parameters"] == {"apt": 112} and rtx["rtcpFeedback"] == []
    assert rtp["headerExtensions"] == [
        header_extension("urn:ietf:params:rtp-hdrext:sdes:mid", 10),
        header_extension("urn:3gpp:video-orientation", 13),
    ]
    encodings = rtp["encodings"]
    assert [(e["codecPayloadType"], e["ssrc"], e["rtx"]["ssrc"]) for e in encodings] == [
        (112, 22222222, 22222223),
        (112, 22222224, 22222225),
        (112, 22222226, 22222227),
        (112, 22222228, 22222229),
    ]
    assert encodings[0]["scalabilityMode"] == "L1T3"
    assert dump["type"] == TYPE_SIMULCAST


async def test_producer_get_stats_without_media(setup: Setup) -> None:
    audio = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    video = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(PRODUCER_VIDEO))
    )
    assert await audio.get_stats() == []
    assert await video.get_stats() == []


async def test_pause_and_resume(setup: Setup) -> None:
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    pauses, resumes = record(producer.on_pause), record(producer.on_resume)
    await producer.pause()
    assert producer.paused and (await producer.dump())["paused"] is True
    await producer.resume()
    assert not producer.paused and (await producer.dump())["paused"] is False
    # Issued back to back without waiting for each other: an event fires for each
    # change of state, in order.
    await asyncio.gather(
        producer.pause(),
        producer.resume(),
        producer.pause(),
        producer.pause(),
        producer.pause(),
        producer.resume(),
    )
    assert len(pauses) == 3 and len(resumes) == 3
    assert not producer.paused and (await producer.dump())["paused"] is False


async def test_pause_and_resume_emit_events_in_order(setup: Setup) -> None:
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    events: list[str] = []
    producer.on_pause.add_listener(lambda _: events.append("pause"))
    producer.on_resume.add_listener(lambda _: events.append("resume"))
    await asyncio.gather(producer.pause(), producer.resume())
    assert events == ["pause", "resume"]
    assert not producer.paused


async def test_score_event(worker: Worker, setup: Setup) -> None:
    producer = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(PRODUCER_VIDEO))
    )
    scores = record(producer.on_score)
    notification = ScoreNotificationT()
    notification.scores = []
    for encoding_idx, ssrc, score in ((0, 11, 10), (1, 22, 9)):
        item = ScoreT()
        item.encodingIdx, item.ssrc, item.score = encoding_idx, ssrc, score
        notification.scores.append(item)
    for _ in range(3):
        waiting = next_value(producer.on_score)
        inject_notification(
            worker.channel,
            producer.id,
            Event.PRODUCER_SCORE,
            Body.Producer_ScoreNotification,
            notification,
        )
        await settled(waiting)
    expected = [ProducerScore(0, 11, None, 10), ProducerScore(1, 22, None, 9)]
    assert scores == [expected] * 3
    assert producer.score == expected


async def test_producer_close(setup: Setup) -> None:
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    closes = record(producer.on_close)
    await producer.close()
    assert closes == ["closed"] and producer.closed
    with pytest.raises(InvalidStateError):
        await producer.dump()
    router_dump = await setup.router.dump()
    assert router_dump.map_producer_id_consumer_ids == {}
    assert router_dump.map_consumer_id_producer_id == {}
    transport_dump = await setup.transport1.dump()
    assert transport_dump["base"]["producerIds"] == []
    assert transport_dump["base"]["consumerIds"] == []
    assert setup.router.producers == {} and setup.transport1.producers == {}
    await producer.close()
    await setup.transport1.close()
    assert closes == ["closed"]  # reported once, whatever closes afterwards


async def test_methods_reject_once_closed(setup: Setup) -> None:
    producer = await setup.transport1.produce(
        ProducerOptions(kind="audio", rtp_parameters=params(PRODUCER_AUDIO))
    )
    await producer.close()
    for call in (producer.dump, producer.get_stats, producer.pause, producer.resume):
        with pytest.raises(InvalidStateError):
            await call()


async def test_transport_close_closes_the_producer(setup: Setup) -> None:
    producer = await setup.transport2.produce(
        ProducerOptions(kind="video", rtp_parameters=params(PRODUCER_VIDEO))
    )
    closes = record(producer.on_close)
    await setup.transport2.close()
    assert closes == ["transport closed"] and producer.closed
    with pytest.raises(InvalidStateError):
        await producer.dump()
    assert setup.router.producers == {}
    assert (await setup.router.dump()).map_producer_id_consumer_ids == {}
    await setup.router.close()
    assert closes == ["transport closed"]


async def test_scores_and_stats_with_real_media(router: Router) -> None:
    """A live ingest: the worker scores the stream and reports inbound RTP stats; a
    consumer's stats give its outbound stream, then the producer's inbound one."""
    source = await ffmpeg_ingest(router, "vp8")
    try:
        await wait_for_media(source.producer)
        score = source.producer.score
        assert [(s.encoding_idx, s.ssrc, s.rid) for s in score] == [(0, SSRC, None)]
        assert 0 < score[0].score <= 10
        stats = await source.producer.get_stats()
        assert len(stats) == 1
        inbound = stats[0]
        assert (inbound["type"], inbound["kind"], inbound["ssrc"]) == ("inbound-rtp", "video", SSRC)
        assert inbound["mimeType"] == "video/VP8" and inbound["packetCount"] > 0
        assert inbound["byteCount"] > 0
        transport = await router.create_webrtc_transport(
            WebRtcTransportOptions(listen_infos=(LOCALHOST,))
        )
        consumer = await transport.consume(
            ConsumerOptions(
                producer_id=source.producer.id, rtp_capabilities=router.rtp_capabilities
            )
        )
        consumer_stats = await consumer.get_stats()
        assert [s["type"] for s in consumer_stats] == ["outbound-rtp", "inbound-rtp"]
        assert consumer_stats[0]["ssrc"] == consumer.rtp_parameters["encodings"][0]["ssrc"]
        assert consumer_stats[1]["ssrc"] == SSRC
    finally:
        await source.stop()
