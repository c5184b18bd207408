"""A throw-away VAS-MS (one media node + one control API) for load benches.

Real processes, as in production: `python -m media_node.server` and
`vasms-control-api serve` on free loopback ports, SQLite in a temporary
directory. Their pids are exposed so a bench can read their CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


@dataclass
class Stack:
    base: str
    token: str
    node_pid: int
    api_pid: int
    http: httpx.AsyncClient

    def worker_pids(self) -> list[int]:
        return [p for p in children(self.node_pid) if process_name(p) == "mediasoup-worke"]

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(
            method,
            f"{self.base}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        if response.is_error:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def live_stream(self, source: dict[str, Any], within: float = 30.0) -> dict[str, Any]:
        """Creates and starts a stream; returns it once live (rtp: once started)."""
        stream = await self.request(
            "POST", "/api/v2/streams", json={"name": "bench", "source": source}
        )
        await self.request("POST", f"/api/v2/streams/{stream['id']}/start")
        wanted = ("live",) if source["type"] != "rtp" else ("live", "starting", "error")
        async with asyncio.timeout(within):
            while True:
                stream = await self.request("GET", f"/api/v2/streams/{stream['id']}")
                if stream["status"] in wanted and (
                    source["type"] != "rtp" or stream.get("rtp_endpoint")
                ):
                    return stream
                await asyncio.sleep(0.2)  # status mirrored from node events; poll the API

    async def until_live(self, stream_id: str, within: float = 30.0) -> None:
        """Waits for a started stream to be live (an rtp stream: once its sender sends)."""
        async with asyncio.timeout(within):
            while True:
                stream = await self.request("GET", f"/api/v2/streams/{stream_id}")
                if stream["status"] == "live":
                    return
                await asyncio.sleep(0.2)  # status mirrored from node events; poll the API


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def running_stack(workers: int, **node_env: str) -> AsyncIterator[Stack]:
    """Node with `workers` workers (extra VASMS_* for the node in node_env) + control API."""
    with tempfile.TemporaryDirectory(prefix="vasms-bench-") as tmp:
        node_listen = f"127.0.0.1:{free_port()}"
        http_port = free_port()
        password = secrets.token_urlsafe(12)
        common = dict(os.environ, VASMS_NODE_TOKEN=secrets.token_hex(16))
        node_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "media_node.server",
            env=dict(
                common,
                VASMS_NODE_GRPC_LISTEN=node_listen,
                VASMS_NODE_ID=f"bench-{secrets.token_hex(3)}",
                VASMS_WORKERS=str(workers),
                VASMS_RTC_ENABLE_TCP="false",
                VASMS_CONNECT_TIMEOUT_S="60",
                **node_env,
            ),
            cwd=str(REPO),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        api_process = await asyncio.create_subprocess_exec(
            str(BIN / "vasms-control-api"),
            "serve",
            env=dict(
                common,
                VASMS_HTTP_HOST="127.0.0.1",
                VASMS_HTTP_PORT=str(http_port),
                VASMS_MEDIA_NODES=node_listen,
                VASMS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/vasms.db",
                VASMS_JWT_SECRET=secrets.token_hex(32),
                VASMS_ADMIN_USERNAME="bench",
                VASMS_ADMIN_PASSWORD=password,
                # One bench user stands for every viewer: lift the per-user limits.
                VASMS_MAX_CONSUMERS_PER_USER="1000000",
                VASMS_CONSUME_RATE_PER_USER_S="1000000",
                VASMS_CONSUME_BURST_PER_USER="1000000",
                VASMS_LOG_LEVEL="WARNING",
            ),
            cwd=str(REPO),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{http_port}"
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                async with asyncio.timeout(60):
                    while True:
                        if (
                            api_process.returncode is not None
                            or node_process.returncode is not None
                        ):
                            raise RuntimeError("the node or the control API exited at start-up")
                        with contextlib.suppress(httpx.TransportError):
                            if (await http.get(f"{base}/readyz")).status_code == 200:
                                break
                        await asyncio.sleep(0.25)  # another process' readiness: poll
                token = (
                    await http.post(
                        f"{base}/api/v2/auth/token",
                        json={"username": "bench", "password": password},
                    )
                ).json()["access_token"]
                yield Stack(base, token, node_process.pid, api_process.pid, http)
        finally:
            await _stop(api_process)
            await _stop(node_process)
