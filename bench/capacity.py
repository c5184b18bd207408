"""How many real viewers of one 1.5 Mbit/s stream one worker serves, how many two workers
with fan-out serve, and Janus's streaming plugin side by side — same run, same source.

One GStreamer sender (H.264 640x360@30, x264 CBR with filler at ~1.5 Mbit/s, ~156
packets/s, key frame every second, `mtu=1200`) feeds three servers for the whole run: a
VAS-MS stack with one worker, one with two workers (`VASMS_FANOUT=spread`: the stream is
piped to the second worker from the first viewers on and viewers alternate), each an
`rtp` stream (SRTP); and Janus 1.1 (Debian) with an RTP mountpoint, in a private network
namespace reached over a veth pair (libnice offers no loopback candidates; see
bench/load/janus.py). Receivers are bench/load's pion fleet (ICE, DTLS, SRTP, receiver
reports, NACK, no decoding), attached as players attach (REST consume with DTLS
parameters; Janus: watch/offer/answer, full ICE).

**Method: one small core per worker.** On this 2-core machine, shared with other jobs,
the receivers (and the other jobs) run out of CPU long before an uncapped worker does,
so an uncapped viewer count measures the machine (the previous figure, 250 vs 250).
So each worker is capped (bench/load/cgroups.py, cgroup v1 `cpu`): a CFS quota of
`--worker-cpu-cap` % of one core (default 15 %) every `--period-us` (default 10 ms, not
the kernel's 100 ms, so a throttled worker waits milliseconds, not a 100 ms burst that
overflows its sockets), and the highest cgroup weight (`cpu.shares` 262144), so that
within its quota the worker runs when it asks and is not starved by other jobs. The
rest of the bench (node, API, sender, receivers, Janus) shares one uncapped group of the
same high weight, so it keeps up while other jobs run (`--no-priority` drops both
weights to the default to show what other jobs do to the figure). A cap of 15 % makes
the 2-worker knee (~75 viewers: 2 x 15 % of workers, ~30 % of a core of receivers) well
below what the machine holds; the bench prints the evidence.

**Search.** Each configuration's capacity — the most viewers with every receiver
flowing, < 1 % loss and the median receiver at >= 95 % of the stream's bitrate over
one window — is found by probing: a first level
(`--first`), then 90 % of what the worker CPU per viewer measured there predicts for the
workers' budget, then steps of x1.25 until a level fails, then bisection between the
highest level served and the lowest failed down to `--resolution` (3 %, at least 2
viewers). Every probe attaches its receivers afresh, waits until all flow, lets the
joins settle (`--settle`), measures one window (`--seconds`) and detaches. The 1-worker
and 2-worker searches run together, one probe at a time, alternating (a FIFO lock), so
a change in the machine's load touches both alike. Janus is then measured at the
1-worker capacity (halved until it serves it at < 1 % loss) with the same fleet, and the
1-worker stack's row at that level gives the VAS-MS side of the CPU comparison.

Columns: loss% (all receivers), p99% (per-receiver loss, 99th percentile), kbps (median
receiver), worker (% of one core: the worker(s), or Janus), node, api, recv (receivers),
µs/pkt (media CPU per forwarded packet: worker(s) + node daemon, or Janus, / (packets
received + lost)), rµs/pkt (receiver CPU per received packet), w/view (worker or Janus %
per viewer), drop-w / drop-r (kernel receive-buffer drops in the window on the worker's
or Janus's sockets / on the receivers' sockets, from /proc/net/udp — who did not read in
time), thr% (capped worker: share of CFS periods in which it ran out of quota, the
highest of the workers), thr-ms (ms per second its tasks were held back, summed),
bench% (CPU of every process of the bench, % of the machine), mach% (whole machine
busy, every job), split (2 workers: each one's %).

After the search the bench prints, for each configuration, the level served and the
first level failed with the workers' CPU against the cap, their throttling, the packets
the receivers lost, drops on worker and on receiver sockets, and the bench's and the
other jobs' share of the machine: at the knee the workers sit at their cap, the loss
arrives as drops on the worker's input socket (a packet lost there is lost for every
viewer behind it, which is why the loss jumps from ~0 to ~10 % within a few viewers),
and the receivers' sockets drop nothing.

    .venv/bin/python bench/capacity.py [--worker-cpu-cap 15] [--period-us 10000]
        [--first 20] [--ceiling 400] [--resolution 0.03] [--seconds 8] [--settle 2]
        [--processes 1] [--gomaxprocs 1] [--no-cap] [--no-priority]

Needs root (cgroups, Janus's namespace) and the cgroup v1 `cpu` and `cpuacct`
controllers. Run it under `flock /work/bench.lock`; a run takes ~3-4 minutes.

Last line: ``capacity: viewers_1w=N viewers_2w=M ratio=R loss_pct=L
ours_cpu_us_per_pkt=X janus_cpu_us_per_pkt=Y`` — N, M: each configuration's capacity
(with the cap: capacity per capped worker budget, not of an uncapped core); L: the loss
of 2 workers at M; X, Y: CPU per forwarded packet of the 1-worker stack and of Janus at
the same level, both at < 1 % loss. Per-packet CPU grows with the machine's load (shared
caches and cores), so X and Y are comparable within a run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import itertools
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.load import cgroups, udp  # noqa: E402
from bench.load.cgroups import Group, Throttling  # noqa: E402
from bench.load.fleet import Fleet, Window  # noqa: E402
from bench.load.janus import Janus, namespace, running_janus  # noqa: E402
from bench.load.stack import Stack, cpu_seconds, running_stack  # noqa: E402

BITRATE_KBPS = 1450  # + x264's filler and RTP headers: ~1.5 Mbit/s on the wire
H264_FMTP = "profile-level-id=42e01f;packetization-mode=1"
MAX_LOSS_PCT = 1.0
STREAM_KBPS = 1500
"""What a receiver gets of the sender's stream when nothing queues (1,488-1,507 kbit/s at
20 viewers in every run)."""
MIN_RATE_SHARE = 0.95
"""A level is served only if the median receiver gets >= 95 % of STREAM_KBPS: a worker
that falls behind without dropping (its socket buffer holds ~0.6 s of this stream by
default, seconds when enlarged) delivers late, and late packets are not lost by RFC
3550's count — the rate shows it."""


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
    drops: dict[str, int]
    """Kernel receive-buffer drops in the window on the sockets of: the server's media
    processes ("media"), the receivers ("receivers")."""
    machine_pct: float
    """How busy the whole machine was in the window (every job on it), % of all cores."""
    bench_pct: float
    """CPU of this bench (every process it started) in the window, % of all cores."""
    worker_split: list[float]
    """CPU seconds of each worker in the window (fan-out: how evenly the work is shared)."""
    throttling: list[Throttling]
    """Each capped worker's CFS counters in the window (empty without a cap)."""

    @property
    def summary(self) -> dict[str, float]:
        return self.window.summary()

    @property
    def forwarded(self) -> int:
        return sum(p + lost for p, lost, _ in self.window.viewers.values())

    @property
    def received(self) -> int:
        return sum(p for p, _, _ in self.window.viewers.values())

    @property
    def lost(self) -> int:
        return sum(lost for _, lost, _ in self.window.viewers.values())

    @property
    def media_cpu(self) -> float:
        return self.cpu.get("janus", 0.0) + self.cpu.get("workers", 0.0) + self.cpu.get("node", 0.0)

    @property
    def us_per_pkt(self) -> float:
        return self.media_cpu * 1e6 / self.forwarded if self.forwarded else float("nan")

    @property
    def recv_us_per_pkt(self) -> float:
        return self.cpu.get("receivers", 0.0) * 1e6 / self.received if self.received else 0.0

    def pct(self, group: str) -> float:
        """A process group's CPU in % of one core over the window."""
        return 100 * self.cpu.get(group, 0.0) / self.window.seconds

    @property
    def ok(self) -> bool:
        s = self.summary
        return (
            self.flowing == self.viewers
            and s.get("loss_pct", 100.0) < MAX_LOSS_PCT
            and s.get("kbps_p50", 0.0) >= MIN_RATE_SHARE * STREAM_KBPS
        )


class Server:
    """One side of the comparison: attach N receivers, say which pids are its CPU."""

    def __init__(
        self, name: str, pids: Callable[[], dict[str, list[int]]], caps: list[Group]
    ) -> None:
        self.name = name
        self.pids = pids
        self.caps = caps
        """The capped cgroups of its workers (none when not capped, and for Janus)."""

    async def attach(self, fleet: Fleet, count: int) -> None:
        raise NotImplementedError

    async def detach(self, fleet: Fleet) -> None:
        raise NotImplementedError


class Vasms(Server):
    def __init__(self, name: str, stack: Stack, stream_id: str, caps: list[Group]) -> None:
        super().__init__(
            name,
            lambda: {
                "workers": stack.worker_pids(),
                "node": [stack.node_pid],
                "api": [stack.api_pid],
            },
            caps,
        )
        self.stack, self.stream_id = stack, stream_id

    async def attach(self, fleet: Fleet, count: int) -> None:
        await fleet.attach_vasms(self.stack, self.stream_id, count, concurrency=8)

    async def detach(self, fleet: Fleet) -> None:
        await fleet.detach(self.stack)


class JanusServer(Server):
    def __init__(self, janus: Janus) -> None:
        super().__init__("janus", lambda: {"janus": [janus.pid]}, [])
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


def _busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Bench:
    """What every probe shares: the bench's own CPU account and the run's settings."""

    accounting: Group
    seconds: float
    settle: float


async def measure(bench: Bench, server: Server, fleet: Fleet, count: int) -> Row | None:
    """One level on one server, receivers attached afresh; None when the server could
    not even take the viewers (an attach failed: a node call or the API timed out)."""
    try:
        await server.attach(fleet, count)
    except Exception as error:
        print(f"{server.name:>8}{count:>6}  attach failed: {error}"[:200], flush=True)
        await server.detach(fleet)
        return None
    try:
        flowing = await fleet.wait_flowing(within=30)
        await asyncio.sleep(bench.settle)  # joins' DTLS handshakes and key-frame requests pass
        groups = server.pids()
        workers = groups.get("workers", [])
        media = workers + groups.get("janus", [])
        sockets = {"media": media, "receivers": [p.pid for p in fleet.processes]}
        split_before = [cpu_seconds(pid) for pid in workers]
        throttle_before = [g.throttling() for g in server.caps]
        before, recv_before = _cpu(groups), fleet.cpu_seconds()
        drops_before, busy_before = udp.drops(sockets), _busy()
        bench_before = bench.accounting.usage_s()
        window = await fleet.measure(bench.seconds)
        bench_after, busy_after = bench.accounting.usage_s(), _busy()
        drops_after, after = udp.drops(sockets), _cpu(groups)
        cpu = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        cpu["receivers"] = fleet.cpu_seconds() - recv_before
        split = [cpu_seconds(pid) - b for pid, b in zip(workers, split_before, strict=True)]
        throttling = [g.throttling() - b for g, b in zip(server.caps, throttle_before, strict=True)]
        ticks = max(1, busy_after[1] - busy_before[1])
        machine = 100 * (busy_after[0] - busy_before[0]) / ticks
        cores = os.cpu_count() or 1
        bench_pct = 100 * (bench_after - bench_before) / window.seconds / cores
        drops = {k: drops_after[k] - drops_before.get(k, 0) for k in drops_after}
        return Row(
            server.name, count, flowing, window, cpu, drops, machine, bench_pct, split, throttling
        )
    finally:
        await server.detach(fleet)


async def find_capacity(
    probe: Callable[[int], Awaitable[Row | None]],
    first: int,
    ceiling: int,
    resolution: float,
    worker_budget_pct: float | None,
) -> tuple[int, list[Row]]:
    """The most viewers served at < 1 % loss, by search: a probe at `first`; then (capped)
    a jump to 90 % of what the worker CPU per viewer measured there predicts for the
    workers' budget, else steps of x1.25, until a level fails; then bisection between the
    highest level served and the lowest failed one, down to `resolution` (a fraction of
    the level, at least 2 viewers). Assumes more viewers never lose less — one probe
    per level, so noise at the knee shows as a few viewers of spread between runs."""
    rows: list[Row] = []

    async def served(level: int) -> bool:
        row = await probe(level)
        if row is not None:
            rows.append(row)
            _print_row(row)
        return row is not None and row.ok

    low, high, level = 0, ceiling + 1, first
    while level <= ceiling:
        if not await served(level):
            high = level
            break
        low = level
        row = rows[-1]
        predicted = 0
        if worker_budget_pct and len(rows) == 1 and row.pct("workers") > 0:
            predicted = int(0.9 * worker_budget_pct * row.viewers / row.pct("workers"))
        level = min(ceiling, max(predicted, int(level * 1.25) + 1))
        if level == low:
            break
    while high - low > max(2, resolution * low):
        middle = (low + high) // 2
        if await served(middle):
            low = middle
        else:
            high = middle
    return low, rows


RMEM_DEFAULT = Path("/proc/sys/net/core/rmem_default")


@contextlib.contextmanager
def receive_buffers(size: int | None) -> Iterator[None]:
    """Sets the default socket receive buffer for the run (None: unchanged) and restores
    it after. mediasoup sizes its sockets only when told to and the node does not, so
    this is how the workers' input sockets get more room for a key frame's burst while
    a capped worker waits for its next period. The setting is machine-wide (this
    namespace) while it lasts: other jobs' new sockets get it too."""
    if size is None:
        yield
        return
    before = RMEM_DEFAULT.read_text().strip()
    RMEM_DEFAULT.write_text(str(size))
    try:
        yield
    finally:
        RMEM_DEFAULT.write_text(before)


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


HEADER = (
    f"{'server':>8}{'view':>6}{'flow':>6}{'loss%':>8}{'p99%':>7}{'kbps':>6}"
    f"{'worker':>8}{'node':>6}{'api':>6}{'recv':>6}{'µs/pkt':>7}{'rµs/pkt':>8}"
    f"{'w/view':>7}{'drop-w':>7}{'drop-r':>7}{'thr%':>6}{'thr-ms':>7}"
    f"{'bench%':>7}{'mach%':>6}  split"
)


def _print_row(row: Row) -> None:
    s = row.summary
    w = row.window.seconds
    media = "janus" if "janus" in row.cpu else "workers"
    per_viewer = row.pct(media) / max(row.viewers, 1)
    throttled = max((t.throttled_pct for t in row.throttling), default=0.0)
    throttled_ms = sum(t.throttled_ns for t in row.throttling) / 1e6 / w
    print(
        f"{row.server:>8}{row.viewers:>6}{row.flowing:>6}{s.get('loss_pct', 100):>8.3f}"
        f"{s.get('loss_p99', 100):>7.2f}{s.get('kbps_p50', 0):>6.0f}"
        f"{row.pct(media):>8.1f}{row.pct('node'):>6.1f}{row.pct('api'):>6.1f}"
        f"{row.pct('receivers'):>6.1f}{row.us_per_pkt:>7.1f}{row.recv_us_per_pkt:>8.1f}"
        f"{per_viewer:>7.3f}{row.drops.get('media', 0):>7}{row.drops.get('receivers', 0):>7}"
        f"{throttled:>6.0f}{throttled_ms:>7.0f}{row.bench_pct:>7.0f}{row.machine_pct:>6.0f}"
        + (
            "  " + "+".join(f"{100 * c / w:.1f}" for c in row.worker_split)
            if len(row.worker_split) > 1
            else ""
        ),
        flush=True,
    )


@dataclass
class Options:
    seconds: float
    settle: float
    processes: int
    cap: float | None
    period_us: int
    first: int
    ceiling: int
    resolution: float
    priority: bool
    gomaxprocs: int
    rmem_default: int | None


async def main(options: Options) -> None:
    load0 = os.getloadavg()
    busy0 = _busy()
    shares = cgroups.HIGH_SHARES if options.priority else cgroups.DEFAULT_SHARES
    with cgroups.bench_groups(shares) as groups, receive_buffers(options.rmem_default):
        accounting = groups[1]
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
            caps: dict[int, Group] = {}
            if options.cap is not None:
                for pid in one.worker_pids() + two.worker_pids():
                    group = cgroups.capped(
                        f"vasms-bench-{os.getpid()}-w{pid}", options.cap, options.period_us, shares
                    )
                    groups.append(group)
                    group.add(pid)
                    caps[pid] = group
            for stack, stream in ((one, s1), (two, s2)):
                await stack.until_live(stream["id"])
            vasms_1w = Vasms(
                "vasms-1w", one, s1["id"], [caps[p] for p in one.worker_pids() if p in caps]
            )
            vasms_2w = Vasms(
                "vasms-2w", two, s2["id"], [caps[p] for p in two.worker_pids() if p in caps]
            )
            fleet = await stack_of.enter_async_context(
                _fleet(options.processes, "127.0.0.0/8", options.gomaxprocs)
            )
            # Janus's receivers may also use the host side of its namespace's veth pair.
            janus_fleet = await stack_of.enter_async_context(
                _fleet(options.processes, f"127.0.0.0/8,{ns.network}", options.gomaxprocs)
            )
            print(
                f"one stream, H.264 640x360@30 ~1.5 Mbit/s, {options.seconds:g} s windows, "
                f"receivers: pion in {options.processes} process(es), "
                f"GOMAXPROCS={options.gomaxprocs}; "
                "CPU in % of one core; "
                + (
                    f"each worker capped at {options.cap:g} % of a core "
                    f"(CFS period {options.period_us / 1000:g} ms)"
                    if options.cap
                    else "workers not capped"
                )
                + ("" if options.priority else "; bench at the default cgroup weight")
                + (
                    f"; net.core.rmem_default {options.rmem_default} bytes"
                    if options.rmem_default
                    else ""
                ),
                flush=True,
            )
            print(HEADER, flush=True)
            bench = Bench(accounting, options.seconds, options.settle)
            # Both searches at once, one probe at a time: the lock is FIFO, so their probes
            # alternate and a change in the machine's load touches both alike.
            turn = asyncio.Lock()

            async def probe(server: Server, level: int) -> Row | None:
                async with turn:
                    return await measure(bench, server, fleet, level)

            searches = [
                find_capacity(
                    functools.partial(probe, server),
                    options.first,
                    options.ceiling,
                    options.resolution,
                    options.cap * (len(server.caps) or 1) if options.cap else None,
                )
                for server in (vasms_1w, vasms_2w)
            ]
            found = dict(
                zip(("vasms-1w", "vasms-2w"), await asyncio.gather(*searches), strict=True)
            )
            # Janus side by side at the 1-worker capacity (or less, if Janus loses there).
            level = found["vasms-1w"][0] or options.first
            janus_server = JanusServer(janus)
            janus_rows: list[Row] = []
            ours_at: Row | None = None
            while level >= 10:
                row = await measure(bench, janus_server, janus_fleet, level)
                if row is not None:
                    janus_rows.append(row)
                    _print_row(row)
                    if row.ok:
                        break
                level //= 2
            if janus_rows and janus_rows[-1].ok:
                ours_at = next(
                    (r for r in found["vasms-1w"][1] if r.viewers == level and r.ok), None
                )
                if ours_at is None:
                    ours_at = await measure(bench, vasms_1w, fleet, level)
                    if ours_at is not None:
                        _print_row(ours_at)
    busy1 = _busy()
    load1 = os.getloadavg()
    machine = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    print(
        f"machine: {os.cpu_count()} cores, {machine:.0f} % busy over the run (all jobs), "
        f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end"
    )
    _final(options, found, janus_rows, ours_at)


@contextlib.asynccontextmanager
async def _fleet(processes: int, allow: str, gomaxprocs: int) -> AsyncIterator[Fleet]:
    fleet = await Fleet.start(processes, allow=allow, env={"GOMAXPROCS": str(gomaxprocs)})
    try:
        yield fleet
    finally:
        await fleet.close()


def _evidence(options: Options, name: str, capacity: int, rows: list[Row]) -> None:
    """Where each configuration's knee comes from: the worker (at its cap, throttled,
    its input dropping) or not (receivers dropping, machine without idle CPU)."""
    at = next((r for r in rows if r.viewers == capacity and r.ok), None)
    failed = sorted((r for r in rows if r.viewers > capacity), key=lambda r: r.viewers)
    for label, row in (("served", at), ("first failed", failed[0] if failed else None)):
        if row is None:
            continue
        w = row.window.seconds
        workers = ", ".join(
            f"{100 * c / w:.1f} %"
            + (f" (throttled in {t.throttled_pct:.0f} % of periods)" if t else "")
            for c, t in itertools.zip_longest(
                row.worker_split or [row.cpu.get("workers", 0)], row.throttling
            )
        )
        idle = 100 - row.machine_pct
        print(
            f"{name} {label} at {row.viewers}: loss {row.summary.get('loss_pct', 100):.3f} %, "
            f"worker(s) {workers}"
            + (f" of a {options.cap:g} % cap" if options.cap else "")
            + f"; {row.lost} packets lost by the receivers; drops on worker sockets "
            f"{row.drops.get('media', 0)}, on receiver sockets "
            f"{row.drops.get('receivers', 0)}; receivers {row.pct('receivers'):.1f} % of a core; "
            f"bench {row.bench_pct:.0f} % of the machine, other jobs "
            f"{max(0.0, row.machine_pct - row.bench_pct):.0f} %, idle {idle:.0f} %"
        )


def _final(
    options: Options,
    found: dict[str, tuple[int, list[Row]]],
    janus_rows: list[Row],
    ours_at: Row | None,
) -> None:
    n1, rows1 = found["vasms-1w"]
    n2, rows2 = found["vasms-2w"]
    _evidence(options, "vasms-1w", n1, rows1)
    _evidence(options, "vasms-2w", n2, rows2)
    at2 = next((r for r in rows2 if r.viewers == n2 and r.ok), None)
    loss = at2.summary["loss_pct"] if at2 else float("nan")
    janus = janus_rows[-1] if janus_rows and janus_rows[-1].ok else None
    ours_us = ours_at.us_per_pkt if ours_at and janus else float("nan")
    janus_us = janus.us_per_pkt if janus else float("nan")
    if janus and ours_at:
        print(
            f"CPU per forwarded packet compared at {janus.viewers} viewers (both < 1 % loss); "
            f"probes: vasms-1w {len(rows1)}, vasms-2w {len(rows2)}, janus {len(janus_rows)}"
        )
    ratio = n2 / n1 if n1 else float("nan")
    print(
        f"capacity: viewers_1w={n1} viewers_2w={n2} ratio={ratio:.2f} loss_pct={loss:.3f} "
        f"ours_cpu_us_per_pkt={ours_us:.1f} janus_cpu_us_per_pkt={janus_us:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after the joins")
    parser.add_argument("--processes", type=int, default=1, help="pion receiver processes")
    parser.add_argument(
        "--gomaxprocs", type=int, default=1, help="GOMAXPROCS of each receiver process"
    )
    parser.add_argument(
        "--worker-cpu-cap", type=float, default=15.0, help="%% of a core per worker (cgroup)"
    )
    parser.add_argument("--no-cap", action="store_true", help="workers not capped")
    parser.add_argument(
        "--no-priority",
        action="store_true",
        help="bench and capped workers at the default cgroup weight (shows what other jobs do)",
    )
    parser.add_argument(
        "--rmem-default",
        type=int,
        default=None,
        help="net.core.rmem_default (bytes) for the run, restored after: every new socket's "
        "receive buffer, the workers' included",
    )
    parser.add_argument("--period-us", type=int, default=10000, help="CFS period of the cap")
    parser.add_argument("--first", type=int, default=20, help="first level probed")
    parser.add_argument("--ceiling", type=int, default=400, help="most viewers probed")
    parser.add_argument(
        "--resolution", type=float, default=0.03, help="bisection stops at this fraction"
    )
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(
        main(
            Options(
                seconds=args.seconds,
                settle=args.settle,
                processes=args.processes,
                cap=None if args.no_cap else args.worker_cpu_cap,
                period_us=args.period_us,
                first=args.first,
                ceiling=args.ceiling,
                resolution=args.resolution,
                priority=not args.no_priority,
                gomaxprocs=args.gomaxprocs,
                rmem_default=args.rmem_default,
            )
        )
    )
    print(f"(run took {time.monotonic() - started:.0f} s)", file=sys.stderr)
