"""`scripts/cluster.py` (`make cluster`): starts the cluster, prints it, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import sys

import asyncpg
import httpx
import pytest

from tests.control_api.conftest import _postgres_available
from tests.control_api.support import PG_ADMIN_DSN, REPO, free_port, wait_until

SCRIPT = str(REPO / "scripts" / "cluster.py")


def _consecutive_free(count: int) -> int:
    """A base port with `count` free ports from it (best effort: checked, not reserved)."""
    for _ in range(50):
        base = random.randint(20000, 30000)
        try:
            socks = [socket.socket() for _ in range(count)]
            for i, s in enumerate(socks):
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


async def test_refuses_to_start_without_postgres() -> None:
    env = dict(
        os.environ,
        VASMS_CLUSTER_PG=f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
        VASMS_CLUSTER_API_PORT=str(_consecutive_free(2)),
        VASMS_CLUSTER_NODE_PORT=str(_consecutive_free(3)),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert b"cannot reach PostgreSQL" in out
    assert b"[node-" not in out and b"[api-" not in out  # started nothing


async def test_starts_two_apis_three_nodes_and_stops_on_sigterm() -> None:
    if not await _postgres_available():
        pytest.fail("PostgreSQL not reachable at 127.0.0.1:5432")
    api_port, db = _consecutive_free(2), f"vasms_cluster_test_{secrets.token_hex(4)}"
    env = dict(
        os.environ,
        VASMS_CLUSTER_PG=PG_ADMIN_DSN,
        VASMS_CLUSTER_DB=db,
        VASMS_CLUSTER_API_PORT=str(api_port),
        VASMS_CLUSTER_NODE_PORT=str(_consecutive_free(3)),
        VASMS_CLUSTER_RTC_BASE=str(random.randrange(30000, 36000, 1000)),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=str(REPO),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(90):
            while "Ctrl-C stops everything" not in (
                line := (await proc.stdout.readline()).decode()
            ):
                assert line, "cluster.py exited:\n" + "".join(lines)
                lines.append(line)
        text = "".join(lines)
        assert (
            f"http://127.0.0.1:{api_port}/" in text and f"http://127.0.0.1:{api_port + 1}/" in text
        )
        assert "Sign in as " in text
        assert text.count("(mTLS)") == 3  # node gRPC over mutual TLS (var/certs/)
        async with httpx.AsyncClient(timeout=10) as http:
            for port in (api_port, api_port + 1):

                async def reachable(port: int = port) -> bool:
                    ready = (await http.get(f"http://127.0.0.1:{port}/readyz")).json()
                    assert len(ready["nodes"]) == 3
                    return all(n["reachable"] for n in ready["nodes"])

                await wait_until(reachable, within=20, interval=0.5)
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0
        assert b"cluster stopped" in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await conn.close()
