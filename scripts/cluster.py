"""`make cluster`: a PostgreSQL-backed cluster on one machine.

Two control API replicas (ports 8080 and 8081) on one PostgreSQL database and
three media nodes (gRPC 50061-50063, RTC port ranges 41000-, 42000-, 43000-),
each replica driving every node: the topology of a real deployment, so
failover can be tried by killing a node. Uses the PostgreSQL server at
`VASMS_CLUSTER_PG` (default postgresql://postgres@127.0.0.1:5432/postgres) and
a database of its own (`VASMS_CLUSTER_DB`, default `vasms_cluster`), created
if missing; starts nothing when PostgreSQL cannot be reached. Secrets come from
var/local.env like `make run`. Node gRPC runs over mutual TLS with the
certificates `make certs` wrote to var/certs/ (made here if missing). Ctrl-C /
SIGTERM stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_local import BIN, _local_secrets, _port_free, _spawn, _wait_ready

HOST = "127.0.0.1"
PG_DSN = os.environ.get("VASMS_CLUSTER_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("VASMS_CLUSTER_DB", "vasms_cluster")
API_PORT = int(os.environ.get("VASMS_CLUSTER_API_PORT", "8080"))  # replicas: this and next
NODE_PORT = int(os.environ.get("VASMS_CLUSTER_NODE_PORT", "50061"))  # nodes: this, +1, +2
RTC_BASE = int(os.environ.get("VASMS_CLUSTER_RTC_BASE", "41000"))  # node i: base + 1000*i
APIS, NODES = 2, 3
CERTS = Path(__file__).resolve().parents[1] / "var" / "certs"


def tls_env() -> dict[str, str]:
    """mTLS settings of nodes and replicas from var/certs/ (`make certs` when missing)."""
    if not (CERTS / "client-key.pem").exists():
        subprocess.run([sys.executable, str(Path(__file__).with_name("certs.py"))], check=True)
    return {
        "VASMS_NODE_TLS_CERT": str(CERTS / "node.pem"),
        "VASMS_NODE_TLS_KEY": str(CERTS / "node-key.pem"),
        "VASMS_NODE_TLS_CLIENT_CA": str(CERTS / "ca.pem"),
        "VASMS_NODE_TLS_CA": str(CERTS / "ca.pem"),
        "VASMS_NODE_TLS_CLIENT_CERT": str(CERTS / "client.pem"),
        "VASMS_NODE_TLS_CLIENT_KEY": str(CERTS / "client-key.pem"),
    }


async def ensure_database() -> str:
    """Creates the cluster database if missing; returns its asyncpg URL.

    Exits with a message (and starts nothing) when PostgreSQL is unreachable.
    """
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise SystemExit(
            f"cannot reach PostgreSQL at {PG_DSN} ({exc}); start it or set VASMS_CLUSTER_PG"
        ) from None
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            print(f"created database {DB_NAME}", flush=True)
    finally:
        await conn.close()
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{DB_NAME}"


def node_env(base: dict[str, str], i: int) -> dict[str, str]:
    rtc_min = RTC_BASE + 1000 * i
    return dict(
        base,
        VASMS_NODE_ID=f"node-{i + 1}",
        VASMS_NODE_GRPC_LISTEN=f"{HOST}:{NODE_PORT + i}",
        VASMS_RTC_MIN_PORT=str(rtc_min),
        VASMS_RTC_MAX_PORT=str(rtc_min + 999),
    )


async def stop_all(processes: list[asyncio.subprocess.Process]) -> None:
    """SIGINT to every process (replicas first), then SIGKILL what is left after 15 s."""
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def main() -> int:
    ports = [API_PORT + i for i in range(APIS)] + [NODE_PORT + i for i in range(NODES)]
    busy = [p for p in ports if not _port_free(HOST, p)]
    if busy:
        raise SystemExit(f"ports {busy} are in use: is a cluster already running?")
    db_url = await ensure_database()
    nodes = ",".join(f"{HOST}:{NODE_PORT + i}" for i in range(NODES))
    env = dict(
        os.environ,
        **_local_secrets(),
        **tls_env(),
        VASMS_DATABASE_URL=db_url,
        VASMS_MEDIA_NODES=nodes,
        VASMS_HTTP_HOST=HOST,
    )
    processes: list[asyncio.subprocess.Process] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for i in range(NODES):
            argv = [str(BIN / "vasms-media-node")]
            processes.append(await _spawn(f"node-{i + 1}", argv, node_env(env, i)))
        # The first replica migrates the schema; the second starts once it is ready.
        apis: list[asyncio.subprocess.Process] = []
        bases = [f"http://{HOST}:{API_PORT + i}" for i in range(APIS)]
        async with httpx.AsyncClient(timeout=10) as http:
            for i, base in enumerate(bases):
                api_env = dict(env, VASMS_HTTP_PORT=str(API_PORT + i))
                argv = [str(BIN / "vasms-control-api"), "serve"]
                apis.append(await _spawn(f"api-{i + 1}", argv, api_env))
                processes[:0] = [apis[-1]]
                await _wait_ready(http, base, apis[-1])
        print(
            "\n  VAS-MS cluster is running.\n"
            + "".join(f"  control API {i + 1}: {b}/  docs {b}/docs\n" for i, b in enumerate(bases))
            + "".join(
                f"  media node node-{i + 1}: {HOST}:{NODE_PORT + i} (mTLS)\n" for i in range(NODES)
            )
            + f"  certificates: {CERTS} (grpcurl -cacert ca.pem -cert client.pem "
            "-key client-key.pem)\n" + f"  database: {DB_NAME} on {PG_DSN.rsplit('/', 1)[0]}\n"
            f"  Sign in as {env['VASMS_ADMIN_USERNAME']} / {env['VASMS_ADMIN_PASSWORD']}\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        waiters = {asyncio.ensure_future(stop.wait())}
        waiters |= {asyncio.ensure_future(p.wait()) for p in apis}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    finally:
        await stop_all(processes)
    print("cluster stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
