"""gRPC status codes of the node → HTTP status and `code`, per call site."""

from __future__ import annotations

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata

from control_api.node_client import ErrorMap, close_reason, map_rpc_error
from control_api.services.viewers import CONNECT_ERRORS, STREAM_ERRORS
from protos import media_node_pb2 as pb

S = grpc.StatusCode


def err(code: grpc.StatusCode, details: str) -> AioRpcError:
    return AioRpcError(code, Metadata(), Metadata(), details)


@pytest.mark.parametrize(
    ("code", "details", "errors", "status", "api_code"),
    [
        (grpc.StatusCode.NOT_FOUND, "no such consumer", ErrorMap(), 404, "not_found"),
        (grpc.StatusCode.NOT_FOUND, "stream not here", STREAM_ERRORS, 409, "stream_not_live"),
        (grpc.StatusCode.FAILED_PRECONDITION, "not live", STREAM_ERRORS, 409, "stream_not_live"),
        (
            grpc.StatusCode.FAILED_PRECONDITION,
            "connected",
            CONNECT_ERRORS,
            409,
            "already_connected",
        ),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "rtp_capabilities: cannot consume",
            STREAM_ERRORS,
            422,
            "cannot_consume",
        ),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "dtls_parameters.role",
            STREAM_ERRORS,
            422,
            "invalid_request",
        ),
        (grpc.StatusCode.INVALID_ARGUMENT, "rtp_capabilities", ErrorMap(), 422, "invalid_request"),
        (grpc.StatusCode.UNAVAILABLE, "draining", ErrorMap(), 503, "node_draining"),
        (grpc.StatusCode.UNAVAILABLE, "connection refused", ErrorMap(), 503, "node_unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "slow", ErrorMap(), 503, "node_unavailable"),
        (grpc.StatusCode.UNAUTHENTICATED, "token", ErrorMap(), 503, "node_unavailable"),
        (grpc.StatusCode.INTERNAL, "boom", ErrorMap(), 502, "node_error"),
    ],
)
def test_mapping(code, details, errors, status, api_code) -> None:
    mapped = map_rpc_error(err(code, details), errors)
    assert (mapped.status, mapped.code) == (status, api_code)


def test_close_reasons() -> None:
    assert close_reason(pb.CLOSE_REASON_DTLS_CLOSED) == "dtls_closed"
    assert close_reason(pb.CLOSE_REASON_STREAM_STOPPED) == "stream_stopped"
    assert close_reason(999) == "unspecified"
