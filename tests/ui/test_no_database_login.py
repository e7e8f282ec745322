"""Issue 14: after a remote sign-in, no database URL, user or password exists anywhere on the agent's machine.

A real `desk serve` reaches the test database with a login of its own whose user and password are distinctive
markers (on SQLite, the file's folder is named by the marker). The agent's Desk starts for the first time, is
given the server's address, signs in (with and without "Stay signed in"), works in its window (a draft typed) and
quits. Then everything Desk wrote is searched for the markers and the database URL: its settings (QSettings), the
config folder, its data folder (drafts, pending sends) and every entry ever written to the keyring.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest

from desk.domain.permissions import SystemActor
from desk.keyring_store import SERVICE as KEYRING_SERVICE
from desk.services import accounts
from desk.storage.db import Database
from desk.ui.app import agent_sessions
from desk.ui.connect import ConnectionDialog
from desk.ui.login import LoginDialog
from desk.ui.main_window import MainWindow
from desk.ui.ticket.new_ticket import NewTicketDialog
from tests.ui.conftest import MemoryKeyring, run, until
from tests.ui.test_login import shown, type_credentials
from tests.web.serving import desk_serve

PASSWORD = "jane-signs-in-here"


@dataclass(frozen=True)
class Marked:
    """The database URL `desk serve` is given, and what of it must never reach an agent's machine."""

    url: str
    needles: tuple[str, ...]


@pytest.fixture
def marked(db: Database, tmp_path: Path) -> Iterator[Marked]:
    """The test database behind a login of its own (for SQLite, a folder) named by a fresh marker."""
    marker = uuid.uuid4().hex
    url = db.engine.url
    if db.dialect == "sqlite":
        database = Path(str(url.database))
        (tmp_path / f"db-{marker}").symlink_to(database.parent)
        served = url.set(database=str(tmp_path / f"db-{marker}" / database.name))
        yield Marked(served.render_as_string(hide_password=False), (marker, str(served)))
        return
    user, password = f"desk_{marker[:12]}", f"pw-{marker}"
    if db.dialect == "postgresql":
        create = [
            f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
            f"GRANT USAGE ON SCHEMA public TO {user}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {user}",
        ]
        drop = [f"DROP OWNED BY {user}", f"DROP ROLE {user}"]
    else:
        create = [
            f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{password}'",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{url.database}`.* TO '{user}'@'%%'",
        ]
        drop = [f"DROP USER '{user}'@'%%'"]
    with db.engine.begin() as connection:
        for statement in create:
            connection.exec_driver_sql(statement)
    login = url.set(username=user, password=password)
    try:
        yield Marked(
            login.render_as_string(hide_password=False),
            (marker, user, password, login.render_as_string(hide_password=False), str(login), str(url.database)),
        )
    finally:
        with db.engine.begin() as connection:
            for statement in drop:
                connection.exec_driver_sql(statement)


def files_below(*folders: Path) -> list[Path]:
    return [path for folder in folders if folder.exists() for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize("stay", [False, True], ids=["quit", "stay-signed-in"])
def test_after_a_remote_sign_in_no_database_login_is_on_the_agents_machine(
    stay: bool,
    db: Database,
    marked: Marked,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    loop: qasync.QEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # where Desk's config file would be
    accounts.add_agent(
        db, SystemActor(), username="jane", name="Jane Doe", email="jane@example.com", password=PASSWORD,
        access={"Support": "All access"},
    )  # fmt: skip

    # The server machine's files are its own (tmp_path / "server"), not the agent's.
    server_env = {**os.environ, "DESK_DATA_DIR": str(tmp_path / "server")}
    with desk_serve(marked.url, tmp_path / "serve.log", env=server_env) as server:

        async def scenario() -> None:
            sessions = asyncio.ensure_future(agent_sessions(None))
            dialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog (first start)")
            QTest.keyClicks(dialog.address, server)
            dialog.connect_button.click()
            login = await until(lambda: shown(LoginDialog), what="the login dialog")
            if stay:
                await until(login.stay_signed_in.isEnabled, what="the keyring's answer")
                login.stay_signed_in.click()
            type_credentials(login, "jane", PASSWORD)
            login.sign_in_button.click()
            window = await until(lambda: shown(MainWindow), what="jane's window")
            await until(lambda: not window.queue.model.is_loading, what="the queue")
            window.new_ticket()
            form = await until(lambda: shown(NewTicketDialog), what="the new-ticket form")
            QTest.keyClicks(form.subject, "Card declined abroad")
            await until(lambda: files_below(tmp_path / "data" / "drafts"), what="the draft on disk")
            form.reject()
            window.close()  # File › Quit
            assert await sessions == 0

        run(loop, scenario(), timeout=120)

    settings = Path(QSettings().fileName())
    assert server in settings.read_text()  # Desk did write: the server's address, the username
    written = files_below(settings.parent, tmp_path / "data", tmp_path / "config")
    assert any(path.parent.name == "drafts" for path in written)
    for path in written:
        content = path.read_bytes()
        for needle in marked.needles:
            assert needle.encode() not in content, (path, needle)
    for entry in memory_keyring.written:
        for needle in (*marked.needles, PASSWORD):
            assert all(needle not in part for part in entry), (entry, needle)
    if stay:
        [(service, key, secret)] = memory_keyring.written
        assert (service, key) == (KEYRING_SERVICE, f"session of jane at {server}") and secret.startswith("desks_")
    else:
        assert memory_keyring.written == []
