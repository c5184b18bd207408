"""`vasms-media-node`: the media node daemon's entry point.

A grpc.aio server with the MediaNode service, the standard health service (so
load balancers and Kubernetes probes can check it without credentials) and
reflection (so operators can use grpcurl). SIGTERM drains: new work is refused,
viewers may finish until the drain deadline, then the process exits 0.
SIGINT stops at once.

The listener is TLS (mTLS with a client CA) when configured; plaintext only on
loopback unless `VASMS_NODE_INSECURE=true`. The node token comes from the
environment or a file, never from the command line (`ps` shows argv to
every user of the host).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pydantic import ValidationError

from media_node import tls
from media_node.cluster import Membership
from media_node.config import NodeSettings
from media_node.interceptors import AccessInterceptor
from media_node.metrics import MetricsServer
from media_node.node import MediaNode
from media_node.service import Servicer
from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc

_log = logging.getLogger("media_node")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MediaNode"].full_name


async def serve(settings: NodeSettings, membership: Membership) -> int:
    node = MediaNode(settings)
    await node.start()
    token = None if settings.node_auth_disabled else settings.node_token or ""
    server = grpc.aio.server(interceptors=[AccessInterceptor(token, membership)])
    pb_grpc.add_MediaNodeServicer_to_server(Servicer(node), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    credentials = tls.server_credentials(settings)
    if credentials is None:
        port = server.add_insecure_port(settings.node_grpc_listen)
    else:
        port = server.add_secure_port(settings.node_grpc_listen, credentials)
    await server.start()
    metrics = None
    if settings.node_metrics_listen:
        metrics = MetricsServer(node, settings.node_metrics_listen)
        await metrics.start()
        print(
            f"metrics on http://{settings.node_metrics_listen.rsplit(':', 1)[0]}:"
            f"{metrics.port}/metrics",
            flush=True,
        )
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    host = settings.node_grpc_listen.rsplit(":", 1)[0]
    print(
        f"media node {settings.node_id} listening on {host}:{port} "
        f"({settings.workers} workers, {tls.describe(settings)}, "
        f"token {'off' if settings.node_auth_disabled else 'on'}, "
        f"cluster {membership.cluster_id or 'unclaimed'})",
        flush=True,
    )

    stop_now = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop_now.set)
    loop.add_signal_handler(signal.SIGTERM, lambda: node.start_drain(settings.drain_deadline_s))
    drained = asyncio.ensure_future(node.drained.wait())
    interrupted = asyncio.ensure_future(stop_now.wait())
    await asyncio.wait({drained, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    for task in (drained, interrupted):
        task.cancel()
    _log.info(
        "media node %s stopping (%s)",
        settings.node_id,
        "drained" if node.drained.is_set() else "interrupted",
    )
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    node.bus.close()
    if metrics is not None:
        await metrics.stop()
    await server.stop(grace=2.0)
    await node.close()
    await membership.saved()
    return 0


def _parse_args(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="vasms-media-node", description="VAS-MS media node (flags override VASMS_* env)"
    )
    parser.add_argument("--listen", dest="node_grpc_listen")
    parser.add_argument("--node-id", dest="node_id")
    parser.add_argument(
        "--no-auth",
        dest="node_auth_disabled",
        action="store_true",
        default=None,
        help="accept calls without a token (local development only)",
    )
    parser.add_argument("--workers", type=int)
    parser.add_argument("--rtc-listen-ip", dest="rtc_listen_ip")
    parser.add_argument("--rtc-announced-address", dest="rtc_announced_address")
    parser.add_argument("--rtc-min-port", dest="rtc_min_port", type=int)
    parser.add_argument("--rtc-max-port", dest="rtc_max_port", type=int)
    parser.add_argument("--metrics-listen", dest="node_metrics_listen")
    parser.add_argument("--log-level", default="INFO")
    args = vars(parser.parse_args(argv))
    logging.basicConfig(
        level=args.pop("log_level").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return {key: value for key, value in args.items() if value is not None}


def main(argv: list[str] | None = None) -> None:
    overrides = _parse_args(argv)
    try:
        settings = NodeSettings(**overrides)
        membership = Membership(settings.node_cluster_id, settings.node_state_file)
    except ValidationError as error:
        for problem in error.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            print(f"vasms-media-node: {message}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValueError as error:
        print(f"vasms-media-node: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if os.environ.get("VASMS_NODE_EVENT_LOOP", "asyncio") == "uvloop":
        # Measured in bench/consume_latency.py (node gRPC Consume with and without);
        # asyncio stays the default.
        import uvloop

        uvloop.install()
    raise SystemExit(asyncio.run(serve(settings, membership)))


if __name__ == "__main__":
    main()
