"""One section of the Administration window: a list with search on the left, the chosen row's editor on the right.

A section is generic; what it lists and edits comes from its Editor (desk.ui.admin.editors). New, Save and
Revert work the same everywhere: Save sends the form to the service and shows what it refused beside each field
(the form keeps everything typed); choosing another row or closing with unsaved changes asks first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from shiboken6 import isValid

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError, Invalid
from desk.ui import icons, theme
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, message_box, plain_tip, result_of

SEARCH_DELAY_MS = 200
W = TypeVar("W", bound=QWidget)


@dataclass(frozen=True)
class Row:
    """One line of a section's list."""

    id: int
    text: str
    muted: bool = False  # a deactivated agent
    tip: str = ""


class Editor(QWidget):
    """A section's form. Subclasses build their fields with `field`, and say how to list, load, save and delete.

    Signals:
        edited: a field changed (Save and Revert follow whether the form differs from what was loaded).
        failed: an action of the editor's own (not Save) was refused: what to tell the administrator.
    """

    edited = Signal()
    failed = Signal(str)
    noun = "row"  # "agent": in the section's buttons and questions
    deletable = True
    creatable = True
    single = False  # one form (the settings), no list: its one row is 0

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.layout_.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.layout_.setVerticalSpacing(6)
        self.heading = label("", "heading")
        self.summary = label("", "muted", wrap=True)
        self.layout_.addRow(self.heading)
        self.layout_.addRow(self.summary)
        self.errors: dict[str, QLabel] = {}
        self.first_field: QWidget = self  # the first field `field` lays out, which New puts the cursor in

    def field(self, key: str, text: str, widget: W) -> W:
        """A labelled field, with a line under it for what the service refuses in `key`."""
        self.layout_.addRow(text, widget)
        if not self.errors:
            self.first_field = widget
        error = label("", "error", wrap=True)
        error.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)  # as wide as the field
        self.layout_.addRow("", error)
        self.layout_.setRowVisible(error, False)  # a hidden row takes no spacing, unlike a hidden label
        self.errors[key] = error
        return widget

    def show_errors(self, fields: Mapping[str, str]) -> bool:
        """Show each refused field's message beside it; whether any field of this form was named."""
        for key, error in self.errors.items():
            error.setText(fields.get(key, ""))
            self.layout_.setRowVisible(error, key in fields)
        return any(key in self.errors for key in fields)

    # What each editor says: ----------------------------------------------------------------------------------

    more = False  # the last rows were a page of more: the section asks for a narrower search

    async def prepare(self) -> None:
        """Load what the form offers that the window's choices do not, before the first row is shown."""

    async def rows(self, text: str) -> Sequence[Row]:
        raise NotImplementedError

    async def fetch(self, row_id: int) -> Any:
        raise NotImplementedError

    async def store(self, row_id: int | None, form: Any) -> Any:
        """Save the form; the saved details (with the row's id as `.id`)."""
        raise NotImplementedError

    async def remove(self, row_id: int) -> None:
        raise NotImplementedError

    def show_details(self, details: Any | None) -> None:
        """Fill the form from the details (None: empty, for a new row)."""
        raise NotImplementedError

    def form(self) -> Any:
        """The form as typed."""
        raise NotImplementedError


class Section(QWidget):
    """The list, the search over it, the editor and its buttons.

    Attributes:
        current_id: the row in the editor (None: a new one, or none chosen).
        loaded_form: the form as it was loaded or last saved, to tell unsaved changes.
        question: the open "Discard your changes?" box, if any.

    Signals:
        listed: the list was (re)loaded and shown.
        saved: a save went through.
    """

    listed = Signal()
    saved = Signal()

    def __init__(self, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.current_id: int | None = None
        self.loaded_form: Any = None
        self.question: QMessageBox | None = None  # the open "Discard your changes?", for tests
        self._showing = False  # the editor is being filled: its changes are not the agent's
        self._opening: int | None = None  # the row last asked for
        self._prepared = False

        self.search = QLineEdit(placeholderText=f"Search {editor.noun}s")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(self._search_timer.start)
        self.list = QListWidget()
        self.list.setAccessibleName(f"{editor.noun.capitalize()}s")
        self.list.currentItemChanged.connect(self._chosen)
        self.empty = label("", "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()
        self.new_button = QPushButton(f"New {editor.noun}")
        self.new_button.setIcon(icons.icon("new"))
        self.new_button.setShortcut(QKeySequence.StandardKey.New)
        self.new_button.clicked.connect(self.new)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.empty, 1)
        self.cut = label("", "muted", wrap=True)
        self.cut.hide()
        left_layout.addWidget(self.cut)
        left_layout.addWidget(self.new_button)
        self.new_button.setVisible(editor.creatable)

        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("role", "primary")
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.setToolTip("Save (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Put the form back as it was loaded")
        self.revert_button.clicked.connect(self.revert)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.ask_delete)
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.delete_button)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.revert_button)
        self.buttons.addWidget(self.save_button)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        form = QWidget()  # the editor as tall as its fields, the spare height below them (a form spreads its rows)
        form_layout = QVBoxLayout(form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(editor)
        form_layout.addStretch(1)
        self.scroller.setWidget(form)
        self.nothing = label(
            f"Choose a {editor.noun} on the left, or make one with “New {editor.noun}”.", "empty", wrap=True
        )
        self.nothing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.editing = QStackedWidget()
        self.editing.addWidget(self.scroller)
        self.editing.addWidget(self.nothing)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 0, 0, 0)
        right_layout.addWidget(self.editing, 1)
        right_layout.addWidget(self.message)
        right_layout.addLayout(self.buttons)

        left.setVisible(not editor.single)
        self.delete_button.setVisible(editor.deletable and not editor.single)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 640])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        editor.edited.connect(self._edited)
        editor.failed.connect(self.say)
        self._edit(False)
        self._edited()

    # --- the list ---------------------------------------------------------------------------------------------

    @async_slot
    async def reload(self) -> None:
        await self.load_list()

    async def load_list(self, select: int | None = None) -> None:
        """List the rows matching the search, choosing `select` (else the row chosen before, else the first)."""
        if not self._prepared:
            try:
                await self.editor.prepare()
            except DeskError as error:
                if isValid(self):
                    self.say(str(error))
                return
            self._prepared = True
        if self.editor.single:
            if self.loaded_form is None:
                await self.open(0)
            self.listed.emit()
            return
        select = select if select is not None else self.current_id
        try:
            rows = await self.editor.rows(self.search.text())
        except DeskError as error:
            if isValid(self):
                self.say(str(error))
            return
        if not isValid(self):
            return
        self.list.blockSignals(True)
        self.list.clear()
        for row in rows:
            item = QListWidgetItem(row.text)
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(plain_tip(row.tip or row.text))
            if row.muted:
                item.setForeground(theme.color("text.muted"))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.empty.setText(
            f"No {self.editor.noun} matches “{self.search.text().strip()}”."
            if self.search.text().strip()
            else f"No {self.editor.noun}s yet: “New {self.editor.noun}” adds one."
        )
        self.list.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.cut.setText(f"The first {len(rows):,} shown: search to narrow them." if self.editor.more else "")
        self.cut.setVisible(self.editor.more)
        wanted = next((i for i, row in enumerate(rows) if row.id == select), None)
        writing_new = self.current_id is None and self.loaded_form is not None
        if wanted is None and rows and not writing_new and not self.is_dirty():
            wanted = 0  # the first row, when the one shown is not among them (and nothing typed is lost)
        if wanted is not None:
            self.list.blockSignals(True)
            self.list.setCurrentRow(wanted)
            self.list.blockSignals(False)
            if rows[wanted].id != self.current_id or self.loaded_form is None:
                await self.open(rows[wanted].id)
        self.listed.emit()

    @async_slot
    async def _chosen(self, item: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        row_id = int(item.data(Qt.ItemDataRole.UserRole))
        if row_id == self.current_id and self.loaded_form is not None:
            return
        if not await self.confirm_discard():
            if isValid(self):
                self.list.blockSignals(True)
                self.list.setCurrentRow(self.list.row(previous) if previous is not None else -1)
                self.list.blockSignals(False)
            return
        await self.open(row_id)

    @async_slot
    async def _open_later(self, row_id: int) -> None:
        await self.open(row_id)

    async def open(self, row_id: int) -> None:
        """Load the row into the editor, unless another is asked for before it arrives (the latest one wins)."""
        self.say("")
        self._opening = row_id
        try:
            details = await self.editor.fetch(row_id)
        except DeskError as error:
            if isValid(self) and self._opening == row_id:
                self.say(str(error))
            return
        if isValid(self) and self._opening == row_id:
            self._show(row_id, details)

    def _show(self, row_id: int | None, details: Any | None) -> None:
        self._showing = True
        try:
            self.current_id = row_id
            self.editor.show_errors({})
            self.editor.show_details(details)
            self._edit(True)
            self.loaded_form = self.editor.form()
        finally:
            self._showing = False
        self._edited()

    # --- editing ----------------------------------------------------------------------------------------------

    def _edit(self, on: bool) -> None:
        """Show the editor (on), or the hint to choose a row when none is chosen."""
        self.editor.setEnabled(on)
        self.editing.setCurrentWidget(self.scroller if on else self.nothing)

    def is_dirty(self) -> bool:
        return self.loaded_form is not None and self.editor.form() != self.loaded_form

    def _edited(self) -> None:
        if self._showing:
            return
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty or (self.current_id is None and self.loaded_form is not None))
        self.revert_button.setEnabled(dirty)
        self.delete_button.setEnabled(self.current_id is not None)

    @async_slot
    async def new(self) -> None:
        if not await self.confirm_discard() or not isValid(self):
            return
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self.say("")
        self._opening = None
        self._show(None, None)
        # Straight to the first field: moving focus along the chain could land on the list, which would then
        # choose its first row (and leave the new one).
        self.editor.first_field.setFocus()

    def revert(self) -> None:
        if self.current_id is None:
            self._show(None, None)
        else:
            self._open_later(self.current_id)

    async def confirm_discard(self) -> bool:
        """Whether unsaved changes may go: asked of the agent (Discard, or Cancel to stay)."""
        if not self.is_dirty():
            return True
        box = message_box(
            QMessageBox.Icon.Question,
            "Unsaved changes",
            f"Discard your changes to this {self.editor.noun}?",
            self,
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.question = box
        try:
            return await result_of(box) == QMessageBox.StandardButton.Discard
        finally:
            self.question = None
            if isValid(box):
                box.deleteLater()

    @async_slot
    async def save(self) -> None:
        await self.store()

    async def store(self) -> bool:
        """Send the form; on success show what was saved and list it, else say what to fix. Whether it saved."""
        if self.loaded_form is None:
            return False
        self.say("")
        self.save_button.setEnabled(False)
        try:
            details = await self.editor.store(self.current_id, self.editor.form())
        except Invalid as error:
            if isValid(self):
                named = self.editor.show_errors(error.fields)
                self.say("Check the fields marked below." if named and len(error.fields) > 1 else str(error))
                self._edited()
            return False
        except DeskError as error:
            if isValid(self):
                self.say(str(error))
                self._edited()
            return False
        if not isValid(self):
            return False
        saved_id = getattr(details, "id", self.current_id or 0)  # a row of its own list (the settings' is 0)
        self._show(saved_id, details)
        await self.load_list(select=saved_id)
        self.saved.emit()
        return True

    def ask_delete(self) -> None:
        if self.current_id is None:
            return
        name = self.list.currentItem().text() if self.list.currentItem() else f"this {self.editor.noun}"
        box = message_box(
            QMessageBox.Icon.Question,
            f"Delete {self.editor.noun}",
            f"Delete {name}? This cannot be undone.",
            self,
            QMessageBox.StandardButton.Cancel,
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        delete.clicked.connect(lambda: self.delete(self.current_id))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @async_slot
    async def delete(self, row_id: int) -> None:
        self.say("")
        try:
            await self.editor.remove(row_id)
        except DeskError as error:
            if isValid(self):
                self.say(str(error))
            return
        if isValid(self):
            self.current_id, self.loaded_form = None, None
            self._edit(False)
            await self.load_list()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
