"""gRPC status codes of the node → domain failures per RPC → HTTP status and `code`."""

from __future__ import annotations

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata

from control_api.api.failure_map import to_api_error
from control_api.failures import QuotaExceeded
from control_api.node_client import CONNECT, CONSUMER, PLAIN, STREAM, close_reason, failure_of
from protos import media_node_pb2 as pb

S = grpc.StatusCode


def err(code: grpc.StatusCode, details: str) -> AioRpcError:
    return AioRpcError(code, Metadata(), Metadata(), details)


@pytest.mark.parametrize(
    ("code", "details", "meaning", "status", "api_code"),
    [
        (S.NOT_FOUND, "no such consumer", PLAIN, 404, "not_found"),
        (S.NOT_FOUND, "stream not here", STREAM, 409, "stream_not_live"),
        (S.FAILED_PRECONDITION, "not live", STREAM, 409, "stream_not_live"),
        (S.FAILED_PRECONDITION, "busy", PLAIN, 409, "conflict"),
        (S.FAILED_PRECONDITION, "connected", CONNECT, 409, "already_connected"),
        (S.FAILED_PRECONDITION, "closed", CONSUMER, 409, "consumer_closed"),
        (S.INVALID_ARGUMENT, "rtp_capabilities: cannot consume", STREAM, 422, "cannot_consume"),
        (S.INVALID_ARGUMENT, "dtls_parameters.role", STREAM, 422, "invalid_request"),
        (S.INVALID_ARGUMENT, "rtp_capabilities", PLAIN, 422, "invalid_request"),
        (S.UNAVAILABLE, "draining", PLAIN, 503, "node_draining"),
        (S.UNAVAILABLE, "connection refused", PLAIN, 503, "node_unavailable"),
        (S.DEADLINE_EXCEEDED, "slow", PLAIN, 503, "node_unavailable"),
        (S.UNAUTHENTICATED, "token", PLAIN, 503, "node_unavailable"),
        (S.RESOURCE_EXHAUSTED, "full", PLAIN, 503, "node_unavailable"),
        (S.INTERNAL, "boom", PLAIN, 502, "node_error"),
    ],
)
def test_mapping(code, details, meaning, status, api_code) -> None:
    failure = failure_of(err(code, details), meaning)
    assert failure.code == api_code
    mapped = to_api_error(failure)
    assert (mapped.status, mapped.code) == (status, api_code)


def test_node_messages_reach_the_client() -> None:
    assert to_api_error(failure_of(err(S.NOT_FOUND, "no such consumer"))).detail == (
        "no such consumer"
    )
    assert to_api_error(failure_of(err(S.UNAVAILABLE, "refused"))).detail == (
        "media node unavailable: refused"
    )


def test_quota_failures_carry_retry_after_only_when_waiting_helps() -> None:
    assert to_api_error(QuotaExceeded("rate", 0.2)).headers == {"Retry-After": "1"}
    assert to_api_error(QuotaExceeded("rate", 2.5)).headers == {"Retry-After": "3"}
    assert to_api_error(QuotaExceeded("cap")).headers is None


def test_close_reasons() -> None:
    assert close_reason(pb.CLOSE_REASON_DTLS_CLOSED) == "dtls_closed"
    assert close_reason(pb.CLOSE_REASON_STREAM_STOPPED) == "stream_stopped"
    assert close_reason(999) == "unspecified"
