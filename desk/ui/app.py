"""The composition root of the agent window.

Start-up order: QApplication (organisation and application names for QSettings) → theme (and again whenever
the system's colour scheme changes) → crash hook → the qasync loop → sign-in (connection dialog on first start,
schema check, agent login; desk.ui.startup) → the main window, which loads counts and the Open queue →
run until it closes → end the session (its work, its window, the server session unless the agent stays signed in,
the database) → after File › Sign out, sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from desk.ui import theme
from desk.ui.startup import end_server_session, sign_in
from desk.ui.tasks import Context
from desk.ui.widgets import message_box

if TYPE_CHECKING:
    from desk.ui.main_window import MainWindow


def application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setOrganizationName("Desk")
    app.setApplicationName("Desk")
    app.setQuitOnLastWindowClosed(False)  # dialogs come and go during sign-in; the session ends the loop
    theme.apply(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: theme.apply(app))
    return app


def _crash(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """A bug (not a DeskError the screens handle): say so plainly, with the details for a report."""
    details = "".join(traceback.format_exception(kind, error, tb))
    print(details, file=sys.stderr)
    box = message_box(
        QMessageBox.Icon.Critical,
        "Desk hit a bug",
        f"Something went wrong inside Desk: {error}",
        informative="What you typed is kept in your drafts. Please send the details to your administrator.",
    )
    box.setDetailedText(details)
    box.exec()


async def agent_sessions(url: str | None, username: str | None = None, password: str | None = None) -> int:
    """Sign in and run the agent window; after File › Sign out, back to the sign-in for the next agent. The exit
    status: 1 when the first sign-in was cancelled."""
    signed_in = False
    while True:
        ctx = await sign_in(url=url, username=username, password=password)
        if ctx is None:
            return 0 if signed_in else 1
        signed_in, username, password = True, None, None  # a pre-filled sign-in is used once
        if not await run_window(ctx):
            return 0


async def run_window(ctx: Context) -> bool:
    """Show the agent's window until it closes, then end the session. Whether the agent signed out (switch
    agent) rather than quit."""
    from desk.ui.main_window import MainWindow  # every screen and the services they call: after the sign-in

    window = MainWindow(ctx)
    closed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finish(signed_out: bool) -> None:
        if not closed.done():
            closed.set_result(signed_out)

    window.closed.connect(finish)
    window.show()
    starting = asyncio.ensure_future(window.start())
    signed_out = await closed
    await end_session(window, ctx, signing_out=signed_out)
    with contextlib.suppress(asyncio.CancelledError):  # cancelled when the window closed while it loaded
        await starting
    return signed_out


async def end_session(window: MainWindow, ctx: Context, *, signing_out: bool = False) -> None:
    """End a signed-in session, leaving nothing running: the window's timers, listeners and fetches stopped, the
    tasks awaiting a call cancelled (their answers dropped), the database threads joined, the live-update
    connection closed, the window deleted, the session on the Desk server ended (unless the agent chose to stay
    signed in and did not sign out) and the services closed."""
    window.close()
    ctx.close()
    await window.live.aclose()
    window.deleteLater()
    await asyncio.to_thread(end_server_session, ctx.services, ctx.kept_session, signing_out=signing_out)
    ctx.services.close()


def main(url: str | None = None, *, username: str | None = None, password: str | None = None) -> int:
    """Run the agent window until it is closed; the exit status."""
    app = application()
    sys.excepthook = _crash
    with event_loop(app) as loop:
        code: int = loop.run_until_complete(agent_sessions(url, username, password))
        return code


@contextlib.contextmanager
def event_loop(app: QApplication) -> Iterator[qasync.QEventLoop]:
    """The qasync loop on `app`, closed on the way out. Closing joins the loop's own executor, whose QThreads run
    psycopg's address lookups: left running, Qt aborts the process at exit ("QThread: Destroyed while thread is
    still running")."""
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        yield loop
