"""What mediasoup's test-WebRtcTransport.js asserts, checked against our driver and the
real worker.

Covered elsewhere: a successful connect, a second connect refused and malformed DTLS
parameters (test_webrtc_transport.py), restartIce changing the credentials.
Not implemented here, so not covered: SCTP parameters/state, the deprecated
``listenIps`` option, set{Max,Min}{Incoming,Outgoing}Bitrate, enableTraceEvent.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import AsyncIterator

import pytest
from mediasoup_driver import (
    ChannelRequestError,
    ConsumerOptions,
    InvalidStateError,
    ListenInfo,
    ProducerOptions,
    Router,
    RouterOptions,
    TransportTuple,
    WebRtcTransport,
    WebRtcTransportOptions,
    Worker,
)
from mediasoup_driver.fbs.FBS.Notification.Body import Body
from mediasoup_driver.fbs.FBS.Notification.Event import Event
from mediasoup_driver.fbs.FBS.Transport.Tuple import TupleT
from mediasoup_driver.fbs.FBS.WebRtcTransport.DtlsState import DtlsState
from mediasoup_driver.fbs.FBS.WebRtcTransport.DtlsStateChangeNotification import (
    DtlsStateChangeNotificationT,
)
from mediasoup_driver.fbs.FBS.WebRtcTransport.IceSelectedTupleChangeNotification import (
    IceSelectedTupleChangeNotificationT,
)
from mediasoup_driver.fbs.FBS.WebRtcTransport.IceState import IceState
from mediasoup_driver.fbs.FBS.WebRtcTransport.IceStateChangeNotification import (
    IceStateChangeNotificationT,
)

from tests.integration.parity_support import (
    AUDIO_PARAMETERS,
    DEVICE_CAPABILITIES,
    ICE_ROLE_CONTROLLED,
    MEDIA_CODECS,
    PEER_DTLS_PARAMETERS,
    PROTOCOL_UDP,
    dtls_parameters_from_dump,
    free_udp_port_pair,
    ice_candidates_from_dump,
    inject_notification,
    next_value,
    params,
    record,
    settled,
)

PORT_RANGE = (2000, 3000)


@pytest.fixture
async def ms_router(worker: Worker) -> AsyncIterator[Router]:
    router = await worker.create_router(RouterOptions(media_codecs=copy.deepcopy(MEDIA_CODECS)))
    yield router
    await router.close()


async def _transport(router: Router) -> WebRtcTransport:
    return await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1", port_range=PORT_RANGE),))
    )


async def test_create_webrtc_transport_with_several_listen_infos(ms_router: Router) -> None:
    new_transports = record(ms_router.on_new_transport)
    transport = await ms_router.create_webrtc_transport(
        WebRtcTransportOptions(
            listen_infos=(
                # expose_internal_ip adds a candidate with the listening IP itself.
                ListenInfo(
                    ip="127.0.0.1",
                    announced_address="9.9.9.1",
                    expose_internal_ip=True,
                    port_range=PORT_RANGE,
                ),
                ListenInfo(
                    ip="127.0.0.1",
                    protocol="tcp",
                    announced_address="9.9.9.1",
                    port_range=PORT_RANGE,
                ),
                ListenInfo(ip="0.0.0.0", announced_address="foo1.bar.org", port_range=PORT_RANGE),
                ListenInfo(
                    ip="0.0.0.0",
                    protocol="tcp",
                    announced_address="foo2.bar.org",
                    port_range=PORT_RANGE,
                ),
                ListenInfo(ip="127.0.0.1", port_range=PORT_RANGE),
                ListenInfo(ip="127.0.0.1", protocol="tcp", port_range=PORT_RANGE),
            ),
            enable_tcp=True,
            prefer_udp=True,
            app_data={"foo": "bar"},
        )
    )
    assert (await ms_router.dump()).transport_ids == [transport.id]
    assert new_transports == [transport]
    assert isinstance(transport.id, str) and not transport.closed
    assert transport.app_data == {"foo": "bar"}
    assert transport.ice_role == "controlled"
    ice = transport.ice_parameters
    assert ice["iceLite"] is True
    assert isinstance(ice["usernameFragment"], str) and isinstance(ice["password"], str)

    candidates = transport.ice_candidates
    assert [(c["ip"], c["protocol"], c["type"], c.get("tcpType")) for c in candidates] == [
        ("9.9.9.1", "udp", "host", None),
        ("127.0.0.1", "udp", "host", None),
        ("9.9.9.1", "tcp", "host", "passive"),
        ("foo1.bar.org", "udp", "host", None),
        ("foo2.bar.org", "tcp", "host", "passive"),
        ("127.0.0.1", "udp", "host", None),
        ("127.0.0.1", "tcp", "host", "passive"),
    ]
    priorities = [c["priority"] for c in candidates]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == 7
    assert all(PORT_RANGE[0] <= c["port"] <= PORT_RANGE[1] for c in candidates)
    assert candidates[0]["port"] == candidates[1]["port"]  # one socket, two candidates

    assert transport.ice_state == "new" and transport.ice_selected_tuple is None
    assert transport.dtls_parameters["role"] == "auto"
    assert transport.dtls_parameters["fingerprints"]
    assert transport.dtls_state == "new" and transport.dtls_remote_cert is None

    dump = await transport.dump()
    assert dump["base"]["id"] == transport.id
    assert dump["base"]["producerIds"] == [] and dump["base"]["consumerIds"] == []
    assert dump["iceRole"] == ICE_ROLE_CONTROLLED
    assert dump["iceParameters"] == transport.ice_parameters
    assert ice_candidates_from_dump(dump["iceCandidates"]) == transport.ice_candidates
    assert dump["iceState"] == IceState.NEW
    assert "iceSelectedTuple" not in dump
    assert dtls_parameters_from_dump(dump["dtlsParameters"]) == transport.dtls_parameters
    assert dump["dtlsState"] == DtlsState.NEW
    assert "recvRtpHeaderExtensions" in dump["base"]
    assert isinstance(dump["base"]["rtpListener"], dict)

    await transport.close()
    assert transport.closed


async def test_create_webrtc_transport_with_fixed_port(ms_router: Router) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = await ms_router.create_webrtc_transport(
        WebRtcTransportOptions(
            # udp_reuse_port is ignored for TCP.
            listen_infos=(
                ListenInfo(ip="127.0.0.1", protocol="tcp", port=port, udp_reuse_port=True),
            ),
            enable_tcp=True,
        )
    )
    assert [(c["port"], c["protocol"]) for c in transport.ice_candidates] == [(port, "tcp")]


async def test_create_webrtc_transport_with_port_range(ms_router: Router) -> None:
    port_range = free_udp_port_pair()  # mediasoup's test uses 11111-11112
    info = ListenInfo(ip="127.0.0.1", port_range=port_range)
    ports = []
    for _ in range(2):
        transport = await ms_router.create_webrtc_transport(
            WebRtcTransportOptions(listen_infos=(info,))
        )
        candidate = transport.ice_candidates[0]
        assert (candidate["ip"], candidate["protocol"]) == ("127.0.0.1", "udp")
        ports.append(candidate["port"])
    assert sorted(ports) == list(port_range)
    # No more available ports.
    with pytest.raises(ChannelRequestError, match="no more available ports"):
        await ms_router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=(info,)))
    assert len((await ms_router.dump()).transport_ids) == 2


async def test_create_webrtc_transport_with_wrong_arguments_is_a_type_error(
    ms_router: Router,
) -> None:
    wrong = [
        (),
        (ListenInfo(ip="127.0.0.1", port_range=(4000, 3000)),),
        (ListenInfo(ip="123"),),
    ]
    for listen_infos in wrong:
        with pytest.raises(TypeError):
            await ms_router.create_webrtc_transport(
                WebRtcTransportOptions(listen_infos=listen_infos)
            )
    assert (await ms_router.dump()).transport_ids == []
    assert ms_router.transports == {}


async def test_create_webrtc_transport_on_a_non_bindable_ip_fails(ms_router: Router) -> None:
    with pytest.raises(ChannelRequestError) as info:
        await ms_router.create_webrtc_transport(
            WebRtcTransportOptions(listen_infos=(ListenInfo(ip="8.8.8.8", port_range=PORT_RANGE),))
        )
    assert not isinstance(info.value, TypeError)  # a valid request the host cannot serve
    assert ms_router.transports == {}


async def test_get_stats(ms_router: Router) -> None:
    transport = await ms_router.create_webrtc_transport(
        WebRtcTransportOptions(
            listen_infos=(
                ListenInfo(ip="127.0.0.1", announced_address="9.9.9.1", port_range=PORT_RANGE),
            )
        )
    )
    stats = await transport.get_stats()
    base = stats["base"]
    assert base["transportId"] == transport.id
    assert isinstance(base["timestamp"], int)
    assert stats["iceRole"] == ICE_ROLE_CONTROLLED
    assert stats["iceState"] == "new" and stats["dtlsState"] == "new"
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
    assert "iceSelectedTuple" not in stats
    assert "maxIncomingBitrate" not in base


async def test_failed_connects_leave_the_dtls_role_unset(ms_router: Router) -> None:
    transport = await _transport(ms_router)
    fingerprint = PEER_DTLS_PARAMETERS["fingerprints"][0]
    for wrong in (
        {},
        {"role": "client", "fingerprints": [{**fingerprint, "algorithm": "sha-256000"}]},
        {"role": "chicken", "fingerprints": [fingerprint]},
        {"role": "client", "fingerprints": []},
    ):
        with pytest.raises(TypeError):
            await transport.connect(wrong)
    assert transport.dtls_parameters["role"] == "auto"
    await transport.connect(copy.deepcopy(PEER_DTLS_PARAMETERS))
    assert transport.dtls_parameters["role"] == "server"


async def test_restart_ice_returns_new_ice_lite_parameters(ms_router: Router) -> None:
    transport = await _transport(ms_router)
    before = dict(transport.ice_parameters)
    after = await transport.restart_ice()
    assert after["iceLite"] is True
    assert isinstance(after["usernameFragment"], str) and isinstance(after["password"], str)
    assert after["usernameFragment"] != before["usernameFragment"]
    assert after["password"] != before["password"]
    assert (await transport.dump())["iceParameters"] == after


async def test_ice_and_dtls_events(worker: Worker, ms_router: Router) -> None:
    transport = await _transport(ms_router)
    channel = worker.channel

    ice_states = record(transport.on_ice_state_change)
    notification = IceStateChangeNotificationT()
    notification.iceState = IceState.COMPLETED
    waiting = next_value(transport.on_ice_state_change)
    inject_notification(
        channel,
        transport.id,
        Event.WEBRTCTRANSPORT_ICE_STATE_CHANGE,
        Body.WebRtcTransport_IceStateChangeNotification,
        notification,
    )
    assert await settled(waiting) == "completed"
    assert ice_states == ["completed"] and transport.ice_state == "completed"

    tuples = record(transport.on_ice_selected_tuple_change)
    selected = TupleT()
    selected.localAddress, selected.localPort = "1.1.1.1", 1111
    selected.remoteIp, selected.remotePort = "2.2.2.2", 2222
    selected.protocol = PROTOCOL_UDP
    tuple_notification = IceSelectedTupleChangeNotificationT()
    tuple_notification.tuple = selected
    waiting = next_value(transport.on_ice_selected_tuple_change)
    inject_notification(
        channel,
        transport.id,
        Event.WEBRTCTRANSPORT_ICE_SELECTED_TUPLE_CHANGE,
        Body.WebRtcTransport_IceSelectedTupleChangeNotification,
        tuple_notification,
    )
    expected = TransportTuple("1.1.1.1", 1111, "udp", "2.2.2.2", 2222)
    assert await settled(waiting) == expected
    assert tuples == [expected] and transport.ice_selected_tuple == expected

    dtls_states = record(transport.on_dtls_state_change)
    for state, cert in ((DtlsState.CONNECTING, None), (DtlsState.CONNECTED, "REMOTE-CERT")):
        dtls = DtlsStateChangeNotificationT()
        dtls.dtlsState, dtls.remoteCert = state, cert
        waiting = next_value(transport.on_dtls_state_change)
        inject_notification(
            channel,
            transport.id,
            Event.WEBRTCTRANSPORT_DTLS_STATE_CHANGE,
            Body.WebRtcTransport_DtlsStateChangeNotification,
            dtls,
        )
        await settled(waiting)
    assert dtls_states == ["connecting", "connected"]
    assert transport.dtls_state == "connected" and transport.dtls_remote_cert == "REMOTE-CERT"
    assert ice_states == ["completed"] and tuples == [expected]  # nothing fired twice


async def test_methods_reject_once_closed(ms_router: Router) -> None:
    transport = await _transport(ms_router)
    closes = record(transport.on_close)
    await transport.close()
    assert closes == ["closed"] and transport.closed
    assert transport.ice_state == "closed" and transport.ice_selected_tuple is None
    assert transport.dtls_state == "closed"
    for call in (
        transport.dump,
        transport.get_stats,
        lambda: transport.connect(copy.deepcopy(PEER_DTLS_PARAMETERS)),
        transport.restart_ice,
        lambda: transport.produce(
            ProducerOptions(kind="audio", rtp_parameters=params(AUDIO_PARAMETERS))
        ),
        lambda: transport.consume(
            ConsumerOptions(producer_id="x", rtp_capabilities=copy.deepcopy(DEVICE_CAPABILITIES))
        ),
    ):
        with pytest.raises(InvalidStateError):
            await call()
    await transport.close()
    assert closes == ["closed"]
    assert (await ms_router.dump()).transport_ids == []


async def test_router_close_closes_the_transport(ms_router: Router) -> None:
    transport = await _transport(ms_router)
    closes = record(transport.on_close)
    await ms_router.close()
    assert closes == ["router closed"] and transport.closed
    assert transport.ice_state == "closed" and transport.ice_selected_tuple is None
    assert transport.dtls_state == "closed"
    with pytest.raises(InvalidStateError):
        await transport.dump()
    await transport.close()
    assert closes == ["router closed"]


async def test_worker_close_closes_the_transport(worker: Worker, ms_router: Router) -> None:
    transport = await _transport(ms_router)
    closes = record(transport.on_close)
    await worker.close()
    assert closes == ["worker closed"] and transport.closed
    assert transport.ice_state == "closed" and transport.ice_selected_tuple is None
    assert transport.dtls_state == "closed"
    with pytest.raises(InvalidStateError):
        await transport.dump()
