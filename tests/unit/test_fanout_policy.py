"""Where fan-out puts a new viewer (media_node.fanout.choose_slot, a pure function)."""

from __future__ import annotations

from media_node.fanout import FanoutPolicy, SlotLoad, choose_slot

FILL = FanoutPolicy(mode="fill", max_viewers_per_worker=10, max_cpu_percent=80.0)


def _slots(*viewers: int, cpu: float = 0.0, routes: tuple[int, ...] = (0,)) -> list[SlotLoad]:
    return [SlotLoad(i, v, cpu, i in routes) for i, v in enumerate(viewers)]


def test_fill_keeps_viewers_on_the_origin_until_its_threshold() -> None:
    assert choose_slot(FILL, 0, _slots(9, 0)) == 0
    assert choose_slot(FILL, 0, _slots(10, 0)) == 1


def test_fill_moves_on_when_the_origin_cpu_is_high_whatever_its_viewer_count() -> None:
    slots = [SlotLoad(0, 3, 90.0, True), SlotLoad(1, 0, 5.0, False)]
    assert choose_slot(FILL, 0, slots) == 1


def test_fill_prefers_a_worker_that_already_carries_the_stream() -> None:
    assert choose_slot(FILL, 0, _slots(10, 2, 0, routes=(0, 1))) == 1
    assert choose_slot(FILL, 0, _slots(10, 2, 0, routes=(0, 2))) == 2


def test_fill_with_every_worker_loaded_takes_the_least_loaded() -> None:
    assert choose_slot(FILL, 1, _slots(12, 15, 11, routes=(1,))) == 2


def test_spread_takes_the_fewest_viewers_origin_first_on_ties() -> None:
    spread = FanoutPolicy(mode="spread")
    assert choose_slot(spread, 1, _slots(0, 0)) == 1
    assert choose_slot(spread, 1, _slots(0, 1)) == 0
    assert choose_slot(spread, 0, _slots(3, 2, 2, routes=(0, 2))) == 2


def test_off_and_a_single_worker_always_use_the_origin() -> None:
    assert choose_slot(FanoutPolicy(mode="off"), 0, _slots(500, 0)) == 0
    assert choose_slot(FILL, 0, _slots(500)) == 0


def test_an_origin_that_is_not_running_is_kept_so_consume_can_refuse() -> None:
    # The origin's worker is restarting: it is not among the running slots.
    assert choose_slot(FILL, 0, [SlotLoad(1, 0, 0.0, False)]) == 0
