"""One run of an ingest child process (``runner.py``), and the restart backoff.

The process is started with asyncio in its own session (process group). Its
stdin is a pipe: the configuration goes down as one JSON line and the pipe then
stays open for the process's life; only this process holds its write end, so
when the node dies (even by SIGKILL) the child sees EOF and exits, and it has
also asked the kernel for SIGKILL on its parent's death (``PR_SET_PDEATHSIG``).
Its stdout carries JSON events (``built``, ``camera``, ``video``, ``error``,
``eos``), its stderr GStreamer's and Python's own messages; both are read as
they come (a full pipe would stall GStreamer), and it is always reaped.
``kill()`` SIGKILLs the whole group: a live RTP sender has nothing worth flushing.

``exit_reason()`` turns the run's end into one sentence a person understands,
with GStreamer's own words after it, never alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_log = logging.getLogger(__name__)

_TAIL_LINES = 40
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")
_DETAIL_MAX = 300

EventCallback = Callable[[dict[str, Any]], object]


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
    """A started ingest runner whose events are parsed and whose output is logged."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        name: str,
        on_event: EventCallback | None = None,
    ) -> None:
        self._process = process
        self.name = name
        self.pid = process.pid
        self._on_event = on_event
        self.error: dict[str, Any] | None = None
        """The run's first ``error`` event."""
        self.eos = False
        self._stderr_tail: deque[str] = deque(maxlen=_TAIL_LINES)
        assert process.stdout is not None and process.stderr is not None
        self._drains = [
            asyncio.create_task(self._read_events(process.stdout)),
            asyncio.create_task(self._drain(process.stderr)),
        ]

    @classmethod
    async def spawn(
        cls,
        argv: list[str],
        config: dict[str, Any],
        name: str,
        on_event: EventCallback | None = None,
        env: dict[str, str] | None = None,
    ) -> IngestProcess:
        """Starts ``argv`` and hands it ``config``; raises OSError when it cannot be
        executed (e.g. not installed)."""
        environment = dict(os.environ, VASMS_INGEST_PARENT_PID=str(os.getpid()), **(env or {}))
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=environment,
        )
        assert process.stdin is not None
        # Kept open (never closed, never written again): its EOF is the node's death.
        process.stdin.write(json.dumps(config).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()
        _log.info("%s: started pid %d (%s)", name, process.pid, " ".join(argv))
        return cls(process, name, on_event)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def _read_events(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the 64 KiB limit: keep reading past it
                continue
            if not raw:
                return
            try:
                event = json.loads(raw)
            except ValueError:
                _log.debug(
                    "%s [pid %d]: %s", self.name, self.pid, redact(raw.decode(errors="replace"))
                )
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "error" and self.error is None:
                self.error = event
            elif kind == "eos":
                self.eos = True
            _log.info("%s [pid %d]: %s", self.name, self.pid, redact(json.dumps(event)))
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:
                    _log.exception("%s: event callback failed", self.name)

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                continue
            if not raw:
                return
            line = redact(raw.decode(errors="replace").rstrip())
            if line:
                self._stderr_tail.append(line)
                _log.warning("%s [pid %d]: %s", self.name, self.pid, line)

    async def wait(self) -> int:
        """Waits for the exit and for both pipes to be read to their end."""
        code = await self._process.wait()
        await asyncio.gather(*self._drains, return_exceptions=True)
        if self._process.stdin is not None:
            self._process.stdin.close()
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
        error = self.error or {}
        text = f"{error.get('message', '')} {error.get('debug', '')}"
        return "Address already in use" in text or any(
            "Address already in use" in line for line in self._stderr_tail
        )

    def exit_reason(self) -> str:
        """A one-line human reason for the (finished) run."""
        code = self._process.returncode
        if code is None:
            return "ingest process still running"
        if self.error is not None:
            return error_reason(self.error)
        if code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            return f"ingest process killed by {signame}"
        if self.eos:
            return "source ended (end of stream)"
        tail = self._stderr_tail[-1] if self._stderr_tail else ""
        return f"ingest process exited with code {code}" + (f": {tail}" if tail else "")


def error_reason(error: dict[str, Any]) -> str:
    """A person's sentence for a runner ``error`` event, GStreamer's words after it."""
    if error.get("reason"):
        return redact(str(error["reason"]))[: 2 * _DETAIL_MAX]
    element = str(error.get("element", ""))
    message = str(error.get("message", "")).strip()
    debug = str(error.get("debug", "")).strip().splitlines()
    detail = f"{element}: {message}" if element else message
    if debug:
        detail += f" ({debug[-1].strip()[:_DETAIL_MAX]})"
    detail = redact(detail)
    text = f"{message} {' '.join(debug)}"
    if "Address already in use" in text:
        human = "an ingest UDP port is taken"
    elif element.startswith("rtspsrc") and ("401" in text or "Unauthorized" in text):
        human = "the camera refused the user name or password"
    elif element.startswith("rtspsrc") and ("404" in text or "Not Found" in text):
        human = "the camera has no stream at that URL path"
    elif element.startswith("rtspsrc") and "Could not open resource" in text:
        human = "cannot connect to the camera"
    elif element.startswith("rtspsrc"):
        human = "the camera connection failed"
    else:
        human = "the ingest pipeline failed"
    return f"{human} (GStreamer: {detail})"
