"""Small widget helpers shared by the screens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolButton, QWidget

from desk.ui import icons


def label(text: str = "", role: str | None = None, *, wrap: bool = False) -> QLabel:
    """A label styled by its role in the theme's style sheet (heading, muted, error, empty, banner, section)."""
    widget = QLabel(text)
    if role is not None:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def set_role(widget: QWidget, role: str | None) -> None:
    """Switch a widget's style role ("error", "muted"...) and make the style sheet notice."""
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def tool_button(text: str, icon_name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setIcon(icons.icon(icon_name))
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button
