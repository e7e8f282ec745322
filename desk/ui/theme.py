"""Semantic colour tokens with light and dark values, the palette and the style sheet built from them.

Widgets ask for a token (`color("thread.note.bg")`), never a hex value, so both themes stay consistent.
The theme follows the system's colour scheme unless DESK_THEME=light|dark says otherwise.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QStyleOptionHeader, QWidget

# token: (light, dark)
TOKENS: dict[str, tuple[str, str]] = {
    "window.bg": ("#f6f7f9", "#1e2024"),
    "surface.bg": ("#ffffff", "#26292e"),
    "surface.alt": ("#f1f3f6", "#2c3036"),
    "border": ("#d5d9e0", "#3a3f47"),
    "text": ("#1d2128", "#e4e6ea"),
    "text.muted": ("#66707d", "#9aa3ae"),
    "text.placeholder": ("#a3abb5", "#5d646e"),
    "accent": ("#2f6fdf", "#6a9cf2"),
    "accent.text": ("#ffffff", "#0f1216"),
    "focus": ("#1548c0", "#9cc0ff"),  # the keyboard focus ring: strong on both backgrounds
    "selection.bg": ("#d8e5fb", "#2f4466"),
    "selection.text": ("#0f1a2b", "#eef3fb"),
    "sidebar.bg": ("#eceff3", "#191b1f"),
    "sidebar.count.bg": ("#dde2e9", "#30353d"),
    "danger": ("#c62828", "#ff7b72"),
    "warning": ("#b26a00", "#e3a33b"),
    "success": ("#2e7d32", "#6cc070"),
    "link": ("#1f5fcf", "#79a8ff"),
    "icon": ("#4a5361", "#c3c9d1"),
    "thread.message.bg": ("#ffffff", "#26292e"),
    "thread.message.edge": ("#8a95a5", "#8a95a5"),
    "thread.reply.bg": ("#eaf2fe", "#1f2d44"),
    "thread.reply.edge": ("#2f6fdf", "#6a9cf2"),
    "thread.note.bg": ("#fff6dc", "#3a3221"),
    "thread.note.edge": ("#d49a00", "#e0b34a"),
    "thread.event.text": ("#66707d", "#9aa3ae"),
    "changed.bg": ("#fff2b8", "#4a4220"),
}


_ON_PAPER = False  # while a document for printing is made: the light colours, whatever the screen shows


@contextlib.contextmanager
def on_paper() -> Iterator[None]:
    """The light theme's colours for what is built inside (a ticket printed or saved as PDF: paper is white)."""
    global _ON_PAPER
    before, _ON_PAPER = _ON_PAPER, True
    try:
        yield
    finally:
        _ON_PAPER = before


def is_dark() -> bool:
    if _ON_PAPER:
        return False
    forced = os.environ.get("DESK_THEME", "").lower()
    if forced in ("light", "dark"):
        return forced == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def color(token: str) -> QColor:
    light, dark = TOKENS[token]
    return QColor(dark if is_dark() else light)


def hex_of(token: str) -> str:
    return color(token).name()


def readable_on(background: QColor) -> QColor:
    """Black or white text, whichever reads better on the background (priority badges use the admin's colour)."""
    return QColor("#000000") if background.lightnessF() > 0.6 else QColor("#ffffff")


def palette() -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "window.bg",
        QPalette.ColorRole.WindowText: "text",
        QPalette.ColorRole.Base: "surface.bg",
        QPalette.ColorRole.AlternateBase: "surface.alt",
        QPalette.ColorRole.Text: "text",
        QPalette.ColorRole.Button: "surface.alt",
        QPalette.ColorRole.ButtonText: "text",
        QPalette.ColorRole.Highlight: "selection.bg",
        QPalette.ColorRole.HighlightedText: "selection.text",
        QPalette.ColorRole.ToolTipBase: "surface.bg",
        QPalette.ColorRole.ToolTipText: "text",
        QPalette.ColorRole.PlaceholderText: "text.placeholder",
        QPalette.ColorRole.Link: "link",
        QPalette.ColorRole.Mid: "border",
    }
    for role, token in roles.items():
        pal.setColor(role, color(token))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, color("text.muted"))
    return pal


def style_sheet() -> str:
    t = hex_of
    return f"""
    QWidget#sidebar {{ background: {t("sidebar.bg")}; }}
    QListView#queueList, QListView#sectionList {{ background: {t("sidebar.bg")}; border: none; }}
    QLabel[role="muted"] {{ color: {t("text.muted")}; }}
    QLabel[role="error"] {{ color: {t("danger")}; }}
    QLabel[role="heading"] {{ font-size: 15pt; font-weight: 600; }}
    QLabel[role="section"] {{ color: {t("text.muted")}; font-weight: 600; text-transform: uppercase; }}
    QLabel[role="empty"] {{ color: {t("text.muted")}; font-size: 11pt; }}
    QLabel[role="banner"] {{ background: {t("changed.bg")}; padding: 4px 8px; border-radius: 4px; }}
    QFrame[role="notice"] {{ background: {t("changed.bg")}; border-radius: 4px; }}
    QLabel[role="changed"] {{ background: {t("changed.bg")}; padding: 1px 6px; border-radius: 3px; }}
    QTableView {{ gridline-color: {t("border")}; border: 1px solid {t("border")}; }}
    QHeaderView::section {{ background: {t("surface.alt")}; color: {t("text.muted")}; border: none;
        border-bottom: 1px solid {t("border")}; padding: 4px 6px; font-weight: 600; }}
    QTabWidget::pane {{ border: 1px solid {t("border")}; }}
    QFrame[role="panel"] {{ background: {t("surface.bg")}; border: 1px solid {t("border")}; border-radius: 6px; }}
    QPushButton {{ background: {t("surface.alt")}; color: {t("text")}; border: 1px solid {t("border")};
        border-radius: 4px; padding: 4px 12px; }}
    QPushButton:hover {{ border-color: {t("text.muted")}; }}
    QPushButton:pressed {{ background: {t("selection.bg")}; }}
    QPushButton:disabled {{ color: {t("text.muted")}; }}
    QPushButton[role="primary"] {{ background: {t("accent")}; color: {t("accent.text")}; border: none;
        border-radius: 4px; padding: 5px 14px; font-weight: 600; }}
    QPushButton[role="primary"]:disabled {{ background: {t("border")}; color: {t("text.muted")}; }}
    QLineEdit {{ background: {t("surface.bg")}; border: 1px solid {t("border")}; border-radius: 4px;
        padding: 3px 6px; }}
    QLineEdit:disabled {{ background: {t("surface.alt")}; color: {t("text.muted")}; }}
    /* The keyboard focus, clearly, on everything that takes it (issue 12: a faint ring hid a focused button). */
    QPushButton:focus, QComboBox:focus, QLineEdit:focus {{ border: 2px solid {t("focus")}; border-radius: 4px;
        padding: 2px 5px; }}
    QPushButton:focus {{ padding: 3px 11px; }}
    QPushButton[role="primary"]:focus {{ border: 2px solid {t("text")}; padding: 3px 12px; }}
    QToolButton:focus {{ border: 2px solid {t("focus")}; border-radius: 4px; }}
    QToolButton[role="figure"], QToolButton[role="figure-alert"], QToolButton[role="figure-none"] {{
        font-size: 14pt; font-weight: 600; padding: 1px 10px; min-width: 64px; }}
    QToolButton[role="figure"] {{ color: {t("text")}; }}
    QToolButton[role="figure-alert"] {{ color: {t("danger")}; }}
    QToolButton[role="figure-none"] {{ color: {t("text.muted")}; font-weight: 400; }}
    QToolButton[role="figure"]:hover, QToolButton[role="figure-alert"]:hover, QToolButton[role="figure-none"]:hover {{
        background: {t("selection.bg")}; border-radius: 4px; }}
    QToolButton[role="unread"] {{ color: {t("accent")}; font-weight: 600; }}
    QTextEdit:focus, QPlainTextEdit:focus, QAbstractItemView:focus, QListView#queueList:focus {{
        border: 2px solid {t("focus")}; }}
    *[invalid="true"] {{ border: 1px solid {t("danger")}; }}
    """


class DeskStyle(QProxyStyle):
    """Fusion, with a header's sort arrow pointing the way its column runs: up for ascending (smallest at the
    top), down for descending (Qt's headers ask for the opposite arrow, an old Windows convention); and check
    boxes and radio buttons outlined in the muted text colour (Fusion darkens the window colour for them, which
    vanishes on the dark theme)."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawPrimitive(  # noqa: N802
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        """Flip the header's sort arrow, draw check boxes and radio buttons; everything else as Fusion draws it."""
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(option, QStyleOptionHeader):
            flipped = QStyleOptionHeader(option)
            flipped.sortIndicator = _FLIPPED.get(option.sortIndicator, option.sortIndicator)
            option = flipped
        if element in (QStyle.PrimitiveElement.PE_IndicatorCheckBox, QStyle.PrimitiveElement.PE_IndicatorRadioButton):
            _indicator(element == QStyle.PrimitiveElement.PE_IndicatorRadioButton, option, painter)
            return
        super().drawPrimitive(element, option, painter, widget)


def _indicator(radio: bool, option: QStyleOption, painter: QPainter) -> None:
    """A check box's square or a radio button's circle, its mark when on, the focus colour when focused by keyboard."""
    state = option.state
    focused = bool(state & QStyle.StateFlag.State_HasFocus and state & QStyle.StateFlag.State_KeyboardFocusChange)
    mark = color("text") if state & QStyle.StateFlag.State_Enabled else color("text.muted")
    box = QRectF(option.rect).adjusted(1, 1, -1, -1)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(color("focus") if focused else color("text.muted"), 1.5 if focused else 1.0))
    painter.setBrush(option.palette.base())
    if radio:
        painter.drawEllipse(box)
    else:
        painter.drawRoundedRect(box, 2, 2)
    if state & QStyle.StateFlag.State_On:
        if radio:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(mark)
            painter.drawEllipse(box.center(), box.width() / 4, box.height() / 4)
        else:
            painter.setPen(QPen(mark, 1.6, c=Qt.PenCapStyle.RoundCap, j=Qt.PenJoinStyle.RoundJoin))
            w, h, left, top = box.width(), box.height(), box.left(), box.top()
            painter.drawPolyline(
                [QPointF(left + w * 0.22, top + h * 0.52), QPointF(left + w * 0.42, top + h * 0.72),
                 QPointF(left + w * 0.78, top + h * 0.3)]
            )  # fmt: skip
    painter.restore()


_FLIPPED = {
    QStyleOptionHeader.SortIndicator.SortUp: QStyleOptionHeader.SortIndicator.SortDown,
    QStyleOptionHeader.SortIndicator.SortDown: QStyleOptionHeader.SortIndicator.SortUp,
}


def apply(app: QApplication) -> None:
    """Fusion with our palette and style sheet; call again when the system scheme changes."""
    app.setStyle(DeskStyle())
    app.setPalette(palette())
    app.setStyleSheet(style_sheet())
