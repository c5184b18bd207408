"""WORKER_DUMP round trips over the worker channel: our Python driver vs mediasoup's Node library.

Both drive the same worker binary in the same run; the figure that matters is
the ratio (Python / Node), which is robust to how busy the machine is. Then the
router-level figures of bench/router_rates.py (create_router + close, WORKER_DUMP with
3,000 routers).

    .venv/bin/python bench/worker_channel.py [--requests 5000] [--concurrency 100]
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediasoup_driver import Worker, WorkerSettings  # noqa: E402

from bench import router_rates  # noqa: E402
from bench.paths import node_lib  # noqa: E402


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


async def python_run(total: int, concurrency: int) -> dict[str, float]:
    worker = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        for _ in range(500):  # warm-up
            await worker.dump()
        latencies = []
        start = time.perf_counter()
        for _ in range(total):
            t0 = time.perf_counter()
            await worker.dump()
            latencies.append((time.perf_counter() - t0) * 1000)
        sequential = time.perf_counter() - start

        per_lane = total // concurrency

        async def lane() -> None:
            for _ in range(per_lane):
                await worker.dump()

        start = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        concurrent = time.perf_counter() - start
    finally:
        await worker.close()
    latencies.sort()
    return {
        "sequential_rps": total / sequential,
        "concurrent_rps": per_lane * concurrency / concurrent,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
    }


def node_run(total: int, concurrency: int) -> dict[str, float]:
    lib = node_lib()
    env = dict(os.environ)
    out = subprocess.run(
        [
            "node",
            str(REPO / "bench" / "node" / "worker_dump.js"),
            lib,
            str(total),
            str(concurrency),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    router_rates.add_arguments(parser)
    args = parser.parse_args()

    node = node_run(args.requests, args.concurrency)
    python = asyncio.run(python_run(args.requests, args.concurrency))

    print(f"WORKER_DUMP round trips, {args.requests} requests, same worker binary, same run")
    print(f"{'':<22}{'python':>12}{'node':>12}{'python/node':>14}")
    rows = [
        ("sequential req/s", "sequential_rps"),
        (f"{args.concurrency}-way req/s", "concurrent_rps"),
        ("sequential p50 ms", "p50_ms"),
        ("sequential p99 ms", "p99_ms"),
    ]
    for label, key in rows:
        ratio = python[key] / node[key]
        print(f"{label:<22}{python[key]:>12.3f}{node[key]:>12.3f}{ratio:>13.2f}x")
    router_rates.measure_and_print(
        router_rates.config_from(args.router_ops, args.routers, args.dumps)
    )


if __name__ == "__main__":
    main()
