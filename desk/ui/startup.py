"""From launch to a signed-in agent: which help desk, is it usable, who is signing in; and how a session ends.

Order:
1. The help desk: `url` (the command line), else DESK_DATABASE_URL or the config file, else the connection
   remembered in QSettings, else — on the first start — the connection dialog. An https:// (or loopback http://)
   URL is a Desk server; anything else a database this Desk opens itself (the dialog offers only a SQLite file).
2. Reach it (desk.ui.connect.reach): a Desk server's certificate is checked and the server says hello; a database
   is opened and its schema checked. When that fails, a message box says why and how to fix it, with "Try again",
   "Change connection…" (back to the connection dialog) and "Quit"; never a traceback.
3. A help desk without any agent (a new file or database) first creates its administrator instead (a server's
   also wants the set-up code `desk serve` printed). Against a server, a session kept by "Stay signed in" carries
   on without the password (refused, it is forgotten). Else the login dialog (or the given username and
   password), whose "Change connection…" goes back to step 2's dialog. Signing in opens a session on the server;
   the agent's machine never holds a database login.
4. The reference data for the agent's screens, then the Context the main window is built from.

When the window closes, `end_server_session` ends the server session unless the agent stays signed in and only
quit. Every dialog is opened non-modally and awaited (STYLE rule 30), so the qasync loop keeps running.
"""

from __future__ import annotations

import enum
import functools
import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shiboken6 import isValid

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QDialog, QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from desk import __version__
from desk.client.remote import RemoteServices
from desk.client.services import Services
from desk.config import configured_url
from desk.domain.errors import ConnectionProblem, DeskError, SignedOut
from desk.domain.permissions import AgentActor
from desk.keyring_store import keyring_available, remember_password, stored_password
from desk.ui.connect import ConnectionDialog, Remembered, describe_url, is_server, reach
from desk.ui.first_run import FirstAdministratorDialog
from desk.ui.login import USERNAME_KEY, LoginDialog
from desk.ui.tasks import Context, run
from desk.ui.widgets import plain_labels, result_of

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def tr(text: str) -> str:
    return QCoreApplication.translate("startup", text)


class Choice(enum.Enum):
    """What the person wants after the help desk could not be reached."""

    RETRY = "retry"
    CHANGE = "change"
    QUIT = "quit"


class ConnectionProblemBox(QMessageBox):
    """Why the help desk cannot be used, how to fix it, and the way back to the connection dialog."""

    def __init__(self, parent: QWidget | None, problem: ConnectionProblem, url: str | URL) -> None:
        super().__init__(parent)
        server = is_server(url)
        self.setWindowTitle(tr("Desk cannot reach the help desk"))
        self.setIcon(QMessageBox.Icon.Warning)
        if server:
            self.setText(tr("Desk cannot use the Desk server."))
        elif problem.schema:
            self.setText(tr("The database is not ready for this Desk."))
        else:
            self.setText(tr("Desk cannot open the database."))
        where = tr("Server:") if server else tr("Database:")
        self.setInformativeText(f"{problem}\n\n{where} {describe_url(url)}")
        plain_labels(self)  # the problem quotes the server's own message
        self.change_button = self.addButton(tr("Change connection…"), QMessageBox.ButtonRole.AcceptRole)
        self.retry_button = self.addButton(tr("Try again"), QMessageBox.ButtonRole.ActionRole)
        self.quit_button = self.addButton(tr("Quit"), QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.change_button)
        self.setEscapeButton(self.quit_button)
        # QMessageBox sizes itself to its title text and ignores setMinimumWidth; a spacer across the bottom row
        # keeps an address on one line.
        grid = self.layout()
        if isinstance(grid, QGridLayout):
            spacer = QSpacerItem(460, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)
            grid.addItem(spacer, grid.rowCount(), 0, 1, grid.columnCount())

    @classmethod
    async def ask(cls, parent: QWidget | None, problem: ConnectionProblem, url: str | URL) -> Choice:
        """Show the problem and wait for the answer (tests replace this classmethod to answer it)."""
        box = cls(parent, problem, url)
        await result_of(box)
        if not isValid(box):  # deleted with its window as Desk quit: as if cancelled
            return Choice.QUIT
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is box.change_button:
            return Choice.CHANGE
        if clicked is box.retry_button:
            return Choice.RETRY
        return Choice.QUIT


async def _choose(
    parent: QWidget | None, executor: ThreadPoolExecutor, url: str | URL | None, message: str
) -> Services | None:
    """The connection dialog, started from the help desk in use (or the remembered one); None when cancelled."""
    initial = Remembered.of(url) if url is not None else None
    dialog = ConnectionDialog(executor, parent, initial=initial, message=message)
    code = await result_of(dialog)
    chosen = dialog.services if code == QDialog.DialogCode.Accepted else None
    dialog.deleteLater()
    return chosen


def this_client() -> str:
    """This Desk as a server's list of sessions names it."""
    return f"Desk {__version__} on {platform.node() or 'a computer'}"


def sign_in_function(services: Services) -> Callable[[str, str], AgentActor]:
    """How the login dialog checks a password: a session on the Desk server, or the accounts service here."""
    return functools.partial(services.sign_in, client=this_client())


# --- "stay signed in" -------------------------------------------------------------------------------------------


def session_key(url: str, username: str) -> str:
    """The keyring entry that keeps a session's secret (never the password) for this server and username."""
    return f"session of {username} at {url}"


def resume_session(services: RemoteServices, username: str) -> AgentActor | None:
    """The agent of the session kept for this server and username, carried on; None when none is kept or the
    server refused it (then it is forgotten). Blocking: the keyring and the server."""
    key = session_key(services.url, username)
    secret = stored_password(key)
    if secret is None:
        return None
    try:
        return services.resume(secret)
    except SignedOut:
        remember_password(key, None)
        return None


def end_server_session(services: Services, kept: str | None, *, signing_out: bool) -> None:
    """When the window has closed: File › Sign out ends the session on the server and forgets its kept secret;
    quitting ends it too, unless the agent chose to stay signed in. Blocking: the server and the keyring."""
    if not isinstance(services, RemoteServices) or (kept is not None and not signing_out):
        return
    services.sign_out()
    if kept is not None:
        remember_password(kept, None)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and the keyring entry keeping their session when they chose to stay signed in."""

    agent: AgentActor
    kept: str | None = None


async def _log_in(
    parent: QWidget | None,
    executor: ThreadPoolExecutor,
    services: Services,
    username: str | None,
    password: str | None,
) -> SignedIn | int:
    """The signed-in agent, or the login dialog's result code (Rejected, CHANGE_CONNECTION)."""
    message = ""
    remote = services if isinstance(services, RemoteServices) else None
    try:
        new = await run(executor, services.needs_administrator)
        if remote is not None:
            await run(executor, remote.end_unended_sessions)
    except DeskError as error:  # the server or database went away meanwhile: the login dialog says so
        new, message = False, str(error)
    if new:
        return await _first_administrator(parent, executor, services)
    name = username if username is not None else str(QSettings().value(USERNAME_KEY, "") or "")
    if remote is not None and password is None and name:
        try:
            resumed = await run(executor, resume_session, remote, name)
        except DeskError as error:  # the server went away meanwhile: the agent signs in once it is back
            message = str(error)
        else:
            if resumed is not None:
                return SignedIn(resumed, session_key(remote.url, name))
    check = sign_in_function(services)
    if username is not None and password is not None:
        try:
            return SignedIn(await run(executor, check, username, password))
        except DeskError as error:  # pre-filled but refused: let the person see why and try themselves
            message = str(error)
    keyring = keyring_available if remote is not None else None
    dialog = LoginDialog(
        check, executor, parent, connection=services.label, username=username, message=message, keyring=keyring
    )
    code = await result_of(dialog)
    agent, name, stay = dialog.agent, dialog.username.text().strip(), dialog.stay_signed_in.isChecked()
    dialog.deleteLater()
    if code != QDialog.DialogCode.Accepted or agent is None:
        return code
    if remote is None:
        return SignedIn(agent)
    # Ticked, the session's secret is kept; unticked, an older one kept for this agent goes.
    key = session_key(remote.url, name)
    kept = await run(executor, remember_password, key, remote.secret if stay else None)
    return SignedIn(agent, key if stay and kept else None)


async def _first_administrator(
    parent: QWidget | None, executor: ThreadPoolExecutor, services: Services
) -> SignedIn | int:
    """A new help desk's first administrator, signed in; or the dialog's result code (Rejected, CHANGE_CONNECTION)."""

    def create(username: str, name: str, email: str, password: str, code: str) -> AgentActor:
        return services.create_administrator(username, name, email, password, code=code, client=this_client())

    remote = isinstance(services, RemoteServices)
    dialog = FirstAdministratorDialog(create, executor, parent, connection=services.label, ask_code=remote)
    code = await result_of(dialog)
    agent = dialog.agent
    dialog.deleteLater()
    return SignedIn(agent) if code == QDialog.DialogCode.Accepted and agent is not None else code


async def sign_in(
    app_parent: QWidget | None = None,
    *,
    url: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Context | None:
    """Choose and reach the help desk, sign the agent in; the Context for the main window, or None if cancelled.

    `url` (or DESK_DATABASE_URL, or the config file) skips the connection dialog. `username` with `password`
    skips the login dialog unless the service refuses them (for screenshots and benchmarks).
    """
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db")
    current: str | URL | None = configured_url(url)
    if current is None and (remembered := Remembered.load()) is not None:
        current = remembered.url()
    message = ""
    previous: str | URL | None = None  # what the connection dialog starts from
    services: Services | None = None
    while True:
        if services is None and current is None:
            services = await _choose(app_parent, executor, previous, message)
            if services is None:
                break
            current = services.identity
        elif services is None:
            assert current is not None
            try:
                services = await reach(app_parent, executor, current)
            except ConnectionProblem as problem:
                choice = await ConnectionProblemBox.ask(app_parent, problem, current)
                if choice is Choice.QUIT:
                    break
                if choice is Choice.CHANGE:
                    previous, current, message = current, None, str(problem)
                continue
        outcome = await _log_in(app_parent, executor, services, username, password)
        if isinstance(outcome, SignedIn):
            from desk.services import reference  # with the services the window calls: after the sign-in

            choices = await run(executor, services.call, reference.choices, outcome.agent)
            return Context(
                services=services, agent=outcome.agent, choices=choices, executor=executor, kept_session=outcome.kept
            )
        services.close()
        services = None
        if outcome != LoginDialog.CHANGE_CONNECTION:
            break
        # Back to the connection dialog, whatever URL we started from; a pre-filled sign-in is used up.
        previous, current, message, username, password = current, None, "", None, None
    executor.shutdown(wait=False, cancel_futures=True)
    return None
