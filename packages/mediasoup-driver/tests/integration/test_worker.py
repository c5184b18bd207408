"""The Worker against the real mediasoup-worker binary: start, requests, death, close."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from mediasoup_driver import (
    ChannelNotFoundError,
    RequestTimeoutError,
    Worker,
    WorkerClosedError,
    WorkerSettings,
    WorkerSettingsError,
    WorkerStartError,
)
from mediasoup_driver.fbs.FBS.Request.Method import Method


def _is_reaped(pid: int) -> bool:
    """True when no process (not even a zombie) with this pid is our child any more."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not Path(f"/proc/{pid}").exists()
    return False


async def test_worker_starts_and_reports_running(worker: Worker) -> None:
    assert worker.pid > 0
    assert not worker.closed
    dump = await worker.dump()
    assert dump.pid == worker.pid
    assert dump.router_ids == []
    assert dump.web_rtc_server_ids == []


async def test_dump_lists_created_routers(worker: Worker) -> None:
    routers = [await worker.create_router() for _ in range(3)]
    dump = await worker.dump()
    assert sorted(dump.router_ids) == sorted(r.id for r in routers)
    # Each router registers itself as a channel request handler in the worker.
    assert set(dump.channel_request_handlers) >= {r.id for r in routers}
    assert set(worker.routers) == {r.id for r in routers}
    router_dump = await routers[0].dump()
    assert router_dump.id == routers[0].id
    assert router_dump.transport_ids == []


async def test_router_close_removes_it_everywhere(worker: Worker) -> None:
    router = await worker.create_router()
    reasons: list[str] = []
    router.on_close.add_listener(reasons.append)
    await router.close()
    await router.close()  # idempotent
    assert router.closed
    assert reasons == ["closed"]
    assert router.id not in worker.routers
    assert (await worker.dump()).router_ids == []


async def test_request_to_unknown_handler_is_not_found(worker: Worker) -> None:
    with pytest.raises(ChannelNotFoundError) as info:
        await worker.channel.request(Method.ROUTER_DUMP, "no-such-router")
    assert info.value.name == "NotFoundError"
    assert "ROUTER_DUMP" in str(info.value)


async def test_ten_thousand_concurrent_requests_get_their_own_answers() -> None:
    # Behaviour only: every answer reaches its own caller. The request timeout is
    # set far beyond any machine's speed, so a loaded machine is slow, not wrong.
    worker = await Worker.start(WorkerSettings(log_level="warn", request_timeout=600.0))

    async def router_cycle() -> int:
        router = await worker.create_router()
        dump = await router.dump()
        assert dump.id == router.id  # the answer is this router's, not another's
        await router.close()
        return 3

    async def worker_dump() -> int:
        dump = await worker.dump()
        assert dump.pid == worker.pid
        return 1

    async def resource_usage() -> int:
        usage = await worker.get_resource_usage()
        assert usage.ru_maxrss > 0
        return 1

    tasks = [router_cycle() for _ in range(3000)]
    tasks += [worker_dump() for _ in range(500)]
    tasks += [resource_usage() for _ in range(500)]
    try:
        counts = await asyncio.gather(*tasks)
        assert sum(counts) == 10_000
        assert worker.channel.pending_count == 0
        assert (await worker.dump()).router_ids == []
        assert worker.routers == {}
    finally:
        await worker.close()


async def test_sigkill_fails_pending_requests_and_fires_died() -> None:
    # The request timeout is far beyond the waits below: a WorkerClosedError then proves
    # the requests failed because the worker died, not because they timed out.
    worker = await Worker.start(WorkerSettings(request_timeout=600.0))
    router = await worker.create_router()
    router_reasons: list[str] = []
    router.on_close.add_listener(router_reasons.append)
    died_values = []
    worker.died.add_listener(died_values.append)

    # Freeze the worker so that the requests below are certainly pending.
    os.kill(worker.pid, signal.SIGSTOP)
    pending = [asyncio.ensure_future(worker.dump()) for _ in range(200)]
    await asyncio.sleep(0)  # let the requests be written
    assert worker.channel.pending_count == 200
    os.kill(worker.pid, signal.SIGKILL)

    results = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout=60)
    assert all(isinstance(r, WorkerClosedError) for r in results), results[:3]

    exit_info = await asyncio.wait_for(worker.died.wait(), timeout=60)
    assert exit_info.signal == signal.SIGKILL
    assert exit_info.code is None
    assert died_values == [exit_info]
    assert worker.closed
    assert router.closed and router_reasons == ["worker closed"]
    assert worker.routers == {}

    # Requests after death fail at once.
    with pytest.raises(WorkerClosedError):
        await worker.dump()
    with pytest.raises(WorkerClosedError):
        await worker.create_router()
    assert await worker.close() == exit_info
    assert _is_reaped(worker.pid)


async def test_close_exits_zero_and_leaves_no_zombie() -> None:
    worker = await Worker.start()
    router = await worker.create_router()
    pid = worker.pid
    close_values = []
    worker.on_close.add_listener(close_values.append)

    exit_info = await worker.close()

    assert exit_info.code == 0 and exit_info.signal is None
    assert worker.closed
    assert not worker.died.fired  # a requested close is not a death
    assert close_values == [None]
    assert router.closed
    assert _is_reaped(pid)
    with pytest.raises(WorkerClosedError):
        await worker.dump()
    assert await worker.close() == exit_info  # idempotent


async def test_close_with_requests_in_flight_fails_them_cleanly() -> None:
    worker = await Worker.start()
    pending = [asyncio.ensure_future(worker.dump()) for _ in range(50)]
    exit_info = await worker.close()
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert exit_info.code == 0
    assert all(isinstance(r, WorkerClosedError) for r in results)


@pytest.mark.parametrize(
    "settings",
    [
        WorkerSettings(rtc_min_port=40000, rtc_max_port=30000),
        WorkerSettings(log_level="verbose"),  # type: ignore[arg-type]
    ],
    ids=["rtcMinPort>rtcMaxPort", "unknown-log-level"],
)
async def test_bad_settings_fail_start_with_exit_42(settings: WorkerSettings) -> None:
    with pytest.raises(WorkerSettingsError) as info:
        await Worker.start(settings)
    assert info.value.exit_code == 42
    assert "rejected its settings" in str(info.value)


async def test_unknown_log_tag_is_refused_before_spawning() -> None:
    with pytest.raises(WorkerSettingsError, match="unknown log tag"):
        await Worker.start(WorkerSettings(log_tags=("nonsense",)))


async def test_missing_binary_is_a_clear_start_error(tmp_path) -> None:
    missing = str(tmp_path / "no-worker-here")
    with pytest.raises(WorkerStartError, match="cannot execute"):
        await Worker.start(WorkerSettings(worker_bin=missing))


async def test_binary_that_never_reports_running_times_out(tmp_path) -> None:
    fake = tmp_path / "silent-worker"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    # The fake sleeps 30 s: failing well before it exits shows start_timeout was applied.
    started = time.monotonic()
    with pytest.raises(WorkerStartError, match="did not report running"):
        await Worker.start(WorkerSettings(worker_bin=str(fake), start_timeout=0.5))
    assert time.monotonic() - started < 25


async def test_request_timeout_and_recovery(worker: Worker) -> None:
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        with pytest.raises(RequestTimeoutError, match="WORKER_DUMP"):
            await worker.channel.request(Method.WORKER_DUMP, timeout=0.2)
        assert worker.channel.pending_count == 0
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    # The late answer to the timed-out request is dropped; the channel still works.
    assert (await worker.dump()).pid == worker.pid


async def test_long_timeouts_are_enforced_by_the_sweep(worker: Worker) -> None:
    """Limits of 5 s and more have no timer of their own: the channel's sweep fails
    them, at most one sweep interval late, and answered requests leave nothing behind."""
    await worker.channel.request(Method.WORKER_DUMP, timeout=5.0)  # answered in time
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match=r"after 5 s \[method:WORKER_DUMP\]"):
            await worker.channel.request(Method.WORKER_DUMP, timeout=5.0)
        assert time.monotonic() - started >= 5.0  # never early; late only by load
        assert worker.channel.pending_count == 0
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    assert (await worker.dump()).pid == worker.pid


async def test_worker_logs_reach_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mediasoup.worker")
    worker = await Worker.start(WorkerSettings(log_level="debug", log_tags=("info",)))
    try:
        await worker.create_router()
    finally:
        await worker.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "mediasoup.worker"]
    assert any(f"[pid:{worker.pid}]" in line for line in lines)
    assert any("libuv version" in line for line in lines), lines[:5]


async def test_update_settings_changes_log_level(
    worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mediasoup.worker")
    await worker.update_settings(log_level="debug", log_tags=("info",))
    await worker.create_router()
    await worker.dump()
    assert any(r.name == "mediasoup.worker" and r.levelno == logging.DEBUG for r in caplog.records)
