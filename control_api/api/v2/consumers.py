"""Viewer endpoints: router capabilities, consume, and the consumer resource."""

from __future__ import annotations

from fastapi import APIRouter, Response

from control_api.api.deps import CtxDep, CurrentUser, SessionDep
from control_api.errors import not_found, responses, with_examples
from control_api.schemas.media import (
    AudioConsumerOut,
    ConsumeRequest,
    ConsumeResponse,
    ConsumerOut,
    RouterCapabilitiesOut,
    TransportOut,
)
from control_api.services import streams as stream_ops
from control_api.services import turn, viewers

router = APIRouter(tags=["viewers"])

NOT_LIVE = ("Stream not live", "stream_not_live", "stream 0b8f… is not live (stopped)")
CONSUMER_CLOSED = ("Consumer closed", "consumer_closed", "consumer 5c0e… is closed (dtls_closed)")


@router.get(
    "/streams/{stream_id}/router-capabilities",
    response_model=RouterCapabilitiesOut,
    summary="RTP capabilities of the stream's router (load them into a mediasoup-client Device)",
    responses=responses(401, 404, 409, 503, 504, s409=NOT_LIVE),
)
async def router_capabilities(
    stream_id: str, _user: CurrentUser, ctx: CtxDep
) -> RouterCapabilitiesOut:
    stream = await stream_ops.find(ctx, stream_id)
    return RouterCapabilitiesOut(rtp_capabilities=await viewers.router_capabilities(ctx, stream))


@router.post(
    "/streams/{stream_id}/consume",
    status_code=201,
    response_model=ConsumeResponse,
    summary="Create a receive transport and a consumer of the stream",
    responses=with_examples(
        responses(401, 404, 409, 413, 422, 429, 503, 504, s409=NOT_LIVE),
        422,
        {
            "malformed": ("invalid_request", "body.client_id: Field required"),
            "cannot_consume": ("cannot_consume", "rtp_capabilities cannot consume the producer"),
        },
    ),
)
async def consume(
    stream_id: str, body: ConsumeRequest, user: CurrentUser, ctx: CtxDep, session: SessionDep
) -> ConsumeResponse:
    """With `dtls_parameters` the transport connects at once: no connect call needed."""
    stream = await stream_ops.find(ctx, stream_id)
    done = await viewers.consume(
        ctx,
        session,
        user,
        stream,
        body.client_id,
        body.rtp_capabilities,
        body.dtls_parameters,
        body.paused,
        audio=body.audio,
    )
    t = done.transport
    return ConsumeResponse(
        consumer_id=done.consumer.id,
        producer_id=done.consumer.producer_id,
        stream_id=stream.id,
        kind=done.consumer.kind,
        rtp_parameters=done.rtp_parameters,
        transport=TransportOut(
            id=t["id"],
            ice_parameters=t["iceParameters"],
            ice_candidates=t["iceCandidates"],
            dtls_parameters=t["dtlsParameters"],
        ),
        connected=done.connected,
        paused=done.consumer.paused,
        ice_servers=turn.ice_servers(ctx.settings, user.id),
        audio=(
            AudioConsumerOut(
                consumer_id=done.audio.id,
                producer_id=done.audio.producer_id,
                rtp_parameters=done.audio_rtp_parameters or {},
            )
            if done.audio is not None
            else None
        ),
    )


@router.get(
    "/consumers/{consumer_id}",
    response_model=ConsumerOut,
    summary="State and statistics of one of your consumers",
    responses=responses(401, 404),
)
async def get(consumer_id: str, user: CurrentUser, ctx: CtxDep, session: SessionDep) -> ConsumerOut:
    """A consumer its node closed stays readable for 60 s with `closed_reason`."""
    row = await viewers.owned(ctx, session, user, consumer_id)
    return await viewers.describe(ctx, session, row)


@router.post(
    "/consumers/{consumer_id}/resume",
    status_code=204,
    response_class=Response,
    summary="Resume a consumer created paused",
    responses=responses(401, 404, 409, 503, s409=CONSUMER_CLOSED),
)
async def resume(consumer_id: str, user: CurrentUser, ctx: CtxDep, session: SessionDep) -> Response:
    row = await viewers.owned(ctx, session, user, consumer_id)
    await viewers.resume(ctx, session, row)
    return Response(status_code=204)


@router.delete(
    "/consumers/{consumer_id}",
    status_code=204,
    response_class=Response,
    summary="Close a consumer (a video consumer: with its transport and audio consumer)",
    responses=responses(401, 404),
)
async def delete(consumer_id: str, user: CurrentUser, ctx: CtxDep, session: SessionDep) -> Response:
    """Another user's consumer answers 404, as an unknown one does."""
    row = await viewers.owned_row(ctx, user, consumer_id)
    if not await viewers.close_owned(ctx, row):
        raise not_found("consumer", consumer_id)  # a concurrent close got there first
    return Response(status_code=204)
