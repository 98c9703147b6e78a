"""The status board: every service's current state in the words of a status page, grouped by namespace.

Operational, degraded and down are the states seed 000 names; "unknown" is a service whose probes are stale or
never answered (the console cannot vouch for it, so it does not call it operational).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from nexus_console.domain.health import ProbeResult, ProbeSweep, ServiceState, service_state
from nexus_console.domain.service_catalog import ServiceInfo


class BoardState(StrEnum):
    DOWN = "down"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"
    OPERATIONAL = "operational"

    @property
    def rank(self) -> int:
        """0 for down, the worst, up to 3 for operational: tiles sort worst first."""
        return list(BoardState).index(self)


_FROM_HEALTH = {
    ServiceState.UP: BoardState.OPERATIONAL,
    ServiceState.DEGRADED: BoardState.DEGRADED,
    ServiceState.DOWN: BoardState.DOWN,
    ServiceState.STALE: BoardState.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class ServiceTile:
    name: str
    namespace: str
    state: BoardState


@dataclass(frozen=True, slots=True)
class NamespaceStatus:
    namespace: str
    tiles: tuple[ServiceTile, ...]  # worst first, then by name

    @property
    def state(self) -> BoardState:
        return min((tile.state for tile in self.tiles), key=lambda s: s.rank, default=BoardState.UNKNOWN)

    def count(self, state: BoardState) -> int:
        return sum(1 for tile in self.tiles if tile.state is state)


def status_board(
    services: Sequence[ServiceInfo], sweep: ProbeSweep | None, now: float, stale_after_s: float
) -> tuple[NamespaceStatus, ...]:
    """Namespaces worst first (then by name), each with its services worst first."""
    results: dict[str, list[ProbeResult]] = defaultdict(list)
    if sweep is not None:
        for result in sweep.results:
            results[result.service].append(result)
    by_namespace: dict[str, list[ServiceTile]] = defaultdict(list)
    for service in services:
        state = _FROM_HEALTH[service_state(results.get(service.name, []), now, stale_after_s)]
        by_namespace[service.namespace].append(ServiceTile(service.name, service.namespace, state))
    namespaces = [
        NamespaceStatus(name, tuple(sorted(tiles, key=lambda t: (t.state.rank, t.name))))
        for name, tiles in by_namespace.items()
    ]
    return tuple(sorted(namespaces, key=lambda n: (n.state.rank, n.namespace)))
