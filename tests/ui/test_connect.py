"""The connection dialog driven as a person would: type the fields, press Test or Connect, read what it says.

Real servers are tried when DESK_TEST_POSTGRES_URL / DESK_TEST_MARIADB_URL are set (`./dev test` sets them; the
`database_url` fixture of tests/conftest.py builds the Desk schema there). Unreachable servers, empty files and
bad fields need no server. The system keyring is replaced by an in-memory one (or none) in every test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL, make_url

import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from desk.keyring_store import SERVICE as KEYRING_SERVICE
from desk.storage.db import Database, make_engine
from desk.ui import connect
from desk.ui.connect import (
    ConnectionDialog,
    ConnectionSettings,
    EngineKind,
    TlsMode,
    describe_url,
)
from tests.conftest import engine_params
from tests.ui.conftest import run, until

UP_TO_DATE = "Connected. Schema up to date."

# The dialogs' minimum size follows the rows shown; the offscreen platform (only it) warns that it cannot pass
# size hints on to a window system.


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that works and forgets everything after the test."""

    priority = 1

    def __init__(self) -> None:
        # KeyringBackend.__init__ only reads KEYRING_PROPERTY_* variables from the environment.
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


class NoKeyring(keyring.backends.fail.Keyring):
    """keyring's own "no backend" stand-in, which raises NoKeyringError on every call."""

    def __init__(self) -> None:
        pass  # as MemoryKeyring: nothing to read from the environment


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    """Never the developer's own keyring: by default none works, as on a headless Linux box."""
    before = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A keyring for this test only: left installed, later tests would keep passwords where no other process sees
    them (the mail worker's subprocess found its mailbox password missing)."""
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db")
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def demo_path(demo_db: Database) -> Path:
    """The test's own copy of the demo help desk, at the current schema."""
    return Path(str(demo_db.engine.url.database))


def open_dialog(
    qtbot: QtBot, executor: ThreadPoolExecutor, initial: ConnectionSettings | None = None
) -> ConnectionDialog:
    dialog = ConnectionDialog(executor, initial=initial)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def retype(field: QLineEdit, text: str) -> None:
    """Select what the field holds and type over it."""
    field.setFocus()
    field.selectAll()
    if text:
        QTest.keyClicks(field, text)
    else:
        QTest.keyClick(field, Qt.Key.Key_Backspace)


def choose_engine(dialog: ConnectionDialog, label: str) -> None:
    index = dialog.engine.findText(label)
    assert index >= 0, label
    dialog.engine.setCurrentIndex(index)


def fill_server(dialog: ConnectionDialog, url: URL, *, user: str | None = None, password: str | None = None) -> None:
    """Type a server's details into the dialog, as from a note the administrator handed out."""
    choose_engine(dialog, "PostgreSQL" if url.get_backend_name() == "postgresql" else "MariaDB")
    retype(dialog.host, url.host or "127.0.0.1")
    retype(dialog.port, str(url.port or connect.DEFAULT_PORTS[dialog.engine.currentData()]))
    retype(dialog.database_name, url.database or "")
    retype(dialog.user, user if user is not None else url.username or "")
    retype(dialog.password, password if password is not None else url.password or "")


async def outcome(dialog: ConnectionDialog, button: str = "test") -> str:
    """Press Test connection (or Connect) and wait for what the dialog says."""
    (dialog.test_button if button == "test" else dialog.connect_button).click()
    await until(lambda: dialog.test_button.isEnabled() and dialog.outcome.text(), what="the outcome")
    return dialog.outcome.text()


def visible_errors(dialog: ConnectionDialog) -> dict[str, str]:
    return {name: label.text() for name, label in dialog.errors.items() if label.isVisible()}


# --- SQLite and unreachable servers (always) -----------------------------------------------------------------------


def test_sqlite_file_at_the_current_schema_connects(
    demo_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_engine(dialog, "SQLite file")
        assert dialog.path.isVisible() and not dialog.host.isVisible()
        retype(dialog.path, str(demo_path))
        assert await outcome(dialog) == UP_TO_DATE

    run(loop, scenario())


def test_empty_sqlite_file_has_no_schema_yet(
    tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor, ConnectionSettings(engine=EngineKind.SQLITE))
        retype(dialog.path, str(empty))
        said = await outcome(dialog)
        assert "no Desk schema yet" in said and "desk db upgrade" in said
        assert dialog.outcome.property("role") == "error"

    run(loop, scenario())


def test_missing_sqlite_file_is_a_field_error(
    tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor, ConnectionSettings(engine=EngineKind.SQLITE))
        retype(dialog.path, str(tmp_path / "nowhere.db"))
        dialog.test_button.click()
        await until(lambda: visible_errors(dialog), what="a field error")
        assert "No file here" in visible_errors(dialog)["path"]
        assert not dialog.outcome.isVisible()
        assert not (tmp_path / "nowhere.db").exists()  # trying never creates a database file

    run(loop, scenario())


def test_closed_port_cannot_be_reached(executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        fill_server(dialog, make_url("postgresql://postgres@127.0.0.1:1/desk"))
        said = await outcome(dialog)
        assert said == "Cannot reach 127.0.0.1:1: connection refused — is the server running and reachable?"
        choose_engine(dialog, "MariaDB")
        assert dialog.port.text() == "1"  # a port the person typed is kept when the engine changes
        said = await outcome(dialog)
        assert said.startswith("Cannot reach 127.0.0.1:1: connection refused")

    run(loop, scenario())


def test_server_fields_are_required_beside_each_field(
    executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_engine(dialog, "PostgreSQL")
        assert dialog.port.text() == "5432"
        retype(dialog.database_name, "")
        dialog.test_button.click()
        await until(lambda: visible_errors(dialog), what="field errors")
        assert visible_errors(dialog) == {
            "host": "Enter the server's name or address.",
            "database": "Enter the name of the database.",
            "user": "Enter your database user name.",
        }
        assert dialog.host.property("invalid") == "true"
        QTest.keyClicks(dialog.host, "db")
        assert "host" not in visible_errors(dialog)  # typing in the field clears its error

    run(loop, scenario())


def test_engine_change_follows_the_default_port(
    executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_engine(dialog, "MariaDB")
        assert dialog.port.text() == "3306"
        choose_engine(dialog, "PostgreSQL")
        assert dialog.port.text() == "5432"

    run(loop, scenario())


# --- what is remembered, and where --------------------------------------------------------------------------------


def test_fields_are_remembered_and_the_password_only_in_the_keyring(
    demo_path: Path,
    memory_keyring: MemoryKeyring,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Connect to a server (answered here by the demo SQLite file), then open the dialog again."""
    password = "s3cr@t/pa%ss:word"
    tried: list[URL] = []

    def open_demo(url: URL) -> Database:
        tried.append(url)
        return Database(f"sqlite:///{demo_path}")

    monkeypatch.setattr(connect, "open_database", open_demo)

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        await until(lambda: dialog.remember.isVisible(), what="the keyring check")
        fill_server(dialog, make_url("postgresql://agent@dbhost:5433/helpdesk"), password=password)
        dialog.tls.setCurrentIndex(dialog.tls.findData(TlsMode.REQUIRE))
        dialog.connect_button.click()
        await until(lambda: dialog.result() == ConnectionDialog.DialogCode.Accepted, what="the dialog to accept")
        assert dialog.database is not None
        dialog.database.dispose()
        assert dialog.label() == "PostgreSQL agent@dbhost:5433/helpdesk"

        again = open_dialog(qtbot, executor)
        await until(lambda: again.password.text(), what="the password from the keyring")
        assert again.engine.currentText() == "PostgreSQL"
        assert (again.host.text(), again.port.text(), again.database_name.text(), again.user.text()) == (
            "dbhost",
            "5433",
            "helpdesk",
            "agent",
        )
        assert again.tls.currentData() is TlsMode.REQUIRE
        assert again.password.text() == password

    run(loop, scenario())
    # The special characters survive the URL: the driver gets the password as typed.
    assert make_url(tried[0].render_as_string(hide_password=False)).password == password
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "agent@dbhost:5433/helpdesk"): password}
    ini = Path(QSettings().fileName()).read_text()
    assert "dbhost" in ini and "helpdesk" in ini
    assert password not in ini and "s3cr" not in ini


def test_without_a_keyring_the_dialog_says_so_and_still_connects(
    demo_path: Path,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "open_database", lambda url: Database(f"sqlite:///{demo_path}"))

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        await until(lambda: dialog.keyring_note.isVisible(), what="the no-keyring note")
        assert "won't remember the password" in dialog.keyring_note.text()
        assert not dialog.remember.isVisible()
        fill_server(dialog, make_url("postgresql://agent@dbhost/desk"), password="secret-pw")
        dialog.connect_button.click()
        await until(lambda: dialog.result() == ConnectionDialog.DialogCode.Accepted, what="the dialog to accept")
        assert dialog.database is not None
        dialog.database.dispose()

    run(loop, scenario())
    assert ConnectionSettings.load() == ConnectionSettings(
        engine=EngineKind.POSTGRESQL, host="dbhost", port=5432, database="desk", user="agent"
    )
    assert "secret-pw" not in Path(QSettings().fileName()).read_text()


def test_cancel_while_connecting_closes_the_database_it_opened(
    demo_path: Path,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow server answers after the person gave up: the dialog is gone, the connection must not leak."""
    answer = threading.Event()
    opened: list[SpyDatabase] = []

    class SpyDatabase(Database):
        disposed = False

        def dispose(self) -> None:
            self.disposed = True
            super().dispose()

    def slow_open(url: URL) -> Database:
        answer.wait(10)
        opened.append(SpyDatabase(f"sqlite:///{demo_path}"))
        return opened[-1]

    monkeypatch.setattr(connect, "open_database", slow_open)

    async def scenario() -> None:
        dialog = ConnectionDialog(executor, initial=ConnectionSettings(engine=EngineKind.SQLITE))
        dialog.show()
        retype(dialog.path, str(demo_path))
        dialog.connect_button.click()
        await until(lambda: not dialog.connect_button.isEnabled(), what="the dialog to start connecting")
        dialog.cancel_button.click()
        dialog.deleteLater()  # as sign_in does once a dialog has finished
        await asyncio.sleep(0.05)
        answer.set()
        await until(lambda: opened, what="the slow answer")
        await asyncio.sleep(0.05)

    run(loop, scenario())
    assert opened[0].disposed


# --- URLs ---------------------------------------------------------------------------------------------------------


def test_tls_modes_become_the_drivers_options(tmp_path: Path) -> None:
    ca = str(tmp_path / "ca.pem")
    postgres = ConnectionSettings(engine=EngineKind.POSTGRESQL, host="db", port=5432, database="desk", user="u")
    assert postgres.url().query == {"sslmode": "prefer"}
    assert replace(postgres, tls=TlsMode.OFF).url().query == {"sslmode": "disable"}
    verify = replace(postgres, tls=TlsMode.VERIFY, ca_file=ca)
    assert verify.url().query == {"sslmode": "verify-full", "sslrootcert": ca}
    assert ConnectionSettings.from_url(verify.url()) == verify

    maria = ConnectionSettings(engine=EngineKind.MARIADB, host="db", port=3306, database="desk", user="u")

    def pymysql_args(settings: ConnectionSettings) -> dict[str, object]:
        engine = make_engine(settings.url("pw"))
        _args, kwargs = engine.dialect.create_connect_args(engine.url)
        engine.dispose()
        return {key: value for key, value in kwargs.items() if key.startswith("ssl")}

    assert pymysql_args(maria) == {}  # PyMySQL's own default is "prefer"
    assert pymysql_args(replace(maria, tls=TlsMode.OFF)) == {"ssl_disabled": "true"}
    assert pymysql_args(replace(maria, tls=TlsMode.REQUIRE)) == {"ssl_verify_cert": "false"}
    assert pymysql_args(replace(maria, tls=TlsMode.VERIFY, ca_file=ca)) == {"ssl": {"ca": ca, "check_hostname": True}}


def test_status_bar_label_has_no_password() -> None:
    assert describe_url("postgresql://desk:secret@dbhost/desk") == "PostgreSQL desk@dbhost/desk"
    assert describe_url("postgresql://desk@dbhost:6432/desk") == "PostgreSQL desk@dbhost:6432/desk"
    assert describe_url("mariadb://root:pw@10.0.0.5:3306/desk") == "MariaDB root@10.0.0.5/desk"
    home = Path.home()
    assert describe_url(f"sqlite:///{home / '.local/share/desk/desk.db'}") == "SQLite ~/…/desk/desk.db"
    assert describe_url("sqlite:////srv/desk.db") == "SQLite /srv/desk.db"


# --- real servers (when configured) -------------------------------------------------------------------------------


# Each configured server (CI configures both), its Desk schema built by tests/conftest.py; SQLite is covered above.
on_servers = pytest.mark.parametrize("database_url", [e for e in engine_params() if e != "sqlite"], indirect=True)


@pytest.fixture
def server_url(database_url: str) -> URL:
    return make_url(database_url)


@on_servers
def test_server_at_the_current_schema_connects(
    server_url: URL, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        fill_server(dialog, server_url)
        assert await outcome(dialog) == UP_TO_DATE

    run(loop, scenario())


@on_servers
def test_server_refuses_an_unknown_user(
    server_url: URL, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        fill_server(dialog, server_url, user="nobody_desk_test", password="wrong")
        assert await outcome(dialog) == "Wrong user name or password."
        assert dialog.password.property("invalid") == "true"

    run(loop, scenario())


@on_servers
def test_server_without_that_database(
    server_url: URL, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        fill_server(dialog, server_url.set(database="desk_no_such_database"))
        said = await outcome(dialog)
        assert said.startswith("There is no database “desk_no_such_database” on ")

    run(loop, scenario())


@on_servers
def test_server_without_tls_when_tls_is_required(
    server_url: URL, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """Requiring TLS connects to a server that speaks it, and says so in words, not a crash, to one that does not
    (the Debian test servers here run without TLS)."""
    engine = make_engine(server_url)
    with engine.connect() as connection:
        variable = "SHOW ssl" if engine.dialect.name == "postgresql" else "SELECT @@have_ssl"
        speaks_tls = str(connection.exec_driver_sql(variable).scalar()).lower() in ("on", "yes")
    engine.dispose()

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        fill_server(dialog, server_url)
        dialog.tls.setCurrentIndex(dialog.tls.findData(TlsMode.REQUIRE))
        said = await outcome(dialog)
        if speaks_tls:
            assert said == UP_TO_DATE
        else:
            assert said.startswith("The encrypted connection to ") and "encryption (TLS) setting" in said

    run(loop, scenario())
