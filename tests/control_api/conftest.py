"""Fixtures: a database per test (SQLite and PostgreSQL), the API, a real media node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.control_api.support import (
    PG_ADMIN_DSN,
    ApiServer,
    Node,
    database,
    make_settings,
    serve,
    start_node,
)

_pg_ok: bool | None = None


async def _postgres_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
            await conn.close()
            _pg_ok = True
        except (OSError, asyncpg.PostgresError):
            _pg_ok = False
    return _pg_ok


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql" and not await _postgres_available():
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_DSN} (.ci/run starts it)")
    async with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def api_no_nodes(db_url: str) -> AsyncIterator[ApiServer]:
    """The API with no media node configured (auth, validation, 404s)."""
    async with serve(make_settings(db_url)) as server:
        yield server


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(tmp_path)
    try:
        yield n
    finally:
        await n.stop()


@pytest.fixture
async def api(db_url: str, node: Node) -> AsyncIterator[ApiServer]:
    """The API driving one real media node."""
    settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
    async with serve(settings) as server:
        yield server
