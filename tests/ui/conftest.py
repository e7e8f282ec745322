"""GUI fixtures: offscreen Qt, a qasync loop to await service calls on, and a small demo help desk per test.

Widget tests run as coroutines on the qasync loop (`run(loop, scenario())`), so `@asyncSlot`s and
`Context.call` work exactly as in the application; `until` waits for what the screen shows.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("DESK_THEME", "light")

import keyring
import keyring.backend
import pytest

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desk.client.local import LocalServices
from desk.services import accounts, reference
from desk.services.demo import build_demo
from desk.storage.db import Database
from desk.ui.queue.model import QueueRole
from desk.ui.queue.widget import QueueWidget
from desk.ui.tasks import Context
from tests.conftest import build_schema
from tests.mail.dovecot import imap_server  # noqa: F401  # the fixture: a window sets up a mailbox against it
from tests.web.serving import desk_serve

T = TypeVar("T")
DEMO_TICKETS = 60
# A test that opens a popup (a combo's list, a menu): the offscreen platform cannot raise it or grab the keyboard.
POPUP = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo help desk (departments, agents admin and john, SLA plans, topics, tickets), built once."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    db = Database(url)
    build_schema(db, url)
    build_demo(db, tickets=DEMO_TICKETS)
    db.dispose()
    return path


@dataclass(frozen=True)
class Served:
    """A `desk serve` process: its address, and the database it serves (for a test to look behind it)."""

    url: str
    database_url: str


@pytest.fixture(scope="session")
def demo_server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real `desk serve` on its own copy of the demo help desk (plain http on loopback), shared by the tests
    that reach a Desk server."""
    folder = tmp_path_factory.mktemp("served")
    shutil.copy(demo_file, folder / "desk.db")
    database_url = f"sqlite:///{folder / 'desk.db'}"
    with desk_serve(database_url, folder / "serve.log") as url:
        yield Served(url, database_url)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that works, records every password written to it, and forgets everything after the test.

    Attributes:
        passwords: what it holds now, by (service, key).
        written: every (service, key, password) ever set, in order, deleted ones included.
    """

    priority = 1

    def __init__(self) -> None:
        # KeyringBackend.__init__ only reads KEYRING_PROPERTY_* variables from the environment.
        self.passwords: dict[tuple[str, str], str] = {}
        self.written: list[tuple[str, str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password
        self.written.append((service, username, password))

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A keyring for this test only (tests/conftest.py leaves none working otherwise): left installed, later tests
    would keep passwords where no other process sees them (the mail worker's subprocess found its mailbox password
    missing)."""
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def demo_db(demo_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the demo database for one test."""
    path = tmp_path / "desk.db"
    shutil.copy(demo_file, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    """QSettings and local drafts in the test's own folder, never the developer's."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop on the test's QApplication; an exception no one awaited fails the test at teardown."""
    qapp.setQuitOnLastWindowClosed(False)  # as in desk.ui.app: closing a dialog must not stop the loop
    event_loop = qasync.QEventLoop(qapp, already_running=False)
    errors: list[dict[str, Any]] = []
    event_loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(event_loop)
    yield event_loop
    # Finish what the test left running (a closed window's live-update and retry tasks), here: a task or a
    # QObject collected later, in a database worker thread or during the next test's event processing, crashes Qt.
    leftover = asyncio.all_tasks(event_loop)
    for task in leftover:
        task.cancel()
    event_loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
    asyncio.set_event_loop(None)
    event_loop.close()
    # Collect the closed loop's QObjects here, on the GUI thread: a later collection in a database worker thread
    # would destroy them there ("Timers cannot be stopped from another thread", a warning that fails a test).
    gc.collect()
    assert not errors, errors


def db_of(ctx: Context) -> Database:
    """The database under a Context whose services run in this process (the tests arrange and check with it)."""
    assert isinstance(ctx.services, LocalServices)
    return ctx.services.db


def make_context(db: Database, username: str) -> Context:
    agent = accounts.agent_by_username(db, username)
    return Context(services=LocalServices(db, "SQLite demo"), agent=agent, choices=reference.choices(db, agent))


@pytest.fixture
def ctx(demo_db: Database) -> Iterator[Context]:
    """The demo admin signed in."""
    context = make_context(demo_db, "admin")
    yield context
    context.close()


def run(loop: qasync.QEventLoop, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Run a test scenario on the qasync loop (Qt events are processed while it awaits)."""
    result: T = loop.run_until_complete(asyncio.wait_for(coroutine, timeout))
    return result


async def queue_loaded(widget: QueueWidget) -> None:
    """Every id of the queue's query and every row's contents have arrived."""
    model = widget.model
    rows = model.rowCount
    await until(lambda: model.is_complete and all(model.index(r, 0).data(QueueRole.ROW) for r in range(rows())))


async def until(condition: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:
    """Wait until `condition()` is truthy, letting the loop and Qt run; fail with `what` after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


Shown = list[tuple[str, str]]


@pytest.fixture
def tray(monkeypatch: pytest.MonkeyPatch) -> Shown:
    """A desktop with a notification area; what the tray was asked to show (title, message), in order."""
    shown: Shown = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "show", lambda self: None)  # the offscreen platform has no tray to show in
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *_: shown.append((title, text)))
    return shown
