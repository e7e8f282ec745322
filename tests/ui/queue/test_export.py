"""A queue or search exported to CSV or XLSX: the tickets the list shows, in its order, as the services list them,
readable by Excel; File › Export the list… offers both kinds."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtWidgets import QWidget

from desk.domain.enums import Queue, SortKey
from desk.domain.queues import Criteria
from desk.domain.views import QueueRow
from desk.services import queues
from desk.ui.export import CSV_FILTER, XLSX_FILTER, Row
from desk.ui.main_window import MainWindow
from desk.ui.queue.export import HEADER, export_queue
from desk.ui.queue.model import QueueQuery
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, run


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())  # the byte-order mark Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(path: Path) -> list[list[object]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [[value for value in row] for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def cells(row: QueueRow) -> Row:
    """A queue's row as its export's columns."""
    return (row.number, row.subject, row.requester, row.requester_email, row.priority, row.status, row.department,
            row.assignee, row.team, row.due, row.overdue, row.created_at, row.updated_at)  # fmt: skip


def local(moment: datetime) -> datetime:
    return moment.astimezone().replace(tzinfo=None)


def as_csv(row: Row) -> list[str]:
    """A row as the CSV file holds it: times in this computer's zone to the minute, yes/no, nothing as empty."""
    return [
        ""
        if v is None
        else local(v).strftime("%Y-%m-%d %H:%M")
        if isinstance(v, datetime)
        else ("yes" if v else "no")
        if isinstance(v, bool)
        else str(v)
        for v in row
    ]


def same_in_xlsx(read: list[object], row: Row) -> bool:
    """Whether a workbook's row holds these cells: text as it is, times as real times in this computer's zone
    (to the millisecond: Excel keeps a time as a fraction of a day)."""
    return len(read) == len(row) and all(
        abs(got - local(cell)) < timedelta(milliseconds=1)
        if isinstance(got, datetime) and isinstance(cell, datetime)
        else got == cell
        for got, cell in zip(read, row, strict=True)
    )


def listed(ctx: Context, query: QueueQuery, limit: int) -> tuple[list[Row], int]:
    """The query's tickets as the queue's own pages list them, and its total."""
    expected: list[Row] = []
    cursor = None
    while True:
        page = queues.queue_page(db_of(ctx), ctx.agent, query.criteria, sort=query.sort,
                                 descending=query.descending, cursor=cursor, limit=limit)  # fmt: skip
        expected += [cells(row) for row in page.rows]
        if (cursor := page.next_cursor) is None:
            return expected, page.total


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_queue_is_exported_in_the_lists_order_a_page_at_a_time(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setattr(queues, "EXPORT_PAGE", 7)  # several pages from the demo's tickets
    query = QueueQuery(Criteria(queue=Queue.OPEN), sort=SortKey.SUBJECT, descending=False)
    parent = QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "out" / f"open.{suffix}"
    path.parent.mkdir()

    written = run(loop, export_queue(ctx, query, path, parent))

    expected, total = listed(ctx, query, 7)
    assert written == total == len(expected) > 14
    if suffix == "csv":
        assert read_csv(path) == [list(HEADER), *map(as_csv, expected)]
    else:
        rows = read_xlsx(path)
        assert rows[0] == list(HEADER)
        assert len(rows) == len(expected) + 1
        assert all(same_in_xlsx(got, row) for got, row in zip(rows[1:], expected, strict=True))
    assert list(path.parent.iterdir()) == [path]  # no part-written file left beside it


def test_a_filtered_queue_exports_what_the_filter_holds(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "EXPORT_PAGE", 5)
    support = next(d.id for d in ctx.choices.departments if d.name == "Support")
    query = QueueQuery(Criteria(queue=Queue.OPEN, department_ids=(support,)), sort=SortKey.NUMBER, descending=True)
    parent = QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "support.csv"
    written = run(loop, export_queue(ctx, query, path, parent))
    expected, total = listed(ctx, query, 5)
    assert written == total == len(expected) > 5
    assert read_csv(path)[1:] == list(map(as_csv, expected))
    assert {row[HEADER.index("Department")] for row in read_csv(path)[1:]} == {"Support"}


def test_a_search_exports_its_matches(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "search.xlsx"
    written = run(loop, export_queue(ctx, QueueQuery(Criteria(), ranked_search="payment"), path, parent))
    found = queues.search_tickets(db_of(ctx), ctx.agent, "payment", limit=queues.MAX_PAGE).rows
    assert written == len(found) > 0
    rows = read_xlsx(path)[1:]
    assert all(same_in_xlsx(got, cells(row)) for got, row in zip(rows, found, strict=True))


def test_the_file_menu_offers_csv_and_excel(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    run(loop, window.start())
    chooser = window.ask_export()
    assert chooser is not None
    assert chooser.nameFilters() == [CSV_FILTER, XLSX_FILTER]
    chooser.selectNameFilter(XLSX_FILTER)
    chooser.filterSelected.emit(XLSX_FILTER)
    assert chooser.defaultSuffix() == "xlsx"
    chooser.close()
    window.stop()
