"""Incidents on a service's health charts: a translucent band per incident that affects the service (its
severity's tint, behind the curves) and a thin vertical line per notable event of the followed incident.
Clicking a band or a mark asks for it in the Incidents pane (`IncidentMarks.activated`).

The items change only when the incident list, the followed timeline or the selected service changes (what
to draw is `domain.incident_marks.marks_for_service`); an open incident's band is stretched to the clock
when the charts redraw. The charts' time axis is epoch seconds, like the incidents' times.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor

from nexus_console.domain.alerts import Severity
from nexus_console.domain.freshness import SourceStatus, format_clock
from nexus_console.domain.incident_flow import IncidentDetail, IncidentList
from nexus_console.domain.incident_marks import (
    NO_MARKS,
    IncidentBand,
    IncidentMark,
    ServiceMarks,
    marks_for_service,
)
from nexus_console.domain.incident_timeline import EventType
from nexus_console.views.charts import LiveChart

SEVERITY_TINTS = {
    Severity.CRITICAL: "#ff4d4f",
    Severity.HIGH: "#ff9f43",
    Severity.MEDIUM: "#ffd166",
    Severity.LOW: "#6fa8dc",
}
BAND_ALPHA = {True: 48, False: 28}  # open incidents a little stronger than ended ones
MARK_COLOURS = {
    EventType.MILESTONE: "#e6e6e6",
    EventType.STATUS: "#b48eff",
    EventType.NOTE: "#7fdbca",
    EventType.ALERT: "#ff6b5e",
}
MARK_COLOUR = "#c8ccd2"  # pinned events of other types
BAND_Z, MARK_Z = -20, -10  # behind the curves (z 0), marks over bands

Activate = Callable[[int, str | None], None]


def _tint(colour: str, alpha: int) -> QColor:
    tint = QColor(colour)
    tint.setAlpha(alpha)
    return tint


def mark_tooltip(mark: IncidentMark) -> str:
    return f"{mark.text}\n{mark.type.label} · {format_clock(mark.at)} · incident #{mark.incident_id}"


class IncidentBandItem(pg.LinearRegionItem):
    """One incident's band: fixed, tinted by severity, a left click activates it."""

    def __init__(self, band: IncidentBand, on_click: Activate) -> None:
        super().__init__(values=(band.start, band.end), orientation="vertical", movable=False)
        self._on_click = on_click
        self.band = band
        self.setZValue(BAND_Z)
        self.show_band(band)

    def show_band(self, band: IncidentBand) -> None:
        colour = SEVERITY_TINTS.get(band.severity, SEVERITY_TINTS[Severity.MEDIUM])
        self.band = band
        self.setBrush(_tint(colour, BAND_ALPHA[band.active]))
        for line in self.lines:
            line.setPen(pg.mkPen(_tint(colour, 110), width=1))
            line.setToolTip(band.tooltip)
        self.setToolTip(band.tooltip)
        self.setRegion((band.start, band.end))

    def mouseClickEvent(self, ev: object) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            ev.accept()  # type: ignore[attr-defined]
            self._on_click(self.band.incident_id, None)
        else:
            super().mouseClickEvent(ev)


class IncidentMarkItem(pg.InfiniteLine):
    """One timeline event as a thin dashed vertical line at its time; a left click activates it."""

    def __init__(self, mark: IncidentMark, on_click: Activate) -> None:
        colour = MARK_COLOURS.get(mark.type, MARK_COLOUR)
        pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)
        super().__init__(pos=mark.at, angle=90, movable=False, pen=pen)
        self._on_click = on_click
        self.mark = mark
        self.setZValue(MARK_Z)
        self.setToolTip(mark_tooltip(mark))

    def mouseClickEvent(self, ev: object) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            ev.accept()  # type: ignore[attr-defined]
            self._on_click(self.mark.incident_id, self.mark.key)


class ChartIncidentMarks:
    """The band and mark items of one chart, changed by difference: an item is added or removed only when
    its incident or event comes or goes, and an existing one is updated in place."""

    def __init__(self, chart: LiveChart, on_click: Activate) -> None:
        self.chart = chart
        self._on_click = on_click
        self.bands: dict[int, IncidentBandItem] = {}
        self.marks: dict[tuple[int, str], IncidentMarkItem] = {}

    def show(self, marks: ServiceMarks) -> None:
        wanted_bands = {band.incident_id: band for band in marks.bands}
        for incident_id in [i for i in self.bands if i not in wanted_bands]:
            self.chart.remove_overlay_item(self.bands.pop(incident_id))
        for incident_id, band in wanted_bands.items():
            item = self.bands.get(incident_id)
            if item is None:
                self.bands[incident_id] = item = IncidentBandItem(band, self._on_click)
                self.chart.add_overlay_item(item)
            elif item.band != band:
                item.show_band(band)
        wanted_marks = {(mark.incident_id, mark.key): mark for mark in marks.marks}
        for key, mark_item in list(self.marks.items()):
            if wanted_marks.get(key) != mark_item.mark:  # gone, or moved or edited: drawn anew
                self.chart.remove_overlay_item(self.marks.pop(key))
        for key, mark in wanted_marks.items():
            if key not in self.marks:
                self.marks[key] = mark_item = IncidentMarkItem(mark, self._on_click)
                self.chart.add_overlay_item(mark_item)

    def extend_active(self, now: float) -> None:
        """Stretch the bands of open incidents to `now`."""
        for item in self.bands.values():
            band = item.band
            if band.active and now > band.end:
                item.setRegion((band.start, now))

    def items(self) -> list[IncidentBandItem | IncidentMarkItem]:
        return [*self.bands.values(), *self.marks.values()]


class IncidentMarks(QObject):
    """The incidents on a service detail's charts: fed the incident list and the followed timeline (the
    pollers' statuses) and the selected service; `activated(incident_id, event_key or None)` on a click."""

    activated = Signal(int, object)

    def __init__(
        self,
        charts: Sequence[LiveChart],
        *,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.listing: IncidentList | None = None
        self.followed: IncidentDetail | None = None
        self.service: str | None = None
        self.shown: ServiceMarks = NO_MARKS
        self.overlays = [ChartIncidentMarks(chart, self.activate) for chart in charts]

    def on_list(self, status: SourceStatus[IncidentList]) -> None:
        """The incident list changed (a stale list still draws its bands)."""
        listing = status.last_good.value if status.last_good is not None else None
        if listing != self.listing:
            self.listing = listing
            self.refresh()

    def on_timeline(self, status: SourceStatus[IncidentDetail | None]) -> None:
        """The followed incident's timeline changed (None: no incident is followed)."""
        followed = status.last_good.value if status.last_good is not None else None
        if followed != self.followed:
            self.followed = followed
            self.refresh()

    def show_service(self, service: str | None) -> None:
        if service != self.service:
            self.service = service
            self.refresh()

    def refresh(self) -> None:
        shown = marks_for_service(self.listing, self.followed, self.service, self.clock())
        if shown == self.shown:
            return
        self.shown = shown
        for overlay in self.overlays:
            overlay.show(shown)

    def extend_active(self, now: float) -> None:
        if any(band.active for band in self.shown.bands):
            for overlay in self.overlays:
                overlay.extend_active(now)

    def activate(self, incident_id: int, event_key: str | None) -> None:
        """What a click on a band (`event_key` None) or a mark does."""
        self.activated.emit(incident_id, event_key)

    def items(self) -> Iterable[IncidentBandItem | IncidentMarkItem]:
        return [item for overlay in self.overlays for item in overlay.items()]


def open_in_incidents_pane(window: object, incident_id: int, event_key: str | None) -> None:
    """Show the Incidents pane of `window` (the main window) on this incident and event; nothing when the
    user's roles have no Incidents pane (a wall display: the banner and marks are all it shows), or the
    widget is not in a main window."""
    with contextlib.suppress(AttributeError, KeyError):
        window.show_pane("Incidents").open_event(incident_id, event_key)  # type: ignore[attr-defined]
