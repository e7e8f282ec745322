"""Signing in, and the whole start-up path: help desk, schema check or hello, login, the Context the window starts
from; against a Desk server, "Stay signed in" and how a session ends.

Dialogs are found on screen and driven by typing and clicking; the problem box is answered either by clicking its
buttons or by replacing its `ask()` classmethod (STYLE rule 56). The servers are real `desk serve` processes.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desk import config
from desk.client.local import LocalServices
from desk.client.remote import RemoteServices
from desk.domain.errors import ConnectionProblem, SignedOut
from desk.keyring_store import SERVICE as KEYRING_SERVICE
from desk.services import accounts, agent_sessions
from desk.storage.db import Database
from desk.ui.app import agent_sessions as desk_sessions
from desk.ui.connect import ConnectionDialog, Remembered
from desk.ui.login import USERNAME_KEY, LoginDialog
from desk.ui.main_window import MainWindow
from desk.ui.startup import Choice, ConnectionProblemBox, sign_in, sign_in_function
from tests.mail.dovecot import free_ports
from tests.ui.conftest import MemoryKeyring, Served, db_of, run, until

W = TypeVar("W", bound=QWidget)

# The dialogs' minimum size follows their rows; only the offscreen platform warns it cannot pass that on.


@pytest.fixture(autouse=True)
def isolated_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DESK_DATABASE_URL and no config file of the developer's (and no keyring: tests/conftest.py)."""
    monkeypatch.delenv("DESK_DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "config_file", lambda: Path("/nonexistent/desk.toml"))


@pytest.fixture
def desk_file(demo_db: Database) -> Path:
    """The test's own copy of the demo help desk, at the current schema."""
    return Path(str(demo_db.engine.url.database))


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db")
    yield pool
    pool.shutdown(wait=True)


def shown(kind: type[W]) -> W | None:
    """The visible top-level window of this kind, if any."""
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)


def open_login(qtbot: QtBot, db: Database, executor: ThreadPoolExecutor) -> LoginDialog:
    dialog = LoginDialog(sign_in_function(LocalServices(db, "SQLite demo")), executor, connection="SQLite demo")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def shown_text(dialog: QWidget, text: str) -> bool:
    """Whether a visible label in the dialog says exactly `text`."""
    return any(label.isVisible() and label.text() == text for label in dialog.findChildren(QLabel))


def type_credentials(dialog: LoginDialog, username: str, password: str) -> None:
    dialog.username.selectAll()
    QTest.keyClicks(dialog.username, username)
    dialog.password.selectAll()
    QTest.keyClicks(dialog.password, password)


# --- the login dialog ---------------------------------------------------------------------------------------------


def test_wrong_password_is_explained_and_the_username_kept(
    demo_db: Database, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_login(qtbot, demo_db, executor)
        assert not dialog.message.isVisible()
        type_credentials(dialog, "admin", "not-the-password")
        dialog.sign_in_button.click()
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert dialog.message.text() == "Wrong username or password."
        assert dialog.username.text() == "admin"
        assert dialog.password.hasFocus() and dialog.password.selectedText() == "not-the-password"
        assert dialog.isVisible() and dialog.agent is None
        QTest.keyClicks(dialog.password, "x")
        assert not dialog.message.isVisible()  # retyping clears the old refusal

    run(loop, scenario())


def test_lockout_message_comes_from_the_service(
    demo_db: Database, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_login(qtbot, demo_db, executor)
        for _attempt in range(6):  # the demo locks an account after 5 failures
            type_credentials(dialog, "john", "wrong")  # retyping clears the last refusal
            assert not dialog.message.isVisible()
            dialog.sign_in_button.click()
            await until(lambda: dialog.message.isVisible(), what="a refusal")
        assert dialog.message.text().startswith("Too many failed sign-ins: this account is locked for 15 more")
        assert dialog.username.text() == "john"

    run(loop, scenario())


def test_a_database_broken_after_it_was_opened_is_said_in_words(
    demo_db: Database, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_login(qtbot, demo_db, executor)
        demo_db.dispose()
        Path(str(demo_db.engine.url.database)).write_bytes(b"not a database" * 512)  # overwritten meanwhile
        type_credentials(dialog, "admin", "demo-admin")
        dialog.sign_in_button.click()
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert dialog.message.text() == "Lost the connection to the database: file is not a database"
        assert dialog.isVisible() and dialog.agent is None and dialog.sign_in_button.isEnabled()

    run(loop, scenario())


def test_right_password_gives_the_agent_and_remembers_the_username(
    demo_db: Database, executor: ThreadPoolExecutor, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = open_login(qtbot, demo_db, executor)
        type_credentials(dialog, "john", "demo-john")
        dialog.sign_in_button.click()
        await until(lambda: dialog.result() == LoginDialog.DialogCode.Accepted, what="the dialog to accept")
        assert dialog.agent == accounts.agent_by_username(demo_db, "john")
        again = open_login(qtbot, demo_db, executor)
        assert again.username.text() == "john"

    run(loop, scenario())
    assert "demo-john" not in Path(QSettings().fileName()).read_text()


def test_change_connection_is_its_own_result(demo_db: Database, executor: ThreadPoolExecutor, qtbot: QtBot) -> None:
    dialog = open_login(qtbot, demo_db, executor)
    assert not dialog.stay_signed_in.isVisible()  # a file on this computer: nothing to stay signed in to
    with qtbot.waitSignal(dialog.finished) as finished:
        dialog.change_button.click()
    assert finished.args == [LoginDialog.CHANGE_CONNECTION]


# --- start-up -----------------------------------------------------------------------------------------------------


def test_sign_in_with_url_and_credentials_skips_both_dialogs(desk_file: Path, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ctx = await sign_in(url=f"sqlite:///{desk_file}", username="admin", password="demo-admin")
        assert ctx is not None
        try:
            assert ctx.agent.is_admin and ctx.agent.name == accounts.agent_by_username(db_of(ctx), "admin").name
            assert ctx.url_label.startswith("SQLite ") and ctx.url_label.endswith("desk.db")
            assert ctx.choices.statuses and ctx.choices.departments
        finally:
            ctx.close()
            db_of(ctx).dispose()

    run(loop, scenario())


def test_sign_in_with_url_shows_the_login_dialog(desk_file: Path, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{desk_file}"))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert shown(ConnectionDialog) is None
        type_credentials(dialog, "admin", "demo-admin")
        dialog.sign_in_button.click()
        ctx = await signing_in
        assert ctx is not None and ctx.agent.is_admin
        ctx.close()
        db_of(ctx).dispose()

    run(loop, scenario())


def test_refused_prefilled_credentials_show_the_login_dialog(desk_file: Path, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{desk_file}", username="admin", password="nope"))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert dialog.username.text() == "admin"
        assert dialog.message.text() == "Wrong username or password."
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_empty_database_explains_the_schema_and_can_quit(
    tmp_path: Path, loop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    asked: list[tuple[str, str | URL]] = []

    async def answer(
        cls: type[ConnectionProblemBox], parent: QWidget | None, problem: ConnectionProblem, url: str | URL
    ) -> Choice:
        asked.append((str(problem), url))
        return Choice.QUIT

    monkeypatch.setattr(ConnectionProblemBox, "ask", classmethod(answer))
    assert run(loop, sign_in(url=f"sqlite:///{empty}")) is None
    assert asked == [("The database has no Desk schema yet. Run `desk db upgrade` to create it.", f"sqlite:///{empty}")]


def test_unreachable_server_box_leads_back_to_the_connection_dialog(loop: qasync.QEventLoop) -> None:
    """The box as a person sees it: read it, press "Change connection…", then cancel the dialog."""
    (port,) = free_ports(1)  # nothing listens there
    url = f"http://127.0.0.1:{port}"

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=url))
        box = await until(lambda: shown(ConnectionProblemBox), what="the problem box")
        assert box.text() == "Desk cannot use the Desk server."
        assert box.informativeText().startswith(f"Nothing answers at {url} (")
        assert box.informativeText().endswith(f"the Desk server is running.\n\nServer: {url}")
        box.change_button.click()
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        # It starts from the address that failed, and says why.
        assert dialog.server.isChecked() and dialog.address.text() == url
        assert dialog.outcome.text().startswith(f"Nothing answers at {url}")
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_a_database_url_on_the_command_line_works_but_the_dialog_never_offers_one(loop: qasync.QEventLoop) -> None:
    """An administrator on the server machine may still give a database URL; the way back offers a server."""

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url="postgresql://desk:secret@127.0.0.1:1/desk"))
        box = await until(lambda: shown(ConnectionProblemBox), what="the problem box")
        assert box.text() == "Desk cannot open the database."
        assert box.informativeText().startswith("PostgreSQL desk@127.0.0.1:1/desk cannot be opened: ")
        assert box.informativeText().endswith("\n\nDatabase: PostgreSQL desk@127.0.0.1:1/desk")
        assert "secret" not in box.informativeText()
        box.change_button.click()
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        assert dialog.server.isChecked() and dialog.address.text() == ""
        assert set(dialog.errors) == {"address", "path"}  # a server's address or a file: no database fields
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_try_again_retries_then_quit(tmp_path: Path, loop: qasync.QEventLoop) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{empty}"))
        box = await until(lambda: shown(ConnectionProblemBox), what="the problem box")
        assert box.text() == "The database is not ready for this Desk."
        box.retry_button.click()
        again = await until(lambda: (b := shown(ConnectionProblemBox)) is not None and b is not box and b)
        again.quit_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_first_start_asks_for_the_database_then_remembers_it(desk_file: Path, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        assert Remembered.load() is None
        signing_in = loop.create_task(sign_in())
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        assert dialog.server.isChecked()  # no demo file here: a team's server is the likely first answer
        dialog.file.click()
        dialog.path.selectAll()
        QTest.keyClicks(dialog.path, str(desk_file))
        dialog.connect_button.click()
        login = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert login.connection.text().startswith("SQLite ")
        type_credentials(login, "admin", "demo-admin")
        login.sign_in_button.click()
        ctx = await signing_in
        assert ctx is not None and ctx.agent.is_admin
        ctx.close()
        db_of(ctx).dispose()

        # The next start goes straight to the login dialog.
        signing_in = loop.create_task(sign_in())
        login = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert shown(ConnectionDialog) is None and login.username.text() == "admin"
        login.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())
    assert Remembered.load() == Remembered(file=str(desk_file), use_file=True)


def test_change_database_from_the_login_dialog(desk_file: Path, tmp_path: Path, loop: qasync.QEventLoop) -> None:
    other = tmp_path / "other.db"
    shutil.copy(desk_file, other)

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{desk_file}"))
        login = await until(lambda: shown(LoginDialog), what="the login dialog")
        login.change_button.click()
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        assert dialog.file.isChecked() and dialog.path.text() == str(desk_file)  # starts from the one in use
        dialog.path.selectAll()
        QTest.keyClicks(dialog.path, str(other))
        dialog.connect_button.click()
        login = await until(lambda: shown(LoginDialog), what="the login dialog for the other database")
        assert login.connection.text().endswith("other.db")
        type_credentials(login, "john", "demo-john")
        login.sign_in_button.click()
        ctx = await signing_in
        assert ctx is not None and ctx.url_label.endswith("other.db")
        assert str(db_of(ctx).engine.url.database) == str(other)
        ctx.close()
        db_of(ctx).dispose()

    run(loop, scenario())


# --- against a Desk server ----------------------------------------------------------------------------------------


def open_sessions(served: Served, username: str) -> int:
    """How many sessions the agent has open on the server (looked up behind it, in its database)."""
    db = Database(served.database_url)
    try:
        agent = accounts.agent_by_username(db, username)
        return len(agent_sessions.list_sessions(db, agent))
    finally:
        db.dispose()


def shown_window() -> MainWindow | None:
    return shown(MainWindow)


def test_no_keyring_no_staying_signed_in(demo_server: Served, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=demo_server.url))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert dialog.connection.text() == demo_server.url
        note = "No system keyring here: Desk asks for your password at each start."
        await until(lambda: shown_text(dialog, note), what="the keyring's answer")
        assert dialog.stay_signed_in.isVisible() and not dialog.stay_signed_in.isEnabled()
        assert not dialog.stay_signed_in.isChecked()
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_stay_signed_in_keeps_the_session_across_starts_until_sign_out(
    demo_server: Served, memory_keyring: MemoryKeyring, loop: qasync.QEventLoop
) -> None:
    key = (KEYRING_SERVICE, f"session of john at {demo_server.url}")
    before = open_sessions(demo_server, "john")

    async def scenario() -> str:
        sessions = asyncio.ensure_future(desk_sessions(demo_server.url))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        await until(dialog.stay_signed_in.isEnabled, what="the keyring's answer")  # asked once the dialog is up
        assert not dialog.stay_signed_in.isChecked() and not dialog.no_keyring.isVisible()
        dialog.stay_signed_in.click()
        type_credentials(dialog, "john", "demo-john")
        dialog.sign_in_button.click()
        window = await until(shown_window, what="john's window")
        secret = memory_keyring.passwords[key]
        assert secret.startswith("desks_") and memory_keyring.passwords == {key: secret}
        window.close()  # File › Quit
        assert await sessions == 0
        # The session stays open on the server, and the secret in the keyring.
        assert memory_keyring.passwords == {key: secret}
        assert await asyncio.to_thread(open_sessions, demo_server, "john") == before + 1

        sessions = asyncio.ensure_future(desk_sessions(demo_server.url))
        window = await until(lambda: shown_window() or shown(LoginDialog), what="a window")
        assert isinstance(window, MainWindow) and "John" in window.windowTitle()  # no password asked
        window.sign_out_action.trigger()  # File › Sign out
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert memory_keyring.passwords == {}
        await until(dialog.stay_signed_in.isEnabled, what="the keyring's answer")
        assert dialog.stay_signed_in.isChecked()  # as chosen last time
        dialog.cancel_button.click()
        assert await sessions == 0
        return secret

    secret = run(loop, scenario(), timeout=120)
    assert open_sessions(demo_server, "john") == before
    with pytest.raises(SignedOut):
        RemoteServices(demo_server.url).resume(secret)
    assert all("demo-john" not in entry for written in memory_keyring.written for entry in written)
    assert "demo-john" not in Path(QSettings().fileName()).read_text()


def test_quitting_without_staying_signed_in_ends_the_session(
    demo_server: Served, memory_keyring: MemoryKeyring, loop: qasync.QEventLoop
) -> None:
    before = open_sessions(demo_server, "john")

    async def scenario() -> None:
        sessions = asyncio.ensure_future(desk_sessions(demo_server.url))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert not dialog.stay_signed_in.isChecked()
        type_credentials(dialog, "john", "demo-john")
        dialog.sign_in_button.click()
        window = await until(shown_window, what="john's window")
        assert await asyncio.to_thread(open_sessions, demo_server, "john") == before + 1
        window.close()
        assert await sessions == 0

    run(loop, scenario(), timeout=120)
    assert open_sessions(demo_server, "john") == before
    assert memory_keyring.written == []


def test_a_refused_kept_session_is_forgotten_and_the_password_asked(
    demo_server: Served, memory_keyring: MemoryKeyring, loop: qasync.QEventLoop
) -> None:
    key = f"session of john at {demo_server.url}"
    memory_keyring.set_password(KEYRING_SERVICE, key, "desks_ended-long-ago")
    QSettings().setValue(USERNAME_KEY, "john")

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=demo_server.url))
        dialog = await until(lambda: shown(LoginDialog), what="the login dialog")
        assert dialog.username.text() == "john" and not dialog.message.isVisible()
        assert memory_keyring.passwords == {}
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())
