"""Shared fixtures: every test talks to the real mediasoup-worker built by `make worker`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media_node.mediasoup import Worker, WorkerSettings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    w = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        yield w
    finally:
        await w.close()
