"""HotPath.get answers what session.get answers (both databases), without a session."""

from __future__ import annotations

from control_api import migrate
from control_api.auth import Role, create_user
from control_api.db import create_engine, make_session_factory
from control_api.hot_path import HotPath
from control_api.models import Stream, User


async def test_rows_equal_session_get(db_url: str) -> None:
    await migrate.upgrade(db_url)
    engine = create_engine(db_url)
    reads = HotPath(engine, db_url)
    try:
        sessions = make_session_factory(engine)
        async with sessions() as session:
            user = await create_user(session, "rita", "password-123", Role.operator)
            stream = Stream(
                name="cam",
                source={"type": "rtsp", "url": "rtsp://cam/x", "transcode": True},
                rtp_endpoint={"ip": "127.0.0.1", "port": 5004},
                node_id="node-1",
                status_at_ms=2**40,
            )
            session.add(stream)
            await session.commit()
            user_id, stream_id = user.id, stream.id
        async with sessions() as session:
            expected_user = await session.get(User, user_id)
            expected_stream = await session.get(Stream, stream_id)
        got_user = await reads.get(User, user_id)
        got_stream = await reads.get(Stream, stream_id)
        assert got_user is not None and expected_user is not None
        assert got_user.model_dump() == expected_user.model_dump()
        assert got_stream is not None and expected_stream is not None
        assert got_stream.model_dump() == expected_stream.model_dump()
        assert got_stream.source["transcode"] is True and got_stream.status_at_ms == 2**40
        assert await reads.get(User, "nobody") is None
        # A write on a session is visible to the next read at once.
        async with sessions() as session:
            row = await session.get(User, user_id)
            assert row is not None
            row.disabled = True
            session.add(row)
            await session.commit()
        again = await reads.get(User, user_id)
        assert again is not None and again.disabled is True
    finally:
        await reads.close()
        await engine.dispose()


async def test_writes_commit_and_fail_like_a_session(db_url: str) -> None:
    import pytest
    from sqlalchemy import delete, insert
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import col

    from control_api.models import Consumer

    await migrate.upgrade(db_url)
    engine = create_engine(db_url)
    hot = HotPath(engine, db_url)
    try:
        row = Consumer(id="c-1", stream_id="s", node_id="n", transport_id="t", owner_id="u")
        assert await hot.execute(insert(Consumer).values(**row.model_dump())) == []
        with pytest.raises(IntegrityError):
            await hot.execute(insert(Consumer).values(**row.model_dump()))
        async with make_session_factory(engine)() as session:
            stored = await session.get(Consumer, "c-1")
        assert stored is not None
        # SQLite gives datetimes back naive (they were written as UTC), as through a session.
        assert stored.model_dump(exclude={"created_at"}) == row.model_dump(exclude={"created_at"})
        assert stored.created_at.replace(tzinfo=None) == row.created_at.replace(tzinfo=None)
        gone = delete(Consumer).where(col(Consumer.id) == "c-1").returning(col(Consumer.node_id))
        assert await hot.execute(gone) == [("n",)]
        assert await hot.execute(gone) == []
        assert await hot.get(Consumer, "c-1") is None
    finally:
        await hot.close()
        await engine.dispose()


async def test_viewer_statements_on_both_databases(db_url: str) -> None:
    """The consume path's prepared statements: one INSERT of a viewer's video and audio
    rows, the quota and viewer counts, and one DELETE taking a video row with its audio
    row (an audio row alone leaves the video)."""
    from control_api.models import Consumer, ConsumerState, utcnow
    from control_api.services import quotas, viewers
    from control_api.services.streams import OPEN_VIEWERS_OF

    await migrate.upgrade(db_url)
    engine = create_engine(db_url)
    hot = HotPath(engine, db_url)

    def pair(n: int, state: str = ConsumerState.new.value) -> dict[str, object]:
        video = Consumer(id=f"v{n}", stream_id="s", node_id="n", transport_id=f"t{n}", owner_id="u")
        audio = Consumer(id=f"a{n}", stream_id="s", node_id="n", transport_id=f"t{n}", owner_id="u")
        audio.kind = "audio"
        video.state = audio.state = state
        params = {f"a_{k}": v for k, v in video.model_dump().items()}
        params.update({f"b_{k}": v for k, v in audio.model_dump().items()})
        return params

    try:
        await hot.execute(viewers.INSERT_TWO, pair(1))
        await hot.execute(viewers.INSERT_TWO, pair(2))
        await hot.execute(viewers.INSERT_TWO, pair(3, ConsumerState.closed.value))
        got = await hot.get(Consumer, "a1")
        assert got is not None and got.kind == "audio" and got.transport_id == "t1"
        # Distinct open transports of the user (a video and its audio count once).
        assert await hot.execute(quotas.OPEN_VIEWERS, {"owner_id": "u"}) == [(2,)]
        assert await hot.execute(quotas.OPEN_VIEWERS, {"owner_id": "x"}) == [(0,)]
        assert await hot.execute(OPEN_VIEWERS_OF, {"stream_id": "s"}) == [(2,)]
        # Audio alone: the video row stays.
        gone = await hot.execute(
            viewers.DELETE_VIEWER, {"consumer_id": "a2", "audio_of_transport": None}
        )
        assert gone == [("a2",)]
        assert await hot.get(Consumer, "v2") is not None
        # Video: its audio row goes in the same statement, the other viewers stay.
        gone = await hot.execute(
            viewers.DELETE_VIEWER, {"consumer_id": "v1", "audio_of_transport": "t1"}
        )
        assert sorted(gone) == [("a1",), ("v1",)]
        assert await hot.get(Consumer, "a1") is None and await hot.get(Consumer, "v2")
        again = await hot.execute(
            viewers.DELETE_VIEWER, {"consumer_id": "v1", "audio_of_transport": "t1"}
        )
        assert again == []
        assert await hot.execute(OPEN_VIEWERS_OF, {"stream_id": "s"}) == [(1,)]
        # The node's close event: marked once, then no longer open.
        closing = {"consumer_id": "v2", "reason": "dtls_closed", "closed_at": utcnow()}
        assert await hot.execute(viewers.MARK_CLOSED, closing) == [("v2",)]
        assert await hot.execute(viewers.MARK_CLOSED, closing) == []
        closed = await hot.get(Consumer, "v2")
        assert closed is not None and closed.state == ConsumerState.closed.value
        assert closed.closed_reason == "dtls_closed" and closed.closed_at is not None
        assert await hot.execute(OPEN_VIEWERS_OF, {"stream_id": "s"}) == [(0,)]
    finally:
        await hot.close()
        await engine.dispose()
