"""A post-mortem written to a file: Markdown (written off the GUI thread) or PDF (laid out by Qt). The
pane's export buttons and the headless `nexus-console incident export` both use it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from nexus_console.domain.incident_flow import IncidentDetail
from nexus_console.domain.postmortem import PostMortem, render_html, render_markdown
from nexus_console.domain.timeline_filter import curated_events
from nexus_console.views.local_time import local_zone
from nexus_console.views.pdf_export import write_pdf


async def export_postmortem(detail: IncidentDetail, document: PostMortem, fmt: str, path: Path) -> int:
    """Write the post-mortem as Markdown (a file write off the GUI thread) or PDF; returns PDF pages (0 for
    Markdown)."""
    tz = local_zone()
    events = curated_events(detail.events)
    now = time.time()
    if fmt == "pdf":
        html = render_html(detail.incident, document, events, tz=tz, now=now)
        return write_pdf(html, path, title=f"Post-mortem: {detail.incident.title}")
    text = render_markdown(detail.incident, document, events, tz=tz, now=now)
    await asyncio.get_running_loop().run_in_executor(None, lambda: path.write_text(text, encoding="utf-8"))
    return 0
