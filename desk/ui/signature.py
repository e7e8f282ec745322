"""The agent's own signature (File › My signature…), which the composer offers under their replies."""

from __future__ import annotations

from dataclasses import replace

from shiboken6 import isValid

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from desk.domain.errors import DeskError
from desk.services import staff
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label


class SignatureDialog(QDialog):
    """The signature as plain text; saved, the window's choices carry it (a ticket opened next offers it).

    Attributes:
        text: the signature; message: what the service refused.
    """

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setWindowTitle("My signature")
        self.setMinimumWidth(460)
        self.text = QPlainTextEdit(ctx.choices.signature or "")
        self.text.setAccessibleName("Signature")
        self.text.setPlaceholderText("e.g. your name, your team and a phone number")
        self.text.setMinimumHeight(120)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setProperty("role", "primary")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = "Your replies may end with it: the composer offers it beside your department's. Empty: none."
        layout.addWidget(label(intro, "muted", wrap=True))
        layout.addWidget(self.text)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    @async_slot
    async def submit(self) -> None:
        self.ok.setEnabled(False)
        try:
            saved = await self._ctx.call(staff.save_own_signature, self.text.toPlainText())
        except DeskError as error:
            if isValid(self):
                self.message.setText(str(error))
                self.message.show()
            return
        finally:
            if isValid(self):
                self.ok.setEnabled(True)
        self._ctx.choices = replace(self._ctx.choices, signature=saved)
        if isValid(self):
            self.accept()
