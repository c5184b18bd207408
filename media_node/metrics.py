"""Prometheus metrics of the media node, over plain HTTP on their own port.

A tiny asyncio HTTP server (GET /metrics only) keeps the node free of a web
framework. Figures come from the load monitor's cache and the node's
registries, so a scrape costs no worker round trip. Byte counters integrate
the bitrates measured each refresh (the node does not ask every transport for
its stats on every scrape).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from media_node.node import MediaNode

_log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ByteCounters:
    """Integrates incoming/outgoing bitrates into byte totals, once per load refresh."""

    def __init__(self) -> None:
        self.bytes_in = 0.0
        self.bytes_out = 0.0
        self._last = time.monotonic()

    def add(self, incoming_bps: int, outgoing_bps: int) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        self.bytes_in += incoming_bps * elapsed / 8
        self.bytes_out += outgoing_bps * elapsed / 8


def render(node: MediaNode, counters: ByteCounters) -> str:
    load = node.load.current
    counters.add(load.incoming_bitrate_bps, load.outgoing_bitrate_bps)
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    running = [s for s in node.pool.slots if s.worker is not None and not s.worker.closed]
    metric("vasms_node_workers", "gauge", "Running mediasoup workers.", [("", len(running))])
    metric("vasms_node_draining", "gauge", "1 while the node drains.", [("", int(node.draining))])
    metric(
        "vasms_node_routers",
        "gauge",
        "Routers (one per stream, plus fan-out routers piped from another worker).",
        [("", sum(w.routers for w in load.workers))],
    )
    metric(
        "vasms_node_piped_routers",
        "gauge",
        "Fan-out routers fed through a pipe from their stream's worker.",
        [("", sum(w.piped_routers for w in load.workers))],
    )
    metric("vasms_node_transports", "gauge", "Viewer transports.", [("", load.transports)])
    metric("vasms_node_consumers", "gauge", "Consumers (viewers).", [("", load.consumers)])
    metric("vasms_node_producers", "gauge", "Producers (live ingests).", [("", load.producers)])
    statuses = Counter(s.status for s in node.streams.streams.values())
    metric(
        "vasms_node_streams",
        "gauge",
        "Streams by status.",
        [
            (f'{{status="{status}"}}', statuses.get(status, 0))
            for status in ("starting", "live", "error", "stopped")
        ],
    )
    metric(
        "vasms_node_worker_cpu_percent",
        "gauge",
        "CPU of each worker over the last refresh (100 = one core).",
        [(f'{{pid="{w.pid}"}}', w.cpu_percent) for w in load.workers],
    )
    metric(
        "vasms_node_worker_viewers",
        "gauge",
        "Viewers each worker forwards (fan-out included).",
        [(f'{{pid="{w.pid}"}}', w.viewers) for w in load.workers],
    )
    metric(
        "vasms_node_worker_restarts_total",
        "counter",
        "Workers restarted after dying.",
        [("", sum(s.deaths for s in node.pool.slots))],
    )
    metric(
        "vasms_node_ingest_restarts_total",
        "counter",
        "Ingest process restarts.",
        [
            (
                "",
                sum(
                    s.ingest.stats().restarts
                    for s in node.streams.streams.values()
                    if s.ingest is not None
                ),
            )
        ],
    )
    metric(
        "vasms_node_bytes_in_total",
        "counter",
        "Media bytes received from ingests.",
        [("", int(counters.bytes_in))],
    )
    metric(
        "vasms_node_bytes_out_total",
        "counter",
        "Media bytes sent to viewers (estimated).",
        [("", int(counters.bytes_out))],
    )
    metric(
        "vasms_node_incoming_bitrate_bps",
        "gauge",
        "Ingest bitrate.",
        [("", load.incoming_bitrate_bps)],
    )
    metric(
        "vasms_node_outgoing_bitrate_bps",
        "gauge",
        "Bitrate sent to viewers.",
        [("", load.outgoing_bitrate_bps)],
    )
    return "\n".join(lines) + "\n"


class MetricsServer:
    def __init__(self, node: MediaNode, listen: str) -> None:
        self._node = node
        host, _, port = listen.rpartition(":")
        self._host, self._port = host or "127.0.0.1", int(port)
        self._server: asyncio.Server | None = None
        self._counters = ByteCounters()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if method == "GET" and path.split("?")[0] == "/metrics":
                body, status, ctype = render(self._node, self._counters), "200 OK", CONTENT_TYPE
            else:
                body, status, ctype = "not found\n", "404 Not Found", "text/plain"
            data = body.encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, ConnectionError) as error:
            _log.debug("metrics request: %s", error)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
