"""Shared route dependencies as `Annotated` aliases, so signatures stay one line."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.auth import Principal, get_current_user, require
from control_api.context import AppContext
from control_api.models import Role

# Declares the bearer scheme in OpenAPI ("Authorize" in /docs); the gate checks it.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v2/auth/token", auto_error=False)


async def get_ctx(request: Request) -> AppContext:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a
    thread hop on every request for one attribute read."""
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


async def get_session(ctx: CtxDep) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def _current(
    request: Request, _token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    return await get_current_user(request)


CurrentUser = Annotated[Principal, Depends(_current)]


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(user: CurrentUser) -> Principal:
        require(user, role)
        return user

    return dependency


OperatorUser = Annotated[Principal, Depends(require_role(Role.operator))]
AdminUser = Annotated[Principal, Depends(require_role(Role.admin))]
