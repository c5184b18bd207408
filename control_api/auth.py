"""Users, passwords and access tokens.

Passwords are argon2id hashes; hashing costs ~50 ms of CPU by design, so it
runs in a thread and the event loop keeps serving. Access tokens are HS256
JWTs carrying the user id, role and the user's token version; every request
still loads the user and compares the version, so disabling a user or
changing a password (both bump the version) revokes every token issued
before at once, not when it expires. A cache of that lookup, if one is ever
added, must be dropped on this replica whenever a version changes here and
must never skip the version comparison.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from control_api.config import InsecureSettings, Settings
from control_api.db import SessionFactory
from control_api.errors import ApiError, forbidden, unauthorized
from control_api.hot_path import HotPath
from control_api.models import Role, User, UserId

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not a real password")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, detached from any DB session."""

    id: UserId
    username: str
    role: Role
    # The user's token version when this principal was loaded (tokens carry it as "ver").
    token_version: int = 0

    def has(self, role: Role) -> bool:
        return self.role.rank >= role.rank


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


class TokenCodec:
    """Issues and verifies access tokens with one secret shared by all replicas."""

    def __init__(self, settings: Settings) -> None:
        if settings.jwt_secret is None:
            if not settings.dev:
                raise InsecureSettings("VASMS_JWT_SECRET is not set (VASMS_DEV=true allows it)")
            log.warning(
                "VASMS_JWT_SECRET is not set: using a random key; tokens die with this "
                "process and are not accepted by other replicas"
            )
            self._secret = secrets.token_urlsafe(48)
        else:
            self._secret = settings.jwt_secret.get_secret_value()
        self._algorithm = settings.jwt_algorithm
        self.ttl_s = settings.access_token_ttl_s

    def issue(self, user: Principal) -> str:
        now = int(time.time())
        claims = {
            "sub": user.id,
            "name": user.username,
            "role": user.role.value,
            "ver": user.token_version,
            "iat": now,
            "exp": now + self.ttl_s,
            "typ": "access",
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raises `ApiError` 401 for anything not issued by us and live."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid token") from exc
        if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
            raise unauthorized("invalid token")
        if not isinstance(claims.setdefault("ver", 0), int):
            raise unauthorized("invalid token")
        return claims


def principal_of(user: User) -> Principal:
    return Principal(UserId(user.id), user.username, Role(user.role), user.token_version)


async def principal_for(
    session: AsyncSession, user_id: str, token_version: int | None = None
) -> Principal | None:
    """The enabled user `user_id`; None if unknown, disabled or its tokens were revoked.

    `token_version` is the token's "ver": a token older than the user's current
    version (the user was disabled or changed the password since) is refused.
    """
    user = await session.get(User, user_id)
    if user is None or user.disabled:
        return None
    if token_version is not None and token_version != user.token_version:
        return None
    return principal_of(user)


async def authenticate(session: AsyncSession, username: str, password: str) -> Principal:
    result = await session.exec(select(User).where(User.username == username))
    user = result.first()
    ok = await verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or user.disabled:
        raise invalid_credentials()
    return principal_of(user)


def invalid_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", "invalid username or password")


async def create_user(session: AsyncSession, username: str, password: str, role: Role) -> User:
    """Inserts a user; 409 `username_taken` if the name exists."""
    user = User(username=username, password_hash=await hash_password(password), role=role.value)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(409, "username_taken", f"user {username} already exists") from exc
    return user


async def ensure_first_admin(session: AsyncSession, settings: Settings) -> None:
    """Creates the admin from VASMS_ADMIN_* when the users table is empty.

    Replicas starting together may race here; the unique username makes the
    loser's insert fail harmlessly.
    """
    count = (await session.exec(select(func.count()).select_from(User))).one()
    if count:
        return
    if not settings.admin_username or settings.admin_password is None:
        log.warning("no users yet and VASMS_ADMIN_USERNAME/PASSWORD unset: nobody can log in")
        return
    try:
        await create_user(
            session,
            settings.admin_username,
            settings.admin_password.get_secret_value(),
            Role.admin,
        )
        log.info("created first admin %s", settings.admin_username)
    except ApiError:
        log.info("first admin already created by another replica")


def require(principal: Principal, role: Role) -> None:
    if not principal.has(role):
        raise forbidden(f"requires role {role.value}")


async def principal_from_token(
    sessions: SessionFactory, tokens: TokenCodec, token: str, hot: HotPath | None = None
) -> Principal:
    """Verifies a bearer token and loads its user (401 unless both are valid).

    With `hot` (the auth gate, on every request) the user row comes from `HotPath.get`,
    which answers what `session.get` would, without a session (~0.1 ms instead of
    ~1.8 ms on SQLite, control_api/hot_path.py); `principal_for` applies the same
    checks (disabled, token version) to it either way.
    """
    claims = tokens.verify(token)
    if hot is not None:
        principal = await principal_for(hot, claims["sub"], claims["ver"])  # type: ignore[arg-type]
    else:
        async with sessions() as session:
            principal = await principal_for(session, claims["sub"], claims["ver"])
    if principal is None:
        raise unauthorized("unknown or disabled user, or revoked token")
    return principal


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def get_current_user(request: Request) -> Principal:
    """The caller, as authenticated by the gate middleware (or here, if it did not run).

    Authentication happens in `middleware.AuthGate` so that a missing token is
    answered 401 before FastAPI parses (and may reject with 422) the body.
    """
    principal = request.scope.get("state", {}).get("principal")
    if isinstance(principal, Principal):
        return principal
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthorized()
    ctx = request.app.state.ctx
    return await principal_from_token(ctx.sessions, ctx.tokens, token)
