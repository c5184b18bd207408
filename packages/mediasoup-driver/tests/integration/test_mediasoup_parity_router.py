"""What mediasoup's test-Router.js asserts, checked against our driver and the real worker.

Not implemented here, so not covered: ``router.updateMediaCodecs()``, the
``newrouter`` observer event, the RTP-observer and data-channel maps of the router
dump, and ``appData`` type checks (typed in Python, not checked at run time).
"""

from __future__ import annotations

import copy

import pytest
from mediasoup_driver import (
    InvalidStateError,
    PlainTransportOptions,
    ProducerOptions,
    RouterOptions,
    UnsupportedError,
    Worker,
    WorkerClosedError,
)

from tests.integration.parity_support import (
    LOCALHOST,
    MEDIA_CODECS,
    UNSUPPORTED_MEDIA_CODECS,
    VIDEO_PARAMETERS,
    record,
)


async def test_create_router(worker: Worker) -> None:
    router = await worker.create_router(
        RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS), app_data={"foo": 123})
    )
    assert isinstance(router.id, str) and not router.closed
    caps = router.rtp_capabilities
    # 3 codecs + 2 RTX codecs (one per video codec).
    assert [c["mimeType"] for c in caps["codecs"]] == [
        "audio/opus",
        "video/VP8",
        "video/rtx",
        "video/H264",
        "video/rtx",
    ]
    assert isinstance(caps["headerExtensions"], list) and caps["headerExtensions"]
    opus, _, _, h264, _ = caps["codecs"]
    assert opus["parameters"] == {"useinbandfec": 1, "foo": "bar"}
    # The rtcpFeedback given for H264 is ignored: the router sets its own.
    assert {fb["type"] for fb in h264["rtcpFeedback"]} >= {"nack", "ccm", "goog-remb"}
    assert router.app_data == {"foo": 123}
    router.app_data = {"foo": 222, "bar": "BBB"}
    assert router.app_data == {"foo": 222, "bar": "BBB"}

    worker_dump = await worker.dump()
    assert worker_dump.pid == worker.pid
    assert worker_dump.web_rtc_server_ids == []
    assert worker_dump.router_ids == [router.id]
    assert worker_dump.channel_request_handlers == [router.id]
    assert worker_dump.channel_notification_handlers == []
    router_dump = await router.dump()
    assert router_dump.id == router.id
    assert router_dump.transport_ids == [] and router_dump.rtp_observer_ids == []
    assert router_dump.map_producer_id_consumer_ids == {}
    assert router_dump.map_consumer_id_producer_id == {}
    assert set(worker.routers) == {router.id}

    await worker.close()
    assert router.closed
    assert worker.routers == {}


async def test_create_router_with_unsupported_codecs_is_refused(worker: Worker) -> None:
    with pytest.raises(UnsupportedError):
        await worker.create_router(
            RouterOptions(media_codecs=copy.deepcopy(UNSUPPORTED_MEDIA_CODECS))
        )
    assert (await worker.dump()).router_ids == []


async def test_create_router_with_wrong_arguments_is_a_type_error(worker: Worker) -> None:
    with pytest.raises(TypeError):
        await worker.create_router(RouterOptions(media_codecs={}))  # type: ignore[arg-type]
    assert (await worker.dump()).router_ids == []


async def test_create_router_on_a_closed_worker_is_refused(worker: Worker) -> None:
    await worker.close()
    with pytest.raises(WorkerClosedError):
        await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))


async def test_rtp_capabilities_are_a_copy(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    original = router.rtp_capabilities
    # The application edits what it got; the router's own capabilities do not change.
    router.rtp_capabilities["headerExtensions"] = []
    router.rtp_capabilities["codecs"].clear()
    assert router.rtp_capabilities == original
    # ... and the router still maps a producer's codecs and extensions onto its own.
    transport = await router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    producer = await transport.produce(
        ProducerOptions(kind="video", rtp_parameters=copy.deepcopy(VIDEO_PARAMETERS))
    )
    consumable = producer.consumable_rtp_parameters
    assert [c["mimeType"] for c in consumable["codecs"]] == ["video/H264", "video/rtx"]
    assert {e["uri"] for e in consumable["headerExtensions"]} >= {"urn:3gpp:video-orientation"}


async def test_router_close(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    closes = record(router.on_close)
    await router.close()
    assert closes == ["closed"] and router.closed
    with pytest.raises(InvalidStateError):
        await router.dump()
    await router.close()
    assert closes == ["closed"]
    assert (await worker.dump()).router_ids == []


async def test_router_is_closed_by_its_worker_closing(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    closes = record(router.on_close)
    await worker.close()
    assert closes == ["worker closed"] and router.closed
    with pytest.raises(InvalidStateError):
        await router.dump()
    await router.close()  # a no-op now, and not reported again
    assert closes == ["worker closed"]
