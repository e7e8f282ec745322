"""The queue model over a synchronous fake loader: lazy rows, id windows, the tail, generations, qtmodeltester."""

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
from desk.ui.queue.model import COLUMNS, ID_WINDOW, PLACEHOLDER, ROWS_PAGE, IdWindow, QueueModel, QueueQuery, QueueRole

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
    """Answers at once from a list of ids (queue order); `hold` keeps answers back to test stale generations.
    A cursor is the id of the ticket it follows."""

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
        cursor = str(page[-1]) if len(self.ids) > limit else None
        self._answer("first_loaded", generation, QueuePage(tuple(map(make_row, page)), len(self.ids), cursor))

    def load_ids(self, generation: int, query: QueueQuery, window: IdWindow) -> None:
        how = "by position" if window.after is None else "backward" if window.backward else "after"
        self.calls.append(f"ids {window.start}-{window.start + window.count - 1} {how}")
        order = self.ids[::-1] if window.backward else self.ids
        begin = (order.index(int(window.after)) + 1 if window.after is not None else 0) + window.skip
        chunk = order[begin : begin + window.count]
        cursor = str(chunk[-1]) if chunk and begin + window.count < len(order) else None
        self._answer("ids_loaded", generation, window, chunk[::-1] if window.backward else chunk, cursor)

    def load_tail(self, generation: int, query: QueueQuery, limit: int) -> None:
        self.calls.append("tail")
        tail = self.ids[-limit:]
        cursor = str(tail[0]) if len(self.ids) > limit else None
        self._answer("tail_loaded", generation, [make_row(i) for i in tail], cursor)

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
    """Let the model's fetches run: an answer to one may start the next (ids, then their rows)."""
    for _ in range(3):
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
    model, loader = model_for(range(1, 50_001))
    model.set_query(QUERY)
    # The first page came with the total; nothing more is read until the view shows it.
    assert model.rowCount() == 50_000
    flush()
    assert loader.calls == ["first"]
    assert model.ticket_id(2999) is None
    assert shown(model, 2999) == PLACEHOLDER
    assert model.data(model.index(2999, 0), QueueRole.ROW) is None
    flush()
    page = 2999 // ROWS_PAGE
    assert loader.calls[-2:] == [
        f"ids {page * ROWS_PAGE}-{page * ROWS_PAGE + ID_WINDOW - 1} by position",
        f"rows {page * ROWS_PAGE}-{(page + 1) * ROWS_PAGE - 1}",
    ]
    assert shown(model, 2999) == "Subject 3000"
    assert shown(model, 2999, 0) == "103000"
    # One fetch per page however many cells asked.
    for row in range(page * ROWS_PAGE, (page + 1) * ROWS_PAGE):
        shown(model, row)
    flush()
    assert loader.calls.count(f"rows {page * ROWS_PAGE}-{(page + 1) * ROWS_PAGE - 1}") == 1


def test_scrolling_reads_the_ids_next_to_those_known(qapp: QApplication) -> None:
    """Down from the first page, and up from a jump, each window of ids starts at a neighbour's cursor."""
    model, loader = model_for(range(1, 50_001))
    model.set_query(QUERY)
    shown(model, 150)  # below the first page's 100 rows
    flush()
    assert loader.calls[-2:] == [f"ids 100-{99 + ID_WINDOW} after", "rows 0-199"]
    assert shown(model, 150) == "Subject 151"
    shown(model, ID_WINDOW + 100)  # just past that window: the next one, after its last row
    flush()
    assert loader.calls[-2:] == [f"ids {ID_WINDOW + 100}-{2 * ID_WINDOW + 99} after", "rows 2000-2199"]
    assert shown(model, ID_WINDOW + 100) == f"Subject {ID_WINDOW + 101}"
    shown(model, 30_000)  # a jump: by position, from the nearer end (the end), up to the page's last row
    flush()
    assert loader.calls[-2:] == [f"ids {30_200 - ID_WINDOW}-30199 by position", "rows 30000-30199"]
    assert shown(model, 30_000) == "Subject 30001"
    shown(model, 30_100 - ID_WINDOW)  # then up from there: before the first row known
    flush()
    assert loader.calls[-2:] == [f"ids {30_200 - 2 * ID_WINDOW}-{30_199 - ID_WINDOW} backward", "rows 28000-28199"]
    assert [model.ticket_id(r) for r in range(30_200 - 2 * ID_WINDOW, 30_200)] == list(
        range(30_201 - 2 * ID_WINDOW, 30_201)
    )


def test_choosing_a_long_queue_reads_its_first_page_only(qapp: QApplication) -> None:
    """Closed at a million tickets: the model knows the total at once and reads no more ids than it shows."""
    model, loader = model_for(range(1, 850_001))
    model.set_query(QUERY)
    for row in range(40):  # what a window shows
        shown(model, row)
    flush()
    assert model.rowCount() == 850_000
    assert loader.calls == ["first"]
    assert model.ids_known == 100
    assert model.ticket_id(99) == 100 and model.ticket_id(100) is None


def test_rows_scrolled_past_while_ids_are_read_are_not_fetched(qapp: QApplication) -> None:
    """Dragging the scroll bar through a long queue: one window of ids at a time, then the rows shown last."""
    model, loader = model_for(range(1, 200_001))
    model.set_query(QUERY)
    loader.hold = True
    for row in (50_000, 60_000, 70_000):
        shown(model, row)
        flush()
    assert loader.calls[1:] == [f"ids 50000-{50_000 + ID_WINDOW - 1} by position"]
    assert not model.is_complete
    loader.hold = False
    kind, args = loader.held.pop()
    getattr(model, kind)(*args)
    flush()
    assert loader.calls[2:] == [f"ids 70000-{70_000 + ID_WINDOW - 1} by position", "rows 70000-70199"]
    assert shown(model, 70_000) == "Subject 70001" and model.ticket_id(60_000) is None
    assert model.is_complete


def test_the_end_of_a_long_queue_shows_with_its_rows_in_one_fetch(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 200_001))
    model.set_query(QUERY)
    assert shown(model, 199_999) == PLACEHOLDER
    flush()
    assert loader.calls == ["first", "tail"]
    assert shown(model, 199_999) == "Subject 200000"
    assert model.ticket_id(199_999) == 200_000
    assert model.ticket_id(200_000 - ROWS_PAGE) == 200_001 - ROWS_PAGE
    shown(model, 199_700)  # scrolling up from the end goes on before the tail's first row
    flush()
    assert loader.calls[-2:] == [f"ids {199_800 - ID_WINDOW}-199799 backward", "rows 199600-199799"]
    assert shown(model, 199_700) == "Subject 199701"


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


def test_a_queue_that_shrank_while_it_was_read_is_read_again(qapp: QApplication) -> None:
    model, loader = model_for(range(1, 5001))
    model.set_query(QUERY)
    loader.ids = list(range(1, 1001))  # 4,000 tickets closed since the total was read
    shown(model, 4500)
    flush()
    assert loader.calls[-2:] == [f"ids {4600 - ID_WINDOW}-4599 by position", "first"]
    assert model.rowCount() == 1000
    assert shown(model, 999) == PLACEHOLDER
    flush()
    assert shown(model, 999) == "Subject 1000"


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
