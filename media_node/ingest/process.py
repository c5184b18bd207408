"""One run of an ingest process (gst-launch-1.0), and the restart backoff.

The process is started with asyncio in its own session (process group), its
stdout and stderr are read line by line into logging as they come (a full pipe
would stall GStreamer), and it is always reaped. ``kill()`` SIGKILLs the whole
group: a live RTP sender has nothing worth flushing, and gst-launch does not
shut down on SIGTERM anyway.

gst-launch reports a failure as ``ERROR: from element <path>: <message>``
followed by ``Additional debug info:``, the source location and a detail line;
``exit_reason()`` condenses that into one human sentence for the stream status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections import deque
from dataclasses import dataclass

_log = logging.getLogger(__name__)

_TAIL_LINES = 40
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """Hides the user:password of URLs (an RTSP camera's) in logs and status reasons."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


@dataclass(slots=True)
class Backoff:
    """Restart delays: ``initial`` doubling up to ``cap``; back to ``initial`` once a
    run has been live for ``reset_after`` seconds (a source that worked for a while
    and then failed deserves a quick retry; one that keeps failing, a slow one)."""

    initial: float = 0.5
    cap: float = 10.0
    reset_after: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap:
            raise ValueError(f"backoff: need 0 < initial <= cap, got {self.initial}, {self.cap}")


class IngestProcess:
    """A started gst-launch-1.0 (or any command) whose output is drained and logged."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self._process = process
        self.name = name
        self.pid = process.pid
        self._stdout_tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._stderr_tail: deque[str] = deque(maxlen=_TAIL_LINES)
        assert process.stdout is not None and process.stderr is not None
        self._drains = [
            asyncio.create_task(self._drain(process.stdout, self._stdout_tail, logging.DEBUG)),
            asyncio.create_task(self._drain(process.stderr, self._stderr_tail, logging.WARNING)),
        ]

    @classmethod
    async def spawn(cls, argv: list[str], name: str) -> IngestProcess:
        """Starts ``argv``; raises OSError when it cannot be executed (e.g. not installed)."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        _log.info("%s: started pid %d: %s", name, process.pid, redact(" ".join(argv)))
        return cls(process, name)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def _drain(self, stream: asyncio.StreamReader, tail: deque[str], level: int) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the 64 KiB limit: keep reading past it
                continue
            if not raw:
                return
            line = redact(raw.decode(errors="replace").rstrip())
            if line:
                tail.append(line)
                _log.log(level, "%s [pid %d]: %s", self.name, self.pid, line)

    async def wait(self) -> int:
        """Waits for the exit and for both pipes to be read to their end."""
        code = await self._process.wait()
        await asyncio.gather(*self._drains, return_exceptions=True)
        return code

    async def kill(self) -> None:
        """SIGKILLs the process group, then reaps. Idempotent."""
        if self._process.returncode is None:
            # The group (= the process, started as its leader, and anything it forked);
            # still unreaped, so its id cannot have been reused.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        await self.wait()

    def bind_failed(self) -> bool:
        """Whether the run failed because one of its UDP ports was taken."""
        return any("Address already in use" in line for line in self._stderr_tail)

    def exit_reason(self) -> str:
        """A one-line human reason for the (finished) run."""
        code = self._process.returncode
        if code is None:
            return "ingest process still running"
        if code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            return f"ingest process killed by {signame}"
        error = gst_error(list(self._stderr_tail))
        if code == 0:
            if any("Got EOS" in line for line in self._stdout_tail):
                return "source ended (end of stream)"
            return "ingest process exited" + (f": {error}" if error else "")
        return f"ingest process exited with code {code}" + (f": {error}" if error else "")


def gst_error(stderr_lines: list[str]) -> str | None:
    """The first gst-launch error, as "<element>: <message> (<detail>)"."""
    for i, line in enumerate(stderr_lines):
        if not line.startswith("ERROR: from element "):
            continue
        where, _, message = line.removeprefix("ERROR: from element ").partition(": ")
        element = where.rsplit("/", 1)[-1].split(":")[-1]
        detail = None
        rest = stderr_lines[i + 1 : i + 4]
        # rest[1] is the source location ("file.c(123): func (): path:"), rest[2] the detail
        if (
            len(rest) > 2
            and rest[0].startswith("Additional debug info")
            and not rest[2].startswith("ERROR")
        ):
            detail = rest[2].strip()
        text = f"{element}: {message.strip()}"
        return f"{text} ({detail})" if detail else text
    for line in reversed(stderr_lines):
        if line.startswith(("ERROR", "WARNING")):
            return line
    return stderr_lines[-1] if stderr_lines else None
