"""Processes below a process, from /proc (leak checks of node children)."""

from __future__ import annotations

from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children of children included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def cmdlines(pid: int) -> dict[int, bytes]:
    """The descendants of `pid` with their command lines (NUL-separated)."""
    out = {}
    for child in descendants(pid):
        try:
            out[child] = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
    return out
