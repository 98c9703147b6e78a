"""The Admin panes: lookups with details and actions, the action queue, and the audit trail."""

from nexus_console.views.admin.audit_pane import AuditPane
from nexus_console.views.admin.lookup_pane import AdminPane
from nexus_console.views.admin.queue_pane import QueuePane

__all__ = ["AdminPane", "AuditPane", "QueuePane"]
