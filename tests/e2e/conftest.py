"""Fixtures of the browser tests: a real media node, the real control API, headless Chromium.

The node and the API come from the control API tests' helpers (tests/control_api/
support.py): the node is the `vasms-media-node` daemon as a subprocess, the API is
`create_app` served by uvicorn inside the test's event loop. The browser is Debian's
Chromium driven by playwright-core in a Node.js subprocess (tests/e2e/browser.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.control_api.support import Node, database, start_node
from tests.e2e.browser import Browser, missing_prerequisites


@pytest.fixture(autouse=True)
def _browser_prerequisites() -> None:
    reason = missing_prerequisites()
    if reason:
        pytest.fail(f"browser tests cannot run: {reason} (make setup installs it)")


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    async with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(tmp_path)
    try:
        yield n
    finally:
        await n.stop()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with Browser.launch(tmp_path) as b:
        yield b
