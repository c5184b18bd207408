"""How many viewers one worker (one core) can forward: worker CPU per viewer.

A live ingest (the node's own GStreamer VP8 test pattern, ~1 Mbit/s) feeds one
router; N consumers each forward it, SRTP-encrypted, over a PlainTransport to a
local UDP socket that drains it — the worker does per viewer what it does for a
WebRTC viewer (RTP rewrite, SRTP encryption, sending), without N decoding
peers on the same 2 cores skewing the figure. The worker's own CPU (getrusage)
is sampled for each N in the same run; the baseline is N = 0.

    .venv/bin/python bench/viewers_per_core.py [--viewers 0 25 50 100] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediasoup_driver import (  # noqa: E402
    ConsumerOptions,
    ListenInfo,
    PlainTransportOptions,
    RouterOptions,
    Worker,
)

import bench.paths  # noqa: E402, F401  (points the driver at this checkout's worker)
from media_node.ingest import Ingest, IngestSpec, router_media_codecs  # noqa: E402

LOCALHOST = ListenInfo(ip="127.0.0.1")


class _Sink(asyncio.DatagramProtocol):
    """Counts what the viewers' transports send."""

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets += 1
        self.bytes += len(data)


async def _cpu_ms(worker: Worker) -> int:
    usage = await worker.get_resource_usage()
    return usage.ru_utime + usage.ru_stime


async def main(counts: list[int], seconds: float) -> None:
    worker = await Worker.start()
    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    ingest = Ingest(router, IngestSpec(kind="test_pattern", codec="vp8"))
    await ingest.start()
    async with asyncio.timeout(20):
        await ingest.wait_for_status("live")
    producer = ingest.producer
    assert producer is not None
    loop = asyncio.get_running_loop()
    sink_transport, sink = await loop.create_datagram_endpoint(
        _Sink, local_addr=("127.0.0.1", 0), family=socket.AF_INET
    )
    sink_port = sink_transport.get_extra_info("sockname")[1]
    viewers = []
    rows = []
    try:
        for count in sorted(counts):
            while len(viewers) < count:
                transport = await router.create_plain_transport(
                    PlainTransportOptions(listen_info=LOCALHOST, enable_srtp=True)
                )
                await transport.connect(
                    ip="127.0.0.1", port=sink_port, srtp_parameters=transport.srtp_parameters
                )
                await transport.consume(
                    ConsumerOptions(
                        producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
                    )
                )
                viewers.append(transport)
            await asyncio.sleep(1.0)  # settle: key frames after new consumers
            cpu0, t0 = await _cpu_ms(worker), time.monotonic()
            packets0, bytes0 = sink.packets, sink.bytes
            await asyncio.sleep(seconds)  # the measurement window itself
            elapsed = time.monotonic() - t0
            cpu = (await _cpu_ms(worker) - cpu0) / (elapsed * 10)  # percent of one core
            rows.append(
                (
                    count,
                    cpu,
                    (sink.packets - packets0) / elapsed,
                    (sink.bytes - bytes0) * 8 / elapsed / 1e6,
                )
            )
    finally:
        sink_transport.close()
        await ingest.stop()
        await worker.close()

    base = rows[0][1]
    per_viewer_mbps = rows[-1][3] / max(rows[-1][0], 1)
    print(
        f"worker CPU per forwarded viewer, VP8 test pattern ~{per_viewer_mbps:.2f} Mbit/s per "
        f"viewer, SRTP, {seconds:.0f} s windows, same run"
    )
    print(
        f"{'viewers':>8}{'worker CPU %':>14}{'vs baseline':>13}{'pkts/s out':>12}{'Mbit/s out':>12}"
    )
    for count, cpu, pps, mbps in rows:
        print(
            f"{count:>8}{cpu:>14.1f}{cpu / base if base else float('nan'):>12.1f}x"
            f"{pps:>12.0f}{mbps:>12.1f}"
        )
    count, cpu, pps, _ = rows[-1]
    if count and cpu > base and pps:
        per_viewer = (cpu - base) / count
        per_kpps = (cpu - base) / (pps / 1000)
        print(
            f"\n~{per_viewer:.2f} % of a core per viewer -> ~{int(70 / per_viewer)} viewers "
            "per core at a 70 % CPU target (one worker per core)"
        )
        print(
            f"~{per_kpps:.2f} % of a core per 1000 packets/s forwarded: a 1.5 Mbit/s stream "
            f"(~150 packets/s) -> ~{int(70 / (per_kpps * 0.15))} viewers per core"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, nargs="+", default=[0, 25, 50, 100])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    asyncio.run(main(args.viewers, args.seconds))
