"""Router behaviour (what mediasoup's test-Router checks), against the real worker."""

from __future__ import annotations

import pytest
from mediasoup_driver import (
    PlainTransportOptions,
    RouterOptions,
    UnsupportedError,
    WebRtcTransportOptions,
    Worker,
)

from tests.integration.conftest import LOCALHOST
from tests.support.media import ROUTER_MEDIA_CODECS


async def test_router_capabilities_assign_payload_types_and_rtx(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    codecs = router.rtp_capabilities["codecs"]
    mimes = [c["mimeType"] for c in codecs]
    assert mimes == ["audio/opus", "video/VP8", "video/rtx", "video/H264", "video/rtx"]
    vp8, vp8_rtx = codecs[1], codecs[2]
    assert vp8["preferredPayloadType"] == 101 and vp8_rtx["parameters"] == {"apt": 101}
    assert codecs[0]["preferredPayloadType"] == 100
    assert {fb["type"] for fb in vp8["rtcpFeedback"]} >= {
        "nack",
        "ccm",
        "goog-remb",
        "transport-cc",
    }
    uris = {e["uri"] for e in router.rtp_capabilities["headerExtensions"]}
    assert "urn:ietf:params:rtp-hdrext:sdes:mid" in uris
    dump = await router.dump()
    assert dump.id == router.id and dump.transport_ids == []


async def test_router_with_bad_media_codecs_is_refused_before_the_worker(worker: Worker) -> None:
    with pytest.raises(TypeError):
        await worker.create_router(RouterOptions(media_codecs=[{"kind": "chicken"}]))  # type: ignore[list-item]
    with pytest.raises(UnsupportedError):
        await worker.create_router(
            RouterOptions(
                media_codecs=[{"kind": "audio", "mimeType": "audio/chicken", "clockRate": 8000}]
            )
        )
    assert (await worker.dump()).router_ids == []


async def test_router_close_closes_its_transports(worker: Worker) -> None:
    router = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    webrtc = await router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=(LOCALHOST,)))
    plain = await router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    reasons: list[str] = []
    webrtc.on_close.add_listener(reasons.append)
    plain.on_close.add_listener(reasons.append)
    assert set(router.transports) == {webrtc.id, plain.id}
    await router.close()
    assert reasons == ["router closed", "router closed"]
    assert webrtc.closed and plain.closed and webrtc.dtls_state == "closed"
    assert router.transports == {}
    assert (await worker.dump()).router_ids == []
    with pytest.raises(Exception, match="router closed"):
        await router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=(LOCALHOST,)))


async def test_worker_close_closes_routers_and_transports() -> None:
    worker = await Worker.start()
    router = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    reasons: list[str] = []
    router.on_close.add_listener(reasons.append)
    transport.on_close.add_listener(reasons.append)
    await worker.close()
    assert reasons == ["worker closed", "worker closed"]
    assert router.closed and transport.closed
