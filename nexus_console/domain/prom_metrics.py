"""Service metrics from Prometheus text: parse one scrape, then derive rates and quantiles from two scrapes.

Quantiles follow PromQL `histogram_quantile(q, sum by (le) (rate(..._bucket[dt])))`: bucket counts are
differenced between successive scrapes, summed over endpoints, and the quantile is linearly interpolated
inside the bucket where its rank falls. A counter that went down (the service restarted) counts from zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from nexus_console.domain.ringbuffer import TimeSeriesRing

REQUESTS_TOTAL = "http_requests_total"
DURATION_BUCKET = "http_request_duration_seconds_bucket"
GAUGES_KEPT = ("process_cpu_percent", "process_resident_memory_bytes")

_WANTED_PREFIXES = (REQUESTS_TOTAL + "{", DURATION_BUCKET + "{", *GAUGES_KEPT)

# Columns of a service's metrics history, in ring-buffer order.
SAMPLE_COLUMNS = ("rps", "rps_4xx", "rps_5xx", "p50_ms", "p95_ms", "p99_ms", "cpu_pct", "rss_mb")


class MetricsParseError(ValueError):
    """The body is not Prometheus text exposition of the expected shape."""


@dataclass(frozen=True, slots=True)
class MetricsScrape:
    """The parts of one /metrics scrape that the console charts."""

    scraped_at: float
    requests_by_status: Mapping[str, float]  # status code -> cumulative count, summed over endpoints
    duration_buckets: Mapping[float, float]  # upper bound (inf for +Inf) -> cumulative count
    gauges: Mapping[str, float] = field(default_factory=dict)

    @property
    def requests_total(self) -> float:
        return sum(self.requests_by_status.values())


@dataclass(frozen=True, slots=True)
class MetricsSample:
    """Rates and latency quantiles over the interval between two scrapes (NaN when undefined)."""

    time_s: float
    rps: float
    rps_4xx: float
    rps_5xx: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_pct: float
    rss_mb: float

    def as_row(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in SAMPLE_COLUMNS)

    @property
    def error_ratio(self) -> float:
        if not self.rps > 0:
            return math.nan
        return (self.rps_4xx + self.rps_5xx) / self.rps


def parse_metrics_text(text: str, scraped_at: float) -> MetricsScrape:
    """Parse Prometheus text exposition. CPU-bound: run it on an executor, not the GUI thread."""
    # Only the lines we chart: the rest of a scrape (help, types, other families) is never parsed.
    wanted = [line for line in text.splitlines() if line.startswith(_WANTED_PREFIXES)]
    samples = _plain_samples(wanted)
    if samples is None:
        samples = _library_samples(wanted)
    requests: dict[str, float] = {}
    buckets: dict[float, float] = {}
    gauges: dict[str, float] = {}
    try:
        for name, labels, value in samples:
            if name == REQUESTS_TOTAL:
                status = labels.get("status", "")
                requests[status] = requests.get(status, 0.0) + value
            elif name == DURATION_BUCKET:
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + value
            elif name in GAUGES_KEPT:
                gauges[name] = value
    except (ValueError, KeyError) as exc:
        raise MetricsParseError(f"invalid metrics text: {exc}") from exc
    if not samples:
        raise MetricsParseError(
            f"invalid metrics text: no {REQUESTS_TOTAL}, {DURATION_BUCKET} or process gauges"
        )
    return MetricsScrape(scraped_at, requests, dict(sorted(buckets.items())), gauges)


Sample = tuple[str, dict[str, str], float]

# `name{label="value",...} value` with an optional timestamp: the shape every exporter writes these lines in
_PLAIN_LINE = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)"  # the sample name
    r"(?:\{((?:[^\"}]|\"(?:[^\"\\]|\\.)*\")*)\})?"  # its labels: `}` only outside quoted values
    r"[ \t]+(\S+)(?:[ \t]+-?\d+)?[ \t]*"  # the value and an optional timestamp
)
_PLAIN_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|$)')


def _plain_samples(lines: list[str]) -> list[Sample] | None:
    """The samples of plainly written lines, or None when any line is not plain (escaped label values,
    odd spacing...) and needs the full parser.

    Hand-written because prometheus_client's parser, general and pure Python, costs ~27 µs a sample: 70 ms
    of every one-second round over the 44 services, holding the interpreter lock that the GUI thread waits
    for (GUI stalls of 60-130 ms, measured by admin_max_stall_ms). This path is ~10x cheaper; anything it
    does not recognise goes to the library, so correctness stays the library's.
    """
    samples: list[Sample] = []
    for line in lines:
        match = _PLAIN_LINE.fullmatch(line)
        if match is None:
            return None
        name, label_text, value_text = match.groups()
        labels: dict[str, str] = {}
        if label_text:
            end = 0
            for label in _PLAIN_LABEL.finditer(label_text):
                if label.start() != end or "\\" in label.group(2):
                    return None
                labels[label.group(1)] = label.group(2)
                end = label.end()
            if end != len(label_text):
                return None
        try:
            value = float(value_text)
        except ValueError:
            return None
        samples.append((name, labels, value))
    return samples


def _library_samples(lines: list[str]) -> list[Sample]:
    """The same, by prometheus_client's parser (untyped families, matched by full sample name)."""
    try:
        return [
            (sample.name, sample.labels, float(sample.value))
            for family in text_string_to_metric_families("\n".join(lines))
            for sample in family.samples
        ]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise MetricsParseError(f"invalid metrics text: {exc}") from exc


def _increase(current: float, previous: float) -> float:
    # A counter that went down was reset (the process restarted): its whole current value is new.
    return current - previous if current >= previous else current


def histogram_quantile(q: float, bucket_increase: Mapping[float, float]) -> float:
    """PromQL's histogram_quantile over non-cumulative-in-time, cumulative-in-le bucket increases."""
    if not bucket_increase:
        return math.nan
    bounds = sorted(bucket_increase)
    if not math.isinf(bounds[-1]):
        return math.nan  # Prometheus requires the +Inf bucket
    # Cumulative counts must not decrease with `le`; smooth out small inconsistencies as Prometheus does.
    counts: list[float] = []
    running = 0.0
    for bound in bounds:
        running = max(running, bucket_increase[bound])
        counts.append(running)
    total = counts[-1]
    if total <= 0:
        return math.nan
    rank = q * total
    for i, bound in enumerate(bounds):
        if counts[i] >= rank:
            if math.isinf(bound):
                return bounds[i - 1] if i > 0 else math.nan
            lower = bounds[i - 1] if i > 0 else 0.0
            below = counts[i - 1] if i > 0 else 0.0
            in_bucket = counts[i] - below
            if in_bucket <= 0:
                return bound
            return lower + (bound - lower) * (rank - below) / in_bucket
    return bounds[-2] if len(bounds) > 1 else math.nan


def derive_sample(previous: MetricsScrape | None, current: MetricsScrape) -> MetricsSample:
    """Rates and quantiles between two scrapes. Without a usable previous scrape, only gauges are known."""
    cpu = current.gauges.get("process_cpu_percent", math.nan)
    rss_bytes = current.gauges.get("process_resident_memory_bytes", math.nan)
    rss_mb = rss_bytes / 1e6
    elapsed = current.scraped_at - previous.scraped_at if previous is not None else 0.0
    # no request counters yet (a service that has not been asked anything) is "not known", not 0 req/s
    if previous is None or elapsed <= 0 or not current.requests_by_status:
        nan = math.nan
        return MetricsSample(current.scraped_at, nan, nan, nan, nan, nan, nan, cpu, rss_mb)

    by_class = {"all": 0.0, "4": 0.0, "5": 0.0}
    for status, count in current.requests_by_status.items():
        increase = _increase(count, previous.requests_by_status.get(status, 0.0))
        by_class["all"] += increase
        if status[:1] in ("4", "5"):
            by_class[status[:1]] += increase

    bucket_increase = {
        bound: _increase(count, previous.duration_buckets.get(bound, 0.0))
        for bound, count in current.duration_buckets.items()
    }
    p50, p95, p99 = (histogram_quantile(q, bucket_increase) * 1000.0 for q in (0.50, 0.95, 0.99))
    return MetricsSample(
        time_s=current.scraped_at,
        rps=by_class["all"] / elapsed,
        rps_4xx=by_class["4"] / elapsed,
        rps_5xx=by_class["5"] / elapsed,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        cpu_pct=cpu,
        rss_mb=rss_mb,
    )


HISTORY_CAPACITY = 3600  # one hour of 1 s samples


class MetricsHistory:
    """One fixed-size ring per service (created on first sight); memory is bounded by the service count."""

    def __init__(self, capacity: int = HISTORY_CAPACITY) -> None:
        self.capacity = capacity
        self._rings: dict[str, TimeSeriesRing] = {}
        self.revision = 0  # bumped on every recorded round, so a chart can skip redraws when nothing changed

    def ring(self, service: str) -> TimeSeriesRing:
        ring = self._rings.get(service)
        if ring is None:
            ring = self._rings[service] = TimeSeriesRing(self.capacity, SAMPLE_COLUMNS)
        return ring

    def services(self) -> list[str]:
        return list(self._rings)

    def record(self, service: str, sample: MetricsSample) -> None:
        self.ring(service).append(sample.time_s, sample.as_row())

    def record_gap(self, service: str, time_s: float) -> None:
        """A failed scrape: a NaN sample, so charts show a gap rather than joining across it."""
        self.ring(service).append(time_s, (math.nan,) * len(SAMPLE_COLUMNS))

    def finish_round(self) -> None:
        self.revision += 1

    def forget_except(self, services: set[str]) -> None:
        """Drop rings of services that left the catalogue."""
        for name in [n for n in self._rings if n not in services]:
            del self._rings[name]

    @property
    def nbytes(self) -> int:
        return sum(ring.nbytes for ring in self._rings.values())
