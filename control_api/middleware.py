"""ASGI middleware: request metrics, the auth gate and the body-size limit.

Pure ASGI (no BaseHTTPMiddleware) so bodies stream untouched and WebSockets
pass straight through. The gate answers 401 before FastAPI reads the body,
which gives the contract's order of checks: 401, then 422 for a malformed
body; bodies over the limit answer 413 before any route runs.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_api.auth import bearer_token, principal_from_token
from control_api.db import is_database_failure
from control_api.errors import ApiError, database_unavailable, unauthorized

PUBLIC_API_PATHS = frozenset({"/api/v2/auth/token"})


async def send_error(send: Send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    for name, value in (error.headers or {}).items():
        headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (not raw path: bounded labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None

    def template(self, scope: Scope) -> str:
        """The matched route's full path template (`/api/v2/streams/{stream_id}`)."""
        route: Any = scope.get("route")
        if route is None:
            return "unmatched"
        if self._templates is None:
            # Included routers keep their routes unprefixed; the contexts know the full path.
            self._templates = {
                id(rc.original_route): rc.path
                for rc in iter_route_contexts(scope["app"].routes)
                if rc.path
            }
        return self._templates.get(id(route)) or getattr(route, "path", None) or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = self.template(scope)
            metrics = scope["app"].state.ctx.metrics if hasattr(scope["app"].state, "ctx") else None
            if metrics is not None:
                metrics.http_requests.inc(scope["method"], template, str(status[0]))
                metrics.http_duration.observe(
                    time.perf_counter() - started, scope["method"], template
                )


class AuthGate:
    """Authenticates `/api/` HTTP requests (bearer JWT) before anything else runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path in PUBLIC_API_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        ctx = scope["app"].state.ctx
        try:
            if token is None:
                raise unauthorized()
            principal = await principal_from_token(ctx.sessions, ctx.tokens, token, ctx.hot)
        except ApiError as error:
            await send_error(send, error)
            return
        except Exception as exc:
            if not is_database_failure(exc):
                raise
            await send_error(send, database_unavailable())
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> ApiError:
        return ApiError(413, "payload_too_large", f"request body exceeds {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, self._too_large())
            return
        # Buffer the (small) body so an over-long chunked one is refused before the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(send, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
