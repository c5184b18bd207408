"""A real headless Chromium for the e2e tests, driven through playwright-core.

The browser runs in a Node.js subprocess (`browser_driver.mjs`, playwright-core from
`web/node_modules`) that takes one JSON command per line, so the control API served
inside the test's event loop keeps answering while the test waits for the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("browser_driver.mjs")
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = REPO / "web" / "node_modules" / "playwright-core"
WEB_BUILD = REPO / "build" / "web" / "index.html"


def missing_prerequisites() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not CHROMIUM.exists():
        return "Debian chromium is not installed (make setup installs scripts/apt-deps.txt)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not PLAYWRIGHT.exists():
        return "web/node_modules is missing (make web)"
    if not WEB_BUILD.exists():
        return "the web player is not built (make web)"
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium with one page; every method is one round trip to the driver."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(
        cls,
        tmp_path: Path,
        *,
        prefix: Sequence[str] = (),
        chromium_args: Sequence[str] = (),
    ) -> AsyncIterator[Browser]:
        """`prefix` runs the driver under another command (`ip netns exec NS`);
        `chromium_args` are added to the browser's flags."""
        log_path = tmp_path / "chromium-driver.log"
        env = {**os.environ, "VASMS_E2E_CHROMIUM_ARGS": json.dumps(list(chromium_args))}
        with log_path.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *prefix,
                "node",
                str(DRIVER),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=REPO,
                limit=2**24,
            )
        browser = cls(process, log_path)
        try:
            async with asyncio.timeout(60):
                hello = await browser._read()
            if not hello.get("ok"):
                raise BrowserError(f"driver did not start: {hello}")
            yield browser
        finally:
            await browser.close()

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise BrowserError(f"browser driver exited:\n{self.log()}")
        return dict(json.loads(line))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def call(self, cmd: str, within: float = 60.0, **args: Any) -> Any:
        """Sends one command; its answer must come `within` seconds."""
        assert self.process.stdin is not None
        async with self._lock:
            msg_id = next(self._ids)
            self.process.stdin.write(
                json.dumps({"id": msg_id, "cmd": cmd, **args}).encode() + b"\n"
            )
            await self.process.stdin.drain()
            async with asyncio.timeout(within):
                answer = await self._read()
        if answer.get("id") != msg_id:
            raise BrowserError(f"answer out of order: {answer}")
        if not answer.get("ok"):
            raise BrowserError(f"{cmd} failed: {answer.get('error')}")
        return answer.get("value")

    async def goto(self, url: str) -> None:
        await self.call("goto", url=url)

    async def eval(self, expr: str) -> Any:
        """Evaluates a JavaScript expression in the page (awaited if it is a promise)."""
        return await self.call("eval", expr=expr)

    async def wait_for(self, expr: str, within: float = 30.0) -> Any:
        """Waits until `expr` is truthy in the page; returns its value."""
        return await self.call("wait_for", within=within + 5, expr=expr, timeout_ms=within * 1000)

    async def fill(self, selector: str, value: str) -> None:
        await self.call("fill", selector=selector, value=value)

    async def click(self, selector: str) -> None:
        await self.call("click", selector=selector)

    async def screenshot(self, selector: str, path: Path, style: str = "") -> Path:
        await self.call("screenshot", selector=selector, path=str(path), style=style)
        return path

    async def events(self) -> dict[str, list[str]]:
        return dict(await self.call("events"))

    async def version(self) -> str:
        return str(await self.call("version"))

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("close", within=15)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
