"""Painting the queue's badges: the priority as a pill in its configured colour, with its name (never colour alone)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desk.ui import theme
from desk.ui.queue.model import QueueRole


class PriorityDelegate(QStyledItemDelegate):
    """The priority column: a rounded badge filled with the priority's colour, its name in readable text."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Selection background first, then the badge; a loading row paints as plain text."""
        row = index.data(QueueRole.ROW)
        if row is None:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            plain = QStyleOptionViewItem(option)
            self.initStyleOption(plain, index)
            plain.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, plain, painter, option.widget)
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(row.priority) + 14
        height = metrics.height() + 2
        rect = QRectF(option.rect.x() + 6, option.rect.center().y() - height / 2 + 1, width, height)
        fill = QColor(row.priority_colour)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(theme.readable_on(fill))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, row.priority)
        painter.restore()
