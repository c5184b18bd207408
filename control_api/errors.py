"""One error shape for every failure: `{"detail": str, "code": str}`.

Handlers here turn our `ApiError`, Starlette's HTTP errors and FastAPI's
validation errors into that shape, so clients branch on `code` and nothing a
client sends can surface as a 500 with an HTML or list-shaped body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from control_api.db import DATABASE_ERRORS, is_database_failure

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str = Field(description="What went wrong, for humans.")
    code: str = Field(description="Stable machine-readable error code.")


class ApiError(Exception):
    """An error with its HTTP status and stable code; raised anywhere, rendered once."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers

    def body(self) -> dict[str, str]:
        return {"detail": self.detail, "code": self.code}


def unauthorized(detail: str = "not authenticated") -> ApiError:
    return ApiError(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "insufficient role") -> ApiError:
    return ApiError(403, "forbidden", detail)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} not found")


def invalid_request(detail: str) -> ApiError:
    return ApiError(422, "invalid_request", detail)


# Examples shown in the OpenAPI document, one per status this API answers.
EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("Bad request", "bad_request", "malformed request"),
    401: ("Missing, invalid or expired bearer token", "unauthorized", "not authenticated"),
    403: ("The user's role does not allow this", "forbidden", "requires role operator"),
    404: ("Unknown id (or not yours)", "not_found", "stream 3f2a… not found"),
    405: ("Method not allowed", "method_not_allowed", "method not allowed"),
    409: ("Wrong state for this operation", "stream_not_live", "stream 3f2a… is not live"),
    413: ("Body over 64 KiB", "payload_too_large", "request body exceeds 65536 bytes"),
    422: ("Malformed body", "invalid_request", "body.client_id: Field required"),
    429: ("A limit was reached", "quota_exceeded", "at most 20 open consumers per user"),
    503: ("No media node could serve the request", "node_unavailable", "media node unreachable"),
    504: (
        "An on-demand stream did not go live in time",
        "stream_start_timeout",
        "stream 0b8f… did not go live within 10 s (error: camera unreachable)",
    ),
}


def responses(*statuses: int, **overrides: tuple[str, str, str]) -> dict[int | str, Any]:
    """OpenAPI `responses` for the given error statuses, each with an example body.

    `overrides` (keyed `s409=...`) replace the default (description, code, detail);
    `with_examples` adds several named examples when one status carries several codes.
    """
    out: dict[int | str, Any] = {}
    for status in statuses:
        description, code, detail = overrides.get(f"s{status}", EXAMPLES[status])
        out[status] = {
            "model": ErrorBody,
            "description": description,
            "content": {"application/json": {"example": {"detail": detail, "code": code}}},
        }
    return out


def with_examples(
    base: dict[int | str, Any], status: int, examples: dict[str, tuple[str, str]]
) -> dict[int | str, Any]:
    """Adds named examples (code, detail) to `status` when one status has several codes."""
    content = base[status]["content"]["application/json"]
    content.pop("example", None)
    content["examples"] = {
        name: {"value": {"detail": detail, "code": code}}
        for name, (code, detail) in examples.items()
    }
    return base


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's only 400 is a body it could not parse (e.g. JSON nested too deep).
        return JSONResponse({"detail": "malformed body", "code": "invalid_request"}, 422)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = getattr(exc, "headers", None)
    return JSONResponse({"detail": detail.lower(), "code": code}, exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _validation_detail(exc), "code": "invalid_request"}, 422)


def database_unavailable() -> ApiError:
    return ApiError(503, "database_unavailable", "database unavailable", {"Retry-After": "1"})


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    error = database_unavailable()
    return JSONResponse(error.body(), error.status, headers=error.headers)


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    """OSError/TimeoutError: a database failure if raised in its driver, else a bug."""
    if is_database_failure(exc):
        return await _database_down(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error", "code": "internal"}, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database_down)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected)
