"""A new help desk's first step: creating its first administrator, in place of signing in.

Shown when the help desk has no agent at all (a new SQLite file, or a Desk server on a new database). Against a
server it also asks for the set-up code `desk serve` printed at start, so that whoever reaches a new server first
does not become its administrator. The administrator then sets up the rest in File › Administration.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from shiboken6 import isValid

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

from desk.domain.errors import DeskError, Invalid
from desk.domain.permissions import AgentActor
from desk.ui import icons
from desk.ui.connect import lay_out_dialog, mark_invalid
from desk.ui.login import USERNAME_KEY, LoginDialog
from desk.ui.tasks import async_slot, run
from desk.ui.widgets import label

# Creates the administrator and signs them in: (username, name, email, password, set-up code).
Create = Callable[[str, str, str, str, str], AgentActor]


class FirstAdministratorDialog(QDialog):
    """The first administrator's name, username, address and password (typed twice), and a server's set-up code.

    Finishes with Accepted (then `agent` is the new administrator, signed in), Rejected, or
    LoginDialog.CHANGE_CONNECTION.

    Attributes:
        fields: the inputs by the name the service's refusals use ("username", "name", "email", "password",
            "repeat", "code"); errors: the line under each.
    """

    def __init__(
        self, create: Create, executor: ThreadPoolExecutor, parent: QWidget | None = None, *, connection: str = "",
        ask_code: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.agent: AgentActor | None = None
        self._create = create
        self._executor = executor
        self.setWindowTitle(self.tr("Set up Desk"))
        self.setWindowIcon(icons.icon("settings"))
        self.setMinimumWidth(480)
        heading = label(self.tr("Set up your help desk"), "heading")
        intro = label(
            self.tr(
                "This help desk is new: create its first administrator. You then add agents, departments, "
                "mailboxes and the rest in File › Administration."
            ),
            "muted",
            wrap=True,
        )
        where = label(connection, "muted")
        self.fields = {
            "name": QLineEdit(placeholderText=self.tr("e.g. Ada Lindqvist")),
            "username": QLineEdit(placeholderText=self.tr("e.g. ada")),
            "email": QLineEdit(placeholderText=self.tr("e.g. ada@example.com")),
            "password": QLineEdit(echoMode=QLineEdit.EchoMode.Password),
            "repeat": QLineEdit(echoMode=QLineEdit.EchoMode.Password),
            "code": QLineEdit(placeholderText="XXXX-XXXX-XXXX"),
        }
        titles = {
            "name": self.tr("Your name:"),
            "username": self.tr("Username:"),
            "email": self.tr("Email:"),
            "password": self.tr("Password:"),
            "repeat": self.tr("Repeat it:"),
            "code": self.tr("Set-up code:"),
        }
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.errors = {}
        for name, field in self.fields.items():
            if name == "code" and not ask_code:
                continue
            self.form.addRow(titles[name], field)
            error = label("", "error", wrap=True)
            error.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            self.form.addRow("", error)
            self.form.setRowVisible(error, False)
            self.errors[name] = error
            field.textEdited.connect(lambda _text, name=name: self._show_errors({}, keep=name))
        if ask_code:
            hint = label(self.tr("`desk serve` printed it when it started, on the server."), "muted", wrap=True)
            hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            self.form.addRow("", hint)
        self.message = label(role="error", wrap=True)
        self.message.hide()
        self.change_button = QPushButton(self.tr("Change connection…"))
        self.change_button.setFlat(True)
        self.change_button.clicked.connect(lambda: self.done(LoginDialog.CHANGE_CONNECTION))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.reject)
        self.create_button = QPushButton(self.tr("Create administrator"))
        self.create_button.clicked.connect(self._submit)
        lay_out_dialog(
            self, [heading, intro, where], self.form, self.message, self.change_button, self.cancel_button,
            self.create_button,
        )  # fmt: skip
        self.fields["name"].setFocus()

    def _show_errors(self, errors: dict[str, str], *, keep: str | None = None) -> None:
        """Each refused field's message under it; `keep`: clear only that field's (it is being retyped)."""
        for name, error in self.errors.items():
            if keep is not None and name != keep:
                continue
            error.setText(errors.get(name, ""))
            self.form.setRowVisible(error, name in errors)
            mark_invalid(self.fields[name], name in errors)
        self.adjustSize()  # room for the messages' lines

    @async_slot
    async def _submit(self) -> None:
        text = {name: field.text() for name, field in self.fields.items()}
        missing = {n: self.tr("Fill this in.") for n in self.errors if not text[n].strip() and n != "repeat"}
        if text["password"] != text["repeat"]:
            missing["repeat"] = self.tr("The two passwords differ: type the same one twice.")
        self._show_errors(missing)
        self.message.hide()
        if missing:
            return
        self.create_button.setEnabled(False)
        try:
            agent = await run(
                self._executor, self._create, text["username"], text["name"], text["email"], text["password"],
                text["code"],
            )  # fmt: skip
        except Invalid as error:
            if isValid(self):
                self._show_errors(dict(error.fields))
                if not set(error.fields) & set(self.errors):
                    self.message.setText(str(error))
                    self.message.show()
            return
        except DeskError as error:
            if isValid(self):
                self.message.setText(str(error))
                self.message.show()
                self.adjustSize()
            return
        finally:
            if isValid(self):
                self.create_button.setEnabled(True)
        if isValid(self):
            QSettings().setValue(USERNAME_KEY, text["username"].strip().lower())
            self.agent = agent
            self.accept()
