"""`--screenshot`: wait until every source of the session has answered and the charts have a few seconds of
data (rates need two scrapes: a picture of "—" and empty charts shows nothing), then save the window as
PNG."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from PySide6.QtWidgets import QWidget

from nexus_console.domain.freshness import SourceState
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger("nexus_console")

CHART_SETTLE_S = 8.0  # after every source answered: rates and percentiles from several one-second scrapes


async def screenshot_when_fresh(
    window: QWidget, session: ConsoleSession, path: Path, deadline_s: float
) -> bool:
    """Save `window` to `path` once every source is OK (or after `deadline_s`); False if saving failed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        statuses = session.statuses().values()
        if statuses and all(s.state is SourceState.OK for s in statuses):
            break
        await asyncio.sleep(0.1)
    else:
        waiting = [s.name for s in session.statuses().values() if s.state is not SourceState.OK]
        log.warning("screenshot taken before every source answered: %s", ", ".join(waiting))
    await asyncio.sleep(max(0.2, min(CHART_SETTLE_S, deadline - time.monotonic())))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        log.error("could not save the screenshot to %s", path)
        return False
    log.info("screenshot saved to %s", path)
    return True
