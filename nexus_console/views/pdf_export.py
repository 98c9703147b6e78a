"""HTML to PDF with Qt's own text layout (QTextDocument printed by QPdfWriter): no browser, no extra
dependency, and the same code runs in the window and headless (offscreen platform)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

RESOLUTION_DPI = 300


def write_pdf(html: str, path: Path, *, title: str = "") -> int:
    """Lay out `html` on A4 pages and write the PDF to `path`; returns the number of pages."""
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION_DPI)
    writer.setTitle(title)
    writer.setCreator("Nexus Console")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    document = QTextDocument()
    document.setHtml(html)
    page = writer.pageLayout().paintRectPixels(RESOLUTION_DPI)
    document.setPageSize(QSizeF(page.width(), page.height()))
    document.print_(writer)
    return document.pageCount()
