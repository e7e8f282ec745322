"""The canned-response picker: a small list over the composer that filters as the agent types, with the highlighted
response's text beside it, put in at the cursor with Enter.

It never takes the keyboard from the composer's editor: the agent types the filter into the editor itself, after a
`/` typed at the start of an empty line (or from where the cursor was, when opened by the shortcut). So whatever
happens the text stays as typed, Esc only hides the list, and putting a response in is an ordinary edit of the
editor (undone with Ctrl+Z, written to the draft like any typing). While the list is shown, the editor's Up, Down,
Page Up, Page Down, Enter and Esc go to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desk.domain.ticket_setup import CannedText
from desk.ui import labels, theme
from desk.ui.widgets import label

EMPTY = "No canned responses for this department — administrators add them under Administration › Canned responses"
LOADING = "Loading canned responses…"
NO_MATCH = "No canned response has “{query}” in its title"
HINT = "↑↓ choose · Enter inserts · Esc closes"
WIDTH, HEIGHT = 600, 230
_MOVES = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -5, Qt.Key.Key_PageDown: 5}


def matches(title: str, query: str) -> bool:
    """Whether a title has every word of the query in it, whatever their case."""
    folded = title.casefold()
    return all(word in folded for word in query.casefold().split())


class CannedPicker(QFrame):
    """The list of a ticket's canned responses, shown over the window at the composer's cursor.

    The composer gives it the responses (`set_responses`, `show_error`) when it asks for them.

    Signals:
        wanted(): the picker opened and has no responses yet; the composer answers with `set_responses`.
    """

    wanted = Signal()

    def __init__(self, editor: QPlainTextEdit | QTextEdit) -> None:
        super().__init__(editor)
        self.setObjectName("cannedPicker")
        # Drawn over the thread: the accent's border tells it from the entries under it.
        t = theme.hex_of
        self.setStyleSheet(
            f"QFrame#cannedPicker {{ background: {t('surface.bg')}; border: 1px solid {t('accent')};"
            " border-radius: 6px; }"
        )
        self._editor = editor
        self._anchor: QTextCursor | None = None  # where the `/query` (or the query alone) starts
        self._slash = False  # opened by a typed `/`, which the response replaces too
        self._responses: Sequence[CannedText] | None = None  # None: asked for, not here yet
        self._error = ""  # why they could not be fetched (asked again when the picker next opens)
        self._build()
        self.hide()
        editor.installEventFilter(self)
        editor.cursorPositionChanged.connect(self._follow)
        editor.destroyed.connect(self.deleteLater)  # shown over the window, it outlives the editor otherwise

    # --- public API ---------------------------------------------------------------------------------------------

    def open(self, *, slash: bool = False) -> None:
        """Show the list at the editor's cursor (after the `/` just typed there, when `slash`)."""
        if self._editor.isReadOnly():
            return
        cursor = self._editor.textCursor()
        cursor.clearSelection()  # typing would replace it: the query starts at the cursor, nothing is replaced
        self._editor.setTextCursor(cursor)
        if slash:
            cursor.movePosition(QTextCursor.MoveOperation.Left)
        cursor.setKeepPositionOnInsert(True)  # the query is typed right here: it starts here still
        self._anchor, self._slash = cursor, slash
        window = self._editor.window()
        if self.parentWidget() is not window:
            self.setParent(window)  # over the whole window, not clipped to the composer
        self._place()
        self.show()
        self.raise_()
        self._error = ""
        self._refilter()
        if self._responses is None:
            self.wanted.emit()

    def close_list(self) -> None:
        """Hide the list; the text stays as typed."""
        self._anchor = None
        self.hide()

    def is_open(self) -> bool:
        return self._anchor is not None

    def set_responses(self, responses: Sequence[CannedText] | None) -> None:
        """The ticket's responses (None: being fetched, or the ticket changed and they must be fetched again)."""
        self._responses, self._error = responses, ""
        if self.is_open():
            self._refilter()
            if responses is None:
                self.wanted.emit()

    def show_error(self, message: str) -> None:
        """Why the responses could not be fetched, in place of the list (until it opens again and asks again)."""
        self._error = message
        if self.is_open():
            self._refilter()

    def query(self) -> str:
        """What the agent typed since the picker opened (after the `/`)."""
        if self._anchor is None:
            return ""
        start = self._anchor.position() + self._slash
        return self._editor.toPlainText()[start : self._editor.textCursor().position()]

    def current(self) -> CannedText | None:
        item = self._list.currentItem()
        shown = self.is_open() and self._stack.currentIndex() == 0
        return item.data(Qt.ItemDataRole.UserRole) if item is not None and shown else None

    def insert(self) -> bool:
        """Put the highlighted response in place of the `/query` typed, as one edit; False when none is."""
        chosen, anchor = self.current(), self._anchor
        if chosen is None or anchor is None:
            return False
        cursor = self._editor.textCursor()
        cursor.beginEditBlock()
        cursor.setPosition(anchor.position(), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(chosen.text)
        cursor.endEditBlock()
        self.close_list()
        self._editor.setTextCursor(cursor)
        return True

    # --- Qt overrides -------------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Override QObject.eventFilter: a `/` on an empty line opens the list; its keys go to it while open."""
        if watched is not self._editor:
            return False
        if event.type() == QEvent.Type.FocusOut:
            self.close_list()
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if not self.is_open():
            cursor = self._editor.textCursor()
            chord = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            if event.text() != "/" or chord or cursor.block().text() or self._editor.isReadOnly():
                return False
            cursor.insertText("/")
            self._editor.setTextCursor(cursor)
            self.open(slash=True)
            return True
        key = event.key()
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        if key == Qt.Key.Key_Escape:
            self.close_list()
            return True
        if key in _MOVES and plain:
            self._move(_MOVES[Qt.Key(key)])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            if self.insert():
                return True
            self.close_list()  # nothing to put in: Enter is a new line, as typed
        return False

    # --- building and state -------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        heading = QHBoxLayout()
        heading.addWidget(label(labels.tr("Canned responses"), "section"))
        heading.addStretch(1)
        heading.addWidget(label(labels.tr(HINT), "muted"))
        layout.addLayout(heading)
        self._stack = QStackedWidget()
        choices = QWidget()
        row = QHBoxLayout(choices)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self._list = QListWidget()
        self._list.setObjectName("cannedList")
        self._list.setAccessibleName(labels.tr("Canned responses"))
        self._list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the composer
        self._list.setFixedWidth(220)
        self._list.currentItemChanged.connect(self._show_preview)
        self._list.itemActivated.connect(lambda _item: self.insert())
        row.addWidget(self._list)
        self._preview = QPlainTextEdit()  # plain text: a response is what an administrator typed, never markup
        self._preview.setObjectName("cannedPreview")
        self._preview.setAccessibleName(labels.tr("Text that will be inserted"))
        self._preview.setReadOnly(True)
        self._preview.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self._preview, 1)
        self._stack.addWidget(choices)
        self._empty = label(role="empty", wrap=True)
        self._empty.setObjectName("cannedEmpty")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setMargin(12)
        self._stack.addWidget(self._empty)
        layout.addWidget(self._stack, 1)
        self.resize(WIDTH, HEIGHT)

    def _place(self) -> None:
        """Above the editor's owner (the composer: its Reply / Internal note stay in sight), level with the cursor,
        so it hides none of the text; under the cursor's line when there is no room above (a small window); inside
        the window either way."""
        window = self.parentWidget()
        assert window is not None
        area = window.rect().adjusted(4, 4, -4, -4)
        self.resize(min(WIDTH, area.width()), min(HEIGHT, area.height()))
        viewport = self._editor.viewport()
        line = self._editor.cursorRect()
        left = viewport.mapTo(window, line.topLeft()).x()
        owner = self._editor.parentWidget() or self._editor
        above = owner.mapTo(window, QPoint(0, 0)).y() - self.height() - 2
        y = above if above >= area.top() else viewport.mapTo(window, line.bottomLeft()).y() + 4
        x = min(max(left, area.left()), area.right() - self.width())
        self.move(QPoint(x, min(y, area.bottom() - self.height())))

    def _refilter(self) -> None:
        if self._responses is None:
            self._empty.setText(self._error or labels.tr(LOADING))
            self._stack.setCurrentWidget(self._empty)
            return
        query = self.query()
        shown = [response for response in self._responses if matches(response.title, query)]
        chosen = self.current()
        self._list.clear()
        for response in shown:
            item = QListWidgetItem(response.title)
            item.setData(Qt.ItemDataRole.UserRole, response)
            self._list.addItem(item)
        if shown:
            still = next((i for i, r in enumerate(shown) if chosen is not None and r.id == chosen.id), 0)
            self._list.setCurrentRow(still)
            self._stack.setCurrentIndex(0)
            return
        self._empty.setText(labels.tr(NO_MATCH).format(query=query.strip()) if self._responses else labels.tr(EMPTY))
        self._stack.setCurrentWidget(self._empty)

    def _move(self, step: int) -> None:
        if self._list.count():
            self._list.setCurrentRow(min(max(self._list.currentRow() + step, 0), self._list.count() - 1))

    def _show_preview(self, item: QListWidgetItem | None) -> None:
        response = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self._preview.setPlainText(response.text if response is not None else "")

    def _follow(self) -> None:
        """Refilter as the agent types; close once the cursor leaves the query (or the `/` is deleted)."""
        anchor = self._anchor
        if anchor is None:
            return
        cursor = self._editor.textCursor()
        start = anchor.position() + self._slash
        inside = cursor.blockNumber() == anchor.blockNumber() and cursor.position() >= start
        if (
            not inside
            or cursor.hasSelection()
            or (self._slash and self._editor.document().characterAt(anchor.position()) != "/")
        ):
            self.close_list()
        elif self.isVisible():
            self._refilter()
