"""The media node's Prometheus endpoint."""

from __future__ import annotations

import asyncio
import re

import httpx

from protos import media_node_pb2 as pb
from tests.support.node_process import free_tcp_port, running_node
from tests.support.node_viewer import pattern_request, watch_over_grpc


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing"
    return float(match.group(1))


async def test_metrics_report_workers_streams_and_viewers() -> None:
    port = free_tcp_port()
    async with running_node(
        VASMS_NODE_METRICS_LISTEN=f"127.0.0.1:{port}", VASMS_LOAD_REFRESH_S="0.2"
    ) as (_node, client):
        await client.StartStream(pattern_request("cam-m"))
        await client.wait_status("cam-m", pb.STREAM_STATUS_LIVE)
        watching = await watch_over_grpc(client, "cam-m")
        await watching.viewer.frames(10)
        async with httpx.AsyncClient() as http, asyncio.timeout(10):
            while True:  # the figures refresh every 0.2 s; scrape until the viewer shows
                reply = await http.get(f"http://127.0.0.1:{port}/metrics")
                if _value(reply.text, "vasms_node_consumers") == 1:
                    break
                await asyncio.sleep(0.1)
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/plain")
            text = reply.text
            assert _value(text, "vasms_node_workers") == 2
            assert _value(text, "vasms_node_producers") == 1
            assert _value(text, 'vasms_node_streams{status="live"}') == 1
            assert "vasms_node_worker_cpu_percent{pid=" in text
            viewers = [
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("vasms_node_worker_viewers{pid=")
            ]
            assert sum(viewers) == 1 and _value(text, "vasms_node_piped_routers") == 0
            assert _value(text, "vasms_node_bytes_in_total") >= 0
            assert (await http.get(f"http://127.0.0.1:{port}/other")).status_code == 404
        await watching.viewer.close()
