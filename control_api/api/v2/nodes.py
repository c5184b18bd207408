"""Media nodes as this replica sees them (admin): list, drain."""

from __future__ import annotations

import time

from fastapi import APIRouter

from control_api.api.deps import AdminUser, CtxDep
from control_api.errors import not_found, responses
from control_api.node_client import NodeHandle
from control_api.schemas.nodes import DrainOut, DrainRequest, NodeList, NodeOut

router = APIRouter(tags=["nodes"])


def _out(handle: NodeHandle, stale_after_s: float) -> NodeOut:
    load = handle.load
    workers = list(load.workers) if load else []
    return NodeOut(
        id=handle.node_id,
        address=handle.address,
        reachable=handle.fresh(stale_after_s),
        draining=handle.draining,
        cpu_percent=sum(w.cpu_percent for w in workers) / len(workers) if workers else 0.0,
        streams=load.streams if load else 0,
        transports=load.transports if load else 0,
        consumers=load.consumers if load else 0,
        outgoing_bitrate_bps=load.outgoing_bitrate_bps if load else 0,
        age_s=round(time.monotonic() - handle.load_at, 3) if handle.load_at else None,
    )


@router.get(
    "/nodes", response_model=NodeList, summary="Media nodes (admin)", responses=responses(401, 403)
)
async def list_nodes(_admin: AdminUser, ctx: CtxDep) -> NodeList:
    stale = ctx.settings.node_stale_after_s
    return NodeList(nodes=[_out(h, stale) for h in ctx.nodes.handles])


@router.post(
    "/nodes/{node_id}/drain",
    response_model=DrainOut,
    summary="Drain a node: no new streams or viewers, existing viewers stay (admin)",
    responses=responses(401, 403, 404, 413, 422, 503),
)
async def drain(node_id: str, body: DrainRequest, _admin: AdminUser, ctx: CtxDep) -> DrainOut:
    handle = ctx.nodes.known(node_id)
    if handle is None:
        raise not_found("node", node_id)
    reply = await ctx.nodes.drain(handle, body.deadline_s)
    handle.draining = True
    return DrainOut(
        draining=reply.draining,
        consumers_remaining=reply.consumers_remaining,
        deadline_ms=reply.deadline_ms,
    )
