"""What mediasoup's test-PlainTransport.js asserts, checked against our driver and the
real worker.

Covered elsewhere: comedia learning the sender's tuple from its first packet
(test_plain_pipe_transport.py). Not implemented here, so not covered: SCTP
parameters/state, the deprecated ``listenIp`` option, ``appData`` type checks.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mediasoup_driver import (
    ChannelRequestError,
    InvalidStateError,
    ListenInfo,
    PlainTransport,
    PlainTransportOptions,
    ProducerOptions,
    Router,
    RouterOptions,
    Worker,
)

from tests.integration.parity_support import (
    AUDIO_PARAMETERS,
    LOCALHOST,
    MEDIA_CODECS,
    SRTP_KEY_AEAD_256,
    SRTP_KEY_AES_CM,
    params,
    record,
    tuple_from_dump,
)
from tests.support.media import free_udp_port

PORT_RANGE = (2000, 3000)
VALID_AEAD_256 = {"cryptoSuite": "AEAD_AES_256_GCM", "keyBase64": SRTP_KEY_AEAD_256}


@pytest.fixture
async def ms_router(worker: Worker) -> AsyncIterator[Router]:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    yield router
    await router.close()


async def test_create_plain_transport(ms_router: Router) -> None:
    first = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=ListenInfo(ip="127.0.0.1", port_range=PORT_RANGE))
    )
    assert (await ms_router.dump()).transport_ids == [first.id]

    new_transports = record(ms_router.on_new_transport)
    transport = await ms_router.create_plain_transport(
        PlainTransportOptions(
            listen_info=ListenInfo(
                ip="127.0.0.1", announced_address="9.9.9.1", port_range=PORT_RANGE
            ),
            app_data={"foo": "bar"},
        )
    )
    assert new_transports == [transport]
    assert isinstance(transport.id, str) and not transport.closed
    assert transport.app_data == {"foo": "bar"}
    assert transport.tuple.local_address == "9.9.9.1"  # the announced address
    assert PORT_RANGE[0] <= transport.tuple.local_port <= PORT_RANGE[1]
    assert transport.tuple.protocol == "udp" and transport.tuple.remote_ip is None
    assert transport.rtcp_mux and transport.rtcp_tuple is None
    assert transport.srtp_parameters is None
    dump = await transport.dump()
    assert dump["base"]["id"] == transport.id
    assert dump["base"]["producerIds"] == [] and dump["base"]["consumerIds"] == []
    assert tuple_from_dump(dump["tuple"]) == transport.tuple
    assert "rtcpTuple" not in dump and "srtpParameters" not in dump
    assert "recvRtpHeaderExtensions" in dump["base"]
    assert isinstance(dump["base"]["rtpListener"], dict)
    await transport.close()
    assert transport.closed

    rtp_port, rtcp_port = free_udp_port(), free_udp_port()
    separate = await ms_router.create_plain_transport(
        PlainTransportOptions(
            listen_info=ListenInfo(ip="127.0.0.1", port=rtp_port),
            rtcp_listen_info=ListenInfo(ip="127.0.0.1", port=rtcp_port),
        )
    )
    assert isinstance(separate.id, str) and not separate.closed
    assert separate.app_data == {}
    assert (separate.tuple.local_address, separate.tuple.local_port) == ("127.0.0.1", rtp_port)
    assert separate.tuple.protocol == "udp"
    assert separate.rtcp_tuple is not None
    assert (separate.rtcp_tuple.local_address, separate.rtcp_tuple.local_port) == (
        "127.0.0.1",
        rtcp_port,
    )
    assert separate.rtcp_tuple.protocol == "udp"
    assert not separate.rtcp_mux  # an RTCP listen info means no RTCP multiplexing
    dump = await separate.dump()
    assert dump["base"]["id"] == separate.id
    assert tuple_from_dump(dump["tuple"]) == separate.tuple
    assert tuple_from_dump(dump["rtcpTuple"]) == separate.rtcp_tuple


@pytest.mark.parametrize("comedia", [False, True], ids=["no-comedia", "comedia"])
@pytest.mark.parametrize("rtcp_mux", [True, False], ids=["rtcp-mux", "no-rtcp-mux"])
async def test_comedia_and_rtcp_mux_combinations(
    ms_router: Router, comedia: bool, rtcp_mux: bool
) -> None:
    transport = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, comedia=comedia, rtcp_mux=rtcp_mux)
    )
    assert (transport.comedia, transport.rtcp_mux) == (comedia, rtcp_mux)
    if rtcp_mux:
        assert transport.rtcp_tuple is None
    else:
        assert transport.rtcp_tuple is not None
        assert transport.rtcp_tuple.local_port != transport.tuple.local_port
        assert transport.rtcp_tuple.remote_ip is None
    dump = await transport.dump()
    assert (dump["comedia"], dump["rtcpMux"]) == (comedia, rtcp_mux)
    assert ("rtcpTuple" in dump) is not rtcp_mux
    stats = await transport.get_stats()
    assert (stats["comedia"], stats["rtcpMux"]) == (comedia, rtcp_mux)


async def test_create_plain_transport_with_wrong_arguments_is_a_type_error(
    ms_router: Router,
) -> None:
    for listen_info in (
        ListenInfo(ip="127.0.0.1", port_range=(4000, 3000)),
        ListenInfo(ip="123"),
        ListenInfo(ip="127.0.0.1", protocol="tcp"),  # plain RTP is UDP only
    ):
        with pytest.raises(TypeError):
            await ms_router.create_plain_transport(PlainTransportOptions(listen_info=listen_info))
    assert ms_router.transports == {}
    assert (await ms_router.dump()).transport_ids == []


async def test_srtp(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, enable_srtp=True)
    )
    assert transport.srtp_parameters is not None
    assert transport.srtp_parameters["cryptoSuite"] == "AES_CM_128_HMAC_SHA1_80"  # the default
    assert len(transport.srtp_parameters["keyBase64"]) == 40
    wrong: list[Any] = [
        None,  # missing: SRTP is enabled
        1,
        {"keyBase64": SRTP_KEY_AES_CM},
        {"cryptoSuite": "AES_CM_128_HMAC_SHA1_80"},
        {"cryptoSuite": "FOO", "keyBase64": SRTP_KEY_AES_CM},
        {"cryptoSuite": 123, "keyBase64": SRTP_KEY_AES_CM},
        {"cryptoSuite": "AES_CM_128_HMAC_SHA1_80", "keyBase64": []},
    ]
    for srtp_parameters in wrong:
        with pytest.raises(TypeError):
            await transport.connect(ip="127.0.0.2", port=9999, srtp_parameters=srtp_parameters)
    assert transport.tuple.remote_ip is None  # none of those connected
    # Valid parameters, with another crypto suite: ours follows the remote one.
    assert (
        await transport.connect(ip="127.0.0.2", port=9999, srtp_parameters=VALID_AEAD_256)
    ) is None
    assert transport.srtp_parameters is not None
    assert transport.srtp_parameters["cryptoSuite"] == "AEAD_AES_256_GCM"
    assert len(transport.srtp_parameters["keyBase64"]) == 60
    assert (transport.tuple.remote_ip, transport.tuple.remote_port) == ("127.0.0.2", 9999)


async def test_connect_with_only_srtp_parameters_under_comedia(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, enable_srtp=True, comedia=True)
    )
    assert transport.srtp_parameters is not None
    assert transport.srtp_parameters["cryptoSuite"] == "AES_CM_128_HMAC_SHA1_80"
    assert len(transport.srtp_parameters["keyBase64"]) == 40
    assert transport.tuple.local_address == "127.0.0.1" and transport.tuple.protocol == "udp"
    assert transport.tuple.remote_ip is None
    # No ip/port: comedia learns them from the first packet.
    assert (await transport.connect(srtp_parameters=VALID_AEAD_256)) is None
    assert transport.srtp_parameters["cryptoSuite"] == "AEAD_AES_256_GCM"
    assert len(transport.srtp_parameters["keyBase64"]) == 60
    assert transport.tuple.remote_ip is None


async def test_create_plain_transport_on_a_non_bindable_ip_fails(ms_router: Router) -> None:
    with pytest.raises(ChannelRequestError) as info:
        await ms_router.create_plain_transport(
            PlainTransportOptions(listen_info=ListenInfo(ip="8.8.8.8"))
        )
    assert not isinstance(info.value, TypeError)
    assert ms_router.transports == {}


async def test_same_ip_and_port_needs_udp_reuse_port(ms_router: Router) -> None:
    multicast = "224.0.0.1"
    port = free_udp_port()
    # ipv6_only is ignored for an IPv4 address.
    await ms_router.create_plain_transport(
        PlainTransportOptions(
            listen_info=ListenInfo(ip=multicast, port=port, udp_reuse_port=True, ipv6_only=True)
        )
    )
    shared = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=ListenInfo(ip=multicast, port=port, udp_reuse_port=True))
    )
    assert shared.tuple.local_port == port

    other_port = free_udp_port()
    await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=ListenInfo(ip=multicast, port=other_port))
    )
    with pytest.raises(ChannelRequestError, match="address already in use"):
        await ms_router.create_plain_transport(
            PlainTransportOptions(listen_info=ListenInfo(ip=multicast, port=other_port))
        )
    assert len(ms_router.transports) == 3


async def test_get_stats(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    stats = await transport.get_stats()
    base = stats["base"]
    assert base["transportId"] == transport.id
    assert isinstance(base["timestamp"], int)
    for counter in (
        "bytesReceived",
        "recvBitrate",
        "bytesSent",
        "sendBitrate",
        "rtpBytesReceived",
        "rtpRecvBitrate",
        "rtpBytesSent",
        "rtpSendBitrate",
        "rtxBytesReceived",
        "rtxRecvBitrate",
        "rtxBytesSent",
        "rtxSendBitrate",
        "probationBytesSent",
        "probationSendBitrate",
    ):
        assert base[counter] == 0, counter
    assert tuple_from_dump(stats["tuple"]) == transport.tuple
    assert transport.tuple.local_address == "127.0.0.1" and transport.tuple.protocol == "udp"
    assert "rtcpTuple" not in stats


async def test_connect(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, rtcp_mux=False)
    )
    assert (await transport.connect(ip="1.2.3.4", port=1234, rtcp_port=1235)) is None
    with pytest.raises(ChannelRequestError, match="already called"):
        await transport.connect(ip="1.2.3.4", port=1234, rtcp_port=1235)
    assert (transport.tuple.remote_ip, transport.tuple.remote_port) == ("1.2.3.4", 1234)
    assert transport.tuple.protocol == "udp"
    assert transport.rtcp_tuple is not None
    assert (transport.rtcp_tuple.remote_ip, transport.rtcp_tuple.remote_port) == (
        "1.2.3.4",
        1235,
    )
    assert transport.rtcp_tuple.protocol == "udp"
    dump = await transport.dump()
    assert tuple_from_dump(dump["tuple"]) == transport.tuple
    assert tuple_from_dump(dump["rtcpTuple"]) == transport.rtcp_tuple


async def test_connect_with_wrong_arguments_is_a_type_error(ms_router: Router) -> None:
    transport: PlainTransport = await ms_router.create_plain_transport(
        PlainTransportOptions(listen_info=LOCALHOST, rtcp_mux=False)
    )
    wrong: list[dict[str, Any]] = [
        # SRTP is not enabled.
        {
            "ip": "127.0.0.2",
            "port": 9998,
            "rtcp_port": 9999,
            "srtp_parameters": {
                "cryptoSuite": "AES_CM_128_HMAC_SHA1_80",
                "keyBase64": SRTP_KEY_AES_CM,
            },
        },
        {},
        {"ip": "::::1234"},
        {"ip": "127.0.0.1", "port": 1234},  # rtcp_port is required without rtcp-mux
        {"ip": "127.0.0.1", "rtcp_port": 1235},
    ]
    for arguments in wrong:
        with pytest.raises(TypeError):
            await transport.connect(**arguments)
    assert transport.tuple.remote_ip is None
    await transport.connect(ip="127.0.0.1", port=1234, rtcp_port=1235)  # still connectable


async def test_methods_reject_once_closed(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    closes = record(transport.on_close)
    await transport.close()
    assert closes == ["closed"] and transport.closed
    for call in (
        transport.dump,
        transport.get_stats,
        lambda: transport.connect(ip="127.0.0.1", port=1234),
        lambda: transport.produce(
            ProducerOptions(kind="audio", rtp_parameters=params(AUDIO_PARAMETERS))
        ),
    ):
        with pytest.raises(InvalidStateError):
            await call()
    await transport.close()
    assert closes == ["closed"]


async def test_router_close_closes_the_transport(ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    closes = record(transport.on_close)
    await ms_router.close()
    assert closes == ["router closed"] and transport.closed
    with pytest.raises(InvalidStateError):
        await transport.dump()


async def test_worker_close_closes_the_transport(worker: Worker, ms_router: Router) -> None:
    transport = await ms_router.create_plain_transport(PlainTransportOptions(listen_info=LOCALHOST))
    closes = record(transport.on_close)
    await worker.close()
    assert closes == ["worker closed"] and transport.closed
    with pytest.raises(InvalidStateError):
        await transport.dump()
