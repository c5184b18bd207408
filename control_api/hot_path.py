"""The request path's database statements, without an ORM session.

Every authenticated request reads its user, every consume reads its stream and writes
its consumer row, every DELETE removes one. Through an `AsyncSession` on aiosqlite
one such statement costs ~1.8 ms on this 2-core machine (session set-up, pool
checkout, four thread hops per statement, the rollback on return) where SQLite itself
needs ~20 µs; and concurrent writers on separate pooled connections collide on
SQLite's write lock, whose busy handler sleeps 1, 2, 5, 10, … ms between retries
(p99 in the hundreds of ms at 10 clients, bench/consume_latency.py).

`HotPath` runs them for ~0.1 ms each:

- SQLite: one `sqlite3` connection of our own, in one thread of its own (the event
  loop never blocks on it; its statements queue instead of colliding), in autocommit
  mode: each read sees everything committed before it, each write is its own
  transaction (WAL, synchronous=NORMAL, as control_api.db sets for its connections);
- any other database: the same statement on a pooled connection (asyncpg is fast).

`get(Model, id)` answers what `session.get` answers, as a detached instance typed by
the column types (read it, never add it to a session); `execute(statement)` runs one
Core INSERT/UPDATE/DELETE (with RETURNING rows) and commits it. Errors come out as
SQLAlchemy's (`IntegrityError`, `OperationalError`), as from a session.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)
Row = tuple[Any, ...]


class _Shape:
    """How to read one table by its primary key: SQL and a converter per column."""

    def __init__(self, table: Table, engine: AsyncEngine) -> None:
        (pk,) = table.primary_key.columns
        self.table = table
        self.pk = pk
        self.names = [c.name for c in table.columns]
        quoted = ", ".join(f'"{n}"' for n in self.names)
        self.sql = f'SELECT {quoted} FROM "{table.name}" WHERE "{pk.name}" = ?'
        self.converters: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(engine.dialect).result_processor(engine.dialect, None)
            for c in table.columns
        ]

    def values(self, row: Row) -> dict[str, Any]:
        return {
            name: (convert(value) if convert is not None and value is not None else value)
            for name, convert, value in zip(self.names, self.converters, row, strict=True)
        }


class _Plan:
    """One statement compiled for SQLite: SQL with `?`, and how to bind each value."""

    def __init__(self, statement: Executable, engine: AsyncEngine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        # Values the statement carries itself (literals); the others come per call.
        self.defaults = {name: b.value for name, b in compiled.binds.items() if not b.required}
        self.names = list(compiled.positiontup or ())
        self.processors = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        ]

    def values(self, params: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = params[name] if name in params else self.defaults[name]
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)


class HotPath:
    """`get(Model, id)` and `execute(statement, params)` (see the module doc)."""

    def __init__(self, engine: AsyncEngine, url: str, timeout_s: float = 1.5) -> None:
        """`timeout_s`: how long a statement may wait for SQLite's write lock (as the
        engine's connections, control_api.db) before it fails as the database being down."""
        self._engine = engine
        self._timeout_s = timeout_s
        self._shapes: dict[type[SQLModel], _Shape] = {}
        self._plans: dict[Executable, _Plan] = {}
        parsed = make_url(url)
        self._sqlite_path: str | None = None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self._sqlite_path = parsed.database
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _shape(self, model: type[SQLModel]) -> _Shape:
        shape = self._shapes.get(model)
        if shape is None:
            table = model.__table__  # type: ignore[attr-defined]
            shape = self._shapes[model] = _Shape(table, self._engine)
        return shape

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="hot-path")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def get(self, model: type[M], ident: str) -> M | None:
        shape = self._shape(model)
        if self._sqlite_path is None:
            async with self._engine.connect() as conn:
                result = await conn.execute(select(shape.table).where(shape.pk == ident))
                mapped = result.mappings().first()
            return None if mapped is None else model(**dict(mapped))
        row = await self._in_thread(self._sqlite, shape.sql, (ident,), True)
        return None if row is None else model(**shape.values(row[0]))

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> list[Row]:
        """Runs and commits one write statement; its RETURNING rows (else []).

        `params` fill the statement's `bindparam()`s: build hot statements once, as
        module constants, and they are compiled once (SQLAlchemy's compiler costs more
        than SQLite's execution of the statement).
        """
        if self._sqlite_path is None:
            async with self._engine.begin() as conn:
                result = await conn.execute(statement, params or {})
                return [tuple(r) for r in result] if result.returns_rows else []
        plan = self._plans.get(statement)
        if plan is None:
            plan = self._plans[statement] = _Plan(statement, self._engine)
        sql, values = plan.sql, plan.values(params or {})
        rows: list[Row] = await self._in_thread(self._sqlite, sql, values, False)
        return rows

    def _sqlite(self, sql: str, params: tuple[Any, ...], one: bool) -> Any:
        """In the hot-path thread, on its own connection."""
        if self._conn is None:
            assert self._sqlite_path is not None
            conn = sqlite3.connect(
                self._sqlite_path,
                timeout=self._timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        try:
            cursor = self._conn.execute(sql, params)
            if one:
                row = cursor.fetchone()
                return None if row is None else [row]
            return cursor.fetchall()
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, params, exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(sql, params, exc) from exc

    def _sqlite_close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._executor is not None:
            await self._in_thread(self._sqlite_close)
            self._executor.shutdown(wait=True)
            self._executor = None
