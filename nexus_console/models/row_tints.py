"""Row background tints for table models, readable under the console's dark palette (light text)."""

from __future__ import annotations

from PySide6.QtGui import QColor

QUEUED_TINT = QColor("#1d2d44")  # waiting its turn
SENDING_TINT = QColor("#22395a")
APPLIED_TINT = QColor("#1b3526")
WAITING_TINT = QColor("#3b3116")  # applied, waiting for the replica to catch up
PROBLEM_TINT = QColor("#4a1f1f")  # conflict or failure: needs the admin
CANCELLED_TINT = QColor("#2a2d33")
