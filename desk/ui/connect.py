"""Choosing the database: the connection dialog, the URL it builds, and what to tell a person when it fails.

The dialog builds a SQLAlchemy URL from plain fields (engine, server, port, database, user, password, TLS), tries it
in a worker thread, and says in plain words what happened: connected, no such server, wrong password, wrong schema.
The fields are remembered in QSettings; the password never is: it goes to the system keyring when there is one.

`open_database` is the one way start-up and the dialog open a database: connect, check the schema, and turn
driver errors into a `ConnectionProblem` whose message a person can act on. It runs in a worker thread.
"""

from __future__ import annotations

import enum
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shiboken6 import isValid
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.config import data_dir
from desk.domain.errors import DeskError, SchemaMismatch
from desk.keyring_store import keyring_available, remember_password, stored_password
from desk.storage.db import Database, check_schema, normalize_url
from desk.ui import icons, theme, widgets
from desk.ui.tasks import async_slot, run
from desk.ui.widgets import set_role

SETTINGS_GROUP = "connection"


class EngineKind(enum.Enum):
    """The database engines Desk runs on."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    MARIADB = "mariadb"


class TlsMode(enum.Enum):
    """How the connection to a database server is encrypted, in the words of libpq's sslmode."""

    OFF = "off"
    PREFER = "prefer"
    REQUIRE = "require"
    VERIFY = "verify"


ENGINES: dict[EngineKind, str] = {
    EngineKind.SQLITE: "SQLite file",
    EngineKind.POSTGRESQL: "PostgreSQL",
    EngineKind.MARIADB: "MariaDB",
}
DEFAULT_PORTS: dict[EngineKind, int] = {EngineKind.POSTGRESQL: 5432, EngineKind.MARIADB: 3306}
TLS_MODES: dict[TlsMode, str] = {
    TlsMode.OFF: "Off",
    TlsMode.PREFER: "Prefer (encrypt when the server can)",
    TlsMode.REQUIRE: "Require (encrypt, don't check the certificate)",
    TlsMode.VERIFY: "Verify (encrypt and check the server's certificate)",
}
# The name shown in the status bar for each SQLAlchemy backend.
_BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB", "mysql": "MySQL"}
_DRIVERS = {EngineKind.POSTGRESQL: "postgresql+psycopg", EngineKind.MARIADB: "mariadb+pymysql"}
_PG_SSLMODES = {
    TlsMode.OFF: "disable",
    TlsMode.PREFER: "prefer",
    TlsMode.REQUIRE: "require",
    TlsMode.VERIFY: "verify-full",
}


class ConnectionProblem(DeskError):
    """The database cannot be used; the message says why and what to do.

    Attributes:
        field: the dialog field the problem is about ("password", "database", "path"), if any.
        schema: True when the server answered but its schema is not this Desk's.
    """

    def __init__(self, message: str, *, field: str | None = None, schema: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.schema = schema


# --- URLs -------------------------------------------------------------------------------------------------------


def _tls_query(engine: EngineKind, tls: TlsMode, ca_file: str) -> dict[str, str]:
    """The driver's own query options for a TLS mode (psycopg passes libpq's; PyMySQL has its own names)."""
    if engine is EngineKind.POSTGRESQL:
        query = {"sslmode": _PG_SSLMODES[tls]}
        if tls is TlsMode.VERIFY:
            # "system" (libpq 16+) checks against the operating system's certificates when no CA file is given.
            query["sslrootcert"] = ca_file or "system"
        return query
    # PyMySQL already tries TLS and falls back to plain when the server has none, which is exactly "prefer".
    if tls is TlsMode.OFF:
        return {"ssl_disabled": "true"}
    if tls is TlsMode.REQUIRE:
        # Any ssl_* option makes PyMySQL insist on TLS; "false" is read as "don't verify the certificate".
        return {"ssl_verify_cert": "false"}
    if tls is TlsMode.VERIFY:
        # SQLAlchemy folds ssl_ca and ssl_check_hostname into PyMySQL's `ssl` dict. They must not be mixed with
        # ssl_verify_cert, which makes PyMySQL rebuild that dict and drop the CA file.
        return {"ssl_ca": ca_file, "ssl_check_hostname": "true"} if ca_file else {"ssl_verify_cert": "true"}
    return {}


def _shorten_path(path: Path) -> str:
    """A path short enough for the status bar: home as ~, and only the folder and file name."""
    try:
        shown = Path("~") / path.relative_to(Path.home())
    except ValueError:
        shown = path
    parts = shown.parts
    if len(parts) <= 3:
        return str(shown)
    return str(Path(parts[0], "…", *parts[-2:]))


def describe_url(url: str | URL) -> str:
    """The connection in a few words for the status bar, without the password: "PostgreSQL desk@dbhost/desk"."""
    try:
        parsed = normalize_url(url)
    except ArgumentError:
        return "Database"
    backend = parsed.get_backend_name()
    name = _BACKEND_NAMES.get(backend, backend)
    if backend == "sqlite":
        return f"{name} {_shorten_path(Path(parsed.database or ':memory:').expanduser())}"
    host = parsed.host or "localhost"
    default_port = DEFAULT_PORTS[EngineKind.POSTGRESQL if backend == "postgresql" else EngineKind.MARIADB]
    if parsed.port and parsed.port != default_port:
        host = f"{host}:{parsed.port}"
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{name} {user}{host}/{parsed.database or ''}"


@dataclass(frozen=True)
class ConnectionSettings:
    """What the connection dialog remembers: everything to reach the database except the password."""

    engine: EngineKind = EngineKind.SQLITE
    sqlite_path: str = ""
    host: str = ""
    port: int = 0
    database: str = "desk"
    user: str = ""
    tls: TlsMode = TlsMode.PREFER
    ca_file: str = ""

    @classmethod
    def load(cls) -> ConnectionSettings | None:
        """The connection remembered in QSettings, or None on the first start."""
        store = QSettings()
        store.beginGroup(SETTINGS_GROUP)
        try:
            engine = EngineKind(str(store.value("engine", "")))
            tls = TlsMode(str(store.value("tls", TlsMode.PREFER.value)))
        except ValueError:  # nothing remembered yet, or written by a newer Desk
            return None
        try:
            port = int(str(store.value("port", 0)))
        except ValueError:
            port = 0

        def text(key: str) -> str:
            return str(store.value(key, "") or "")

        return cls(
            engine=engine,
            sqlite_path=text("sqlite_path"),
            host=text("host"),
            port=port or DEFAULT_PORTS.get(engine, 0),
            database=text("database"),
            user=text("user"),
            tls=tls,
            ca_file=text("ca_file"),
        )

    @classmethod
    def from_url(cls, url: str | URL) -> ConnectionSettings:
        """The fields for a URL given on the command line or in DESK_DATABASE_URL (to start the dialog from)."""
        parsed = normalize_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            return cls(engine=EngineKind.SQLITE, sqlite_path=parsed.database or "")
        engine = EngineKind.POSTGRESQL if backend == "postgresql" else EngineKind.MARIADB
        query = {key: str(value) for key, value in parsed.query.items()}
        sslmode = query.get("sslmode", "")
        tls = {mode: tls for tls, mode in _PG_SSLMODES.items()}.get(sslmode, TlsMode.PREFER)
        if "ssl_disabled" in query:
            tls = TlsMode.OFF
        elif "ssl_ca" in query or query.get("ssl_verify_cert") == "true":
            tls = TlsMode.VERIFY
        elif "ssl_verify_cert" in query:
            tls = TlsMode.REQUIRE
        ca_file = query.get("sslrootcert", query.get("ssl_ca", ""))
        return cls(
            engine=engine,
            host=parsed.host or "",
            port=parsed.port or DEFAULT_PORTS[engine],
            database=parsed.database or "",
            user=parsed.username or "",
            tls=tls,
            ca_file="" if ca_file == "system" else ca_file,
        )

    def save(self) -> None:
        """Remember these fields (never a password) for the next start."""
        store = QSettings()
        store.beginGroup(SETTINGS_GROUP)
        for key, value in (
            ("engine", self.engine.value),
            ("sqlite_path", self.sqlite_path),
            ("host", self.host),
            ("port", self.port),
            ("database", self.database),
            ("user", self.user),
            ("tls", self.tls.value),
            ("ca_file", self.ca_file),
        ):
            store.setValue(key, value)
        store.endGroup()
        store.sync()

    def url(self, password: str | None = None) -> URL:
        """The SQLAlchemy URL; URL.create quotes a password with @, / or % in it correctly."""
        if self.engine is EngineKind.SQLITE:
            return URL.create("sqlite", database=str(Path(self.sqlite_path).expanduser()))
        return URL.create(
            _DRIVERS[self.engine],
            username=self.user or None,
            password=password or None,
            host=self.host,
            port=self.port,
            database=self.database,
            query=_tls_query(self.engine, self.tls, self.ca_file),
        )

    def keyring_key(self) -> str:
        """Which keyring entry holds this connection's password."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def label(self) -> str:
        return describe_url(self.url())


# --- opening a database (worker thread) ---------------------------------------------------------------------------

_AUTH = re.compile(
    r"password authentication failed|authentication failed|role \".*\" does not exist|no pg_hba\.conf entry"
    r"|access denied|password is required|no password supplied",
    re.IGNORECASE,
)
_NO_DATABASE = re.compile(r"database \".*\" does not exist|unknown database", re.IGNORECASE)
_TLS = re.compile(r"ssl|tls|certificate", re.IGNORECASE)
_REFUSED = re.compile(r"connection refused|errno 111|actively refused|10061", re.IGNORECASE)
_NO_HOST = re.compile(
    r"resolve host|translate host name|name or service not known|nodename nor servname|getaddrinfo"
    r"|no address associated|temporary failure in name resolution",
    re.IGNORECASE,
)
_TIMEOUT = re.compile(r"timeout expired|timed out", re.IGNORECASE)


def describe_failure(error: DBAPIError, url: URL) -> ConnectionProblem:
    """What a driver's connection error means for the person at the keyboard.

    psycopg gives no SQLSTATE for errors raised while connecting, so both drivers are read by their message.
    """
    detail = str(error.orig if error.orig is not None else error).strip()
    first_line = detail.splitlines()[0] if detail else type(error).__name__
    if url.get_backend_name() == "sqlite":
        return ConnectionProblem(f"{url.database} cannot be opened as a Desk database: {first_line}.", field="path")
    where = f"{url.host}:{url.port}" if url.port else str(url.host)
    if _AUTH.search(detail):
        return ConnectionProblem("Wrong user name or password.", field="password")
    if _NO_DATABASE.search(detail):
        return ConnectionProblem(
            f"There is no database “{url.database}” on {where}. "
            "Check the name, or ask your administrator to create it.",
            field="database",
        )
    if _REFUSED.search(detail):
        return ConnectionProblem(f"Cannot reach {where}: connection refused — is the server running and reachable?")
    if _NO_HOST.search(detail):
        return ConnectionProblem(f"Cannot reach {where}: there is no computer of that name — check the server name.")
    if _TIMEOUT.search(detail):
        return ConnectionProblem(
            f"Cannot reach {where}: no answer in time — check the address, and that no firewall is in the way."
        )
    if _TLS.search(detail):
        return ConnectionProblem(
            f"The encrypted connection to {where} failed: {first_line}. "
            "Choose another encryption (TLS) setting, or ask your administrator which one the server needs.",
            field="tls",
        )
    return ConnectionProblem(f"Cannot connect to {where}: {first_line}")


def _check_sqlite_file(url: URL) -> None:
    # SQLite would quietly create a missing file: an empty database is never what the person meant.
    if not url.database or url.database == ":memory:":
        return
    path = Path(url.database).expanduser()
    if not path.is_file():
        raise ConnectionProblem(
            f"There is no database file at {path}. Check the path, or create the database with `desk db upgrade`.",
            field="path",
        )


def open_database(url: str | URL) -> Database:
    """Connect and check the schema; the Database on success, else a ConnectionProblem. Runs in a worker thread."""
    try:
        parsed = normalize_url(url)
    except ArgumentError as error:
        raise ConnectionProblem(f"The database address is not valid: {error}.") from error
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed)
    try:
        db = Database(parsed)
    except ArgumentError as error:  # an unknown driver name, say
        raise ConnectionProblem(f"The database address is not valid: {error}.") from error
    try:
        # Connect first: check_schema reports any OperationalError as a schema problem, and an unreachable server
        # deserves its own words.
        with db.engine.connect():
            pass
        check_schema(db.engine)
    except SchemaMismatch as error:
        db.dispose()
        raise ConnectionProblem(str(error), schema=True) from error
    except DBAPIError as error:
        db.dispose()
        raise describe_failure(error, parsed) from error
    except BaseException:
        db.dispose()
        raise
    return db


def _try_connection(url: URL) -> None:
    open_database(url).dispose()


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
    layout.addLayout(buttons)


def _error_label() -> QLabel:
    # One short line each: a word-wrapped QLabel in a form row is laid out at its unwrapped height and clips.
    return widgets.label(role="error")


class ConnectionDialog(QDialog):
    """Where the Desk database is: a SQLite file, or a PostgreSQL or MariaDB server.

    "Test connection" and "Connect" both try the connection in a worker thread and say what happened in the dialog.
    "Connect" then remembers the fields (and the password in the keyring) and accepts.

    Attributes:
        database: after "Connect" succeeded, the opened, schema-checked Database; the caller owns it.
    """

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        parent: QWidget | None = None,
        *,
        initial: ConnectionSettings | None = None,
        message: str = "",
    ) -> None:
        super().__init__(parent)
        self.database: Database | None = None
        self._executor = executor
        self._keyring: bool | None = None  # unknown until the worker has asked the keyring
        self.setWindowTitle(self.tr("Connect to the Desk database"))
        self.setWindowIcon(icons.icon("database"))
        self.setMinimumWidth(520)

        heading = widgets.label(self.tr("Where is the Desk database?"), "heading")
        intro = widgets.label(
            self.tr(
                "Agents share one database on a server. Your administrator can tell you its details. "
                "A SQLite file is for trying Desk out on one computer."
            ),
            "muted",
            wrap=True,
        )

        self.engine = QComboBox()
        for kind, label in ENGINES.items():
            self.engine.addItem(label, kind)

        self.path = QLineEdit()
        self.path.setPlaceholderText(str(data_dir() / "desk.db"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse_database)
        self.host = QLineEdit()
        self.host.setPlaceholderText(self.tr("dbserver.example.lan or 10.0.0.5"))
        self.port = QLineEdit()
        self.port.setValidator(QIntValidator(1, 65535, self.port))
        self.port.setMaximumWidth(90)
        self.database_name = QLineEdit()
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox(self.tr("Remember the password in the system keyring"))
        self.remember.setChecked(True)
        self.keyring_note = widgets.label(role="muted")
        self.keyring_note.hide()
        self.tls = QComboBox()
        for mode, label in TLS_MODES.items():
            self.tls.addItem(label, mode)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText(self.tr("Optional; else the system's certificates"))
        browse_ca = QPushButton(self.tr("Browse…"))
        browse_ca.clicked.connect(self._browse_ca)

        self.errors: dict[str, QLabel] = {
            name: _error_label() for name in ("path", "host", "port", "database", "user", "password", "ca_file")
        }
        self._inputs: dict[str, QWidget] = {
            "path": self.path,
            "host": self.host,
            "port": self.port,
            "database": self.database_name,
            "user": self.user,
            "password": self.password,
            "tls": self.tls,
            "ca_file": self.ca_file,
        }

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.addRow(self.tr("Engine:"), self.engine)
        self._path_row = _with_button(self.path, browse)
        self.form.addRow(self.tr("File:"), self._path_row)
        self.form.addRow("", self.errors["path"])
        self.form.addRow(self.tr("Server:"), self.host)
        self.form.addRow("", self.errors["host"])
        self.form.addRow(self.tr("Port:"), self.port)
        self.form.addRow("", self.errors["port"])
        self.form.addRow(self.tr("Database:"), self.database_name)
        self.form.addRow("", self.errors["database"])
        self.form.addRow(self.tr("User name:"), self.user)
        self.form.addRow("", self.errors["user"])
        self.form.addRow(self.tr("Password:"), self.password)
        self.form.addRow("", self.errors["password"])
        self.form.addRow("", self.remember)
        self.form.addRow("", self.keyring_note)
        self.form.addRow(self.tr("Encryption:"), self.tls)
        self._ca_row = _with_button(self.ca_file, browse_ca)
        self.form.addRow(self.tr("CA certificate:"), self._ca_row)
        self.form.addRow("", self.errors["ca_file"])

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

        self._fill(initial or ConnectionSettings.load() or _first_start_settings())
        self.engine.currentIndexChanged.connect(self._engine_changed)
        self.tls.currentIndexChanged.connect(lambda: self._clear_error("tls"))
        self.tls.currentIndexChanged.connect(self._show_rows)
        for name, field in self._inputs.items():
            if isinstance(field, QLineEdit):
                field.textEdited.connect(lambda _text, name=name: self._clear_error(name))
        self._show_rows()
        self._show_errors({})
        if message:
            self._show_outcome(message, "error")
        self._load_password()

    # --- public ---------------------------------------------------------------------------------------------------

    def settings(self) -> ConnectionSettings:
        """The fields as they stand."""
        kind = self.engine.currentData()
        port = self.port.text().strip()
        return ConnectionSettings(
            engine=kind,
            sqlite_path=self.path.text().strip(),
            host=self.host.text().strip(),
            port=int(port) if port.isdigit() else 0,
            database=self.database_name.text().strip(),
            user=self.user.text().strip(),
            tls=self.tls.currentData(),
            ca_file=self.ca_file.text().strip(),
        )

    def url(self) -> URL:
        """The URL the fields describe, password included."""
        return self.settings().url(self.password.text())

    def label(self) -> str:
        """The connection as the status bar shows it."""
        return self.settings().label()

    # --- private --------------------------------------------------------------------------------------------------

    def _fill(self, settings: ConnectionSettings) -> None:
        self.engine.setCurrentIndex(self.engine.findData(settings.engine))
        self.path.setText(settings.sqlite_path)
        self.host.setText(settings.host)
        port = settings.port or DEFAULT_PORTS.get(settings.engine)
        self.port.setText(str(port) if port else "")
        self.database_name.setText(settings.database)
        self.user.setText(settings.user)
        self.tls.setCurrentIndex(self.tls.findData(settings.tls))
        self.ca_file.setText(settings.ca_file)

    def _is_sqlite(self) -> bool:
        return bool(self.engine.currentData() is EngineKind.SQLITE)

    def _show_rows(self) -> None:
        sqlite = self._is_sqlite()
        for widget in (self._path_row,):
            self.form.setRowVisible(widget, sqlite)
        for widget in (self.host, self.port, self.database_name, self.user, self.password, self.tls):
            self.form.setRowVisible(widget, not sqlite)
        self.form.setRowVisible(self.remember, not sqlite and self._keyring is True)
        self.form.setRowVisible(self.keyring_note, not sqlite and self._keyring is False)
        self.form.setRowVisible(self._ca_row, not sqlite and self.tls.currentData() is TlsMode.VERIFY)
        self._show_errors({name: label.text() for name, label in self.errors.items() if label.text()})
        self.adjustSize()

    def _engine_changed(self) -> None:
        kind = self.engine.currentData()
        # Follow the engine's usual port unless the person typed another one.
        if kind in DEFAULT_PORTS and (not self.port.text() or int(self.port.text()) in DEFAULT_PORTS.values()):
            self.port.setText(str(DEFAULT_PORTS[kind]))
        self._show_outcome("", "muted")
        self._show_rows()
        self._load_password()

    def _validate(self) -> dict[str, str]:
        """What to fix in which field before trying to connect."""
        settings = self.settings()
        errors: dict[str, str] = {}
        if settings.engine is EngineKind.SQLITE:
            path = Path(settings.sqlite_path).expanduser()
            if not settings.sqlite_path:
                errors["path"] = self.tr("Choose the database file.")
            elif path.is_dir():
                errors["path"] = self.tr("This is a folder: choose the database file in it.")
            elif not path.exists():
                errors["path"] = self.tr("No file here: create the database with `desk db upgrade` first.")
            return errors
        if not settings.host:
            errors["host"] = self.tr("Enter the server's name or address.")
        if not 1 <= settings.port <= 65535:
            errors["port"] = self.tr("Enter a port from 1 to 65535.")
        if not settings.database:
            errors["database"] = self.tr("Enter the name of the database.")
        if not settings.user:
            errors["user"] = self.tr("Enter your database user name.")
        if settings.tls is TlsMode.VERIFY and settings.ca_file and not Path(settings.ca_file).expanduser().is_file():
            errors["ca_file"] = self.tr("There is no file here.")
        return errors

    def _show_errors(self, errors: dict[str, str]) -> None:
        for name, label in self.errors.items():
            text = errors.get(name, "")
            label.setText(text)
            field_visible = self.form.isRowVisible(self._row_widget(name))
            self.form.setRowVisible(label, bool(text) and field_visible)
        for name, field in self._inputs.items():
            mark_invalid(field, name in errors)

    def _row_widget(self, name: str) -> QWidget:
        return {"path": self._path_row, "ca_file": self._ca_row}.get(name) or self._inputs[name]

    def _clear_error(self, name: str) -> None:
        # What was tried no longer describes the fields.
        if self.outcome.isVisible() and self.test_button.isEnabled():
            self._show_outcome("", "muted")
        if self.errors.get(name) is not None and self.errors[name].text():
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

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.test_button, self.connect_button, self.engine):
            widget.setEnabled(not busy)

    async def _try(self, *, keep: bool) -> Database | None:
        """Validate, then open the database in the worker; show the outcome. The Database when `keep`."""
        errors = self._validate()
        self._show_errors(errors)
        if errors:
            self._show_outcome("", "muted")
            return None
        url = self.url()
        self._set_busy(True)
        self._show_outcome(self.tr("Connecting to {0}…").format(describe_url(url)), "muted")
        db: Database | None = None
        problem: ConnectionProblem | None = None
        try:
            if keep:
                db = await run(self._executor, open_database, url)
            else:
                await run(self._executor, _try_connection, url)
        except ConnectionProblem as error:
            problem = error
        if not isValid(self):  # cancelled and deleted while connecting: nobody will take this database
            if db is not None:
                db.dispose()
            return None
        self._set_busy(False)
        if problem is not None:
            self._show_outcome(str(problem), "error")
            if problem.field in self._inputs:
                mark_invalid(self._inputs[problem.field], True)
        elif not keep:
            self._show_outcome(self.tr("Connected. Schema up to date."), "success")
        return db

    @async_slot
    async def _test(self) -> None:
        await self._try(keep=False)

    @async_slot
    async def _connect(self) -> None:
        db = await self._try(keep=True)
        if db is None:
            return
        settings = self.settings()
        if self.isVisible():
            settings.save()
        if self.isVisible() and settings.engine is not EngineKind.SQLITE:
            password = self.password.text() if self.remember.isChecked() else None
            await run(self._executor, remember_password, settings.keyring_key(), password)
        if not isValid(self) or not self.isVisible():  # cancelled meanwhile
            db.dispose()
            return
        self.database = db
        self.accept()

    @async_slot
    async def _load_password(self) -> None:
        """Ask the keyring (in the worker) whether it works and what it holds for the connection shown."""
        settings = self.settings()
        if settings.engine is EngineKind.SQLITE:
            return
        key = settings.keyring_key()
        available = await run(self._executor, keyring_available)
        password = await run(self._executor, stored_password, key) if available else None
        if not isValid(self):  # the dialog was closed and deleted while the keyring answered
            return
        self._keyring = available
        if not available:
            self.keyring_note.setText(self.tr("No system keyring here: Desk won't remember the password."))
        # Don't overwrite what the person typed meanwhile, or fill in another connection's password.
        if password and not self.password.text() and self.settings().keyring_key() == key:
            self.password.setText(password)
        self._show_rows()

    def _browse_database(self) -> None:
        self._browse(
            self.path,
            self.tr("Choose the Desk database file"),
            self.tr("SQLite databases (*.db *.sqlite);;All files (*)"),
        )

    def _browse_ca(self) -> None:
        self._browse(
            self.ca_file, self.tr("Choose the CA certificate"), self.tr("Certificates (*.pem *.crt);;All files (*)")
        )

    def _browse(self, target: QLineEdit, title: str, filters: str) -> None:
        # Non-modal open() keeps the qasync loop running (STYLE rule 30).
        chooser = QFileDialog(
            self, title, str(Path(target.text()).expanduser().parent) if target.text() else "", filters
        )
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.fileSelected.connect(target.setText)
        chooser.fileSelected.connect(lambda _path: self._clear_error("path" if target is self.path else "ca_file"))
        chooser.open()


def _with_button(field: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    layout.addWidget(button)
    return row


def _first_start_settings() -> ConnectionSettings:
    """Before anything is remembered: the local SQLite file when one exists (the demo), else a server."""
    local = data_dir() / "desk.db"
    if local.is_file():
        return ConnectionSettings(engine=EngineKind.SQLITE, sqlite_path=str(local))
    return ConnectionSettings(engine=EngineKind.POSTGRESQL, port=DEFAULT_PORTS[EngineKind.POSTGRESQL])
