"""Users: admins create, list, change, disable and delete them; everyone reads
themselves and changes their own password."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request, Response
from sqlmodel import col, select

from control_api.api.deps import AdminUser, CtxDep, CurrentUser, SessionDep
from control_api.api.v2.auth import client_address, record_failure, refuse_if_throttled
from control_api.auth import create_user, principal_of
from control_api.errors import responses
from control_api.failures import WrongPassword
from control_api.models import Role, User
from control_api.schemas.auth import PasswordChange, TokenResponse, UserCreate, UserOut, UserUpdate
from control_api.services import accounts

router = APIRouter(tags=["users"])


def _out(user: User) -> UserOut:
    created = user.created_at if user.created_at.tzinfo else user.created_at.replace(tzinfo=UTC)
    return UserOut(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        disabled=user.disabled,
        created_at=created,
    )


LAST_ADMIN_409 = ("Would leave no enabled admin", "last_admin", "the last enabled admin …")


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    summary="Create a user (admin)",
    responses=responses(
        401,
        403,
        409,
        413,
        422,
        s409=("Username taken", "username_taken", "user bob already exists"),
    ),
)
async def create(body: UserCreate, _admin: AdminUser, session: SessionDep) -> UserOut:
    return _out(await create_user(session, body.username, body.password, body.role))


@router.get(
    "/users",
    response_model=list[UserOut],
    summary="List users (admin)",
    responses=responses(401, 403),
)
async def list_users(_admin: AdminUser, session: SessionDep) -> list[UserOut]:
    rows = await session.exec(select(User).order_by(col(User.created_at)))
    return [_out(u) for u in rows.all()]


@router.get("/users/me", response_model=UserOut, summary="The caller", responses=responses(401))
async def me(user: CurrentUser, session: SessionDep) -> UserOut:
    row = await session.get(User, user.id)
    assert row is not None  # the gate loaded it a moment ago
    return _out(row)


@router.post(
    "/users/me/password",
    response_model=TokenResponse,
    summary="Change the caller's password",
    responses=responses(
        401,
        403,
        413,
        422,
        429,
        s403=("Current password is wrong", "invalid_credentials", "current password is wrong"),
        s429=("Too many wrong passwords", "login_throttled", "retry in 42 s"),
    ),
)
async def change_password(
    request: Request, body: PasswordChange, user: CurrentUser, ctx: CtxDep, session: SessionDep
) -> TokenResponse:
    """Every token issued before (other sessions, V1 sockets) is revoked; a new one is returned.

    Wrong current passwords count as failed sign-ins (same throttle as /auth/token).
    """
    address = client_address(request)
    refuse_if_throttled(ctx, user.username, address)
    ctx.metrics.password_checks.inc()
    try:
        row = await accounts.change_password(
            ctx, session, user, body.current_password, body.new_password
        )
    except WrongPassword:
        record_failure(ctx, user.username, address)
        raise
    return TokenResponse(
        access_token=ctx.tokens.issue(principal_of(row)), expires_in=ctx.tokens.ttl_s
    )


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Change a user's role or disable it (admin)",
    responses=responses(401, 403, 404, 409, 413, 422, s409=LAST_ADMIN_409),
)
async def update(
    user_id: str, body: UserUpdate, _admin: AdminUser, ctx: CtxDep, session: SessionDep
) -> UserOut:
    """Disabling revokes the user's tokens at once and closes its consumers."""
    return _out(await accounts.update_user(ctx, session, user_id, body.role, body.disabled))


@router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a user (admin)",
    responses=responses(401, 403, 404, 409, s409=LAST_ADMIN_409),
)
async def delete(user_id: str, _admin: AdminUser, ctx: CtxDep, session: SessionDep) -> Response:
    """Its tokens stop working and its consumers are closed."""
    await accounts.delete_user(ctx, session, user_id)
    return Response(status_code=204)
