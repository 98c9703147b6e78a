"""Against real Prometheus, two real Alertmanagers and node exporter on 127.0.0.1 (Debian packages)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alerts import Alert, AlertState, Severity, label_fingerprint
from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.services.alertmanager import AlertmanagerClient, AlertmanagerSource
from nexus_console.services.polling import Poller
from nexus_console.services.prometheus import PrometheusAlertSource, PrometheusClient
from tests.support.prometheus_stack import (
    ALWAYS_FIRING,
    INHIBITED,
    PENDING_1H,
    PENDING_30S,
    PrometheusStack,
    free_port,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.asyncio]

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout_s: float = 30.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.25)


def clients(stack: PrometheusStack, http: httpx.AsyncClient) -> list[AlertmanagerClient]:
    return [AlertmanagerClient(f"am-{i}", url, http) for i, url in enumerate(stack.alertmanager_urls)]


def firing_alert(source: AlertmanagerSource) -> Callable[[], Awaitable[Alert | None]]:
    async def probe() -> Alert | None:
        return next((a for a in await source.fetch() if a.name == ALWAYS_FIRING), None)

    return probe


async def test_a_fast_rule_fires_and_the_alertmanager_source_sees_it(
    prometheus_stack: PrometheusStack,
) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        source = AlertmanagerSource(clients(prometheus_stack, http)[:1])
        queue = AlertQueue()
        poller: Poller[list[Alert]] = Poller("alertmanager", source.fetch, 1.0, timeout_s=5.0)
        queue.follow_poller(poller, "alertmanager")

        async def in_queue() -> Alert | None:
            await poller.poll_once()
            return next((a for a in queue.store if a.name == ALWAYS_FIRING), None)

        alert = await eventually(in_queue, what="the always-firing rule reaching Alertmanager")
        print(
            f"\nalert visible in Alertmanager {time.time() - prometheus_stack.started_at:.1f} s after start"
        )
        assert alert.state is AlertState.FIRING
        assert alert.severity is Severity.CRITICAL
        assert alert.service == "order-processor"
        assert alert.summary == "test alert that always fires"
        assert alert.runbook == "runbooks/monitoring.md"
        assert alert.origins == ("am-0",)
        assert alert.fingerprint == label_fingerprint(alert.labels)
        assert alert.starts_at is not None and alert.starts_at >= prometheus_stack.started_at - 1
        assert parse_filter("severity=critical service=~order @state=firing").matches(alert, time.time())


async def test_ack_creates_a_silence_with_the_owner_then_expiring_it_brings_the_alert_back(
    prometheus_stack: PrometheusStack, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        am = clients(prometheus_stack, http)[0]
        source = AlertmanagerSource([am])
        history = AlertHistory(tmp_path / "history.sqlite3")
        queue = AlertQueue(history=history)
        queue.add_source(source)
        created: list[str] = []
        try:
            alert = await eventually(firing_alert(source), what="firing alert")
            queue.apply_snapshot("alertmanager", await source.fetch())
            await queue.acknowledge(alert, owner="alice@nexus.test", comment="looking into it", timeout_s=600)

            silences = [
                s for s in await am.silences() if s.state == "active" and s.created_by == "alice@nexus.test"
            ]
            assert len(silences) == 1
            silence = silences[0]
            created.append(silence.id)
            assert silence.comment == "[ack] looking into it"
            assert silence.ends_at is not None and silence.starts_at is not None
            assert 590 <= silence.ends_at - silence.starts_at <= 610
            assert {(m["name"], m["value"]) for m in silence.matchers} == set(alert.labels.items())

            async def acknowledged() -> Alert | None:
                queue.apply_snapshot("alertmanager", await source.fetch())
                current = queue.store.get(alert.key)
                return current if current is not None and current.state is AlertState.ACKNOWLEDGED else None

            acked = await eventually(acknowledged, what="the alert shown acknowledged")
            assert acked.silenced_by == (silence.id,)
            assert acked.ack_by == "alice@nexus.test"
            assert acked.ack_expires_at == silence.ends_at
            assert parse_filter("@silenced=true @ack=alice@nexus.test").matches(acked, time.time())

            await queue.unacknowledge(acked)
            created.clear()

            async def firing_again() -> Alert | None:
                queue.apply_snapshot("alertmanager", await source.fetch())
                current = queue.store.get(alert.key)
                return current if current is not None and current.state is AlertState.FIRING else None

            back = await eventually(firing_again, what="the alert firing again after the silence expired")
            assert back.silenced_by == () and back.ack_by is None
            assert [s.state for s in await am.silences() if s.id == silence.id] == ["expired"]

            await queue.flush_history()
            life = await history.transitions_of(alert.key)
            assert [(t.before, t.after) for t in life][-2:] == [
                (AlertState.FIRING, AlertState.ACKNOWLEDGED),
                (AlertState.ACKNOWLEDGED, AlertState.FIRING),
            ]
        finally:
            for silence_id in created:
                await am.expire_silence(silence_id)
            await history.close()


async def test_two_alertmanagers_are_deduplicated_by_fingerprint(prometheus_stack: PrometheusStack) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        both = clients(prometheus_stack, http)
        source = AlertmanagerSource(both)

        async def seen_by_both() -> Alert | None:
            alert = await firing_alert(source)()
            return alert if alert is not None and alert.origins == ("am-0", "am-1") else None

        merged = await eventually(seen_by_both, what="the alert in both Alertmanagers")
        raw = [a for am in both for a in await am.alerts() if a["labels"]["alertname"] == ALWAYS_FIRING]
        assert len(raw) == 2 and {a["fingerprint"] for a in raw} == {merged.fingerprint}
        assert [a.name for a in await source.fetch()].count(ALWAYS_FIRING) == 1
        groups = [g for g in await source.groups() if merged.fingerprint in g.fingerprints]
        assert sorted(g.instance for g in groups) == ["am-0", "am-1"]
        assert all(g.receiver == "blackhole" for g in groups)

        # A plain silence on one instance only: the merged alert is silenced and names it.
        now = time.time()
        matchers = [{"name": "alertname", "value": ALWAYS_FIRING, "isRegex": False, "isEqual": True}]
        silence_id = await both[1].create_silence(
            matchers, starts_at=now, ends_at=now + 300, created_by="bob", comment="maintenance"
        )
        try:

            async def silenced() -> Alert | None:
                alert = await firing_alert(source)()
                return alert if alert is not None and alert.state is AlertState.SILENCED else None

            shown = await eventually(silenced, what="the silence seen through the merged source")
            assert shown.silenced_by == (silence_id,)
            assert shown.ack_by is None
            assert shown.origins == ("am-0", "am-1")
            assert {s.id: s.instance for s in await source.silences() if s.state == "active"} == {
                silence_id: "am-1"
            }
        finally:
            await source.expire_silences([silence_id])
        back = await eventually(seen_by_both, what="the alert unsilenced")
        assert back.state is AlertState.FIRING


async def test_ack_through_two_unclustered_alertmanagers_silences_both(
    prometheus_stack: PrometheusStack,
) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        source = AlertmanagerSource(clients(prometheus_stack, http))

        async def seen_by_both() -> Alert | None:
            alert = await firing_alert(source)()
            return alert if alert is not None and len(alert.origins) == 2 else None

        alert = await eventually(seen_by_both, what="the alert in both Alertmanagers")
        ids = await source.acknowledge(alert, owner="carol", comment="", timeout_s=120)
        try:
            assert len(ids) == 2
            acked = await firing_alert(source)()
            assert acked is not None and acked.state is AlertState.ACKNOWLEDGED
            assert sorted(acked.silenced_by) == sorted(ids)
            assert acked.ack_by == "carol"
        finally:
            await source.unacknowledge(replace(alert, silenced_by=tuple(ids)))
        back = await firing_alert(source)()
        assert back is not None and back.state is AlertState.FIRING


async def test_prometheus_pending_alerts_come_with_their_countdown(prometheus_stack: PrometheusStack) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        source = PrometheusAlertSource(PrometheusClient(prometheus_stack.prometheus_url, http))

        async def pending() -> dict[str, Alert] | None:
            alerts = {a.name: a for a in await source.fetch()}
            return alerts if PENDING_1H in alerts else None

        alerts = await eventually(pending, what="the pending alert in /api/v1/rules")
        now = time.time()
        long_pending = alerts[PENDING_1H]
        assert long_pending.state is AlertState.PENDING
        assert long_pending.pending_for_s == 3600.0
        assert long_pending.severity is Severity.LOW
        assert long_pending.value == 2.0
        assert long_pending.pending_label(now) == f"pending {int(long_pending.age_s(now) // 60)}/60 min"
        assert ALWAYS_FIRING not in alerts  # firing alerts come through Alertmanager
        if PENDING_30S in alerts:  # pending for the first 30 s of the stack's life
            assert alerts[PENDING_30S].pending_for_s == 30.0
            assert alerts[PENDING_30S].pending_label(now).endswith("/30 s")

        with_firing = PrometheusAlertSource(source.client, include_firing=True)
        firing = {a.name: a for a in await with_firing.fetch()}
        assert firing[ALWAYS_FIRING].state is AlertState.FIRING
        assert firing[ALWAYS_FIRING].fingerprint == label_fingerprint(firing[ALWAYS_FIRING].labels)
        assert len(await source.client.alerts()) >= 2


async def test_an_inhibited_alert_is_shown_muted_and_names_the_alert_that_inhibits_it(
    prometheus_stack: PrometheusStack,
) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        source = AlertmanagerSource(clients(prometheus_stack, http)[:1])

        async def both() -> dict[str, Alert] | None:
            alerts = {a.name: a for a in await source.fetch()}
            inhibited = alerts.get(INHIBITED)
            if ALWAYS_FIRING in alerts and inhibited is not None and inhibited.inhibited_by:
                return alerts
            return None

        alerts = await eventually(both, what="the inhibited alert")
        inhibited = alerts[INHIBITED]
        assert inhibited.state is AlertState.SILENCED
        assert inhibited.inhibited_by == (alerts[ALWAYS_FIRING].fingerprint,)
        assert inhibited.silenced_by == ()
        assert parse_filter("@inhibited=true").select(alerts.values(), time.time()) == [inhibited]


async def test_one_unreachable_alertmanager_does_not_hide_the_others_but_all_down_is_an_error(
    prometheus_stack: PrometheusStack,
) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=2.0) as http:
        gone = AlertmanagerClient("am-gone", f"http://127.0.0.1:{free_port()}", http)
        alive = clients(prometheus_stack, http)[0]
        source = AlertmanagerSource([gone, alive])
        alert = await eventually(firing_alert(source), what="alerts through the instance that answers")
        assert alert.origins == ("am-0",)
        with pytest.raises(httpx.ConnectError):
            await AlertmanagerSource([gone]).fetch()
