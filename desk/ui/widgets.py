"""Small widget helpers shared by the screens.

Text from outside (users, mail, the API, other agents) is shown as plain text: Qt reads anything that looks like
HTML as rich text, and rich text loads the images it names (`<img src="/dev/zero">` reads that file). So labels,
message boxes and tooltips made here are plain unless a caller opts in for HTML it composed and escaped itself.
"""

from __future__ import annotations

import asyncio
from html import escape

from shiboken6 import isValid

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QWidget,
)

from desk.ui import icons


def label(text: str = "", role: str | None = None, *, wrap: bool = False, rich: bool = False) -> QLabel:
    """A label styled by its role in the theme's style sheet (heading, muted, error, empty, banner, section).

    Plain text unless `rich`: then the caller gives HTML it composed, with every outside value escaped."""
    widget = QLabel()
    widget.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    widget.setText(text)
    if role is not None:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def plain_tip(text: str) -> str:
    """A tooltip that shows `text` literally. Qt renders a tooltip that looks like HTML as rich text: such a text
    goes escaped inside a paragraph that keeps its line breaks; any other is shown as it is already."""
    if not QtGui.Qt.mightBeRichText(text):
        return text
    return f'<p style="white-space: pre-wrap;">{escape(text)}</p>'


def ticket_item(ticket_id: int, number: str, status: str, subject: str, tip: str) -> QListWidgetItem:
    """A ticket as a line of a short list ("123456 · Open · Printer on fire"), its id kept for opening it."""
    item = QListWidgetItem(f"{number} · {status} · {subject}")
    item.setData(Qt.ItemDataRole.UserRole, ticket_id)
    item.setToolTip(plain_tip(tip))
    return item


def message_box(
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    parent: QWidget | None = None,
    buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
    *,
    informative: str = "",
) -> QMessageBox:
    """A message box whose texts are shown as plain text (they often quote an error or a name from outside)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    if informative:
        box.setInformativeText(informative)
    plain_labels(box)
    return box


async def result_of(dialog: QDialog) -> int:
    """Open the dialog non-modally and wait, on the running loop, until it finishes; its result code (STYLE
    rule 30: a modal exec() inside a coroutine would run a nested event loop).

    Callers deleteLater() the dialog once they have read it (if it still isValid): left to Python's cyclic
    collector (asyncio's exceptions and tasks hold it in cycles), it could be freed in a database worker thread.
    A dialog deleted unanswered (its window closed under it as Desk quits) answers Rejected.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finish(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(finish)
    dialog.destroyed.connect(lambda: finish(QDialog.DialogCode.Rejected.value))
    dialog.open()
    try:
        return await future
    finally:
        if isValid(dialog):
            dialog.finished.disconnect(finish)


def plain_labels(widget: QWidget) -> None:
    """Show every label of a widget Qt built (a message box's text and informative text) as plain text."""
    for child in widget.findChildren(QLabel):
        child.setTextFormat(Qt.TextFormat.PlainText)


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
