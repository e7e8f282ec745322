"""A ticket printed or saved as PDF: what it shows, what it leaves out, and in which colours."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desk.domain.enums import EntryKind, Queue
from desk.domain.queues import Criteria
from desk.domain.views import TicketView
from desk.services import entries, queues, tickets
from desk.services.demo import LONG_THREAD_SUBJECT
from desk.ui import theme
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.printing import PrintTicketDialog, save_pdf, ticket_document, ticket_html
from tests.ui.conftest import db_of

HOSTILE = '<img src="http://tracker.example/x.png"> & <b>bold</b>'


@pytest.fixture
def ticket(ctx: Context) -> TicketView:
    """An open ticket with an internal note, a reply, and a subject that is markup."""
    row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
    db = db_of(ctx)
    entries.post_note(db, ctx.agent, row.id, "Internal: the customer is on the old plan.")
    entries.post_reply(db, ctx.agent, row.id, f"Fixed. {HOSTILE}")
    return tickets.get_ticket(db, ctx.agent, row.id)


def test_internal_notes_are_printed_only_when_chosen(ticket: TicketView) -> None:
    without = ticket_document(ticket, notes=False).toPlainText()
    with_notes = ticket_document(ticket, notes=True).toPlainText()
    assert "Internal: the customer is on the old plan." not in without
    assert "Internal notes are left out." in without
    assert "Internal: the customer is on the old plan." in with_notes
    for text in (without, with_notes):
        assert f"Ticket {ticket.number}" in text and ticket.subject in text and ticket.requester.email in text
        assert f"Fixed. {HOSTILE}" in text  # markup from outside is shown as the text it is


def test_paper_is_white_whatever_the_screen_shows(ticket: TicketView, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_THEME", "dark")
    assert theme.is_dark()
    printed = ticket_html(ticket, notes=True)
    with theme.on_paper():
        assert ticket_html(ticket, notes=True) == printed  # built in the light colours either way
    note_light, note_dark = theme.TOKENS["thread.note.bg"]
    assert note_light in printed and note_dark not in printed
    assert theme.is_dark()  # the screen keeps its theme


def test_a_ticket_saved_as_pdf_takes_the_pages_its_thread_needs(ctx: Context, tmp_path: Path) -> None:
    db = db_of(ctx)
    short = tickets.get_ticket(db, ctx.agent, queues.queue_page(db, ctx.agent, Criteria(queue=Queue.OPEN)).rows[0].id)
    long_id = next(
        row.id
        for row in queues.search_tickets(db, ctx.agent, LONG_THREAD_SUBJECT).rows
        if row.subject == LONG_THREAD_SUBJECT
    )
    long = tickets.get_ticket(db, ctx.agent, long_id)
    assert sum(1 for item in long.thread if getattr(item, "kind", None) == EntryKind.MESSAGE) > 50
    pages = {}
    for name, view in (("short", short), ("long", long)):
        path = tmp_path / f"{name}.pdf"
        pages[name] = save_pdf(view, path, notes=True)
        assert path.read_bytes().startswith(b"%PDF-")
        assert path.read_bytes().count(b"/Type /Page\n") + path.read_bytes().count(b"/Type /Page ") >= pages[name]
    assert pages["short"] >= 1 and pages["long"] > pages["short"] + 5


def test_ctrl_p_offers_print_and_pdf_for_the_open_ticket(
    ctx: Context, ticket: TicketView, qtbot: QtBot, tmp_path: Path
) -> None:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.actions_by_name["print_ticket"].shortcut().toString() == "Ctrl+P"
    dialog = PrintTicketDialog(ticket, window)
    qtbot.addWidget(dialog)
    assert not dialog.notes.isChecked()  # notes stay off paper unless chosen
    dialog.notes.setChecked(True)
    dialog.write_pdf(tmp_path / "ticket.pdf")
    assert dialog.saved == tmp_path / "ticket.pdf" and dialog.saved.stat().st_size > 1000
