"""The connection dialog driven as a person would: choose a Desk server or a file, type, press Test or Connect, read
what it says.

The servers are real `desk serve` processes (the shared demo server of tests/ui/conftest.py; one whose database is
taken away through a relay, on each configured database server). Unreachable addresses, empty files and bad fields
need no server.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL, make_url

import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from desk import __version__
from desk.client.local import LocalServices
from desk.client.remote import RemoteServices
from desk.client.services import Services
from desk.keyring_store import SERVICE as KEYRING_SERVICE
from desk.storage.db import Database
from desk.ui import connect
from desk.ui.connect import TEAM_SERVER, ConnectionDialog, Remembered, describe_url
from tests.conftest import engine_params
from tests.mail.dovecot import free_ports
from tests.ui.conftest import MemoryKeyring, Served, run, until
from tests.web.relay import relay
from tests.web.serving import desk_serve

OPENED = "Opened. Schema up to date."
UNREACHABLE_END = "Check the address, and that the Desk server is running."

# The dialogs' minimum size follows the rows shown; the offscreen platform (only it) warns that it cannot pass
# size hints on to a window system.


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db")
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def demo_path(demo_db: Database) -> Path:
    """The test's own copy of the demo help desk, at the current schema."""
    return Path(str(demo_db.engine.url.database))


def open_dialog(qtbot: QtBot, executor: ThreadPoolExecutor, initial: Remembered | None = None) -> ConnectionDialog:
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


def choose_file(dialog: ConnectionDialog, path: Path | str) -> None:
    dialog.file.click()
    assert dialog.path.isVisible() and not dialog.address.isVisible()
    retype(dialog.path, str(path))


def choose_server(dialog: ConnectionDialog, address: str) -> None:
    dialog.server.click()
    assert dialog.address.isVisible() and not dialog.path.isVisible()
    retype(dialog.address, address)


async def outcome(dialog: ConnectionDialog) -> str:
    """Press Test connection and wait for what the dialog says (the last outcome is cleared first, so it is not
    read as the new one)."""
    dialog.outcome.clear()
    dialog.test_button.click()
    await until(lambda: dialog.test_button.isEnabled() and dialog.outcome.text(), what="the outcome")
    return dialog.outcome.text()


def visible_errors(dialog: ConnectionDialog) -> dict[str, str]:
    return {name: label.text() for name, label in dialog.errors.items() if label.isVisible()}


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def settings_text() -> str:
    QSettings().sync()
    return Path(QSettings().fileName()).read_text()


# --- a file on this computer --------------------------------------------------------------------------------------


def test_sqlite_file_at_the_current_schema_opens(
    demo_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_file(dialog, demo_path)
        assert await outcome(dialog) == OPENED

    run(loop, scenario())


def test_empty_sqlite_file_has_no_schema_yet(
    tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_file(dialog, empty)
        said = await outcome(dialog)
        assert "no Desk schema yet" in said and "desk db upgrade" in said
        assert dialog.outcome.property("role") == "error"

    run(loop, scenario())


def test_a_missing_sqlite_file_is_offered_as_a_new_help_desk(
    tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_file(dialog, tmp_path / "nowhere.db")
        assert dialog.connect_button.text() == "Create help desk"
        dialog.test_button.click()
        await until(lambda: visible_errors(dialog), what="a field error")
        assert visible_errors(dialog) == {
            "path": "No file here yet: “Create help desk” makes a new, empty help desk in it."
        }
        assert dialog.path.property("invalid") == "true"
        assert not dialog.outcome.isVisible()
        assert not (tmp_path / "nowhere.db").exists()  # trying never creates a database file
        choose_file(dialog, tmp_path / "new folder" / "desk.db")
        dialog.connect_button.click()
        await until(lambda: dialog.services is not None, what="the new help desk")
        assert dialog.services is not None and dialog.services.needs_administrator()
        assert (tmp_path / "new folder" / "desk.db").is_file()
        dialog.services.close()
        again = open_dialog(qtbot, executor)
        choose_file(again, tmp_path / "new folder" / "desk.db")
        assert again.connect_button.text() == "Connect"  # it exists now

    run(loop, scenario())


# --- a Desk server ------------------------------------------------------------------------------------------------


def test_server_address_is_checked_beside_the_field(
    executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor, Remembered())
        assert dialog.server.isChecked() and dialog.address.text() == ""
        assert dialog.address.placeholderText() == "https://desk.example.lan:8443"
        dialog.test_button.click()
        assert await until(lambda: visible_errors(dialog), what="a field error") == {
            "address": "Give the Desk server's address, e.g. https://desk.example.lan:8443."
        }
        QTest.keyClicks(dialog.address, "http://desk.example.lan")
        assert visible_errors(dialog) == {}  # typing in the field clears its error
        dialog.test_button.click()
        assert await until(lambda: visible_errors(dialog), what="a field error") == {
            "address": "Use https://desk.example.lan: plain http:// is only for a server on this computer (127.0.0.1). "
            "Across the network, passwords and tickets must travel encrypted."
        }
        assert dialog.address.property("invalid") == "true"
        assert not dialog.outcome.isVisible()
        dialog.file.click()  # the file's row has nothing to say about the address
        assert visible_errors(dialog) == {} and dialog.address.property("invalid") == "false"

    run(loop, scenario())


def test_unreachable_server_is_said_in_the_dialog(
    executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    (port,) = free_ports(1)  # nothing listens there

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_server(dialog, f"http://127.0.0.1:{port}")
        said = await outcome(dialog)
        assert said.startswith(f"Nothing answers at http://127.0.0.1:{port} (") and said.endswith(UNREACHABLE_END)
        assert "refused" in said.lower()
        assert dialog.outcome.property("role") == "error" and dialog.address.property("invalid") == "true"
        choose_server(dialog, f"127.0.0.1:{port}")  # no scheme: https, as on the LAN
        said = await outcome(dialog)
        assert said.startswith(f"Cannot reach the Desk server at 127.0.0.1:{port} (")  # its certificate, first

    run(loop, scenario())


def test_server_says_hello(
    demo_server: Served, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_server(dialog, demo_server.url + "/")
        assert await outcome(dialog) == f"Desk {__version__} answers at {demo_server.url}, and its database is up."

    run(loop, scenario())


def test_a_server_of_another_version_is_refused_with_what_to_install(
    demo_server: Served,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "__version__", "0.0.1")  # this Desk is older than the server

    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_server(dialog, demo_server.url)
        assert await outcome(dialog) == (
            f"The Desk server at {demo_server.url} runs Desk {__version__}, and this computer has Desk 0.0.1. "
            f"Install Desk {__version__} here (your administrator has it), then connect again."
        )

    run(loop, scenario())


def test_another_web_server_is_not_a_desk_server(
    tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    (port,) = free_ports(1)
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def scenario() -> None:
        await until(lambda: listening(port), what="the web server")
        dialog = open_dialog(qtbot, executor)
        choose_server(dialog, f"http://127.0.0.1:{port}")
        assert await outcome(dialog) == "The Desk server gave an answer this Desk does not understand."
        assert dialog.address.property("invalid") == "true"

    try:
        run(loop, scenario())
    finally:
        other.terminate()
        other.wait(timeout=10)


# Each configured database server (CI configures both), its Desk schema built by tests/conftest.py.
on_servers = pytest.mark.parametrize("database_url", [e for e in engine_params() if e != "sqlite"], indirect=True)


@on_servers
def test_server_whose_database_is_down_says_so(
    database_url: str, tmp_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """The server answers but its database does not: told apart from a server that is gone."""
    target = make_url(database_url)
    with relay(target.host or "127.0.0.1", target.port or 0) as through:
        served = target.set(host="127.0.0.1", port=through.port).render_as_string(hide_password=False)
        with desk_serve(served, tmp_path / "serve.log") as url:

            async def scenario() -> None:
                dialog = open_dialog(qtbot, executor)
                choose_server(dialog, url)
                assert await outcome(dialog) == f"Desk {__version__} answers at {url}, and its database is up."
                through.cut()
                assert await outcome(dialog) == (
                    f"The Desk server at {url} answers, but cannot reach its database. Tell your administrator, "
                    "and try again once it is back."
                )
                dialog.connect_button.click()  # nor does Connect take a server that cannot work
                await until(lambda: dialog.connect_button.isEnabled(), what="the attempt to end")
                assert dialog.isVisible() and dialog.services is None

            run(loop, scenario())


# --- what is remembered, and what Connect gives -------------------------------------------------------------------


def test_connect_remembers_the_server_and_gives_it_signed_out(
    demo_server: Served, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_server(dialog, demo_server.url)
        dialog.connect_button.click()
        await until(lambda: dialog.result() == ConnectionDialog.DialogCode.Accepted, what="the dialog to accept")
        services = dialog.services
        assert isinstance(services, RemoteServices)
        assert (services.url, services.secret, services.label) == (demo_server.url, None, demo_server.url)
        services.close()

        again = open_dialog(qtbot, executor)
        assert again.server.isChecked() and again.address.text() == demo_server.url

    run(loop, scenario())
    assert Remembered.load() == Remembered(server=demo_server.url)


def test_connect_to_a_file_gives_its_services(
    demo_path: Path, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_dialog(qtbot, executor)
        choose_file(dialog, demo_path)
        dialog.connect_button.click()
        await until(lambda: dialog.result() == ConnectionDialog.DialogCode.Accepted, what="the dialog to accept")
        assert isinstance(dialog.services, LocalServices)
        assert dialog.services.db.engine.url.database == str(demo_path)
        assert dialog.services.label == describe_url(f"sqlite:///{demo_path}")
        dialog.services.close()

    run(loop, scenario())
    assert Remembered.load() == Remembered(file=str(demo_path), use_file=True)


def test_an_old_database_login_is_explained_then_forgotten(
    demo_server: Served,
    memory_keyring: MemoryKeyring,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    qtbot: QtBot,
) -> None:
    """Issue 14: a Desk that reached the team's database itself remembered its login; the dialog says what changed
    and what to ask for, and once a server is chosen nothing of that login is left on the machine."""
    store = QSettings()
    for key, value in {"engine": "postgresql", "host": "dbhost", "port": 5433, "database": "helpdesk"}.items():
        store.setValue(f"connection/{key}", value)
    store.setValue("connection/user", "agent")
    store.setValue("connection/tls", "require")
    memory_keyring.set_password(KEYRING_SERVICE, "agent@dbhost:5433/helpdesk", "db-pass-word")

    async def scenario() -> None:
        assert Remembered.load() is None  # nothing to reach by itself
        dialog = open_dialog(qtbot, executor)
        assert dialog.outcome.isVisible() and dialog.outcome.text() == TEAM_SERVER
        assert "desk serve" in TEAM_SERVER and "address (https://…)" in TEAM_SERVER and "fingerprint" in TEAM_SERVER
        assert dialog.server.isChecked() and dialog.address.text() == ""
        choose_server(dialog, demo_server.url)
        assert not dialog.outcome.isVisible()
        dialog.connect_button.click()
        await until(lambda: dialog.result() == ConnectionDialog.DialogCode.Accepted, what="the dialog to accept")
        assert dialog.services is not None
        dialog.services.close()

    run(loop, scenario())
    assert memory_keyring.passwords == {}
    ini = settings_text()
    assert demo_server.url in ini
    for old in ("dbhost", "5433", "helpdesk", "agent", "postgresql", "require"):
        assert old not in ini


def test_an_older_desks_file_is_still_used(tmp_path: Path) -> None:
    QSettings().setValue("connection/engine", "sqlite")
    QSettings().setValue("connection/sqlite_path", str(tmp_path / "desk.db"))
    assert Remembered.load() == Remembered(file=str(tmp_path / "desk.db"), use_file=True)


def test_cancel_while_connecting_closes_what_it_opened(
    demo_path: Path,
    executor: ThreadPoolExecutor,
    loop: qasync.QEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow help desk answers after the person gave up: the dialog is gone, the connection must not leak."""
    answer = threading.Event()
    opened: list[SpyServices] = []

    class SpyServices(LocalServices):
        closed = False

        def close(self) -> None:
            self.closed = True
            super().close()

    def slow_open(url: str | URL, verify: object = True) -> Services:
        answer.wait(10)
        opened.append(SpyServices(Database(f"sqlite:///{demo_path}"), "slow"))
        return opened[-1]

    monkeypatch.setattr(connect, "open_services", slow_open)

    async def scenario() -> None:
        dialog = ConnectionDialog(executor)
        dialog.show()
        choose_file(dialog, demo_path)
        dialog.connect_button.click()
        await until(lambda: not dialog.connect_button.isEnabled(), what="the dialog to start connecting")
        dialog.cancel_button.click()
        dialog.deleteLater()  # as sign_in does once a dialog has finished
        await asyncio.sleep(0.05)
        answer.set()
        await until(lambda: opened, what="the slow answer")
        await asyncio.sleep(0.05)

    run(loop, scenario())
    assert opened[0].closed


# --- the status bar -----------------------------------------------------------------------------------------------


def test_status_bar_label_has_no_password() -> None:
    assert describe_url("https://desk.example.lan:8443") == "https://desk.example.lan:8443"
    assert describe_url("postgresql://desk:secret@dbhost/desk") == "PostgreSQL desk@dbhost/desk"
    assert describe_url("postgresql://desk@dbhost:6432/desk") == "PostgreSQL desk@dbhost:6432/desk"
    assert describe_url("mariadb://root:pw@10.0.0.5:3306/desk") == "MariaDB root@10.0.0.5/desk"
    home = Path.home()
    assert describe_url(f"sqlite:///{home / '.local/share/desk/desk.db'}") == "SQLite ~/…/desk/desk.db"
    assert describe_url("sqlite:////srv/desk.db") == "SQLite /srv/desk.db"
