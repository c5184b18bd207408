"""Async engine and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

One engine per process, created in the lifespan; request handlers get a
short session each through `api.deps.SessionDep`, background tasks open their
own with `session_factory()`.

Outages: connecting, each statement and waiting for a pooled connection are
bounded (`VASMS_DB_CONNECT_TIMEOUT_S`, `VASMS_DB_STATEMENT_TIMEOUT_S`,
`VASMS_DB_POOL_TIMEOUT_S`), and every way a database can fail (asyncpg raises
`OSError` when it cannot connect, `TimeoutError` when a statement or a
connect overruns, the pool its own `TimeoutError`, drivers their
`OperationalError`/`InterfaceError`) is one of `DATABASE_ERRORS`, which the
edge answers 503 `database_unavailable`. Pooled connections are pinged on
checkout (bounded) and dropped when broken, so service comes back by itself
when the database does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    """Creates the directory of a SQLite file (`./var/` by default) so a fresh checkout starts."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or did not answer in time."""


# Everything that means "the database is not serving": answered 503 at the edge.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection free within the pool timeout
)


_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy")


def is_database_failure(exc: BaseException) -> bool:
    """True when `exc` means the database is not serving.

    Besides `DATABASE_ERRORS`: asyncpg's statement timeouts (also during the
    pool's pre-ping) surface as a bare `TimeoutError` and lost sockets as
    `OSError`, which SQLAlchemy passes through unwrapped; those count only
    when raised inside the database drivers, so an unrelated `OSError` stays
    a 500.
    """
    if isinstance(exc, DATABASE_ERRORS):
        return True
    if not isinstance(exc, OSError):  # TimeoutError is an OSError
        return False
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
        tb = tb.tb_next
    return False


@dataclass(frozen=True)
class DbLimits:
    """Timeouts and pool size; the defaults answer an outage within ~2 s."""

    connect_timeout_s: float = 1.0
    statement_timeout_s: float = 1.5
    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout_s: float = 1.5

    @classmethod
    def of(cls, settings: Any) -> DbLimits:
        return cls(
            connect_timeout_s=settings.db_connect_timeout_s,
            statement_timeout_s=settings.db_statement_timeout_s,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout_s=settings.db_pool_timeout_s,
        )


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        """WAL + a busy timeout: several replicas (or the API and a CLI) share the file."""
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file; it syncs at checkpoints instead of
        # on every commit (a power cut may lose the last commits): commits ~10x cheaper.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return apply


def _asyncpg_connect(timeout_s: float) -> Any:
    """asyncpg.connect bounded by `timeout_s`, its failures as `DatabaseUnavailable`.

    Without this a refused connection surfaces as a bare `OSError` (SQLAlchemy
    wraps only DB-API errors) and a black-holed one waits for the OS.
    """
    import asyncpg

    async def connect(*args: Any, **kwargs: Any) -> Any:
        kwargs["timeout"] = timeout_s
        try:
            return await asyncio.wait_for(asyncpg.connect(*args, **kwargs), timeout_s + 0.5)
        except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
            raise DatabaseUnavailable(f"cannot connect to the database: {exc!r}") from exc

    return connect


def _ping_on_checkout(timeout_s: float) -> Any:
    """Checks a pooled connection before use, within `timeout_s` (SQLAlchemy's pre-ping
    has no bound of its own: against a frozen server it waits twice the statement
    timeout). A dead or hung connection is dropped and a new one is made, which
    fails fast (connect timeout) while the database is down."""
    import asyncpg

    def ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            dbapi_connection.run_async(
                lambda conn: asyncio.wait_for(conn.fetchval("SELECT 1"), timeout_s)
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Abort it here: the pool's own close first tries a graceful one (2 s).
            dbapi_connection.driver_connection.terminate()
            raise sa_exc.DisconnectionError(f"pooled connection unusable: {exc!r}") from exc

    return ping


def _statement_timeouts(context: ExceptionContext) -> BaseException | None:
    """A statement that overran its timeout: drop the connection, report the outage."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True  # the connection may be stuck: do not pool it again
        if context.connection is not None:
            # Abort it now: the pool's own close first tries a graceful one (2 s).
            with contextlib.suppress(Exception):
                context.connection.connection.driver_connection.terminate()
        return DatabaseUnavailable("database statement timed out")
    return None


def create_engine(url: str, limits: DbLimits | None = None) -> AsyncEngine:
    """The engine for `url`, with per-backend settings that matter under concurrency."""
    limits = limits or DbLimits()
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        # sqlite3's timeout and busy_timeout bound the wait for a locked file.
        engine = create_async_engine(
            url,
            connect_args={"timeout": limits.statement_timeout_s},
            pool_timeout=limits.pool_timeout_s,
        )
        busy_ms = int(limits.statement_timeout_s * 1000)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_ms))
        return engine
    engine = create_async_engine(
        url,
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        pool_timeout=limits.pool_timeout_s,
        connect_args={
            "async_creator_fn": _asyncpg_connect(limits.connect_timeout_s),
            "command_timeout": limits.statement_timeout_s,
        },
    )
    event.listen(engine.sync_engine, "handle_error", _statement_timeouts)
    ping_s = min(0.5, limits.statement_timeout_s)
    event.listen(engine.sync_engine.pool, "checkout", _ping_on_checkout(ping_s))
    return engine


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: rows are serialised after commit without another query.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session that rolls back on error; callers commit explicitly."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


async def ping(engine: AsyncEngine) -> None:
    """Raises unless the database answers (readiness)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
