"""Spawning and reaping one mediasoup-worker process.

The worker reads its channel on fd 3 and writes on fd 4 (worker/src/main.cpp).
Inside a running asyncio program fds 3-5 usually belong to the event loop, so
we never dup2 onto them in the parent: the child ends are moved above fd 64
(close-on-exec) and ``posix_spawn`` file actions place them on 0-4 in the child
only. Exit is observed through a pidfd on the event loop, so no SIGCHLD
handler or watcher thread is involved, and the child is always reaped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import signal
from dataclasses import dataclass
from typing import BinaryIO, cast

_stdout_log = logging.getLogger("mediasoup.worker.stdout")
_stderr_log = logging.getLogger("mediasoup.worker.stderr")

_CHILD_FD_FLOOR = 64
STDERR_TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class WorkerExit:
    """How a worker process ended: ``code`` for a normal exit, ``signal`` if killed."""

    code: int | None
    signal: int | None

    @classmethod
    def from_wait_status(cls, status: int) -> WorkerExit:
        value = os.waitstatus_to_exitcode(status)
        return cls(code=None, signal=-value) if value < 0 else cls(code=value, signal=None)

    def __str__(self) -> str:
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name}"
        return f"exit code {self.code}"


class WorkerProcess:
    """A spawned worker: its channel pipe ends, drained stdio and an exit future."""

    def __init__(self, pid: int, to_worker: BinaryIO, from_worker: BinaryIO) -> None:
        self.pid = pid
        self.to_worker = to_worker
        self.from_worker = from_worker
        self.exited: asyncio.Future[WorkerExit] = asyncio.get_running_loop().create_future()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._pidfd = -1
        self._watch_exit()

    @classmethod
    async def spawn(cls, argv: list[str], env: dict[str, str]) -> WorkerProcess:
        """Starts ``argv`` with the channel on fds 3/4 and stdio drained into logging."""
        pid, to_w, from_r, out_r, err_r = _spawn_with_channel_fds(argv, env)
        proc = cls(pid, _pipe_file(to_w, "wb"), _pipe_file(from_r, "rb"))
        await _drain(pid, out_r, _stdout_log, None)
        await _drain(pid, err_r, _stderr_log, proc.stderr_tail)
        return proc

    def _watch_exit(self) -> None:
        loop = asyncio.get_running_loop()
        self._pidfd = os.pidfd_open(self.pid)
        loop.add_reader(self._pidfd, self._on_pidfd_readable)

    def _on_pidfd_readable(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        _, status = os.waitpid(self.pid, 0)
        if not self.exited.done():
            self.exited.set_result(WorkerExit.from_wait_status(status))

    @property
    def running(self) -> bool:
        return not self.exited.done()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends ``sig`` unless the process is already reaped (pid reuse safe)."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def close_pipes(self) -> None:
        for f in (self.to_worker, self.from_worker):
            with contextlib.suppress(OSError):
                f.close()


async def _drain(
    pid: int, fd: int, logger: logging.Logger, tail: collections.deque[str] | None
) -> None:
    """Logs each line the worker writes on ``fd`` (and keeps the last ones in ``tail``)."""
    loop = asyncio.get_running_loop()
    # The transport closes itself at EOF, when the worker exits.
    await loop.connect_read_pipe(lambda: _LineLogger(logger, pid, tail), _pipe_file(fd, "rb"))


def _pipe_file(fd: int, mode: str) -> BinaryIO:
    """Wraps a pipe fd we own in an unbuffered file object (no I/O happens here)."""
    return cast(BinaryIO, open(fd, mode, buffering=0))


def _spawn_with_channel_fds(argv: list[str], env: dict[str, str]) -> tuple[int, ...]:
    """posix_spawn()s the worker with its ends of four pipes on fds 1-4 (stdin /dev/null).

    Returns (pid, to_worker_w, from_worker_r, stdout_r, stderr_r). Synchronous
    but does not block: posix_spawn returns once the child has been created
    (vfork semantics), well under a millisecond.
    """
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    child_ends = [to_r, from_w, out_w, err_w]
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _CHILD_FD_FLOOR) for fd in child_ends]
    for fd in child_ends:
        os.close(fd)
    c_to_r, c_from_w, c_out_w, c_err_w = high
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, c_out_w, 1),
                (os.POSIX_SPAWN_DUP2, c_err_w, 2),
                (os.POSIX_SPAWN_DUP2, c_to_r, 3),
                (os.POSIX_SPAWN_DUP2, c_from_w, 4),
            ],
        )
    except BaseException:
        for fd in (to_w, from_r, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in high:
            os.close(fd)
    return pid, to_w, from_r, out_r, err_r


class _LineLogger(asyncio.Protocol):
    """Logs a stdio pipe line by line (worker bugs and third-party libs print there)."""

    def __init__(
        self, logger: logging.Logger, pid: int, tail: collections.deque[str] | None
    ) -> None:
        self._logger = logger
        self._pid = pid
        self._tail = tail
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._emit(line)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = b""

    def _emit(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").rstrip()
        if not line:
            return
        if self._tail is not None:
            self._tail.append(line)
        self._logger.warning("[pid:%d] %s", self._pid, line)
