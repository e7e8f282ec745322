"""Merge, link and split (issue 17): the dialogs that find other tickets by number or words and change how this
ticket relates to them. Each runs one service; a refusal is shown in the dialog in words and the dialog stays open.

No button of these dialogs is a default one: Enter in the search box searches, never merges. The actions are
reached by Tab and Space, or their Alt mnemonics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError, NotFound
from desk.domain.views import EntryView, TicketView
from desk.services import lifecycle, queues, tickets
from desk.ui import labels
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip, set_role, ticket_item

_NUMBER = re.compile(r"#?\s*(\S+)")


@dataclass(frozen=True)
class Found:
    """A ticket the finder found: what the list shows and what the dialogs act on."""

    id: int
    number: str
    subject: str
    status: str
    created_at: datetime


def first_line(text: str, width: int = 80) -> str:
    """An entry's first non-blank line, cut to `width` characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def entry_line(entry: EntryView) -> str:
    """One entry in a list: when, who, what kind, and its first line."""
    kind = labels.ENTRY_KINDS[entry.kind][0]
    return f"{when(entry.created_at)} · {entry.author} · {kind}: {first_line(entry.body_text) or '(attachments)'}"


class TicketFinder(QWidget):
    """A search box and the tickets it found: a number opens that ticket's line, words search the tickets the agent
    may see. The ticket being worked is never offered.

    Signals:
        chosen_changed: the choice in the results changed.
    """

    chosen_changed = Signal()

    def __init__(self, ctx: Context, exclude: int, *, many: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._exclude = ctx, exclude
        self.found: dict[int, Found] = {}
        self.query = QLineEdit(placeholderText="Ticket number, or words from its subject or thread; then Enter")
        self.query.setAccessibleName("Find a ticket")
        self.query.returnPressed.connect(self.search)
        self.results = QListWidget()
        self.results.setAccessibleName("Tickets found")
        mode = (
            QAbstractItemView.SelectionMode.ExtendedSelection
            if many
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        self.results.setSelectionMode(mode)
        self.results.itemSelectionChanged.connect(self.chosen_changed)
        self.message = label(role="muted", wrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.message)

    def chosen(self) -> list[Found]:
        return [self.found[item.data(Qt.ItemDataRole.UserRole)] for item in self.results.selectedItems()]

    @async_slot
    async def search(self) -> None:
        await self.look_up(self.query.text())

    async def look_up(self, text: str) -> None:
        """Show the tickets matching the text (a ticket number first), or say why none is shown."""
        text = text.strip()
        if not text:
            return
        self.message.setText("Searching…")
        set_role(self.message, "muted")
        try:
            found = await self._lookup(text)
        except DeskError as error:
            self._show([], str(error), "error")
            return
        others = [each for each in found if each.id != self._exclude]
        self._show(others, "" if others else f"No other ticket matches “{text}”.", "muted")
        if others:
            self.results.setFocus()
            self.results.setCurrentRow(0)

    async def _lookup(self, text: str) -> list[Found]:
        number = _NUMBER.fullmatch(text)
        if number is not None and any(ch.isdigit() for ch in number.group(1)):
            try:
                view = await self._ctx.call(tickets.find_ticket, number.group(1))
            except NotFound:
                pass  # not a number after all: search the words
            else:
                return [Found(view.id, view.number, view.subject, view.status.name, view.created_at)]
        page = await self._ctx.call(queues.search_tickets, text, limit=50)
        return [Found(row.id, row.number, row.subject, row.status, row.created_at) for row in page.rows]

    def _show(self, found: Sequence[Found], message: str, role: str) -> None:
        self.found = {each.id: each for each in found}
        self.results.clear()
        for each in found:
            tip = f"{each.subject}\nOpened {when(each.created_at)}"
            self.results.addItem(ticket_item(each.id, each.number, each.status, each.subject, tip))
        self.message.setText(message)
        set_role(self.message, role)


class RelationDialog(QDialog):
    """What the three dialogs share: an error line and an action button that is never the default."""

    def __init__(self, title: str, action: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.error = label(role="error", wrap=True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.action = QPushButton(action)
        self.buttons.addButton(self.action, QDialogButtonBox.ButtonRole.AcceptRole)
        for button in self.buttons.buttons():
            assert isinstance(button, QPushButton)
            button.setAutoDefault(False)
            button.setDefault(False)
        self.buttons.rejected.connect(self.reject)

    def say(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))


class MergeDialog(RelationDialog):
    """Merge other tickets and this one: pick them, see which survives (the oldest unless switched) and what its
    thread will hold, then merge. The others are closed into the survivor.

    Signals:
        merged: the surviving ticket (TicketView).
    """

    merged = Signal(object)

    def __init__(self, ctx: Context, ticket: TicketView, parent: QWidget | None = None) -> None:
        super().__init__(f"Merge with ticket {ticket.number}", "&Merge", parent)
        self._ctx, self._ticket = ctx, ticket
        self._threads: dict[int, TicketView] = {ticket.id: ticket}
        self.finder = TicketFinder(ctx, ticket.id, many=True)
        self.finder.chosen_changed.connect(self._chosen_changed)
        self.survivor = QComboBox()
        self.survivor.setAccessibleName("Ticket that stays open")
        self.survivor.activated.connect(self._survivor_picked)
        self._picked: int | None = None  # the survivor the agent chose; the oldest ticket until they do
        self.preview = label(wrap=True)
        self.preview.setObjectName("mergePreview")
        self.preview_entries = QListWidget()
        self.preview_entries.setAccessibleName("The combined thread, oldest first")
        self.preview_entries.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.preview_entries.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.preview_entries.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # to read, not to pick: Tab goes past it
        self.note = QLineEdit(placeholderText="Note recorded with the merge (optional)")
        self.action.clicked.connect(self.submit)
        form = QFormLayout()
        form.addRow(label("Stays open"), self.survivor)
        form.addRow(label("Note"), self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"Find the tickets to merge with {ticket.number} · {ticket.subject}", wrap=True))
        layout.addWidget(self.finder, 2)
        layout.addLayout(form)
        layout.addWidget(label("Preview", "section"))
        layout.addWidget(self.preview)
        layout.addWidget(self.preview_entries, 3)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(720, 660)
        self._chosen_changed()

    def candidates(self) -> list[Found]:
        """This ticket and the ones chosen, oldest first."""
        this = Found(self._ticket.id, self._ticket.number, self._ticket.subject, self._ticket.status.name,
                     self._ticket.created_at)  # fmt: skip
        return sorted([this, *self.finder.chosen()], key=lambda each: (each.created_at, each.id))

    def survivor_id(self) -> int:
        return int(self.survivor.currentData())

    def _chosen_changed(self) -> None:
        """Offer the tickets as survivors (keeping the agent's pick, else the oldest), then read the chosen tickets'
        threads for the preview."""
        candidates = self.candidates()
        self.survivor.clear()
        for each in candidates:
            self.survivor.addItem(f"{each.number} · {each.subject}", each.id)
        self.survivor.setCurrentIndex(max(self.survivor.findData(self._picked), 0))
        self.action.setEnabled(len(candidates) > 1)
        self._update_preview()
        if any(each.id not in self._threads for each in candidates):
            self._read_threads()

    def _survivor_picked(self) -> None:
        self._picked = self.survivor_id()
        self._update_preview()

    @async_slot
    async def _read_threads(self) -> None:
        for each in self.candidates():
            if each.id not in self._threads:
                try:
                    self._threads[each.id] = await self._ctx.call(tickets.get_ticket, each.id)
                except DeskError as error:
                    self.say(str(error))
                    return
        self._update_preview()

    def _update_preview(self) -> None:
        candidates = self.candidates()
        self.preview_entries.clear()
        if len(candidates) < 2:
            self.preview.setText("Choose at least one other ticket in the list (Ctrl or Shift to choose several).")
            return
        survivor = next(each for each in candidates if each.id == self.survivor_id())
        others = ", ".join(each.number for each in candidates if each.id != survivor.id)
        summary = f"Ticket {survivor.number} stays open; {others} will be closed into it."
        if any(each.id not in self._threads for each in candidates):
            self.preview.setText(f"{summary}\nReading the threads…")
            return
        combined = sorted(
            (item for each in candidates for item in self._threads[each.id].thread if isinstance(item, EntryView)),
            key=lambda entry: (entry.created_at, entry.id),
        )
        files = sum(len(entry.attachments) for entry in combined)
        held = f"{len(combined)} entries" + (f" and {files} attachment{'s' if files != 1 else ''}" if files else "")
        self.preview.setText(f"{summary}\nIts thread will hold {held}, oldest first:")
        for entry in combined:
            item = QListWidgetItem(entry_line(entry))
            item.setToolTip(plain_tip(entry.body_text[:2000]))
            self.preview_entries.addItem(item)

    @async_slot
    async def submit(self) -> None:
        candidates = self.candidates()
        if len(candidates) < 2:
            self.say("Choose at least one other ticket to merge.")
            return
        parent = self.survivor_id()
        children = [each.id for each in candidates if each.id != parent]
        self.action.setEnabled(False)
        try:
            survivor = await self._ctx.call(lifecycle.merge, parent, children, note=self.note.text().strip() or None)
        except DeskError as error:
            self.say(str(error))
            self.action.setEnabled(True)
            return
        self.merged.emit(survivor)
        self.accept()


class LinkDialog(RelationDialog):
    """Link this ticket to a related one, found by number or words.

    Signals:
        linked: this ticket after the link (TicketView).
    """

    linked = Signal(object)

    def __init__(self, ctx: Context, ticket: TicketView, parent: QWidget | None = None) -> None:
        super().__init__(f"Link ticket {ticket.number}", "&Link", parent)
        self._ctx, self._ticket = ctx, ticket
        self.finder = TicketFinder(ctx, ticket.id, many=False)
        self.finder.chosen_changed.connect(lambda: self.action.setEnabled(bool(self.finder.chosen())))
        self.action.setEnabled(False)
        self.action.clicked.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"Find the ticket related to {ticket.number} · {ticket.subject}", wrap=True))
        layout.addWidget(self.finder, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(560, 420)

    @async_slot
    async def submit(self) -> None:
        chosen = self.finder.chosen()
        if not chosen:
            self.say("Choose the ticket to link in the list.")
            return
        try:
            view = await self._ctx.call(lifecycle.link, self._ticket.id, chosen[0].id)
        except DeskError as error:
            self.say(str(error))
            return
        self.linked.emit(view)
        self.accept()


class SplitDialog(RelationDialog):
    """Move the checked entries of this ticket's thread into a new ticket of the same requester.

    Signals:
        split_off: the new ticket (TicketView).
    """

    split_off = Signal(object)

    def __init__(self, ctx: Context, ticket: TicketView, parent: QWidget | None = None) -> None:
        super().__init__(f"Split ticket {ticket.number}", "&Split into a new ticket", parent)
        self._ctx, self._ticket = ctx, ticket
        self.entries = QListWidget()
        self.entries.setAccessibleName("Entries to move (Space checks)")
        for entry in ticket.thread:
            if isinstance(entry, EntryView):
                item = QListWidgetItem(entry_line(entry))
                item.setData(Qt.ItemDataRole.UserRole, entry.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                item.setToolTip(plain_tip(entry.body_text[:2000]))
                self.entries.addItem(item)
        self.entries.itemChanged.connect(lambda _item: self.say(""))
        self.subject = QLineEdit(ticket.subject)
        self.subject.setAccessibleName("Subject of the new ticket")
        self.note = QLineEdit(placeholderText="Note recorded on both tickets (optional)")
        self.action.clicked.connect(self.submit)
        form = QFormLayout()
        form.addRow(label("Subject"), self.subject)
        form.addRow(label("Note"), self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(label("Check the entries to move to a new ticket (Space checks the one in focus):", wrap=True))
        layout.addWidget(self.entries, 1)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(640, 520)
        if self.entries.count():
            self.entries.setCurrentRow(self.entries.count() - 1)

    def checked(self) -> list[int]:
        return [
            self.entries.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.entries.count())
            if self.entries.item(row).checkState() == Qt.CheckState.Checked
        ]

    @async_slot
    async def submit(self) -> None:
        chosen = self.checked()
        if not chosen:
            self.say("Check at least one entry to move.")
            return
        try:
            view = await self._ctx.call(
                lifecycle.split,
                self._ticket.id,
                chosen,
                subject=self.subject.text(),
                note=self.note.text().strip() or None,
            )
        except DeskError as error:
            self.say(str(error))
            return
        self.split_off.emit(view)
        self.accept()
