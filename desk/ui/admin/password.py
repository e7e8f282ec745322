"""Asking for a new password: an agent changing their own (with the current one), an administrator resetting an
agent's. The dialog stays open until the service accepts, and shows what it refused beside the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shiboken6 import isValid

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from desk.domain.errors import DeskError
from desk.services.accounts import MIN_PASSWORD
from desk.ui.tasks import async_slot
from desk.ui.widgets import label

# Sends (current password or None, new password); raises what the service refused.
Send = Callable[[str | None, str], Awaitable[object]]


class PasswordDialog(QDialog):
    """A new password typed twice, and the current one when `ask_current`.

    Attributes:
        current, password, repeat: the fields; message: what is wrong.
    """

    def __init__(self, title: str, intro: str, send: Send, *, ask_current: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._send = send
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.current = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.password = QLineEdit(
            echoMode=QLineEdit.EchoMode.Password, placeholderText=f"at least {MIN_PASSWORD} characters"
        )
        self.repeat = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        form = QFormLayout()
        if ask_current:
            form.addRow("Current password:", self.current)
        form.addRow("New password:", self.password)
        form.addRow("Repeat it:", self.repeat)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Set password", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setProperty("role", "primary")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self._ask_current = ask_current
        layout = QVBoxLayout(self)
        layout.addWidget(label(intro, "muted", wrap=True))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    @async_slot
    async def submit(self) -> None:
        if self.password.text() != self.repeat.text():
            self._say("The two new passwords differ: type the same one twice.")
            self.repeat.setFocus()
            return
        self._say("")
        self.ok.setEnabled(False)
        try:
            await self._send(self.current.text() if self._ask_current else None, self.password.text())
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        finally:
            if isValid(self):
                self.ok.setEnabled(True)
        if isValid(self):
            self.current.clear()
            self.password.clear()
            self.repeat.clear()
            self.accept()
