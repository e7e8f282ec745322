"""A report on paper or in a PDF: its title, range and filters, the chart, then the table of figures, in the light
theme's colours (paper is white), as `desk.ui.ticket.printing` does a ticket."""

from __future__ import annotations

import html
from pathlib import Path

from shiboken6 import isValid

from PySide6.QtCore import QSize, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from desk.domain.reports import ReportTable
from desk.ui import labels, theme
from desk.ui.reports.chart import BarChart, figure_text
from desk.ui.ticket.printing import LAYOUT_DPI, PDF_RESOLUTION

CHART_SIZE = QSize(1300, 560)  # drawn at this size and shown at half of it: sharp on paper
CHART_URL = QUrl("report:chart")


def report_html(table: ReportTable, title: str, rows_name: str) -> str:
    """The report as HTML for QTextDocument, every name escaped (they are departments', agents', comments')."""
    query = table.query
    muted, border = theme.hex_of("text.muted"), theme.hex_of("border")
    header = "".join(f"<th align='left'>{html.escape(n)}</th>" for n in [rows_name, *table.column_labels])
    lines = [*table.rows, *([table.total] if table.total is not None else [])]
    body = "".join(
        "<tr>"
        + (f"<td><b>{html.escape(row.label)}</b></td>" if row is table.total else f"<td>{html.escape(row.label)}</td>")
        + "".join(f"<td align='right'>{figure_text(v)}</td>" for v in row.values)
        + "</tr>"
        for row in lines
    )
    comments = "".join(
        f"<p>{html.escape(c.number)} · {'★' * c.rating} · {html.escape(c.comment)}</p>" for c in table.comments
    )
    span = f"{query.start.isoformat()} to {query.end.isoformat()} (days in {query.tz})"
    return (
        f'<p style="color: {muted}; margin: 0;">{html.escape(labels.tr("Desk report"))}</p>'
        f'<h2 style="margin-top: 2px;">{html.escape(title)}</h2>'
        f'<p style="color: {muted};">{html.escape(span)}</p>'
        f'<p><img src="{CHART_URL.toString()}" width="{CHART_SIZE.width() // 2}"></p>'
        f'<table cellspacing="0" cellpadding="3" border="1" style="border-color: {border}; border-collapse: collapse;">'
        f"<tr>{header}</tr>{body}</table>{comments}"
    )


def report_document(table: ReportTable, chart: BarChart, title: str, rows_name: str) -> QTextDocument:
    document = QTextDocument()
    with theme.on_paper():
        image = QImage(CHART_SIZE, QImage.Format.Format_ARGB32)
        image.fill(theme.color("surface.bg"))
        painter = QPainter(image)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)  # shown at half size: a little larger than the text
        painter.setFont(font)
        chart.render_to(painter, CHART_SIZE)
        painter.end()
        document.addResource(QTextDocument.ResourceType.ImageResource.value, CHART_URL, image)
        document.setHtml(report_html(table, title, rows_name))
    return document


def save_pdf(document: QTextDocument, path: Path, title: str) -> int:
    """Write the report as an A4 PDF; how many pages it took."""
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_RESOLUTION)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setTitle(title)
    page = writer.pageLayout().paintRect(QPageLayout.Unit.Inch)
    document.setPageSize(QSizeF(page.width() * LAYOUT_DPI, page.height() * LAYOUT_DPI))
    document.print_(writer)
    return document.pageCount()


class ReportPrinter:
    """Print the report shown through the system's dialog, or save it as PDF.

    Attributes:
        saved: where the PDF was written, once it was.
    """

    def __init__(self, table: ReportTable, chart: BarChart, parent: QWidget) -> None:
        self._table, self._chart, self._parent = table, chart, parent
        self.title = (
            f"{labels.REPORT_KINDS[table.query.kind]} by {labels.REPORT_GROUPINGS[table.query.grouping].lower()}"
        )
        self._rows_name = labels.REPORT_GROUPINGS[table.query.grouping]
        self.saved: Path | None = None

    def document(self) -> QTextDocument:
        return report_document(self._table, self._chart, self.title, self._rows_name)

    def print_report(self) -> QPrintDialog:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self._parent)
        dialog.accepted.connect(lambda: self.document().print_(printer) if isValid(self._parent) else None)
        QDialog.open(dialog)  # QPrintDialog's own open() wants a slot to call
        return dialog

    def ask_pdf_path(self) -> QFileDialog:
        name = f"{self.title}.pdf"
        dialog = QFileDialog(self._parent, labels.tr("Save report as PDF"), name, "PDF (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda path: self.write_pdf(Path(path)))
        dialog.open()
        return dialog

    def write_pdf(self, path: Path) -> int:
        pages = save_pdf(self.document(), path, self.title)
        self.saved = path
        return pages
