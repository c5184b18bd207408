"""Liveness, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from control_api.api.deps import CtxDep
from control_api.db import ping

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

READY_EXAMPLE = {
    "status": "ready",
    "database": "ok",
    "nodes": [{"address": "10.0.0.21:50051", "id": "node-a", "reachable": True}],
}
NOT_READY_EXAMPLE = {
    "detail": "no media node reachable",
    "code": "not_ready",
    "database": "ok",
    "nodes": [{"address": "10.0.0.21:50051", "id": None, "reachable": False}],
}


@router.get(
    "/healthz",
    summary="Liveness: the process serves requests",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database answers and at least one media node is reachable",
    responses={
        200: {"description": "Ready", "content": {"application/json": {"example": READY_EXAMPLE}}},
        503: {
            "description": "Not ready",
            "content": {"application/json": {"example": NOT_READY_EXAMPLE}},
        },
    },
)
async def readyz(ctx: CtxDep) -> JSONResponse:
    database = "ok"
    try:
        await ping(ctx.engine)
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", exc)
        database = "unreachable"
    stale = ctx.settings.node_stale_after_s
    nodes: list[dict[str, Any]] = [
        {"address": h.address, "id": h.node_id, "reachable": h.fresh(stale)}
        for h in ctx.nodes.handles
    ]
    problems = []
    if database != "ok":
        problems.append("database unreachable")
    if not any(n["reachable"] for n in nodes):
        problems.append("no media node reachable")
    body: dict[str, Any] = {"database": database, "nodes": nodes}
    if problems:
        return JSONResponse({"detail": "; ".join(problems), "code": "not_ready", **body}, 503)
    return JSONResponse({"status": "ready", **body})


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format 0.0.4)",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": "# HELP vasms_node_up 1 if the node answered recently.\n"
                    "# TYPE vasms_node_up gauge\n"
                    'vasms_node_up{node="node-a"} 1\n'
                }
            }
        }
    },
)
async def metrics(ctx: CtxDep) -> PlainTextResponse:
    return PlainTextResponse(
        await ctx.metrics.registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
