"""Following a ticket from its editor (the header's toggle and Ctrl+Shift+F), its followers in the properties
panel, and the sidebar's Following queue."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import accounts, entries, following, queues
from desk.ui.queue.sidebar import COUNT_ROLE
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, queue_loaded, run, until
from tests.ui.ticket.test_keyboard_safety import unassigned_ticket, window_with_ticket


def test_ctrl_shift_f_follows_and_unfollows_the_open_ticket(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        db = db_of(ctx)
        ticket_id = unassigned_ticket(ctx)
        for followed in queues.queue_ids(db, ctx.agent, Criteria(queue=Queue.FOLLOWING))[0]:
            following.unfollow(db, ctx.agent, followed)
        window, editor = await window_with_ticket(ctx, qtbot, ticket_id)
        following_item = window.sidebar.queue_items[Queue.FOLLOWING]
        await until(lambda: following_item.data(COUNT_ROLE) == 0, what="an empty Following count")
        assert editor.follow_button.text() == "Follow"
        assert editor.properties.followers.text().startswith("No one follows this ticket.")
        QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        await until(lambda: editor.follow_button.text() == "Unfollow", what="the ticket followed")
        assert editor.properties.followers.text() == f"{ctx.agent.name} (you)"
        assert editor.follow_button.toolTip() == "Stop following this ticket (Ctrl+Shift+F)"
        await until(lambda: following_item.data(COUNT_ROLE) == 1, what="the Following count")
        assert [r.id for r in queues.queue_page(db, ctx.agent, Criteria(queue=Queue.FOLLOWING)).rows] == [ticket_id]
        # The click does the same, the other way; the focus stays where typing is safe.
        qtbot.mouseClick(editor.follow_button, Qt.MouseButton.LeftButton)
        await until(lambda: editor.follow_button.text() == "Follow", what="the ticket unfollowed")
        await until(lambda: following_item.data(COUNT_ROLE) == 0, what="the Following count back to 0")
        assert window.focusWidget() is not editor.follow_button
        window.close()

    run(loop, scenario())


def test_the_following_queue_lists_the_tickets_a_mention_made_one_follow(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        db = db_of(ctx)
        maria = accounts.agent_by_username(db, "maria")
        window, _editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        hers = queues.queue_page(db, maria, Criteria(queue=Queue.OPEN), limit=3).rows
        for row in hers:
            entries.post_note(db, maria, row.id, "@admin, have a look at this one.")
        expected = set(queues.queue_ids(db, ctx.agent, Criteria(queue=Queue.FOLLOWING))[0])
        assert {row.id for row in hers} <= expected
        window.sidebar.select_queue(Queue.FOLLOWING)
        await queue_loaded(window.queue)
        model = window.queue.model
        assert {model.ticket_id(r) for r in range(model.rowCount())} == expected
        await window.sidebar.refresh_counts()
        item = window.sidebar.queue_items[Queue.FOLLOWING]
        assert (item.text(), item.data(COUNT_ROLE)) == ("Following", len(expected))
        window.close()

    run(loop, scenario())
