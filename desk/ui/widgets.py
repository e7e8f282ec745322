"""Small widget helpers shared by the screens.

Text from outside (users, mail, the API, other agents) is shown as plain text: Qt reads anything that looks like
HTML as rich text, and rich text loads the images it names (`<img src="/dev/zero">` reads that file). So labels,
message boxes and tooltips made here are plain unless a caller opts in for HTML it composed and escaped itself.
"""

from __future__ import annotations

from html import escape

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QToolButton, QWidget

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
