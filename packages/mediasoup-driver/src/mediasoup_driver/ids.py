"""Entity ids: random UUID-4 strings, as mediasoup's libraries make them.

Every viewer creates a transport and a consumer, so ids are made on the hot path:
``uuid.uuid4()`` costs a ``getrandom`` system call and a UUID object per id; here 16
bytes are sliced from a pooled ``os.urandom`` block (one system call per 256 ids) and
formatted directly. The ids stay unpredictable (the OS CSPRNG); the pool is dropped
in a forked child so parent and child never hand out the same ids.
"""

from __future__ import annotations

import os

_POOL_IDS = 256


class _IdPool:
    __slots__ = ("block", "offset")

    def __init__(self) -> None:
        self.block = b""
        self.offset = 0

    def reset(self) -> None:
        self.block = b""
        self.offset = 0

    def take(self) -> bytearray:
        if self.offset >= len(self.block):
            self.block = os.urandom(16 * _POOL_IDS)
            self.offset = 0
        start = self.offset
        self.offset = start + 16
        return bytearray(self.block[start : start + 16])


_pool = _IdPool()
os.register_at_fork(after_in_child=_pool.reset)


def new_uuid() -> str:
    """A random (version 4, RFC 4122 variant) UUID in its canonical text form."""
    raw = _pool.take()
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
