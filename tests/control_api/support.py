"""Helpers of the control API tests: databases, an in-process server, a media node process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import uvicorn
from fastapi import FastAPI

from control_api.config import Settings
from control_api.main import create_app
from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = os.environ.get("VASMS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Strong secrets, as the API demands outside VASMS_DEV; one per test run, so
# every replica a test starts shares them.
ADMIN = ("admin", "adm-" + secrets.token_urlsafe(12))
JWT_SECRET = secrets.token_urlsafe(48)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL of `kind` (sqlite | postgresql), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vasms.db'}"
        return
    name = f"vasms_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "jwt_secret": JWT_SECRET,
        "admin_username": ADMIN[0],
        "admin_password": ADMIN[1],
        "media_nodes": [],
        "node_poll_interval_s": 0.5,
        "node_stale_after_s": 3.0,
        "restart_backoff_s": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class ApiServer:
    """The control API served by uvicorn inside the test's event loop."""

    app: FastAPI
    base_url: str
    server: uvicorn.Server
    task: asyncio.Task[None]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1/ws"

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    async def token(self, username: str, password: str) -> str:
        async with self.client() as c:
            body = {"username": username, "password": password}
            r = await c.post("/api/v2/auth/token", json=body)
            r.raise_for_status()
            return str(r.json()["access_token"])

    async def user(self, username: str, role: str, password: str = "password-123") -> str:
        """Creates a user through the admin endpoint; returns its token."""
        admin = await self.token(*ADMIN)
        async with self.client(admin) as c:
            r = await c.post(
                "/api/v2/users", json={"username": username, "password": password, "role": role}
            )
            assert r.status_code == 201, r.text
        return await self.token(username, password)


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, *, sync: bool = True, host: str = "127.0.0.1"
) -> AsyncIterator[ApiServer]:
    """`host`: another address of this machine (e.g. a test's own veth address)."""
    app = create_app(settings, sync=sync)
    port = free_port()
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", ws_max_size=2**20
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("control API did not start")
            await asyncio.sleep(0.02)
    try:
        yield ApiServer(app, f"http://{host}:{port}", server, task)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


# ---------------------------------------------------------------------------
# The media node daemon, as a subprocess (.venv/bin/vasms-media-node)


@dataclass
class Node:
    process: asyncio.subprocess.Process
    address: str
    token: str
    node_id: str
    log_path: Path
    channel: grpc.aio.Channel | None = None
    credentials: grpc.ChannelCredentials | None = None  # TLS (tests/support/certs.py)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    @property
    def stub(self) -> pb_grpc.MediaNodeStub:
        if self.channel is None:
            self.channel = (
                grpc.aio.insecure_channel(self.address)
                if self.credentials is None
                else grpc.aio.secure_channel(self.address, self.credentials)
            )
        return pb_grpc.MediaNodeStub(self.channel)

    async def call(self, method: str, request: Any) -> Any:
        return await getattr(self.stub, method)(request, metadata=self.metadata, timeout=20)

    async def dump(self) -> pb.NodeDump:
        return await self.call("Dump", pb.DumpRequest())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def node_binary() -> list[str]:
    script = Path(sys.executable).parent / "vasms-media-node"
    return [str(script)] if script.exists() else [sys.executable, "-m", "media_node.server"]


async def start_node(
    tmp_path: Path,
    workers: int = 1,
    address: str | None = None,
    node_id: str | None = None,
    token: str | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    **env: str,
) -> Node:
    """Starts the daemon (on a free port unless given); returns once GetLoad answers."""
    token = token or secrets.token_hex(16)
    node_id = node_id or f"node-{secrets.token_hex(3)}"
    address = address or f"127.0.0.1:{free_port()}"
    log_path = tmp_path / f"{node_id}-{secrets.token_hex(2)}.log"
    environment = {
        **os.environ,
        "VASMS_NODE_GRPC_LISTEN": address,
        "VASMS_NODE_TOKEN": token,
        "VASMS_NODE_ID": node_id,
        "VASMS_WORKERS": str(workers),
        **env,
    }
    with log_path.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *node_binary(), stdout=out, stderr=asyncio.subprocess.STDOUT, env=environment, cwd=REPO
        )
    node = Node(process, address, token, node_id, log_path, credentials=credentials)
    async with asyncio.timeout(45):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"media node exited {process.returncode}:\n{node.log()}")
            try:
                await node.stub.GetLoad(pb.GetLoadRequest(), metadata=node.metadata, timeout=1)
                return node
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)


async def wait_until(predicate: Any, within: float = 30.0, interval: float = 0.1) -> Any:
    """Polls an async predicate until it returns something truthy."""
    async with asyncio.timeout(within):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(interval)
