"""Signing in, and the whole start-up path: database, schema check, login, the Context the window starts from.

Dialogs are found on screen and driven by typing and clicking; the database problem box is answered either by
clicking its buttons or by replacing its `ask()` classmethod (STYLE rule 56).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import keyring
import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from desk import config
from desk.client.services import LocalServices
from desk.services import accounts
from desk.storage.db import Database
from desk.ui.connect import ConnectionDialog, ConnectionProblem, ConnectionSettings, EngineKind
from desk.ui.login import LoginDialog
from desk.ui.startup import Choice, DatabaseProblemBox, sign_in, sign_in_function
from tests.ui.conftest import db_of, run, until
from tests.ui.test_connect import NoKeyring

W = TypeVar("W", bound=QWidget)

# The dialogs' minimum size follows their rows; only the offscreen platform warns it cannot pass that on.


@pytest.fixture(autouse=True)
def isolated_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No keyring, no DESK_DATABASE_URL and no config file of the developer's."""
    before = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    monkeypatch.delenv("DESK_DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "config_file", lambda: Path("/nonexistent/desk.toml"))
    yield
    keyring.set_keyring(before)


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


def test_change_database_is_its_own_result(demo_db: Database, executor: ThreadPoolExecutor, qtbot: QtBot) -> None:
    dialog = open_login(qtbot, demo_db, executor)
    with qtbot.waitSignal(dialog.finished) as finished:
        dialog.change_button.click()
    assert finished.args == [LoginDialog.CHANGE_DATABASE]


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
    asked: list[tuple[str, str]] = []

    async def answer(
        cls: type[DatabaseProblemBox], parent: QWidget | None, problem: ConnectionProblem, label: str
    ) -> Choice:
        asked.append((str(problem), label))
        return Choice.QUIT

    monkeypatch.setattr(DatabaseProblemBox, "ask", classmethod(answer))
    assert run(loop, sign_in(url=f"sqlite:///{empty}")) is None
    [(message, label)] = asked
    assert message == "The database has no Desk schema yet. Run `desk db upgrade` to create it."
    assert label.startswith("SQLite ") and label.endswith("empty.db")


def test_unreachable_server_box_leads_back_to_the_connection_dialog(loop: qasync.QEventLoop) -> None:
    """The box as a person sees it: read it, press "Change database…", then cancel the dialog."""

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url="postgresql://desk@127.0.0.1:1/desk"))
        box = await until(lambda: shown(DatabaseProblemBox), what="the problem box")
        assert box.text() == "Desk cannot open the database."
        assert box.informativeText().startswith(
            "Cannot reach 127.0.0.1:1: connection refused — is the server running and reachable?"
        )
        assert "PostgreSQL desk@127.0.0.1:1/desk" in box.informativeText()
        box.change_button.click()
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        # It starts from the URL that failed, and says why.
        assert (dialog.host.text(), dialog.port.text(), dialog.user.text()) == ("127.0.0.1", "1", "desk")
        assert dialog.outcome.text().startswith("Cannot reach 127.0.0.1:1")
        dialog.cancel_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_try_again_retries_then_quit(tmp_path: Path, loop: qasync.QEventLoop) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{empty}"))
        box = await until(lambda: shown(DatabaseProblemBox), what="the problem box")
        assert box.text() == "The database is not ready for this Desk."
        box.retry_button.click()
        again = await until(lambda: (b := shown(DatabaseProblemBox)) is not None and b is not box and b)
        again.quit_button.click()
        assert await signing_in is None

    run(loop, scenario())


def test_first_start_asks_for_the_database_then_remembers_it(desk_file: Path, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        assert ConnectionSettings.load() is None
        signing_in = loop.create_task(sign_in())
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        dialog.engine.setCurrentIndex(dialog.engine.findData(EngineKind.SQLITE))
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
    remembered = ConnectionSettings.load()
    assert remembered is not None
    assert (remembered.engine, remembered.sqlite_path) == (EngineKind.SQLITE, str(desk_file))


def test_change_database_from_the_login_dialog(desk_file: Path, tmp_path: Path, loop: qasync.QEventLoop) -> None:
    other = tmp_path / "other.db"
    shutil.copy(desk_file, other)

    async def scenario() -> None:
        signing_in = loop.create_task(sign_in(url=f"sqlite:///{desk_file}"))
        login = await until(lambda: shown(LoginDialog), what="the login dialog")
        login.change_button.click()
        dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        assert dialog.path.text() == str(desk_file)  # starts from the database in use
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
