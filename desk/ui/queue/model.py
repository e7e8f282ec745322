"""The queue table's model: the ordered ticket ids of a queue and a cache of the rows on screen.

A queue can hold a million tickets, so the model never loads them all (STYLE.md §2). It asks its loader for
the first page (rows and the total); the rest of the list is known by its length only until the view shows it.
Rows the view paints but whose ids are not known yet ask for a window of ids around them: after the cursor of the
row above (or before the one below) when the agent scrolls, by position from the nearer end when the agent jumps.
The rows themselves are fetched a page at a time for known ids; until a row has arrived, `data()` shows a
placeholder. The last page is fetched on its own with its rows (sorted the other way), so jumping to the end of
a long queue is as quick as opening it. Every query bumps a generation counter: answers to an older query are
dropped.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont

from desk.domain.enums import SortKey, StatusState
from desk.domain.queues import Criteria
from desk.domain.views import QueuePage, QueueRow
from desk.ui import theme
from desk.ui.labels import when
from desk.ui.widgets import plain_tip

FIRST_PAGE = 100
ROWS_PAGE = 200  # rows fetched together around a missing one
# Ids asked for at once around rows shown without them: ten pages of rows, a few milliseconds to read after a
# cursor (scrolling on), up to a few tens by position deep into a million-ticket queue (a jump).
ID_WINDOW = 2_000
PLACEHOLDER = "…"
MARK_MS = 3_000  # how long a row changed by someone else stays marked

Index = QModelIndex | QPersistentModelIndex
NO_PARENT = QModelIndex()


class QueueRole(enum.IntEnum):
    TICKET_ID = Qt.ItemDataRole.UserRole + 1
    ROW = Qt.ItemDataRole.UserRole + 2  # the QueueRow, or None while it loads
    CHANGED_BY = Qt.ItemDataRole.UserRole + 3  # who just changed the ticket (another agent), or None


@dataclass(frozen=True)
class QueueQuery:
    """What the table shows: a queue or saved search in an order, or a full-text search ranked best first."""

    criteria: Criteria
    sort: SortKey = SortKey.UPDATED
    descending: bool = True
    ranked_search: str | None = None


@dataclass(frozen=True)
class IdWindow:
    """Ids asked for: those of positions start .. start + count - 1, read after the cursor `after` (or from an end
    of the queue) and `skip` tickets further, towards the end of the queue, or towards its start (`backward`)."""

    start: int
    count: int
    after: str | None = None
    skip: int = 0
    backward: bool = False


@dataclass(frozen=True)
class Column:
    header: str
    text: Callable[[QueueRow], str]
    sort: SortKey | None = None  # sortable in the database by this key
    alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    width: int = 110


def _due(row: QueueRow) -> str:
    if row.due is None:
        return ""
    return f"Overdue {when(row.due)}" if row.overdue else when(row.due)


def _status(row: QueueRow) -> str:
    return f"{row.status} until {when(row.pending_until)}" if row.pending_until else row.status


COLUMNS: tuple[Column, ...] = (
    Column("Number", lambda r: r.number, SortKey.NUMBER, width=90),
    Column("Last update", lambda r: when(r.updated_at), SortKey.UPDATED, width=110),
    Column("Subject", lambda r: r.subject, SortKey.SUBJECT, width=300),
    Column("From", lambda r: r.requester, SortKey.REQUESTER, width=140),
    Column("Priority", lambda r: r.priority, SortKey.PRIORITY, width=90),
    Column("Assignee", lambda r: r.assignee or (f"Team {r.team}" if r.team else "—"), SortKey.ASSIGNEE, width=130),
    Column("Department", lambda r: r.department, SortKey.DEPARTMENT, width=115),
    Column("Status", _status, SortKey.STATUS, width=170),  # "Pending until 10 Dec 14:30"
    Column("Due", _due, SortKey.DUE, width=140),
)
PRIORITY_COLUMN = 4
DUE_COLUMN = 8
SUBJECT_COLUMN = 2

# Roles as plain ints: data() is called for every role of every cell painted (a few thousand times for one
# screen of rows), and reading an enum member costs more than the comparison.
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_TICKET_ID, _ROW, _CHANGED_BY = QueueRole.TICKET_ID.value, QueueRole.ROW.value, QueueRole.CHANGED_BY.value
_HANDLED_ROLES = frozenset(
    {_DISPLAY, _TOOLTIP, _FOREGROUND, _FONT, _ALIGNMENT, _BACKGROUND, _TICKET_ID, _ROW, _CHANGED_BY}
)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class QueueLoader(Protocol):
    """Fetches for the model, off the GUI thread; answers by calling the model's `*_loaded` methods."""

    def load_first(self, generation: int, query: QueueQuery, limit: int) -> None: ...
    def load_ids(self, generation: int, query: QueueQuery, window: IdWindow) -> None: ...
    def load_tail(self, generation: int, query: QueueQuery, limit: int) -> None: ...
    def load_rows(self, generation: int, first: int, last: int, ids: Sequence[int]) -> None: ...


class QueueModel(QAbstractTableModel):
    """Rows of one queue, saved search or search result, sorted in the database.

    Signals:
        loaded: the first page of a query has arrived (argument: the total).
        ids_extended: more of the id list is known (a selection waiting for its ticket may be restored).
    """

    loaded = Signal(int)
    ids_extended = Signal()

    def __init__(self, loader: QueueLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._query: QueueQuery | None = None
        self._generation = 0
        self._ids = array("q")  # ticket ids in queue order; 0 where not yet known (8 bytes a row)
        self._cursors: dict[int, str] = {}  # position -> cursor of the ticket there, where an answer gave one
        self._window: IdWindow | None = None  # the ids being fetched (one window at a time)
        self._waiting: set[int] = set()  # pages last shown that wait for their ids
        self._rows: dict[int, QueueRow] = {}
        self._tail_asked = False
        self._wanted: set[int] = set()  # pages of rows to fetch
        self._asked: set[int] = set()  # pages fetched or being fetched in this generation
        self._is_loading = False
        self._flush = QTimer(self, singleShot=True, interval=0)
        self._flush.timeout.connect(self._fetch_wanted)
        self._marks: dict[int, str] = {}  # ticket id -> who changed it, while the row is marked
        self._keep_rows: dict[int, QueueRow] | None = None  # rows carried over a live refresh

    # --- public API ---------------------------------------------------------------------------------------------

    @property
    def query(self) -> QueueQuery | None:
        return self._query

    @property
    def is_loading(self) -> bool:
        return self._is_loading

    @property
    def is_complete(self) -> bool:
        """A query is shown, its first page has arrived and no ids are being fetched or waited for."""
        return self._query is not None and not self._is_loading and self._window is None and not self._waiting

    @property
    def ids_known(self) -> int:
        """How many of the queue's ids have been read (the others are read when the view shows their rows)."""
        return len(self._ids) - self._ids.count(0)

    @property
    def generation(self) -> int:
        return self._generation

    def set_query(self, query: QueueQuery) -> None:
        """Show another queue or order; the current rows stay until the new first page arrives."""
        self._query = query
        self.refresh()

    def refresh(self, *, keep_rows: bool = False) -> None:
        """Ask again for the current query (after our own changes or other agents').

        `keep_rows`: the cached rows are still right (the live feed invalidated the changed ones), so rows
        below the first page show their contents at once instead of a placeholder while they are fetched again.
        """
        if self._query is None:
            return
        self._keep_rows = dict(self._rows) if keep_rows else None
        self._generation += 1
        self._is_loading = True
        self._loader.load_first(self._generation, self._query, FIRST_PAGE)

    def stop(self) -> None:
        """Fetch nothing more: answers still on their way belong to an older generation and are dropped."""
        self._generation += 1
        self._is_loading = False
        self._flush.stop()
        self._query = None

    def clear(self) -> None:
        self._generation += 1
        self._query = None
        self.beginResetModel()
        self._reset_state(0)
        self.endResetModel()

    def ticket_id(self, row: int) -> int | None:
        return (self._ids[row] or None) if 0 <= row < len(self._ids) else None

    def row_of(self, ticket_id: int) -> int | None:
        """The row showing the ticket, if its place in the list is known."""
        try:
            return self._ids.index(ticket_id)
        except ValueError:
            return None

    def queue_row(self, ticket_id: int) -> QueueRow | None:
        return self._rows.get(ticket_id)

    def invalidate(self, ticket_ids: Sequence[int]) -> None:
        """Fetch these tickets' rows again where they are shown (their fields changed, not their place)."""
        for ticket_id in ticket_ids:
            self._rows.pop(ticket_id, None)
            if self._keep_rows is not None:  # a live refresh is on its way: it must not bring the old row back
                self._keep_rows.pop(ticket_id, None)
            row = self.row_of(ticket_id)
            if row is not None:
                self._asked.discard(row // ROWS_PAGE)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def mark(self, ticket_id: int, who: str, msecs: int = MARK_MS) -> None:
        """Mark the ticket's row as just changed by `who` for a moment (colour and tooltip)."""
        self._marks[ticket_id] = who
        self._emit_marked(ticket_id)
        QTimer.singleShot(msecs, self, lambda: self._unmark(ticket_id, who))

    def changed_by(self, ticket_id: int) -> str | None:
        return self._marks.get(ticket_id)

    # --- answers from the loader ------------------------------------------------------------------------------

    def first_loaded(self, generation: int, page: QueuePage) -> None:
        if generation != self._generation:
            return
        kept, self._keep_rows = self._keep_rows, None
        self.beginResetModel()
        self._reset_state(page.total)
        if kept:
            self._rows.update(kept)
        rows = page.rows[: page.total]
        for position, row in enumerate(rows):
            self._ids[position] = row.id
            self._rows[row.id] = row
        if rows and page.next_cursor is not None:
            self._cursors[len(rows) - 1] = page.next_cursor
        self._asked = set(range(len(rows) // ROWS_PAGE))
        self.endResetModel()
        self._is_loading = False
        self.loaded.emit(page.total)

    def ids_loaded(self, generation: int, window: IdWindow, ids: Sequence[int], cursor: str | None) -> None:
        """The ids of a window, in queue order, and the cursor of its far end in the direction read (None when
        the queue ends there)."""
        if generation != self._generation:
            return
        self._window = None
        if len(ids) < window.count:
            # The queue changed since its length was read (tickets closed, moved away): read it again.
            self.refresh(keep_rows=True)
            return
        self._ids[window.start : window.start + window.count] = array("q", ids[: window.count])
        if cursor is not None:
            self._cursors[window.start if window.backward else window.start + window.count - 1] = cursor
        self.dataChanged.emit(
            self.index(window.start, 0),
            self.index(window.start + window.count - 1, len(COLUMNS) - 1),
            [Qt.ItemDataRole.DisplayRole],
        )
        self.ids_extended.emit()
        self._wanted |= self._waiting  # their rows now, or the next window
        self._waiting = set()
        self._flush.start()

    def tail_loaded(self, generation: int, rows: Sequence[QueueRow], cursor: str | None = None) -> None:
        """The last rows, in queue order, and the cursor of the first of them (None when the queue starts there)."""
        if generation != self._generation or not rows:
            return
        first = max(len(self._ids) - len(rows), 0)
        for position in range(first, len(self._ids)):
            row = rows[position - (len(self._ids) - len(rows))]
            self._ids[position] = row.id
            self._rows[row.id] = row
        if cursor is not None:
            self._cursors[first] = cursor
        if first < len(self._ids):
            self.dataChanged.emit(self.index(first, 0), self.index(len(self._ids) - 1, len(COLUMNS) - 1))
        self.ids_extended.emit()

    def rows_loaded(self, generation: int, first: int, last: int, rows: Sequence[QueueRow]) -> None:
        """Rows asked for rows first..last (a ticket now hidden from the agent is simply missing)."""
        if generation != self._generation:
            return
        for row in rows:
            self._rows[row.id] = row
        last = min(last, len(self._ids) - 1)
        if first <= last:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def load_failed(self, generation: int) -> None:
        if generation == self._generation:
            self._is_loading = False

    # --- Qt overrides ---------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = NO_PARENT) -> int:  # noqa: N802
        """Every ticket of the queue, loaded or not."""
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = NO_PARENT) -> int:  # noqa: N802
        """The fixed queue columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles; sortable columns say so in their tooltip."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.header
        if role == Qt.ItemDataRole.ToolTipRole and column.sort is not None:
            return f"Click to sort by {column.header.lower()}"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Selectable and enabled; never fetches (Ctrl+A calls it for every row)."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """A cell from the page cache; a placeholder (and one page fetch) while the row is not here."""
        if role not in _HANDLED_ROLES or not index.isValid():
            return None
        ticket_id = self._ids[index.row()] or None
        if role == _TICKET_ID:
            return ticket_id
        if role == _CHANGED_BY:
            return self._marks.get(ticket_id) if ticket_id is not None else None
        if role == _BACKGROUND:
            marked = ticket_id is not None and ticket_id in self._marks
            return theme.color("changed.bg") if marked else None
        row = self._rows.get(ticket_id) if ticket_id is not None else None
        if row is None:
            self._want(index.row())
        if role == _ROW:
            return row
        column = COLUMNS[index.column()]
        if role == _ALIGNMENT:
            return column.alignment
        if row is None:
            if role == _DISPLAY:
                return PLACEHOLDER
            if role == _FOREGROUND:
                return theme.color("text.placeholder")
            return None
        if role == _DISPLAY:
            return column.text(row)
        if role == _TOOLTIP:
            who = self._marks.get(row.id)
            return plain_tip(f"Changed by {who} just now" if who else _tooltip(row, index.column()))
        if role == _FOREGROUND:
            if index.column() == DUE_COLUMN and row.overdue:
                return theme.color("danger")
            if row.status_state != StatusState.OPEN:
                return theme.color("text.muted")
            return None
        if role == _FONT and index.column() == SUBJECT_COLUMN and _unanswered(row):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the database by the column's key; columns without an index keep the current order."""
        key = COLUMNS[column].sort if 0 <= column < len(COLUMNS) else None
        if key is None or self._query is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if self._query.ranked_search is not None:
            # Sorting search results: the same words as a filter, in the database's order.
            criteria = replace(self._query.criteria, text=self._query.ranked_search)
            self.set_query(QueueQuery(criteria, key, descending))
        elif (key, descending) != (self._query.sort, self._query.descending):
            self.set_query(QueueQuery(self._query.criteria, key, descending))

    # --- private ----------------------------------------------------------------------------------------------

    def _unmark(self, ticket_id: int, who: str) -> None:
        if self._marks.get(ticket_id) == who:  # not marked again meanwhile
            del self._marks[ticket_id]
            self._emit_marked(ticket_id)

    def _emit_marked(self, ticket_id: int) -> None:
        row = self.row_of(ticket_id)
        if row is not None:
            roles = [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole, QueueRole.CHANGED_BY]
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1), roles)

    def _reset_state(self, total: int) -> None:
        self._ids = array("q", bytes(8 * total))
        self._rows = {}
        self._cursors = {}
        self._window = None
        self._waiting = set()
        self._tail_asked = False
        self._wanted = set()
        self._asked = set()

    def _want(self, row: int) -> None:
        page = row // ROWS_PAGE
        if page not in self._asked:
            self._wanted.add(page)
            self._flush.start()

    def _fetch_wanted(self) -> None:
        """One fetch per wanted page: its rows when its ids are known, the last page by itself with its rows, and
        for the others a window of ids (the pages shown last wait for it)."""
        if self._query is None:
            return
        total = len(self._ids)
        waiting = set()
        for page in sorted(self._wanted):
            first, last = page * ROWS_PAGE, min((page + 1) * ROWS_PAGE, total)
            if last == total and not self._tail_asked and 0 in self._ids[first:last]:
                self._tail_asked = True
                self._loader.load_tail(self._generation, self._query, min(ROWS_PAGE, total))
            elif 0 in self._ids[first:last]:
                waiting.add(page)
            else:
                self._asked.add(page)
                ids = [i for i in self._ids[first:last] if i not in self._rows]
                if ids:
                    self._loader.load_rows(self._generation, first, last - 1, ids)
        self._wanted = set()
        if waiting:
            self._waiting = waiting  # the latest shown: pages scrolled past meanwhile are not fetched
            self._ask_ids()

    def _ask_ids(self) -> None:
        """A window of ids for the first page waiting, unless one is on its way."""
        if self._window is not None or not self._waiting or self._query is None:
            return
        page = min(self._waiting)
        total = len(self._ids)
        first, last = page * ROWS_PAGE, min((page + 1) * ROWS_PAGE, total) - 1
        while self._ids[first]:  # the page's unknown positions: first .. last
            first += 1
        while self._ids[last]:
            last -= 1
        end = first  # the window downwards from `first`, up to the next known id
        while end < min(first + ID_WINDOW, total) and not self._ids[end]:
            end += 1
        start = last  # the window upwards from `last`, down to the previous known id
        while start > max(last - ID_WINDOW, -1) and not self._ids[start]:
            start -= 1
        start += 1
        if first - 1 in self._cursors:  # scrolling down: after the row above
            window = IdWindow(first, end - first, after=self._cursors[first - 1])
        elif last + 1 in self._cursors:  # scrolling up: before the row below
            window = IdWindow(start, last + 1 - start, after=self._cursors[last + 1], backward=True)
        elif first <= total - 1 - last:  # a jump: by position, from the nearer end
            window = IdWindow(first, end - first, skip=first)
        else:
            window = IdWindow(start, last + 1 - start, skip=total - 1 - last, backward=True)
        self._window = window
        self._loader.load_ids(self._generation, self._query, window)


def _unanswered(row: QueueRow) -> bool:
    return row.status_state == StatusState.OPEN and not row.answered


def _tooltip(row: QueueRow, column: int) -> str:
    if column == SUBJECT_COLUMN:
        return row.subject
    if column == 3:
        return f"{row.requester} <{row.requester_email}>"
    if column == DUE_COLUMN and row.due is not None:
        return ("Overdue since " if row.overdue else "Due ") + when(row.due)
    return ""
