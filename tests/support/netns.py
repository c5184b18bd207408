"""A viewer behind NAT, in network namespaces the test creates (needs root).

    root namespace            router namespace                 viewer namespace
    (media node, coturn,      NAT + firewall + loss/rate cap   (Chromium, aiortc)
     control API)
    server_ip ── veth ── router_up_ip   router_down_ip ── veth ── viewer_ip
    10.201.N.1/24         10.201.N.2/24  10.202.N.1/24            10.202.N.2/24

The viewer's only route is the router; the router masquerades everything leaving
towards the server (iptables MASQUERADE), so the server sees 10.201.N.2 like a home or
hotel NAT's public address, and it forwards nothing else: it has no default route, so
no packet of the viewer can reach any address but the test's own. Firewall rules, the
random loss (iptables `statistic`) and the rate cap (`tc tbf`) live in the router
namespace, so deleting the two namespaces removes every rule, qdisc and veth the test
made (the root side of a veth goes with its peer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass


class NetnsError(RuntimeError):
    pass


async def sh(*cmd: str, check: bool = True) -> str:
    """Runs one command; its stdout (raises with stderr when it fails and `check`)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: exit {proc.returncode}: {err.decode().strip()}")
    return out.decode()


async def _free_subnet_index() -> int:
    """An N such that neither 10.201.N.0/24 nor 10.202.N.0/24 is in use on this machine."""
    used = (await sh("ip", "-4", "-o", "addr", "show")) + (await sh("ip", "-4", "route", "show"))
    for _ in range(100):
        n = random.randint(1, 254)
        if f"10.201.{n}." not in used and f"10.202.{n}." not in used:
            return n
    raise NetnsError("no free 10.201.N.0/24 / 10.202.N.0/24 pair")


@dataclass
class NatLab:
    tag: str
    n: int

    @property
    def router_ns(self) -> str:
        return f"vasms-{self.tag}-r"

    @property
    def viewer_ns(self) -> str:
        return f"vasms-{self.tag}-v"

    @property
    def server_ip(self) -> str:
        return f"10.201.{self.n}.1"

    @property
    def router_up_ip(self) -> str:
        """The NAT's outside address: what the server sees as the viewer's address."""
        return f"10.201.{self.n}.2"

    @property
    def viewer_ip(self) -> str:
        return f"10.202.{self.n}.2"

    @property
    def up_dev(self) -> str:
        """The router's interface towards the server."""
        return f"vu{self.tag}b"

    @property
    def down_dev(self) -> str:
        """The router's interface towards the viewer (traffic to the viewer leaves here)."""
        return f"vd{self.tag}a"

    def in_viewer(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.viewer_ns, *cmd]

    def in_router(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.router_ns, *cmd]

    async def router(self, *cmd: str) -> str:
        return await sh(*self.in_router(*cmd))

    async def forward_drop(self, *match: str) -> None:
        """Drops forwarded packets matching `match` (both directions go through FORWARD)."""
        await self.router("iptables", "-A", "FORWARD", *match, "-j", "DROP")

    async def flush_firewall(self) -> None:
        await self.router("iptables", "-F", "FORWARD")
        with contextlib.suppress(NetnsError):
            await self.router("tc", "qdisc", "del", "dev", self.down_dev, "root")

    async def forward_counters(self) -> list[tuple[int, str]]:
        """(packets, rule) of each FORWARD rule, for checking that a rule really matched."""
        out = await self.router("iptables", "-L", "FORWARD", "-v", "-x", "-n")
        rows = []
        for line in out.splitlines()[2:]:
            parts = line.split()
            if parts:
                rows.append((int(parts[0]), " ".join(parts[2:])))
        return rows

    async def qdisc_stats(self) -> str:
        return await self.router("tc", "-s", "qdisc", "show", "dev", self.down_dev)


async def _setup(lab: NatLab) -> None:
    up_root, down_view = f"vu{lab.tag}a", f"vd{lab.tag}b"
    r, v = lab.router_ns, lab.viewer_ns
    await sh("ip", "netns", "add", r)
    await sh("ip", "netns", "add", v)
    # server <-> router
    await sh("ip", "link", "add", up_root, "type", "veth", "peer", "name", lab.up_dev)
    await sh("ip", "link", "set", lab.up_dev, "netns", r)
    await sh("ip", "addr", "add", f"{lab.server_ip}/24", "dev", up_root)
    await sh("ip", "link", "set", up_root, "up")
    # router <-> viewer
    await sh("ip", "link", "add", lab.down_dev, "type", "veth", "peer", "name", down_view)
    await sh("ip", "link", "set", lab.down_dev, "netns", r)
    await sh("ip", "link", "set", down_view, "netns", v)
    await lab.router("ip", "addr", "add", f"{lab.router_up_ip}/24", "dev", lab.up_dev)
    await lab.router("ip", "addr", "add", f"10.202.{lab.n}.1/24", "dev", lab.down_dev)
    for dev in ("lo", lab.up_dev, lab.down_dev):
        await lab.router("ip", "link", "set", dev, "up")
    await lab.router("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    await lab.router(
        "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", lab.up_dev, "-j", "MASQUERADE"
    )
    await sh(*lab.in_viewer("ip", "addr", "add", f"{lab.viewer_ip}/24", "dev", down_view))
    await sh(*lab.in_viewer("ip", "link", "set", "lo", "up"))
    await sh(*lab.in_viewer("ip", "link", "set", down_view, "up"))
    await sh(*lab.in_viewer("ip", "route", "add", "default", "via", f"10.202.{lab.n}.1"))
    # The namespaces hold only the test's own addresses.
    for ip in (lab.server_ip, lab.router_up_ip, lab.viewer_ip):
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.200.0.0/14")


async def _teardown(lab: NatLab) -> None:
    for ns in (lab.viewer_ns, lab.router_ns):
        with contextlib.suppress(NetnsError):
            await sh("ip", "netns", "del", ns)
    with contextlib.suppress(NetnsError):  # normally gone with its peer already
        await sh("ip", "link", "del", f"vu{lab.tag}a", check=False)


@contextlib.asynccontextmanager
async def nat_lab() -> AsyncIterator[NatLab]:
    """Builds the three-namespace NAT above; removes all of it on exit."""
    lab = NatLab(secrets.token_hex(3), await _free_subnet_index())
    try:
        await _setup(lab)
        yield lab
    finally:
        await _teardown(lab)


def missing_tools(tools: Sequence[str] = ("ip", "iptables", "tc", "turnserver")) -> str | None:
    """Why the NAT tests cannot run (None when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)} (make setup installs scripts/apt-deps.txt)"
    return None
