"""The SDK's ICE pieces without a network: TURN routes from a consume answer, the ICE
failure's exit code and JSON. The real thing (coturn, NAT, blocked ports) is
tests/e2e/test_nat.py."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest

from vasms_client import IceFailedError, MediaError, WatchOptions
from vasms_client.cli import EXIT_ICE, _error_message, _exit_for, _print_error
from vasms_client.ice import route_transport, turn_routes

SERVERS = [
    {
        "urls": [
            "turns:t.example:443?transport=tcp",
            "turn:t.example:3478?transport=tcp",
            "stun:t.example:3478",
            "turn:t.example:3478?transport=udp",
            "turn:t.example:3478",
        ],
        "username": "1700000000:u1",
        "credential": "c2VjcmV0",
    }
]


def test_routes_are_udp_then_tcp_then_tls_with_the_credential() -> None:
    routes = turn_routes(SERVERS)
    assert [r.transport for r in routes] == ["udp", "udp", "tcp", "tls"]
    assert routes[0].url == "turn:t.example:3478?transport=udp"
    assert routes[-1].url == "turns:t.example:443?transport=tcp"
    server = routes[-1].ice_server()
    assert (server.username, server.credential) == ("1700000000:u1", "c2VjcmV0")
    assert server.urls == "turns:t.example:443?transport=tcp"  # one URL: aiortc uses one


def test_routes_filtered_by_transport_and_none_without_turn() -> None:
    assert [r.url for r in turn_routes(SERVERS, "tls")] == ["turns:t.example:443?transport=tcp"]
    assert turn_routes([]) == []
    assert turn_routes([{"urls": "stun:t.example:3478"}]) == []
    assert route_transport("http://x") is None


def test_ice_failure_is_a_media_error_with_exit_5_and_its_own_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exc = IceFailedError("ICE not connected after 10 s", tried=["direct"], timeout_s=10)
    assert isinstance(exc, MediaError) and _exit_for(exc) == EXIT_ICE == 5
    assert _error_message(exc, "s", "http://x") == "ICE not connected after 10 s"
    _print_error(Namespace(json=True, stream_id="s"), _error_message(exc, "s", "u"), 5, exc)
    body = json.loads(capsys.readouterr().out)
    assert body["error"] == {
        "message": "ICE not connected after 10 s",
        "code": "ice_failed",
        "detail": "ICE not connected after 10 s",
        "tried": ["direct"],
    }


def test_ice_options_are_validated() -> None:
    with pytest.raises(ValueError, match="ice_timeout_s"):
        WatchOptions(ice_timeout_s=0)
    assert WatchOptions(relay=True, turn_transport="tcp").relay
