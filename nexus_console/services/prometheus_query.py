"""Prometheus query API (`/api/v1/query`, `/api/v1/query_range`) answers as plain Python.

`PrometheusClient.query` and `.query_range` (services.prometheus) read the answer within the client's limits
and hand its `data` here. A vector becomes a list of `Sample(labels, time, value)`, a matrix a list of
`Series(labels, times, values)` (numpy float64 arrays); a scalar answer is one sample without labels.
Prometheus writes every value as a string: "NaN", "+Inf" and "-Inf" become the floats they name, so a
division by zero in the query is a float the caller can test (`math.isfinite`), never a crash.
An error answer raises `QueryError` with a sentence naming the query.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nexus_console.services.http.errors import FetchError

Array = npt.NDArray[np.float64]

__all__ = ["QueryError", "Sample", "Series", "parse_matrix", "parse_value", "parse_vector"]


class QueryError(FetchError, ValueError):
    """Prometheus refused or failed a query; the text names the query."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector."""

    labels: Mapping[str, str]
    time: float  # epoch s
    value: float  # may be NaN or ±Inf


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """One element of a range matrix: its points in time order."""

    labels: Mapping[str, str]
    times: Array
    values: Array


_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}


def parse_value(text: Any) -> float:
    """A Prometheus sample value ("0.5", "NaN", "+Inf") as a float; anything unreadable is NaN."""
    special = _SPECIAL.get(text) if isinstance(text, str) else None
    if special is not None:
        return special
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _labels(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def parse_vector(data: Mapping[str, Any], promql: str) -> list[Sample]:
    """The `data` of an instant query: a vector, or a scalar (one unlabelled sample)."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Sample({}, float(result[0]), parse_value(result[1]))]
    if kind != "vector" or not isinstance(result, list):
        raise QueryError(
            f"Prometheus answered the query {promql!r} with a {kind or 'missing'} result, not a vector"
        )
    samples = []
    for item in result:
        point = item.get("value") if isinstance(item, Mapping) else None
        if not isinstance(point, list) or len(point) != 2:
            continue  # a malformed element is left out; the others still count
        samples.append(Sample(_labels(item.get("metric")), float(point[0]), parse_value(point[1])))
    return samples


def parse_matrix(data: Mapping[str, Any], promql: str) -> list[Series]:
    """The `data` of a range query: one `Series` per labelled series, its points in time order."""
    kind, result = data.get("resultType"), data.get("result")
    if kind != "matrix" or not isinstance(result, list):
        raise QueryError(
            f"Prometheus answered the query {promql!r} with a {kind or 'missing'} result, not a matrix"
        )
    series = []
    for item in result:
        points = item.get("values") if isinstance(item, Mapping) else None
        if not isinstance(points, list):
            continue
        series.append(Series(_labels(item.get("metric")), *_points(points)))
    return series


def _points(points: list[Any]) -> tuple[Array, Array]:
    """[[t, "v"], ...] as two float arrays; numpy reads "NaN", "+Inf" and "-Inf" as Python does."""
    try:
        times = np.array([p[0] for p in points], dtype=np.float64)
        values = np.array([p[1] for p in points], dtype=np.str_).astype(np.float64)
    except (ValueError, TypeError, IndexError):  # something odd in one point: read each on its own
        times = np.array([_time(p) for p in points], dtype=np.float64)
        values = np.array([parse_value(p[1]) if _pair(p) else math.nan for p in points], dtype=np.float64)
        keep = np.isfinite(times)
        times, values = times[keep], values[keep]
    return times, values


def _pair(point: Any) -> bool:
    return isinstance(point, list | tuple) and len(point) == 2


def _time(point: Any) -> float:
    try:
        return float(point[0]) if _pair(point) else math.nan
    except (TypeError, ValueError):
        return math.nan
