"""A viewer in its own process, so a test can kill it without any goodbye.

    python -m tests.support.viewer_process <node address> <token> <stream id>
Prints "playing <consumer id>" after the first decoded frame, then waits forever.
"""

from __future__ import annotations

import asyncio
import sys

from tests.support.node_process import NodeClient, NodeProcess
from tests.support.node_viewer import watch_over_grpc


async def main(address: str, token: str, stream_id: str) -> None:
    node = NodeProcess(process=None, address=address, token=token, node_id="")  # type: ignore[arg-type]
    client = NodeClient(node)
    watching = await watch_over_grpc(client, stream_id, "doomed-viewer")
    await watching.viewer.frames(1)
    print(f"playing {watching.consumer_id}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
