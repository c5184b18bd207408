"""POST /api/v2/auth/token: credentials (JSON or OAuth2 form) → access token."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from control_api.api.deps import CtxDep, SessionDep
from control_api.auth import authenticate
from control_api.context import AppContext
from control_api.errors import ApiError, invalid_request, responses
from control_api.schemas.auth import TokenRequest, TokenResponse
from control_api.services.quotas import limits_of

router = APIRouter(tags=["auth"])

_SCHEMA = TokenRequest.model_json_schema()
_EXAMPLE = {"username": "alice", "password": "s3cret-pass"}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _SCHEMA, "example": _EXAMPLE},
            "application/x-www-form-urlencoded": {"schema": _SCHEMA, "example": _EXAMPLE},
        },
    }
}


async def _credentials(request: Request) -> TokenRequest:
    """Reads JSON or a form body; both shapes validate through the same model."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            data: Any = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            data = json.loads(await request.body() or b"null")
        return TokenRequest.model_validate(data)
    except (ValueError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "body"
            raise invalid_request(f"body.{loc}: {err['msg']}") from exc
        raise invalid_request("body must be JSON or a form with username and password") from exc


def client_address(request: Request) -> str:
    """The peer address (uvicorn replaces it from X-Forwarded-For for trusted proxies only)."""
    return request.client.host if request.client else "unknown"


def throttled(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "login_throttled",
        f"too many failed sign-ins; retry in {retry_after} s",
        {"Retry-After": str(retry_after)},
    )


def refuse_if_throttled(ctx: AppContext, username: str, address: str) -> None:
    """429 with Retry-After before any password is hashed, when a login limit is reached."""
    wait = limits_of(ctx).logins.retry_after(username, address)
    if wait is not None:
        ctx.metrics.logins.inc("throttled")
        raise throttled(wait)


def record_failure(ctx: AppContext, username: str, address: str) -> None:
    ctx.metrics.logins.inc("invalid")
    limits_of(ctx).logins.failed(username, address)


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Exchange username and password for an access token",
    openapi_extra=_BODY,
    responses=responses(
        401,
        413,
        422,
        429,
        s401=("Wrong username or password", "invalid_credentials", "invalid username or password"),
        s429=("Too many failed sign-ins", "login_throttled", "retry in 42 s"),
    ),
)
async def issue_token(request: Request, ctx: CtxDep, session: SessionDep) -> TokenResponse:
    """Form fields follow the OAuth2 password grant, so /docs' "Authorize" works.

    Throttled (429, `Retry-After`) after repeated failures, see services/throttle.py.
    """
    creds = await _credentials(request)
    address = client_address(request)
    refuse_if_throttled(ctx, creds.username, address)
    ctx.metrics.password_checks.inc()
    try:
        user = await authenticate(session, creds.username, creds.password)
    except ApiError as error:
        if error.code == "invalid_credentials":
            record_failure(ctx, creds.username, address)
        raise
    limits_of(ctx).logins.succeeded(creds.username, address)
    ctx.metrics.logins.inc("ok")
    return TokenResponse(access_token=ctx.tokens.issue(user), expires_in=ctx.tokens.ttl_s)
