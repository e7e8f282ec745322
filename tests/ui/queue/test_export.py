"""A queue or search exported to CSV: the tickets the list shows, in its order, readable by Excel; a cancelled
export leaves nothing behind."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtWidgets import QWidget

from desk.domain.enums import Queue, SortKey
from desk.domain.queues import Criteria
from desk.services import queues
from desk.ui.export import Cancelled, write_csv
from desk.ui.queue.export import HEADER, cells, export_queue
from desk.ui.queue.model import QueueQuery
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, run


def read(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())  # the byte-order mark Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_queue_is_exported_in_the_lists_order_a_page_at_a_time(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "MAX_PAGE", 7)  # several pages from the demo's tickets
    query = QueueQuery(Criteria(queue=Queue.OPEN), sort=SortKey.SUBJECT, descending=False)
    parent = QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "open.csv"

    written = run(loop, export_queue(ctx, query, path, parent))

    expected, cursor = [], None
    while True:
        page = queues.queue_page(db_of(ctx), ctx.agent, query.criteria, sort=SortKey.SUBJECT, descending=False,
                                 cursor=cursor, limit=7)  # fmt: skip
        expected += [list(cells(row)) for row in page.rows]
        if (cursor := page.next_cursor) is None:
            break
    assert written == page.total == len(expected) > 14
    assert read(path) == [list(HEADER), *expected]
    assert not (tmp_path / "open.csv.part").exists()


def test_a_search_exports_its_matches(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    path = tmp_path / "search.csv"
    written = run(loop, export_queue(ctx, QueueQuery(Criteria(), ranked_search="payment"), path, parent))
    found = queues.search_tickets(db_of(ctx), ctx.agent, "payment", limit=queues.MAX_PAGE).rows
    assert written == len(found) > 0
    assert read(path)[1:] == [list(cells(row)) for row in found]


def test_a_cancelled_export_leaves_the_file_as_it_was(loop: qasync.QEventLoop, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("yesterday's export")

    async def pages() -> AsyncIterator[list[tuple[str, str]]]:
        for number in range(3):
            yield [(str(number), "row")]

    with pytest.raises(Cancelled):
        run(loop, write_csv(path, ("Number", "What"), pages(), keep_going=lambda written: written < 2))
    assert path.read_text() == "yesterday's export"
    assert list(tmp_path.iterdir()) == [path]  # no part-written file either
    assert run(loop, write_csv(path, ("Number", "What"), pages())) == 3
    assert read(path) == [["Number", "What"], ["0", "row"], ["1", "row"], ["2", "row"]]
