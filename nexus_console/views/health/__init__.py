"""The Health pane: service × probe matrix, live metric charts, API / database / sync health."""

from nexus_console.views.health.pane import HealthPane

__all__ = ["HealthPane"]
