"""PlainTransport and PipeTransport behaviour (mediasoup's test-PlainTransport/-PipeTransport),
plus real media through a pipe between two routers (how nodes will fan out)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from mediasoup_driver import (
    ConsumerOptions,
    ListenInfo,
    PipeTransportOptions,
    PlainTransportOptions,
    ProducerOptions,
    Router,
    RouterOptions,
    Worker,
)

from tests.support import ingest
from tests.support.driver_flow import LOCALHOST, ffmpeg_ingest, watch


async def test_comedia_plain_transport_learns_the_sender_tuple(router: Router) -> None:
    transport = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=True, rtcp_mux=True)
    )
    assert transport.comedia and transport.rtcp_mux and transport.rtcp_tuple is None
    assert transport.tuple.local_address == "127.0.0.1" and transport.tuple.protocol == "udp"
    assert transport.tuple.remote_ip is None
    await transport.produce(
        ProducerOptions(kind="video", rtp_parameters=ingest.producer_rtp_parameters("vp8", 7, 101))
    )
    learned = transport.on_tuple.wait()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        # A minimal RTP packet (V=2, PT=101, SSRC=7) with a 1-byte payload.
        packet = bytes([0x80, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0x10])
        sender.sendto(packet, ("127.0.0.1", transport.tuple.local_port))
        new_tuple = await asyncio.wait_for(learned, 5)
        assert (new_tuple.remote_ip, new_tuple.remote_port) == sender.getsockname()
    assert transport.tuple == new_tuple


async def test_plain_transport_without_rtcp_mux_connects_explicitly(router: Router) -> None:
    transport = await router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, rtcp_mux=False)
    )
    assert transport.rtcp_tuple is not None
    assert transport.rtcp_tuple.local_port != transport.tuple.local_port
    await transport.connect(ip="127.0.0.1", port=41000, rtcp_port=41001)
    assert (transport.tuple.remote_ip, transport.tuple.remote_port) == ("127.0.0.1", 41000)
    assert transport.rtcp_tuple.remote_port == 41001
    dump = await transport.dump()
    assert dump["rtcpMux"] is False and dump["comedia"] is False
    stats = await transport.get_stats()
    assert stats["base"]["transportId"] == transport.id
    with pytest.raises(TypeError, match="port"):
        await transport.connect(ip="127.0.0.1", port=70000)


async def test_plain_transport_with_srtp_gives_its_key(router: Router) -> None:
    transport = await router.create_plain_transport(
        PlainTransportOptions(
            listen_info=LOCALHOST, enable_srtp=True, srtp_crypto_suite="AEAD_AES_256_GCM"
        )
    )
    assert transport.srtp_parameters is not None
    assert transport.srtp_parameters["cryptoSuite"] == "AEAD_AES_256_GCM"
    assert len(transport.srtp_parameters["keyBase64"]) > 40
    with pytest.raises(TypeError, match="srtp_crypto_suite"):
        await router.create_plain_transport(
            PlainTransportOptions(listen_info=LOCALHOST, srtp_crypto_suite="ROT13")  # type: ignore[arg-type]
        )


async def test_pipe_carries_a_live_stream_to_another_router(worker: Worker) -> None:
    """ffmpeg -> router A -> PipeTransport pair -> router B -> real viewer decodes."""
    codecs = RouterOptions(media_codecs=ingest.ROUTER_MEDIA_CODECS)
    router_a = await worker.create_router(codecs)
    worker_b = await Worker.start()
    try:
        router_b = await worker_b.create_router(codecs)
        source = await ffmpeg_ingest(router_a, "vp8")
        try:
            pipe_a = await router_a.create_pipe_transport(
                PipeTransportOptions(listen_info=LOCALHOST)
            )
            pipe_b = await router_b.create_pipe_transport(
                PipeTransportOptions(listen_info=LOCALHOST)
            )
            await pipe_a.connect(ip="127.0.0.1", port=pipe_b.tuple.local_port)
            await pipe_b.connect(ip="127.0.0.1", port=pipe_a.tuple.local_port)
            assert pipe_a.tuple.remote_port == pipe_b.tuple.local_port
            pipe_consumer = await pipe_a.consume(
                ConsumerOptions(producer_id=source.producer.id, rtp_capabilities={})
            )
            assert pipe_consumer.type == "pipe"
            piped = await pipe_b.produce(
                ProducerOptions(
                    id=source.producer.id,
                    kind=pipe_consumer.kind,
                    rtp_parameters=pipe_consumer.rtp_parameters,
                    paused=pipe_consumer.producer_paused,
                )
            )
            assert piped.id == source.producer.id and router_b.producers.keys() == {piped.id}
            watching = await watch(router_b, piped)
            frames = await watching.viewer.frames(15)
            assert {(f.width, f.height) for f in frames} == {(ingest.WIDTH, ingest.HEIGHT)}
            await watching.viewer.close()
            # Closing the origin producer closes the pipe consumer (worker notification).
            closed = pipe_consumer.on_producer_close.wait()
            await source.producer.close()
            await asyncio.wait_for(closed, 5)
        finally:
            await source.stop()
    finally:
        await worker_b.close()


async def test_pipe_connect_validates_its_arguments(router: Router) -> None:
    pipe = await router.create_pipe_transport(PipeTransportOptions(listen_info=LOCALHOST))
    with pytest.raises(TypeError, match="port"):
        await pipe.connect(ip="127.0.0.1", port=0)
    with pytest.raises(TypeError, match="ip"):
        await pipe.connect(ip="", port=1234)
    assert pipe.tuple.remote_ip is None
    assert isinstance(ListenInfo(ip="127.0.0.1").port, int)
