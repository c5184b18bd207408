"""`python -m media_node` — what `make run` starts until the media node daemon exists.

Starts one mediasoup-worker with a router, prints what it holds and its CPU
use every few seconds, and closes it cleanly on Ctrl-C / SIGTERM. It is the
quickest proof on a new machine that the worker build and the channel work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

from mediasoup_driver import Worker, WorkerSettings, resolve_worker_bin

from media_node.config import default_worker_bin


async def run(interval: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    binary = resolve_worker_bin(os.environ.get("VASMS_WORKER_BIN") or default_worker_bin())
    worker = await Worker.start(WorkerSettings(worker_bin=binary, log_level="warn"))
    worker.died.add_listener(lambda _exit: stop.set())
    router = await worker.create_router()
    print(f"mediasoup-worker {binary} running, pid {worker.pid}", flush=True)
    print(f"router {router.id} created; Ctrl-C to stop", flush=True)
    while not stop.is_set():
        usage = await worker.get_resource_usage()
        dump = await worker.dump()
        print(
            f"routers={len(dump.router_ids)} cpu_user_ms={usage.ru_utime} "
            f"cpu_sys_ms={usage.ru_stime} maxrss_kb={usage.ru_maxrss}",
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    if worker.died.fired:
        print(f"worker died: {await worker.died.wait()}", flush=True)
        return 1
    exit_info = await worker.close()
    print(f"worker closed ({exit_info})", flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    raise SystemExit(asyncio.run(run(args.interval)))


if __name__ == "__main__":
    main()
