"""Channel framing: size-prefixed frames split or merged arbitrarily by the pipe."""

from __future__ import annotations

import asyncio
import io

import flatbuffers
import pytest
from mediasoup_driver.channel import PAYLOAD_MAX_LEN, Channel
from mediasoup_driver.errors import ChannelTypeError
from mediasoup_driver.fbs.FBS.Log import Log as log_fbs
from mediasoup_driver.fbs.FBS.Message import Message as message_fbs
from mediasoup_driver.fbs.FBS.Message.Body import Body
from mediasoup_driver.fbs.FBS.Notification import Notification as notification_fbs
from mediasoup_driver.fbs.FBS.Request.Method import Method
from mediasoup_driver.fbs.FBS.Response import Response as response_fbs


def _frame(data_type: int, write) -> bytes:
    b = flatbuffers.Builder(64)
    data = write(b)
    message_fbs.Start(b)
    message_fbs.AddDataType(b, data_type)
    message_fbs.AddData(b, data)
    b.FinishSizePrefixed(message_fbs.End(b))
    return bytes(b.Output())


def response(request_id: int, accepted: bool = True, error: str = "", reason: str = "") -> bytes:
    def write(b: flatbuffers.Builder) -> int:
        err = b.CreateString(error) if error else None
        why = b.CreateString(reason) if reason else None
        response_fbs.Start(b)
        response_fbs.AddId(b, request_id)
        response_fbs.AddAccepted(b, accepted)
        if err is not None:
            response_fbs.AddError(b, err)
        if why is not None:
            response_fbs.AddReason(b, why)
        return response_fbs.End(b)

    return _frame(Body.Response, write)


def notification(handler_id: str, event: int) -> bytes:
    def write(b: flatbuffers.Builder) -> int:
        handler = b.CreateString(handler_id)
        notification_fbs.Start(b)
        notification_fbs.AddHandlerId(b, handler)
        notification_fbs.AddEvent(b, event)
        return notification_fbs.End(b)

    return _frame(Body.Notification, write)


def log_line(text: str) -> bytes:
    def write(b: flatbuffers.Builder) -> int:
        data = b.CreateString(text)
        log_fbs.Start(b)
        log_fbs.AddData(b, data)
        return log_fbs.End(b)

    return _frame(Body.Log, write)


class _Sink(asyncio.WriteTransport):
    """Collects what the channel writes (stands in for the pipe to the worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.frames.append(data)

    def close(self) -> None:
        pass


@pytest.fixture
async def channel() -> Channel:
    ch = Channel(to_worker=io.BytesIO(), from_worker=io.BytesIO(), pid=1)
    ch._writer = _Sink()
    return ch


async def test_frames_split_byte_by_byte_are_reassembled(channel: Channel) -> None:
    futures = [channel.request(Method.WORKER_DUMP) for _ in range(3)]
    stream = response(2) + response(1) + response(3)
    for i in range(len(stream)):
        channel._on_data(stream[i : i + 1])
    answers = await asyncio.gather(*futures)
    assert [a.id for a in answers] == [1, 2, 3]
    assert channel._partial == bytearray()


async def test_many_frames_in_one_read(channel: Channel) -> None:
    futures = [channel.request(Method.WORKER_DUMP) for _ in range(100)]
    channel._on_data(b"".join(response(i) for i in range(1, 101)))
    answers = await asyncio.gather(*futures)
    assert [a.id for a in answers] == list(range(1, 101))


async def test_rejected_request_raises_typed_error(channel: Channel) -> None:
    future = channel.request(Method.WORKER_CREATE_ROUTER)
    channel._on_data(response(1, accepted=False, error="TypeError", reason="missing routerId"))
    with pytest.raises(ChannelTypeError, match="WORKER_CREATE_ROUTER: missing routerId"):
        await future


async def test_notifications_are_dispatched_after_responses_of_the_same_read(
    channel: Channel,
) -> None:
    order: list[str] = []
    channel.subscribe("consumer-1", lambda event, _n: order.append(f"notification {event}"))
    future = channel.request(Method.TRANSPORT_CONSUME)

    async def awaiting() -> None:
        await future
        order.append("response")

    task = asyncio.ensure_future(awaiting())
    await asyncio.sleep(0)
    # The worker emits the consumer's notification before the response (CONSUMER_PRODUCER_PAUSE).
    channel._on_data(notification("consumer-1", 17) + response(1))
    await task
    await asyncio.sleep(0)
    assert order == ["response", "notification 17"]


async def test_unsubscribed_notification_is_dropped(channel: Channel) -> None:
    seen: list[int] = []
    unsubscribe = channel.subscribe("x", lambda event, _n: seen.append(event))
    unsubscribe()
    channel._on_data(notification("x", 5))
    await asyncio.sleep(0)
    assert seen == []


async def test_worker_log_lines_are_forwarded(channel: Channel, caplog) -> None:
    caplog.set_level("DEBUG", logger="mediasoup.worker")
    channel._on_data(log_line("Whello from the worker"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "[pid:1] hello from the worker")
    ]


async def test_oversized_frame_is_discarded_without_crashing(channel: Channel) -> None:
    future = channel.request(Method.WORKER_DUMP)
    channel._on_data((PAYLOAD_MAX_LEN + 1).to_bytes(4, "little") + b"\0" * 16)
    channel._on_data(response(1))
    assert (await future).id == 1


async def test_request_ids_wrap_to_one(channel: Channel) -> None:
    channel._next_id = 0xFFFFFFFF
    future = channel.request(Method.WORKER_DUMP)
    channel._on_data(response(1))
    assert (await future).id == 1
