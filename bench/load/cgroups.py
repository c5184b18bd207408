"""CPU cgroups (v1 `cpu` controller) for capacity benches: a capped "small core" per worker,
and a high-weight group that keeps the bench's own processes ahead of other jobs.

Why: on a small shared machine the receivers and other jobs run out of CPU long before
one worker does, so a viewer count measures the machine. A CFS quota of P % of a core
per worker (short period, so throttling spreads over milliseconds and not 100 ms bursts)
makes each worker a small core of its own; a high ``cpu.shares`` for both the capped
workers and the rest of the bench makes the worker get its quota when it asks for it
and the receivers keep up, even while other jobs run. ``cpu.stat`` then tells whether a
worker sat at its cap (``nr_throttled``, ``throttled_time``).

Needs root and the v1 cpu controller mounted at /sys/fs/cgroup/cpu.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup/cpu")
ACCOUNTING = Path("/sys/fs/cgroup/cpuacct")
HIGH_SHARES = 262144  # the v1 maximum: ~256x a nice-0 task of another job
DEFAULT_SHARES = 1024


@dataclass(frozen=True)
class Throttling:
    """A group's cpu.stat counters (throttled_ns: time its tasks were held back)."""

    periods: int
    throttled: int
    throttled_ns: int

    def __sub__(self, other: Throttling) -> Throttling:
        return Throttling(
            self.periods - other.periods,
            self.throttled - other.throttled,
            self.throttled_ns - other.throttled_ns,
        )

    @property
    def throttled_pct(self) -> float:
        """Share of the CFS periods in which the group ran out of quota."""
        return 100.0 * self.throttled / self.periods if self.periods else 0.0


class Group:
    """One cgroup under ROOT; removed (its tasks moved back to the root) by ``remove()``."""

    def __init__(self, name: str, root: Path = ROOT) -> None:
        self.root = root
        self.path = root / name
        self.path.mkdir()

    def set(self, knob: str, value: int) -> None:
        (self.path / knob).write_text(str(value))

    def add(self, pid: int) -> None:
        """Moves a process (all its threads) into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttling(self) -> Throttling:
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return Throttling(
            int(stat["nr_periods"]), int(stat["nr_throttled"]), int(stat["throttled_time"])
        )

    def usage_s(self) -> float:
        """CPU time of every task that ever ran in the group (cpuacct groups only)."""
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        for _ in range(3):  # threads may be created while we move them
            pids = (self.path / "cgroup.procs").read_text().split()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    (self.root / "cgroup.procs").write_text(pid)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def capped(name: str, percent: float, period_us: int, shares: int = HIGH_SHARES) -> Group:
    """A group limited to `percent` of one core, enforced every `period_us`."""
    quota_us = round(percent * period_us / 100)
    if quota_us < 1000:
        raise ValueError(
            f"{percent} % of a {period_us} µs period is {quota_us} µs; the kernel's minimum "
            "quota is 1000 µs: take a longer period"
        )
    group = Group(name)
    group.set("cpu.shares", shares)
    group.set("cpu.cfs_period_us", period_us)
    group.set("cpu.cfs_quota_us", quota_us)
    return group


@contextlib.contextmanager
def bench_groups(shares: int = HIGH_SHARES, prefix: str | None = None) -> Iterator[list[Group]]:
    """A list to hold this bench's groups, all removed on exit. The first two hold this
    process, so every child it starts inherits them: a `cpu` group of weight `shares` and a
    `cpuacct` group counting the whole bench's CPU (workers included: they leave only
    the `cpu` group for their capped one)."""
    prefix = prefix or f"vasms-bench-{os.getpid()}"
    groups: list[Group] = []
    try:
        priority = Group(f"{prefix}-bench")
        groups.append(priority)
        accounting = Group(f"{prefix}-bench", ACCOUNTING)
        groups.append(accounting)
        priority.set("cpu.shares", shares)
        priority.add(os.getpid())
        accounting.add(os.getpid())
        yield groups
    finally:
        for group in reversed(groups):
            group.remove()
