"""The console script: `migrate`, `users create`, and `serve` (default) as real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.control_api.support import REPO, free_port, wait_until

CLI = str(Path(sys.executable).parent / "vasms-control-api")


async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_migrate_users_create_and_serve(db_url: str) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VASMS_")},
        "VASMS_DATABASE_URL": db_url.replace("+aiosqlite", "").replace("+asyncpg", ""),
        "VASMS_JWT_SECRET": "cli-test-secret-" + "y" * 32,
        "VASMS_HTTP_PORT": str(port),
        "VASMS_LOG_FORMAT": "json",
    }
    code, out = await run(env, "migrate")
    assert code == 0, out
    code, out = await run(
        env,
        "users",
        "create",
        "--username",
        "ops",
        "--password",
        "ops-password",
        "--role",
        "operator",
    )
    assert code == 0 and "created operator ops" in out, out
    code, out = await run(env, "users", "create", "--username", "ops", "--password", "ops-password")
    assert code == 1 and "already exists" in out
    code, out = await run(env, "users", "create", "--username", "x", "--password", "short")
    assert code == 2

    server = await asyncio.create_subprocess_exec(
        CLI,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:

            async def up() -> bool:
                try:
                    return (await c.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(up, 30, 0.2)
            r = await c.post(
                "/api/v2/auth/token", data={"username": "ops", "password": "ops-password"}
            )
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            r = await c.post(
                "/api/v2/streams",
                headers={"authorization": f"Bearer {token}"},
                json={"name": "cli", "source": {"type": "rtp"}},
            )
            assert r.status_code == 201, r.text
    finally:
        server.terminate()
        _, err = await asyncio.wait_for(server.communicate(), 20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM (what process managers expect).
    assert server.returncode in (0, -signal.SIGTERM), err.decode()
    # JSON log lines, one per event, with the ids as keys.
    lines = [line for line in err.decode().splitlines() if '"stream created"' in line]
    assert lines and '"stream_id"' in lines[0], err.decode()[-2000:]
