"""The FlatBuffers channel to one mediasoup-worker process.

Wire format (mediasoup 3.27, worker/src/Channel/ChannelSocket.cpp): each
message is a ``FBS.Message.Message`` prefixed by its size as a uint32 in
little-endian order, at most 8 MiB including the prefix, in both directions.
We write to the worker's fd 3 and read its fd 4.

Ordering: the worker may emit notifications *before* the response to the
request that caused them (e.g. CONSUMER_PRODUCER_PAUSE while it handles a
consume). So (1) the id of an entity being created is *held* before its
create request is sent: its notifications are kept until the entity,
constructed from the answer, subscribes (the Rust crate's
``buffer_messages_for``), and (2) notifications of a read are dispatched with
``call_soon`` after the read's responses have resolved their futures, so a
caller awaiting a response sees it before the notifications that arrived with
it — the same order mediasoup's Node library gets from ``setImmediate``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Hashable, Mapping
from typing import BinaryIO, NamedTuple

import flatbuffers

from .errors import (
    InvalidStateError,
    RequestTimeoutError,
    WireError,
    WorkerClosedError,
    error_from_response,
)
from .events import OnceEvent
from .fbs.FBS.Log.Log import Log
from .fbs.FBS.Message import Message as message_fbs
from .fbs.FBS.Message.Body import Body as MessageBody
from .fbs.FBS.Notification import Notification as notification_fbs
from .fbs.FBS.Request import Request as request_fbs
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.Response.Response import Response
from .fbs_reader import field_position
from .wire import UUID_LENGTH, Reply, RequestTemplate, Sentinels, locate_once

MESSAGE_MAX_LEN = 8 * 1024 * 1024
"""Largest frame, size prefix included (Channel.js MESSAGE_MAX_LEN, ChannelSocket.cpp)."""
PAYLOAD_MAX_LEN = MESSAGE_MAX_LEN - 4
DEFAULT_REQUEST_TIMEOUT = 15.0
"""mediasoup 3.27 has no request timeout at all; a stuck worker would hang callers forever."""

_MAX_REQUEST_ID = 0xFFFFFFFF
_TEMPLATE_CACHE_SIZE = 1024
_U32 = struct.Struct("<I")
_SIZE = _U32
# Slots of the tables read on every message (message.fbs, response.fbs).
_MESSAGE_DATA_TYPE, _MESSAGE_DATA = 0, 1
_RESPONSE_ID, _RESPONSE_ACCEPTED = 0, 1

BodyWriter = Callable[[flatbuffers.Builder], int]
"""Writes a request/notification body table into the builder and returns its offset."""

NotificationHandler = Callable[[int, notification_fbs.Notification], None]
"""Called with the notification's event (``FBS.Notification.Event``) and the lazy reader."""

METHOD_NAMES: dict[int, str] = {
    value: name for name, value in vars(Method).items() if name.isupper()
}

_worker_log = logging.getLogger("mediasoup.worker")
_log = logging.getLogger(__name__)


_Received = tuple[str, int, notification_fbs.Notification]
"""A notification read from the pipe: (handler id, event, lazy reader)."""


class _Pending(NamedTuple):
    future: asyncio.Future[Reply]
    method: int
    timer: asyncio.TimerHandle | None
    deadline: float
    """loop.time() after which the sweep fails it; 0.0 when ``timer`` does (or no limit)."""
    limit: float


_SWEEP_INTERVAL_S = 0.5
_SWEPT_LIMIT_MIN_S = 5.0
"""Timeouts this long or longer are enforced by one sweep per channel every
_SWEEP_INTERVAL_S (at most 10 % late) instead of a TimerHandle per request: a timer
costs about as much as building the request, and almost every request is answered."""


class Channel:
    """Request/response and notification transport over the worker's pipes."""

    def __init__(
        self,
        *,
        to_worker: BinaryIO,
        from_worker: BinaryIO,
        pid: int,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self._to_worker_file = to_worker
        self._from_worker_file = from_worker
        self._pid = pid
        self.request_timeout = request_timeout
        self._loop = asyncio.get_running_loop()
        self._writer: asyncio.WriteTransport | None = None
        self._reader: asyncio.ReadTransport | None = None
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}
        self._subscribers: dict[str, NotificationHandler] = {}
        self._held: dict[str, list[tuple[int, notification_fbs.Notification]]] = {}
        self._partial = bytearray()
        self._builder = flatbuffers.Builder(1024)
        self._templates: dict[Hashable, RequestTemplate] = {}
        self._outgoing: list[bytes | bytearray] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False
        self.closed_event: OnceEvent[str] = OnceEvent("channel.closed")
        """Fires once with the reason ("closed" or "remote closed") when the channel ends."""

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Attaches both pipe ends to the event loop."""
        self._writer, _ = await self._loop.connect_write_pipe(
            lambda: _WriteProtocol(self), self._to_worker_file
        )
        self._reader, _ = await self._loop.connect_read_pipe(
            lambda: _ReadProtocol(self._on_data, self._on_read_closed), self._from_worker_file
        )

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def close(self, reason: str = "closed") -> None:
        """Closes both pipes and fails every pending request with WorkerClosedError.

        Idempotent. Closing our write end is also how the worker learns we are
        gone if it missed WORKER_CLOSE ("channel remotely closed").
        """
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if entry.timer is not None:
                entry.timer.cancel()
            if not entry.future.done():
                entry.future.set_exception(
                    WorkerClosedError(
                        f"channel {reason}, pending request aborted "
                        f"[method:{METHOD_NAMES.get(entry.method, entry.method)}]"
                    )
                )
        self._subscribers.clear()
        self._held.clear()
        if self._writer is not None:
            self._flush()
            self._writer.close()
        if self._reader is not None:
            self._reader.close()
        self.closed_event.emit(reason)

    # -- notifications from the worker ---------------------------------------------

    def subscribe(self, handler_id: str, handler: NotificationHandler) -> Callable[[], None]:
        """Routes notifications for ``handler_id`` (an entity id, or the worker pid) to handler.

        One handler per id: the entity owning the id dispatches further. Returns
        the unsubscribe function. Notifications held for the id (see ``hold``)
        are delivered next, in order, after the current callbacks.
        """
        self._subscribers[handler_id] = handler
        held = self._held.pop(handler_id, None)
        if held:
            self._loop.call_soon(self._dispatch, [(handler_id, ev, n) for ev, n in held])

        def unsubscribe() -> None:
            if self._subscribers.get(handler_id) is handler:
                del self._subscribers[handler_id]

        return unsubscribe

    def is_subscribed(self, handler_id: str) -> bool:
        """Whether an entity holds ``handler_id`` (subscribed, or being created)."""
        return handler_id in self._subscribers or handler_id in self._held

    def hold(self, handler_id: str) -> None:
        """Keeps notifications for ``handler_id`` until it is subscribed or released:
        called before sending the create request of an entity with that id."""
        self._held.setdefault(handler_id, [])

    def release(self, handler_id: str) -> None:
        """Drops what was held for ``handler_id`` (its create request failed)."""
        self._held.pop(handler_id, None)

    @property
    def subscriber_count(self) -> int:
        """Ids notifications are routed or held for (each open entity holds one)."""
        return len(self._subscribers) + len(self._held)

    # -- requests and notifications to the worker -----------------------------------

    def request(
        self,
        method: int,
        handler_id: str = "",
        body_type: int = 0,
        body: BodyWriter | None = None,
        *,
        timeout: float | None = None,
    ) -> asyncio.Future[Reply]:
        """Sends a request; the future resolves with the accepted answer (a wire.Reply).

        A rejected request raises ChannelRequestError (or its TypeError/NotFound
        subclasses); no answer within ``timeout`` (default: the channel's)
        raises RequestTimeoutError; a closed channel raises WorkerClosedError,
        immediately for new requests.
        """
        if self._closed:
            raise WorkerClosedError(f"channel closed [method:{METHOD_NAMES.get(method, method)}]")
        if body is None:
            # Body-less requests (dumps, stats, pause/resume...) repeat per entity, and
            # every entity id the driver makes is a UUID: one template per method.
            if not handler_id:
                template = self.template_for(("worker", method), lambda: self.template(method))
                return self.send(template, timeout=timeout)
            if len(handler_id) == UUID_LENGTH and handler_id.isascii():
                template = self.template_for(("entity", method), lambda: self._bodyless(method))
                return self.send(template, {"handler_id": handler_id}, timeout=timeout)
        self._next_id = self._next_id + 1 if self._next_id < _MAX_REQUEST_ID else 1
        request_id = self._next_id
        frame = self._build_request(request_id, method, handler_id, body_type, body)
        return self._send_frame(frame, request_id, method, timeout)

    def _bodyless(self, method: int) -> RequestTemplate:
        sentinels = Sentinels()
        return self.template(method, sentinels.uuid("handler_id"), sentinels=sentinels)

    def template(
        self,
        method: int,
        handler_id: str = "",
        body_type: int = 0,
        body: BodyWriter | None = None,
        *,
        sentinels: Sentinels | None = None,
    ) -> RequestTemplate:
        """Serialises a request once, for repeated ``send`` calls with fresh ids.

        ``sentinels`` names the placeholder values used in ``handler_id`` and
        the body that ``send`` will replace. The request id's offset is found
        by building twice with different ids (an id is always written: ids
        start at 1, never the default 0).
        """
        first = self._build_request(0x5A5A5A5A, method, handler_id, body_type, body)
        second = self._build_request(0xA5A5A5A5, method, handler_id, body_type, body)
        offset = locate_once(first, _U32.pack(0x5A5A5A5A))
        if len(first) != len(second) or first[offset + 4 :] != second[offset + 4 :]:
            raise WireError("request id not patchable")
        return RequestTemplate.locate(first, method, offset, sentinels)

    def template_for(self, key: Hashable, build: Callable[[], RequestTemplate]) -> RequestTemplate:
        """The channel's cached template under ``key``, built on first use."""
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= _TEMPLATE_CACHE_SIZE:
                self._templates.clear()
            template = self._templates[key] = build()
        return template

    def send(
        self,
        template: RequestTemplate,
        strings: Mapping[str, str] | None = None,
        numbers: Mapping[str, int] | None = None,
        *,
        timeout: float | None = None,
    ) -> asyncio.Future[Reply]:
        """Sends a templated request under a new id with the named ``strings`` (ids) and
        ``numbers`` (SSRCs) patched in; same contract as ``request``."""
        if self._closed:
            name = METHOD_NAMES.get(template.method, template.method)
            raise WorkerClosedError(f"channel closed [method:{name}]")
        self._next_id = self._next_id + 1 if self._next_id < _MAX_REQUEST_ID else 1
        request_id = self._next_id
        frame = template.render(request_id, strings, numbers)
        return self._send_frame(frame, request_id, template.method, timeout)

    def _send_frame(
        self, frame: bytes | bytearray, request_id: int, method: int, timeout: float | None
    ) -> asyncio.Future[Reply]:
        if len(frame) > MESSAGE_MAX_LEN:
            raise InvalidStateError(f"request too big ({len(frame)} bytes)")
        future: asyncio.Future[Reply] = self._loop.create_future()
        limit = self.request_timeout if timeout is None else timeout
        timer: asyncio.TimerHandle | None = None
        deadline = 0.0
        if limit >= _SWEPT_LIMIT_MIN_S:
            deadline = self._loop.time() + limit
            if self._sweeper is None:
                self._sweeper = self._loop.call_later(_SWEEP_INTERVAL_S, self._sweep)
        elif limit > 0:
            timer = self._loop.call_later(limit, self._on_timeout, request_id)
        self._pending[request_id] = _Pending(future, method, timer, deadline, limit)
        if self._writer is None:
            raise InvalidStateError("channel not opened")
        self._queue(frame)
        return future

    def _queue(self, frame: bytes | bytearray) -> None:
        """Writes ``frame`` with the others sent in the same loop iteration.

        Under load many requests are made in one iteration (a batch of replies wakes
        many tasks): one write per iteration instead of one system call per frame —
        the write, and the worker's wake-up it causes, cost more than building a
        request. A lone request waits only for the current iteration to end.
        """
        self._outgoing.append(frame)
        if len(self._outgoing) == 1:
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing or self._writer is None or self._writer.is_closing():
            return
        self._writer.write(outgoing[0] if len(outgoing) == 1 else b"".join(outgoing))

    def notify(
        self,
        event: int,
        handler_id: str = "",
        body_type: int = 0,
        body: BodyWriter | None = None,
    ) -> None:
        """Sends a notification (fire and forget). Dropped silently once closed."""
        if self._closed or self._writer is None:
            return
        b = self._builder
        b.Clear()
        handler = b.CreateString(handler_id)
        body_offset = body(b) if body is not None else 0
        notification_fbs.Start(b)
        notification_fbs.AddHandlerId(b, handler)
        notification_fbs.AddEvent(b, event)
        if body is not None:
            notification_fbs.AddBodyType(b, body_type)
            notification_fbs.AddBody(b, body_offset)
        data = notification_fbs.End(b)
        self._queue(self._finish(b, MessageBody.Notification, data))

    def _build_request(
        self,
        request_id: int,
        method: int,
        handler_id: str,
        body_type: int,
        body: BodyWriter | None,
    ) -> bytes:
        b = self._builder
        b.Clear()
        handler = b.CreateString(handler_id)
        body_offset = body(b) if body is not None else 0
        request_fbs.Start(b)
        request_fbs.AddId(b, request_id)
        request_fbs.AddMethod(b, method)
        request_fbs.AddHandlerId(b, handler)
        if body is not None:
            request_fbs.AddBodyType(b, body_type)
            request_fbs.AddBody(b, body_offset)
        data = request_fbs.End(b)
        return self._finish(b, MessageBody.Request, data)

    @staticmethod
    def _finish(b: flatbuffers.Builder, data_type: int, data: int) -> bytes:
        message_fbs.Start(b)
        message_fbs.AddDataType(b, data_type)
        message_fbs.AddData(b, data)
        b.FinishSizePrefixed(message_fbs.End(b))
        return bytes(b.Output())

    def _on_timeout(self, request_id: int) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is None or entry.future.done():
            return
        name = METHOD_NAMES.get(entry.method, entry.method)
        entry.future.set_exception(
            RequestTimeoutError(f"request timed out after {entry.limit:g} s [method:{name}]")
        )

    def _sweep(self) -> None:
        """Fails the swept requests past their deadline; runs while any are pending."""
        self._sweeper = None
        now = self._loop.time()
        expired = [rid for rid, e in self._pending.items() if 0.0 < e.deadline <= now]
        for request_id in expired:
            self._on_timeout(request_id)
        if not self._closed and any(e.deadline > 0.0 for e in self._pending.values()):
            self._sweeper = self._loop.call_later(_SWEEP_INTERVAL_S, self._sweep)

    # -- reading ----------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        if self._partial:
            self._partial += data
            if len(self._partial) < 4:
                return
            (size,) = _SIZE.unpack_from(self._partial, 0)
            if size <= PAYLOAD_MAX_LEN and len(self._partial) < 4 + size:
                return  # wait for the rest of a large frame without re-parsing
            buf: bytes = bytes(self._partial)
            self._partial = bytearray()
        else:
            buf = data
        notifications: list[_Received] = []
        pos = 0
        end = len(buf)
        while end - pos >= 4:
            (size,) = _SIZE.unpack_from(buf, pos)
            if size > PAYLOAD_MAX_LEN:
                _log.error("worker %d sent a frame of %d bytes, discarding input", self._pid, size)
                pos = end
                break
            if end - pos - 4 < size:
                break
            self._handle_message(buf, pos + 4, notifications)
            pos += 4 + size
        if pos < end:
            self._partial += buf[pos:]
        if notifications:
            self._loop.call_soon(self._dispatch, notifications)

    def _handle_message(
        self,
        buf: bytes,
        offset: int,
        notifications: list[_Received],
    ) -> None:
        # Read the envelope with struct directly: this runs for every message, and
        # the generated readers cost several calls per field.
        root = offset + _U32.unpack_from(buf, offset)[0]
        kind_pos = field_position(buf, root, _MESSAGE_DATA_TYPE)
        data_pos = field_position(buf, root, _MESSAGE_DATA)
        if not kind_pos or not data_pos:
            _log.error("worker %d sent a message without data", self._pid)
            return
        kind = buf[kind_pos]
        table = data_pos + _U32.unpack_from(buf, data_pos)[0]
        if kind == MessageBody.Response:
            id_pos = field_position(buf, table, _RESPONSE_ID)
            accepted_pos = field_position(buf, table, _RESPONSE_ACCEPTED)
            self._resolve(
                buf,
                table,
                _U32.unpack_from(buf, id_pos)[0] if id_pos else 0,
                bool(buf[accepted_pos]) if accepted_pos else False,
            )
        elif kind == MessageBody.Notification:
            notification = notification_fbs.Notification()
            notification.Init(buf, table)
            handler_id = notification.HandlerId()
            notifications.append(
                (handler_id.decode() if handler_id else "", notification.Event(), notification)
            )
        elif kind == MessageBody.Log:
            log = Log()
            log.Init(buf, table)
            self._forward_log(log.Data())
        else:
            _log.error("worker %d sent unexpected message type %d", self._pid, kind)

    def _resolve(self, buf: bytes, table: int, request_id: int, accepted: bool) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is None:
            _log.warning("worker %d answered unknown request id %d", self._pid, request_id)
            return
        if entry.timer is not None:
            entry.timer.cancel()
        if entry.future.done():
            return
        if accepted:
            entry.future.set_result(Reply.read(buf, table, request_id))
        else:
            response = Response()
            response.Init(buf, table)
            error = response.Error()
            reason = response.Reason()
            entry.future.set_exception(
                error_from_response(
                    error.decode() if error else "Error",
                    reason.decode() if reason else "",
                    METHOD_NAMES.get(entry.method, str(entry.method)),
                )
            )

    def _dispatch(self, notifications: list[_Received]) -> None:
        for handler_id, event, notification in notifications:
            handler = self._subscribers.get(handler_id)
            if handler is None:
                held = self._held.get(handler_id)
                if held is not None:
                    held.append((event, notification))
                continue
            try:
                handler(event, notification)
            except Exception:
                _log.exception("notification handler for %s failed", handler_id)

    def _forward_log(self, data: bytes | None) -> None:
        if not data:
            return
        text = data.decode(errors="replace")
        level = text[0]
        line = text[1:]
        if level == "D":
            _worker_log.debug("[pid:%d] %s", self._pid, line)
        elif level == "W":
            _worker_log.warning("[pid:%d] %s", self._pid, line)
        elif level == "E":
            _worker_log.error("[pid:%d] %s", self._pid, line)
        else:  # 'X': dump output
            _worker_log.info("[pid:%d] %s", self._pid, line)

    def _on_read_closed(self, exc: Exception | None) -> None:
        if exc is not None:
            _log.debug("worker %d channel read error: %s", self._pid, exc)
        self.close("remote closed")


class _ReadProtocol(asyncio.Protocol):
    def __init__(
        self,
        on_data: Callable[[bytes], None],
        on_closed: Callable[[Exception | None], None],
    ) -> None:
        self._on_data = on_data
        self._on_closed = on_closed

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_closed(exc)


class _WriteProtocol(asyncio.Protocol):
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self._channel.closed:
            self._channel.close("remote closed")
