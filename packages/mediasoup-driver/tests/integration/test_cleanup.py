"""Whatever the order of closing, nothing is left in the worker."""

from __future__ import annotations

import itertools
import random

import pytest
from mediasoup_driver import (
    ConsumerOptions,
    PlainTransportOptions,
    ProducerOptions,
    Router,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
)

from tests.integration.conftest import LOCALHOST
from tests.integration.test_producer_consumer import VIEWER_CAPS
from tests.support.media import ROUTER_MEDIA_CODECS, producer_rtp_parameters


async def _build(router: Router) -> dict[str, object]:
    plain = await router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    producer = await plain.produce(
        ProducerOptions(kind="video", rtp_parameters=producer_rtp_parameters("vp8", 3, 101))
    )
    webrtc = await router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=(LOCALHOST,)))
    consumer = await webrtc.consume(
        ConsumerOptions(producer_id=producer.id, rtp_capabilities=VIEWER_CAPS)
    )
    return {"consumer": consumer, "webrtc": webrtc, "producer": producer, "plain": plain}


ENTITIES = ["consumer", "webrtc", "producer", "plain"]


@pytest.mark.parametrize("order", list(itertools.permutations(ENTITIES)), ids="-".join)
async def test_every_close_order_leaves_nothing(worker: Worker, order: tuple[str, ...]) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    entities = await _build(router)
    for name in order:
        await entities[name].close()  # type: ignore[attr-defined]
    dump = await router.dump()
    assert dump.transport_ids == []
    assert dump.map_producer_id_consumer_ids == {} and dump.map_consumer_id_producer_id == {}
    assert all(entity.closed for entity in entities.values())  # type: ignore[attr-defined]
    assert router.transports == {} and router.producers == {}
    await router.close()
    assert (await worker.dump()).router_ids == []


async def test_router_close_with_everything_open_leaves_nothing(worker: Worker) -> None:
    routers = [
        await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
        for _ in range(3)
    ]
    built = [await _build(r) for r in routers for _ in range(2)]
    random.Random(7).shuffle(routers)
    for router in routers:
        await router.close()
    dump = await worker.dump()
    assert dump.router_ids == []
    assert dump.channel_request_handlers == [] and dump.channel_notification_handlers == []
    assert all(e.closed for b in built for e in b.values())  # type: ignore[attr-defined]
    assert worker.channel._subscribers == {}
