"""A pane's page keeps the pane's relayouts inside the pane, and still tells the window when the pane needs
more room."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nexus_console.views.pane_page import PanePage


class LayoutRequests(QObject):
    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def _settle(qapp: Any) -> None:
    for _ in range(5):  # a layout request posts the next one up
        qapp.processEvents()


def _window_with_a_pane(qapp: Any) -> tuple[QWidget, PanePage, QWidget, QLabel]:
    window = QWidget()
    page = PanePage()
    QVBoxLayout(window).addWidget(page)
    pane = QWidget()
    label = QLabel("updated 1 s ago")
    QVBoxLayout(pane).addWidget(label)
    page.set_content(pane)
    window.resize(600, 400)
    window.show()
    _settle(qapp)
    return window, page, pane, label


def test_the_pane_fills_its_page_and_follows_it(qapp: Any) -> None:
    window, page, pane, _label = _window_with_a_pane(qapp)
    assert pane.geometry() == page.rect()
    window.resize(800, 500)
    qapp.processEvents()
    assert pane.geometry() == page.rect() and page.width() > 600
    window.close()


def test_a_new_text_in_the_pane_does_not_lay_out_the_window_again(qapp: Any) -> None:
    window, _page, pane, label = _window_with_a_pane(qapp)
    window_requests, pane_requests = LayoutRequests(window), LayoutRequests(pane)
    for seconds in range(2, 10):  # an age ticking: the same width, a new text
        label.setText(f"updated {seconds} s ago")
        _settle(qapp)
    assert pane_requests.count > 0  # the pane laid itself out
    assert window_requests.count == 0
    window.close()


def test_a_pane_that_needs_more_room_tells_the_window(qapp: Any) -> None:
    window, _page, _pane, label = _window_with_a_pane(qapp)
    window_requests = LayoutRequests(window)
    label.setMinimumWidth(900)
    _settle(qapp)
    assert window_requests.count > 0
    assert window.minimumSizeHint().width() >= 900
    window.close()
