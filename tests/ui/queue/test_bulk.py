"""Bulk changes say how many tickets they change, ask before closing or changing more than a handful, carry a note,
and can be undone for a few seconds: through the services, skipping tickets changed since (issue 12 §5)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from desk.domain.enums import EventKind, Queue, StatusState
from desk.domain.views import EventView
from desk.services import accounts, tickets
from desk.storage.db import Database
from desk.ui.queue.bulk import CONFIRM_OVER
from desk.ui.queue.widget import QueueWidget
from desk.ui.tasks import Context
from tests.ui.conftest import POPUP, db_of, queue_loaded, run, until
from tests.ui.queue.test_queue_widget import select_rows, shown_queue


def tool(widget: QueueWidget, text: str) -> object:
    return next(b for b in widget.bulk_buttons if b.text() == text)


def test_bulk_close_counts_asks_takes_a_note_and_undo_restores(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    run(loop, bulk_close(ctx, demo_db, qtbot))


async def bulk_close(ctx: Context, db: Database, qtbot: QtBot) -> None:
    """Seven tickets closed at once with a note, then the undo, which leaves alone the one Maria changed since.
    `db` is the help desk's database (the window's services may run elsewhere), where Maria works meanwhile."""
    maria = accounts.agent_by_username(db, "maria")
    widget = shown_queue(ctx, qtbot)
    await queue_loaded(widget)
    select_rows(widget, list(range(7)))
    chosen = widget.selected_ids()
    assert len(chosen) == 7 and widget.selection_label.text() == "· 7 selected"
    before = {i: tickets.get_ticket(db, ctx.agent, i) for i in chosen}

    qtbot.mouseClick(widget.bulk_buttons[-1], Qt.MouseButton.LeftButton)  # Close
    dialog = await until(lambda: widget.confirmation, what="the confirmation")
    assert dialog.question.text() == "Close 7 tickets?" and dialog.ok.text() == "Close 7 tickets"
    assert all(tickets.get_ticket(db, ctx.agent, i).version == before[i].version for i in chosen)
    qtbot.keyClicks(dialog.note, "Duplicates of the outage report")
    dialog.ok.click()

    bar = widget.undo_bar
    await until(lambda: bar.can_undo(), what="the undo bar")
    assert bar.text.text() == "Closed 7 tickets" and bar.undo_button.isVisible()
    for ticket_id in chosen:
        closed = tickets.get_ticket(db, ctx.agent, ticket_id)
        assert closed.status.state == StatusState.CLOSED
        event = next(e for e in reversed(closed.thread) if isinstance(e, EventView))
        assert event.kind == EventKind.CLOSED and event.note == "Duplicates of the outage report"
    await until(lambda: widget.model.rowCount() > 0 and widget.model.row_of(chosen[0]) is None, what="refresh")
    await until(lambda: widget.selection_label.text() == "", what="the closed tickets no longer selected")
    assert not any(b.isEnabled() for b in widget.bulk_buttons)

    # A colleague changes one of them meanwhile: the undo leaves that one alone, and says so.
    changed_since = next(i for i in chosen if before[i].department.id in maria.departments)  # one she works on
    maria_sees = tickets.get_ticket(db, maria, changed_since)
    urgent = next(p.id for p in ctx.choices.priorities if p.id != maria_sees.priority.id)
    tickets.set_priority(db, maria, changed_since, urgent)
    bar.undo_button.click()
    await until(lambda: bar.text.text().startswith("Restored"), what="the undo's outcome")
    assert bar.text.text() == "Restored 6 tickets; 1 ticket could not be restored (changed since, or refused)."
    assert not bar.undo_button.isVisible()
    for ticket_id in chosen:
        now = tickets.get_ticket(db, ctx.agent, ticket_id)
        if ticket_id == changed_since:
            assert now.status.state == StatusState.CLOSED
        else:
            assert now.status.id == before[ticket_id].status.id, now.number
    assert widget.last_report is not None
    assert f"{before[changed_since].number}: changed by Maria González since" in widget.last_report.text()


def test_cancelling_the_confirmation_changes_nothing(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot)
        await queue_loaded(widget)
        select_rows(widget, list(range(CONFIRM_OVER + 1)))
        chosen = widget.selected_ids()
        versions = {i: tickets.get_ticket(db_of(ctx), ctx.agent, i).version for i in chosen}
        priority = tool(widget, "Priority")
        next(a for a in priority.menu().actions() if a.text() == "Low").trigger()  # type: ignore[attr-defined]
        dialog = await until(lambda: widget.confirmation, what="the confirmation over a handful")
        assert dialog.question.text() == f"Set the priority of {CONFIRM_OVER + 1} tickets to Low?"
        dialog.reject()
        await until(lambda: not dialog.isVisible())
        assert {i: tickets.get_ticket(db_of(ctx), ctx.agent, i).version for i in chosen} == versions
        assert not widget.undo_bar.isVisible()

    run(loop, scenario())


def test_a_small_change_goes_at_once_and_ctrl_z_undoes_it(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot)
        await queue_loaded(widget)
        select_rows(widget, [1, 2, 4])
        chosen = widget.selected_ids()
        before = {i: tickets.get_ticket(db_of(ctx), ctx.agent, i).priority.name for i in chosen}
        target = "Emergency" if "Emergency" not in before.values() else "Low"
        priority = tool(widget, "Priority")
        next(a for a in priority.menu().actions() if a.text() == target).trigger()  # type: ignore[attr-defined]
        await until(lambda: widget.undo_bar.can_undo(), what="the undo bar")
        assert widget.confirmation is None
        assert widget.undo_bar.text.text() == f"Set the priority of 3 tickets to {target}"
        assert all(tickets.get_ticket(db_of(ctx), ctx.agent, i).priority.name == target for i in chosen)
        widget.table.setFocus()
        qtbot.keySequence(widget.table, QKeySequence(QKeySequence.StandardKey.Undo))
        await until(lambda: widget.undo_bar.text.text() == "Restored 3 tickets.", what="the undo")
        assert {i: tickets.get_ticket(db_of(ctx), ctx.agent, i).priority.name for i in chosen} == before

    run(loop, scenario())


def test_undoing_an_assignment_gives_back_the_team(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """Unassigned tickets of a team, assigned in bulk: the undo unassigns them and they keep their team."""

    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot, Queue.UNASSIGNED)
        await queue_loaded(widget)
        row = next(
            r
            for r in range(widget.model.rowCount())
            if (q := widget.model.queue_row(widget.model.ticket_id(r) or 0)) and q.team
        )
        select_rows(widget, [row])
        (ticket_id,) = widget.selected_ids()
        team = tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id).team
        assign = tool(widget, "Assign")
        next(a for a in assign.menu().actions() if a.text() == "John Carter").trigger()  # type: ignore[attr-defined]
        await until(lambda: widget.undo_bar.can_undo(), what="the undo bar")
        assert tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id).assignee is not None
        widget.undo_bar.undo_button.click()
        await until(lambda: widget.undo_bar.text.text() == "Restored 1 ticket.", what="the undo")
        restored = tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id)
        assert restored.assignee is None and restored.team == team

    run(loop, scenario())


@POPUP
def test_the_keyboard_reaches_the_bulk_changes_through_the_tables_menu(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """The bulk buttons never take the focus; the table's context menu (Menu key, Shift+F10) offers the same."""

    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot)
        await queue_loaded(widget)
        select_rows(widget, [0, 1])
        widget.table.customContextMenuRequested.emit(widget.table.visualRect(widget.model.index(0, 0)).center())
        menu = await until(lambda: widget.table_menu, what="the table's menu")
        assert [a.text() for a in menu.actions()] == ["Assign", "Transfer", "Status", "Priority", "Close"]
        menu.close()

    run(loop, scenario())
