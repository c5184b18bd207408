"""Janus (Debian `janus` 1.1) with its streaming plugin as the side-by-side peer of a bench.

A private configuration in a temporary directory: only the streaming plugin and
the HTTP transport are loaded (plugin/transport folders hold just those two
libraries), no session timeout, one RTP mountpoint for the bench's source.
Janus runs full ICE and offers; the pion receivers answer, so they do full ICE too.

**Why a network namespace and not plain loopback.** Janus leaves candidate
gathering to libnice, which never offers loopback addresses while another
interface exists (`ice_enforce_list = lo` yields the host's other addresses).
So Janus runs in a private network namespace joined to the host by one veth
pair on a /30 of its own (10.213.x.0/30): its HTTP API, RTP mountpoint and ICE
candidates are bound to the namespace side only (`ip`, `videoiface`,
`ice_enforce_list`), nothing of it is reachable from outside this machine, and
the receivers allow that /30 for their own candidates. Both are torn down with
the bench. This needs root (as the rest of the test setup does).

Viewers are handles of one Janus session (one long-poll loop delivers every
handle's JSEP offer): attach -> `watch` -> offer -> answer with `start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

JANUS = "/usr/bin/janus"
LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")


def _configs(
    folder: Path, ip: str, http_port: int, video_port: int, pt: int, codec: str, fmtp: str
) -> None:
    plugins, transports = folder / "plugins", folder / "transports"
    plugins.mkdir()
    transports.mkdir()
    (plugins / "libjanus_streaming.so").symlink_to(LIBS / "plugins" / "libjanus_streaming.so")
    (transports / "libjanus_http.so").symlink_to(LIBS / "transports" / "libjanus_http.so")
    (folder / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{plugins}"
    transports_folder = "{transports}"
    events_folder = "{folder}/none"
    loggers_folder = "{folder}/none"
    debug_level = 2
    session_timeout = 0
    admin_secret = "{secrets.token_hex(8)}"
}}
media: {{
    rtp_port_range = "30000-39999"
}}
nat: {{
    ice_enforce_list = "{ip}"
    ignore_mdns = true
}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "{ip}"
    https = false
}}
admin: {{
    admin_http = false
}}
"""
    )
    fmtp_line = f'    videofmtp = "{fmtp}"\n' if fmtp else ""
    (folder / "janus.plugin.streaming.jcfg").write_text(
        f"""general: {{
}}
bench: {{
    type = "rtp"
    id = 1
    description = "bench"
    audio = false
    video = true
    videoport = {video_port}
    videoiface = "{ip}"
    videopt = {pt}
    videocodec = "{codec}"
{fmtp_line}}}
"""
    )


@dataclass(frozen=True)
class Namespace:
    name: str
    host_ip: str
    ns_ip: str
    network: str
    """The /30 both ends are in (what receivers allow for their candidates)."""


async def _ip(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {err.decode().strip()}")


@contextlib.asynccontextmanager
async def namespace() -> AsyncIterator[Namespace]:
    """A network namespace joined to the host by a veth pair on a free 10.213.x.0/30."""
    # Every local address and route, to pick a /30 nobody uses.
    used = await asyncio.to_thread(Path("/proc/net/fib_trie").read_text)
    for _ in range(50):
        octet = secrets.randbelow(250) + 1
        if f"10.213.{octet}." not in used:
            break
    else:
        raise RuntimeError("no free 10.213.x.0/30")
    tag = secrets.token_hex(3)
    ns = Namespace(
        f"vasms-janus-{tag}", f"10.213.{octet}.1", f"10.213.{octet}.2", f"10.213.{octet}.0/30"
    )
    host_if, ns_if = f"vjh{tag}", f"vjn{tag}"
    await _ip("netns", "add", ns.name)
    try:
        await _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        try:
            await _ip("link", "set", ns_if, "netns", ns.name)
            await _ip("addr", "add", f"{ns.host_ip}/30", "dev", host_if)
            await _ip("link", "set", host_if, "up")
            for args in (
                ("addr", "add", f"{ns.ns_ip}/30", "dev", ns_if),
                ("link", "set", ns_if, "up"),
                ("link", "set", "lo", "up"),
            ):
                await _ip("netns", "exec", ns.name, "ip", *args)
            yield ns
        finally:
            with contextlib.suppress(RuntimeError):
                await _ip("link", "del", host_if)
    finally:
        await _ip("netns", "del", ns.name)


@dataclass
class Janus:
    process: asyncio.subprocess.Process
    base: str
    ip: str
    video_port: int
    http: httpx.AsyncClient
    session: int = 0
    _offers: dict[int, asyncio.Future[str]] = field(default_factory=dict)
    _handles: dict[str, int] = field(default_factory=dict)
    _poll: asyncio.Task[None] | None = None
    _tx: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": f"t{next(self._tx)}"}
        reply = (await self.http.post(f"{self.base}{path}", json=body)).json()
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus: {reply['error']}")
        return reply

    async def _long_poll(self) -> None:
        while True:
            try:
                events = (
                    await self.http.get(f"{self.base}/{self.session}?maxev=50", timeout=40)
                ).json()
            except httpx.TransportError:
                await asyncio.sleep(0.1)  # Janus restarted the poll; ask again
                continue
            for event in events if isinstance(events, list) else [events]:
                jsep = event.get("jsep")
                sender = event.get("sender")
                if jsep and jsep.get("type") == "offer" and sender in self._offers:
                    self._offers.pop(sender).set_result(jsep["sdp"])

    async def open_session(self) -> None:
        self.session = (await self._post("", {"janus": "create"}))["data"]["id"]
        self._poll = asyncio.ensure_future(self._long_poll())

    async def offer(self, receiver_id: str) -> tuple[str, Callable[[str], Awaitable[None]]]:
        """A Fleet OfferSource: a new handle watching the mountpoint."""
        handle = (
            await self._post(
                f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.streaming"}
            )
        )["data"]["id"]
        self._handles[receiver_id] = handle
        offer = asyncio.get_running_loop().create_future()
        self._offers[handle] = offer
        await self._post(
            f"/{self.session}/{handle}",
            {"janus": "message", "body": {"request": "watch", "id": 1}},
        )
        sdp = await asyncio.wait_for(offer, 20)

        async def answer(answer_sdp: str) -> None:
            await self._post(
                f"/{self.session}/{handle}",
                {
                    "janus": "message",
                    "body": {"request": "start"},
                    "jsep": {"type": "answer", "sdp": answer_sdp},
                },
            )

        return sdp, answer

    async def detach_all(self) -> None:
        handles, self._handles = self._handles, {}
        for handle in handles.values():
            with contextlib.suppress(RuntimeError, httpx.TransportError):
                await self._post(f"/{self.session}/{handle}", {"janus": "detach"})


@contextlib.asynccontextmanager
async def running_janus(ns: Namespace, pt: int, codec: str, fmtp: str = "") -> AsyncIterator[Janus]:
    """Janus in `ns` with one RTP mountpoint (id 1) for `codec` at payload type `pt`."""
    if shutil.which(JANUS) is None:
        raise SystemExit("Janus is not installed (Debian `janus`, in scripts/apt-deps.txt)")
    with tempfile.TemporaryDirectory(prefix="vasms-janus-") as tmp:
        folder = Path(tmp)
        # Ports inside a fresh namespace are all free; any fixed pair would do.
        http_port, video_port = 8088, 5004
        _configs(folder, ns.ns_ip, http_port, video_port, pt, codec, fmtp)
        process = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns.name,
            JANUS, "-C", str(folder / "janus.jcfg"), "-F", str(folder),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://{ns.ns_ip}:{http_port}/janus"
        try:
            async with httpx.AsyncClient(timeout=20) as http:
                async with asyncio.timeout(30):
                    while True:
                        if process.returncode is not None:
                            raise RuntimeError(f"janus exited ({process.returncode})")
                        with contextlib.suppress(httpx.TransportError):
                            if (await http.get(f"{base}/info")).status_code == 200:
                                break
                        await asyncio.sleep(0.2)  # another process' readiness: poll
                janus = Janus(process, base, ns.ns_ip, video_port, http)
                await janus.open_session()
                try:
                    yield janus
                finally:
                    if janus._poll is not None:
                        janus._poll.cancel()
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
