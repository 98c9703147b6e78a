"""Prometheus HTTP API: the alerting API (`/api/v1/rules` for pending alerts, with the rule's `for`, for a
countdown, and `/api/v1/alerts`) and the query API (`query`, `query_range`: instant vectors and range
matrices as plain Python, parsed by services.prometheus_query).

Pending alerts never reach Alertmanager, so this source reports them. Firing ones usually arrive
through Alertmanager too; `include_firing=True` reports them here as well (a Prometheus without an
Alertmanager). The fingerprint is the one Alertmanager computes, so the same alert keeps its identity.

Every answer is read within `PROMETHEUS_LIMITS` (16 MiB, 20,000 groups or alerts per list) and parsed off the
GUI thread when large; more is refused ("Prometheus sent more than 16 MiB for /api/v1/rules; refused").
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import httpx

from nexus_console.domain.alert_labels import alert_from_labels
from nexus_console.domain.alerts import Alert, AlertState, parse_rfc3339
from nexus_console.services.http import PROMETHEUS_LIMITS, ResponseLimits, get_json
from nexus_console.services.prometheus_query import QueryError, Sample, Series, parse_matrix, parse_vector

SOURCE = "prometheus"


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """One alerting rule from `/api/v1/rules` with its current alerts."""

    group: str
    name: str
    query: str
    for_s: float
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    health: str
    alerts: tuple[Mapping[str, Any], ...]


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        limits: ResponseLimits = PROMETHEUS_LIMITS,
        executor: Executor | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.limits = limits
        self.executor = executor  # large answers are parsed there (None: the HTTP package's small pool)

    async def _body(self, path: str, params: Mapping[str, str] | None) -> Any:
        """The JSON answer of `/api/v1{path}`, read within the response limits."""
        return await get_json(
            self.client,
            f"{self.base_url}/api/v1{path}",
            params=params,
            limits=self.limits,
            sender="Prometheus",
            executor=self.executor,
        )

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        body = await self._body(path, params)
        if body.get("status") != "success":
            raise ValueError(f"Prometheus {path}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    async def alerting_rules(self) -> list[AlertingRule]:
        data = await self._get("/rules", {"type": "alert"})
        return [
            AlertingRule(
                group=group.get("name", ""),
                name=rule["name"],
                query=rule.get("query", ""),
                for_s=float(rule.get("duration") or 0.0),
                labels=dict(rule.get("labels") or {}),
                annotations=dict(rule.get("annotations") or {}),
                health=rule.get("health", ""),
                alerts=tuple(rule.get("alerts") or ()),
            )
            for group in data.get("groups", ())
            for rule in group.get("rules", ())
            if rule.get("type") == "alerting"
        ]

    async def alerts(self) -> list[dict[str, Any]]:
        return list((await self._get("/alerts")).get("alerts", ()))

    async def query(self, promql: str, time: float | None = None) -> list[Sample]:
        """An instant query (at `time`, epoch s; None: Prometheus's now) as samples; QueryError when
        Prometheus refuses it ("Prometheus could not run the query '...': bad_data: ...")."""
        params = {"query": promql} | ({"time": _epoch(time)} if time is not None else {})
        return parse_vector(await self._query("/query", params, promql), promql)

    async def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """A range query from `start` to `end` (epoch s) every `step` s as series in time order."""
        if step <= 0 or end < start:
            raise QueryError(f"the query {promql!r} needs a positive step and an end after its start")
        params = {"query": promql, "start": _epoch(start), "end": _epoch(end), "step": _epoch(step)}
        return parse_matrix(await self._query("/query_range", params, promql), promql)

    async def _query(self, path: str, params: Mapping[str, str], promql: str) -> Any:
        try:
            body = await self._body(path, params)
        except httpx.HTTPStatusError as exc:  # 400 bad_data, 422 execution, 503 timeout: the body says why
            raise QueryError(
                f"Prometheus could not run the query {promql!r}: {_problem(exc.response)}"
            ) from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            why = f"{body.get('errorType')}: {body.get('error')}" if isinstance(body, dict) else "no answer"
            raise QueryError(f"Prometheus could not run the query {promql!r}: {why}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise QueryError(f"Prometheus answered the query {promql!r} without data")
        return data


def _epoch(seconds: float) -> str:
    return f"{seconds:.3f}"


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body.get('errorType')}: {body.get('error')}"
    except ValueError:
        return f"HTTP {response.status_code}"


def alert_from_rule(rule: AlertingRule, raw: Mapping[str, Any]) -> Alert:
    state = AlertState.PENDING if raw.get("state") == "pending" else AlertState.FIRING
    try:
        value: float | None = float(raw.get("value"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = None
    return alert_from_labels(
        raw.get("labels"),
        raw.get("annotations"),
        source=SOURCE,
        state=state,
        default_name=rule.name,
        starts_at=parse_rfc3339(raw.get("activeAt")),
        pending_for_s=rule.for_s if state is AlertState.PENDING else None,
        value=value,
    )


class PrometheusAlertSource:
    """Pending alerts of every alerting rule (and firing ones when `include_firing`)."""

    name = SOURCE

    def __init__(self, client: PrometheusClient, *, include_firing: bool = False) -> None:
        self.client = client
        self.include_firing = include_firing

    async def fetch(self) -> list[Alert]:
        alerts = []
        for rule in await self.client.alerting_rules():
            for raw in rule.alerts:
                alert = alert_from_rule(rule, raw)
                if alert.state is AlertState.PENDING or self.include_firing:
                    alerts.append(alert)
        return alerts
