"""Who may call the node: the bearer token, then the owning cluster.

Both run before any servicer code, so a refused call changes nothing. Health
checks (load balancers, Kubernetes probes) need neither.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from media_node.cluster import CLUSTER_METADATA, ForeignCluster, Membership

_OPEN = ("/grpc.health.v1.Health/",)
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]]


def _metadata(details: grpc.HandlerCallDetails, key: str) -> str:
    return str(dict(details.invocation_metadata or ()).get(key, ""))


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Every call but health checks needs `authorization: Bearer <token>` (unless auth is
    off) and, when it names a cluster, this node's cluster.

    One interceptor, in this order, so a caller without the token cannot claim the node.
    """

    def __init__(self, token: str | None, membership: Membership) -> None:
        self._expected = f"Bearer {token}".encode() if token is not None else None
        self._membership = membership

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN):
            return handler
        if self._expected is not None:
            given = _metadata(details, "authorization").encode()
            if not hmac.compare_digest(given, self._expected):
                return refusing(
                    handler, grpc.StatusCode.UNAUTHENTICATED, "missing or wrong node token"
                )
        caller = _metadata(details, CLUSTER_METADATA)
        if caller:
            try:
                self._membership.check(caller)
            except ForeignCluster as error:
                return refusing(handler, grpc.StatusCode.PERMISSION_DENIED, str(error))
        return handler


def refusing(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that aborts with `code`."""

    async def deny(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, message)

    async def deny_stream(_request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)
        yield  # pragma: no cover (makes this an async generator)

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(deny_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(deny, **kwargs)
