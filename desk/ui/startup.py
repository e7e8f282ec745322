"""From launch to a signed-in agent: which help desk, is it usable, who is signing in.

Order:
1. The help desk: `url` (the command line), else DESK_DATABASE_URL or the config file, else the connection
   remembered in QSettings, else — on the first start — the connection dialog. An https:// (or loopback http://)
   URL is a Desk server; anything else a database this Desk opens itself.
2. Reach it in a worker thread: a Desk server says hello (its version, whether its database answers); a database
   is opened and its schema checked. When that fails, a message box says why and how to fix it, with "Try again",
   "Change database…" (back to the connection dialog) and "Quit"; never a traceback.
3. The login dialog (or the given username and password), whose "Change database…" goes back to step 2's dialog.
   Against a server, signing in opens a session there; the agent's machine never holds a database login.
4. The reference data for the agent's screens, then the Context the main window is built from.

Every dialog is opened non-modally and awaited (STYLE rule 30), so the qasync loop keeps running.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import URL

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QDialog, QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from desk import __version__
from desk.client.remote import RemoteServices, is_server_url
from desk.client.services import LocalServices, Services
from desk.config import configured_url
from desk.domain.errors import DeskError
from desk.domain.permissions import AgentActor
from desk.keyring_store import stored_password
from desk.services import accounts
from desk.storage.db import Database
from desk.ui.connect import (
    ConnectionDialog,
    ConnectionProblem,
    ConnectionSettings,
    EngineKind,
    describe_url,
    open_database,
)
from desk.ui.login import LoginDialog
from desk.ui.tasks import Context, run
from desk.ui.widgets import plain_labels


def tr(text: str) -> str:
    return QCoreApplication.translate("startup", text)


async def result_of(dialog: QDialog) -> int:
    """Open the dialog non-modally and wait, on the running loop, until it finishes; its result code.

    Callers deleteLater() the dialog once they have read it: left to Python's cyclic collector (asyncio's
    exceptions and tasks hold it in cycles), it could be freed in a database worker thread.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finish(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(finish)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(finish)


class Choice(enum.Enum):
    """What the person wants after the database could not be opened."""

    RETRY = "retry"
    CHANGE = "change"
    QUIT = "quit"


class DatabaseProblemBox(QMessageBox):
    """Why the database cannot be used, how to fix it, and the way back to the connection dialog."""

    def __init__(self, parent: QWidget | None, problem: ConnectionProblem, connection: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Desk cannot use this database"))
        self.setIcon(QMessageBox.Icon.Warning)
        if problem.schema:
            self.setText(tr("The database is not ready for this Desk."))
        else:
            self.setText(tr("Desk cannot open the database."))
        self.setInformativeText(f"{problem}\n\n{tr('Database:')} {connection}")
        plain_labels(self)  # the problem quotes the server's own message
        self.change_button = self.addButton(tr("Change database…"), QMessageBox.ButtonRole.AcceptRole)
        self.retry_button = self.addButton(tr("Try again"), QMessageBox.ButtonRole.ActionRole)
        self.quit_button = self.addButton(tr("Quit"), QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.change_button)
        self.setEscapeButton(self.quit_button)
        # QMessageBox sizes itself to its title text and ignores setMinimumWidth; a spacer across the bottom row
        # keeps a host name and its database on one line.
        grid = self.layout()
        if isinstance(grid, QGridLayout):
            spacer = QSpacerItem(460, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)
            grid.addItem(spacer, grid.rowCount(), 0, 1, grid.columnCount())

    @classmethod
    async def ask(cls, parent: QWidget | None, problem: ConnectionProblem, connection: str) -> Choice:
        """Show the problem and wait for the answer (tests replace this classmethod to answer it)."""
        box = cls(parent, problem, connection)
        await result_of(box)
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is box.change_button:
            return Choice.CHANGE
        if clicked is box.retry_button:
            return Choice.RETRY
        return Choice.QUIT


async def _remembered_url(executor: ThreadPoolExecutor, settings: ConnectionSettings) -> URL:
    password = None
    if settings.engine is not EngineKind.SQLITE:
        password = await run(executor, stored_password, settings.keyring_key())
    return settings.url(password)


async def _choose_database(
    parent: QWidget | None, executor: ThreadPoolExecutor, url: str | URL | None, message: str
) -> tuple[Database, str] | None:
    """The connection dialog, started from the remembered fields (or the current URL); None when cancelled."""
    initial = ConnectionSettings.load()
    if initial is None and url is not None:
        initial = ConnectionSettings.from_url(url)
    dialog = ConnectionDialog(executor, parent, initial=initial, message=message)
    code = await result_of(dialog)
    chosen = (dialog.database, dialog.label()) if code == QDialog.DialogCode.Accepted and dialog.database else None
    dialog.deleteLater()
    return chosen


def open_services(url: str | URL) -> Services:
    """The help desk at `url`, checked to be usable (blocking: call in a worker thread); ConnectionProblem if not."""
    if isinstance(url, str) and is_server_url(url):
        remote = RemoteServices(url)
        try:
            remote.hello()
        except DeskError as error:
            remote.close()
            raise ConnectionProblem(str(error)) from error
        return remote
    return LocalServices(open_database(url), describe_url(url))


def sign_in_function(services: Services) -> Callable[[str, str], AgentActor]:
    """How the login dialog checks a password: a session on the Desk server, or the accounts service here."""
    if isinstance(services, RemoteServices):
        client = f"Desk {__version__} on {platform.node() or 'a computer'}"
        return functools.partial(services.sign_in, client=client)
    assert isinstance(services, LocalServices)
    return functools.partial(accounts.authenticate_agent, services.db)


async def _log_in(
    parent: QWidget | None,
    executor: ThreadPoolExecutor,
    services: Services,
    username: str | None,
    password: str | None,
) -> AgentActor | int:
    """The signed-in agent, or the login dialog's result code (Rejected, CHANGE_DATABASE)."""
    message = ""
    check = sign_in_function(services)
    if username is not None and password is not None:
        try:
            return await run(executor, check, username, password)
        except DeskError as error:  # pre-filled but refused: let the person see why and try themselves
            message = str(error)
    dialog = LoginDialog(check, executor, parent, connection=services.label, username=username, message=message)
    code = await result_of(dialog)
    dialog.deleteLater()
    if code == QDialog.DialogCode.Accepted and dialog.agent is not None:
        return dialog.agent
    return code


async def sign_in(
    app_parent: QWidget | None = None,
    *,
    url: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Context | None:
    """Choose and open the database, sign the agent in; the Context for the main window, or None if cancelled.

    `url` (or DESK_DATABASE_URL, or the config file) skips the connection dialog. `username` with `password`
    skips the login dialog unless the service refuses them (for screenshots and benchmarks).
    """
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db")
    current: str | URL | None = configured_url(url)
    remembered = ConnectionSettings.load() if current is None else None
    if current is None and remembered is not None:
        current = await _remembered_url(executor, remembered)
    previous: str | URL | None = None  # what the connection dialog starts from when nothing is remembered
    services: Services | None = None
    message = ""
    while True:
        if services is None and current is None:
            chosen = await _choose_database(app_parent, executor, previous, message)
            if chosen is None:
                break
            db, label = chosen
            services, current = LocalServices(db, label), db.engine.url
        elif services is None:
            assert current is not None
            try:
                services = await run(executor, open_services, current)
            except ConnectionProblem as problem:
                label = current if isinstance(current, str) and is_server_url(current) else describe_url(current)
                choice = await DatabaseProblemBox.ask(app_parent, problem, label)
                if choice is Choice.QUIT:
                    break
                if choice is Choice.CHANGE:
                    previous, current, message = current, None, str(problem)
                continue
        outcome = await _log_in(app_parent, executor, services, username, password)
        if isinstance(outcome, AgentActor):
            from desk.services import reference  # with the services the window calls: after the sign-in

            choices = await run(executor, services.call, reference.choices, outcome)
            return Context(services=services, agent=outcome, choices=choices, executor=executor)
        services.close()
        services = None
        if outcome != LoginDialog.CHANGE_DATABASE:
            break
        # Back to the connection dialog, whatever URL we started from; a pre-filled sign-in is used up.
        previous, current, message, username, password = current, None, "", None, None
    executor.shutdown(wait=False, cancel_futures=True)
    return None
