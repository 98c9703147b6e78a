from nexus_console.views.analytics.pane import AnalyticsPane

__all__ = ["AnalyticsPane"]
