"""Producer and Consumer behaviour (what mediasoup's test-Producer/-Consumer check)."""

from __future__ import annotations

import asyncio
import copy

import pytest
from mediasoup_driver import (
    ConsumerLayers,
    ConsumerOptions,
    InvalidStateError,
    PlainTransportOptions,
    Producer,
    ProducerOptions,
    Router,
    UnsupportedError,
    WebRtcTransport,
    WebRtcTransportOptions,
)

from tests.integration.conftest import LOCALHOST
from tests.support.media import RTCP_FEEDBACK, producer_rtp_parameters

# What a browser (mediasoup-client) would send: VP8 + RTX, opus, mid, abs-send-time, TWCC.
VIEWER_CAPS = {
    "codecs": [
        {
            "kind": "audio",
            "mimeType": "audio/opus",
            "preferredPayloadType": 100,
            "clockRate": 48000,
            "channels": 2,
            "rtcpFeedback": [{"type": "transport-cc"}],
        },
        {
            "kind": "video",
            "mimeType": "video/VP8",
            "preferredPayloadType": 101,
            "clockRate": 90000,
            "rtcpFeedback": [*RTCP_FEEDBACK, {"type": "goog-remb"}, {"type": "transport-cc"}],
        },
        {
            "kind": "video",
            "mimeType": "video/rtx",
            "preferredPayloadType": 102,
            "clockRate": 90000,
            "parameters": {"apt": 101},
            "rtcpFeedback": [],
        },
    ],
    "headerExtensions": [
        {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1},
        {
            "kind": "video",
            "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "preferredId": 4,
        },
        {
            "kind": "video",
            "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "preferredId": 5,
        },
    ],
}


async def _producer(router: Router, codec: str = "vp8", **kwargs) -> Producer:
    plain = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=True)
    )
    return await plain.produce(
        ProducerOptions(
            kind="video", rtp_parameters=producer_rtp_parameters(codec, 1111, 101), **kwargs
        )
    )


async def _webrtc(router: Router) -> WebRtcTransport:
    return await router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=(LOCALHOST,)))


async def test_produce_registers_producer_everywhere(router: Router) -> None:
    producer = await _producer(router, app_data={"stream": "cam-1"})
    assert producer.kind == "video" and producer.type == "simple"
    assert not producer.paused and not producer.closed
    assert producer.app_data == {"stream": "cam-1"}
    assert router.producers == {producer.id: producer}
    assert producer.rtp_parameters["rtcp"]["cname"]  # one CNAME per transport is assigned
    consumable = producer.consumable_rtp_parameters
    assert consumable["codecs"][0]["payloadType"] == 101  # router's VP8 payload type
    assert consumable["encodings"][0]["ssrc"] != 1111  # mapped SSRC
    dump = await producer.dump()
    assert dump["id"] == producer.id and dump["paused"] is False
    transport_dump = await producer.transport.dump()
    assert transport_dump["base"]["producerIds"] == [producer.id]
    assert await producer.get_stats() == []  # nothing received yet


async def test_produce_with_unsupported_codec_or_bad_parameters(router: Router) -> None:
    plain = await router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    av1 = {
        "codecs": [{"mimeType": "video/AV1", "payloadType": 96, "clockRate": 90000}],
        "encodings": [{"ssrc": 5}],
    }
    with pytest.raises(UnsupportedError):
        await plain.produce(ProducerOptions(kind="video", rtp_parameters=av1))
    with pytest.raises(TypeError):
        await plain.produce(ProducerOptions(kind="video", rtp_parameters={"codecs": "nope"}))  # type: ignore[typeddict-item]
    with pytest.raises(TypeError):
        await plain.produce(
            ProducerOptions(
                kind="data",  # type: ignore[arg-type]
                rtp_parameters=producer_rtp_parameters("vp8", 1, 101),
            )
        )
    assert router.producers == {}
    assert (await plain.dump())["base"]["producerIds"] == []


async def test_duplicate_producer_id_is_refused(router: Router) -> None:
    producer = await _producer(router)
    plain = await router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    with pytest.raises(TypeError, match="already exists"):
        await plain.produce(
            ProducerOptions(
                kind="video", id=producer.id, rtp_parameters=producer_rtp_parameters("vp8", 2, 101)
            )
        )


async def test_consume_gives_consumer_parameters(router: Router) -> None:
    producer = await _producer(router)
    transport = await _webrtc(router)
    assert router.can_consume(producer.id, VIEWER_CAPS)
    consumer = await transport.consume(
        ConsumerOptions(
            producer_id=producer.id, rtp_capabilities=VIEWER_CAPS, app_data={"viewer": 1}
        )
    )
    assert consumer.producer_id == producer.id and consumer.kind == "video"
    assert consumer.type == "simple" and not consumer.paused and not consumer.producer_paused
    params = consumer.rtp_parameters
    assert params["mid"] == "0"
    assert [c["mimeType"] for c in params["codecs"]] == ["video/VP8", "video/rtx"]
    encoding = params["encodings"][0]
    assert encoding["rtx"]["ssrc"] == encoding["ssrc"] + 1
    # transport-cc negotiated: REMB feedback dropped (mediasoup's reduction rule).
    feedback = {fb["type"] for fb in params["codecs"][0]["rtcpFeedback"]}
    assert "transport-cc" in feedback and "goog-remb" not in feedback
    second = await transport.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    assert second.rtp_parameters["mid"] == "1"
    assert second.rtp_parameters["encodings"][0]["ssrc"] != encoding["ssrc"]
    dump = await consumer.dump()
    assert dump["id"] == consumer.id and dump["producerId"] == producer.id
    assert dump["rtpParameters"]["encodings"][0]["ssrc"] == encoding["ssrc"]
    router_dump = await router.dump()
    assert sorted(router_dump.map_producer_id_consumer_ids[producer.id]) == sorted(
        [consumer.id, second.id]
    )
    assert transport.consumers.keys() == {consumer.id, second.id}


async def test_consume_without_transport_cc_keeps_remb(router: Router) -> None:
    producer = await _producer(router)
    caps = copy.deepcopy(VIEWER_CAPS)
    caps["headerExtensions"] = [h for h in caps["headerExtensions"] if h["preferredId"] != 5]
    consumer = await (await _webrtc(router)).consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps)
    )
    feedback = {fb["type"] for fb in consumer.rtp_parameters["codecs"][0]["rtcpFeedback"]}
    assert "goog-remb" in feedback and "transport-cc" not in feedback


async def test_changed_capabilities_get_their_own_parameters(router: Router) -> None:
    """Plans are reused for equal capabilities, and a caller changing its dict after a
    consume gets parameters for what it sends now, not for what it sent before."""
    producer = await _producer(router)
    transport = await _webrtc(router)
    caps = copy.deepcopy(VIEWER_CAPS)
    first = await transport.consume(ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps))
    assert producer.consume_plan(copy.deepcopy(VIEWER_CAPS), True) is producer.consume_plan(
        caps, True
    )
    feedback = {fb["type"] for fb in first.rtp_parameters["codecs"][0]["rtcpFeedback"]}
    assert "transport-cc" in feedback
    caps["headerExtensions"] = [h for h in caps["headerExtensions"] if h["preferredId"] != 5]
    second = await transport.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps)
    )
    feedback = {fb["type"] for fb in second.rtp_parameters["codecs"][0]["rtcpFeedback"]}
    assert "goog-remb" in feedback and "transport-cc" not in feedback
    caps["codecs"] = [c for c in caps["codecs"] if c["mimeType"] != "video/rtx"]
    third = await transport.consume(ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps))
    assert "rtx" not in third.rtp_parameters["encodings"][0]
    assert "rtx" in first.rtp_parameters["encodings"][0]


async def test_cannot_consume_with_incompatible_capabilities(router: Router) -> None:
    producer = await _producer(router)
    transport = await _webrtc(router)
    h264_only = {
        "codecs": [
            {
                "kind": "video",
                "mimeType": "video/H264",
                "clockRate": 90000,
                "preferredPayloadType": 103,
                "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
            }
        ],
        "headerExtensions": [],
    }
    assert not router.can_consume(producer.id, h264_only)
    assert not router.can_consume("unknown-producer", VIEWER_CAPS)
    assert not router.can_consume(producer.id, {"codecs": "garbage"})  # type: ignore[typeddict-item]
    with pytest.raises(UnsupportedError):
        await transport.consume(
            ConsumerOptions(producer_id=producer.id, rtp_capabilities=h264_only)
        )
    with pytest.raises(LookupError):
        await transport.consume(ConsumerOptions(producer_id="nope", rtp_capabilities=VIEWER_CAPS))
    with pytest.raises(TypeError):
        await transport.consume(
            ConsumerOptions(producer_id=producer.id, rtp_capabilities={"codecs": [{"kind": 3}]})
        )  # type: ignore[list-item]
    assert transport.consumers == {}
    assert (await router.dump()).map_consumer_id_producer_id == {}


async def test_consumer_pause_resume_key_frame_layers_priority(router: Router) -> None:
    producer = await _producer(router)
    consumer = await (await _webrtc(router)).consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS, paused=True)
    )
    assert consumer.paused
    await consumer.resume()
    assert not consumer.paused and (await consumer.dump())["paused"] is False
    await consumer.pause()
    assert consumer.paused and (await consumer.dump())["paused"] is True
    await consumer.request_key_frame()
    # A simple (non-simulcast) stream has no layers to prefer.
    assert await consumer.set_preferred_layers(ConsumerLayers(0, 0)) is None
    with pytest.raises(TypeError):
        await consumer.set_preferred_layers(ConsumerLayers(-1))
    await consumer.set_priority(2)
    assert consumer.priority == 2
    stats = await consumer.get_stats()
    assert stats and stats[0]["type"] == "outbound-rtp"


async def test_producer_pause_is_seen_by_consumers(router: Router) -> None:
    producer = await _producer(router)
    consumer = await (await _webrtc(router)).consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    # Waiting starts before the request: the worker notifies consumers before it
    # answers, and on a loaded machine the two can arrive in separate reads.
    paused = asyncio.ensure_future(consumer.on_producer_pause.wait())
    await producer.pause()
    await paused
    assert producer.paused and consumer.producer_paused
    resumed = asyncio.ensure_future(consumer.on_producer_resume.wait())
    await producer.resume()
    await resumed
    assert not consumer.producer_paused
    # A consumer created while the producer is paused knows it at once.
    await producer.pause()
    late = await (await _webrtc(router)).consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    assert late.producer_paused


async def test_producer_close_closes_its_consumers_everywhere(router: Router) -> None:
    producer = await _producer(router)
    consumers = [
        await (await _webrtc(router)).consume(
            ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
        )
        for _ in range(3)
    ]
    reasons: list[str] = []
    for consumer in consumers:
        consumer.on_close.add_listener(reasons.append)
    waits = [c.on_producer_close.wait() for c in consumers]
    await producer.close()
    for wait in waits:
        await wait
    assert reasons == ["producer closed"] * 3
    assert all(c.closed and not c.transport.consumers for c in consumers)
    assert router.producers == {}
    dump = await router.dump()
    assert dump.map_producer_id_consumer_ids == {} and dump.map_consumer_id_producer_id == {}
    with pytest.raises(InvalidStateError):
        await consumers[0].resume()


async def test_transport_close_closes_its_producers_and_consumers(router: Router) -> None:
    producer = await _producer(router)
    transport = await _webrtc(router)
    consumer = await transport.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    other_viewer = await (await _webrtc(router)).consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    reasons: dict[str, str] = {}
    consumer.on_close.add_listener(lambda r: reasons.setdefault("consumer", r))
    producer.on_close.add_listener(lambda r: reasons.setdefault("producer", r))
    other_viewer.on_close.add_listener(lambda r: reasons.setdefault("other", r))
    await transport.close()
    assert reasons == {"consumer": "transport closed"}
    closed_other = other_viewer.on_producer_close.wait()
    await producer.transport.close()
    await closed_other
    assert reasons == {
        "consumer": "transport closed",
        "producer": "transport closed",
        "other": "producer closed",
    }
