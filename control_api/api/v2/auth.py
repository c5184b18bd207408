"""POST /api/v2/auth/token: credentials (JSON or OAuth2 form) → access token."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from control_api.api.deps import CtxDep, SessionDep
from control_api.auth import authenticate
from control_api.errors import invalid_request, responses
from control_api.schemas.auth import TokenRequest, TokenResponse

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


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Exchange username and password for an access token",
    openapi_extra=_BODY,
    responses=responses(
        401,
        413,
        422,
        s401=("Wrong username or password", "invalid_credentials", "invalid username or password"),
    ),
)
async def issue_token(request: Request, ctx: CtxDep, session: SessionDep) -> TokenResponse:
    """Form fields follow the OAuth2 password grant, so /docs' "Authorize" works."""
    creds = await _credentials(request)
    user = await authenticate(session, creds.username, creds.password)
    return TokenResponse(access_token=ctx.tokens.issue(user), expires_in=ctx.tokens.ttl_s)
