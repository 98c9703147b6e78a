"""Rates and latency quantiles from two /metrics scrapes, the way PromQL computes them."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from nexus_console.domain.prom_metrics import (
    MetricsParseError,
    MetricsScrape,
    derive_sample,
    histogram_quantile,
    parse_metrics_text,
)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10)


class FakeService:
    """A prometheus-client registry shaped like a reference-server service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "requests", ["endpoint", "method", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "latency", ["endpoint"], buckets=BUCKETS, registry=self.registry
        )
        self.cpu = Gauge("process_cpu_percent", "cpu", registry=self.registry)
        self.rss = Gauge("process_resident_memory_bytes", "rss", registry=self.registry)

    def serve(self, endpoint: str, status: str, seconds: float, times: int = 1) -> None:
        for _ in range(times):
            self.requests.labels(endpoint, "GET", status).inc()
            self.duration.labels(endpoint).observe(seconds)

    def scrape(self, at: float) -> MetricsScrape:
        return parse_metrics_text(generate_latest(self.registry).decode(), at)


def test_rates_are_counter_increases_divided_by_the_time_between_scrapes() -> None:
    service = FakeService()
    service.serve("/a", "200", 0.01, times=10)
    first = service.scrape(100.0)
    service.serve("/a", "200", 0.01, times=40)
    service.serve("/b", "404", 0.01, times=6)
    service.serve("/b", "503", 0.01, times=4)
    second = service.scrape(102.0)
    sample = derive_sample(first, second)
    assert sample.rps == pytest.approx(25.0)
    assert sample.rps_4xx == pytest.approx(3.0)
    assert sample.rps_5xx == pytest.approx(2.0)
    assert sample.error_ratio == pytest.approx(0.2)


def test_quantiles_come_from_bucket_deltas_not_from_all_time_counts() -> None:
    service = FakeService()
    # A slow past that must not leak into the current interval.
    service.serve("/a", "200", 4.0, times=1000)
    first = service.scrape(10.0)
    service.serve("/a", "200", 0.02, times=90)  # bucket (0.01, 0.025]
    service.serve("/b", "200", 0.4, times=10)  # bucket (0.3, 0.5]
    second = service.scrape(11.0)
    sample = derive_sample(first, second)
    # p50: rank 50 of 100, all 90 in (10, 25] ms -> 10 + 15 * 50/90
    assert sample.p50_ms == pytest.approx(10 + 15 * 50 / 90)
    # p95: rank 95, 90 below, 10 in (300, 500] ms -> 300 + 200 * 5/10
    assert sample.p95_ms == pytest.approx(400.0)
    assert sample.p99_ms == pytest.approx(300 + 200 * 9 / 10)


def test_a_quantile_in_the_infinite_bucket_is_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.99, {0.1: 1.0, 10.0: 1.0, math.inf: 100.0}) == 10.0


def test_no_requests_in_the_interval_gives_nan_latency_and_zero_rate() -> None:
    service = FakeService()
    service.serve("/a", "200", 0.01)
    first = service.scrape(1.0)
    second = service.scrape(2.0)
    sample = derive_sample(first, second)
    assert sample.rps == 0.0
    assert math.isnan(sample.p95_ms)
    assert math.isnan(sample.error_ratio)


def test_a_service_with_no_request_counters_yet_has_an_unknown_rate_not_zero() -> None:
    service = FakeService()  # nothing served: the counter family exists but has no series
    sample = derive_sample(service.scrape(1.0), service.scrape(2.0))
    assert math.isnan(sample.rps) and math.isnan(sample.rps_5xx)


def test_a_counter_reset_after_a_restart_counts_the_new_value_not_a_negative_rate() -> None:
    before = FakeService()
    before.serve("/a", "200", 0.01, times=500)
    first = before.scrape(1.0)
    restarted = FakeService()
    restarted.serve("/a", "200", 0.01, times=8)
    second = restarted.scrape(3.0)
    sample = derive_sample(first, second)
    assert sample.rps == pytest.approx(4.0)
    assert sample.p50_ms > 0


def test_the_first_scrape_has_gauges_but_no_rates() -> None:
    service = FakeService()
    service.cpu.set(42.0)
    service.rss.set(150e6)
    sample = derive_sample(None, service.scrape(1.0))
    assert sample.cpu_pct == 42.0
    assert sample.rss_mb == pytest.approx(150.0)
    assert math.isnan(sample.rps)


@pytest.mark.parametrize(
    "body",
    ["<html>oops</html>", 'http_requests_total{endpoint="/a" 3', "", "\x00\x01garbage"],
)
def test_garbage_metrics_text_is_a_parse_error_with_a_reason(body: str) -> None:
    with pytest.raises(MetricsParseError, match="invalid metrics text"):
        parse_metrics_text(body, 1.0)


def _via_library_only(text: str) -> MetricsScrape:
    from unittest import mock

    with mock.patch("nexus_console.domain.prom_metrics._plain_samples", return_value=None):
        return parse_metrics_text(text, 1.0)


def test_the_fast_path_reads_an_exporters_scrape_exactly_as_the_library_does() -> None:
    service = FakeService()
    for status, seconds in (("200", 0.004), ("200", 0.3), ("500", 1.7), ("404", 0.02)):
        service.serve("/api/orders/{id}", status, seconds, times=7)
    body = generate_latest(service.registry).decode()
    from unittest import mock

    with mock.patch("nexus_console.domain.prom_metrics._library_samples", side_effect=AssertionError):
        fast = parse_metrics_text(body, 1.0)  # the plain lines never reach the library
    assert fast == _via_library_only(body)


@pytest.mark.parametrize(
    "line",
    [
        'http_requests_total{endpoint="/a \\"quoted\\"",status="200"} 5',  # an escaped quote: the library's
        'http_requests_total{status="200",endpoint="/a,b}"} 5 1700000000000',  # `,` and `}` inside a value
        'http_requests_total{ status = "200" } 5',  # spaces around the label
        "process_cpu_percent 12.5",
        'http_request_duration_seconds_bucket{le="+Inf"} 5',
    ],
)
def test_unusual_but_valid_lines_read_the_same_either_way(line: str) -> None:
    assert parse_metrics_text(line, 1.0) == _via_library_only(line)


def test_a_broken_line_is_a_parse_error_not_a_zero() -> None:
    with pytest.raises(MetricsParseError):
        parse_metrics_text('http_requests_total{status="200"} five', 1.0)
