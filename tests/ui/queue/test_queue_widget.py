"""The queue pane on the demo help desk: bulk actions and their report, selection and header kept."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QHeaderView

from desk.domain.enums import Queue
from desk.domain.queues import Criteria, text_sort_key
from desk.services import tickets
from desk.storage.db import Database
from desk.ui.queue.model import COLUMNS, DUE_COLUMN, SUBJECT_COLUMN, QueueQuery
from desk.ui.queue.widget import QueueWidget
from desk.ui.tasks import Context
from desk.ui.theme import DeskStyle
from tests.ui.conftest import db_of, make_context, queue_loaded, run, until


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
    """John (Limited access in Support and Online Banking) may not transfer: both tickets stay, the report says why
    for each, naming its department."""
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
        for number, ticket_id in zip(numbers, chosen, strict=True):  # john's queue holds Online Banking's too
            department = tickets.get_ticket(demo_db, john.agent, ticket_id).department.name
            assert f"{number}: Your role in {department} cannot transfer tickets." in text
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
        assert all(tickets.get_ticket(db_of(ctx), ctx.agent, i).priority.name == "Emergency" for i in chosen)
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


def arrow_points_up(header: QHeaderView, section: int) -> bool:
    """Whether the sort arrow drawn at the right end of the section is a triangle narrow at the top."""
    image = header.grab().toImage()
    right = header.sectionViewportPosition(section) + header.sectionSize(section)
    widths = []
    for y in range(2, image.height() - 2):
        dark = [x for x in range(right - 18, right - 2) if image.pixelColor(x, y).lightness() < 170]
        if dark:
            widths.append(len(dark))
    assert len(widths) >= 2, "no sort arrow drawn"
    return widths[0] < widths[-1]


def test_the_sort_arrow_points_the_way_the_column_runs(ctx: Context, qtbot: QtBot) -> None:
    widget = QueueWidget(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 400)
    widget.show()
    header = widget.table.horizontalHeader()
    header.setStyle(DeskStyle())  # the application's style (tests run on plain Fusion)
    header.blockSignals(True)
    header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    assert arrow_points_up(header, 0)
    header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
    assert not arrow_points_up(header, 0)


def click_header(widget: QueueWidget, qtbot: QtBot, section: int) -> None:
    header = widget.table.horizontalHeader()
    where = QPoint(header.sectionViewportPosition(section) + header.sectionSize(section) // 2, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)


def column_texts(widget: QueueWidget, column: int) -> list[str]:
    return [widget.model.index(row, column).data() for row in range(widget.model.rowCount())]


def test_every_column_sorts_both_ways_with_its_arrow(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """A click sorts by the column (in the database), a second click the other way; the arrow follows."""

    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot, Queue.CLOSED)  # the most tickets of the small demo
        await queue_loaded(widget)
        header = widget.table.horizontalHeader()
        for section, column in enumerate(COLUMNS):
            orders = []
            for _click in range(2):
                click_header(widget, qtbot, section)
                query = widget.model.query
                assert query is not None and query.sort == column.sort, column.header
                await queue_loaded(widget)
                assert header.sortIndicatorSection() == section
                ascending = header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
                assert query.descending != ascending
                orders.append(ascending)
                if column.header in ("Subject", "From", "Department", "Status"):
                    keys = [text_sort_key(text) for text in column_texts(widget, section)]
                    assert keys == sorted(keys, reverse=not ascending), column.header
                    assert len(set(keys)) > 1, column.header
            assert orders[0] != orders[1]

    run(loop, scenario())


def test_search_results_say_they_are_by_relevance_until_a_column_sorts_them(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot)
        header = widget.table.horizontalHeader()
        await queue_loaded(widget)
        assert widget.relevance_label.isHidden() and header.sortIndicatorSection() == 1
        widget.show_query("Search: payment", QueueQuery(Criteria(), ranked_search="payment"), "none")
        await queue_loaded(widget)
        assert widget.model.rowCount() > 1
        assert widget.relevance_label.isVisible() and "relevance" in widget.relevance_label.text()
        assert header.sortIndicatorSection() == -1  # no column's arrow
        click_header(widget, qtbot, SUBJECT_COLUMN)
        await queue_loaded(widget)
        assert widget.relevance_label.isHidden() and header.sortIndicatorSection() == SUBJECT_COLUMN
        query = widget.model.query
        assert query is not None and query.ranked_search is None and query.criteria.text == "payment"
        keys = [text_sort_key(text) for text in column_texts(widget, SUBJECT_COLUMN)]
        ascending = header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
        assert keys == sorted(keys, reverse=not ascending)

    run(loop, scenario())


def test_another_queue_or_order_shows_from_its_start(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """At the end of a long queue, choosing a queue (the same one again too) or another order shows its first rows;
    a view keeps its scroll bar over a model reset, which left the agent deep in the new rows (and Desk reading
    ids there)."""

    async def scenario() -> None:
        widget = shown_queue(ctx, qtbot, Queue.CLOSED)  # the most tickets of the small demo
        widget.resize(1200, 300)
        await queue_loaded(widget)
        bar = widget.table.verticalScrollBar()

        async def at_the_end_then(change: Callable[[], object]) -> None:
            bar.setValue(bar.maximum())
            await until(lambda: bar.value() > 0, what="the end of the queue")
            change()
            await queue_loaded(widget)
            assert bar.value() == 0
            assert widget.table.rowAt(0) == 0

        await at_the_end_then(lambda: widget.show_query("Closed", QueueQuery(Criteria(queue=Queue.CLOSED)), "empty"))
        await at_the_end_then(lambda: widget.show_query("Open", QueueQuery(Criteria(queue=Queue.OPEN)), "empty"))
        await at_the_end_then(lambda: widget.show_query("Closed", QueueQuery(Criteria(queue=Queue.CLOSED)), "empty"))
        await at_the_end_then(lambda: click_header(widget, qtbot, SUBJECT_COLUMN))

    run(loop, scenario())
