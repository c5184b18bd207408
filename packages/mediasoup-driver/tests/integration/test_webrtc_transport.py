"""WebRtcTransport behaviour (what mediasoup's test-WebRtcTransport checks)."""

from __future__ import annotations

import pytest
from mediasoup_driver import (
    ChannelRequestError,
    InvalidStateError,
    ListenInfo,
    Router,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
)

from tests.integration.conftest import LOCALHOST
from tests.support.media import ROUTER_MEDIA_CODECS

PEER_DTLS = {
    "role": "client",
    "fingerprints": [
        {
            "algorithm": "sha-256",
            "value": "82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:AC:2D:65:E5:80:C4:B6:FB:"
            "AF:1A:A0:21:9F:6D:0C:AD",
        },
    ],
}


async def test_create_gives_ice_and_dtls_parameters_and_candidates(
    media_worker: Worker,
) -> None:
    router = await media_worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(
            listen_infos=(
                ListenInfo(ip="127.0.0.1", announced_address="9.9.9.1"),
                ListenInfo(ip="127.0.0.1", protocol="tcp", announced_address="9.9.9.2"),
            ),
            enable_tcp=True,
        )
    )
    assert transport.ice_role == "controlled"
    assert transport.ice_parameters["iceLite"] is True
    assert len(transport.ice_parameters["usernameFragment"]) > 0
    candidates = transport.ice_candidates
    assert [(c["address"], c["protocol"]) for c in candidates] == [
        ("9.9.9.1", "udp"),
        ("9.9.9.2", "tcp"),
    ]
    assert candidates[1]["tcpType"] == "passive"
    assert all(40000 <= c["port"] <= 40999 for c in candidates)  # worker's port range
    assert candidates[0]["priority"] > candidates[1]["priority"]
    assert transport.dtls_parameters["role"] == "auto"
    assert sorted(f["algorithm"] for f in transport.dtls_parameters["fingerprints"]) == [
        "sha-1",
        "sha-224",
        "sha-256",
        "sha-384",
        "sha-512",
    ]
    assert transport.ice_state == "new" and transport.dtls_state == "new"
    dump = await transport.dump()
    assert dump["base"]["id"] == transport.id
    assert dump["base"]["producerIds"] == [] and dump["base"]["consumerIds"] == []
    stats = await transport.get_stats()
    assert stats["base"]["transportId"] == transport.id
    assert stats["iceState"] == "new" and stats["dtlsState"] == "new"
    assert (await router.dump()).transport_ids == [transport.id]


async def test_explicit_port_is_used(router: Router) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1", port=47111),))
    )
    assert transport.ice_candidates[0]["port"] == 47111


async def test_connect_sets_role_and_refuses_a_second_connect(router: Router) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    await transport.connect(PEER_DTLS)
    # The peer is DTLS client, so we are server.
    assert transport.dtls_parameters["role"] == "server"
    with pytest.raises(ChannelRequestError, match="connect\\(\\) already called"):
        await transport.connect(PEER_DTLS)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"role": "client", "fingerprints": []},
        {"role": "boss", "fingerprints": PEER_DTLS["fingerprints"]},
        {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": "not-hex"}]},
        {"role": "client", "fingerprints": [{"algorithm": "md5", "value": "AB:CD"}]},
    ],
)
async def test_connect_with_malformed_dtls_parameters_is_a_type_error(
    router: Router, bad: dict
) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    with pytest.raises(TypeError, match="dtls_parameters"):
        await transport.connect(bad)
    # Nothing reached the worker: a valid connect still works.
    await transport.connect(PEER_DTLS)


async def test_lower_case_fingerprint_is_normalised(router: Router) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    lower = {
        "role": "client",
        "fingerprints": [
            {"algorithm": "SHA-256", "value": PEER_DTLS["fingerprints"][0]["value"].lower()}
        ],
    }
    await transport.connect(lower)
    assert transport.dtls_parameters["role"] == "server"


async def test_restart_ice_gives_new_credentials(router: Router) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    before = dict(transport.ice_parameters)
    after = await transport.restart_ice()
    assert after["usernameFragment"] != before["usernameFragment"]
    assert after["password"] != before["password"]
    assert transport.ice_parameters == after


async def test_close_is_idempotent_and_reported(router: Router) -> None:
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    reasons: list[str] = []
    transport.on_close.add_listener(reasons.append)
    await transport.close()
    await transport.close()
    assert reasons == ["closed"]
    assert transport.ice_state == "closed" and transport.dtls_state == "closed"
    assert router.transports == {}
    assert (await router.dump()).transport_ids == []
    with pytest.raises(InvalidStateError):
        await transport.connect(PEER_DTLS)


async def test_two_transports_on_one_port_number_are_refused(router: Router) -> None:
    first = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1", port=47222),))
    )
    with pytest.raises(ChannelRequestError):
        await router.create_webrtc_transport(
            WebRtcTransportOptions(listen_infos=(ListenInfo(ip="127.0.0.1", port=47222),))
        )
    assert (await router.dump()).transport_ids == [first.id]


async def test_empty_listen_infos_is_a_type_error(router: Router) -> None:
    with pytest.raises(TypeError, match="listen_infos"):
        await router.create_webrtc_transport(WebRtcTransportOptions(listen_infos=()))


async def test_bitrate_limits(media_worker: Worker) -> None:
    """mediasoup's setMaxIncomingBitrate / setMaxOutgoingBitrate / setMinOutgoingBitrate:
    accepted within the worker's bounds, refused (TypeError, nothing changed) outside."""
    router = await media_worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    transport = await router.create_webrtc_transport(
        WebRtcTransportOptions(listen_infos=(LOCALHOST,))
    )
    await transport.set_max_incoming_bitrate(1_000_000)
    await transport.set_max_outgoing_bitrate(4_000_000)
    await transport.set_min_outgoing_bitrate(2_000_000)
    with pytest.raises(TypeError, match="max outgoing"):  # min above the current max
        await transport.set_min_outgoing_bitrate(5_000_000)
    with pytest.raises(TypeError):  # below the worker's absolute minimum (30 kbit/s)
        await transport.set_min_outgoing_bitrate(1_000)
    with pytest.raises(TypeError):  # max below the current min
        await transport.set_max_outgoing_bitrate(1_000_000)
    with pytest.raises(TypeError, match="non-negative"):
        await transport.set_max_incoming_bitrate(-1)
    await transport.set_max_outgoing_bitrate(0)  # 0 lifts the ceiling ...
    await transport.set_min_outgoing_bitrate(5_000_000)  # ... so a higher floor fits now
    await transport.close()
    with pytest.raises(InvalidStateError):
        await transport.set_min_outgoing_bitrate(0)
