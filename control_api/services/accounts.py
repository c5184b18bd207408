"""Account lifecycle: role changes, disabling, deletion, password changes.

Disabling a user or changing a password bumps the user's token version in
one UPDATE, which invalidates every token issued before on every replica at
once (`auth.principal_for` compares it on each request; open V1 sockets are
re-checked by `services.revocation`). A disabled or deleted user's consumers
are closed too: revoking access must also stop the media already flowing.
The last enabled admin cannot be disabled, demoted or deleted (nobody could
manage users any more).
"""

from __future__ import annotations

import logging

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.auth import Principal, hash_password, verify_password
from control_api.context import AppContext
from control_api.failures import InvalidRequest, LastAdmin, WrongPassword, not_found
from control_api.models import Consumer, ConsumerState, Role, User
from control_api.services import viewers

log = logging.getLogger(__name__)


def last_admin() -> LastAdmin:
    return LastAdmin("the last enabled admin cannot be disabled or removed")


async def get_or_404(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


async def _other_admins(session: AsyncSession, user_id: str) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(User)
        .where(
            col(User.role) == Role.admin.value,
            col(User.disabled).is_(False),
            col(User.id) != user_id,
        )
    )
    return int(result.one())


async def _bump_version(session: AsyncSession, user_id: str) -> None:
    await session.exec(
        update(User).where(col(User.id) == user_id).values(token_version=User.token_version + 1)  # type: ignore[operator]
    )


def _revoke_here(ctx: AppContext, user_id: str) -> None:
    if ctx.sockets is not None:
        ctx.sockets.revoke(user_id)


async def close_consumers_of(ctx: AppContext, session: AsyncSession, user_id: str) -> int:
    """Closes every open consumer of `user_id` (rows first, then on their nodes)."""
    rows = await session.exec(
        select(Consumer).where(
            col(Consumer.owner_id) == user_id,
            col(Consumer.state) != ConsumerState.closed.value,
        )
    )
    closed = 0
    for row in rows.all():
        if await viewers.close(ctx, session, row):
            closed += 1
    return closed


async def update_user(
    ctx: AppContext,
    session: AsyncSession,
    user_id: str,
    role: Role | None,
    disabled: bool | None,
) -> User:
    """Changes role and/or disabled; disabling revokes the user's tokens and consumers."""
    user = await get_or_404(session, user_id)
    loses_admin = user.role == Role.admin.value and not user.disabled
    loses_admin = loses_admin and (disabled is True or (role is not None and role != Role.admin))
    if loses_admin and await _other_admins(session, user.id) == 0:
        raise last_admin()
    disabling = disabled is True and not user.disabled
    if role is not None:
        user.role = role.value
    if disabled is not None:
        user.disabled = disabled
    session.add(user)
    if disabling:
        await _bump_version(session, user.id)
    await session.commit()
    await session.refresh(user)
    if disabling:
        _revoke_here(ctx, user.id)
        closed = await close_consumers_of(ctx, session, user.id)
        log.info("user disabled", extra={"user_id": user.id, "consumers_closed": closed})
    return user


async def delete_user(ctx: AppContext, session: AsyncSession, user_id: str) -> None:
    user = await get_or_404(session, user_id)
    is_admin = user.role == Role.admin.value and not user.disabled
    if is_admin and await _other_admins(session, user.id) == 0:
        raise last_admin()
    await session.delete(user)
    await session.commit()
    _revoke_here(ctx, user_id)
    closed = await close_consumers_of(ctx, session, user_id)
    log.info("user deleted", extra={"user_id": user_id, "consumers_closed": closed})


async def change_password(
    ctx: AppContext, session: AsyncSession, principal: Principal, current: str, new: str
) -> User:
    """Sets a new password after checking the current one; revokes every older token."""
    user = await get_or_404(session, principal.id)
    if not await verify_password(user.password_hash, current):
        raise WrongPassword("current password is wrong")
    if current == new:
        raise InvalidRequest("new password must differ from the current one")
    user.password_hash = await hash_password(new)
    session.add(user)
    await _bump_version(session, user.id)
    await session.commit()
    await session.refresh(user)
    _revoke_here(ctx, user.id)
    log.info("password changed", extra={"user_id": user.id})
    return user
