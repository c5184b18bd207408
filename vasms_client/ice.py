"""ICE for the viewer: TURN servers from consume, relay-only, and which pair carries media.

The server hands out `ice_servers` (TURN REST credentials) in every consume answer. Three
facts about aiortc/pymediasoup shape this module:

- aiortc uses ONE TURN URL per peer connection (the first usable one of the list). A
  server that offers UDP, TCP and TLS URLs of its coturn therefore gets one URL per
  attempt: `turn_routes()` lists them in the order worth trying (UDP first, it is the
  cheapest; TLS on 443 last, it passes the strictest firewalls), and the viewer moves to
  the next route when ICE fails on one.
- aiortc has `RTCConfiguration.iceTransportPolicy` ("relay": no host or server-reflexive
  candidates, RFC 9429 §3.5.3), but pymediasoup's aiortc handler builds the peer
  connection from `iceServers` alone. `PolicyHandler` rebuilds it with the policy.
- aiortc has no candidate-pair statistics; `selected_pair()` reads the nominated pair
  from aioice (the ICE library under aiortc), the only place that knows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from pymediasoup import AiortcHandler

IcePolicy = Literal["all", "relay"]
TurnTransport = Literal["udp", "tcp", "tls"]


@dataclass(frozen=True, slots=True)
class TurnRoute:
    """One TURN URL with its credential, as aiortc takes it."""

    url: str
    transport: TurnTransport
    username: str
    credential: str

    def ice_server(self) -> RTCIceServer:
        return RTCIceServer(urls=self.url, username=self.username, credential=self.credential)


def route_transport(url: str) -> TurnTransport | None:
    """udp / tcp / tls of a TURN URL; None for what aiortc cannot use (STUN, bad URLs)."""
    if url.startswith("turns:"):
        return "tls"
    if not url.startswith("turn:"):
        return None
    return "tcp" if "transport=tcp" in url else "udp"


_ORDER: dict[TurnTransport, int] = {"udp": 0, "tcp": 1, "tls": 2}


def turn_routes(
    ice_servers: list[dict[str, Any]], only: TurnTransport | None = None
) -> list[TurnRoute]:
    """The TURN URLs of a consume answer, one route each, UDP → TCP → TLS (stable)."""
    routes: list[TurnRoute] = []
    for server in ice_servers:
        urls = server.get("urls") or []
        for url in [urls] if isinstance(urls, str) else urls:
            transport = route_transport(str(url))
            if transport is None or (only is not None and transport != only):
                continue
            routes.append(
                TurnRoute(
                    str(url),
                    transport,
                    str(server.get("username") or ""),
                    str(server.get("credential") or ""),
                )
            )
    return sorted(routes, key=lambda r: _ORDER[r.transport])


class PolicyHandler(AiortcHandler):
    """pymediasoup's aiortc handler, with the ICE transport policy really applied."""

    def run(self, *args: Any, **kwargs: Any) -> None:
        super().run(*args, **kwargs)
        policy = kwargs.get("iceTransportPolicy") or "all"
        if policy == "all":
            return
        # The base class made its peer connection from iceServers only; nothing has
        # used it yet (no transceiver, no socket), so it is replaced, and its ICE state
        # handler, which pymediasoup turns into the transport's connectionstatechange,
        # registered again on the new one.
        config = RTCConfiguration(
            iceServers=kwargs.get("iceServers"),
            iceTransportPolicy=RTCIceTransportPolicy(policy),
        )
        pc = RTCPeerConnection(configuration=config)
        self._pc = pc
        states = {
            "checking": "connecting",
            "connected": "connected",
            "completed": "connected",
            "failed": "failed",
            "disconnected": "disconnected",
            "closed": "closed",
        }

        @pc.on("iceconnectionstatechange")
        def on_state() -> None:
            state = states.get(pc.iceConnectionState)
            if state is not None:
                self.emit("@connectionstatechange", state)


@dataclass(frozen=True, slots=True)
class SelectedPair:
    """The candidate pair carrying the media (local side is ours, remote the node's)."""

    local_type: str  # host | srflx | relay
    local_address: str
    remote_type: str
    remote_address: str
    protocol: str

    @property
    def relayed(self) -> bool:
        return self.local_type == "relay"


def selected_pair(pc: RTCPeerConnection | None) -> SelectedPair | None:
    """The nominated pair of the peer connection's (bundled) ICE transport, if any."""
    if pc is None:
        return None
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        # aioice keeps the nominated pair per component in the connection; neither aiortc
        # nor aioice exposes it publicly (component 1: RTP/RTCP muxed).
        nominated = getattr(getattr(ice, "_connection", None), "_nominated", {})
        pair = nominated.get(1)
        if pair is None:
            continue
        local, remote = pair.local_candidate, pair.remote_candidate
        return SelectedPair(
            local_type=str(local.type),
            local_address=f"{local.host}:{local.port}",
            remote_type=str(remote.type),
            remote_address=f"{remote.host}:{remote.port}",
            protocol=str(remote.transport),
        )
    return None
