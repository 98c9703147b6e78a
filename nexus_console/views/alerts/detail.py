"""One alert in detail: labels, annotations and its transitions, its silence, the alerts of other sources
linked to it ("Also raised by local (firing)"); the runbook rendered in the app; and the related service's
live chart with the alert's start marked by a vertical line."""

from __future__ import annotations

import html
import math
import re
import time
from collections.abc import Sequence
from importlib import resources

import markdown
import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from nexus_console.domain.alert_actions import silence_text
from nexus_console.domain.alert_links import also_raised_text
from nexus_console.domain.alerts import Alert, Transition
from nexus_console.domain.freshness import format_clock
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.models.alert_table import SEVERITY_COLOURS, format_age, state_text
from nexus_console.views.charts import LiveChart

CHART_WINDOW_S = 900.0  # the quarter hour around the alert, not the whole buffered hour
DETAIL_STYLE = (
    "QWidget#alertDetail { background: #16191e; }"
    "QTextBrowser { background: #1b1e23; color: #e6e6e6; border: 0; font-size: 9pt; }"
    "QLabel#alertDetailHeader { color: #e6e6e6; font-size: 10pt; padding: 3px 4px; }"
)
DOCUMENT_CSS = (
    "table { border-collapse: collapse; } td, th { padding: 1px 6px; vertical-align: top; }"
    " th { color: #9aa0a6; text-align: left; font-weight: normal; }"
    " h3 { color: #c8ccd2; margin: 6px 0 2px 0; }"
    " code { color: #f0d050; } a { color: #8ab4f8; }"
)
RUNBOOK_SCHEME = "runbook://"
START_LINE_COLOUR = "#ff4d4f"
RERENDER_S = 15.0


def runbook_name(link: str) -> str | None:
    """The packaged runbook a link names: `runbook://performance`, `runbooks/monitoring.md`."""
    link = link.strip()
    if link.startswith(RUNBOOK_SCHEME):
        name = link[len(RUNBOOK_SCHEME) :]
    elif re.fullmatch(r"(?:\./)?runbooks/[\w.-]+\.md", link):
        name = link.rsplit("/", 1)[1]
    else:
        return None
    name = name.removesuffix(".md").strip("/")
    return name if re.fullmatch(r"[\w-]+", name) else None


def packaged_runbook(name: str) -> str | None:
    folder = resources.files("nexus_console.resources").joinpath("runbooks")
    entry = folder.joinpath(f"{name}.md")
    return entry.read_text("utf-8") if entry.is_file() else None


def runbook_html(link: str, base: str = "") -> str:
    """The runbook as HTML: the packaged markdown for runbook:// links (or a link to `base` with {name}
    replaced, when configured), a plain link for web URLs, and a clear note when there is none."""
    if not link:
        return "<p><i>This alert names no runbook.</i></p>"
    name = runbook_name(link)
    if name is not None and base:
        target = base.replace("{name}", name)
        link_html = f'<a href="{html.escape(target)}">{html.escape(target)}</a>'
        return f"<p>Runbook <b>{html.escape(name)}</b>: {link_html}</p>"
    if name is not None:
        text = packaged_runbook(name)
        if text is None:
            return f"<p><i>No packaged runbook named {html.escape(name)!s} ({html.escape(link)}).</i></p>"
        return markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"])
    if link.startswith(("http://", "https://")):
        return f'<p>Runbook: <a href="{html.escape(link)}">{html.escape(link)}</a></p>'
    return f"<p>Runbook: {html.escape(link)}</p>"


def _when(epoch_s: float | None, now: float) -> str:
    if epoch_s is None:
        return "—"
    delta = now - epoch_s
    relative = f"{format_age(delta)} ago" if delta >= 0 else f"in {format_age(-delta)}"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(epoch_s))} ({relative})"


def alert_html(
    alert: Alert, transitions: Sequence[Transition] | None, now: float, linked: Sequence[Alert] = ()
) -> str:
    """Labels, annotations, ownership, the linked alerts of other sources and the history of transitions,
    as one small HTML document."""
    e = html.escape
    colour = SEVERITY_COLOURS[alert.severity]
    rows = [
        ("state", e(state_text(alert, now))),
        ("severity", f'<span style="color:{colour}"><b>{e(alert.severity.value)}</b></span>'),
        ("service", e(alert.service or "—") + (f" ({e(alert.namespace)})" if alert.namespace else "")),
        ("source", e(alert.source) + (f" — {e(', '.join(alert.origins))}" if alert.origins else "")),
        ("started", e(_when(alert.starts_at, now))),
        ("updated", e(_when(alert.updated_at, now))),
    ]
    if alert.ack_by:
        rows.append(("owner", f"<b>{e(alert.ack_by)}</b> since {e(_when(alert.ack_at, now))}"))
        rows.append(("ack timeout", e(_when(alert.ack_expires_at, now))))
    if alert.value is not None:
        value = f"{alert.value:g}" + (
            f" (threshold {alert.threshold:g})" if alert.threshold is not None else ""
        )
        rows.append(("value", e(value)))
    silence = silence_text(alert, now)
    if silence:
        rows.append(("silence", e(silence)))
    if alert.silenced_by:
        rows.append(("silenced by", e(", ".join(alert.silenced_by))))
    if alert.inhibited_by:
        rows.append(("inhibited by", e(", ".join(alert.inhibited_by))))
    parts = [f"<style>{DOCUMENT_CSS}</style>"]
    if linked:
        parts.append(f'<p class="linked"><b>{e(also_raised_text(linked))}</b></p>')
    parts.append("<table>")
    parts += [f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows]
    parts.append("</table>")
    parts.append("<h3>Annotations</h3><table>")
    annotations = [("summary", alert.summary), ("description", alert.description), ("runbook", alert.runbook)]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in annotations if v]
    parts.append("</table><h3>Labels</h3><table>")
    parts += [
        f"<tr><th>{e(k)}</th><td><code>{e(v)}</code></td></tr>" for k, v in sorted(alert.labels.items())
    ]
    parts.append("</table><h3>History</h3>")
    if transitions is None:
        parts.append("<p><i>loading…</i></p>")
    elif not transitions:
        parts.append("<p><i>No transitions recorded yet.</i></p>")
    else:
        parts.append("<table>")
        for t in transitions:
            before = t.before.value if t.before is not None else "new"
            who = f" by {e(t.alert.ack_by)}" if t.alert.ack_by and t.after.value == "acknowledged" else ""
            change = f"{e(before)} → <b>{e(t.after.value)}</b>{who}"
            parts.append(f"<tr><th>{e(format_clock(t.at))}</th><td>{change}</td></tr>")
        parts.append("</table>")
    return "".join(parts)


class AlertDetail(QWidget):
    """The detail panel beside the queue. `show_alert` then `set_transitions` when the history answers."""

    def __init__(self, runbook_base: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertDetail")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(DETAIL_STYLE)
        self.runbook_base = runbook_base
        self.alert: Alert | None = None
        self.linked: tuple[Alert, ...] = ()  # the alerts of other sources linked to it
        self.transitions: list[Transition] | None = None
        self._runbook_link: str | None = None
        self._drawn: tuple[int, str | None] = (-1, None)
        self._rendered_at = 0.0

        self.header = QLabel("Select an alert", self)
        self.header.setObjectName("alertDetailHeader")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.info = QTextBrowser(self)
        self.info.setObjectName("alertInfo")
        self.runbook = QTextBrowser(self)
        self.runbook.setObjectName("alertRunbook")
        self.runbook.setOpenLinks(False)
        self.runbook.anchorClicked.connect(self._open_link)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.info, "Details")
        self.tabs.addTab(self.runbook, "Runbook")

        self.chart = LiveChart("Service error and request rate", y_label="req/s", window_s=CHART_WINDOW_S)
        self.chart.setObjectName("alertServiceChart")
        self.chart.caption.setWordWrap(True)  # a long service name must not widen the panel
        self.chart.add_series("rps", "all", "#4fa3ff")
        self.chart.add_series("rps_5xx", "5xx", "#ff5e5e")
        self.start_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(START_LINE_COLOUR, width=1, style=Qt.PenStyle.DashLine),
            label="alert start",
            labelOpts={"position": 0.92, "color": START_LINE_COLOUR},
        )
        self.start_line.hide()
        self.chart.plot_item.addItem(self.start_line, ignoreBounds=True)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)

    def refresh(self, alert: Alert, now: float, linked: Sequence[Alert] = ()) -> None:
        """The once-a-second update: a changed alert (or a change of its linked alerts) is drawn again; an
        unchanged one only has its header (ages) updated, and its details every RERENDER_S, so a selection
        in the text survives."""
        if alert is not self.alert or tuple(linked) != self.linked or now - self._rendered_at >= RERENDER_S:
            self.show_alert(alert, now, linked)
        else:
            self._set_header(alert, now)

    def show_alert(self, alert: Alert | None, now: float | None = None, linked: Sequence[Alert] = ()) -> None:
        now = time.time() if now is None else now
        self._rendered_at = now
        self.linked = tuple(linked)
        same_alert = alert is not None and self.alert is not None and alert.key == self.alert.key
        if not same_alert:
            self.transitions = None
        self.alert = alert
        if alert is None:
            self.header.setText("Select an alert")
            self.info.clear()
            self.runbook.clear()
            self._runbook_link = None
            self.start_line.hide()
            self.chart.hide()
            return
        self.chart.setVisible(bool(alert.service))  # no service, no metrics: no large empty chart
        self._set_header(alert, now)
        scroll = self.info.verticalScrollBar().value()
        self.info.setHtml(alert_html(alert, self.transitions, now, self.linked))
        self.info.verticalScrollBar().setValue(scroll)
        if alert.runbook != self._runbook_link:
            self._runbook_link = alert.runbook
            self.runbook.setHtml(runbook_html(alert.runbook, self.runbook_base))
        if alert.starts_at is not None:
            self.start_line.setPos(alert.starts_at)
            self.start_line.show()
        else:
            self.start_line.hide()
        self.chart.set_caption(f"{alert.service or '—'} · req/s and 5xx/s · dashed line: alert start")
        self._drawn = (-1, None)

    def _set_header(self, alert: Alert, now: float) -> None:
        colour = SEVERITY_COLOURS[alert.severity]
        self.header.setText(
            f'<span style="color:{colour}"><b>{html.escape(alert.severity.value.upper())}</b></span> '
            f"<b>{html.escape(alert.name)}</b> · {html.escape(alert.service or '—')}"
            f" · {html.escape(state_text(alert, now))}"
        )

    def set_transitions(self, key: str, transitions: Sequence[Transition], now: float | None = None) -> None:
        if self.alert is not None and self.alert.key == key:
            self.transitions = list(transitions)
            self.show_alert(self.alert, now, self.linked)

    def redraw_chart(self, history: MetricsHistory | None, now: float, stale_text: str | None) -> bool:
        """Push the alert's service ring buffer into the chart when it changed; True when redrawn."""
        self.chart.set_stale(stale_text)
        service = self.alert.service if self.alert is not None else None
        if history is None or not service:
            if self._drawn != (-2, service):
                self._drawn = (-2, service)
                self.chart.set_caption(f"{service or 'no service'} · no live metrics")
            return False
        if (history.revision, service) == self._drawn:
            return False
        self._drawn = (history.revision, service)
        scraped = service in history.services()
        # no empty plot for a database or a service the console does not scrape: the caption says why
        self.chart.plot_widget.setVisible(scraped)
        if not scraped:
            self.chart.set_caption(
                f"{service} has no request metrics the console scrapes (a database, or a service outside "
                "the catalogue): the alert's value and threshold are in the details above."
            )
            return False
        ring = history.ring(service)
        times = ring.times()
        for key in self.chart.series_keys():
            self.chart.set_series_data(key, times, ring.column(key))
        window_end = now
        start = self.alert.starts_at if self.alert is not None else None
        caption = f"{service} · req/s and 5xx/s · dashed line: alert start"
        if start is not None and not math.isnan(start) and start < now - self.chart.window_s:
            oldest = float(times[0]) if len(times) else now
            if start >= oldest:
                window_end = start + self.chart.window_s / 2  # keep the start line in view
            else:
                started = format_clock(start)
                caption = f"{service} · req/s and 5xx/s · the alert started at {started}, before these data"
        self.chart.set_caption(caption)
        self.chart.set_time_window(window_end)
        return True

    def _open_link(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith(RUNBOOK_SCHEME) or runbook_name(text):
            self.runbook.setHtml(runbook_html(text, self.runbook_base))
            return
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)
