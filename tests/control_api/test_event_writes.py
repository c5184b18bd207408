"""A node's status event that changes nothing the stream row holds is not written."""

from __future__ import annotations

from control_api.models import Desired, Stream, StreamStatus
from control_api.services.streams import event_changes_nothing
from protos import media_node_pb2 as pb


def row(**changes: object) -> Stream:
    values: dict[str, object] = {
        "id": "s-1",
        "name": "cam",
        "source": {"type": "test_pattern"},
        "desired": Desired.running.value,
        "status": StreamStatus.live.value,
        "status_reason": "",
        "node_id": "node-a",
        "producer_id": "p-1",
        "video": {"codec": "vp8", "width": 640, "height": 360},
        "status_at_ms": 1_000,
    }
    values.update(changes)
    return Stream(**values)


def info(**changes: object) -> pb.StreamInfo:
    values: dict[str, object] = {
        "stream_id": "s-1",
        "status": pb.STREAM_STATUS_LIVE,
        "producer_id": "p-1",
        "video": pb.VideoInfo(codec="vp8", width=640, height=360),
        "consumer_count": 7,
    }
    values.update(changes)
    return pb.StreamInfo(**values)


def test_a_viewer_count_change_is_not_written() -> None:
    assert event_changes_nothing(row(), "node-a", info(), 2_000)
    assert event_changes_nothing(row(), "node-a", info(consumer_count=8), 1_000)


def test_every_real_change_is_written() -> None:
    assert not event_changes_nothing(row(), "node-a", info(producer_id="p-2"), 2_000)
    assert not event_changes_nothing(row(), "node-a", info(status=pb.STREAM_STATUS_ERROR), 2_000)
    assert not event_changes_nothing(row(), "node-a", info(status_reason="silent"), 2_000)
    small = pb.VideoInfo(codec="vp8", width=320, height=180)
    assert not event_changes_nothing(row(), "node-a", info(video=small), 2_000)
    assert not event_changes_nothing(row(), "node-a", info(audio=pb.AudioInfo(codec="opus")), 2_000)


def test_the_full_rules_decide_when_in_doubt() -> None:
    # Older than the row's last event, another node, or a stop behind our back
    # (written as an error): apply_event's own checks run.
    assert not event_changes_nothing(row(), "node-a", info(), 999)
    assert not event_changes_nothing(row(), "node-b", info(), 2_000)
    stopped = info(status=pb.STREAM_STATUS_STOPPED)
    assert not event_changes_nothing(row(status=StreamStatus.live.value), "node-a", stopped, 2_000)
    assert not event_changes_nothing(row(desired=Desired.stopped.value), "node-a", info(), 2_000)
