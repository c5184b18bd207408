"""Users: admins create and list them; everyone reads themselves."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter
from sqlmodel import col, select

from control_api.api.deps import AdminUser, CurrentUser, SessionDep
from control_api.auth import create_user
from control_api.errors import responses
from control_api.models import Role, User
from control_api.schemas.auth import UserCreate, UserOut

router = APIRouter(tags=["users"])


def _out(user: User) -> UserOut:
    created = user.created_at if user.created_at.tzinfo else user.created_at.replace(tzinfo=UTC)
    return UserOut(id=user.id, username=user.username, role=Role(user.role), created_at=created)


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
