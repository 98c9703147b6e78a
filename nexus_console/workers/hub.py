"""DataHub: the poller registry as seen from Qt. Views subscribe to the hub, never to httpx."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from nexus_console.domain.freshness import SourceStatus
from nexus_console.services.polling import Poller, PollerRegistry


class DataHub(QObject):
    status_changed = Signal(str, object)  # source name, SourceStatus

    def __init__(self, registry: PollerRegistry, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self._unsubscribers: list[Any] = []
        for poller in registry.pollers():
            self._watch(poller)
        registry.on_created(self._watch)

    def status(self, name: str) -> SourceStatus[Any] | None:
        poller = self.registry.get(name)
        return poller.status if poller is not None else None

    def poller(self, name: str) -> Poller[Any] | None:
        return self.registry.get(name)

    def names(self) -> list[str]:
        return self.registry.names()

    def statuses(self) -> dict[str, SourceStatus[Any]]:
        return {poller.name: poller.status for poller in self.registry.pollers()}

    def refresh_all(self) -> None:
        self.registry.poke_all()

    def detach(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    def _watch(self, poller: Poller[Any]) -> None:
        name = poller.name
        self._unsubscribers.append(poller.subscribe(lambda status: self.status_changed.emit(name, status)))
        self.status_changed.emit(name, poller.status)
