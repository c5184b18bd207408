"""Prometheus metrics in the text exposition format (0.0.4), written by hand.

The control API needs a handful of counters, gauges and one histogram; a
small registry here avoids a dependency and keeps every name `vasms_*`.
Gauges that describe the shared state (streams by status, node load) are
filled at scrape time by collectors, so each replica reports the same truth.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)
LabelValues = tuple[str, ...]
M = TypeVar("M", bound="_Metric")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{_labels(self.label_names, labels)} {_num(value)}"


class Gauge(Counter):
    kind = "gauge"

    def set(self, *labels: str, value: float) -> None:
        with self._lock:
            self._values[labels] = value

    def replace(self, values: dict[LabelValues, float]) -> None:
        """Swaps the whole set (collectors: a label set that vanished must disappear)."""
        with self._lock:
            self._values = dict(values)


DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = (*sorted(buckets), math.inf)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            counts = self._counts.setdefault(labels, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            self._sums[labels] = self._sums.get(labels, 0.0) + value

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        for labels, counts, total in items:
            for bound, count in zip(self.buckets, counts, strict=True):
                le = f'le="{_num(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {count}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {_num(total)}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {counts[-1]}"


Collector = Callable[[], Awaitable[None]]


class Registry:
    """Metrics of one process; `collectors` refresh scrape-time gauges before rendering."""

    def __init__(self) -> None:
        self.metrics: list[_Metric] = []
        self.collectors: list[Collector] = []

    def add(self, metric: M) -> M:
        self.metrics.append(metric)
        return metric

    async def render(self) -> str:
        """The exposition text; a failing collector (database down) keeps its last values,
        so a scrape during an outage still shows the counters that explain it."""
        for collect in self.collectors:
            try:
                await collect()
            except Exception as exc:
                log.warning(
                    "metrics collector %s failed: %r", getattr(collect, "__name__", "?"), exc
                )
        lines: list[str] = []
        for metric in self.metrics:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


class ApiMetrics:
    """The metrics the control API exports."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.http_requests = r.add(
            Counter(
                "vasms_http_requests_total",
                "HTTP requests answered.",
                ("method", "route", "status"),
            )
        )
        self.http_duration = r.add(
            Histogram(
                "vasms_http_request_duration_seconds",
                "Time to answer HTTP requests.",
                ("method", "route"),
            )
        )
        self.node_rpcs = r.add(
            Counter("vasms_node_rpc_total", "gRPC calls to media nodes.", ("method", "code"))
        )
        self.node_events = r.add(
            Counter("vasms_node_events_total", "Events received from nodes.", ("node", "type"))
        )
        self.node_up = r.add(Gauge("vasms_node_up", "1 if the node answered recently.", ("node",)))
        self.node_draining = r.add(Gauge("vasms_node_draining", "1 if draining.", ("node",)))
        self.node_cpu = r.add(
            Gauge("vasms_node_cpu_percent", "Mean worker CPU of the node.", ("node",))
        )
        self.node_consumers = r.add(
            Gauge("vasms_node_consumers", "Consumers the node reports.", ("node",))
        )
        self.streams = r.add(Gauge("vasms_streams", "Streams by status.", ("status",)))
        self.consumers = r.add(Gauge("vasms_consumers", "Consumer rows by state.", ("state",)))
        self.ws_connections = r.add(
            Gauge("vasms_ws_connections", "Open V1 WebSocket connections on this replica.")
        )
        self.ws_connections.set(value=0)
        self.quota_rejections = r.add(
            Counter(
                "vasms_quota_rejections_total",
                "Requests refused with 429 quota_exceeded, by limit.",
                ("limit",),
            )
        )
        self.logins = r.add(
            Counter(
                "vasms_logins_total",
                "Sign-in attempts by result (ok, invalid, throttled).",
                ("result",),
            )
        )
        self.password_checks = r.add(
            Counter(
                "vasms_password_checks_total",
                "Password verifications (argon2) run for sign-ins and password changes.",
            )
        )
        self.revoked_sockets = r.add(
            Counter(
                "vasms_ws_revoked_total",
                "V1 sockets closed because their token was revoked or expired.",
            )
        )
