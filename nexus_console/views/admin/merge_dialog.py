"""Merging a duplicate account: both accounts side by side, what moves and what stays, then the reason
and the confirmation. The preview is read from the replicas each time the target id changes."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextBrowser, QWidget

from nexus_console.domain.admin_params import describe_access
from nexus_console.domain.lookups import AccountFootprint, MergePreview
from nexus_console.models.admin_table import cell_text
from nexus_console.views.admin.dialogs import ReasonDialog

PreviewLoader = Callable[[str, str], Awaitable[MergePreview]]
RunTask = Callable[..., Any]

ROWS = (
    ("Email", lambda f: f.user.get("email")),
    ("Name", lambda f: f.user.get("name")),
    ("Status", lambda f: f.user.get("status")),
    ("Signed up", lambda f: f.user.get("signup_at")),
    ("Last active", lambda f: f.user.get("last_active_at")),
    ("Platform access", lambda f: describe_access(f.user)),
    ("Sync sessions", lambda f: f.sync_sessions),
    ("Searches", lambda f: f.searches),
    ("Orders", lambda f: "no marketplace replica" if f.orders is None else f.orders),
)


def comparison_html(preview: MergePreview) -> str:
    """A table: one row per field, the duplicate on the left, the account it merges into on the right."""

    def cell(footprint: AccountFootprint, read: Callable[[AccountFootprint], Any]) -> str:
        return "—" if footprint.user is None else html.escape(cell_text(read(footprint)))

    dup_id = preview.duplicate.user["id"] if preview.duplicate.user else "?"
    target_id = preview.target.user["id"] if preview.target.user else "?"
    head = f"<tr><th></th><th>Duplicate: user {dup_id}</th><th>Merges into: user {target_id}</th></tr>"
    body = "".join(
        f"<tr><th>{label}</th><td>{cell(preview.duplicate, read)}</td>"
        f"<td>{cell(preview.target, read)}</td></tr>"
        for label, read in ROWS
    )
    return (
        "<style>th { text-align: left; color: #9aa0a6; padding-right: 12px; } td { padding-right: 16px; }"
        f"</style><table>{head}{body}</table>"
    )


class MergeDialog(ReasonDialog):
    def __init__(
        self,
        duplicate_id: str,
        row: dict[str, Any],
        load_preview: PreviewLoader,
        run_task: RunTask,
        *,
        parent: QWidget | None = None,
    ) -> None:
        label = row.get("email") or f"user {duplicate_id}"
        super().__init__(
            "Merge duplicate account",
            f"Merge {label} (user {duplicate_id}) into another account. The duplicate is marked merged; its "
            "sync sessions and searches move. Queued and sent through the API; it works offline.",
            destructive=True,
            confirm_text=f"Yes, merge user {duplicate_id} into the account on the right",
            parent=parent,
        )
        self.setObjectName("mergeDialog")
        self.setMinimumWidth(640)
        self.duplicate_id = duplicate_id
        self._load_preview = load_preview
        self._run_task = run_task
        self.preview: MergePreview | None = None
        self.target_edit = QLineEdit(self)
        self.target_edit.setObjectName("mergeTarget")
        self.target_edit.setPlaceholderText("user id of the account to keep")
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setObjectName("mergeCompare")
        row_layout = QHBoxLayout()
        row_layout.addWidget(QLabel("Merge into user", self))
        row_layout.addWidget(self.target_edit, 1)
        row_layout.addWidget(self.compare_button)
        self.comparison = QTextBrowser(self)
        self.comparison.setObjectName("mergeComparison")
        self.comparison.setMinimumHeight(190)
        self.moves_label = QLabel("Enter the id of the account to keep and press Compare.", self)
        self.moves_label.setObjectName("mergeMoves")
        self.moves_label.setWordWrap(True)
        layout = self.layout()
        layout.insertLayout(1, row_layout)  # type: ignore[attr-defined]
        layout.insertWidget(2, self.comparison)  # type: ignore[attr-defined]
        layout.insertWidget(3, self.moves_label)  # type: ignore[attr-defined]
        self.compare_button.clicked.connect(self.start_compare)
        self.target_edit.returnPressed.connect(self.start_compare)
        self.target_edit.textChanged.connect(self._target_changed)
        self._update_ok()

    def start_compare(self) -> None:
        target = self.target_edit.text().strip()
        if not target.isdigit():
            self.moves_label.setText("A user id is a number.")
            return
        self._run_task(self.compare(target), "admin-merge-preview")

    async def compare(self, target: str) -> None:
        self.moves_label.setText("Reading both accounts from the replicas…")
        preview = await self._load_preview(self.duplicate_id, target)
        if self.target_edit.text().strip() != target:
            return  # the admin typed another id meanwhile
        self.preview = preview
        self.comparison.setHtml(comparison_html(preview))
        problem = preview.problem()
        self.moves_label.setText(problem or preview.moves())
        self._update_ok()

    def params(self) -> dict[str, Any]:
        return {"into_user_id": int(self.target_edit.text().strip())}

    def _target_changed(self) -> None:
        self.preview = None
        self._update_ok()

    def _update_ok(self) -> None:
        super()._update_ok()
        preview = getattr(self, "preview", None)
        if preview is None or preview.problem() is not None:
            self.ok_button.setEnabled(False)
