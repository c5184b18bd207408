"""Worker: one mediasoup-worker process and the entities living in it.

Start it with ``await Worker.start(WorkerSettings(...))``. The worker is ready
when it sends WORKER_RUNNING (handler id = its pid); if it exits first, code 42
means it rejected its settings. A worker that exits without being closed has
*died*: every pending request fails with WorkerClosedError, its routers close,
and ``died`` fires. mediasoup never restarts workers; owners (the media node's
pool) decide that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Literal

from . import messages
from .channel import DEFAULT_REQUEST_TIMEOUT, Channel
from .errors import (
    WorkerClosedError,
    WorkerSettingsError,
    WorkerStartError,
)
from .events import OnceEvent
from .fbs.FBS.Notification.Event import Event
from .lifecycle import Children, CloseReason
from .messages import WorkerDump as WorkerDump
from .messages import WorkerResourceUsage as WorkerResourceUsage
from .process import WorkerExit, WorkerProcess
from .router import Router, RouterId, RouterOptions, new_router_id, router_capabilities

MEDIASOUP_VERSION = "3.27.1"
"""The worker release this driver speaks to (sent as MEDIASOUP_VERSION; exit 41 without it)."""

LogLevel = Literal["debug", "warn", "error", "none"]
LOG_TAGS = frozenset(
    {
        "info",
        "ice",
        "dtls",
        "rtp",
        "srtp",
        "rtcp",
        "rtx",
        "bwe",
        "score",
        "simulcast",
        "svc",
        "sctp",
        "message",
    }
)
EXIT_CODE_SETTINGS_ERROR = 42

_log = logging.getLogger(__name__)


def resolve_worker_bin(explicit: str | None = None) -> str:
    """Finds the worker binary: the argument, else $MEDIASOUP_WORKER_BIN (the variable
    mediasoup's Node lib reads too), else ``mediasoup-worker`` on PATH. Applications that
    keep the binary elsewhere pass ``WorkerSettings.worker_bin``."""
    candidates = [
        explicit,
        os.environ.get("MEDIASOUP_WORKER_BIN"),
        shutil.which("mediasoup-worker"),
    ]
    for candidate in candidates:
        if candidate:
            return candidate
    raise WorkerStartError(
        "mediasoup-worker not found: pass WorkerSettings(worker_bin=...), "
        "set MEDIASOUP_WORKER_BIN or put it on PATH"
    )


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Settings of one worker process; defaults are mediasoup's own."""

    log_level: LogLevel = "error"
    log_tags: tuple[str, ...] = ()
    rtc_min_port: int = 10000
    rtc_max_port: int = 59999
    dtls_certificate_file: str | None = None
    dtls_private_key_file: str | None = None
    libwebrtc_field_trials: str | None = None
    worker_bin: str | None = None
    """None: see resolve_worker_bin()."""
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    """Seconds before a request without an answer fails (mediasoup has none: a stuck
    worker would otherwise hang its callers forever)."""
    start_timeout: float = 10.0
    """Seconds to wait for WORKER_RUNNING; a worker normally reports in ~50 ms."""
    app_data: dict[str, Any] = field(default_factory=dict)

    def argv(self, binary: str) -> list[str]:
        """The worker's command line. Values must use the ``--opt=value`` form
        (getopt_long_only with optional arguments, worker/src/Settings.cpp)."""
        args = [binary, f"--logLevel={self.log_level}"]
        args += [f"--logTags={tag}" for tag in self.log_tags]
        args += [f"--rtcMinPort={self.rtc_min_port}", f"--rtcMaxPort={self.rtc_max_port}"]
        # Each file is passed when given, as mediasoup does: the worker itself rejects
        # (exit 42) a certificate without its key and vice versa.
        if self.dtls_certificate_file:
            args.append(f"--dtlsCertificateFile={self.dtls_certificate_file}")
        if self.dtls_private_key_file:
            args.append(f"--dtlsPrivateKeyFile={self.dtls_private_key_file}")
        if self.libwebrtc_field_trials:
            args.append(f"--libwebrtcFieldTrials={self.libwebrtc_field_trials}")
        return args


class Worker:
    """A running mediasoup-worker. Use ``await Worker.start(settings)``."""

    def __init__(self, process: WorkerProcess, channel: Channel, settings: WorkerSettings) -> None:
        self._process = process
        self._channel = channel
        self.settings = settings
        self.app_data = settings.app_data
        self._closed = False
        self._routers: Children[RouterId, Router] = Children("worker")
        self.died: OnceEvent[WorkerExit] = OnceEvent("worker.died")
        """Fires once if the process exits without ``close()`` (crash, kill, OOM)."""
        self.on_close: OnceEvent[WorkerExit | None] = OnceEvent("worker.close")
        """Fires once when the worker is closed for any reason (None: closed by us)."""
        process.exited.add_done_callback(self._on_process_exit)

    # -- start -----------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: WorkerSettings | None = None) -> Worker:
        """Spawns the worker and waits until it reports it is running.

        Raises WorkerSettingsError (exit 42) for settings the worker rejects,
        WorkerStartError if it exits or stays silent for ``start_timeout``.
        """
        settings = settings or WorkerSettings()
        for tag in settings.log_tags:
            if tag not in LOG_TAGS:
                raise WorkerSettingsError(f"unknown log tag {tag!r}")
        binary = resolve_worker_bin(settings.worker_bin)
        env = dict(os.environ, MEDIASOUP_VERSION=MEDIASOUP_VERSION)
        try:
            process = await WorkerProcess.spawn(settings.argv(binary), env)
        except OSError as error:
            raise WorkerStartError(f"cannot execute {binary}: {error}") from error
        channel = Channel(
            to_worker=process.to_worker,
            from_worker=process.from_worker,
            pid=process.pid,
            request_timeout=settings.request_timeout,
        )
        loop = asyncio.get_running_loop()
        running: asyncio.Future[None] = loop.create_future()

        def on_running(event: int, _notification: object) -> None:
            if event == Event.WORKER_RUNNING and not running.done():
                running.set_result(None)

        unsubscribe = channel.subscribe(str(process.pid), on_running)
        await channel.open()
        try:
            waiters: set[asyncio.Future[Any]] = {running, process.exited}
            done, _ = await asyncio.wait(
                waiters,
                timeout=settings.start_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            await cls._abort_start(process, channel)
            raise
        finally:
            unsubscribe()
        if running in done:
            worker = cls(process, channel, settings)
            _log.info("worker %d running (%s)", process.pid, binary)
            return worker
        if process.exited in done:
            exit_info = process.exited.result()
            channel.close("worker exited")
            process.close_pipes()
            detail = "; ".join(process.stderr_tail) or "no output"
            if exit_info.code == EXIT_CODE_SETTINGS_ERROR:
                raise WorkerSettingsError(
                    f"mediasoup-worker rejected its settings ({exit_info}): {detail}",
                    exit_info.code,
                )
            raise WorkerStartError(
                f"mediasoup-worker exited before running ({exit_info}): {detail}", exit_info.code
            )
        await cls._abort_start(process, channel)
        raise WorkerStartError(
            f"mediasoup-worker did not report running within {settings.start_timeout} s"
        )

    @staticmethod
    async def _abort_start(process: WorkerProcess, channel: Channel) -> None:
        channel.close("start aborted")
        process.kill()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(process.exited)
        process.close_pipes()

    # -- properties --------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def routers(self) -> dict[RouterId, Router]:
        """Open routers by id (a copy)."""
        return self._routers.snapshot()

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def exited(self) -> asyncio.Future[WorkerExit]:
        """Resolves when the process has exited and been reaped."""
        return self._process.exited

    # -- requests ----------------------------------------------------------------------

    async def dump(self) -> WorkerDump:
        self._check_open()
        return await messages.WORKER_DUMP.call(self._channel)

    async def get_resource_usage(self) -> WorkerResourceUsage:
        self._check_open()
        return await messages.WORKER_GET_RESOURCE_USAGE.call(self._channel)

    async def update_settings(
        self, log_level: LogLevel | None = None, log_tags: tuple[str, ...] | None = None
    ) -> None:
        """Changes the log level and/or tags of the running worker."""
        self._check_open()
        await messages.WORKER_UPDATE_SETTINGS.call(
            self._channel, "", messages.Settings(log_level, log_tags)
        )

    async def create_router(self, options: RouterOptions | None = None) -> Router:
        """Creates a router in this worker. The id is ours (the worker rejects duplicates)."""
        self._check_open()
        options = options or RouterOptions()
        rtp_capabilities = router_capabilities(options)  # validates before any request
        router_id = new_router_id()
        await messages.CREATE_ROUTER.send(self._channel, "", router_id)
        if self._closed:  # the worker died while the request was in flight
            raise WorkerClosedError("worker closed while creating a router")
        return Router(router_id, self._channel, rtp_capabilities, options.app_data, self._routers)

    # -- close / death -------------------------------------------------------------------

    async def close(self, kill_after: float = 5.0) -> WorkerExit:
        """Closes the worker gracefully and reaps the process. Idempotent.

        Sends WORKER_CLOSE and closes the channel (the worker then tears
        everything down and exits 0). If it has not exited after ``kill_after``
        seconds it is killed. Returns how the process ended.
        """
        if not self._closed:
            self._closed = True
            self._channel.notify(Event.WORKER_CLOSE)
            self._channel.close("closed")
            self._close_routers()
            self.on_close.emit(None)
        try:
            exit_info = await asyncio.wait_for(asyncio.shield(self._process.exited), kill_after)
        except TimeoutError:
            _log.warning("worker %d did not exit within %s s, killing it", self.pid, kill_after)
            self._process.kill()
            exit_info = await self._process.exited
        self._process.close_pipes()
        return exit_info

    def _on_process_exit(self, exited: asyncio.Future[WorkerExit]) -> None:
        exit_info = exited.result()
        if self._closed:
            _log.info("worker %d exited (%s)", self.pid, exit_info)
            return
        _log.error("worker %d died (%s)", self.pid, exit_info)
        self._closed = True
        self._channel.close("worker died")
        self._process.close_pipes()
        self._close_routers()
        self.died.emit(exit_info)
        self.on_close.emit(exit_info)

    def _close_routers(self) -> None:
        self._routers.close(CloseReason.WORKER_CLOSED)

    def _check_open(self) -> None:
        if self._closed:
            raise WorkerClosedError("worker closed")
