"""From launch to a signed-in agent: which database, is it usable, who is signing in.

Order:
1. The database: `url` (the command line), else DESK_DATABASE_URL or the config file, else the connection
   remembered in QSettings (its password from the keyring), else — on the first start — the connection dialog.
2. Open it in a worker thread and check its schema. When that fails, a message box says why and how to fix it,
   with "Try again", "Change database…" (back to the connection dialog) and "Quit"; never a traceback.
3. The login dialog (or the given username and password), whose "Change database…" goes back to step 2's dialog.
4. The reference data for the agent's screens, then the Context the main window is built from.

Every dialog is opened non-modally and awaited (STYLE rule 30), so the qasync loop keeps running.
"""

from __future__ import annotations

import asyncio
import enum
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import URL

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QDialog, QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from desk.config import configured_url
from desk.domain.errors import DeskError
from desk.domain.permissions import AgentActor
from desk.keyring_store import stored_password
from desk.services import accounts, reference
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


async def _log_in(
    parent: QWidget | None,
    executor: ThreadPoolExecutor,
    db: Database,
    connection: str,
    username: str | None,
    password: str | None,
) -> AgentActor | int:
    """The signed-in agent, or the login dialog's result code (Rejected, CHANGE_DATABASE)."""
    message = ""
    if username is not None and password is not None:
        try:
            return await run(executor, accounts.authenticate_agent, db, username, password)
        except DeskError as error:  # pre-filled but refused: let the person see why and try themselves
            message = str(error)
    dialog = LoginDialog(db, executor, parent, connection=connection, username=username, message=message)
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
    db: Database | None = None
    label = message = ""
    while True:
        if db is None and current is None:
            chosen = await _choose_database(app_parent, executor, previous, message)
            if chosen is None:
                break
            db, label = chosen
            current = db.engine.url
        elif db is None:
            assert current is not None
            label = describe_url(current)
            try:
                db = await run(executor, open_database, current)
            except ConnectionProblem as problem:
                choice = await DatabaseProblemBox.ask(app_parent, problem, label)
                if choice is Choice.QUIT:
                    break
                if choice is Choice.CHANGE:
                    previous, current, message = current, None, str(problem)
                continue
        outcome = await _log_in(app_parent, executor, db, label, username, password)
        if isinstance(outcome, AgentActor):
            choices = await run(executor, reference.choices, db, outcome)
            return Context(db=db, agent=outcome, choices=choices, url_label=label, executor=executor)
        db.dispose()
        db = None
        if outcome != LoginDialog.CHANGE_DATABASE:
            break
        # Back to the connection dialog, whatever URL we started from; a pre-filled sign-in is used up.
        previous, current, message, username, password = current, None, "", None, None
    executor.shutdown(wait=False, cancel_futures=True)
    return None
