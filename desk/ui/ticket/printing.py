"""A ticket on paper or in a PDF (Ticket › Print…): its header and properties, then the thread as the window shows
it, colour-coded, in the light theme's colours (paper is white), internal notes included or not."""

from __future__ import annotations

import html
from pathlib import Path

from shiboken6 import isValid

from PySide6.QtCore import QSizeF, QUrl
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QVBoxLayout, QWidget

from desk.domain.enums import EntryKind
from desk.domain.views import EntryView, TicketView
from desk.ui import icons, labels, theme
from desk.ui.thread.view import ICON_SCHEME, ICON_SIZE, ICON_TOKENS, format_time, render
from desk.ui.widgets import label

PDF_RESOLUTION = 300  # dots per inch: sharp text, and icons drawn at that size
LAYOUT_DPI = 96  # a QTextDocument lays text out in pixels of this size (Qt's default logical DPI)


def _field(name: str, value: str | None) -> str:
    return f"<tr><td><b>{html.escape(name)}</b>&nbsp;&nbsp;</td><td>{html.escape(value or '—')}</td></tr>"


def ticket_html(ticket: TicketView, *, notes: bool) -> str:
    """The ticket as HTML for QTextDocument, every outside value escaped (the thread as `render` makes it)."""
    thread = [
        item for item in ticket.thread if notes or not (isinstance(item, EntryView) and item.kind == EntryKind.NOTE)
    ]
    due = ticket.due
    fields = [
        ("Status", ticket.status.name),
        ("Priority", ticket.priority.name),
        ("Department", ticket.department.name),
        ("Help topic", ticket.topic.name if ticket.topic else None),
        ("Assignee", ticket.assignee.name if ticket.assignee else None),
        ("Team", ticket.team.name if ticket.team else None),
        ("Requester", f"{ticket.requester.name} <{ticket.requester.email}>"),
        ("Organization", ticket.requester.organization),
        ("Opened", format_time(ticket.created_at)),
        ("Due", format_time(due) + (" (overdue)" if ticket.overdue else "") if due else None),
    ]
    with theme.on_paper():
        muted = theme.hex_of("text.muted")
        left_out = "" if notes else f'<p style="color: {muted};">{html.escape("Internal notes are left out.")}</p>'
        return (
            f'<p style="color: {muted}; margin: 0;">{html.escape(f"Ticket {ticket.number}")}</p>'
            f'<h2 style="margin-top: 2px;">{html.escape(ticket.subject)}</h2>'
            f'<table cellspacing="0" cellpadding="2">{"".join(_field(n, v) for n, v in fields)}</table>'
            f"{left_out}<hr>{render(thread)}"
        )


def ticket_document(ticket: TicketView, *, notes: bool) -> QTextDocument:
    """The printable document, its colours and icons those of the light theme."""
    document = QTextDocument()
    with theme.on_paper():
        for name, token in ICON_TOKENS.items():
            image = icons.icon(name, token).pixmap(ICON_SIZE, ICON_SIZE).toImage()
            document.addResource(QTextDocument.ResourceType.ImageResource.value, QUrl(f"{ICON_SCHEME}:{name}"), image)
    document.setHtml(ticket_html(ticket, notes=notes))
    return document


def save_pdf(ticket: TicketView, path: Path, *, notes: bool) -> int:
    """Write the ticket as an A4 PDF; how many pages it took."""
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_RESOLUTION)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(writer.pageLayout().margins(), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"Ticket {ticket.number}: {ticket.subject}")
    document = ticket_document(ticket, notes=notes)
    # Laid out as printed: the page in the document's own units (1/96 inch), which print_ scales to the paper.
    page = writer.pageLayout().paintRect(QPageLayout.Unit.Inch)
    document.setPageSize(QSizeF(page.width() * LAYOUT_DPI, page.height() * LAYOUT_DPI))
    document.print_(writer)
    return document.pageCount()


class PrintTicketDialog(QDialog):
    """Print the ticket or save it as PDF, with or without its internal notes.

    Attributes:
        notes: include the internal notes; saved: where the PDF was written, once it was.
    """

    def __init__(self, ticket: TicketView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ticket = ticket
        self.saved: Path | None = None
        self.setWindowTitle(f"Print ticket {ticket.number}")
        self.notes = QCheckBox(labels.tr("Include internal notes (only agents should read them)"))
        self.notes.setChecked(False)  # paper travels: what the requester may not read stays out unless chosen
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.print_button = buttons.addButton(labels.tr("Print…"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.print_button.setProperty("role", "primary")
        self.pdf_button = buttons.addButton(labels.tr("Save as PDF…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.clicked.connect(self.print_ticket)
        self.pdf_button.clicked.connect(self.ask_pdf_path)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"{ticket.number} · {ticket.subject}", wrap=True))
        layout.addWidget(self.notes)
        layout.addWidget(buttons)

    def print_ticket(self) -> QPrintDialog:
        """The system's print dialog (non-modal); the ticket is printed when it is accepted."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.accepted.connect(lambda: self._print_to(printer))
        QDialog.open(dialog)  # QPrintDialog's own open() wants a slot to call
        return dialog

    def _print_to(self, printer: QPrinter) -> None:
        ticket_document(self._ticket, notes=self.notes.isChecked()).print_(printer)
        if isValid(self):
            self.accept()

    def ask_pdf_path(self) -> QFileDialog:
        dialog = QFileDialog(self, labels.tr("Save ticket as PDF"), f"Ticket {self._ticket.number}.pdf", "PDF (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda path: self.write_pdf(Path(path)))
        dialog.open()
        return dialog

    def write_pdf(self, path: Path) -> None:
        save_pdf(self._ticket, path, notes=self.notes.isChecked())
        self.saved = path
        self.accept()
