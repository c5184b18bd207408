"""Shared fixtures and paths of the driver's own tests.

The tests talk to a real mediasoup-worker: ``MEDIASOUP_WORKER_BIN`` names it (the
variable the driver itself reads). The parity and conformance tests also compare
against mediasoup's Node library from the npm tarball the worker was built from:
``MEDIASOUP_PACKAGE_DIR`` names that unpacked package (its ``node/`` and
``worker/fbs/``). Scratch output (the Node test dependencies) goes to
``MEDIASOUP_TEST_WORK`` (default ``build/`` beside this package).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mediasoup_driver import Worker, WorkerSettings

DRIVER_ROOT = Path(__file__).resolve().parents[1]


def _required_path(variable: str, what: str) -> Path:
    value = os.environ.get(variable)
    if not value:
        raise pytest.UsageError(f"set {variable} to {what} (see the driver's README)")
    return Path(value).resolve()


WORKER_BIN = _required_path("MEDIASOUP_WORKER_BIN", "the mediasoup-worker binary")
MEDIASOUP_PACKAGE = _required_path(
    "MEDIASOUP_PACKAGE_DIR", "the unpacked mediasoup npm package the worker was built from"
)
CONFORMANCE_WORK = (
    Path(os.environ.get("MEDIASOUP_TEST_WORK", DRIVER_ROOT / "build")).resolve() / "conformance"
)
RUN_SH = DRIVER_ROOT / "tests" / "conformance" / "run.sh"


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    w = await Worker.start(WorkerSettings(log_level="warn"))
    try:
        yield w
    finally:
        await w.close()
