"""What the Security pane shows of the event streams: failed and successful logins a minute over the last
day (fixed numpy rings), and for the last hour the top sources of failed logins, the accounts they
targeted, the addresses the WAF blocked by rule, and the busiest API clients. Memory stays flat: per-minute
buckets for an hour of counters, rings for a day of minute counts.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from nexus_console.domain.detectors import Detection, RuleState

MINUTES = 24 * 60
HOUR_BUCKETS = 60
TOP = 10


def event_time(text: str) -> float:
    """An event's RFC 3339 `at` as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Ranked:
    key: str
    count: int
    detail: str = ""  # e.g. the country of an address, the accounts it tried


@dataclass(frozen=True, slots=True)
class SecurityView:
    minute_starts: np.ndarray  # epoch seconds of each minute, oldest first
    failed_per_minute: np.ndarray
    succeeded_per_minute: np.ndarray
    failed_last_hour: int
    blocked_last_hour: int
    top_sources: tuple[Ranked, ...]  # addresses with failed logins, last hour
    top_targets: tuple[Ranked, ...]  # accounts with failed logins, last hour
    blocked: tuple[Ranked, ...]  # WAF blocks by address, last hour (detail: the rules)
    busiest_clients: tuple[Ranked, ...]  # API requests by client, last hour
    newest_at: float


class _Bucket:
    __slots__ = (
        "clients",
        "failed_ips",
        "failed_users",
        "ip_country",
        "ip_users",
        "minute",
        "waf",
        "waf_rules",
    )

    def __init__(self, minute: int) -> None:
        self.minute = minute
        self.failed_ips: Counter[str] = Counter()
        self.failed_users: Counter[str] = Counter()
        self.ip_users: dict[str, set[str]] = {}
        self.ip_country: dict[str, str] = {}
        self.waf: Counter[str] = Counter()
        self.waf_rules: dict[str, Counter[str]] = {}
        self.clients: Counter[str] = Counter()


class SecurityDigest:
    def __init__(self) -> None:
        self._failed = np.zeros(MINUTES, dtype=np.int64)
        self._succeeded = np.zeros(MINUTES, dtype=np.int64)
        self._ring_minute = -1  # the minute the ring's last slot holds
        self._buckets: deque[_Bucket] = deque(maxlen=HOUR_BUCKETS)
        self.newest_at = 0.0

    def add(self, stream: str, events: Iterable[Mapping[str, Any]]) -> None:
        """Count events of `stream` (each with `at` in epoch seconds), in time order."""
        for event in events:
            at = event["at"]
            self.newest_at = max(self.newest_at, at)
            minute = int(at // 60)
            bucket = self._bucket(minute)
            if stream == "login":
                failed = event.get("result") == "failure"
                self._count_minute(minute, failed)
                if failed and bucket is not None:
                    ip, user = str(event.get("ip")), str(event.get("user"))
                    bucket.failed_ips[ip] += 1
                    bucket.failed_users[user] += 1
                    bucket.ip_users.setdefault(ip, set()).add(user)
                    bucket.ip_country[ip] = str(event.get("country") or "")
            elif bucket is None:
                continue
            elif stream == "waf_block":
                ip = str(event.get("ip"))
                bucket.waf[ip] += 1
                bucket.waf_rules.setdefault(ip, Counter())[str(event.get("rule"))] += 1
            elif stream == "api_access":
                bucket.clients[str(event.get("client"))] += 1

    def _bucket(self, minute: int) -> _Bucket | None:
        """The last hour's bucket for `minute`; None for a minute older than the hour kept."""
        buckets = self._buckets
        if buckets and minute < buckets[-1].minute - HOUR_BUCKETS + 1:
            return None
        if not buckets or minute > buckets[-1].minute:
            buckets.append(_Bucket(minute))
            return buckets[-1]
        for bucket in reversed(buckets):
            if bucket.minute == minute:
                return bucket
            if bucket.minute < minute:
                break
        return None  # a minute inside the hour that had no bucket: a late event, left out of the tops

    def _count_minute(self, minute: int, failed: bool) -> None:
        if minute > self._ring_minute:
            shift = min(minute - self._ring_minute, MINUTES) if self._ring_minute >= 0 else MINUTES
            for ring in (self._failed, self._succeeded):
                ring[:] = np.roll(ring, -shift)
                ring[-shift:] = 0
            self._ring_minute = minute
        slot = MINUTES - 1 - (self._ring_minute - minute)
        if slot < 0:
            return
        (self._failed if failed else self._succeeded)[slot] += 1

    def view(self) -> SecurityView:
        last = self._ring_minute if self._ring_minute >= 0 else int(self.newest_at // 60)
        starts = (np.arange(MINUTES, dtype=np.float64) + (last - MINUTES + 1)) * 60
        live = [b for b in self._buckets if b.minute > last - HOUR_BUCKETS]
        failed_ips, failed_users, waf, clients = Counter(), Counter(), Counter(), Counter()
        ip_users: dict[str, set[str]] = {}
        countries: dict[str, str] = {}
        rules: dict[str, Counter[str]] = {}
        for bucket in live:
            failed_ips.update(bucket.failed_ips)
            failed_users.update(bucket.failed_users)
            waf.update(bucket.waf)
            clients.update(bucket.clients)
            countries.update(bucket.ip_country)
            for ip, users in bucket.ip_users.items():
                ip_users.setdefault(ip, set()).update(users)
            for ip, counts in bucket.waf_rules.items():
                rules.setdefault(ip, Counter()).update(counts)
        sources = tuple(
            Ranked(ip, n, f"{countries.get(ip, '')} · {len(ip_users.get(ip, ()))} accounts".lstrip(" ·"))
            for ip, n in failed_ips.most_common(TOP)
        )
        blocked = tuple(
            Ranked(ip, n, ", ".join(f"{rule} {k}" for rule, k in rules.get(ip, Counter()).most_common()))
            for ip, n in waf.most_common(TOP)
        )
        return SecurityView(
            starts,
            self._failed.copy(),
            self._succeeded.copy(),
            sum(failed_ips.values()),
            sum(waf.values()),
            sources,
            tuple(Ranked(user, n) for user, n in failed_users.most_common(TOP)),
            blocked,
            tuple(Ranked(client, n) for client, n in clients.most_common(TOP)),
            self.newest_at,
        )


@dataclass(frozen=True, slots=True)
class SecuritySnapshot:
    """One poll of the security feed: the digest's view, every rule's state, the detections held."""

    view: SecurityView
    rules: tuple[RuleState, ...]
    detections: tuple[Detection, ...]  # held (the last hour), oldest first
    events_read: int  # in this poll
