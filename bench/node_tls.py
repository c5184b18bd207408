"""What mutual TLS costs on node gRPC: plaintext vs mTLS, side by side in one run.

Two `vasms-media-node` processes on loopback, identical but for the listener (one
plaintext, one with the `scripts/certs.py` certificates and client certificates
required). For each: unary `GetLoad` latency (p50/p99) sequentially and with 20
concurrent callers on one channel (calls/s), and the cost of a new channel (TCP +
HTTP/2, plus the TLS handshake with mTLS) until its first answer. Prints the mTLS /
plaintext ratios. Reused channels (what the control API does) pay the handshake once.

    .venv/bin/python bench/node_tls.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from protos import media_node_pb2 as pb  # noqa: E402
from protos import media_node_pb2_grpc as pb_grpc  # noqa: E402

BIN = Path(sys.executable).parent
TOKEN = secrets.token_hex(16)
METADATA = (("authorization", f"Bearer {TOKEN}"),)
HEADERS = ("seq p50", "seq p99", "x20 p50", "x20 p99", "calls/s", "connect")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def start_node(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    address = f"127.0.0.1:{free_port()}"
    process = await asyncio.create_subprocess_exec(
        str(BIN / "vasms-media-node"),
        env={
            **os.environ,
            "VASMS_NODE_GRPC_LISTEN": address,
            "VASMS_NODE_TOKEN": TOKEN,
            "VASMS_WORKERS": "1",
            **env,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return process, address


def make_channel(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    if credentials is None:
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, credentials)


async def wait_ready(address: str, credentials: grpc.ChannelCredentials | None) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with make_channel(address, credentials) as channel:
                    await pb_grpc.MediaNodeStub(channel).GetLoad(
                        pb.GetLoadRequest(), metadata=METADATA, timeout=1
                    )
                return
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(
    address: str, credentials: grpc.ChannelCredentials | None, calls: int
) -> dict[str, float]:
    async with make_channel(address, credentials) as channel:
        stub = pb_grpc.MediaNodeStub(channel)

        async def one() -> object:
            return await stub.GetLoad(pb.GetLoadRequest(), metadata=METADATA, timeout=10)

        for _ in range(50):  # warm up
            await one()
        sequential = [await timed(one) for _ in range(calls)]
        concurrent: list[float] = []
        started = time.perf_counter()

        async def caller() -> None:
            for _ in range(calls // 20):
                concurrent.append(await timed(one))

        await asyncio.gather(*(caller() for _ in range(20)))
        rate = len(concurrent) / (time.perf_counter() - started)
    connects = []
    for _ in range(50):

        async def first_call() -> None:
            async with make_channel(address, credentials) as fresh:
                await pb_grpc.MediaNodeStub(fresh).GetLoad(
                    pb.GetLoadRequest(), metadata=METADATA, timeout=10
                )

        connects.append(await timed(first_call))
    return {
        "seq_p50": statistics.median(sequential),
        "seq_p99": percentile(sequential, 0.99),
        "conc_p50": statistics.median(concurrent),
        "conc_p99": percentile(concurrent, 0.99),
        "calls_s": rate,
        "connect_p50": statistics.median(connects),
    }


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        certs = Path(tmp)
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(REPO / "scripts" / "certs.py"), "--out", tmp],
            check=True,
            capture_output=True,
        )
        tls_env = {
            "VASMS_NODE_TLS_CERT": str(certs / "node.pem"),
            "VASMS_NODE_TLS_KEY": str(certs / "node-key.pem"),
            "VASMS_NODE_TLS_CLIENT_CA": str(certs / "ca.pem"),
        }
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(certs / "ca.pem").read_bytes(),
            private_key=(certs / "client-key.pem").read_bytes(),
            certificate_chain=(certs / "client.pem").read_bytes(),
        )
        plain_proc, plain_addr = await start_node({})
        tls_proc, tls_addr = await start_node(tls_env)
        try:
            await wait_ready(plain_addr, None)
            await wait_ready(tls_addr, credentials)
            plain = await measure(plain_addr, None, calls)
            mtls = await measure(tls_addr, credentials, calls)
        finally:
            for process in (plain_proc, tls_proc):
                process.terminate()
                await process.wait()
    print(f"GetLoad over one reused channel, {calls} calls each (ms)")
    print(f"{'':12}" + "".join(f"{h:>9}" for h in HEADERS))
    for name, row in (("plaintext", plain), ("mTLS", mtls)):
        print(
            f"{name:12}{row['seq_p50']:9.3f}{row['seq_p99']:9.3f}{row['conc_p50']:9.3f}"
            f"{row['conc_p99']:9.3f}{row['calls_s']:9.0f}{row['connect_p50']:9.2f}"
        )
    print(
        f"mTLS/plaintext: seq p50 x{mtls['seq_p50'] / plain['seq_p50']:.2f}, "
        f"throughput x{mtls['calls_s'] / plain['calls_s']:.2f}, "
        f"new channel x{mtls['connect_p50'] / plain['connect_p50']:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
