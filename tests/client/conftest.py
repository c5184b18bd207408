"""Fixtures of the client tests: the control API tests' real stack (API + media node + worker).

`api` and `node` are imported from tests/control_api so both suites start the stack the
same way; `db_url` is overridden to SQLite only, since nothing here depends on the database
and PostgreSQL would double the run time for no coverage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.client.support import Stack
from tests.control_api.conftest import api, node
from tests.control_api.support import ApiServer, Node, database

__all__ = ["api", "node"]


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    async with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def stack(api: ApiServer, node: Node) -> Stack:
    """The stack with a viewer user (`vic`) and an admin token ready."""
    return await Stack.create(api, node)
