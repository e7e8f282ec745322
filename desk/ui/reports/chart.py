"""A bar chart drawn with QPainter: one bar per report row, for the column the agent picked.

Qt's own charts (QtCharts) come only with the PySide6-Addons wheel, which would add far more to the installers
than a report's bars need (see the report of issue 18); a bar per row, an axis with round steps and a hover
highlight are a page of painting. Colours are the theme's tokens, so the chart reads in both themes, and on
paper it is drawn with the light ones (`theme.on_paper`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desk.ui import theme

MARGIN = 8
AXIS_STEPS = 4


def nice_step(top: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..top into about AXIS_STEPS parts."""
    if top <= 0:
        return 1.0
    raw = top / AXIS_STEPS
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def number_text(value: float) -> str:
    """An axis step or a bar's figure: whole numbers without decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def figure_text(value: float | None) -> str:
    """A table's figure: counts as whole numbers, hours and averages always with two decimals (blank: none)."""
    if value is None:
        return ""
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


class BarChart(QWidget):
    """Bars for labelled values (None: no bar), with a value axis; a click on a bar says which.

    Signals:
        bar_clicked: the index of the bar clicked.
    """

    bar_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: tuple[str, ...] = ()
        self._values: tuple[float | None, ...] = ()
        self._title = ""
        self._hovered = -1
        self.setMouseTracking(True)
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Chart")

    def set_data(self, title: str, labels: Sequence[str], values: Sequence[float | None]) -> None:
        self._title = title
        self._labels, self._values = tuple(labels), tuple(values)
        self._hovered = -1
        self.setAccessibleDescription(title)
        self.update()

    def bar_rects(self, area: QRectF | None = None, metrics: QFontMetrics | None = None) -> list[QRectF]:
        """Where each bar is drawn (an empty rectangle for a row without a value), in the widget or `area`."""
        plot, top = self._plot_rect(area, metrics), self._top()
        count = max(1, len(self._values))
        slot = plot.width() / count
        width = max(2.0, slot * 0.7)
        rects = []
        for index, value in enumerate(self._values):
            height = 0.0 if value is None or top == 0 else plot.height() * max(0.0, float(value)) / top
            left = plot.left() + index * slot + (slot - width) / 2
            rects.append(QRectF(left, plot.bottom() - height, width, height))
        return rects

    def render_to(self, painter: QPainter, size: QSize) -> None:
        """Draw the chart at this size on any device (the PDF's page, an image)."""
        self._paint(painter, QRectF(0, 0, size.width(), size.height()))

    # --- drawing ------------------------------------------------------------------------------------------------

    def _top(self) -> float:
        biggest = max((float(v) for v in self._values if v is not None), default=0.0)
        step = nice_step(biggest)
        return step * max(1, math.ceil(biggest / step)) if biggest > 0 else 0.0

    def _plot_rect(self, area: QRectF | None = None, metrics: QFontMetrics | None = None) -> QRectF:
        area = area or QRectF(self.rect())
        metrics = metrics or QFontMetrics(self.font())
        axis = metrics.horizontalAdvance(number_text(self._top() or 1)) + 10
        title = metrics.height() * 2  # the title, and room for the top step's number below it
        labels = metrics.height() + 8
        return area.adjusted(MARGIN + axis, MARGIN + title, -MARGIN, -MARGIN - labels)

    def _paint(self, painter: QPainter, area: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text, muted, border = theme.color("text"), theme.color("text.muted"), theme.color("border")
        metrics = QFontMetrics(painter.font())
        painter.setPen(text)
        painter.drawText(QRectF(area.left() + MARGIN, area.top() + MARGIN, area.width(), metrics.height()), self._title)
        plot = self._plot_rect(area, metrics)
        top = self._top()
        if not any(v for v in self._values):
            painter.setPen(muted)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Nothing to chart in this range.")
            return
        step = nice_step(top)
        painter.setPen(QPen(border, 1))
        for n in range(round(top / step) + 1):
            y = plot.bottom() - plot.height() * n * step / top
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(muted)
            painter.drawText(
                QRectF(area.left(), y - metrics.height() / 2, plot.left() - area.left() - 6, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                number_text(n * step),
            )
            painter.setPen(QPen(border, 1))
        accent = theme.color("accent")
        rects = self.bar_rects(area, metrics)
        for index, rect in enumerate(rects):
            painter.fillRect(rect, QColor(accent).lighter(130) if index == self._hovered else accent)
        painter.setPen(muted)
        slot_width = plot.width() / len(rects)
        if len(rects) <= 12:  # each bar's name under it
            for rect, name in zip(rects, self._labels, strict=True):
                slot = QRectF(rect.center().x() - slot_width / 2, plot.bottom() + 4, slot_width, metrics.height())
                shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(slot_width) - 4)
                painter.drawText(slot, Qt.AlignmentFlag.AlignHCenter, shown)
        else:  # too many to name each: the first and the last, at the ends
            below = QRectF(plot.left(), plot.bottom() + 4, plot.width(), metrics.height())
            painter.drawText(below, Qt.AlignmentFlag.AlignLeft, self._labels[0])
            painter.drawText(below, Qt.AlignmentFlag.AlignRight, self._labels[-1])

    def _bar_at(self, point: QPointF) -> int:
        for index, rect in enumerate(self.bar_rects()):
            hit = rect.adjusted(0, -4, 0, 0) if rect.height() < 4 else rect
            if hit.contains(point) and self._values[index] is not None:
                return index
        return -1

    # --- Qt overrides -------------------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        """Override QWidget.paintEvent."""
        painter = QPainter(self)
        self._paint(painter, QRectF(self.rect()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Override QWidget.mouseMoveEvent: highlight the bar under the pointer, and say its figure."""
        hovered = self._bar_at(event.position())
        if hovered != self._hovered:
            self._hovered = hovered
            self.setCursor(Qt.CursorShape.PointingHandCursor if hovered >= 0 else Qt.CursorShape.ArrowCursor)
            value = self._values[hovered] if hovered >= 0 else None
            self.setToolTip(f"{self._labels[hovered]}: {number_text(value)}" if value is not None else "")
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Override QWidget.mouseReleaseEvent: a click on a bar opens its tickets."""
        index = self._bar_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and index >= 0:
            self.bar_clicked.emit(index)
