"""A real `vasms-media-node` process for tests, and an authenticated gRPC client to it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(rb"listening on (\S+):(\d+)")


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class NodeProcess:
    process: asyncio.subprocess.Process
    address: str
    token: str
    node_id: str
    output: list[str] = field(default_factory=list)
    _drain_task: asyncio.Task[None] | None = None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    def channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.address)

    async def stop(self) -> int:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain_task is not None:
            await self._drain_task
        return self.process.returncode or 0


async def start_node(workers: int = 2, **env: str) -> NodeProcess:
    """Starts the daemon on a free port; returns once it prints that it is listening."""
    token = secrets.token_hex(16)
    node_id = env.pop("VASMS_NODE_ID", f"test-node-{secrets.token_hex(3)}")
    environment = dict(
        os.environ,
        VASMS_NODE_GRPC_LISTEN=f"127.0.0.1:{free_tcp_port()}",
        VASMS_NODE_TOKEN=token,
        VASMS_NODE_ID=node_id,
        VASMS_WORKERS=str(workers),
        **env,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "media_node.server",
        "--log-level",
        "INFO",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=environment,
        cwd=str(REPO),
    )
    node = NodeProcess(process, "", token, node_id)
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while True:
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("media node exited:\n" + "".join(node.output))
            node.output.append(line.decode(errors="replace"))
            match = _LISTENING.search(line)
            if match:
                node.address = f"{match.group(1).decode()}:{match.group(2).decode()}"
                break

    async def drain_output() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            node.output.append(line.decode(errors="replace"))

    node._drain_task = asyncio.ensure_future(drain_output())
    return node


class NodeClient:
    """The MediaNode stub with the node token attached to every call."""

    def __init__(self, node: NodeProcess) -> None:
        self.channel = node.channel()
        self.stub = pb_grpc.MediaNodeStub(self.channel)
        self.metadata = node.metadata

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.stub, name)

        def call(request: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("metadata", self.metadata)
            kwargs.setdefault("timeout", 20)
            return method(request, **kwargs)

        return call

    async def close(self) -> None:
        await self.channel.close()

    async def wait_status(self, stream_id: str, status: int, within: float = 30.0) -> pb.StreamInfo:
        """Waits (through WatchEvents) until the stream reaches ``status``."""
        call = self.stub.WatchEvents(pb.WatchEventsRequest(), metadata=self.metadata)
        try:
            async with asyncio.timeout(within):
                async for event in call:
                    if event.WhichOneof("event") != "stream_status":
                        continue
                    info = event.stream_status.stream
                    if info.stream_id == stream_id and info.status == status:
                        return info
        finally:
            call.cancel()
        raise AssertionError("event stream ended")


@contextlib.asynccontextmanager
async def running_node(**kwargs: Any) -> AsyncIterator[tuple[NodeProcess, NodeClient]]:
    node = await start_node(**kwargs)
    client = NodeClient(node)
    try:
        yield node, client
    finally:
        await client.close()
        await node.stop()
