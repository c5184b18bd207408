"""REST V2: the routers of each resource, mounted under /api/v2."""

from __future__ import annotations

from fastapi import APIRouter

from control_api.api.v2 import auth, consumers, nodes, streams, transports, users


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v2")
    for module in (auth, users, streams, consumers, transports, nodes):
        api.include_router(module.router)
    return api
