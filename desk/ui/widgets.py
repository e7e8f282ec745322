"""Small widget helpers shared by the screens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QWidget,
)

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


def is_text_input(widget: QWidget | None) -> bool:
    """Whether the widget takes typed text (a line or text editor that is not read-only)."""
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False


def hands_off(*buttons: QAbstractButton) -> None:
    """Buttons that change a ticket never take the keyboard focus: a space or Enter meant for the text being typed
    must not press them. They stay reachable by their shortcuts (and menus)."""
    for button in buttons:
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class ChoiceBox(QComboBox):
    """A combo whose value changes only when its list is open and an entry is chosen.

    A plain combo changes on a letter typed into it (keyboard search), an arrow key or a wheel turn over it, and a
    combo that applies its value at once (a ticket's status, priority…) would change the ticket by a stray key.
    Here Space, Enter, F4 and the arrows open the list, other keys go on to the parent, and the wheel scrolls
    the page beneath.
    """

    OPENING_KEYS = frozenset({Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F4,
                              Qt.Key.Key_Up, Qt.Key.Key_Down})  # fmt: skip

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Override QComboBox.keyPressEvent: open the list instead of changing the value."""
        if event.key() in self.OPENING_KEYS:
            self.showPopup()
        else:
            event.ignore()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Override QComboBox.wheelEvent: the wheel never changes the value."""
        event.ignore()
