"""Kernel UDP receive drops per process, from /proc/net/udp's per-socket `drops` column.

A datagram dropped because a socket's receive buffer was full tells who did not read in
time: a worker's socket (the worker was held back — CPU cap or a busy machine — and
its input queue overflowed) or a receiver's (the load generator fell behind). The
namespace-wide Udp RcvbufErrors counter cannot tell the two apart; this can.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open."""
    inodes: set[int] = set()
    fd_dir = f"/proc/{pid}/fd"
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fd_dir}/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def drops_by_inode() -> dict[int, int]:
    """Socket inode -> datagrams dropped so far (IPv4 and IPv6 UDP, this namespace)."""
    drops: dict[int, int] = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                drops[int(fields[9])] = int(fields[-1])
    return drops


def drops(groups: dict[str, Iterable[int]]) -> dict[str, int]:
    """Drops so far on the sockets of each named group of pids (only sockets still open)."""
    table = drops_by_inode()
    total: dict[str, int] = {}
    for name, pids in groups.items():
        inodes = set().union(*(socket_inodes(pid) for pid in pids))
        total[name] = sum(table.get(inode, 0) for inode in inodes)
    return total
