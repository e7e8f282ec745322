"""Where the help desk is: a Desk server (a team) or a SQLite file on this computer (one person), never a database
login.

A team's Desk reaches its help desk through `desk serve`, which alone holds the database login: the agent gives
the server's address and signs in there. A single seat opens a local SQLite file itself. The connection dialog
asks for one or the other, tries it in a worker thread ("Test connection": the server says hello, the file is
opened and its schema checked) and says what happened in plain words. QSettings remembers the address or the path.

`reach` is the one way start-up and the dialog get to the services: a server's certificate is checked first
(`trusted_server`), then the server says hello, or the database is opened and its schema checked. Failures
become a `ConnectionProblem` whose message a person can act on. A database URL given on the command line (an
administrator on the server machine, the tests) is opened the same way, but the dialog never offers one.
"""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from shiboken6 import isValid

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desk import __version__
from desk.client import tls
from desk.client.remote import RemoteServices, check_server_url, is_server_url
from desk.client.services import Services
from desk.config import data_dir
from desk.domain.errors import ConnectionProblem, DatabaseUnavailable, DeskError, Invalid, ServerUnreachable
from desk.keyring_store import remember_password
from desk.ui import icons, theme, widgets
from desk.ui.tasks import async_slot, run
from desk.ui.trust import TrustDialog
from desk.ui.widgets import set_role

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

SETTINGS_GROUP = "connection"
# What a Desk before issue 14 remembered: a PostgreSQL or MariaDB login ("engine", "host", …; the password in the
# keyring under "user@host:port/database"). Forgotten once a server or a file is chosen.
OLD_KEYS = ("engine", "sqlite_path", "host", "port", "database", "user", "tls", "ca_file")
TEAM_SERVER = (
    "Desk no longer connects to the team's database itself: a team's help desk is now reached through its Desk "
    "server (desk serve). Ask your administrator for the Desk server's address (https://…) and its certificate's "
    "fingerprint, and enter the address here."
)


def is_server(url: str | URL) -> TypeGuard[str]:
    """Whether `url` names a Desk server rather than a database."""
    return isinstance(url, str) and is_server_url(url)


def server_address(typed: str) -> str:
    """The Desk server's address as typed, checked (Invalid if it is none). Without a scheme it is https://: an
    administrator may hand out "desk.example.lan:8443", and https:// is what a server on the LAN speaks."""
    text = typed.strip()
    return check_server_url(text if "://" in text or not text else "https://" + text)


# --- what is remembered -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Remembered:
    """What the connection dialog remembers: a Desk server's address, a SQLite file, and which of them is in use."""

    server: str = ""
    file: str = ""
    use_file: bool = False

    @classmethod
    def load(cls) -> Remembered | None:
        """The connection remembered in QSettings, or None (the first start, or an old database login)."""
        store = QSettings()
        store.beginGroup(SETTINGS_GROUP)
        kind = str(store.value("kind", "") or "")
        if not kind and store.value("engine") == "sqlite":  # an older Desk's single seat: the same file
            return cls(file=str(store.value("sqlite_path", "") or ""), use_file=True)
        if kind not in ("server", "file"):
            return None
        return cls(str(store.value("server", "") or ""), str(store.value("file", "") or ""), kind == "file")

    @classmethod
    def of(cls, url: str | URL) -> Remembered | None:
        """The dialog's fields for a URL in use (None for a database server: the dialog never offers one)."""
        if is_server(url):
            return cls(server=url)
        from desk.client import local  # see local_services

        file = local.sqlite_file(url)
        return cls(file=file, use_file=True) if file is not None else None

    def save(self) -> None:
        store = QSettings()
        store.beginGroup(SETTINGS_GROUP)
        store.setValue("kind", "file" if self.use_file else "server")
        store.setValue("server", self.server)
        store.setValue("file", self.file)
        store.endGroup()
        store.sync()

    def url(self) -> str | URL:
        """The server's address, or the SQLite file's URL."""
        if not self.use_file:
            return self.server
        from desk.client import local  # see local_services

        return local.sqlite_url(self.file)


def remembered_database_login() -> bool:
    """Whether an older Desk remembered a PostgreSQL or MariaDB login here (now reached through `desk serve`)."""
    return QSettings().value(f"{SETTINGS_GROUP}/engine") in ("postgresql", "mariadb")


def forget_database_login() -> None:
    """Remove what an older Desk remembered of a database login: its fields, and its password from the keyring.
    Blocking (the keyring may talk to a daemon): call in a worker thread."""
    store = QSettings()
    store.beginGroup(SETTINGS_GROUP)
    if store.value("engine") in ("postgresql", "mariadb"):
        fields = [str(store.value(key, "") or "") for key in ("user", "host", "port", "database")]
        remember_password("{}@{}:{}/{}".format(*fields), None)
    for key in OLD_KEYS:
        store.remove(key)
    store.endGroup()
    store.sync()


# --- reaching the help desk (worker thread, but for the certificate check) -----------------------------------------


def describe_url(url: str | URL) -> str:
    """The help desk in a few words for the status bar, without a password: "SQLite ~/…/desk/desk.db", a Desk
    server's address, or (given on the command line) "PostgreSQL desk@dbhost/desk"."""
    if is_server(url):
        return url
    from desk.client import local  # see local_services

    return local.describe(url)


def local_services(url: str | URL) -> Services:
    """A database this Desk opens itself. The database stack (SQLAlchemy, the models, the services) is loaded here,
    for a single seat, not at start-up: a team's Desk shows its sign-in without it."""
    from desk.client import local

    return local.open_services(url)


def new_file_services(path: str) -> Services:
    """A new, empty help desk in a SQLite file made at `path` (desk.client.local.create_file)."""
    from desk.client import local

    return local.create_file(path)


def open_services(url: str | URL, verify: ssl.SSLContext | bool = True) -> Services:
    """The help desk at `url`, checked to be usable; ConnectionProblem if not. Blocking: call in a worker thread."""
    if not is_server(url):
        return local_services(url)
    try:
        remote = RemoteServices(url, verify=verify)
    except Invalid as error:  # a configured address that is none
        raise ConnectionProblem(str(error), field="address") from error
    try:
        remote.hello()
    except DatabaseUnavailable as error:
        remote.close()
        raise ConnectionProblem(
            f"The Desk server at {remote.url} answers, but cannot reach its database. Tell your administrator, "
            "and try again once it is back."
        ) from error
    except ServerUnreachable as error:
        remote.close()
        cause = f" ({error.__cause__})" if error.__cause__ else ""
        raise ConnectionProblem(
            f"Nothing answers at {remote.url}{cause}. Check the address, and that the Desk server is running.",
            field="address",
        ) from error
    except DeskError as error:  # something else answers there
        remote.close()
        raise ConnectionProblem(str(error), field="address") from error
    if remote.version != __version__:  # the calls are typed from each side's own services: they must be the same
        remote.close()
        raise ConnectionProblem(
            f"The Desk server at {remote.url} runs Desk {remote.version}, and this computer has Desk {__version__}. "
            f"Install Desk {remote.version} here (your administrator has it), then connect again."
        )
    return remote


async def trusted_server(parent: QWidget | None, executor: ThreadPoolExecutor, url: str) -> ssl.SSLContext | bool:
    """How the server's TLS certificate is verified, decided before anything is sent to it: trusted by the system,
    or pinned on first use with the agent's consent (desk.client.tls, the trust dialog); ConnectionProblem when the
    agent does not trust it."""
    try:
        if tls.server_address(url).scheme == "http":  # to this machine only (tls refuses any other)
            return True
    except Invalid as error:
        raise ConnectionProblem(str(error), field="address") from error
    known = tls.KnownServers()
    try:
        verdict = await run(executor, tls.check_server, url, known)
    except DeskError as error:  # not an address, nothing answers, no TLS Desk can use
        raise ConnectionProblem(str(error), field="address") from error
    if verdict.needs_consent and not await TrustDialog.ask(parent, verdict):
        raise ConnectionProblem("Desk did not connect: you did not trust the server's certificate.", field="address")
    await run(executor, known.accept, verdict)
    context = verdict.context()
    return context if context is not None else True  # None: plain http:// to this machine


async def reach(parent: QWidget | None, executor: ThreadPoolExecutor, url: str | URL) -> Services:
    """The services at `url`, usable; ConnectionProblem if not."""
    verify = await trusted_server(parent, executor, url) if is_server(url) else True
    return await run(executor, open_services, url, verify)


# --- the dialog ---------------------------------------------------------------------------------------------------


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    widget.setProperty("invalid", "true" if invalid else "false")
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def lay_out_dialog(
    dialog: QDialog,
    top: list[QLabel],
    form: QFormLayout,
    message: QLabel,
    aside: QPushButton,
    cancel: QPushButton,
    primary: QPushButton,
) -> None:
    """The start-up dialogs' shape: heading lines, the form, a message, then [aside] … [Cancel] [primary]."""
    primary.setProperty("role", "primary")
    primary.setDefault(True)
    buttons = QHBoxLayout()
    buttons.addWidget(aside)
    buttons.addStretch(1)
    buttons.addWidget(cancel)
    buttons.addWidget(primary)
    layout = QVBoxLayout(dialog)
    layout.setSpacing(10)
    for line in top:
        layout.addWidget(line)
    layout.addSpacing(4)
    layout.addLayout(form)
    layout.addWidget(message)
    layout.addStretch(1)
    layout.addSpacing(8)
    layout.addLayout(buttons)


class ConnectionDialog(QDialog):
    """Where the help desk is: a Desk server's address, or a SQLite file on this computer.

    "Test connection" and "Connect" both reach it in a worker thread and say what happened in the dialog.
    "Connect" then remembers the choice (forgetting an older Desk's database login) and accepts. Over such a
    login, the dialog starts by saying that a team's help desk is now reached through its Desk server.

    Attributes:
        services: after "Connect" succeeded, the help desk's services (a signed-out server, or the opened,
            schema-checked file); the caller owns them.
    """

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        parent: QWidget | None = None,
        *,
        initial: Remembered | None = None,
        message: str = "",
    ) -> None:
        super().__init__(parent)
        self.services: Services | None = None
        self._executor = executor
        self.setWindowTitle(self.tr("Connect to Desk"))
        self.setWindowIcon(icons.icon("database"))
        self.setMinimumWidth(540)

        heading = widgets.label(self.tr("Where is your help desk?"), "heading")
        intro = widgets.label(
            self.tr(
                "A team's help desk runs on a Desk server: your administrator gives you its address. "
                "A file on this computer is for one person, or for trying Desk out."
            ),
            "muted",
            wrap=True,
        )
        self.server = QRadioButton(self.tr("Desk server"))
        self.file = QRadioButton(self.tr("File on this computer"))
        kinds = QWidget()
        kinds_layout = QHBoxLayout(kinds)
        kinds_layout.setContentsMargins(0, 0, 0, 0)
        kinds_layout.setSpacing(18)
        kinds_layout.addWidget(self.server)
        kinds_layout.addWidget(self.file)
        kinds_layout.addStretch(1)

        self.address = QLineEdit()
        self.address.setPlaceholderText("https://desk.example.lan:8443")
        self.path = QLineEdit()
        self.path.setPlaceholderText(str(data_dir() / "desk.db"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        self._path_row = QWidget()
        path_layout = QHBoxLayout(self._path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.path, 1)
        path_layout.addWidget(browse)
        self._inputs: dict[str, QLineEdit] = {"address": self.address, "path": self.path}
        self._rows: dict[str, QWidget] = {"address": self.address, "path": self._path_row}
        self.errors = {name: widgets.label(role="error", wrap=True) for name in self._inputs}
        for error in self.errors.values():  # the field's whole width: a form row keeps a label at its size hint
            error.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.addRow(self.tr("Connect to:"), kinds)
        self.form.addRow(self.tr("Address:"), self.address)
        self.form.addRow("", self.errors["address"])
        self.form.addRow(self.tr("File:"), self._path_row)
        self.form.addRow("", self.errors["path"])

        self.outcome = widgets.label(wrap=True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()

        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self._test)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.reject)
        self.connect_button = QPushButton(self.tr("Connect"))
        self.connect_button.clicked.connect(self._connect)
        lay_out_dialog(
            self, [heading, intro], self.form, self.outcome, self.test_button, self.cancel_button, self.connect_button
        )

        start = initial or Remembered.load() or _first_start()
        self.address.setText(start.server)
        self.path.setText(start.file)
        (self.file if start.use_file else self.server).setChecked(True)
        self.server.toggled.connect(self._kind_changed)
        self.server.toggled.connect(self._name_connect)
        self.path.textChanged.connect(self._name_connect)
        self._name_connect()
        for name, field in self._inputs.items():
            field.textEdited.connect(lambda _text, name=name: self._clear_error(name))
        self._show_errors({})
        if message:
            self._show_outcome(message, "error")
        elif remembered_database_login():
            self._show_outcome(TEAM_SERVER, "banner")

    # --- public ---------------------------------------------------------------------------------------------------

    def chosen(self) -> Remembered:
        """The fields as they stand."""
        return Remembered(self.address.text().strip(), self.path.text().strip(), self.file.isChecked())

    # --- private --------------------------------------------------------------------------------------------------

    def _kind_changed(self) -> None:
        self._show_outcome("", "muted")
        self._show_errors({})
        (self.address if self.server.isChecked() else self.path).setFocus()

    def _validate(self, *, creating: bool = False) -> tuple[str | URL, dict[str, str]]:
        """The URL to reach (or, `creating`, the file to make), and what to fix in which field first."""
        chosen = self.chosen()
        if not chosen.use_file:
            try:
                return server_address(chosen.server), {}
            except Invalid as error:
                return "", {"address": str(error)}
        path = Path(chosen.file).expanduser()
        if not chosen.file:
            return "", {"path": self.tr("Choose the database file.")}
        if path.is_dir():
            return "", {"path": self.tr("This is a folder: choose the database file in it.")}
        if not path.exists() and not creating:
            return "", {"path": self.tr("No file here yet: “Create help desk” makes a new, empty help desk in it.")}
        return chosen.url(), {}

    def _is_new_file(self) -> bool:
        """Whether the chosen file does not exist yet: Connect then makes a new help desk in it."""
        chosen = self.chosen()
        return chosen.use_file and bool(chosen.file) and not Path(chosen.file).expanduser().exists()

    def _name_connect(self) -> None:
        self.connect_button.setText(self.tr("Create help desk") if self._is_new_file() else self.tr("Connect"))

    def _show_errors(self, errors: dict[str, str]) -> None:
        server = self.server.isChecked()
        self.form.setRowVisible(self.address, server)
        self.form.setRowVisible(self._path_row, not server)
        for name, label in self.errors.items():
            label.setText(errors.get(name, ""))
            self.form.setRowVisible(label, name in errors)
            mark_invalid(self._inputs[name], name in errors)
        self._fit()

    def _clear_error(self, name: str) -> None:
        # What was tried no longer describes the fields.
        if self.outcome.isVisible() and self.test_button.isEnabled():
            self._show_outcome("", "muted")
        if self.errors[name].text():
            self.errors[name].clear()
            self.form.setRowVisible(self.errors[name], False)
        mark_invalid(self._inputs[name], False)

    def _show_outcome(self, text: str, role: str) -> None:
        self.outcome.setText(text)
        self.outcome.setVisible(bool(text))
        if role == "success":
            # The shared style sheet has no success role; the colour still comes from the theme's token.
            set_role(self.outcome, "")
            self.outcome.setStyleSheet(f"color: {theme.hex_of('success')};")
        else:
            self.outcome.setStyleSheet("")
            set_role(self.outcome, role)
        self._fit()

    def _fit(self) -> None:
        """The height the rows shown need at the dialog's width. (adjustSize() wraps the labels at the narrower
        size hint, then the minimum width leaves the extra lines' height empty.)"""
        width = self.width() if self.isVisible() else max(self.minimumWidth(), self.sizeHint().width())
        layout = self.layout()
        if layout is not None:
            self.resize(width, layout.totalHeightForWidth(width))

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.test_button, self.connect_button, self.server, self.file):
            widget.setEnabled(not busy)

    async def _try(self, *, creating: bool = False) -> Services | None:
        """Validate, then reach the help desk (`creating`: make it first, in a new file); show the outcome. The
        services (the caller owns them), or None."""
        url, errors = self._validate(creating=creating)
        self._show_errors(errors)
        if errors:
            self._show_outcome("", "muted")
            return None
        self._set_busy(True)
        doing = self.tr("Making a new help desk in {0}…") if creating else self.tr("Connecting to {0}…")
        self._show_outcome(doing.format(describe_url(url)), "muted")
        services: Services | None = None
        problem: ConnectionProblem | None = None
        try:
            if creating:
                services = await run(self._executor, new_file_services, self.chosen().file)
            else:
                services = await reach(self, self._executor, url)
        except ConnectionProblem as error:
            problem = error
        if not isValid(self):  # cancelled and deleted while connecting: nobody will take these services
            if services is not None:
                services.close()
            return None
        self._set_busy(False)
        if problem is not None:
            self._show_outcome(str(problem), "error")
            if problem.field in self._inputs and self._rows[problem.field].isVisible():
                mark_invalid(self._inputs[problem.field], True)
        return services

    @async_slot
    async def _test(self) -> None:
        services = await self._try()
        if services is None:
            return
        if isinstance(services, RemoteServices):
            said = self.tr("Desk {0} answers at {1}, and its database is up.").format(services.version, services.url)
        else:
            said = self.tr("Opened. Schema up to date.")
        services.close()
        self._show_outcome(said, "success")

    @async_slot
    async def _connect(self) -> None:
        services = await self._try(creating=self._is_new_file())
        if services is None:
            return
        if self.isVisible():
            await run(self._executor, forget_database_login)
        if not isValid(self) or not self.isVisible():  # cancelled meanwhile
            services.close()
            return
        chosen = self.chosen()
        if isinstance(services, RemoteServices):
            chosen = Remembered(services.url, chosen.file, False)
        chosen.save()
        self.services = services
        self.accept()

    def _browse(self) -> None:
        # Non-modal open() keeps the qasync loop running (STYLE rule 30).
        text = self.path.text()
        chooser = QFileDialog(
            self,
            self.tr("Choose the Desk database file"),
            str(Path(text).expanduser().parent) if text else "",
            self.tr("SQLite databases (*.db *.sqlite);;All files (*)"),
        )
        chooser.setFileMode(QFileDialog.FileMode.AnyFile)  # a new name makes a new help desk
        chooser.fileSelected.connect(self.path.setText)
        chooser.fileSelected.connect(lambda _path: self._clear_error("path"))
        chooser.open()


def _first_start() -> Remembered:
    """Before anything is remembered: the local SQLite file when one exists (the demo), else a server."""
    local = data_dir() / "desk.db"
    return Remembered(file=str(local), use_file=True) if local.is_file() else Remembered()
