"""Router-level generic paths: create_router + close, and WORKER_DUMP of a worker holding
3,000 routers. Our Python driver vs mediasoup's Node library on the same worker binary.

These are the paths the media node repeats at scale (one router per stream; a dump per
health/load check), where per-router copies of the capabilities and per-field FlatBuffers
reads cost CPU. Rates are wall-clock; the CPU rows are the driver process's own CPU
time per operation (Python: process_time, Node: process.cpuUsage), less sensitive to a
loaded machine. Every ratio is "how many times faster Python is" (rates: python/node;
CPU: node/python). Both bench/driver_vs_node.py and bench/worker_channel.py print these
figures beside their own; run this module alone for just these:

    .venv/bin/python bench/router_rates.py [--router-ops 2000] [--routers 3000] [--dumps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediasoup_driver import RouterOptions, Worker, WorkerSettings  # noqa: E402

from bench.paths import node_lib  # noqa: E402
from tests.support.ingest import ROUTER_MEDIA_CODECS  # noqa: E402

DEFAULTS = {"routerOps": 2000, "routers": 3000, "dumps": 200}


async def python_rates(config: dict[str, Any]) -> dict[str, float]:
    """create_router + close per second (sequential), then WORKER_DUMP per second with
    ``routers`` routers open (sequential)."""
    worker = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        options = RouterOptions(media_codecs=config["mediaCodecs"])

        async def create_close(count: int) -> tuple[float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                router = await worker.create_router(options)
                await router.close()
            await worker.dump()  # same end condition as the Node side
            rate = count / (time.perf_counter() - start)
            return rate, (time.process_time() - cpu) * 1e6 / count

        await create_close(100)  # warm-up
        create_close_rate, create_close_cpu = await create_close(config["routerOps"])

        routers = [await worker.create_router(options) for _ in range(config["routers"])]
        dump = await worker.dump()
        assert len(dump.router_ids) == config["routers"], len(dump.router_ids)
        for _ in range(10):  # warm-up
            await worker.dump()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(config["dumps"]):
            await worker.dump()
        dump_rate = config["dumps"] / (time.perf_counter() - start)
        dump_cpu = (time.process_time() - cpu) * 1e6 / config["dumps"]
        for router in routers:
            await router.close()
    finally:
        await worker.close()
    return {
        "create_close_ops": create_close_rate,
        "dump_rps": dump_rate,
        "create_close_cpu_us": create_close_cpu,
        "dump_cpu_us": dump_cpu,
    }


def node_rates(config: dict[str, Any]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    try:
        out = subprocess.run(
            ["node", str(REPO / "bench" / "node" / "router_rates.js"), node_lib(), f.name],
            check=True,
            capture_output=True,
            text=True,
            env=dict(os.environ),
        ).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out.strip().splitlines()[-1])


def config_from(router_ops: int, routers: int, dumps: int) -> dict[str, Any]:
    return {
        "mediaCodecs": ROUTER_MEDIA_CODECS,
        "routerOps": router_ops,
        "routers": routers,
        "dumps": dumps,
    }


def measure_and_print(config: dict[str, Any]) -> None:
    """Runs both sides (Node first, then Python, one after the other) and prints a table."""
    node = node_rates(config)
    python = asyncio.run(python_rates(config))
    print(
        f"routers: create_router + close x{config['routerOps']}, "
        f"WORKER_DUMP x{config['dumps']} with {config['routers']} routers, same worker binary"
    )
    print(f"{'':<34}{'python':>10}{'node':>10}{'speed ratio':>14}")
    for label, key in (
        ("create_router+close ops/s", "create_close_ops"),
        (f"WORKER_DUMP/s ({config['routers']} routers)", "dump_rps"),
        # Driver-process CPU per operation (the worker's own time excluded): what load on
        # a shared machine distorts least; lower is better, so node/python is printed.
        ("driver CPU us/create+close", "create_close_cpu_us"),
        (f"driver CPU us/WORKER_DUMP ({config['routers']})", "dump_cpu_us"),
    ):
        ratio = node[key] / python[key] if key.endswith("_cpu_us") else python[key] / node[key]
        print(f"{label:<34}{python[key]:>10.1f}{node[key]:>10.1f}{ratio:>13.2f}x")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--router-ops", type=int, default=DEFAULTS["routerOps"])
    parser.add_argument("--routers", type=int, default=DEFAULTS["routers"])
    parser.add_argument("--dumps", type=int, default=DEFAULTS["dumps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args()
    measure_and_print(config_from(args.router_ops, args.routers, args.dumps))


if __name__ == "__main__":
    main()
