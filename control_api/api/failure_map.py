"""The one place domain failures become HTTP: status, `{"detail","code"}`, headers.

Services raise `failures.Failure` kinds and know nothing of HTTP; REST answers get
the status below, V1 socket answers the same `code` and `detail` (api/v1/ws.py).
A failure kind without a status here is a bug the structure test catches.
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from control_api import failures as f
from control_api.errors import ApiError

STATUS: dict[type[f.Failure], int] = {
    f.NotFound: 404,
    f.InvalidRequest: 422,
    f.CannotConsume: 422,
    f.Conflict: 409,
    f.StreamNotLive: 409,
    f.StreamRunning: 409,
    f.AlreadyConnected: 409,
    f.ConsumerClosed: 409,
    f.LastAdmin: 409,
    f.WrongPassword: 403,
    f.QuotaExceeded: 429,
    f.NodeError: 502,
    f.NodeUnavailable: 503,
    f.NodeDraining: 503,
    f.NoNodeAvailable: 503,
    f.RelayUnavailable: 503,
    f.StreamStartTimeout: 504,
}


def to_api_error(failure: f.Failure) -> ApiError:
    """The HTTP form of `failure` (500 `internal` for a kind missing above)."""
    status = STATUS.get(type(failure))
    if status is None:
        return ApiError(500, "internal", "internal error")
    headers = None
    if isinstance(failure, f.QuotaExceeded) and failure.retry_after:
        headers = {"Retry-After": str(max(1, math.ceil(failure.retry_after)))}
    return ApiError(status, failure.code, failure.detail, headers)


async def _failure(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, f.Failure)
    error = to_api_error(exc)
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(f.Failure, _failure)
