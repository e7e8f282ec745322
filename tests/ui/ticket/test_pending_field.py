"""Pending until a date in the ticket window: the agent picks a time beside the status and presses Wait; the
properties and the queue say until when (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QDate, QDateTime, Qt, QTime

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.domain.views import QueueRow
from desk.services import queues, tickets
from desk.storage.db import Database
from desk.ui.labels import when
from desk.ui.queue.model import COLUMNS
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, make_context, run, until
from tests.ui.ticket.test_role_limits import first_in, shown


def test_wait_sets_pending_until_the_time_shown_and_the_properties_say_so(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
        editor = await shown(ctx, qtbot, row.id)
        panel = editor.properties
        assert panel.until.isVisible() and panel.wait_button.text() == "Wait"
        assert "Pending" in panel.wait_button.toolTip()
        day = QDate.currentDate().addDays(3)
        panel.until.setDateTime(QDateTime(day, QTime(14, 30)))
        qtbot.mouseClick(panel.wait_button, Qt.MouseButton.LeftButton)
        await until(lambda: editor.ticket is not None and editor.ticket.pending_until is not None, what="pending")
        expected = datetime.fromtimestamp(QDateTime(day, QTime(14, 30)).toSecsSinceEpoch(), UTC)
        saved = tickets.get_ticket(db_of(ctx), ctx.agent, row.id)
        assert (saved.status.name, saved.pending_until) == ("Pending", expected)
        assert panel.status.currentText() == "Pending"
        assert panel.due.text().startswith(f"Pending until {when(expected)}, then back to Open")
        assert panel.wait_button.text() == "Change date"
        assert panel.until.dateTime() == QDateTime(day, QTime(14, 30))
        listed: QueueRow = queues.rows_for_ids(db_of(ctx), ctx.agent, [row.id])[0]
        status = next(c for c in COLUMNS if c.header == "Status")
        assert status.text(listed) == f"Pending until {when(expected)}"

    run(loop, scenario())


def test_an_agent_who_may_not_change_the_status_cannot_set_a_date(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    john = make_context(demo_db, "john")  # Limited access in Support: no moves between open statuses

    async def scenario() -> None:
        editor = await shown(john, qtbot, first_in(john, Queue.OPEN, "Support"))
        panel = editor.properties
        assert not panel.until.isEnabled() and not panel.wait_button.isEnabled()
        assert "change the status" in panel.until.toolTip()

    run(loop, scenario())
    john.close()
