"""WebRtcTransport: ICE-lite + DTLS-SRTP to a browser or another WebRTC peer.

The worker is ICE-lite and controlled: the peer sends connectivity checks to
the candidates given here, and ``connect`` hands the peer's DTLS fingerprint
to the worker (which can happen before ICE, "without additional signaling").
State changes arrive as notifications and fire ``on_ice_state_change`` /
``on_dtls_state_change``; a closed transport reports both as "closed".
"""

from __future__ import annotations

from typing import Any, cast

from . import transport_messages
from .dumps import WebRtcTransportDump
from .errors import MediasoupTypeError
from .events import Event
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.WebRtcTransport.DtlsStateChangeNotification import DtlsStateChangeNotification
from .fbs.FBS.WebRtcTransport.IceSelectedTupleChangeNotification import (
    IceSelectedTupleChangeNotification,
)
from .fbs.FBS.WebRtcTransport.IceStateChangeNotification import IceStateChangeNotification
from .ids import new_uuid
from .lifecycle import CloseReason, create_request
from .options import DTLS_ROLES as DTLS_ROLES
from .options import DTLS_STATES as DTLS_STATES
from .options import FINGERPRINT_ALGORITHMS as FINGERPRINT_ALGORITHMS
from .options import ICE_STATES as ICE_STATES
from .options import DtlsFingerprint as DtlsFingerprint
from .options import DtlsParameters as DtlsParameters
from .options import DtlsRole as DtlsRole
from .options import DtlsState as DtlsState
from .options import IceCandidate as IceCandidate
from .options import IceParameters as IceParameters
from .options import IceState as IceState
from .options import TransportTuple
from .options import WebRtcTransportOptions as WebRtcTransportOptions
from .transport import Transport, TransportContext, TransportId


def normalize_dtls_parameters(params: Any) -> DtlsParameters:
    """Checks a peer's DTLS parameters and normalises them (lower-case algorithm,
    upper-case fingerprint as in SDP). Raises TypeError naming the bad field."""
    if not isinstance(params, dict):
        raise MediasoupTypeError("dtls_parameters must be an object")
    role = params.get("role", "auto")
    if role not in DTLS_ROLES:
        raise MediasoupTypeError(f"dtls_parameters.role: invalid value {role!r}")
    fingerprints = params.get("fingerprints")
    if not isinstance(fingerprints, list) or not fingerprints:
        raise MediasoupTypeError("dtls_parameters.fingerprints: must be a non-empty list")
    normalized: list[DtlsFingerprint] = []
    for index, fingerprint in enumerate(fingerprints):
        if not isinstance(fingerprint, dict):
            raise MediasoupTypeError(f"dtls_parameters.fingerprints[{index}]: must be an object")
        algorithm = str(fingerprint.get("algorithm", "")).lower()
        value = fingerprint.get("value")
        if algorithm not in FINGERPRINT_ALGORITHMS:
            raise MediasoupTypeError(
                f"dtls_parameters.fingerprints[{index}].algorithm: invalid value {algorithm!r}"
            )
        if not isinstance(value, str) or not _is_fingerprint(value):
            raise MediasoupTypeError(
                f"dtls_parameters.fingerprints[{index}].value: not a fingerprint"
            )
        normalized.append({"algorithm": algorithm, "value": value.upper()})
    return {"role": role, "fingerprints": normalized}


def _is_fingerprint(value: str) -> bool:
    parts = value.split(":")
    return len(parts) >= 20 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


class WebRtcTransport(Transport):
    """A WebRTC transport. Create with ``Router.create_webrtc_transport``."""

    _DUMP = transport_messages.WEBRTC_TRANSPORT_DUMP
    _STATS = transport_messages.WEBRTC_TRANSPORT_GET_STATS
    kind_name = "webrtc_transport"

    def __init__(
        self,
        context: TransportContext,
        transport_id: TransportId,
        app_data: dict[str, Any],
        state: transport_messages.WebRtcTransportState,
    ) -> None:
        """Built by ``create`` from the worker's answer (a WebRtcTransport dump)."""
        super().__init__(context, transport_id, app_data)
        self.ice_role = "controlled"
        self.ice_parameters: IceParameters = state.ice_parameters
        self.ice_candidates: list[IceCandidate] = state.ice_candidates
        self.dtls_parameters: DtlsParameters = state.dtls_parameters
        self.ice_state: IceState = state.ice_state
        self.dtls_state: DtlsState = state.dtls_state
        self.ice_selected_tuple: TransportTuple | None = None
        self.dtls_remote_cert: str | None = None
        self.on_ice_state_change: Event[IceState] = Event("webrtc_transport.ice_state")
        self.on_dtls_state_change: Event[DtlsState] = Event("webrtc_transport.dtls_state")
        self.on_ice_selected_tuple_change: Event[TransportTuple] = Event(
            "webrtc_transport.ice_selected_tuple"
        )

    @classmethod
    async def create(
        cls, context: TransportContext, options: WebRtcTransportOptions
    ) -> WebRtcTransport:
        """Sends ROUTER_CREATE_WEBRTCTRANSPORT and builds the transport from the answer."""
        if not options.listen_infos:
            raise MediasoupTypeError("listen_infos: at least one ListenInfo is required")
        channel = context.channel
        transport_id = TransportId(new_uuid())
        state = await create_request(
            channel,
            transport_id,
            context.transports,
            lambda: transport_messages.create_webrtc_transport(
                channel, context.router_id, transport_id, options
            ),
        )
        return cls(context, transport_id, options.app_data, state)

    # -- requests ------------------------------------------------------------------------

    async def dump(self) -> WebRtcTransportDump:
        return cast(WebRtcTransportDump, await super().dump())

    async def connect(self, dtls_parameters: DtlsParameters | dict[str, Any]) -> None:
        """Gives the worker the peer's DTLS parameters (fingerprint, role).

        Raises TypeError for malformed parameters (nothing is sent then) and
        the worker's error if the transport is already connected.
        """
        self._check_open()
        params = normalize_dtls_parameters(dtls_parameters)
        self.dtls_parameters["role"] = await transport_messages.WEBRTC_TRANSPORT_CONNECT.call(
            self._channel, self.id, params
        )

    async def restart_ice(self) -> IceParameters:
        """New ICE username/password (the peer must restart ICE with them)."""
        self._check_open()
        self.ice_parameters = await transport_messages.TRANSPORT_RESTART_ICE.call(
            self._channel, self.id
        )
        return self.ice_parameters

    async def get_stats(self) -> dict[str, Any]:
        """Transport statistics with the ICE/DTLS states named as mediasoup names them."""
        stats = await super().get_stats()
        stats["iceState"] = ICE_STATES[stats.get("iceState", 0)]
        stats["dtlsState"] = DTLS_STATES[stats.get("dtlsState", 0)]
        return stats

    # -- notifications -------------------------------------------------------------------

    def _on_notification(self, event: int, notification: Any) -> None:
        if event == NotificationEvent.WEBRTCTRANSPORT_ICE_STATE_CHANGE:
            body = notification.Body()
            ice = IceStateChangeNotification()
            ice.Init(body.Bytes, body.Pos)
            self.ice_state = ICE_STATES[ice.IceState()]
            self.on_ice_state_change.emit(self.ice_state)
        elif event == NotificationEvent.WEBRTCTRANSPORT_DTLS_STATE_CHANGE:
            body = notification.Body()
            dtls = DtlsStateChangeNotification()
            dtls.Init(body.Bytes, body.Pos)
            self.dtls_state = DTLS_STATES[dtls.DtlsState()]
            if self.dtls_state == "connected":
                cert = dtls.RemoteCert()
                self.dtls_remote_cert = cert.decode() if cert else None
            self.on_dtls_state_change.emit(self.dtls_state)
        elif event == NotificationEvent.WEBRTCTRANSPORT_ICE_SELECTED_TUPLE_CHANGE:
            body = notification.Body()
            tuple_change = IceSelectedTupleChangeNotification()
            tuple_change.Init(body.Bytes, body.Pos)
            selected = transport_messages.read_tuple(tuple_change.Tuple())
            if selected is not None:
                self.ice_selected_tuple = selected
                self.on_ice_selected_tuple_change.emit(selected)
        else:
            super()._on_notification(event, notification)

    def _mark_closed(self, reason: CloseReason) -> None:
        self.ice_state = "closed"
        self.ice_selected_tuple = None
        self.dtls_state = "closed"
        super()._mark_closed(reason)
        for event in (
            self.on_ice_state_change,
            self.on_dtls_state_change,
            self.on_ice_selected_tuple_change,
        ):
            event.clear()
