"""Analytics › Funnels and › Engagement: the server's funnels (ordered steps within a conversion window), and
daily, weekly and monthly active users with cohort retention ("on" or "on or after" a period) as a heatmap.
Both ask the server when shown, when a choice changes and every minute while shown; an answer that fails
leaves the last one on screen, greyed, under the reason."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from nexus_console.domain.behaviour import (
    BREAKDOWNS,
    FUNNELS,
    GRAINS,
    MODES,
    WINDOWS_H,
    Activity,
    Funnel,
    Retention,
    parse_step_windows,
    percent,
)
from nexus_console.models.analytics_table import DataTableModel, RetentionModel
from nexus_console.views.chart_base import time_series_plot
from nexus_console.views.pane import StaleBanner, apply_stale_look
from nexus_console.views.table_view import fit_columns, row_table, show_model

REFRESH_S = 60.0
RETRY_S = 10.0
BAR = QColor("#4f8fe6")
TEXT = QColor("#e6e6e6")
RunTask = Callable[[Awaitable[Any], str], Any]


class FunnelBars(QWidget):
    """A bar a step, as long as its share of those who entered, with the step's users and conversion."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.funnel: Funnel | None = None

    def sizeHint(self) -> QSize:
        return QSize(600, 30 * 6 + 10)

    def set_funnel(self, funnel: Funnel) -> None:
        self.funnel = funnel
        self.setMinimumHeight(30 * len(funnel.steps) + 10)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.funnel is None or not self.funnel.steps:
            return
        painter = QPainter(self)
        label_width = min(260, self.width() // 3)
        room = self.width() - label_width - 8
        for row, step in enumerate(self.funnel.steps):
            top = 5 + row * 30
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(0, top, label_width - 8, 24),
                Qt.AlignmentFlag.AlignVCenter,
                f"{step.step}. {step.label}",
            )
            width = max(2.0, room * step.conversion_overall)
            painter.fillRect(QRectF(label_width, top, width, 24), BAR)
            note = f"{step.users:,} · {percent(step.conversion_overall)}"
            if step.step > 1:
                note += f" ({percent(step.conversion_from_previous)} of the step before)"
            painter.drawText(QRectF(label_width + 6, top, room - 6, 24), Qt.AlignmentFlag.AlignVCenter, note)
        painter.end()


class QueryPage(QWidget):
    """What the two pages share: a line that says what is shown and how old it is, the stale banner, and
    asking again every minute while shown."""

    def __init__(self, run_task: RunTask, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run_task = run_task
        self.info = QLabel("Asking the server…")
        self.info.setWordWrap(True)
        self.banner = StaleBanner()
        self.body = QWidget()
        self.answered_at: float | None = None
        self.asked_at: float | None = None
        self.asking = False
        self.error: str | None = None

    def ask(self) -> None:
        if self.asking:
            return
        self.asking, self.asked_at = True, time.time()

        async def query() -> None:
            try:
                await self.query()
                self.answered_at, self.error = time.time(), None
            except ValueError as exc:  # a choice on the page that cannot be asked: its own sentence
                self.error = str(exc)
            except Exception as exc:  # the API's errors are sentences; the last answer stays, greyed
                self.error = f"Could not ask the server: {exc}"
            finally:
                self.asking = False
                self.refresh(time.time())

        self._run_task(query(), f"{self.objectName()} query")

    async def query(self) -> None:
        raise NotImplementedError

    def refresh(self, now: float) -> None:
        """Each second while shown: ask if never asked, a minute after an answer, RETRY_S after a failure."""
        due = RETRY_S if self.error else REFRESH_S
        if self.asked_at is None or (not self.asking and now - self.asked_at >= due):
            self.ask()
        had_answer = self.answered_at is not None
        if self.error:
            since = "" if not had_answer else " — the figures below are from before"
            self.banner.set_text(f"{self.error}{since}")
        else:
            self.banner.set_text(None)
        apply_stale_look(self.body, bool(self.error) and had_answer)

    def age_text(self, now: float) -> str:
        return "" if self.answered_at is None else f" · answered {int(now - self.answered_at)} s ago"


class FunnelPage(QueryPage):
    def __init__(
        self, ask_funnel: Callable[..., Awaitable[Funnel]], run_task: RunTask, parent: QWidget | None = None
    ) -> None:
        super().__init__(run_task, parent)
        self.setObjectName("analytics_funnels")
        self._ask_funnel = ask_funnel
        self.funnel: Funnel | None = None
        self.choice = QComboBox()
        for key, label in FUNNELS.items():
            self.choice.addItem(label, key)
        self.days = QSpinBox()
        self.days.setRange(1, 366)
        self.days.setValue(30)
        self.days.setSuffix(" days of entries")
        self.window = QComboBox()
        for label, hours in WINDOWS_H.items():
            self.window.addItem(label, hours)
        self.window.setCurrentText("7 days")
        self.step_windows = QLineEdit()
        self.step_windows.setObjectName("stepWindows")
        self.step_windows.setPlaceholderText("hours, e.g. 24, 2, 168")
        self.step_windows.setMinimumWidth(
            self.step_windows.fontMetrics().horizontalAdvance("hours, e.g. 24, 2, 168") + 24
        )
        self.step_windows.setToolTip(
            "Optional: how many hours each step after the first may take after the step before, one value "
            "per step, separated by commas. The conversion window still holds for the whole funnel."
        )
        self.breakdown = QComboBox()
        self.breakdown.addItem("None", None)
        for key, label in BREAKDOWNS.items():
            self.breakdown.addItem(label, key)
        controls = QHBoxLayout()
        for text, widget in (
            ("Funnel", self.choice),
            ("Range", self.days),
            ("Conversion window", self.window),
            ("Per step", self.step_windows),
            ("Breakdown", self.breakdown),
        ):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addStretch(1)
        for widget in (self.choice, self.window, self.breakdown):
            widget.currentIndexChanged.connect(lambda _i: self.ask())
        self.days.editingFinished.connect(self.ask)
        self.step_windows.editingFinished.connect(self.ask)
        self.bars = FunnelBars()
        self.model = DataTableModel(())
        self.table = row_table(self.model, "funnelTable")
        self.breakdown_model = DataTableModel(())
        self.breakdown_table = row_table(self.breakdown_model, "funnelBreakdown")
        self.breakdown_table.hide()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.bars)
        body.addWidget(self.table, 1)
        body.addWidget(self.breakdown_table, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.info)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)

    async def query(self) -> None:
        funnel = await self._ask_funnel(
            self.choice.currentData(),
            days=self.days.value(),
            window_hours=self.window.currentData(),
            step_window_hours=parse_step_windows(self.step_windows.text()),
            breakdown=self.breakdown.currentData(),
        )
        self.show_funnel(funnel)

    def show_funnel(self, funnel: Funnel) -> None:
        self.funnel = funnel
        self.bars.set_funnel(funnel)
        table = funnel.table()
        self.model = DataTableModel(table.columns, self)
        self.model.replace_items(list(table.rows))
        show_model(self.table, self.model)
        fit_columns(self.table, stretch=1)  # the step's name
        by_group = funnel.breakdown_table(self.breakdown.currentData() or "")
        self.breakdown_table.setVisible(by_group is not None)
        if by_group is not None:
            self.breakdown_model = DataTableModel(by_group.columns, self)
            self.breakdown_model.replace_items(list(by_group.rows))
            show_model(self.breakdown_table, self.breakdown_model)
            fit_columns(self.breakdown_table, stretch=0)

    def refresh(self, now: float) -> None:
        super().refresh(now)
        if self.funnel is not None:
            self.info.setText(f"{self.funnel.title()}: {self.funnel.summary()}{self.age_text(now)}")


class EngagementPage(QueryPage):
    def __init__(
        self,
        ask_activity: Callable[..., Awaitable[Activity]],
        ask_retention: Callable[..., Awaitable[Retention]],
        run_task: RunTask,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(run_task, parent)
        self.setObjectName("analytics_engagement")
        self._ask_activity, self._ask_retention = ask_activity, ask_retention
        self.activity: Activity | None = None
        self.retention: Retention | None = None
        self.plot = time_series_plot(160, 220)
        item = self.plot.getPlotItem()
        self.curves = {
            name: item.plot([], [], pen=pg.mkPen(colour, width=1), name=name)
            for name, colour in (("MAU", "#8a8f98"), ("WAU", "#58c27d"), ("DAU", "#4f8fe6"))
        }
        self.grain = QComboBox()
        for key, label in GRAINS.items():
            self.grain.addItem(label, key)
        self.grain.setCurrentIndex(1)
        self.mode = QComboBox()
        for key, label in MODES.items():
            self.mode.addItem(f"active {label} the period", key)
        for widget in (self.grain, self.mode):
            widget.currentIndexChanged.connect(lambda _i: self.ask())
        self.figures = QLabel()
        self.figures.setObjectName("retentionFigures")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Retention"))
        controls.addWidget(self.grain)
        controls.addWidget(self.mode)
        controls.addWidget(self.figures, 1)
        self.model = RetentionModel(())
        self.heatmap = row_table(self.model, "retentionHeatmap")
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.plot)
        body.addLayout(controls)
        body.addWidget(self.heatmap, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)

    async def query(self) -> None:
        activity = await self._ask_activity(days=365)
        retention = await self._ask_retention(grain=self.grain.currentData(), mode=self.mode.currentData())
        self.show_activity(activity)
        self.show_retention(retention)

    def show_activity(self, activity: Activity) -> None:
        self.activity = activity
        xs = np.array([datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp() for d in activity.days])
        for name, values in (("DAU", activity.dau), ("WAU", activity.wau), ("MAU", activity.mau)):
            self.curves[name].setData(xs, np.asarray(values, dtype=float))

    def show_retention(self, retention: Retention) -> None:
        self.retention = retention
        table = retention.table()
        self.model = RetentionModel(table.columns, self)
        self.model.replace_items(list(table.rows))
        show_model(self.heatmap, self.model)
        days = (("Day 1", retention.d1), ("day 7", retention.d7), ("day 30", retention.d30))
        self.figures.setText(" · ".join(f"{label}: {percent(value)}" for label, value in days))

    def refresh(self, now: float) -> None:
        super().refresh(now)
        activity = self.activity
        if activity is not None and activity.days:
            last = activity.days[-1]
            sticky = percent(activity.stickiness())
            self.info.setText(
                f"Active users a day over {len(activity.days)} days to {last}: DAU {activity.dau[-1]:,}, "
                f"WAU {activity.wau[-1]:,}, MAU {activity.mau[-1]:,} · stickiness (DAU/MAU) {sticky}"
                f"{self.age_text(now)}"
            )
