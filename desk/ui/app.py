"""The composition root of the agent window.

Start-up order: QApplication (organisation and application names for QSettings) → theme (and again whenever
the system's colour scheme changes) → crash hook → the qasync loop → sign-in (connection dialog on first start,
schema check, agent login; desk.ui.startup) → the main window, which loads counts and the Open queue →
run until the last window closes → dispose of the database.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from types import TracebackType

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from desk.ui import theme
from desk.ui.main_window import MainWindow
from desk.ui.startup import sign_in
from desk.ui.widgets import message_box


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


async def _session(app: QApplication, url: str | None, username: str | None, password: str | None) -> int:
    ctx = await sign_in(url=url, username=username, password=password)
    if ctx is None:
        return 1
    window = MainWindow(ctx)
    window.show()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    await window.start()
    await closed.wait()
    ctx.close()
    ctx.db.dispose()
    return 0


def main(url: str | None = None, *, username: str | None = None, password: str | None = None) -> int:
    """Run the agent window until it is closed; the exit status."""
    app = application()
    sys.excepthook = _crash
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code: int = loop.run_until_complete(_session(app, url, username, password))
        return code
