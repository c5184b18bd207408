"""`make run`: the whole product on one machine, on the embedded defaults.

Starts a media node and the control API (SQLite under ./var/), creates and
starts a live `test_pattern` demo stream, prints the demo page URL and the
admin credentials, and stops everything cleanly on Ctrl-C. Secrets that are not
given in the environment are generated once and kept in ./var/local.env, so
tokens and the admin password survive restarts.

`VASMS_TURN=local` also starts a coturn (Debian `coturn`) on the media node's RTC
address, UDP and TCP 3478, with a TURN REST secret (`VASMS_TURN_SECRET`, kept in
var/local.env), and gives viewers its URLs: try the demo page with `?relay=1`, or
`vasms-watch --relay`, to see media go through it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var"
LOCAL_ENV = VAR / "local.env"
BIN = Path(sys.executable).parent
_PIPES: set[asyncio.Future[None]] = set()


def _local_secrets() -> dict[str, str]:
    """VASMS_* secrets from the environment, else from var/local.env (created once)."""
    VAR.mkdir(exist_ok=True)
    saved: dict[str, str] = {}
    if LOCAL_ENV.exists():
        for line in LOCAL_ENV.read_text().splitlines():
            key, _, value = line.partition("=")
            if key:
                saved[key] = value
    defaults = {
        "VASMS_NODE_TOKEN": secrets.token_hex(16),
        "VASMS_JWT_SECRET": secrets.token_hex(32),
        "VASMS_ADMIN_USERNAME": "admin",
        # Strong by construction: the API refuses short or placeholder secrets.
        "VASMS_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "VASMS_TURN_SECRET": secrets.token_hex(24),
    }
    for key, value in defaults.items():
        saved.setdefault(key, value)
    LOCAL_ENV.write_text("".join(f"{k}={v}\n" for k, v in saved.items()))
    LOCAL_ENV.chmod(0o600)
    return {key: os.environ.get(key, value) for key, value in saved.items()}


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


async def _pipe(prefix: str, stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        sys.stdout.write(f"[{prefix}] {line.decode(errors='replace')}")
        sys.stdout.flush()


async def _spawn(prefix: str, argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    _PIPES.add(asyncio.ensure_future(_pipe(prefix, process.stdout)))
    return process


TURN_PORT = 3478
# Outside the node's default RTC range (40000-49999) and coturn's default (49152-65535),
# which overlaps it.
TURN_RELAY_PORTS = (50000, 50999)


async def _start_turn(env: dict[str, str]) -> asyncio.subprocess.Process | None:
    """A local coturn when VASMS_TURN=local; its URLs go to the control API's env."""
    if env.get("VASMS_TURN", "").lower() != "local":
        return None
    binary = shutil.which("turnserver")
    if binary is None:
        raise SystemExit("VASMS_TURN=local needs coturn (apt-get install coturn)")
    ip = env.get("VASMS_RTC_LISTEN_IP", "127.0.0.1")
    if not _port_free(ip, TURN_PORT):
        raise SystemExit(f"port {ip}:{TURN_PORT} is in use: another TURN server?")
    VAR.mkdir(exist_ok=True)
    argv = [
        binary, "-n", "--listening-ip", ip, "--relay-ip", ip, "--listening-port", str(TURN_PORT),
        "--min-port", str(TURN_RELAY_PORTS[0]), "--max-port", str(TURN_RELAY_PORTS[1]),
        "--use-auth-secret", "--static-auth-secret", env["VASMS_TURN_SECRET"],
        "--realm", "vasms.local", "--fingerprint", "--no-cli", "--no-tls", "--no-dtls",
        "--no-multicast-peers", "--no-software-attribute", "--simple-log",
        "--log-file", "stdout", "--pidfile", str(VAR / "turnserver.pid"),
        # Locally the media node is on loopback: the one case where loopback peers are fine.
        *(["--allow-loopback-peers"] if ip.startswith("127.") else []),
    ]  # fmt: skip
    env["VASMS_TURN_URLS"] = (
        f"turn:{ip}:{TURN_PORT}?transport=udp,turn:{ip}:{TURN_PORT}?transport=tcp"
    )
    return await _spawn("coturn", argv, env)


async def _wait_ready(
    http: httpx.AsyncClient, base: str, process: asyncio.subprocess.Process
) -> None:
    async with asyncio.timeout(60):
        while process.returncode is None:
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)  # nothing to await on another process's readiness
    raise SystemExit("the control API exited during start-up")


async def _demo_stream(http: httpx.AsyncClient, base: str, env: dict[str, str]) -> str:
    token = (
        await http.post(
            f"{base}/api/v2/auth/token",
            json={"username": env["VASMS_ADMIN_USERNAME"], "password": env["VASMS_ADMIN_PASSWORD"]},
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    streams = (await http.get(f"{base}/api/v2/streams", headers=headers)).json()
    items = streams["items"] if isinstance(streams, dict) else streams
    demo = next((s for s in items if s["name"] == "demo"), None)
    if demo is None:
        demo = (
            await http.post(
                f"{base}/api/v2/streams",
                headers=headers,
                json={"name": "demo", "source": {"type": "test_pattern"}},
            )
        ).json()
    await http.post(f"{base}/api/v2/streams/{demo['id']}/start", headers=headers)
    return demo["id"]


async def main() -> int:
    host = os.environ.get("VASMS_HTTP_HOST", "127.0.0.1")
    port = int(os.environ.get("VASMS_HTTP_PORT", "8080"))
    node_listen = os.environ.get("VASMS_NODE_GRPC_LISTEN", "127.0.0.1:50051")
    for h, p in ((host, port), tuple(node_listen.rsplit(":", 1))):
        if not _port_free(str(h), int(p)):
            raise SystemExit(f"port {h}:{p} is in use: is VAS-MS already running?")
    env = dict(
        os.environ,
        **_local_secrets(),
        VASMS_NODE_GRPC_LISTEN=node_listen,
        VASMS_MEDIA_NODES=node_listen,
        VASMS_HTTP_HOST=host,
        VASMS_HTTP_PORT=str(port),
    )
    turn = await _start_turn(env)
    node = await _spawn("media-node", [str(BIN / "vasms-media-node")], env)
    api = await _spawn("control-api", [str(BIN / "vasms-control-api"), "serve"], env)
    base = f"http://{host}:{port}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            await _wait_ready(http, base, api)
            stream_id = await _demo_stream(http, base, env)
        print(
            "\n"
            f"  VAS-MS is running.   Demo page: {base}/\n"
            f"  Sign in as {env['VASMS_ADMIN_USERNAME']} / {env['VASMS_ADMIN_PASSWORD']}\n"
            f"  Demo stream: {stream_id} (test pattern)   API docs: {base}/docs\n"
            + (f"  TURN: {env['VASMS_TURN_URLS']} (demo page: {base}/?relay=1)\n" if turn else "")
            + "  Ctrl-C stops everything.\n",
            flush=True,
        )
        waiters = {
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(node.wait()),
            asyncio.ensure_future(api.wait()),
            *([asyncio.ensure_future(turn.wait())] if turn else []),
        }
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        children = [p for p in (api, node, turn) if p is not None]
        for process in children:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        for process in children:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
