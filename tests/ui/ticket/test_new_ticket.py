"""The new-ticket dialog: errors beside their fields, nothing typed lost, the ticket opened as typed."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtTest import QTest

from desk.domain.views import TicketView
from desk.services import tickets
from desk.ui.tasks import Context
from desk.ui.ticket.new_ticket import NewTicketDialog
from tests.ui.conftest import db_of, run, until


def dialog_for(ctx: Context, qtbot: QtBot) -> NewTicketDialog:
    dialog = NewTicketDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_errors_appear_beside_their_fields_and_the_text_stays(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = dialog_for(ctx, qtbot)
        QTest.keyClicks(dialog.body, "The card reader at desk 4 beeps and rejects every card.")
        dialog.create_button.click()
        await until(lambda: dialog.errors["subject"].isVisible(), what="the subject's error")
        assert dialog.errors["subject"].text() == "Enter a subject."
        assert dialog.errors["email"].text() == "Enter the requester's email address."
        assert not dialog.errors["body"].isVisible()
        assert dialog.isVisible() and dialog.body.toPlainText().startswith("The card reader")

    run(loop, scenario())


def test_a_ticket_for_a_new_caller_with_a_first_note(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        dialog = dialog_for(ctx, qtbot)
        created: list[TicketView] = []
        dialog.created.connect(created.append)
        QTest.keyClicks(dialog.email, "nora.new@example.org")
        QTest.keyClicks(dialog.name, "Nora New")
        QTest.keyClicks(dialog.subject, "Card reader rejects every card")
        QTest.keyClicks(dialog.body, "Called from branch 12.")
        dialog.priority.setCurrentIndex(dialog.priority.findText("High"))
        dialog.follow_up.setCurrentIndex(2)  # internal note
        QTest.keyClicks(dialog.follow_up_text, "Hardware fault suspected.")
        dialog.create_button.click()
        await until(lambda: created, what="the ticket to be opened")
        ticket = tickets.get_ticket(db_of(ctx), ctx.agent, created[0].id)
        assert (ticket.subject, ticket.requester.name, ticket.priority.name) == (
            "Card reader rejects every card",
            "Nora New",
            "High",
        )
        assert [getattr(item, "body_text", None) for item in ticket.thread if hasattr(item, "body_text")] == [
            "Called from branch 12.",
            "Hardware fault suspected.",
        ]
        assert not dialog.isVisible()

    run(loop, scenario())


def test_what_was_typed_comes_back_after_desk_closed(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        first = dialog_for(ctx, qtbot)
        QTest.keyClicks(first.subject, "Printer jams on page two")
        QTest.keyClicks(first.body, "Every second page.")
        await until(lambda: first._drafts.load(ctx.agent.id, 0) is not None, what="the draft on disk")
        first.close()
        again = dialog_for(ctx, qtbot)
        assert again.subject.text() == "Printer jams on page two"
        assert again.body.toPlainText() == "Every second page."
        assert "Restored" in again.message.text()

    run(loop, scenario())
