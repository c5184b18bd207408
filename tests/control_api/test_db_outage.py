"""Database outages on real processes: 503 `database_unavailable` within 2 s, then
recovery by itself.

PostgreSQL: a throwaway cluster (initdb into a temporary directory, its own
port, run as the `postgres` user when the tests run as root) is stopped and
started, and frozen (SIGSTOP of all its processes: connections hang, which
only timeouts catch) and thawed. Never the shared server. SQLite: another
process holds the write lock past the busy timeout.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.control_api.api_process import ApiProcess, api_env, api_process
from tests.control_api.support import ADMIN, free_port, wait_until

# Generous for a loaded machine, still far below the 30 s pool wait it replaces;
# the design figure (connect 1 s, statement 1.5 s) is what the test checks.
WITHIN_S = 2.0


def _pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    assert initdb, "initdb not found (apt: postgresql)"
    return Path(initdb).parent


@dataclass
class ThrowawayPostgres:
    bindir: Path
    data: Path
    port: int
    run_as: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, *argv: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.run_as,
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, f"{argv[0]} failed:\n{out.decode()}"

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        await self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data / "db"),
            "-l",
            str(self.data / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    async def stop(self) -> None:
        await self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"), "-m", "fast", "-w", "stop"
        )

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        postmaster = int((self.data / "db" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def signal_all(self, sig: signal.Signals) -> None:
        for pid in self.pids():
            os.kill(pid, sig)


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[ThrowawayPostgres]:
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="vasms-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    pg = ThrowawayPostgres(bindir, root, free_port(), run_as)
    try:
        await pg._run(
            str(bindir / "initdb"),
            "-D",
            str(root / "db"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        await pg.start()
        yield pg
    finally:
        if (root / "db" / "postmaster.pid").exists():
            try:
                pg.signal_all(signal.SIGCONT)
                await pg.stop()
            except (AssertionError, OSError, ValueError):
                pass
        shutil.rmtree(root, ignore_errors=True)


async def _timed(
    c: httpx.AsyncClient, method: str, path: str, **kw: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = await c.request(method, path, **kw)  # type: ignore[arg-type]
    return r, time.monotonic() - started


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": "database unavailable", "code": "database_unavailable"}


async def _recovers(api: ApiProcess, token: str) -> float:
    """Seconds until /users/me answers 200 again; then ten in a row must too."""
    started = time.monotonic()
    async with api.client(token) as c:

        async def ok() -> bool:
            return (await c.get("/api/v2/users/me")).status_code == 200

        await wait_until(ok, within=30, interval=0.1)
        took = time.monotonic() - started
        for _ in range(10):
            assert (await c.get("/api/v2/users/me")).status_code == 200
    return took


async def test_postgres_outage_503_then_recovery(tmp_path: Path) -> None:
    async with throwaway_postgres() as pg, api_process(api_env(pg.url), tmp_path) as api:
        token = await api.token(*ADMIN)
        async with api.client(token) as c:
            assert (await c.get("/api/v2/users/me")).status_code == 200
            await asyncio.gather(*(c.get("/api/v2/streams") for _ in range(12)))  # fill the pool

            # Stopped: refused connections.
            await pg.stop()
            figures = []
            for method, path in (
                ("GET", "/api/v2/users/me"),
                ("GET", "/api/v2/streams"),
                ("POST", "/api/v2/streams"),
            ):
                kw = {"json": {"name": "x", "source": {"type": "rtp"}}} if method == "POST" else {}
                r, took = await _timed(c, method, path, **kw)
                _assert_unavailable(r)
                figures.append(took)
            # Many at once (more than the pool holds): all answered 503 in time.
            started = time.monotonic()
            answers = await asyncio.gather(*(c.get("/api/v2/users/me") for _ in range(40)))
            burst = time.monotonic() - started
            for r in answers:
                _assert_unavailable(r)
            async with api.client() as anon:
                r, took = await _timed(
                    anon,
                    "POST",
                    "/api/v2/auth/token",
                    json={"username": ADMIN[0], "password": ADMIN[1]},
                )
                _assert_unavailable(r)
                figures.append(took)
                ready = await anon.get("/readyz")
                assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
                assert (await anon.get("/healthz")).status_code == 200
                metrics = await anon.get("/metrics")  # still scraped during the outage
                assert metrics.status_code == 200 and "vasms_http_requests_total" in metrics.text
            print(
                f"stopped: 503 after {[round(f, 3) for f in figures]} s; 40 at once {burst:.3f} s"
            )
            assert max(figures) < WITHIN_S and burst < WITHIN_S

            await pg.start()
            print(f"started: 200 again after {await _recovers(api, token):.3f} s")

            # Frozen: connections and statements hang; only the timeouts answer.
            pg.signal_all(signal.SIGSTOP)
            try:
                frozen = []
                for _ in range(3):
                    r, took = await _timed(c, "GET", "/api/v2/users/me")
                    _assert_unavailable(r)
                    frozen.append(took)
            finally:
                pg.signal_all(signal.SIGCONT)
            print(f"frozen: 503 after {[round(f, 3) for f in frozen]} s")
            assert max(frozen) < WITHIN_S + 0.5  # connect 1 s / statement 1.5 s + scheduling
            print(f"thawed: 200 again after {await _recovers(api, token):.3f} s")


async def test_sqlite_locked_503_then_recovery(tmp_path: Path) -> None:
    db = tmp_path / "vasms.db"
    async with api_process(api_env(f"sqlite+aiosqlite:///{db}"), tmp_path) as api:
        token = await api.token(*ADMIN)
        body = {"name": "cam", "source": {"type": "rtp"}}
        holder = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            async with api.client(token) as c:
                r, took = await _timed(c, "POST", "/api/v2/streams", json=body)
                _assert_unavailable(r)
                print(f"sqlite locked: 503 after {took:.3f} s")
                assert took < WITHIN_S + 0.5  # busy timeout = statement timeout (1.5 s)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        async with api.client(token) as c:
            r = await c.post("/api/v2/streams", json=body)
            assert r.status_code == 201, r.text  # nothing half-written by the failed try
            assert [s["name"] for s in (await c.get("/api/v2/streams")).json()] == ["cam"]
