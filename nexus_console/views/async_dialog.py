"""Show a dialog from a coroutine without exec(): exec() inside a running qasync task fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QWidget


async def execute_dialog(dialog: QDialog) -> int:
    """Open the dialog (window-modal when it has a parent) and await its result code."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[int] = loop.create_future()

    def finished(code: int) -> None:
        if not result.done():
            result.set_result(code)

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await result
    except asyncio.CancelledError:
        dialog.reject()
        raise
    finally:
        dialog.finished.disconnect(finished)


async def ask_save_path(parent: QWidget, title: str, name: str, suffixes: tuple[str, ...]) -> Path | None:
    """Ask where to save (`name` suggested; one filter a suffix, the first the default); None if cancelled."""
    filters = ";;".join(f"{suffix.upper()} files (*.{suffix})" for suffix in suffixes)
    dialog = QFileDialog(parent, title, name, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(suffixes[0])
    try:
        if await execute_dialog(dialog) != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])
    finally:
        dialog.deleteLater()
