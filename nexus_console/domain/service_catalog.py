"""The catalogue of monitored services (from /monitoring/services): namespaces, tiers and probe URLs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.health import Probe


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    name: str
    namespace: str
    port: int | None
    tier: str
    description: str
    health_url: str
    live_url: str
    ready_url: str
    metrics_url: str

    def url(self, probe: Probe) -> str:
        return {
            Probe.HEALTH: self.health_url,
            Probe.LIVE: self.live_url,
            Probe.READY: self.ready_url,
            Probe.METRICS: self.metrics_url,
        }[probe]

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ServiceInfo:
        port = item.get("port")
        return cls(
            name=str(item["name"]),
            namespace=str(item.get("namespace") or "default"),
            port=int(port) if port is not None else None,
            tier=str(item.get("tier") or ""),
            description=str(item.get("description") or ""),
            health_url=str(item["health_url"]),
            live_url=str(item["live_url"]),
            ready_url=str(item["ready_url"]),
            metrics_url=str(item["metrics_url"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "port": self.port,
            "tier": self.tier,
            "description": self.description,
            "health_url": self.health_url,
            "live_url": self.live_url,
            "ready_url": self.ready_url,
            "metrics_url": self.metrics_url,
        }


@dataclass(frozen=True, slots=True)
class ServiceCatalog:
    """Services from /monitoring/services, sorted by namespace then name."""

    generated_at: float | None
    services: tuple[ServiceInfo, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any], generated_at: float | None = None) -> ServiceCatalog:
        items = body.get("items")
        if not isinstance(items, list):
            raise ValueError("services body has no 'items' list")
        services = sorted(
            (ServiceInfo.from_json(item) for item in items), key=lambda s: (s.namespace, s.name)
        )
        return cls(generated_at, tuple(services))

    def to_json(self) -> dict[str, Any]:
        return {"items": [s.to_json() for s in self.services]}

    def by_name(self) -> dict[str, ServiceInfo]:
        return {s.name: s for s in self.services}

    def namespaces(self) -> list[tuple[str, list[ServiceInfo]]]:
        groups: dict[str, list[ServiceInfo]] = {}
        for service in self.services:
            groups.setdefault(service.namespace, []).append(service)
        return list(groups.items())
