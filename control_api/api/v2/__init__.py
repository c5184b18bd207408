"""REST V2: the routers of each resource, mounted under /api/v2."""

from __future__ import annotations

from fastapi import APIRouter

from control_api.api.v2 import auth, consumers, nodes, streams, transports, users


def router(*, media: bool = True) -> APIRouter:
    """The /api/v2 routes. ``media=False`` (VASMS_ENABLE_V2=false) keeps sign-in and
    user management, which V1 clients need for their token, and drops the rest, so
    players see 404 on the V2 media routes and fall back to the V1 WebSocket."""
    api = APIRouter(prefix="/api/v2")
    modules = (auth, users, streams, consumers, transports, nodes) if media else (auth, users)
    for module in modules:
        api.include_router(module.router)
    return api
