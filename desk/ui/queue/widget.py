"""The queue pane: title and quick filter, bulk actions, the ticket table, and what to do when it is empty."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import StatusState
from desk.domain.errors import DeskError
from desk.services import lifecycle, queues, tickets
from desk.ui.queue.bulk import Bulk, BulkConfirmation, Restore, UndoBar, apply_bulk, counted, undo_bulk
from desk.ui.queue.delegate import PriorityDelegate
from desk.ui.queue.loader import ServiceQueueLoader
from desk.ui.queue.model import COLUMNS, PRIORITY_COLUMN, SUBJECT_COLUMN, QueueModel, QueueQuery, QueueRole
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import hands_off, label, message_box, tool_button

ROW_HEIGHT = 26


class QueueWidget(QWidget):
    """One queue at a time: its tickets sorted and filtered in the database, selection kept across refreshes.

    Signals:
        ticket_activated: the agent opened a ticket (double-click or Enter), with its id.
        current_changed: the current ticket changed (id, or 0 for none).
        tickets_changed: bulk actions changed these tickets (ids); counts and open editors should refresh.
        search_saved: the filter was saved as a search under this name (the sidebar lists it).
    """

    ticket_activated = Signal(int)
    current_changed = Signal(int)
    tickets_changed = Signal(list)
    search_saved = Signal(str)

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._title = ""
        self._empty_text = ""
        self._base: QueueQuery | None = None  # the query before the quick filter
        self._keep_selection: list[int] = []
        self._keep_current: int | None = None
        self._restoring = False  # selection changes made by _restore_selection, not by the agent
        self._restored_once = False
        # (generation, scroll bar value) for when that generation's first page arrives: kept over a live refresh,
        # the top for another queue or order (a view keeps its scroll bar over a model reset).
        self._keep_scroll: tuple[int, int] | None = None
        self.last_report: QMessageBox | None = None
        self.confirmation: BulkConfirmation | None = None  # the last bulk change asked about (tests answer it)
        self.table_menu: QMenu | None = None

        self.loader = ServiceQueueLoader(ctx, self)
        self.model = QueueModel(self.loader, self)
        self.loader.model = self.model

        self.title_label = label(role="heading")
        self.count_label = label(role="muted")
        self.selection_label = label(role="muted")
        # Search results come best match first: the header then shows no column's arrow, and this says why.
        self.relevance_label = label("· Sorted by relevance", "muted")
        self.relevance_label.setToolTip("Best matches first. Click a column to sort the results by it.")
        self.relevance_label.hide()
        self.filter_edit = QLineEdit(placeholderText="Filter this queue…  (words in subject, thread, requester)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(360)
        self._filter_timer = QTimer(self, singleShot=True, interval=300)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PRIORITY_COLUMN, PriorityDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for section, column in enumerate(COLUMNS):
            header.resizeSection(section, column.width)
        self.table.setSortingEnabled(True)
        header.setSortIndicator(1, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._sort_indicator_changed)
        header.sectionResized.connect(lambda *_: self._save_header())
        header.sectionMoved.connect(lambda *_: self._save_header())
        self._restore_header()
        # The subject takes the spare width, whichever column is last (a saved layout may say otherwise).
        header.setStretchLastSection(False)
        header.setSectionResizeMode(SUBJECT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._activated)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        open_action = QAction("Open ticket", self.table, shortcut=QKeySequence(Qt.Key.Key_Return))
        open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        open_action.triggered.connect(lambda: self._activated(self.table.currentIndex()))
        self.table.addAction(open_action)

        self.empty_label = label(role="empty", wrap=True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label = label(role="error", wrap=True)
        self.error_label.hide()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)

        self.bulk_buttons = self._bulk_buttons()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.undo_bar = UndoBar()
        self.undo_bar.undo_requested.connect(self._undo)
        undo_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo_key.activated.connect(self.undo_bar.undo)
        top = QHBoxLayout()
        top.addWidget(self.title_label)
        top.addWidget(self.count_label)
        top.addWidget(self.selection_label)
        top.addWidget(self.relevance_label)
        top.addStretch(1)
        for button in self.bulk_buttons:
            top.addWidget(button)
        top.addSpacing(12)
        top.addWidget(self.filter_edit)
        self.save_search_button = tool_button("Save", "saved", "Save this queue and filter as a search in the sidebar")
        self.save_search_button.clicked.connect(self._ask_search_name)
        top.addWidget(self.save_search_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 4)
        layout.addLayout(top)
        layout.addWidget(self.undo_bar)
        layout.addWidget(self.error_label)
        layout.addWidget(self.stack, 1)

        self.model.loaded.connect(self._loaded)
        self.model.ids_extended.connect(self._restore_selection)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._update_bulk_buttons)  # a reset clears the selection without a signal
        self.loader.failed.connect(self._failed)
        self._update_bulk_buttons()

    # --- public API -------------------------------------------------------------------------------------------

    def show_query(self, title: str, query: QueueQuery, empty_text: str) -> None:
        """Show a queue, saved search or search result."""
        self._title, self._empty_text, self._base = title, empty_text, query
        self.title_label.setText(title)
        self.count_label.setText("")
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.filter_edit.setEnabled(query.ranked_search is None)
        self.model.set_query(query)
        self._keep_scroll = (self.model.generation, 0)
        self._show_order()

    def refresh(self) -> None:
        self.model.refresh()

    def stop(self) -> None:
        """End the pane's background work (its window is closing): fetches, and the timers that start them."""
        self._filter_timer.stop()
        self.model.stop()
        self.loader.cancel()

    def refresh_live(self) -> None:
        """Ask again after other agents' changes, keeping the scroll position as well as selection and current row."""
        self.model.refresh(keep_rows=True)
        self._keep_scroll = (self.model.generation, self.table.verticalScrollBar().value())

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [ticket_id for row in rows if (ticket_id := self.model.ticket_id(row)) is not None]

    def current_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.ticket_id(index.row()) if index.isValid() else None

    def move_current(self, step: int) -> int | None:
        """Select the next (1) or previous (-1) ticket; its id, or None at either end."""
        row = self.table.currentIndex().row() + step if self.table.currentIndex().isValid() else 0
        if not 0 <= row < self.model.rowCount():
            return None
        self.table.selectRow(row)
        return self.model.ticket_id(row)

    # --- loading and selection --------------------------------------------------------------------------------

    def _loaded(self, total: int) -> None:
        self.error_label.hide()
        shown = "ticket" if total == 1 else "tickets"
        self.count_label.setText(f"{total:,} {shown}")
        filtering = bool(self.filter_edit.text().strip())
        self.empty_label.setText("No ticket matches the filter." if filtering else self._empty_text)
        self.stack.setCurrentWidget(self.table if total else self.empty_label)
        self._restore_selection()
        kept, self._keep_scroll = self._keep_scroll, None
        if kept is not None and kept[0] == self.model.generation:
            self.table.updateGeometries()  # the scroll range follows the new row count now, not at the next paint
            self.table.verticalScrollBar().setValue(kept[1])

    def _failed(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _remember_selection(self) -> None:
        if self.model.rowCount():
            # Ids still waiting for their rows from the last restore are kept too.
            self._keep_selection = list(dict.fromkeys([*self.selected_ids(), *self._keep_selection]))
            self._keep_current = self.current_id() or self._keep_current
            self._restored_once = False

    def _restore_selection(self) -> None:
        """Select again, by ticket id, what was selected before the refresh, as far as the rows are known.

        The first restore after a refresh replaces the selection; later ones (more ids arrived) add to it. What
        the agent picks meanwhile wins: picking anything forgets what was still waiting.
        """
        if not self._keep_selection and self._keep_current is None:
            return
        selection = QItemSelection()
        waiting = []
        for ticket_id in self._keep_selection:
            row = self.model.row_of(ticket_id)
            if row is None:
                waiting.append(ticket_id)
            else:
                selection.select(self.model.index(row, 0), self.model.index(row, len(COLUMNS) - 1))
        selector = self.table.selectionModel()
        self._restoring = True
        try:
            if not selection.isEmpty():
                replace_all = not self._restored_once
                flag = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    if replace_all
                    else QItemSelectionModel.SelectionFlag.Select
                )
                selector.select(selection, flag)
                self._restored_once = True
            if self._keep_current is not None:
                row = self.model.row_of(self._keep_current)
                if row is not None:
                    selector.setCurrentIndex(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
                    self._keep_current = None
        finally:
            self._restoring = False
        self._keep_selection = waiting

    def _forget_waiting_selection(self) -> None:
        if not self._restoring:
            self._keep_selection = []
            self._keep_current = None

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._forget_waiting_selection()
        ticket_id = self.model.ticket_id(current.row()) if current.isValid() else None
        self.current_changed.emit(ticket_id or 0)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._forget_waiting_selection()
        self._update_bulk_buttons()

    def _activated(self, index: QModelIndex) -> None:
        ticket_id = index.data(QueueRole.TICKET_ID) if index.isValid() else None
        if ticket_id:
            self.ticket_activated.emit(ticket_id)

    def _ask_search_name(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Save search")
        dialog.setLabelText("Name of the saved search:")
        dialog.setTextValue(self.filter_edit.text().strip() or self._title)
        dialog.textValueSelected.connect(self._save_search)
        dialog.open()

    @async_slot
    async def _save_search(self, name: str) -> None:
        query = self.model.query
        if query is None:
            return
        try:
            await self._ctx.call(queues.save_search, name, query.criteria)
        except DeskError as error:
            self._failed(str(error))
            return
        self.search_saved.emit(name)

    def _apply_filter(self) -> None:
        if self._base is None:
            return
        text = self.filter_edit.text().strip()
        self.model.set_query(replace(self._base, criteria=replace(self._base.criteria, text=text)))
        self._keep_scroll = (self.model.generation, 0)

    def _sort_indicator_changed(self, _section: int, _order: Qt.SortOrder) -> None:
        """The view has asked the model to sort (search results become a filter sorted by the column): the new
        order shows from its start."""
        self._keep_scroll = (self.model.generation, 0)
        self._show_order()

    def _show_order(self) -> None:
        """The header's arrow on the column the rows are really sorted by, or none and "Sorted by relevance"."""
        query = self.model.query
        if query is None:
            return
        ranked = query.ranked_search is not None
        column = -1 if ranked else next((i for i, c in enumerate(COLUMNS) if c.sort == query.sort), -1)
        header = self.table.horizontalHeader()
        header.blockSignals(True)  # the view would sort again
        header.setSortIndicator(
            column, Qt.SortOrder.DescendingOrder if query.descending else Qt.SortOrder.AscendingOrder
        )
        header.blockSignals(False)
        self.relevance_label.setVisible(ranked)

    # --- header state, per agent ------------------------------------------------------------------------------

    def _header_key(self) -> str:
        return f"agent-{self._ctx.agent.id}/queue-header"

    def _save_header(self) -> None:
        QSettings().setValue(self._header_key(), self.table.horizontalHeader().saveState())

    def _restore_header(self) -> None:
        state = QSettings().value(self._header_key())
        if state is not None:
            self.table.horizontalHeader().restoreState(state)

    # --- bulk actions -----------------------------------------------------------------------------------------

    def _bulk_buttons(self) -> list[QToolButton]:
        choices = self._ctx.choices
        closed = {s.id for s in choices.statuses if s.state != StatusState.OPEN}
        menus: list[tuple[str, str, list[tuple[str, Bulk]]]] = [
            ("Assign", "assign-me", [
                (a.name, Bulk(tickets.assign, (a.id,), f"Assign {{n}} to {a.name}?", f"Assigned {{n}} to {a.name}"))
                for a in choices.agents
            ]),
            ("Transfer", "team", [
                (d.name, Bulk(tickets.transfer, (d.id,), f"Transfer {{n}} to {d.name}?",
                              f"Transferred {{n}} to {d.name}"))
                for d in choices.departments
            ]),
            ("Status", "answered", [
                (s.name, Bulk(lifecycle.set_status, (s.id,), f"Set the status of {{n}} to {s.name}?",
                              f"Set the status of {{n}} to {s.name}", closing=s.id in closed))
                for s in choices.statuses
            ]),
            ("Priority", "overdue", [
                (p.name, Bulk(tickets.set_priority, (p.id,), f"Set the priority of {{n}} to {p.name}?",
                              f"Set the priority of {{n}} to {p.name}"))
                for p in choices.priorities
            ]),
        ]  # fmt: skip
        buttons = []
        for title, icon_name, entries in menus:
            button = tool_button(title, icon_name, f"{title} the selected tickets")
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(title, button)
            menu.setIcon(button.icon())
            for name, bulk in entries:
                menu.addAction(name).triggered.connect(lambda _=False, b=bulk: self._run_bulk(b))
            button.setMenu(menu)
            buttons.append(button)
        close = tool_button("Close", "close-ticket", "Close the selected tickets")
        close_bulk = Bulk(lifecycle.close, (), "Close {n}?", "Closed {n}", closing=True)
        close.clicked.connect(lambda: self._run_bulk(close_bulk))
        buttons.append(close)
        hands_off(*buttons)  # never focused, so a key meant for the table never presses them: the table's menu
        return buttons

    def _table_menu(self, position: QPoint) -> None:
        """The bulk changes on the selection, by the context-menu key or a right click: the keyboard's way to them."""
        if not self.selected_ids():
            return
        menu = QMenu(self)
        for button in self.bulk_buttons:
            if button.menu() is not None:
                menu.addMenu(button.menu())
            else:
                menu.addAction(button.icon(), button.text(), button.click)
        menu.popup(self.table.viewport().mapToGlobal(position))
        self.table_menu = menu

    def _update_bulk_buttons(self) -> None:
        selected = len(self.selected_ids()) if self.table.selectionModel().hasSelection() else 0
        for button in self.bulk_buttons:
            button.setEnabled(bool(selected))
        self.selection_label.setText(f"· {selected:,} selected" if selected else "")

    def _run_bulk(self, bulk: Bulk) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        if not bulk.needs_confirmation(len(ids)):
            self._apply_bulk(bulk, ids, None)
            return
        dialog = BulkConfirmation(bulk, len(ids), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(lambda note: self._apply_bulk(bulk, ids, note))
        dialog.open()
        self.confirmation = dialog

    @async_slot
    async def _apply_bulk(self, bulk: Bulk, ids: list[int], note: str | None) -> None:
        numbers = {i: row.number for i in ids if (row := self.model.queue_row(i)) is not None}
        outcome = await apply_bulk(self._ctx, bulk, ids, note)
        self.tickets_changed.emit(outcome.changed)
        self.refresh()
        if outcome.restores:
            self.undo_bar.offer(bulk.summary(len(outcome.changed)), outcome.restores)
        if outcome.failures:
            done = len(ids) - len(outcome.failures)
            self.report(
                "Some tickets were not changed",
                f"{done} of {counted(len(ids))} changed. These were not:",
                outcome.failures,
                numbers,
            )

    @async_slot
    async def _undo(self, restores: list[Restore]) -> None:
        numbers = {r.ticket_id: r.number for r in restores}
        restored, failures = await undo_bulk(self._ctx, restores)
        self.tickets_changed.emit(restored)
        self.refresh()
        said = f"Restored {counted(len(restored))}"
        if failures:
            said += f"; {counted(len(failures))} could not be restored (changed since, or refused)"
            self.report("Some tickets were not restored", f"{said}:", failures, numbers)
        self.undo_bar.tell(said + ".")

    def report(self, title: str, text: str, failures: list[tuple[int, str]], numbers: dict[int, str]) -> None:
        """Say which tickets a bulk change or its undo left as they were, and why (tests read `last_report`)."""
        lines = "\n".join(f"{numbers.get(i, str(i))}: {message}" for i, message in failures)
        box = message_box(QMessageBox.Icon.Warning, title, f"{text}\n\n{lines}", self)
        box.open()
        self.last_report = box
