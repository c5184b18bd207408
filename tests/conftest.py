"""Shared fixtures: every test talks to the real mediasoup-worker built by `make worker`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mediasoup_driver import Worker, WorkerSettings

REPO = Path(__file__).resolve().parents[1]
# Tests that start workers directly (not through a media node) use the driver's own
# lookup; point it at this checkout's build unless the caller named another binary.
os.environ.setdefault(
    "MEDIASOUP_WORKER_BIN",
    os.environ.get("VASMS_WORKER_BIN") or str(REPO / "build" / "worker" / "mediasoup-worker"),
)


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    w = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        yield w
    finally:
        await w.close()
