"""Show a dialog from a coroutine without exec(): exec() inside a running qasync task fails."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QDialog


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
