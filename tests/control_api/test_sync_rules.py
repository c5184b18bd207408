"""The rules that make event application idempotent across replicas (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from control_api.db import create_engine, make_session_factory
from control_api.migrate import upgrade
from control_api.models import Consumer, Desired, Stream
from control_api.services import streams as ops
from control_api.services import viewers
from control_api.services.viewers import _insert
from protos import media_node_pb2 as pb


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator:
    await upgrade(db_url)
    engine = create_engine(db_url)
    yield make_session_factory(engine)
    await engine.dispose()


def info(stream_id: str, status: int, reason: str = "") -> pb.StreamInfo:
    return pb.StreamInfo(stream_id=stream_id, status=status, status_reason=reason)


async def new_stream(sessions, desired: str = Desired.running.value) -> str:
    async with sessions() as s:
        row = Stream(name="s", source={"type": "rtp"}, desired=desired, node_id="n1")
        s.add(row)
        await s.commit()
        return row.id


async def status(sessions, stream_id: str) -> tuple[str, str, int]:
    async with sessions() as s:
        row = await s.get(Stream, stream_id)
        return row.status, row.status_reason, row.status_at_ms


async def test_events_apply_in_node_time_order_and_replays_are_harmless(sessions) -> None:
    sid = await new_stream(sessions)
    async with sessions() as s:
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_STARTING), 100)
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_LIVE), 200)
        # A second replica replays the same events, late: nothing moves backwards.
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_STARTING), 100) is None
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_LIVE), 200)
    assert await status(sessions, sid) == ("live", "", 200)


async def test_events_of_another_node_are_ignored(sessions) -> None:
    sid = await new_stream(sessions)
    async with sessions() as s:
        assert await ops.apply_event(s, "n2", info(sid, pb.STREAM_STATUS_ERROR), 500) is None
    assert (await status(sessions, sid))[0] == "created"


async def test_running_events_for_a_stopped_stream_are_stale(sessions) -> None:
    sid = await new_stream(sessions, Desired.stopped.value)
    async with sessions() as s:
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_LIVE), 100) is None
        assert await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_STOPPED), 101)
    assert (await status(sessions, sid))[0] == "stopped"


async def test_stopped_behind_our_back_is_an_error(sessions) -> None:
    sid = await new_stream(sessions)
    async with sessions() as s:
        row = await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_STOPPED), 100)
    assert row is not None and row.status == "error"
    assert (await status(sessions, sid))[1] == "stopped on the media node"


async def test_a_late_reply_does_not_undo_live(sessions) -> None:
    sid = await new_stream(sessions)
    async with sessions() as s:
        await ops.apply_event(s, "n1", info(sid, pb.STREAM_STATUS_LIVE), 100)
        await ops.apply_reply(s, sid, info(sid, pb.STREAM_STATUS_STARTING))
    assert (await status(sessions, sid))[0] == "live"


async def test_consumer_states_only_move_forward(sessions) -> None:
    async with sessions() as s:
        s.add(Consumer(id="c1", stream_id="s", node_id="n1", transport_id="t1", owner_id="u"))
        await s.commit()
        await viewers.advance(s, "t1", viewers.ConsumerState.connected)
        await viewers.advance(s, "t1", viewers.ConsumerState.connecting)
        assert (await s.get(Consumer, "c1")).state == "connected"
        await viewers.mark_closed(s, ["c1"], "dtls_closed", {})
        await viewers.mark_closed(s, ["c1"], "requested", {})  # first reason wins
        await viewers.advance(s, "t1", viewers.ConsumerState.connected)
        row = await s.get(Consumer, "c1")
        await s.refresh(row)
        assert (row.state, row.closed_reason) == ("closed", "dtls_closed")


async def test_close_reported_before_the_row_lands_is_kept(sessions) -> None:
    tomb = {"stream_id": "s", "node_id": "n1", "transport_id": "t9", "client_id": "x"}
    async with sessions() as s:
        await viewers.mark_closed(s, ["c9"], "dtls_failed", tomb)
    async with sessions() as s:
        row = Consumer(id="c9", stream_id="s", node_id="n1", transport_id="t9", owner_id="u1")
        await _insert(s, row)
        assert (row.state, row.closed_reason) == ("closed", "dtls_failed")
    async with sessions() as s:
        stored = await s.get(Consumer, "c9")
        assert stored.owner_id == "u1" and stored.state == "closed"
