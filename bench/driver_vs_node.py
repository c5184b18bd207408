"""Our Python driver vs mediasoup's Node library on the same worker binary.

Operation: create a WebRtcTransport + consume an existing VP8 producer with a
real viewer's capabilities (pymediasoup/aiortc) + close the transport; 2,000 of
them sequentially and 50-way concurrent, both drivers in the same run, in rounds
that alternate Node and Python (so a load change on a shared machine hits both
sides alike). Prints each round's ops/s, the medians and the ratio Python / Node
of the medians (goal: >= 1.5 in both). Then the router-level
figures of bench/router_rates.py: create_router + close rate and WORKER_DUMP rate with
3,000 routers, both drivers in the same run.

    .venv/bin/python bench/driver_vs_node.py [--operations 2000] [--concurrency 50] [--rounds 3]
        [--router-ops 2000] [--routers 3000] [--dumps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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

from bench import router_rates  # noqa: E402
from bench.paths import node_lib  # noqa: E402
from tests.support.ingest import ROUTER_MEDIA_CODECS, producer_rtp_parameters  # noqa: E402
from tests.support.viewer import Viewer  # noqa: E402

LOCALHOST = ListenInfo(ip="127.0.0.1")


async def viewer_capabilities() -> dict[str, Any]:
    """A real aiortc viewer's receive capabilities for a router with our codecs."""
    worker = await Worker.start()
    try:
        router = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
        return await Viewer().load(router.rtp_capabilities)
    finally:
        await worker.close()


async def python_run(config: dict[str, Any]) -> dict[str, float]:
    worker = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        router = await worker.create_router(RouterOptions(media_codecs=config["mediaCodecs"]))
        plain = await router.create_plain_transport(
            PlainTransportOptions(listen_info=LOCALHOST, comedia=True)
        )
        producer = await plain.produce(
            ProducerOptions(kind="video", rtp_parameters=config["producerRtpParameters"])
        )
        options = WebRtcTransportOptions(listen_infos=(LOCALHOST,))
        caps = config["viewerRtpCapabilities"]

        async def op() -> None:
            transport = await router.create_webrtc_transport(options)
            await transport.consume(ConsumerOptions(producer_id=producer.id, rtp_capabilities=caps))
            await transport.close()

        async def run(total: int, lanes: int) -> float:
            per_lane = total // lanes

            async def lane() -> None:
                for _ in range(per_lane):
                    await op()

            start = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(lanes)))
            await worker.dump()
            return per_lane * lanes / (time.perf_counter() - start)

        await run(100, 1)  # warm-up
        sequential = await run(config["operations"], 1)
        concurrent = await run(config["operations"], config["concurrency"])
        usage = await worker.get_resource_usage()
        assert (await router.dump()).transport_ids == [plain.id]
    finally:
        await worker.close()
    return {
        "sequential_ops": sequential,
        "concurrent_ops": concurrent,
        "worker_cpu_ms": usage.ru_utime + usage.ru_stime,
    }


def node_run(config_path: str) -> dict[str, float]:
    lib = node_lib()
    env = dict(os.environ)
    out = subprocess.run(
        ["node", str(REPO / "bench" / "node" / "driver_ops.js"), lib, config_path],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    router_rates.add_arguments(parser)
    args = parser.parse_args()
    config = {
        "operations": args.operations,
        "concurrency": args.concurrency,
        "mediaCodecs": ROUTER_MEDIA_CODECS,
        "producerRtpParameters": producer_rtp_parameters("vp8", 22222222, 101),
        "viewerRtpCapabilities": asyncio.run(viewer_capabilities()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        for _ in range(args.rounds):
            rounds.append((node_run(f.name), asyncio.run(python_run(config))))
    finally:
        os.unlink(f.name)
    print(
        f"create WebRtcTransport + consume + close, {args.operations} ops, same worker binary,"
        f" {args.rounds} rounds alternating node/python"
    )
    rows = (
        ("sequential ops/s", "sequential_ops"),
        (f"{args.concurrency}-way ops/s", "concurrent_ops"),
    )
    for label, key in rows:
        per_round = "  ".join(f"{p[key]:.0f}/{n[key]:.0f}" for n, p in rounds)
        print(f"  rounds python/node {label}: {per_round}")
    print(f"{'':<26}{'python':>10}{'node':>10}{'python/node':>14}")
    for label, key in rows:
        py = statistics.median(p[key] for _, p in rounds)
        nd = statistics.median(n[key] for n, _ in rounds)
        print(f"{label + ' (median)':<26}{py:>10.1f}{nd:>10.1f}{py / nd:>13.2f}x")
    py_cpu = statistics.median(p["worker_cpu_ms"] for _, p in rounds)
    nd_cpu = statistics.median(n["worker_cpu_ms"] for n, _ in rounds)
    print(f"{'worker CPU ms (median)':<26}{py_cpu:>10}{nd_cpu:>10}")
    router_rates.measure_and_print(
        router_rates.config_from(args.router_ops, args.routers, args.dumps)
    )


if __name__ == "__main__":
    main()
