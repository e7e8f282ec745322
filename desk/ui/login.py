"""Signing an agent in: username and password checked in a worker thread, by the accounts service here or by the
Desk server (desk.ui.startup.sign_in_function).

The service decides everything (wrong password, lockout, audit); the dialog shows its words and keeps the
username, so a person only retypes the password. Against a Desk server it offers "Stay signed in" (the session's
secret, never the password, kept in the system keyring by desk.ui.startup).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from shiboken6 import isValid

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from desk.domain.errors import DeskError
from desk.domain.permissions import AgentActor
from desk.ui import icons
from desk.ui.connect import lay_out_dialog, mark_invalid
from desk.ui.tasks import async_slot, run
from desk.ui.widgets import label

USERNAME_KEY = "login/username"
STAY_KEY = "login/stay_signed_in"


class LoginDialog(QDialog):
    """The agent's username and password, for the help desk already reached.

    Finishes with Accepted (then `agent` is set), Rejected, or CHANGE_CONNECTION when the person wants another
    help desk.

    Attributes:
        agent: the signed-in agent after Accepted, else None.
        stay_signed_in: "Stay signed in", shown against a Desk server (`keyring` not None), enabled once `keyring`
            (blocking: run in the executor, after the dialog is up) says the system has a keyring to keep the
            session in. Looking for one loads every keyring backend installed, which the dialog does not wait for.
    """

    CHANGE_CONNECTION = 2

    def __init__(
        self,
        check: Callable[[str, str], AgentActor],
        executor: ThreadPoolExecutor,
        parent: QWidget | None = None,
        *,
        connection: str = "",
        username: str | None = None,
        message: str = "",
        keyring: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.agent: AgentActor | None = None
        self._check = check
        self._executor = executor
        self.setWindowTitle(self.tr("Sign in to Desk"))
        self.setWindowIcon(icons.icon("user"))
        self.setMinimumWidth(400)

        heading = label(self.tr("Sign in"), "heading")
        self.connection = label(connection, "muted")

        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = label(role="error", wrap=True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self.tr("Username:"), self.username)
        form.addRow(self.tr("Password:"), self.password)
        self.stay_signed_in = QCheckBox(self.tr("Stay signed in"), self)
        self.stay_signed_in.setEnabled(False)
        text = self.tr("No system keyring here: Desk asks for your password at each start.")
        self.no_keyring = label(text, "muted", wrap=True)
        self.no_keyring.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)  # the field's width
        self.no_keyring.hide()
        if keyring is None:  # a file on this computer: nothing to stay signed in to
            self.stay_signed_in.hide()
        else:
            form.addRow("", self.stay_signed_in)
            form.addRow("", self.no_keyring)

        self.change_button = QPushButton(self.tr("Change connection…"))
        self.change_button.setFlat(True)
        self.change_button.setToolTip(self.tr("Connect to another Desk server or file"))
        self.change_button.clicked.connect(lambda: self.done(self.CHANGE_CONNECTION))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.reject)
        self.sign_in_button = QPushButton(self.tr("Sign in"))
        self.sign_in_button.clicked.connect(self._sign_in)
        lay_out_dialog(
            self,
            [heading, self.connection],
            form,
            self.message,
            self.change_button,
            self.cancel_button,
            self.sign_in_button,
        )

        remembered = str(QSettings().value(USERNAME_KEY, "") or "")
        self.username.setText(username if username is not None else remembered)
        self.username.textEdited.connect(self._clear_message)
        self.password.textEdited.connect(self._clear_message)
        self._show_message(message)
        # The remembered username is usually right: start where the typing is.
        (self.password if self.username.text() else self.username).setFocus()
        self._keyring_known = asyncio.Event()
        if keyring is None:
            self._keyring_known.set()
        else:
            self._ask_keyring(keyring)

    @async_slot
    async def _ask_keyring(self, keyring: Callable[[], bool]) -> None:
        try:
            available = await run(self._executor, keyring)
        finally:
            self._keyring_known.set()
        if not isValid(self):  # closed meanwhile
            return
        self.stay_signed_in.setEnabled(available)
        self.stay_signed_in.setChecked(available and bool(QSettings().value(STAY_KEY, False, type=bool)))
        if not available:
            self.no_keyring.show()
            self.adjustSize()  # room for the note's two lines

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        mark_invalid(self.password, bool(text))

    def _clear_message(self) -> None:
        if self.message.text():
            self._show_message("")

    @async_slot
    async def _sign_in(self) -> None:
        username = self.username.text().strip()
        if not username:
            self._show_message(self.tr("Enter your username."))
            self.username.setFocus()
            return
        self.sign_in_button.setEnabled(False)
        self.sign_in_button.setText(self.tr("Signing in…"))
        refusal = ""
        agent: AgentActor | None = None
        # One loader at a time: the keyring's backends and what signing in loads (pydantic) share modules, and
        # two threads importing the same package at once can see it half made.
        await self._keyring_known.wait()
        try:
            agent = await run(self._executor, self._check, username, self.password.text())
        except DeskError as error:  # wrong password, locked out, server or database away: the service's words
            refusal = str(error)
        if not isValid(self):  # cancelled and deleted while the service answered
            return
        self.sign_in_button.setEnabled(True)
        self.sign_in_button.setText(self.tr("Sign in"))
        if agent is None:
            self._show_message(refusal)
            self.password.selectAll()
            self.password.setFocus()
            return
        QSettings().setValue(USERNAME_KEY, username)
        if self.stay_signed_in.isEnabled():
            QSettings().setValue(STAY_KEY, self.stay_signed_in.isChecked())
        self.agent = agent
        self.accept()
