"""V1 WebSocket at /api/v1/ws: mediasoup-demo style request/answer messages.

`{"id", "method", "data"}` in, `{"id", "ok": true, "data"}` or
`{"id", "ok": false, "error": {"code", "detail"}}` out, with the error codes
of REST V2. The node has no "create a bare transport" call, so
`createWebRtcTransport` creates the transport together with a *paused*
consumer of the stream (using the router's own capabilities); `consume` then
checks the viewer's capabilities against that consumer and resumes it. When the
stream has audio, the transport comes with a paused audio consumer too, and
`consume` with `kind: "audio"` (default `"video"`) takes that one. What a
socket created is closed when the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from control_api.api.failure_map import to_api_error
from control_api.auth import Principal, bearer_token, principal_from_token
from control_api.context import AppContext
from control_api.db import is_database_failure
from control_api.errors import ApiError, database_unavailable, invalid_request, not_found
from control_api.failures import Failure
from control_api.models import Desired, StreamStatus
from control_api.rtp import can_receive, check_rtp_capabilities, normalise_dtls, restrict_to
from control_api.services import quotas, turn, viewers
from control_api.services import streams as stream_ops
from control_api.services.revocation import LiveSocket, SocketRegistry

router = APIRouter()
log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 64 * 1024
MAX_IN_FLIGHT = 16


@dataclass
class V1Transport:
    """A transport this socket created, with the paused consumer that came with it."""

    id: str
    stream_id: str
    consumer_id: str
    producer_id: str
    kind: str
    rtp_parameters: dict[str, Any]
    consumed: bool = False
    audio: V1Audio | None = None


@dataclass
class V1Audio:
    """The paused audio consumer that came with a transport (streams with audio)."""

    consumer_id: str
    producer_id: str
    rtp_parameters: dict[str, Any]
    consumed: bool = False


@dataclass
class V1Session:
    ctx: AppContext
    user: Principal
    socket: WebSocket
    client_id: str
    transports: dict[str, V1Transport] = field(default_factory=dict)
    creating: int = 0  # createWebRtcTransport calls in flight (count against the limit)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.socket.send_text(json.dumps(message))

    def transport(self, transport_id: Any) -> V1Transport:
        found = self.transports.get(str(transport_id))
        if found is None:
            raise not_found("transport", str(transport_id))
        return found

    def by_consumer(self, consumer_id: Any) -> V1Transport:
        for t in self.transports.values():
            if t.consumer_id == consumer_id and t.consumed:
                return t
            if t.audio is not None and t.audio.consumer_id == consumer_id and t.audio.consumed:
                return t
        raise not_found("consumer", str(consumer_id))


def _field(data: dict[str, Any], name: str, kind: type = str) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (kind is str and not value):
        raise invalid_request(f"data.{name} is required ({kind.__name__})")
    return value


async def get_router_rtp_capabilities(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    stream_id = _field(data, "streamId")
    async with s.ctx.sessions() as session:
        stream = await stream_ops.get_or_404(session, stream_id)
    return await viewers.router_capabilities(s.ctx, stream)


async def create_webrtc_transport(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    stream_id = _field(data, "streamId")
    quotas.check_socket_transports(s.ctx, len(s.transports) + s.creating)
    s.creating += 1
    try:
        async with s.ctx.sessions() as session:
            stream = await stream_ops.get_or_404(session, stream_id)
            caps = await viewers.router_capabilities(s.ctx, stream)
            done = await viewers.consume(
                s.ctx, session, s.user, stream, s.client_id, caps, paused=True, origin="v1"
            )
    finally:
        s.creating -= 1
    t = done.transport
    s.transports[t["id"]] = V1Transport(
        id=t["id"],
        stream_id=stream.id,
        consumer_id=done.consumer.id,
        producer_id=done.consumer.producer_id,
        kind=done.consumer.kind,
        rtp_parameters=done.rtp_parameters,
        audio=(
            V1Audio(done.audio.id, done.audio.producer_id, done.audio_rtp_parameters or {})
            if done.audio is not None
            else None
        ),
    )
    return {**t, "iceServers": turn.ice_servers(s.ctx.settings, s.user.id)}


async def connect_webrtc_transport(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    transport = s.transport(_field(data, "transportId"))
    try:
        dtls = normalise_dtls(_field(data, "dtlsParameters", dict))
    except ValueError as exc:
        raise invalid_request(str(exc).replace("dtls_parameters", "data.dtlsParameters")) from exc
    async with s.ctx.sessions() as session:
        await viewers.connect(s.ctx, session, s.user, transport.id, dtls)
    return {}


async def consume(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    transport_id = _field(data, "transportId")
    stream_id = _field(data, "streamId")
    caps = _field(data, "rtpCapabilities", dict)
    kind = data.get("kind", "video")
    if kind not in ("video", "audio"):
        raise invalid_request('data.kind must be "video" or "audio"')
    try:
        check_rtp_capabilities(caps)
    except ValueError as exc:
        raise invalid_request(str(exc).replace("rtp_capabilities", "data.rtpCapabilities")) from exc
    async with s.ctx.sessions() as session:
        stream = await stream_ops.get_or_404(session, stream_id)
        transport = s.transport(transport_id)
        if transport.stream_id != stream.id:
            raise invalid_request(f"transport {transport.id} belongs to another stream")
        if stream.desired != Desired.running.value or stream.status in (
            StreamStatus.created.value,
            StreamStatus.stopped.value,
        ):
            raise viewers.not_live(stream)
        if kind == "audio":
            return await _consume_audio(s, session, transport, caps)
        if transport.consumed:
            raise ApiError(409, "already_consuming", f"transport {transport.id} already consumes")
        if not can_receive(transport.rtp_parameters, caps):
            raise ApiError(422, "cannot_consume", "rtpCapabilities cannot consume the producer")
        row = await viewers.owned(s.ctx, session, s.user, transport.consumer_id)
        await viewers.resume(s.ctx, session, row)
    transport.consumed = True
    return {
        "id": transport.consumer_id,
        "producerId": transport.producer_id,
        "kind": transport.kind,
        "rtpParameters": restrict_to(transport.rtp_parameters, caps),
    }


async def _consume_audio(
    s: V1Session, session: Any, transport: V1Transport, caps: dict[str, Any]
) -> dict[str, Any]:
    audio = transport.audio
    if audio is None:
        raise ApiError(422, "cannot_consume", f"stream {transport.stream_id} has no audio")
    if audio.consumed:
        raise ApiError(409, "already_consuming", f"transport {transport.id} already consumes audio")
    if not can_receive(audio.rtp_parameters, caps):
        raise ApiError(422, "cannot_consume", "rtpCapabilities cannot consume the audio")
    row = await viewers.owned(s.ctx, session, s.user, audio.consumer_id)
    await viewers.resume(s.ctx, session, row)
    audio.consumed = True
    return {
        "id": audio.consumer_id,
        "producerId": audio.producer_id,
        "kind": "audio",
        "rtpParameters": restrict_to(audio.rtp_parameters, caps),
    }


async def resume(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    consumer_id = _field(data, "consumerId")
    s.by_consumer(consumer_id)  # this socket's (404 otherwise)
    async with s.ctx.sessions() as session:
        row = await viewers.owned(s.ctx, session, s.user, consumer_id)
        await viewers.resume(s.ctx, session, row)
    return {}


async def close_consumer(s: V1Session, data: dict[str, Any]) -> dict[str, Any]:
    consumer_id = _field(data, "consumerId")
    transport = s.by_consumer(consumer_id)
    if transport.audio is not None and transport.audio.consumer_id == consumer_id:
        # The audio consumer alone; the video (and the transport) stay.
        transport.audio = None
        with contextlib.suppress(Failure):
            row = await viewers.owned_row(s.ctx, s.user, consumer_id)
            await viewers.close_owned(s.ctx, row)
        return {}
    await _close(s, transport)
    return {}


async def _close(s: V1Session, transport: V1Transport) -> None:
    """Closes the consumer and its transport on the node; the node closes both at once."""
    s.transports.pop(transport.id, None)
    try:
        row = await viewers.owned_row(s.ctx, s.user, transport.consumer_id)
    except Failure:
        return  # already gone (closed long ago by its node and reaped)
    await viewers.close_owned(s.ctx, row)


Handler = Callable[[V1Session, dict[str, Any]], Awaitable[dict[str, Any]]]
METHODS: dict[str, Handler] = {
    "getRouterRtpCapabilities": get_router_rtp_capabilities,
    "createWebRtcTransport": create_webrtc_transport,
    "connectWebRtcTransport": connect_webrtc_transport,
    "consume": consume,
    "resume": resume,
    "closeConsumer": close_consumer,
}


def _error(msg_id: Any, error: ApiError) -> dict[str, Any]:
    return {"id": msg_id, "ok": False, "error": {"code": error.code, "detail": error.detail}}


async def handle(s: V1Session, raw: str) -> None:
    """Answers one message; every failure becomes an error answer, never a closed socket."""
    msg_id: Any = None
    try:
        # The server's frame limit (1 MiB) bounds parsing; parse first to answer with the id.
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise invalid_request("message is not JSON") from exc
        if not isinstance(message, dict):
            raise invalid_request("message must be an object")
        msg_id = message.get("id")
        if len(raw.encode()) > MAX_MESSAGE_BYTES:
            raise ApiError(413, "payload_too_large", f"message exceeds {MAX_MESSAGE_BYTES} bytes")
        method, data = message.get("method"), message.get("data", {})
        if not isinstance(data, dict):
            raise invalid_request("data must be an object")
        handler = METHODS.get(method) if isinstance(method, str) else None
        if handler is None:
            raise ApiError(400, "unknown_method", f"unknown method {method!r}")
        result = await handler(s, data)
        await s.send({"id": msg_id, "ok": True, "data": result})
    except ApiError as error:
        await s.send(_error(msg_id, error))
    except Failure as failure:
        await s.send(_error(msg_id, to_api_error(failure)))
    except Exception as exc:
        if is_database_failure(exc):
            await s.send(_error(msg_id, database_unavailable()))
            return
        log.exception("V1 message failed")
        await s.send(_error(msg_id, ApiError(500, "internal", "internal error")))


async def _authenticate(
    ctx: AppContext, socket: WebSocket, token: str | None
) -> tuple[Principal, float] | None:
    """The socket's user and its token's expiry, or None (refused at the handshake)."""
    token = token or bearer_token(socket.headers.get("authorization"))
    if not token:
        return None
    try:
        principal = await principal_from_token(ctx.sessions, ctx.tokens, token)
    except ApiError:
        return None
    except Exception as exc:
        if not is_database_failure(exc):
            raise
        log.warning("V1 handshake refused: database unavailable")
        return None
    return principal, float(ctx.tokens.verify(token)["exp"])


def _registry(ctx: AppContext) -> SocketRegistry:
    if ctx.sockets is None:
        ctx.sockets = SocketRegistry(ctx.sessions, ctx.spawn, ctx.settings.token_check_interval_s)
    return ctx.sockets


def _closer(s: V1Session) -> Callable[[int, str], Awaitable[None]]:
    """Closes the socket from outside its receive loop (revoked token); the loop then ends."""

    async def close(code: int, reason: str) -> None:
        s.ctx.metrics.revoked_sockets.inc()
        async with s.send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await s.socket.close(code=code, reason=reason)

    return close


@router.websocket("/api/v1/ws")
async def websocket_v1(
    socket: WebSocket, token: str | None = None, clientId: str | None = None
) -> None:
    """Token as `?token=` or bearer header; refused with HTTP 403 at the handshake."""
    ctx: AppContext = socket.app.state.ctx
    authenticated = await _authenticate(ctx, socket, token)
    if authenticated is None:
        await socket.close(code=4401)  # before accept: the client sees HTTP 403
        return
    user, expires_at = authenticated
    await socket.accept()
    client_id = (clientId or f"ws-{uuid.uuid4()}")[:200]
    s = V1Session(ctx, user, socket, client_id)
    unregister = _registry(ctx).add(LiveSocket(user.id, user.token_version, expires_at, _closer(s)))
    ctx.metrics.ws_connections.inc()
    tasks: set[asyncio.Task[None]] = set()
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    log.info("V1 socket opened", extra={"client_id": client_id, "user": user.username})
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None:
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            await slots.acquire()
            task = asyncio.create_task(handle(s, raw))
            tasks.add(task)
            task.add_done_callback(lambda t: (tasks.discard(t), slots.release()))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        unregister()
        # Let calls in flight finish (bounded by the node timeout), so a transport
        # created at the last moment is registered and then closed below.
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=ctx.settings.grpc_timeout_s + 1)
            for task in late:
                task.cancel()
        for transport in list(s.transports.values()):
            try:
                await _close(s, transport)
            except Exception:
                log.exception("closing %s after socket close failed", transport.id)
        ctx.metrics.ws_connections.inc(amount=-1)
        log.info("V1 socket closed", extra={"client_id": client_id, "user": user.username})
