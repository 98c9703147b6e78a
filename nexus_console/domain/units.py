"""Durations, sizes and rates in words for the panes' tables: one way to write them everywhere."""

from __future__ import annotations

import math


def duration_text(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 20 min', '2 d 4 h'; '—' for nothing (None, NaN, infinite)."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(minutes), 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def size_text(size: float | None) -> str:
    """A size in bytes as PostgreSQL's pg_size_pretty writes it (powers of 1,024): '512 B', '2.0 kB'."""
    if size is None:
        return "–"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def rate_text(bytes_per_s: float | None) -> str:
    """A throughput in SI units (powers of 1,000), as network and disk rates are written: '2.0 MB/s'."""
    if bytes_per_s is None:
        return "—"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if abs(bytes_per_s) >= scale:
            return f"{bytes_per_s / scale:.1f} {unit}"
    return f"{bytes_per_s:.0f} B/s"


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def number_text(value: float | None) -> str:
    """A threshold or a reading: whole numbers and anything from 100 without decimals, else one."""
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.1f}"
