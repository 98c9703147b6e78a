"""The Alerts pane."""

from nexus_console.views.alerts.pane import AlertsPane

__all__ = ["AlertsPane"]
