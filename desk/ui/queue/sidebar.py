"""The sidebar: every queue with its count, then the agent's saved searches."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import queues
from desk.ui import icons, theme
from desk.ui.labels import EMPTY_QUEUES, QUEUES
from desk.ui.tasks import Context

CRITERIA_ROLE = Qt.ItemDataRole.UserRole + 1
COUNT_ROLE = Qt.ItemDataRole.UserRole + 2
EMPTY_ROLE = Qt.ItemDataRole.UserRole + 3


class CountDelegate(QStyledItemDelegate):
    """Draws a queue's count as a muted pill at the right edge of its row."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """The item as usual, then the count on top."""
        super().paint(painter, option, index)
        count = index.data(COUNT_ROLE)
        if count is None:
            return
        text = f"{count:,}"
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(text) + 14
        rect = QRect(option.rect.right() - width - 8, option.rect.center().y() - 9, width, 18)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color("sidebar.count.bg"))
        painter.drawRoundedRect(rect, 9, 9)
        painter.setPen(theme.color("text"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class Sidebar(QListWidget):
    """Queues and saved searches; choosing one emits `chosen(title, criteria, empty_text)`.

    Signals:
        chosen: the agent picked a queue or saved search.
    """

    chosen = Signal(str, object, str)

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName("queueList")
        self.setItemDelegate(CountDelegate(self))
        self.setUniformItemSizes(True)
        self.setSpacing(1)
        self.queue_items: dict[Queue, QListWidgetItem] = {}
        for queue, (label, icon_name) in QUEUES.items():
            if queue == Queue.MY_TEAMS and not ctx.agent.teams:
                continue
            item = QListWidgetItem(icons.icon(icon_name), label)
            item.setData(CRITERIA_ROLE, Criteria(queue=queue))
            item.setData(EMPTY_ROLE, EMPTY_QUEUES[queue])
            self.addItem(item)
            self.queue_items[queue] = item
        self._saved_header: QListWidgetItem | None = None
        self.currentItemChanged.connect(self._changed)

    def select_queue(self, queue: Queue) -> None:
        self.setCurrentItem(self.queue_items[queue])

    def select_by_offset(self, step: int) -> None:
        """Next or previous selectable entry (Ctrl+PgDown / Ctrl+PgUp)."""
        row = self.currentRow()
        for _ in range(self.count()):
            row = (row + step) % self.count()
            if self.item(row).flags() & Qt.ItemFlag.ItemIsSelectable:
                self.setCurrentRow(row)
                return

    async def refresh_counts(self) -> None:
        counts = await self._ctx.call(queues.queue_counts)
        for queue, item in self.queue_items.items():
            item.setData(COUNT_ROLE, counts[queue])

    async def load_saved_searches(self) -> None:
        saved = await self._ctx.call(queues.saved_searches)
        while self.count() > len(self.queue_items):
            self.takeItem(self.count() - 1)
        if not saved:
            return
        header = QListWidgetItem("SAVED SEARCHES")
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        header.setForeground(theme.color("text.muted"))
        self.addItem(header)
        for _search_id, name, criteria in saved:
            item = QListWidgetItem(icons.icon("saved"), name)
            item.setData(CRITERIA_ROLE, criteria)
            item.setData(EMPTY_ROLE, "No ticket matches this saved search.")
            self.addItem(item)

    def _changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None and current.data(CRITERIA_ROLE) is not None:
            self.chosen.emit(current.text(), current.data(CRITERIA_ROLE), current.data(EMPTY_ROLE))
