"""The queue model over a synchronous fake loader: lazy rows, id chunks, the tail, generations, qtmodeltester."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pytestqt.modeltest import ModelTester

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desk.domain.enums import Queue, SortKey, StatusState
from desk.domain.queues import Criteria
from desk.domain.views import QueuePage, QueueRow
from desk.ui.queue.model import COLUMNS, PLACEHOLDER, ROWS_PAGE, QueueModel, QueueQuery, QueueRole

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def make_row(ticket_id: int) -> QueueRow:
    return QueueRow(
        id=ticket_id,
        number=f"{100000 + ticket_id}",
        subject=f"Subject {ticket_id}",
        requester="Alice Archer",
        requester_email="alice@example.com",
        priority="High" if ticket_id % 2 else "Normal",
        priority_level=3 if ticket_id % 2 else 2,
        priority_colour="#ff9800",
        assignee=None,
        team=None,
        department="Support",
        status="Open",
        status_state=StatusState.OPEN,
        due=T0 + timedelta(hours=ticket_id),
        overdue=ticket_id % 7 == 0,
        answered=ticket_id % 3 == 0,
        created_at=T0,
        updated_at=T0 - timedelta(minutes=ticket_id),
    )


class FakeLoader:
    """Answers at once from a list of ids (queue order); `hold` keeps answers back to test stale generations."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        self.model: QueueModel | None = None
        self.calls: list[str] = []
        self.hold = False
        self.held: list[tuple[str, tuple[object, ...]]] = []

    def _answer(self, kind: str, *args: object) -> None:
        assert self.model is not None
        if self.hold:
            self.held.append((kind, args))
        else:
            getattr(self.model, kind)(*args)

    def load_first(self, generation: int, query: QueueQuery, limit: int) -> None:
        self.calls.append("first")
        page = self.ids[:limit]
        cursor = str(len(page)) if len(self.ids) > limit else None
        self._answer("first_loaded", generation, QueuePage(tuple(map(make_row, page)), len(self.ids), cursor))

    def load_ids(self, generation: int, query: QueueQuery, cursor: str, limit: int) -> None:
        self.calls.append("ids")
        start = int(cursor)
        chunk = self.ids[start : start + limit]
        following = str(start + limit) if start + limit < len(self.ids) else None
        self._answer("ids_loaded", generation, chunk, following)

    def load_tail(self, generation: int, query: QueueQuery, limit: int) -> None:
        self.calls.append("tail")
        self._answer("tail_loaded", generation, [make_row(i) for i in self.ids[-limit:]])

    def load_rows(self, generation: int, first: int, last: int, ids: Sequence[int]) -> None:
        self.calls.append(f"rows {first}-{last}")
        self._answer("rows_loaded", generation, first, last, [make_row(i) for i in ids])


def model_for(ids: Sequence[int]) -> tuple[QueueModel, FakeLoader]:
    loader = FakeLoader(ids)
    model = QueueModel(loader)
    loader.model = model
    return model, loader


def shown(model: QueueModel, row: int, column: int = 2) -> str:
    return str(model.data(model.index(row, column)))


def flush() -> None:
    QApplication.processEvents()


QUERY = QueueQuery(Criteria(queue=Queue.OPEN))


def test_model_passes_qtmodeltester_through_load_page_arrival_and_refresh(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    model, loader = model_for(range(1, 1201))
    qtmodeltester.check(model)
    model.set_query(QUERY)
    qtmodeltester.check(model)
    assert model.rowCount() == 1200
    assert shown(model, 0) == "Subject 1"
    shown(model, 700)
    flush()
    qtmodeltester.check(model)
    loader.ids = list(range(1, 900))
    model.refresh()
    qtmodeltester.check(model)
    assert model.rowCount() == 899


def test_rows_load_lazily_a_page_at_a_time(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 5001))
    model.set_query(QUERY)
    # The first page came with the total; the remaining ids follow in chunks, without any row.
    assert model.rowCount() == 5000
    assert loader.calls[:2] == ["first", "ids"]
    assert model.ticket_id(4999) == 5000
    assert shown(model, 3000) == PLACEHOLDER
    assert model.data(model.index(3000, 0), QueueRole.ROW) is None
    flush()
    page = 3000 // ROWS_PAGE
    assert loader.calls[-1] == f"rows {page * ROWS_PAGE}-{(page + 1) * ROWS_PAGE - 1}"
    assert shown(model, 3000) == "Subject 3001"
    assert shown(model, 3000, 0) == "103001"
    # One fetch per page however many cells asked.
    for row in range(3000, 3100):
        shown(model, row)
    flush()
    assert loader.calls.count(f"rows {page * ROWS_PAGE}-{(page + 1) * ROWS_PAGE - 1}") == 1


def test_the_end_of_a_long_queue_shows_before_its_ids_arrive(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 200_001))
    loader.hold = True
    model.set_query(QUERY)
    kind, args = loader.held.pop(0)
    getattr(model, kind)(*args)  # only the first page arrives; the id chunks stay held
    assert model.rowCount() == 200_000
    assert shown(model, 199_999) == PLACEHOLDER
    loader.hold = False
    flush()
    assert "tail" in loader.calls
    assert shown(model, 199_999) == "Subject 200000"
    assert model.ticket_id(199_999) == 200_000


def test_answers_to_an_older_query_are_dropped(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 301))
    model.set_query(QUERY)
    loader.hold = True
    model.set_query(QueueQuery(Criteria(queue=Queue.OPEN), SortKey.NUMBER, descending=False))
    loader.ids = list(range(300, 0, -1))
    loader.hold = False
    model.refresh()  # the newest generation answers at once
    for kind, args in loader.held:  # then the stale answers arrive
        getattr(model, kind)(*args)
    assert shown(model, 0) == "Subject 300"


@pytest.mark.parametrize("column", range(len(COLUMNS)))
def test_sorting_by_any_column_queries_again_in_the_database(qapp: QApplication, column: int) -> None:
    model, loader = model_for(range(1, 11))
    model.set_query(QUERY)
    calls = len(loader.calls)
    key = COLUMNS[column].sort
    assert key is not None, COLUMNS[column].header
    model.sort(column, Qt.SortOrder.AscendingOrder)
    assert model.query == QueueQuery(Criteria(queue=Queue.OPEN), key, descending=False)
    assert loader.calls[calls] == "first"
    calls = len(loader.calls)
    model.sort(column, Qt.SortOrder.AscendingOrder)  # the order it has already
    assert len(loader.calls) == calls


@pytest.mark.parametrize("column", range(len(COLUMNS)))
def test_every_column_shows_text_for_a_loaded_row(qapp: QApplication, column: int) -> None:
    model, _ = model_for([7])
    model.set_query(QUERY)
    text = model.data(model.index(0, column))
    assert isinstance(text, str) and text != PLACEHOLDER
    if COLUMNS[column].header == "Due":
        assert text.startswith("Overdue")  # ticket 7 is overdue: said in words, not colour alone


def test_tickets_added_while_the_ids_load_are_all_listed_in_order(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 25_051))
    loader.hold = True
    model.set_query(QUERY)
    kind, args = loader.held.pop(0)
    getattr(model, kind)(*args)  # the first page says 25,050
    loader.ids = list(range(1, 25_151))  # 100 more arrive before the ids are read
    loader.hold = False
    for kind, args in loader.held:
        getattr(model, kind)(*args)
    while model.is_loading or not model.is_complete:
        QApplication.processEvents()
    assert model.rowCount() == 25_150
    assert [model.ticket_id(r) for r in (0, 25_049, 25_050, 25_149)] == [1, 25_050, 25_051, 25_150]


def test_a_row_changed_during_a_live_refresh_is_fetched_again(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 301))
    model.set_query(QUERY)
    shown(model, 249)
    flush()
    assert model.queue_row(250) is not None  # below the first page, fetched when painted
    loader.hold = True
    model.refresh(keep_rows=True)
    model.invalidate([250])  # changed by someone else while the refresh is on its way
    loader.hold = False
    for kind, args in loader.held:
        getattr(model, kind)(*args)
    assert model.queue_row(249) is not None  # unchanged rows are kept across the refresh
    assert model.queue_row(250) is None  # the changed one is not: the old copy must not come back
    assert shown(model, 249) == PLACEHOLDER
    flush()
    assert shown(model, 249) == "Subject 250"
