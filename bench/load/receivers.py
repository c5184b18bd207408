"""One pion receiver process (bench/load/recv) driven over its stdin/stdout JSON lines.

A process holds many receivers: their goroutines spread over the cores, and the
process' CPU time (from /proc) is the load generator's own cost, reported next
to the server's so a bench can tell the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.build import receiver_binary

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ReceiverStats:
    """One receiver's counters since it was added (loss as RFC 3550: expected - received)."""

    id: str
    state: str
    packets: int
    bytes: int
    expected: int
    lost: int
    connected_after_s: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReceiverStats:
        return cls(
            id=data["id"],
            state=data["state"],
            packets=data["packets"],
            bytes=data["bytes"],
            expected=data["expected"],
            lost=max(0, data["lost"]),
            connected_after_s=data["connected_after_s"],
        )


class ReceiverProcess:
    """Start with ``await ReceiverProcess.start()``; ``close()`` ends it and its receivers."""

    def __init__(self, process: asyncio.subprocess.Process, fingerprint: str) -> None:
        self.process = process
        algorithm, value = fingerprint.split(" ", 1)
        self.dtls_parameters = {
            "role": "client",
            "fingerprints": [{"algorithm": algorithm, "value": value}],
        }
        self._answers: dict[str, asyncio.Future[str]] = {}
        self._removed: dict[str, asyncio.Future[None]] = {}
        self._stats: asyncio.Future[list[ReceiverStats]] | None = None
        self._stats_lock = asyncio.Lock()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls, kind: str = "pion", allow: str = "127.0.0.0/8", env: dict[str, str] | None = None
    ) -> ReceiverProcess:
        """kind: "pion" (the tool) or "aiortc" (the candidate it was measured against);
        allow: networks the receivers' own ICE candidates may use (pion); env: extra
        environment (e.g. GOMAXPROCS, GOGC)."""
        if kind == "pion":
            argv = [str(await asyncio.to_thread(receiver_binary)), "-allow", allow]
        else:
            argv = [sys.executable, str(Path(__file__).with_name("aiortc_recv.py"))]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=64 * 1024 * 1024,
            env=dict(os.environ, **(env or {})),
        )
        assert process.stdout is not None
        ready = json.loads(await process.stdout.readline())
        return cls(process, ready["fingerprint"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """utime + stime of the process so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            event, rid = message.get("ev"), message.get("id", "")
            if event == "answer" and rid in self._answers:
                self._answers.pop(rid).set_result(message["sdp"])
            elif event == "error" and rid in self._answers:
                self._answers.pop(rid).set_exception(RuntimeError(message["error"]))
            elif event == "removed" and rid in self._removed:
                self._removed.pop(rid).set_result(None)
            elif event == "stats" and self._stats is not None and not self._stats.done():
                self._stats.set_result([ReceiverStats.from_json(v) for v in message["viewers"]])
        error = RuntimeError(f"receiver process {self.pid} exited")
        for future in [*self._answers.values(), *self._removed.values(), self._stats]:
            if future is not None and not future.done():
                future.set_exception(error)

    async def add(self, receiver_id: str, offer: str) -> str:
        """Adds a receiver for an SDP offer; returns its answer (ICE gathered)."""
        future = asyncio.get_running_loop().create_future()
        self._answers[receiver_id] = future
        self._send({"op": "add", "id": receiver_id, "offer": offer})
        return await future

    async def remove(self, receiver_id: str) -> None:
        future = asyncio.get_running_loop().create_future()
        self._removed[receiver_id] = future
        self._send({"op": "remove", "id": receiver_id})
        await future

    async def stats(self) -> list[ReceiverStats]:
        async with self._stats_lock:
            self._stats = asyncio.get_running_loop().create_future()
            self._send({"op": "stats"})
            return await self._stats

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send({"op": "quit"})
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
