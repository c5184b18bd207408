"""What a pion receiver costs per received packet, for a few ways of running the fleet.

    .venv/bin/python -m bench.load.receiver_cost [--viewers 60] [--rounds 3] [--seconds 6]

One 1-worker VAS-MS stack, one 1.5 Mbit/s H.264 `rtp` stream from the same sender as
bench/capacity.py; each variant (number of receiver processes x GOMAXPROCS) gets the
same number of receivers attached afresh, one window, then the next variant: rounds
interleave the variants so a change in the machine's load touches all of them. Printed:
the receivers' CPU per received packet (median and range over the rounds), loss,
kernel drops on the receivers' sockets. The bench runs in a high-weight cgroup like
bench/capacity.py, so other jobs disturb it less (they still share caches and cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.capacity import sender
from bench.load import cgroups, udp
from bench.load.fleet import Fleet
from bench.load.stack import Stack, running_stack

VARIANTS: list[tuple[str, int, dict[str, str]]] = [
    ("2 processes, GOMAXPROCS=2", 2, {"GOMAXPROCS": "2"}),
    ("1 process, GOMAXPROCS=2", 1, {"GOMAXPROCS": "2"}),
    ("2 processes, GOMAXPROCS=1", 2, {"GOMAXPROCS": "1"}),
    ("1 process, GOMAXPROCS=1", 1, {"GOMAXPROCS": "1"}),
]


async def one_window(
    stack: Stack, stream_id: str, processes: int, env: dict[str, str], viewers: int, seconds: float
) -> tuple[float, float, int]:
    """(µs of receiver CPU per received packet, loss %, receiver socket drops)."""
    fleet = await Fleet.start(processes, env=env)
    try:
        await fleet.attach_vasms(stack, stream_id, viewers, concurrency=8)
        await fleet.wait_flowing(within=30)
        await asyncio.sleep(2.0)  # joins settle
        pids = {"receivers": [p.pid for p in fleet.processes]}
        cpu0, drops0 = fleet.cpu_seconds(), udp.drops(pids)["receivers"]
        window = await fleet.measure(seconds)
        cpu, drops = fleet.cpu_seconds() - cpu0, udp.drops(pids)["receivers"] - drops0
        summary = window.summary()
        await fleet.detach(stack)
        return cpu * 1e6 / max(1, summary["packets"]), summary["loss_pct"], drops
    finally:
        await fleet.close()


async def main(viewers: int, rounds: int, seconds: float) -> None:
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _, _ in VARIANTS}
    with cgroups.bench_groups():
        async with running_stack(1) as stack, contextlib.AsyncExitStack() as exits:
            stream = await stack.live_stream({"type": "rtp"})
            e = stream["rtp_endpoint"]
            await exits.enter_async_context(
                sender([(e["ip"], e["port"], e["payload_type"], e["ssrc"], e["srtp_key_base64"])])
            )
            await stack.until_live(stream["id"])
            for round_ in range(rounds):
                for name, processes, env in VARIANTS:
                    result = await one_window(stack, stream["id"], processes, env, viewers, seconds)
                    results[name].append(result)
                    print(
                        f"round {round_ + 1} {name:<28} {result[0]:6.1f} µs/pkt  "
                        f"loss {result[1]:.3f} %  drops {result[2]}",
                        flush=True,
                    )
    print(f"{viewers} receivers, {seconds:g} s windows, {rounds} rounds interleaved:")
    for name, rows in results.items():
        costs = [r[0] for r in rows]
        print(
            f"  {name:<28} {statistics.median(costs):6.1f} µs per received packet "
            f"(range {min(costs):.1f}-{max(costs):.1f}), worst loss "
            f"{max(r[1] for r in rows):.3f} %, drops {sum(r[2] for r in rows)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    asyncio.run(main(args.viewers, args.rounds, args.seconds))
