"""A stale save in the properties panel: the banner says who changed what, and one click applies the agent's change
again on the fresh ticket (issue 5)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import queues, tickets
from desk.ui.tasks import Context
from desk.ui.ticket.editor import TicketEditor
from tests.ui.conftest import db_of, run, until


def test_stale_save_shows_who_and_applies_again(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
        editor = TicketEditor(ctx, row.id)
        qtbot.addWidget(editor)
        editor.resize(1100, 700)
        editor.show()
        await editor.load()
        assert editor.ticket is not None
        priorities = {p.name: p.id for p in ctx.choices.priorities}
        mine = next(pid for name, pid in priorities.items() if pid != editor.ticket.priority.id)
        theirs = next(pid for pid in priorities.values() if pid not in (mine, editor.ticket.priority.id))
        tickets.set_priority(db_of(ctx), ctx.agent, row.id, theirs)  # someone else, meanwhile
        editor.properties.note.setText("Customer asked")
        await editor._apply(tickets.set_priority, mine)
        assert editor.banner.isVisible() and editor.retry_button.isVisible()
        assert "priority" in editor.banner.text()
        editor.retry_button.click()
        await until(lambda: editor.ticket is not None and editor.ticket.priority.id == mine, what="applied again")
        assert not editor.retry_button.isVisible()

    run(loop, scenario())


def test_two_quick_changes_both_land(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    """Priority then department picked before the first answer: the second waits and does not conflict."""

    async def scenario() -> None:
        row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
        editor = TicketEditor(ctx, row.id)
        qtbot.addWidget(editor)
        editor.show()
        await editor.load()
        panel = editor.properties
        panel.priority.setCurrentIndex(panel.priority.findText("Emergency"))
        panel.priority.activated.emit(panel.priority.currentIndex())
        panel.department.setCurrentIndex(panel.department.findText("Billing"))
        panel.department.activated.emit(panel.department.currentIndex())
        await until(
            lambda: (
                editor.ticket is not None
                and editor.ticket.priority.name == "Emergency"
                and editor.ticket.department.name == "Billing"
            ),
            what="both changes",
        )
        assert not editor.banner.isVisible()
        saved = tickets.get_ticket(db_of(ctx), ctx.agent, row.id)
        assert (saved.priority.name, saved.department.name) == ("Emergency", "Billing")

    run(loop, scenario())
