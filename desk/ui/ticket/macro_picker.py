"""The macro picker: the ticket's macros in a list that filters as the agent types, with what the highlighted one
does beside it (its changes in words, and its reply or note as it would be posted); Enter applies it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import EntryKind
from desk.domain.macros import MacroActions, MacroChoice
from desk.domain.views import Choices, Ref
from desk.ui import labels
from desk.ui.ticket.canned_picker import matches
from desk.ui.widgets import label

EMPTY = (
    "No macros for this ticket — administrators add them under Administration › Macros, and you your own under "
    "File › My macros…"
)
LOADING = "Loading macros…"
NO_MATCH = "No macro has “{query}” in its name"
HINT = "↑↓ choose · Enter applies · Esc closes"
_MOVES = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -5, Qt.Key.Key_PageDown: 5}


def _name(refs: Sequence[Ref], ref_id: int | None) -> str:
    return next((ref.name for ref in refs if ref.id == ref_id), f"#{ref_id}")


def describe(actions: MacroActions, choices: Choices) -> list[str]:
    """What a macro does, one line per change, in the order it makes them."""
    lines = []
    if actions.topic_id is not None:
        lines.append(f"Help topic → {_name(choices.topics, actions.topic_id)}")
    if actions.priority_id is not None:
        lines.append(f"Priority → {_name([Ref(p.id, p.name) for p in choices.priorities], actions.priority_id)}")
    if actions.sla_id is not None:
        lines.append(f"SLA plan → {_name(choices.slas, actions.sla_id)}")
    if actions.team_id is not None:
        lines.append(f"Team → {_name(choices.teams, actions.team_id)}")
    if actions.assign_to_me:
        lines.append("Assignee → me")
    elif actions.assignee_id is not None:
        lines.append(f"Assignee → {_name(choices.agents, actions.assignee_id)}")
    if actions.follow is not None:
        lines.append("Follow the ticket" if actions.follow else "Stop following the ticket")
    if actions.post is not None:
        lines.append("Reply to the requester:" if actions.post == EntryKind.REPLY else "Internal note:")
        lines.extend(f"    {line}" for line in actions.text.splitlines())
    if actions.status_id is not None:
        lines.append(f"Status → {_name([Ref(s.id, s.name) for s in choices.statuses], actions.status_id)}")
    if actions.department_id is not None:
        lines.append(f"Transfer to {_name(choices.departments, actions.department_id)}")
    return lines


class MacroPicker(QDialog):
    """The ticket's macros, filtered by what is typed in the box above them.

    Signals:
        chosen(MacroChoice): the agent applied this one (Enter or a double-click); the dialog closes.
    """

    chosen = Signal(object)

    def __init__(self, choices: Choices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(labels.tr("Apply a macro"))
        self.setObjectName("macroPicker")
        self._choices = choices
        self._macros: Sequence[MacroChoice] | None = None
        self.filter = QLineEdit(placeholderText=labels.tr("Type to filter macros by name"))
        self.filter.setObjectName("macroFilter")
        self.filter.setAccessibleName(labels.tr("Filter macros"))
        self.filter.textChanged.connect(self._refilter)
        self.filter.installEventFilter(self)
        self.list = QListWidget()
        self.list.setObjectName("macroList")
        self.list.setAccessibleName(labels.tr("Macros"))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the filter
        self.list.setFixedWidth(230)
        self.list.currentItemChanged.connect(self._show_preview)
        self.list.itemActivated.connect(lambda _item: self.apply())
        self.preview = QPlainTextEdit()  # plain text: a macro's text is what an administrator or agent typed
        self.preview.setObjectName("macroPreview")
        self.preview.setAccessibleName(labels.tr("What the macro does"))
        self.preview.setReadOnly(True)
        self.preview.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.empty = label(role="empty", wrap=True)
        self.empty.setObjectName("macroEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(12)
        choices_row = QWidget()
        row = QHBoxLayout(choices_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.list)
        row.addWidget(self.preview, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(choices_row)
        self.stack.addWidget(self.empty)
        heading = QHBoxLayout()
        heading.addWidget(self.filter, 1)
        heading.addWidget(label(labels.tr(HINT), "muted"))
        layout = QVBoxLayout(self)
        layout.addLayout(heading)
        layout.addWidget(self.stack, 1)
        self.resize(680, 300)
        self._refilter()

    def set_macros(self, found: Sequence[MacroChoice]) -> None:
        self._macros = found
        self._refilter()

    def show_error(self, message: str) -> None:
        self.empty.setText(message)
        self.stack.setCurrentWidget(self.empty)

    def current(self) -> MacroChoice | None:
        item = self.list.currentItem()
        shown = self.stack.currentIndex() == 0
        return item.data(Qt.ItemDataRole.UserRole) if item is not None and shown else None

    def apply(self) -> None:
        """Apply the highlighted macro (nothing when none is)."""
        macro = self.current()
        if macro is not None:
            self.accept()
            self.chosen.emit(macro)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Override QObject.eventFilter: the filter's Up, Down, Page Up, Page Down and Enter go to the list."""
        if watched is self.filter and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in _MOVES:
                count = self.list.count()
                if count:
                    step = _MOVES[Qt.Key(event.key())]
                    self.list.setCurrentRow(min(max(self.list.currentRow() + step, 0), count - 1))
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.apply()
                return True
        return False

    def _refilter(self) -> None:
        if self._macros is None:
            self.empty.setText(labels.tr(LOADING))
            self.stack.setCurrentWidget(self.empty)
            return
        query = self.filter.text()
        shown = [macro for macro in self._macros if matches(macro.name, query)]
        self.list.clear()
        for macro in shown:
            item = QListWidgetItem(f"{macro.name}  ·  {labels.tr('yours')}" if macro.personal else macro.name)
            item.setData(Qt.ItemDataRole.UserRole, macro)
            self.list.addItem(item)
        if shown:
            self.list.setCurrentRow(0)
            self.stack.setCurrentIndex(0)
            return
        self.empty.setText(labels.tr(NO_MATCH).format(query=query.strip()) if self._macros else labels.tr(EMPTY))
        self.stack.setCurrentWidget(self.empty)

    def _show_preview(self, item: QListWidgetItem | None) -> None:
        macro = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self.preview.setPlainText("\n".join(describe(macro.actions, self._choices)) if macro is not None else "")
