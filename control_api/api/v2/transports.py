"""POST /api/v2/transports/{id}/connect: the viewer's DTLS parameters."""

from __future__ import annotations

from fastapi import APIRouter, Response

from control_api.api.deps import CtxDep, CurrentUser, SessionDep
from control_api.errors import responses
from control_api.schemas.media import ConnectRequest
from control_api.services import viewers

router = APIRouter(tags=["viewers"])


@router.post(
    "/transports/{transport_id}/connect",
    status_code=204,
    response_class=Response,
    summary="Connect a receive transport (from mediasoup-client's `connect` event)",
    responses=responses(
        401,
        404,
        409,
        413,
        422,
        503,
        s409=("Already connected", "already_connected", "transport e4d2… is already connected"),
    ),
)
async def connect(
    transport_id: str, body: ConnectRequest, user: CurrentUser, ctx: CtxDep, session: SessionDep
) -> Response:
    """Not needed when `consume` got `dtls_parameters` (409 already_connected then)."""
    await viewers.connect(ctx, session, user, transport_id, body.dtls_parameters)
    return Response(status_code=204)
