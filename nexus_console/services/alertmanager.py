"""Alertmanager API v2: alerts, groups and silences from any number of instances.

`AlertmanagerSource` queries every instance, deduplicates alerts by fingerprint, and acknowledges by
creating a silence (comment prefixed with ACK_MARKER, createdBy = the owner) that ends at the ack
timeout, so Alertmanager itself raises the alert again when the ack expires.

Every answer is read within `ALERTMANAGER_LIMITS` (16 MiB, 20,000 alerts per list) and parsed off the GUI
thread when large; more is refused ("Alertmanager am1 sent more than 16 MiB for /api/v2/alerts; refused").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

import httpx

from nexus_console.domain.alert_labels import alert_from_labels
from nexus_console.domain.alerts import (
    Alert,
    AlertState,
    Silence,
    ack_comment,
    format_rfc3339,
    parse_rfc3339,
)
from nexus_console.services.http import (
    ALERTMANAGER_LIMITS,
    ResponseLimits,
    get_json,
    parse_json,
    send_limited,
)

SOURCE = "alertmanager"


@dataclass(frozen=True, slots=True)
class AlertGroupInfo:
    """One group from `GET /api/v2/alerts/groups`."""

    instance: str
    labels: Mapping[str, str]
    receiver: str
    fingerprints: tuple[str, ...]


class AlertmanagerClient:
    """One Alertmanager instance. `name` identifies it in `Alert.origins` and `@alertmanager=`."""

    def __init__(
        self,
        name: str,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        limits: ResponseLimits = ALERTMANAGER_LIMITS,
        executor: Executor | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.limits = limits
        self.executor = executor  # large answers are parsed there (None: the HTTP package's small pool)
        self.sender = f"Alertmanager {name}"

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await get_json(
            self.client,
            f"{self.base_url}/api/v2{path}",
            params=params,
            limits=self.limits,
            sender=self.sender,
            executor=self.executor,
        )

    async def alerts(
        self, *, active: bool = True, silenced: bool = True, inhibited: bool = True
    ) -> list[dict[str, Any]]:
        params = {"active": _flag(active), "silenced": _flag(silenced), "inhibited": _flag(inhibited)}
        return list(await self._get("/alerts", params))

    async def groups(self) -> list[AlertGroupInfo]:
        return [
            AlertGroupInfo(
                instance=self.name,
                labels=dict(raw.get("labels") or {}),
                receiver=(raw.get("receiver") or {}).get("name", ""),
                fingerprints=tuple(alert["fingerprint"] for alert in raw.get("alerts") or ()),
            )
            for raw in await self._get("/alerts/groups")
        ]

    async def silences(self) -> list[Silence]:
        return [silence_from_api(raw, self.name) for raw in await self._get("/silences")]

    async def create_silence(
        self,
        matchers: Sequence[Mapping[str, object]],
        *,
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
    ) -> str:
        body = {
            "matchers": [dict(m) for m in matchers],
            "startsAt": format_rfc3339(starts_at),
            "endsAt": format_rfc3339(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        request = self.client.build_request("POST", f"{self.base_url}/api/v2/silences", json=body)
        response = await send_limited(self.client, request, self.limits.max_body_bytes, sender=self.sender)
        response.raise_for_status()
        answer = await parse_json(response.content, url=request.url, sender=self.sender, limits=self.limits)
        return str(answer["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        request = self.client.build_request("DELETE", f"{self.base_url}/api/v2/silence/{silence_id}")
        response = await send_limited(self.client, request, self.limits.max_body_bytes, sender=self.sender)
        response.raise_for_status()

    async def status(self) -> dict[str, Any]:
        return dict(await self._get("/status"))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def silence_from_api(raw: Mapping[str, Any], instance: str) -> Silence:
    return Silence(
        id=str(raw["id"]),
        matchers=tuple(dict(m) for m in raw.get("matchers") or ()),
        starts_at=parse_rfc3339(raw.get("startsAt")),
        ends_at=parse_rfc3339(raw.get("endsAt")),
        created_by=str(raw.get("createdBy", "")),
        comment=str(raw.get("comment", "")),
        state=str((raw.get("status") or {}).get("state", "")),
        instance=instance,
    )


def alert_from_api(raw: Mapping[str, Any], instance: str, silences: Mapping[str, Silence]) -> Alert:
    """Map an API v2 alert; a suppressing ack silence makes it ACKNOWLEDGED with the silence's owner, any
    other silence SILENCED with the owner, end and comment of the one that lasts longest."""
    status = raw.get("status") or {}
    silenced_by = tuple(status.get("silencedBy") or ())
    inhibited_by = tuple(status.get("inhibitedBy") or ())
    known = [silences[sid] for sid in silenced_by if sid in silences]
    acks = [silence for silence in known if silence.is_ack]
    ack = max(acks, key=lambda s: s.ends_at or 0.0) if acks else None
    plain = max(known, key=lambda s: s.ends_at or 0.0) if known and ack is None else None
    if status.get("state") == "suppressed" and (silenced_by or inhibited_by):
        state = AlertState.ACKNOWLEDGED if ack is not None else AlertState.SILENCED
    else:
        state = AlertState.FIRING
    silence = plain if state is AlertState.SILENCED else None
    return alert_from_labels(
        raw.get("labels"),
        raw.get("annotations"),
        source=SOURCE,
        state=state,
        fingerprint=str(raw["fingerprint"]),
        starts_at=parse_rfc3339(raw.get("startsAt")),
        updated_at=parse_rfc3339(raw.get("updatedAt")),
        ends_at=parse_rfc3339(raw.get("endsAt")),
        ack_by=ack.created_by if ack is not None else None,
        ack_at=ack.starts_at if ack is not None else None,
        ack_expires_at=ack.ends_at if ack is not None else None,
        silenced_by=silenced_by,
        inhibited_by=inhibited_by,
        origins=(instance,),
        silenced_until=silence.ends_at if silence is not None else None,
        silence_owner=(silence.created_by or None) if silence is not None else None,
        silence_comment=silence.comment if silence is not None else "",
    )


_STATE_WEIGHT = {
    AlertState.ACKNOWLEDGED: 3,
    AlertState.SILENCED: 2,
    AlertState.FIRING: 1,
    AlertState.PENDING: 0,
    AlertState.RESOLVED: 0,
}


def merge_duplicates(alerts: Sequence[Alert]) -> list[Alert]:
    """One alert per fingerprint. Unclustered instances each hold their own silences, so the merged
    alert is handled (acknowledged > silenced) when any instance says so; origins and silence ids join."""
    merged: dict[str, Alert] = {}
    for alert in alerts:
        kept = merged.get(alert.fingerprint)
        if kept is None:
            merged[alert.fingerprint] = alert
            continue
        leader = alert if _STATE_WEIGHT[alert.state] > _STATE_WEIGHT[kept.state] else kept
        merged[alert.fingerprint] = replace(
            leader,
            origins=tuple(sorted({*kept.origins, *alert.origins})),
            silenced_by=tuple(dict.fromkeys((*kept.silenced_by, *alert.silenced_by))),
            inhibited_by=tuple(dict.fromkeys((*kept.inhibited_by, *alert.inhibited_by))),
            updated_at=max(kept.updated_at or 0.0, alert.updated_at or 0.0) or None,
        )
    return list(merged.values())


class AlertmanagerSource:
    """Every configured Alertmanager as one deduplicated alert source.

    `clustered=True` (an HA pair that gossips silences) creates a silence on the first instance that
    accepts it; otherwise on every instance, since each keeps its own.
    """

    name = SOURCE

    def __init__(
        self,
        instances: Sequence[AlertmanagerClient],
        *,
        clustered: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not instances:
            raise ValueError("AlertmanagerSource needs at least one instance")
        self.instances = list(instances)
        self.clustered = clustered
        self.clock = clock
        self._silences: dict[str, Silence] = {}

    async def fetch(self) -> list[Alert]:
        """All alerts (active, silenced, inhibited) of every instance, deduplicated by fingerprint.

        An instance that fails is left out while any other answers; when all fail the first error
        propagates, so the poller shows the source as failing instead of empty.
        """
        results = await asyncio.gather(
            *(self._fetch_instance(i) for i in self.instances), return_exceptions=True
        )
        alerts: list[Alert] = []
        silences: dict[str, Silence] = {}
        errors = []
        for result in results:
            if isinstance(result, BaseException):
                errors.append(result)
                continue
            instance_alerts, instance_silences = result
            alerts.extend(instance_alerts)
            silences.update(instance_silences)
        if errors and len(errors) == len(self.instances):
            raise errors[0]
        self._silences = silences
        return merge_duplicates(alerts)

    async def _fetch_instance(self, instance: AlertmanagerClient) -> tuple[list[Alert], dict[str, Silence]]:
        raw_alerts, silences = await asyncio.gather(instance.alerts(), instance.silences())
        by_id = {s.id: s for s in silences}
        return [alert_from_api(raw, instance.name, by_id) for raw in raw_alerts], by_id

    async def silences(self) -> list[Silence]:
        """Silences of every instance (each tagged with its instance)."""
        results = await asyncio.gather(*(i.silences() for i in self.instances))
        found = [s for result in results for s in result]
        self._silences = {s.id: s for s in found}
        return found

    async def groups(self) -> list[AlertGroupInfo]:
        results = await asyncio.gather(*(i.groups() for i in self.instances))
        return [group for result in results for group in result]

    async def silence(
        self,
        alert: Alert,
        *,
        owner: str,
        comment: str,
        duration_s: float,
    ) -> list[str]:
        """A silence matching exactly the alert's labels; returns the ids created."""
        now = self.clock()
        matchers = [
            {"name": name, "value": value, "isRegex": False, "isEqual": True}
            for name, value in sorted(alert.labels.items())
        ]
        created = []
        targets = self.instances
        if not self.clustered:
            targets = [i for i in self.instances if not alert.origins or i.name in alert.origins]
        last_error: BaseException | None = None
        for instance in targets:
            try:
                silence_id = await instance.create_silence(
                    matchers, starts_at=now, ends_at=now + duration_s, created_by=owner, comment=comment
                )
            except httpx.HTTPError as exc:
                last_error = exc
                continue
            created.append(silence_id)
            self._silences[silence_id] = Silence(
                silence_id, tuple(matchers), now, now + duration_s, owner, comment, "active", instance.name
            )
            if self.clustered:
                break
        if not created and last_error is not None:
            raise last_error
        return created

    async def acknowledge(
        self, alert: Alert, *, owner: str, comment: str = "", timeout_s: float
    ) -> list[str]:
        """Ack = a silence that carries the owner and comment and ends when the ack times out."""
        return await self.silence(alert, owner=owner, comment=ack_comment(comment), duration_s=timeout_s)

    async def expire_silences(self, silence_ids: Sequence[str]) -> None:
        """Expire the given silences on the instances that hold them (all instances if unknown)."""
        by_name = {i.name: i for i in self.instances}
        for silence_id in silence_ids:
            known = self._silences.get(silence_id)
            targets = [by_name[known.instance]] if known and known.instance in by_name else self.instances
            for instance in targets:
                try:
                    await instance.expire_silence(silence_id)
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 404 or known is not None:
                        raise

    async def unacknowledge(self, alert: Alert) -> None:
        """Expire the silences suppressing this alert, which raises it again."""
        await self.expire_silences(alert.silenced_by)
