"""Fixtures for the project's driver-level tests with real WebRTC viewers and ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mediasoup_driver import Router, RouterOptions, Worker

from tests.support.ingest import ROUTER_MEDIA_CODECS


@pytest.fixture
async def router(worker: Worker) -> AsyncIterator[Router]:
    r = await worker.create_router(RouterOptions(media_codecs=ROUTER_MEDIA_CODECS))
    yield r
    await r.close()
