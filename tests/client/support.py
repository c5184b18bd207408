"""Helpers of the client tests: the stack's users and streams, the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.control_api.flows import live_stream, wait_status
from tests.control_api.support import ADMIN, REPO, ApiServer, Node
from vasms_client import VasmsClient

VIEWER = ("vic", "vic-password-1")
# A resolution that is not the node's default (640x360), so a snapshot at this size shows
# the client honours the stream's own resolution.
PATTERN = {
    "name": "demo",
    "source": {"type": "test_pattern", "width": 424, "height": 240, "fps": 30},
}


@dataclass
class Stack:
    api: ApiServer
    node: Node
    admin_token: str

    @classmethod
    async def create(cls, api: ApiServer, node: Node) -> Stack:
        await api.user(VIEWER[0], "viewer", VIEWER[1])
        return cls(api, node, await api.token(*ADMIN))

    @property
    def url(self) -> str:
        return self.api.base_url

    def viewer_client(self, **kwargs: Any) -> VasmsClient:
        """A client logged in as the viewer user (viewers may read and consume only)."""
        return VasmsClient(self.url, username=VIEWER[0], password=VIEWER[1], **kwargs)

    def admin_client(self) -> VasmsClient:
        return VasmsClient(self.url, token=self.admin_token)

    async def demo_stream(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A live test-pattern stream (the demo stream of `make run`)."""
        return await live_stream(self.api, self.admin_token, body or PATTERN)

    async def stop(self, stream_id: str) -> None:
        async with self.admin_client() as admin:
            await admin.stop_stream(stream_id)
        await wait_status(self.api, self.admin_token, stream_id, "stopped")

    async def start(self, stream_id: str) -> None:
        async with self.admin_client() as admin:
            await admin.start_stream(stream_id)
        await wait_status(self.api, self.admin_token, stream_id, "live")

    async def consumers_of(self, client_id: str) -> list[str]:
        """What the node holds for one viewer: its consumers and transports (ground truth)."""
        dump = await self.node.dump()
        return [f"consumer {c.id}" for c in dump.consumers if c.client_id == client_id] + [
            f"transport {t.id}" for t in dump.transports if t.client_id == client_id
        ]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def vasms_watch(*args: str, env: dict[str, str] | None = None, within: float = 90) -> Run:
    """Runs `python -m vasms_client.cli` (what `vasms-watch` runs) without blocking the event
    loop, which also serves the API the command talks to."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("VASMS_") or k == "VASMS_WORKER_BIN"
    }
    environment["PYTHONPATH"] = str(REPO)
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vasms_client.cli",
        *args,
        cwd=REPO,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(f"vasms-watch did not finish:\n{err.decode()}") from None
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def png_pixels(path: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Decodes a PNG with PyAV: width, height and the set of distinct RGB colours."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    data = bytes(plane)
    colours = set()
    for y in range(rgb.height):
        row = data[y * plane.line_size : y * plane.line_size + rgb.width * 3]
        colours.update(zip(row[0::3], row[1::3], row[2::3], strict=True))
    return rgb.width, rgb.height, colours
