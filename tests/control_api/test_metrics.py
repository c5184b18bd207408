"""The hand-written Prometheus text format."""

from __future__ import annotations

from control_api.metrics import ApiMetrics, Counter, Gauge, Histogram, Registry


async def test_text_format() -> None:
    r = Registry()
    c = r.add(Counter("vasms_x_total", "Things.", ("kind",)))
    g = r.add(Gauge("vasms_g", "A gauge."))
    h = r.add(Histogram("vasms_h_seconds", "Times.", ("m",), buckets=(0.1, 1)))
    c.inc('a"b')
    c.inc('a"b', amount=2)
    g.set(value=1.5)
    h.observe(0.05, "GET")
    h.observe(0.5, "GET")
    text = await r.render()
    assert text.splitlines() == [
        "# HELP vasms_x_total Things.",
        "# TYPE vasms_x_total counter",
        'vasms_x_total{kind="a\\"b"} 3',
        "# HELP vasms_g A gauge.",
        "# TYPE vasms_g gauge",
        "vasms_g 1.5",
        "# HELP vasms_h_seconds Times.",
        "# TYPE vasms_h_seconds histogram",
        'vasms_h_seconds_bucket{m="GET",le="0.1"} 1',
        'vasms_h_seconds_bucket{m="GET",le="1"} 2',
        'vasms_h_seconds_bucket{m="GET",le="+Inf"} 2',
        'vasms_h_seconds_sum{m="GET"} 0.55',
        'vasms_h_seconds_count{m="GET"} 2',
    ]


async def test_all_api_metrics_are_vasms_prefixed() -> None:
    m = ApiMetrics()
    assert all(x.name.startswith("vasms_") for x in m.registry.metrics)
    m.streams.replace({("live",): 2})
    m.streams.replace({("error",): 1})
    text = await m.registry.render()
    assert 'vasms_streams{status="error"} 1' in text and "live" not in text
