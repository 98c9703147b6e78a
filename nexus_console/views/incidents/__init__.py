from nexus_console.views.incidents.pane import IncidentsPane

__all__ = ["IncidentsPane"]
