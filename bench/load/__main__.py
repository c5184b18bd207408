"""`python -m bench.load`: N real receivers on one stream of a throw-away VAS-MS.

    .venv/bin/python -m bench.load --viewers 100 --processes 3 --seconds 10

Starts a node and the control API, a live test-pattern stream, attaches the
receivers through REST (consume with DTLS parameters), measures a window and
prints per-viewer packets, loss and bitrate, then the load generator's own cost
(CPU µs per received packet, % of a core per receiver); DELETEs the consumers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.load.fleet import Fleet
from bench.load.stack import running_stack


async def main(
    viewers: int, processes: int, seconds: float, workers: int, per_viewer: bool, kind: str
) -> None:
    async with running_stack(workers) as stack:
        stream = await stack.live_stream({"type": "test_pattern"})
        fleet = await Fleet.start(processes, kind)
        try:
            t0 = time.monotonic()
            await fleet.attach_vasms(stack, stream["id"], viewers)
            attached = time.monotonic() - t0
            flowing = await fleet.wait_flowing()
            await asyncio.sleep(1.0)  # let key-frame bursts of the joins pass
            cpu0 = fleet.cpu_seconds()
            window = await fleet.measure(seconds)
            cpu = fleet.cpu_seconds() - cpu0
            summary = window.summary()
            if per_viewer:
                print(f"{'viewer':>8}{'packets':>10}{'lost':>7}{'loss %':>8}{'kbit/s':>9}")
                for rid, (packets, lost, nbytes) in sorted(window.viewers.items()):
                    print(
                        f"{rid:>8}{packets:>10}{lost:>7}{window.loss_pct(rid):>8.2f}"
                        f"{nbytes * 8 / window.seconds / 1000:>9.0f}"
                    )
            print(
                f"{viewers} viewers attached in {attached:.1f} s, {flowing} flowing; "
                f"window {window.seconds:.1f} s: {summary['pps']:.0f} pkt/s received, "
                f"loss {summary['loss_pct']:.3f} % (p50 {summary['loss_p50']:.2f} %, "
                f"p99 {summary['loss_p99']:.2f} %), {summary['kbps_p50']:.0f} kbit/s p50 "
                f"(min {summary['kbps_min']:.0f}), {summary['ok_viewers']} viewers < 1 % loss"
            )
            us_per_pkt = cpu * 1e6 / summary["packets"] if summary["packets"] else float("nan")
            print(
                f"load generator ({kind}, {processes} processes): {us_per_pkt:.1f} µs CPU per "
                f"received packet, {100 * cpu / window.seconds / max(viewers, 1):.2f} % of a core "
                "per receiver"
            )
            await fleet.detach(stack)
        finally:
            await fleet.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-viewer", action="store_true", help="print one line per viewer")
    parser.add_argument("--receiver", choices=("pion", "aiortc"), default="pion")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.viewers,
            args.processes,
            args.seconds,
            args.workers,
            args.per_viewer,
            args.receiver,
        )
    )
