"""Fixtures for driver tests: a real worker, a router with the product's codecs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mediasoup_driver import ListenInfo, Router, RouterOptions, Worker, WorkerSettings

from tests.support.media import ROUTER_MEDIA_CODECS

LOCALHOST = ListenInfo(ip="127.0.0.1")


@pytest.fixture
async def router(worker: Worker) -> AsyncIterator[Router]:
    r = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    yield r
    await r.close()


@pytest.fixture
async def media_worker() -> AsyncIterator[Worker]:
    """A worker with a narrow, known RTC port range (asserted by transport tests)."""
    w = await Worker.start(WorkerSettings(log_level="warn", rtc_min_port=40000, rtc_max_port=40999))
    try:
        yield w
    finally:
        await w.close()
