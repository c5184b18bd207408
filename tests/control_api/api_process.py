"""The control API as a real process (`vasms-control-api serve`), for perimeter tests.

The in-process server of `support.serve` shares the test's event loop; the
tests of start-up refusal, throttles, revocation and database outages want
the product exactly as operators run it: its own process, env-only settings,
uvicorn's own socket handling (peer addresses), exit codes and stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.control_api.support import ADMIN, JWT_SECRET, REPO, free_port

CLI = str(Path(sys.executable).parent / "vasms-control-api")


def api_env(db_url: str, **values: str) -> dict[str, str]:
    """A clean VASMS_* environment with strong secrets; `values` override (`None`-free)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VASMS_")}
    env.update(
        VASMS_DATABASE_URL=db_url,
        VASMS_JWT_SECRET=JWT_SECRET,
        VASMS_ADMIN_USERNAME=ADMIN[0],
        VASMS_ADMIN_PASSWORD=ADMIN[1],
        VASMS_NODE_POLL_INTERVAL_S="0.5",
        VASMS_NODE_STALE_AFTER_S="3",
        VASMS_LOG_LEVEL="WARNING",
    )
    env.update(values)
    return env


async def run_to_exit(env: dict[str, str], *args: str, within: float = 60) -> tuple[int, str, str]:
    """Runs the CLI until it exits; returns (code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), within)
    return process.returncode if process.returncode is not None else -1, out.decode(), err.decode()


@dataclass
class ApiProcess:
    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1/ws"

    def client(self, token: str | None = None, source: str | None = None) -> httpx.AsyncClient:
        """A client; `source` binds it to a local address (127.0.0.x) as its peer address."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=30, transport=transport
        )

    async def token(self, username: str, password: str, source: str | None = None) -> str:
        async with self.client(source=source) as c:
            r = await c.post(
                "/api/v2/auth/token", json={"username": username, "password": password}
            )
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])

    async def user(self, username: str, role: str, password: str = "password-123") -> str:
        """Creates a user through the admin endpoint; returns its id."""
        admin = await self.token(*ADMIN)
        async with self.client(admin) as c:
            body = {"username": username, "password": password, "role": role}
            r = await c.post("/api/v2/users", json=body)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    async def metric(self, line_prefix: str) -> float:
        """The value of the first /metrics sample starting with `line_prefix` (0 if absent)."""
        async with self.client() as c:
            text = (await c.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.asynccontextmanager
async def api_process(env: dict[str, str], log_dir: Path) -> AsyncIterator[ApiProcess]:
    """Serves the API on a free port until the block ends (SIGTERM, then SIGKILL)."""
    port = free_port()
    env = dict(env, VASMS_HTTP_HOST="127.0.0.1", VASMS_HTTP_PORT=str(port))
    log_path = log_dir / f"control-api-{port}.log"
    with log_path.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            CLI, "serve", env=env, cwd=REPO, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    api = ApiProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=5) as c, asyncio.timeout(60):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"control API exited {process.returncode}:\n{api.log()}")
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)  # another process's readiness has no event to await
        yield api
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
