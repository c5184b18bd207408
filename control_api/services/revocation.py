"""Open V1 sockets re-checked against their users: revoked tokens close their sockets.

A REST request loads its user on every call, so revocation is immediate
there. A WebSocket authenticates once, at the handshake; this registry keeps
every open socket of the replica with the token it was opened with, and one
task per replica re-reads the users of all open sockets in a single query
every `VASMS_TOKEN_CHECK_INTERVAL_S` (2 s): a socket whose user was deleted,
disabled, changed the password (token version bumped, on any replica), or
whose token expired is closed with code 4401. Changes made on this replica
close the sockets at once (`revoke`). A database outage closes nothing: the
sockets are checked again once the database answers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from control_api.db import SessionFactory
from control_api.models import User

log = logging.getLogger(__name__)
REVOKED_CLOSE_CODE = 4401

CloseSocket = Callable[[int, str], Awaitable[None]]
# AppContext.spawn: runs a coroutine as a task the replica cancels at shutdown.
Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


@dataclass(frozen=True)
class LiveSocket:
    """What a socket was authenticated with, and how to close it."""

    user_id: str
    token_version: int
    expires_at: float  # the token's "exp" (epoch seconds)
    close: CloseSocket


class SocketRegistry:
    """The open V1 sockets of one replica and the task that re-checks them."""

    def __init__(self, sessions: SessionFactory, spawn: Spawn, interval_s: float) -> None:
        self.sessions = sessions
        self.spawn = spawn
        self.interval_s = interval_s
        self._sockets: dict[int, LiveSocket] = {}
        self._ids = itertools.count()
        self._watching = False

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, socket: LiveSocket) -> Callable[[], None]:
        """Registers `socket`; returns the function that unregisters it (on socket close)."""
        key = next(self._ids)
        self._sockets[key] = socket
        if not self._watching:
            self._watching = True
            self.spawn(self._watch(), "v1-token-check")

        def remove() -> None:
            self._sockets.pop(key, None)

        return remove

    def revoke(self, user_id: str) -> None:
        """Closes this replica's sockets of `user_id` now (other replicas: next check)."""
        for key, socket in list(self._sockets.items()):
            if socket.user_id == user_id:
                self._close(key, "token revoked")

    async def check(self) -> None:
        """One pass: closes every socket whose token is no longer valid."""
        if not self._sockets:
            return
        user_ids = {s.user_id for s in self._sockets.values()}
        async with self.sessions() as session:
            rows = await session.exec(
                select(User.id, User.disabled, User.token_version).where(col(User.id).in_(user_ids))
            )
            current = {uid: (disabled, version) for uid, disabled, version in rows.all()}
        now = time.time()
        for key, socket in list(self._sockets.items()):
            state = current.get(socket.user_id)
            if state is None or state[0] or state[1] != socket.token_version:
                self._close(key, "token revoked")
            elif socket.expires_at <= now:
                self._close(key, "token expired")

    def _close(self, key: int, reason: str) -> None:
        socket = self._sockets.pop(key, None)
        if socket is None:
            return
        log.info("closing V1 socket: %s", reason, extra={"user_id": socket.user_id})
        self.spawn(socket.close(REVOKED_CLOSE_CODE, reason), "v1-revoke-close")

    async def _watch(self) -> None:
        try:
            while self._sockets:
                await asyncio.sleep(self.interval_s)
                try:
                    await self.check()
                except Exception as exc:  # database down: keep the sockets, try again
                    log.warning("V1 token re-check failed: %s", exc)
        finally:
            self._watching = False
