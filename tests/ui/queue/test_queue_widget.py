"""The queue pane on the demo help desk: bulk actions and their report, selection and header kept."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QItemSelectionModel

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import tickets
from desk.storage.db import Database
from desk.ui.queue.model import COLUMNS, DUE_COLUMN, SUBJECT_COLUMN, QueueQuery
from desk.ui.queue.widget import QueueWidget
from desk.ui.tasks import Context
from tests.ui.conftest import make_context, queue_loaded, run, until


def shown_queue(ctx: Context, qtbot: QtBot, queue: Queue = Queue.OPEN) -> QueueWidget:
    widget = QueueWidget(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    widget.show_query(queue.value, QueueQuery(Criteria(queue=queue)), "empty")
    return widget


def select_rows(widget: QueueWidget, rows: list[int]) -> None:
    selector = widget.table.selectionModel()
    for row in rows:
        selector.select(
            widget.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_bulk_transfer_reports_each_refused_ticket(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """John (Limited access in Support) may not transfer: both tickets stay, the report says why for each."""
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        widget = shown_queue(john, qtbot)
        await queue_loaded(widget)
        select_rows(widget, [0, 1])
        chosen = widget.selected_ids()
        numbers = [widget.model.index(r, 0).data() for r in (0, 1)]
        transfer = next(b for b in widget.bulk_buttons if b.text() == "Transfer")
        assert transfer.isEnabled()
        next(a for a in transfer.menu().actions() if a.text() == "Billing").trigger()
        await until(lambda: widget.last_report is not None, what="the bulk report")
        assert widget.last_report is not None
        text = widget.last_report.text()
        assert "0 of 2 tickets changed" in text
        for number in numbers:
            assert f"{number}: Your role in Support cannot transfer tickets." in text
        for ticket_id in chosen:
            assert tickets.get_ticket(demo_db, john.agent, ticket_id).department.name != "Billing"

    run(loop, scenario())
    john.close()


def test_bulk_priority_changes_every_selected_ticket_and_keeps_the_selection(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot)
        await queue_loaded(widget)
        select_rows(widget, [2, 3, 5])
        chosen = widget.selected_ids()
        priority = next(b for b in widget.bulk_buttons if b.text() == "Priority")
        next(a for a in priority.menu().actions() if a.text() == "Emergency").trigger()

        def shown() -> set[str]:
            return {row.priority for i in chosen if (row := widget.model.queue_row(i)) is not None}

        await until(lambda: shown() == {"Emergency"}, what="the table to show the new priority")
        assert all(tickets.get_ticket(ctx.db, ctx.agent, i).priority.name == "Emergency" for i in chosen)
        await until(lambda: sorted(widget.selected_ids()) == sorted(chosen), what="the selection to come back")
        assert widget.last_report is None

    run(loop, scenario())


def test_column_order_and_widths_are_kept_per_agent(ctx: Context, demo_db: Database, qtbot: QtBot) -> None:
    first = QueueWidget(ctx)
    qtbot.addWidget(first)
    header = first.table.horizontalHeader()
    header.moveSection(2, 0)  # Subject first
    header.resizeSection(3, 260)  # From wider (the subject takes whatever width is left)
    again = QueueWidget(ctx)
    qtbot.addWidget(again)
    restored = again.table.horizontalHeader()
    assert restored.logicalIndex(0) == 2 and restored.sectionSize(3) == 260
    john = make_context(demo_db, "john")
    theirs = QueueWidget(john)
    qtbot.addWidget(theirs)
    assert theirs.table.horizontalHeader().logicalIndex(0) == 0  # another agent keeps their own layout
    john.close()


def test_the_subject_takes_the_spare_width_and_due_keeps_its_own(ctx: Context, qtbot: QtBot) -> None:
    widget = QueueWidget(ctx)
    qtbot.addWidget(widget)
    header = widget.table.horizontalHeader()
    due = COLUMNS[DUE_COLUMN].width
    widths = {}
    for width in (1200, 1800):
        widget.resize(width, 600)
        widget.show()
        qtbot.waitUntil(lambda: widget.table.viewport().width() > widget.width() - 100)
        widths[width] = (header.sectionSize(SUBJECT_COLUMN), header.sectionSize(DUE_COLUMN))
        others = sum(header.sectionSize(c) for c in range(len(COLUMNS)) if c != SUBJECT_COLUMN)
        assert others + widths[width][0] == widget.table.viewport().width()  # no spare width left anywhere else
    assert widths[1200][1] == widths[1800][1] == due
    assert widths[1800][0] - widths[1200][0] == 600


def test_a_saved_layout_from_before_still_gives_the_subject_the_spare_width(ctx: Context, qtbot: QtBot) -> None:
    """A layout saved when the last column (Due) stretched must not bring that back."""
    old = QueueWidget(ctx)
    qtbot.addWidget(old)
    old.table.horizontalHeader().setStretchLastSection(True)
    old._save_header()
    widget = QueueWidget(ctx)
    qtbot.addWidget(widget)
    widget.resize(1800, 600)
    widget.show()
    qtbot.waitUntil(lambda: widget.width() == 1800)
    header = widget.table.horizontalHeader()
    assert header.sectionSize(DUE_COLUMN) == COLUMNS[DUE_COLUMN].width
    assert header.sectionSize(SUBJECT_COLUMN) > COLUMNS[SUBJECT_COLUMN].width
