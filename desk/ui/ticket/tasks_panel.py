"""A ticket's checklist in its properties panel: each task ticked off in place (Space or a click), added and edited
in a small dialog (text, who is to do it, by when), deleted with the Delete key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.macros import TaskForm
from desk.domain.views import Ref, TaskView
from desk.ui import labels, theme
from desk.ui.widgets import ChoiceBox, hands_off, label, plain_tip, set_role

EMPTY = "No tasks. Add one to keep track of what is left to do."


def task_line(task: TaskView) -> str:
    """A task as its row shows it: its text, then who is to do it and by when."""
    due = labels.tr("by {date}").format(date=f"{task.due_on.day} {task.due_on:%b}") if task.due_on else ""
    details = [task.assignee.name if task.assignee else "", due]
    return " · ".join([task.text, *(d for d in details if d)])


class TaskList(QWidget):
    """The ticket's tasks, each a checkable row, and the buttons that add, edit and delete them.

    Signals:
        ticked(int, bool): a task was ticked off (True) or made to do again (False), by id.
        edit_requested(object): the TaskView to edit, or None for a new task.
        delete_requested(int): a task to delete, by id.
    """

    ticked = Signal(int, bool)
    edit_requested = Signal(object)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks: Sequence[TaskView] = ()
        self.summary = label(role="muted", wrap=True)
        self.summary.setObjectName("tasksSummary")
        self.list = QListWidget()
        self.list.setObjectName("tasks")
        self.list.setAccessibleName(labels.tr("Tasks (Space ticks off, Enter edits, Delete deletes)"))
        self.list.setMaximumHeight(120)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemActivated.connect(lambda _item: self.edit_current())
        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self.delete_current)
        self.add_button = QPushButton(labels.tr("Add task…"))
        self.add_button.setObjectName("addTask")
        self.add_button.clicked.connect(lambda: self.edit_requested.emit(None))
        self.edit_button = QPushButton(labels.tr("Edit…"))
        self.edit_button.clicked.connect(self.edit_current)
        self.delete_button = QPushButton(labels.tr("Delete"))
        self.delete_button.clicked.connect(self.delete_current)
        hands_off(self.add_button, self.edit_button, self.delete_button)  # Ctrl+Shift+K adds; Enter, Delete
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.add_button, self.edit_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def show_tasks(self, tasks: Sequence[TaskView], required: bool, may_edit: str | None, may_tick: str | None) -> None:
        """The ticket's tasks; `may_edit` / `may_tick`: why the agent may not change or tick them (None: they may)."""
        current = self.current()
        self.tasks = tasks
        self.list.blockSignals(True)
        self.list.clear()
        for task in tasks:
            item = QListWidgetItem(task_line(task))
            item.setData(Qt.ItemDataRole.UserRole, task.id)
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags if may_tick is None else flags & ~Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if task.done_at else Qt.CheckState.Unchecked)
            if task.done_at:  # done: struck through and muted, what is left to do stands out
                font = item.font()
                font.setStrikeOut(True)
                item.setFont(font)
                item.setForeground(theme.color("text.muted"))
            done = f"\n{labels.tr('Done by {name}').format(name=task.done_by.name)}" if task.done_by else ""
            item.setToolTip(plain_tip(f"{task.text}{done}"))
            self.list.addItem(item)
            if current is not None and task.id == current.id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        left = sum(1 for task in tasks if task.done_at is None)
        text = (
            labels.tr("{done} of {total} done").format(done=len(tasks) - left, total=len(tasks))
            if tasks
            else labels.tr(EMPTY)
        )
        if required and left:
            text += labels.tr(" · all must be done before it is resolved or closed")
        self.summary.setText(text)
        set_role(self.summary, "error" if required and left else "muted")
        self.list.setVisible(bool(tasks))
        for button in (self.add_button, self.edit_button, self.delete_button):
            button.setEnabled(may_edit is None)
            button.setToolTip(plain_tip(may_edit or ""))
        self.edit_button.setVisible(bool(tasks))
        self.delete_button.setVisible(bool(tasks))

    def current(self) -> TaskView | None:
        item = self.list.currentItem()
        task_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((task for task in self.tasks if task.id == task_id), None)

    def edit_current(self) -> None:
        task = self.current()
        if task is not None and self.edit_button.isEnabled():
            self.edit_requested.emit(task)

    def delete_current(self) -> None:
        task = self.current()
        if task is not None and self.delete_button.isEnabled():
            self.delete_requested.emit(task.id)

    def _item_changed(self, item: QListWidgetItem) -> None:
        self.ticked.emit(item.data(Qt.ItemDataRole.UserRole), item.checkState() == Qt.CheckState.Checked)


class TaskDialog(QDialog):
    """A task's text, who is to do it and by when, to add or change.

    Signals:
        saved(TaskForm): the agent saved the form; the editor sends it.
    """

    saved = Signal(object)

    def __init__(self, agents: Sequence[Ref], task: TaskView | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(labels.tr("Add a task") if task is None else labels.tr("Edit the task"))
        self.text = QLineEdit(task.text if task else "")
        self.text.setObjectName("taskText")
        self.text.setMaxLength(500)
        self.text.setPlaceholderText(labels.tr("What is to be done"))
        self.assignee = ChoiceBox()
        self.assignee.setObjectName("taskAssignee")
        self.assignee.addItem(labels.tr("— nobody in particular —"), None)
        for agent in agents:
            self.assignee.addItem(agent.name, agent.id)
        self.assignee.setCurrentIndex(max(self.assignee.findData(task.assignee.id), 0) if task and task.assignee else 0)
        self.has_due = QCheckBox(labels.tr("Due by"))
        self.has_due.setObjectName("taskHasDue")
        self.due = QDateEdit()
        self.due.setCalendarPopup(True)
        self.due.setObjectName("taskDue")
        self.due.setDisplayFormat("d MMM yyyy")
        due = task.due_on if task and task.due_on else None
        self.due.setDate(QDate(due.year, due.month, due.day) if due else QDate.currentDate().addDays(1))
        self.has_due.setChecked(due is not None)
        self.due.setEnabled(due is not None)
        self.has_due.toggled.connect(self.due.setEnabled)
        due_row = QHBoxLayout()
        due_row.addWidget(self.has_due)
        due_row.addWidget(self.due, 1)
        form = QFormLayout()
        form.addRow(labels.tr("Task:"), self.text)
        form.addRow(labels.tr("Assignee:"), self.assignee)
        form.addRow("", due_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(420, self.sizeHint().height())

    def form(self) -> TaskForm:
        assignee = self.assignee.currentData()
        chosen = self.due.date()
        due = date(chosen.year(), chosen.month(), chosen.day()) if self.has_due.isChecked() else None
        return TaskForm(self.text.text(), None if assignee is None else int(assignee), due)

    def _save(self) -> None:
        self.saved.emit(self.form())
        self.accept()
