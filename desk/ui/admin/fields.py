"""Form fields the administration editors share: a choice among named rows, a checklist of them, and how a
department or team auto-assigns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QListWidget, QListWidgetItem

from desk.domain.enums import AssignMode
from desk.domain.views import Ref
from desk.ui.labels import ASSIGN_MODES

LIST_ROWS = 6  # a checklist's height in rows before it scrolls


class RefChoice(QComboBox):
    """One of a list of named rows, or none (`none` says what none means; empty: one must be chosen)."""

    def __init__(self, none: str = "") -> None:
        super().__init__()
        self._none = none
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def set_refs(self, refs: Sequence[Ref]) -> None:
        chosen = self.value()
        self.blockSignals(True)
        self.clear()
        if self._none:
            self.addItem(self._none, None)
        for ref in refs:
            self.addItem(ref.name, ref.id)
        self.blockSignals(False)
        self.set_value(chosen)

    def value(self) -> int | None:
        data = self.currentData()
        return int(data) if data is not None else None

    def set_value(self, ref_id: int | None) -> None:
        index = self.findData(ref_id) if ref_id is not None else (0 if self._none else -1)
        self.setCurrentIndex(max(index, 0) if self.count() else -1)


class RefChecklist(QListWidget):
    """Named rows, each ticked or not.

    Signals:
        ticked: a row was ticked or unticked.
    """

    ticked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.itemChanged.connect(lambda _item: self.ticked.emit())

    def set_refs(self, refs: Sequence[Ref]) -> None:
        chosen = self.values()
        self.blockSignals(True)
        self.clear()
        for ref in refs:
            item = QListWidgetItem(ref.name)
            item.setData(Qt.ItemDataRole.UserRole, ref.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.addItem(item)
        self.blockSignals(False)
        self.set_values(chosen)
        rows = min(max(self.count(), 1), LIST_ROWS)
        self.setFixedHeight(rows * max(self.sizeHintForRow(0), 22) + 2 * self.frameWidth() + 2)

    def values(self) -> tuple[int, ...]:
        return tuple(
            sorted(
                int(self.item(row).data(Qt.ItemDataRole.UserRole))
                for row in range(self.count())
                if self.item(row).checkState() == Qt.CheckState.Checked
            )
        )

    def set_values(self, ids: Iterable[int]) -> None:
        wanted = set(ids)
        self.blockSignals(True)
        for row in range(self.count()):
            item = self.item(row)
            ticked = int(item.data(Qt.ItemDataRole.UserRole)) in wanted
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        self.blockSignals(False)


class AssignModeChoice(QComboBox):
    """Off, round-robin or fewest open tickets (desk.services.assignment)."""

    def __init__(self) -> None:
        super().__init__()
        for mode, text in ASSIGN_MODES.items():
            self.addItem(text, mode.value)
        self.setAccessibleName("Auto-assignment")

    def value(self) -> AssignMode:
        return AssignMode(self.currentData())

    def set_value(self, mode: AssignMode) -> None:
        self.setCurrentIndex(max(self.findData(mode.value), 0))
