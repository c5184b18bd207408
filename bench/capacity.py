"""How many real viewers of one 1.5 Mbit/s stream a node serves: 1 worker, 2 workers with
fan-out, and Janus's streaming plugin side by side, in the same run, from the same source.

One GStreamer sender (H.264 640x360@30, x264 CBR with filler at ~1.5 Mbit/s, key frame
every second, `mtu=1200`) feeds three servers at once for the whole run: a VAS-MS stack
with one worker, one with two workers (`VASMS_FANOUT=spread`, so the stream is piped to
the second worker from its first viewers on), each an `rtp` stream; and Janus 1.1
(Debian) with an RTP mountpoint, in a private network namespace reached over a veth
pair (libnice offers no loopback candidates; see bench/load/janus.py). For every level
(default 50, 100, 150, 200, 250, 300) each server in turn gets that many real
receivers (bench/load: pion, ICE + DTLS + SRTP + receiver reports + NACK, no
decoding), attached as players attach (REST consume with
DTLS parameters; Janus: watch/offer/answer, full ICE); after a settling second, one
window measures every receiver's packets and loss (RFC 3550: expected - received) and
the CPU time of the worker(s), the node daemon, the control API, Janus and the
receivers. Then the receivers are detached and the next server goes: interleaving keeps
the three comparable while other jobs load the machine. A server past 10 % loss is not
tried at higher levels.

Columns: loss% (all receivers), p99% (per-receiver loss, 99th percentile), kbps
(median receiver), CPU in % of one core over the window (media = worker(s) + node, or
Janus; recv = the receivers), µs/pkt, CPU % of a core per viewer (w/n/a = worker or
Janus / node / API), udpdrop (kernel receive-buffer drops in the window: the receivers
did not read in time), mach% (whole machine busy, all jobs), split (2 workers: each
one's CPU %, how fan-out shares the work).

CPU per forwarded packet = CPU of the media process(es) in the window / (packets
received + lost) — for VAS-MS worker(s) + node daemon (the control API is reported
apart, per viewer), for Janus its one process. All of it, receivers included, runs on
this machine's cores: what a level measures is the whole system, and the line
`machine:` says how loaded it was.

    .venv/bin/python bench/capacity.py [--levels 50 100 200 300] [--seconds 8]
                                       [--worker-cpu-cap 15]

`--worker-cpu-cap P` puts each VAS-MS worker in a cgroup (v1 `cpu`) with a CFS quota of
P % of one core (10 ms period, so throttling is smooth). On this 2-core machine the
receivers and the other jobs exhaust the CPU long before one worker does, so without a
cap the viewer counts measure the machine, not the worker; with a cap each worker is a
small core of its own and 1 vs 2 workers shows what fan-out adds. Say which mode a
figure comes from. Janus is never capped (it is compared per forwarded packet).

Last line: ``capacity: viewers_1w=N viewers_2w=M ratio=R loss_pct=L
ours_cpu_us_per_pkt=X janus_cpu_us_per_pkt=Y`` — N, M: the highest level served at
< 1 % loss (every receiver flowing); L: the loss of 2 workers at M; X, Y: at the highest
level both the 1-worker stack and Janus served at < 1 % loss.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.load.fleet import Fleet, Window  # noqa: E402
from bench.load.janus import Janus, namespace, running_janus  # noqa: E402
from bench.load.stack import Stack, cpu_seconds, running_stack  # noqa: E402

BITRATE_KBPS = 1450  # + x264's filler and RTP headers: ~1.5 Mbit/s on the wire
H264_FMTP = "profile-level-id=42e01f;packetization-mode=1"
MAX_LOSS_PCT = 1.0
GIVE_UP_LOSS_PCT = 10.0


Destination = tuple[str, int, int, int, str | None]
"""ip, port, payload type, SSRC, SRTP master key + salt (base64) or None for plain RTP."""


def _sender_argv(destinations: list[Destination]) -> list[str]:
    """One encoder, teed to one payloader per destination: every server gets the same
    encoded pictures, each with the RTP it expects (VAS-MS rtp streams take SRTP with the
    stream's own key, AES_CM_128_HMAC_SHA1_80; Janus's mountpoint plain RTP)."""
    argv = [
        "gst-launch-1.0", "-q",
        "videotestsrc", "is-live=true", "pattern=smpte", "!",
        "video/x-raw,width=640,height=360,framerate=30/1", "!",
        "x264enc", "tune=zerolatency", "speed-preset=ultrafast", f"bitrate={BITRATE_KBPS}",
        "key-int-max=30", "vbv-buf-capacity=1000", "option-string=nal-hrd=cbr:filler", "!",
        "video/x-h264,profile=constrained-baseline", "!", "tee", "name=t",
    ]  # fmt: skip
    for ip, port, pt, ssrc, key in destinations:
        argv += [
            "t.", "!", "queue", "!",
            "rtph264pay", f"pt={pt}", f"ssrc={ssrc}", "mtu=1200", "config-interval=-1",
            "aggregate-mode=zero-latency", "!",
        ]  # fmt: skip
        if key is not None:
            argv += [
                "srtpenc", f"key={base64.b64decode(key).hex()}",
                "rtp-cipher=aes-128-icm", "rtp-auth=hmac-sha1-80",
                "rtcp-cipher=aes-128-icm", "rtcp-auth=hmac-sha1-80", "!",
            ]  # fmt: skip
        argv += ["udpsink", f"host={ip}", f"port={port}", "sync=false"]
    return argv


@dataclass
class Row:
    server: str
    viewers: int
    flowing: int
    window: Window
    cpu: dict[str, float]
    """process group -> CPU seconds in the window."""
    udp_drops: int
    """Kernel receive-buffer drops in the window (host namespace, all processes)."""
    machine_pct: float
    """How busy the whole machine was in the window (every job on it)."""
    worker_split: list[float]
    """CPU seconds of each worker in the window (fan-out: how evenly the work is shared)."""

    @property
    def summary(self) -> dict[str, float]:
        return self.window.summary()

    @property
    def forwarded(self) -> int:
        return sum(p + lost for p, lost, _ in self.window.viewers.values())

    @property
    def media_cpu(self) -> float:
        return self.cpu.get("janus", 0.0) + self.cpu.get("workers", 0.0) + self.cpu.get("node", 0.0)

    @property
    def us_per_pkt(self) -> float:
        return self.media_cpu * 1e6 / self.forwarded if self.forwarded else float("nan")

    @property
    def ok(self) -> bool:
        s = self.summary
        return self.flowing == self.viewers and s.get("loss_pct", 100.0) < MAX_LOSS_PCT


class Server:
    """One side of the comparison: attach N receivers, say which pids are its CPU."""

    def __init__(self, name: str, pids: Callable[[], dict[str, list[int]]]) -> None:
        self.name = name
        self.pids = pids

    async def attach(self, fleet: Fleet, count: int) -> None:
        raise NotImplementedError

    async def detach(self, fleet: Fleet) -> None:
        raise NotImplementedError


class Vasms(Server):
    def __init__(self, name: str, stack: Stack, stream_id: str) -> None:
        super().__init__(
            name,
            lambda: {
                "workers": stack.worker_pids(),
                "node": [stack.node_pid],
                "api": [stack.api_pid],
            },
        )
        self.stack, self.stream_id = stack, stream_id

    async def attach(self, fleet: Fleet, count: int) -> None:
        await fleet.attach_vasms(self.stack, self.stream_id, count, concurrency=8)

    async def detach(self, fleet: Fleet) -> None:
        await fleet.detach(self.stack)


class JanusServer(Server):
    def __init__(self, janus: Janus) -> None:
        super().__init__("janus", lambda: {"janus": [janus.pid]})
        self.janus = janus

    async def attach(self, fleet: Fleet, count: int) -> None:
        await fleet.attach_offers(self.janus.offer, count, concurrency=8)

    async def detach(self, fleet: Fleet) -> None:
        await self.janus.detach_all()
        await fleet.detach()


def _cpu(groups: dict[str, list[int]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for name, pids in groups.items():
        for pid in pids:
            with contextlib.suppress(FileNotFoundError):
                total[name] = total.get(name, 0.0) + cpu_seconds(pid)
    return total


def _udp_drops() -> int:
    """Datagrams this network namespace's kernel dropped for a full socket receive buffer
    (Udp RcvbufErrors): a receiver (or server) that did not read in time, not the wire."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def _busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def measure(server: Server, fleet: Fleet, count: int, seconds: float) -> Row | None:
    """One level on one server; None when the server could not even take the viewers
    (an attach failed: on a saturated machine the API or a node call times out)."""
    try:
        await server.attach(fleet, count)
    except Exception as error:
        print(f"{server.name:>8}{count:>6}  attach failed: {error}"[:200], flush=True)
        await server.detach(fleet)
        return None
    try:
        flowing = await fleet.wait_flowing(within=30)
        await asyncio.sleep(1.0)  # the joins' key-frame requests and DTLS handshakes settle
        groups = server.pids()
        workers = groups.get("workers", [])
        split_before = [cpu_seconds(pid) for pid in workers]
        before, recv_before, drops = _cpu(groups), fleet.cpu_seconds(), _udp_drops()
        busy_before = _busy()
        window = await fleet.measure(seconds)
        after = _cpu(groups)
        cpu = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        cpu["receivers"] = fleet.cpu_seconds() - recv_before
        split = [cpu_seconds(pid) - b for pid, b in zip(workers, split_before, strict=True)]
        busy_after = _busy()
        machine = 100 * (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
        return Row(server.name, count, flowing, window, cpu, _udp_drops() - drops, machine, split)
    finally:
        await server.detach(fleet)


CGROUP_CPU = Path("/sys/fs/cgroup/cpu")


@contextlib.asynccontextmanager
async def capped(pids: list[int], percent: float | None) -> AsyncIterator[None]:
    """Each pid in a cgroup of its own with `percent` of one core (None: no cap)."""
    if percent is None:
        yield
        return
    groups = []
    try:
        for pid in pids:
            group = CGROUP_CPU / f"vasms-bench-{os.getpid()}-{pid}"
            group.mkdir()
            groups.append(group)
            (group / "cpu.cfs_period_us").write_text("10000")
            (group / "cpu.cfs_quota_us").write_text(str(int(percent * 100)))
            (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        for group in groups:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (CGROUP_CPU / "cgroup.procs").write_text(pid)
            group.rmdir()


@contextlib.asynccontextmanager
async def sender(destinations: list[Destination]) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        *_sender_argv(destinations),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


def _print_row(row: Row) -> None:
    s = row.summary
    w = row.window.seconds
    per_viewer = {k: 100 * v / w / max(row.viewers, 1) for k, v in row.cpu.items()}
    print(
        f"{row.server:>8}{row.viewers:>6}{row.flowing:>6}{s.get('loss_pct', 100):>8.3f}"
        f"{s.get('loss_p99', 100):>8.2f}{s.get('kbps_p50', 0):>7.0f}"
        f"{100 * row.media_cpu / w:>8.1f}"
        f"{100 * row.cpu.get('workers', 0) / w:>8.1f}{100 * row.cpu.get('node', 0) / w:>7.1f}"
        f"{100 * row.cpu.get('api', 0) / w:>7.1f}{100 * row.cpu.get('receivers', 0) / w:>7.1f}"
        f"{row.us_per_pkt:>8.1f}"
        f"{per_viewer.get('workers', per_viewer.get('janus', 0)):>8.3f}"
        f"{per_viewer.get('node', 0):>7.3f}{per_viewer.get('api', 0):>7.3f}"
        f"{row.udp_drops:>8}{row.machine_pct:>6.0f}"
        + (
            "  split " + "+".join(f"{100 * c / w:.0f}" for c in row.worker_split)
            if len(row.worker_split) > 1
            else ""
        ),
        flush=True,
    )


async def main(levels: list[int], seconds: float, processes: int, cap: float | None) -> None:
    load0 = os.getloadavg()
    busy0 = _busy()
    async with contextlib.AsyncExitStack() as stack_of:
        one = await stack_of.enter_async_context(running_stack(1))
        two = await stack_of.enter_async_context(running_stack(2, VASMS_FANOUT="spread"))
        s1 = await one.live_stream({"type": "rtp"})
        s2 = await two.live_stream({"type": "rtp"})
        e1, e2 = s1["rtp_endpoint"], s2["rtp_endpoint"]
        ns = await stack_of.enter_async_context(namespace())
        janus = await stack_of.enter_async_context(
            running_janus(ns, e1["payload_type"], "h264", H264_FMTP)
        )
        destinations: list[Destination] = [
            (e["ip"], e["port"], e["payload_type"], e["ssrc"], e.get("srtp_key_base64") or None)
            for e in (e1, e2)
        ] + [(janus.ip, janus.video_port, e1["payload_type"], e1["ssrc"], None)]
        await stack_of.enter_async_context(sender(destinations))
        await stack_of.enter_async_context(capped(one.worker_pids() + two.worker_pids(), cap))
        for stack, stream in ((one, s1), (two, s2)):
            await _until_live(stack, stream["id"])
        servers: list[Server] = [
            Vasms("vasms-1w", one, s1["id"]),
            Vasms("vasms-2w", two, s2["id"]),
            JanusServer(janus),
        ]
        fleet = await stack_of.enter_async_context(_fleet(processes, "127.0.0.0/8"))
        # Janus's receivers may also use the host side of its namespace's veth pair.
        janus_fleet = await stack_of.enter_async_context(
            _fleet(processes, f"127.0.0.0/8,{ns.network}")
        )
        print(
            f"one stream, H.264 640x360@30 ~1.5 Mbit/s, {seconds:.0f} s windows, receivers: pion "
            f"in {processes} processes; CPU in % of one core over the window; "
            + (f"each worker capped at {cap:g} % of a core" if cap else "workers not capped")
        )
        print(
            f"{'server':>8}{'view':>6}{'flow':>6}{'loss%':>8}{'p99%':>8}{'kbps':>7}"
            f"{'media':>8}{'worker':>8}{'node':>7}{'api':>7}{'recv':>7}{'µs/pkt':>8}"
            f"{'w/view':>8}{'n/view':>7}{'a/view':>7}{'udpdrop':>8}{'mach%':>6}"
        )
        rows: list[Row] = []
        given_up: set[str] = set()
        for level in sorted(levels):
            for server in servers:
                if server.name in given_up:
                    continue
                row = await measure(
                    server, janus_fleet if server.name == "janus" else fleet, level, seconds
                )
                if row is None:
                    given_up.add(server.name)
                    continue
                rows.append(row)
                _print_row(row)
                if row.summary.get("loss_pct", 100) > GIVE_UP_LOSS_PCT or row.flowing < level:
                    given_up.add(server.name)
    busy1 = _busy()
    load1 = os.getloadavg()
    machine = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    print(
        f"machine: {os.cpu_count()} cores, {machine:.0f} % busy over the run (all jobs), "
        f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end"
    )
    _final(rows)


async def _until_live(stack: Stack, stream_id: str) -> None:
    async with asyncio.timeout(30):
        while True:
            stream = await stack.request("GET", f"/api/v2/streams/{stream_id}")
            if stream["status"] == "live":
                return
            await asyncio.sleep(0.2)  # status is mirrored from node events: poll the API


@contextlib.asynccontextmanager
async def _fleet(processes: int, allow: str) -> AsyncIterator[Fleet]:
    fleet = await Fleet.start(processes, allow=allow)
    try:
        yield fleet
    finally:
        await fleet.close()


def _best(rows: list[Row], server: str) -> Row | None:
    ok = [r for r in rows if r.server == server and r.ok]
    return max(ok, key=lambda r: r.viewers) if ok else None


def _final(rows: list[Row]) -> None:
    one, two = _best(rows, "vasms-1w"), _best(rows, "vasms-2w")
    n1 = one.viewers if one else 0
    n2 = two.viewers if two else 0
    loss = two.summary["loss_pct"] if two else float("nan")
    common = [
        lvl
        for lvl in {r.viewers for r in rows}
        if any(r.server == "vasms-1w" and r.viewers == lvl and r.ok for r in rows)
        and any(r.server == "janus" and r.viewers == lvl and r.ok for r in rows)
    ]
    ours = janus = float("nan")
    if common:
        level = max(common)
        ours = next(r for r in rows if r.server == "vasms-1w" and r.viewers == level).us_per_pkt
        janus = next(r for r in rows if r.server == "janus" and r.viewers == level).us_per_pkt
        print(f"CPU per forwarded packet compared at {level} viewers (both < 1 % loss)")
    ratio = n2 / n1 if n1 else float("nan")
    for name in ("vasms-1w", "vasms-2w"):
        ok = [r for r in rows if r.server == name and r.ok and r.viewers]
        if ok:
            best = max(ok, key=lambda r: r.viewers)
            per_viewer = 100 * best.cpu.get("workers", 0) / best.window.seconds / best.viewers
            cores = len(best.worker_split) or 1
            print(
                f"{name}: worker CPU {per_viewer:.3f} % of a core per viewer at {best.viewers} "
                f"viewers -> worker-bound ceiling ~{int(cores * 100 / per_viewer)} viewers on "
                f"{cores} free core(s) (projection, not a measurement)"
            )
    print(
        f"capacity: viewers_1w={n1} viewers_2w={n2} ratio={ratio:.2f} loss_pct={loss:.3f} "
        f"ours_cpu_us_per_pkt={ours:.1f} janus_cpu_us_per_pkt={janus:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 100, 150, 200, 250, 300])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--processes", type=int, default=2, help="pion receiver processes")
    parser.add_argument(
        "--worker-cpu-cap", type=float, default=None, help="%% of a core per worker (cgroup)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(main(args.levels, args.seconds, args.processes, args.worker_cpu_cap))
    print(f"(run took {time.monotonic() - started:.0f} s)", file=sys.stderr)
