"""The Incidents pane's post-mortem tab: loaded when shown for the followed incident, saved with its own
version (someone else's save meanwhile is said, never overwritten), exported as Markdown or PDF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_console.views.async_dialog import ask_save_path
from nexus_console.views.incidents.export import export_postmortem

if TYPE_CHECKING:
    from nexus_console.views.incidents.pane import IncidentsPane


class PostmortemFlow:
    def __init__(self, pane: IncidentsPane) -> None:
        self.pane = pane
        self.loaded_for: int | None = None  # the incident whose post-mortem the editor holds
        editor = pane.detail.postmortem
        editor.save_requested.connect(self.save)
        editor.export_requested.connect(self.export)
        pane.detail.tabs.currentChanged.connect(lambda _index: self.load_if_shown())

    def load_if_shown(self) -> None:
        pane = self.pane
        followed = pane.runtime.followed
        if pane.detail.tabs.currentWidget() is pane.detail.postmortem and followed != self.loaded_for:
            self.loaded_for = followed
            if followed is not None:
                pane.run_task(self._load(followed), "load post-mortem")

    async def _load(self, incident_id: int) -> None:
        document = await self.pane.runtime.postmortem(incident_id)
        if incident_id == self.pane.runtime.followed:
            self.pane.detail.postmortem.set_document(document)

    def save(self) -> None:
        self.pane.run_task(self._save(), "save post-mortem")

    async def _save(self) -> None:
        editor = self.pane.detail.postmortem
        incident_id = self.pane.runtime.followed
        if incident_id is None:
            return
        try:
            document = editor.document()
        except ValueError as exc:
            editor.show_status(str(exc))
            return
        saved = await self.pane.runtime.save_postmortem(incident_id, document)
        editor.set_document(saved)
        editor.show_status(f"Saved (version {saved.version}).")

    def export(self, fmt: str) -> None:
        self.pane.run_task(self._export(fmt), "export post-mortem")

    async def _export(self, fmt: str) -> None:
        detail, editor = self.pane.detail_data, self.pane.detail.postmortem
        if detail is None or self.loaded_for != detail.incident.id:
            self.pane.detail.tabs.setCurrentWidget(editor)
            editor.show_status("Open the post-mortem first; it is loading.")
            return
        suffix = "pdf" if fmt == "pdf" else "md"
        name = f"incident-{detail.incident.id}-postmortem.{suffix}"
        path = await ask_save_path(self.pane, "Export the post-mortem", name, (suffix,))
        if path is None:
            return
        pages = await export_postmortem(detail, editor.document(), fmt, path)
        what = f"{pages} page(s)" if fmt == "pdf" else "Markdown"
        editor.show_status(f"Exported {what} to {path}.")
