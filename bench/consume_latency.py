"""REST V2 consume + DELETE latency of VAS-MS, side by side with its own layers and a Node baseline.

Four systems in one run, on the same worker binary, each doing "consume, then close"
for one live VP8 test-pattern stream with a real viewer's (aiortc) capabilities:

- ``rest``   VAS-MS as `make run` runs it: a `vasms-control-api serve` process (SQLite) and a
             `vasms-media-node` process; POST /api/v2/streams/{id}/consume + DELETE
             /api/v2/consumers/{id} with a bearer token.
- ``node``   the media node's gRPC Consume + CloseConsumer, called directly (no control API).
- ``driver`` the raw driver in this process: create WebRtcTransport (the node's options:
             UDP + TCP, UDP preferred) + consume + close on a router with a producer.
- ``nodejs`` bench/node/consume_server.js: a minimal Node.js HTTP server of the same REST
             contract on mediasoup's official Node lib (JWT check, in-memory state; its
             header says what it leaves out), with the same GStreamer ingest feeding it.

Each level (1, 10, 50 concurrent clients) does ``--requests`` pairs in total; only the
consume is timed for p50/p99, pairs/s counts whole pairs. Also printed: sequential p50 of
`GET /api/v2/streams/{id}` and `GET …/router-capabilities` against a bare FastAPI round trip
(bench/bare_app.py, same uvicorn options), and the ratios the issue's goals name.

    .venv/bin/python bench/consume_latency.py [--requests 200] [--clients 1 10 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402
import jwt  # noqa: E402
from mediasoup_driver import (  # noqa: E402
    ConsumerOptions,
    ListenInfo,
    PlainTransportOptions,
    ProducerOptions,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
    WorkerSettings,
)

from bench.http1 import Http1  # noqa: E402
from bench.paths import WORKER_BIN, node_lib  # noqa: E402
from media_node.ingest.pipelines import RtpTarget, run_config, runner_argv  # noqa: E402
from media_node.ingest.spec import (  # noqa: E402
    IngestSpec,
    producer_rtp_parameters,
    router_media_codecs,
)
from protos import media_node_pb2 as pb  # noqa: E402
from protos import media_node_pb2_grpc as pb_grpc  # noqa: E402
from tests.support.viewer import Viewer  # noqa: E402

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SSRC = 22222222


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_udp_pair() -> tuple[int, int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return socks[0].getsockname()[1], socks[1].getsockname()[1]
    finally:
        for s in socks:
            s.close()


@dataclass
class Level:
    clients: int
    p50_ms: float
    p99_ms: float
    pairs_per_s: float


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# consume() -> handle, close(handle); one pair of them per simulated client.
Pair = tuple[Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]]


async def run_level(make_pair: Callable[[], Awaitable[Pair]], clients: int, total: int) -> Level:
    pairs = [await make_pair() for _ in range(clients)]
    per_client = max(1, total // clients)
    samples: list[float] = []

    async def lane(pair: Pair) -> None:
        consume, close = pair
        for _ in range(per_client):
            t0 = time.perf_counter()
            handle = await consume()
            samples.append((time.perf_counter() - t0) * 1000)
            await close(handle)

    start = time.perf_counter()
    await asyncio.gather(*(lane(p) for p in pairs))
    elapsed = time.perf_counter() - start
    return Level(
        clients,
        statistics.median(samples),
        percentile(samples, 0.99),
        per_client * clients / elapsed,
    )


async def measure(
    name: str, make_pair: Callable[[], Awaitable[Pair]], levels: list[int], total: int
) -> list[Level]:
    await run_level(make_pair, 1, 20)  # warm-up: connections, caches, JIT of the Node side
    out = []
    for clients in levels:
        out.append(await run_level(make_pair, clients, total))
        print(f"  {name:<7} {clients:>3} clients done", file=sys.stderr, flush=True)
    return out


async def sequential_p50(call: Callable[[], Awaitable[None]], n: int) -> float:
    for _ in range(10):
        await call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


# -- processes -------------------------------------------------------------------------


class Processes:
    """Every child process of the run, stopped in reverse order whatever happens."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[asyncio.subprocess.Process] = []

    async def spawn(
        self, name: str, argv: list[str], env: dict[str, str], **kwargs: Any
    ) -> asyncio.subprocess.Process:
        log = (self.logs / f"{name}.log").open("wb")  # kept open for the child
        kwargs.setdefault("stdout", log)
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=str(REPO), stderr=log, **kwargs
        )
        self.children.append(process)
        return process

    async def stop(self) -> None:
        for process in reversed(self.children):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def wait_http(http: Http1, path: str, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while process.returncode is None:
            try:
                status, _ = await http.request("GET", path)
                if status == 200:
                    return
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                await http.close()
            await asyncio.sleep(0.2)  # another process's readiness: nothing to await
    raise SystemExit(f"process for {path} exited during start-up")


# -- the systems -------------------------------------------------------------------------


@dataclass
class VasMs:
    api: Http1
    port: int
    headers: dict[str, str]
    stream_id: str
    node_address: str
    node_token: str
    router_caps: dict[str, Any]


async def start_vasms(procs: Processes, tmp: Path, node_loop: str = "asyncio") -> VasMs:
    """Control API + media node with `make run`'s settings (SQLite, default workers);
    `node_loop`: the media node daemon's event loop (VASMS_NODE_EVENT_LOOP)."""
    api_port, node_port = free_tcp_port(), free_tcp_port()
    node_listen = f"{HOST}:{node_port}"
    admin_password = secrets.token_urlsafe(12)
    env = dict(
        os.environ,
        VASMS_NODE_TOKEN=secrets.token_hex(16),
        VASMS_JWT_SECRET=secrets.token_hex(32),
        VASMS_ADMIN_USERNAME="admin",
        VASMS_ADMIN_PASSWORD=admin_password,
        # One bench user stands for every client: lift the per-user limits.
        VASMS_MAX_CONSUMERS_PER_USER="1000000",
        VASMS_CONSUME_RATE_PER_USER_S="1000000",
        VASMS_CONSUME_BURST_PER_USER="1000000",
        VASMS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'vasms.db'}",
        VASMS_NODE_GRPC_LISTEN=node_listen,
        VASMS_MEDIA_NODES=node_listen,
        VASMS_HTTP_HOST=HOST,
        VASMS_HTTP_PORT=str(api_port),
        VASMS_WORKER_BIN=str(WORKER_BIN),
        VASMS_NODE_EVENT_LOOP=node_loop,
    )
    await procs.spawn("media-node", [str(BIN / "vasms-media-node")], env)
    api_process = await procs.spawn("control-api", [str(BIN / "vasms-control-api"), "serve"], env)
    api = Http1(HOST, api_port)
    await wait_http(api, "/readyz", api_process)
    status, body = await api.request(
        "POST", "/api/v2/auth/token", {"username": "admin", "password": admin_password}
    )
    assert status == 200, body
    headers = {"authorization": f"Bearer {json.loads(body)['access_token']}"}
    api = Http1(HOST, api_port, headers)
    status, body = await api.request(
        "POST", "/api/v2/streams", {"name": "bench", "source": {"type": "test_pattern"}}
    )
    assert status == 201, body
    stream_id = json.loads(body)["id"]
    status, body = await api.request("POST", f"/api/v2/streams/{stream_id}/start")
    assert status == 200, body
    async with asyncio.timeout(60):
        while True:
            status, body = await api.request("GET", f"/api/v2/streams/{stream_id}")
            if json.loads(body)["status"] == "live":
                break
            await asyncio.sleep(0.2)  # status mirrored from node events into the DB
    status, body = await api.request("GET", f"/api/v2/streams/{stream_id}/router-capabilities")
    assert status == 200, body
    return VasMs(
        api,
        api_port,
        headers,
        stream_id,
        node_listen,
        env["VASMS_NODE_TOKEN"],
        json.loads(body)["rtp_capabilities"],
    )


def rest_pairs(vas: VasMs, caps: dict[str, Any]) -> Callable[[], Awaitable[Pair]]:
    body = json.dumps({"client_id": "bench", "rtp_capabilities": caps}).encode()

    async def make() -> Pair:
        http = Http1(HOST, vas.port, vas.headers)

        async def consume() -> str:
            status, answer = await http.request(
                "POST", f"/api/v2/streams/{vas.stream_id}/consume", body
            )
            assert status == 201, answer
            return json.loads(answer)["consumer_id"]

        async def close(consumer_id: str) -> None:
            status, answer = await http.request("DELETE", f"/api/v2/consumers/{consumer_id}")
            assert status == 204, answer

        return consume, close

    return make


def grpc_pairs(
    stub: pb_grpc.MediaNodeStub, vas: VasMs, caps: dict[str, Any]
) -> Callable[[], Awaitable[Pair]]:
    # As the control API asks (control_api/node_client.py): JSON both ways, no Struct.
    request = pb.ConsumeRequest(
        stream_id=vas.stream_id,
        client_id="bench",
        rtp_capabilities_json=json.dumps(caps),
        json=True,
    )
    metadata = (("authorization", f"Bearer {vas.node_token}"),)

    async def make() -> Pair:
        async def consume() -> str:
            reply = await stub.Consume(request, metadata=metadata, timeout=30)
            return reply.consumer.id

        async def close(consumer_id: str) -> None:
            await stub.CloseConsumer(
                pb.ConsumerRef(consumer_id=consumer_id), metadata=metadata, timeout=30
            )

        return consume, close

    return make


@contextlib.asynccontextmanager
async def raw_driver(caps: dict[str, Any]) -> Any:
    worker = await Worker.start(WorkerSettings(worker_bin=str(WORKER_BIN), log_level="warn"))
    try:
        router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
        plain = await router.create_plain_transport(
            PlainTransportOptions(listen_info=ListenInfo(ip=HOST), comedia=True)
        )
        producer = await plain.produce(
            ProducerOptions(kind="video", rtp_parameters=producer_rtp_parameters("vp8", SSRC))
        )
        # What media_node.viewers gives every viewer transport by default.
        options = WebRtcTransportOptions(
            listen_infos=(ListenInfo(ip=HOST), ListenInfo(ip=HOST, protocol="tcp")),
            enable_udp=True,
            enable_tcp=True,
            prefer_udp=True,
        )

        async def make() -> Pair:
            async def consume() -> Any:
                transport = await router.create_webrtc_transport(options)
                await transport.consume(
                    ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps)
                )
                return transport

            async def close(transport: Any) -> None:
                await transport.close()

            return consume, close

        yield make
    finally:
        await worker.close()


@dataclass
class NodeJs:
    port: int
    headers: dict[str, str]
    stream_id: str


async def start_nodejs(procs: Processes, tmp: Path) -> NodeJs:
    lib = node_lib()
    secret = secrets.token_hex(32)
    rtp_ports = free_udp_pair()
    config = {
        "jwtSecret": secret,
        "mediaCodecs": router_media_codecs(),
        "producerRtpParameters": producer_rtp_parameters("vp8", SSRC),
        "rtpPorts": rtp_ports,
        "listenIp": HOST,
        "enableTcp": True,
        "streamId": str(uuid.uuid4()),
        "rtcMinPort": 40000,
        "rtcMaxPort": 49999,
    }
    config_path = tmp / "nodejs.json"
    config_path.write_text(json.dumps(config))
    env = dict(os.environ, MEDIASOUP_WORKER_BIN=str(WORKER_BIN))
    process = await procs.spawn(
        "nodejs",
        ["node", str(REPO / "bench" / "node" / "consume_server.js"), lib, str(config_path)],
        env,
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    if not line:
        raise SystemExit(f"the Node.js server exited; see {procs.logs / 'nodejs.log'}")
    info = json.loads(line)
    target = RtpTarget(
        local_ip=HOST,
        rtp_source_port=rtp_ports[0],
        rtcp_port=rtp_ports[1],
        transport_ip=HOST,
        transport_port=info["rtp_port"],
        ssrc=SSRC,
    )
    # The media node's own test-pattern pipeline, so the worker forwards the same media.
    ingest = await procs.spawn("nodejs-ingest", runner_argv(), env, stdin=asyncio.subprocess.PIPE)
    assert ingest.stdin is not None  # kept open: the runner exits at its EOF
    ingest_config = run_config(IngestSpec(kind="test_pattern", codec="vp8"), target)
    ingest.stdin.write(json.dumps(ingest_config).encode() + b"\n")
    await ingest.stdin.drain()
    now = int(time.time())
    token = jwt.encode(
        {"sub": "bench-user", "typ": "access", "iat": now, "exp": now + 3600},
        secret,
        algorithm="HS256",
    )
    return NodeJs(info["http_port"], {"authorization": f"Bearer {token}"}, config["streamId"])


def nodejs_pairs(server: NodeJs, caps: dict[str, Any]) -> Callable[[], Awaitable[Pair]]:
    body = json.dumps({"client_id": "bench", "rtp_capabilities": caps}).encode()

    async def make() -> Pair:
        http = Http1(HOST, server.port, server.headers)

        async def consume() -> str:
            status, answer = await http.request(
                "POST", f"/api/v2/streams/{server.stream_id}/consume", body
            )
            assert status == 201, answer
            return json.loads(answer)["consumer_id"]

        async def close(consumer_id: str) -> None:
            status, answer = await http.request("DELETE", f"/api/v2/consumers/{consumer_id}")
            assert status == 204, answer

        return consume, close

    return make


# -- report ------------------------------------------------------------------------------


def report(results: dict[str, list[Level]], reads: dict[str, float], total: int) -> None:
    names = list(results)
    levels = [lv.clients for lv in results[names[0]]]
    print(f"\nconsume + DELETE, {total} pairs per level, worker {WORKER_BIN}")
    print("p50 / p99: the consume alone (ms); pairs/s: consume + close pairs per second")
    header = f"{'':<8}" + "".join(f"{f'{c} client' + ('s' if c > 1 else ''):>27}" for c in levels)
    print(header)
    print(f"{'':<8}" + "".join(f"{'p50':>9}{'p99':>9}{'pairs/s':>9}" for _ in levels))
    for name in names:
        cells = "".join(
            f"{lv.p50_ms:>9.2f}{lv.p99_ms:>9.2f}{lv.pairs_per_s:>9.1f}" for lv in results[name]
        )
        print(f"{name:<8}{cells}")

    if len(names) == len(SYSTEMS):
        ratios(results, levels)
    bare = reads["bare FastAPI GET"]
    print("\nsequential p50 of reads (ms), and above the bare round trip (goal <= 2 ms)")
    for name, value in reads.items():
        extra = "" if name.startswith("bare") else f"   +{value - bare:.2f}"
        print(f"  {name:<34}{value:7.2f}{extra}")


def ratios(results: dict[str, list[Level]], levels: list[int]) -> None:
    def level(name: str, clients: int) -> Level:
        return next(lv for lv in results[name] if lv.clients == clients)

    print("\nratios (goal in brackets)")
    if 1 in levels:
        rest, drv, njs, node = (level(n, 1) for n in ("rest", "driver", "nodejs", "node"))
        print(f"  rest p50 / driver p50, 1 client   {rest.p50_ms / drv.p50_ms:6.2f}x  (<= 5)")
        print(f"  rest p50 / nodejs p50, 1 client   {rest.p50_ms / njs.p50_ms:6.2f}x  (<= 1.0)")
        print(f"  node p50 / driver p50, 1 client   {node.p50_ms / drv.p50_ms:6.2f}x  (<= 2)")
    if 10 in levels:
        rest, njs = level("rest", 10), level("nodejs", 10)
        print(
            f"  rest / nodejs pairs/s, 10 clients {rest.pairs_per_s / njs.pairs_per_s:6.2f}x"
            "  (>= 1.0, aim 1.5)"
        )
    if 50 in levels:
        rest, njs = level("rest", 50), level("nodejs", 50)
        print(f"  rest p99 / nodejs p99, 50 clients {rest.p99_ms / njs.p99_ms:6.2f}x  (<= 1.0)")


SYSTEMS = ("rest", "node", "driver", "nodejs")


async def main(
    levels: list[int], total: int, systems: tuple[str, ...] = SYSTEMS, node_loop: str = "asyncio"
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vasms-bench-"))
    procs = Processes(tmp)
    try:
        vas = await start_vasms(procs, tmp, node_loop)
        print(f"media node event loop: {node_loop}")
        nodejs = await start_nodejs(procs, tmp)
        bare_port = free_tcp_port()
        bare_argv = [sys.executable, str(REPO / "bench" / "bare_app.py"), str(bare_port)]
        bare_process = await procs.spawn("bare", bare_argv, dict(os.environ))
        bare = Http1(HOST, bare_port)
        await wait_http(bare, "/ping", bare_process)
        viewer = Viewer()
        caps = await viewer.load(vas.router_caps)
        channel = grpc.aio.insecure_channel(vas.node_address)
        stub = pb_grpc.MediaNodeStub(channel)
        results: dict[str, list[Level]] = {}
        try:
            if "rest" in systems:
                results["rest"] = await measure("rest", rest_pairs(vas, caps), levels, total)
            if "node" in systems:
                results["node"] = await measure("node", grpc_pairs(stub, vas, caps), levels, total)
            if "driver" in systems:
                async with raw_driver(caps) as make:
                    results["driver"] = await measure("driver", make, levels, total)
            if "nodejs" in systems:
                pairs = nodejs_pairs(nodejs, caps)
                results["nodejs"] = await measure("nodejs", pairs, levels, total)

            async def bare_get() -> None:
                status, _ = await bare.request("GET", "/ping")
                assert status == 200

            async def stream_get() -> None:
                status, _ = await vas.api.request("GET", f"/api/v2/streams/{vas.stream_id}")
                assert status == 200

            async def caps_get() -> None:
                path = f"/api/v2/streams/{vas.stream_id}/router-capabilities"
                status, _ = await vas.api.request("GET", path)
                assert status == 200

            reads = {
                "bare FastAPI GET": await sequential_p50(bare_get, total),
                "GET /api/v2/streams/{id}": await sequential_p50(stream_get, total),
                "GET …/router-capabilities": await sequential_p50(caps_get, total),
            }
        finally:
            await channel.close()
        report(results, reads, total)
    finally:
        await procs.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="pairs per level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument(
        "--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS), help="a subset (profiling)"
    )
    parser.add_argument(
        "--node-loop", choices=("asyncio", "uvloop"), default="asyncio", help="media node's loop"
    )
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.requests, tuple(args.systems), args.node_loop))
