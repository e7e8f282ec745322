"""`desk --smoke-test`: prove an installed or frozen Desk works without its source tree.

It creates a database from the bundled migrations in a temporary folder, opens the agent window on it with the
bundled icons and styles, lets it load its queues, quits and prints one line; exit status 0 means all of that
worked. Run by the packaging tests on the AppImage and the MSI's installed files.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from pathlib import Path

from alembic import command

from PySide6 import __version__ as qt_version
from PySide6.QtGui import QGuiApplication

from desk import __version__
from desk.client.local import LocalServices
from desk.domain.permissions import Right, SystemActor
from desk.services import accounts, reference
from desk.services.setup import install_defaults
from desk.storage.db import Database, alembic_config, check_schema, head_revision
from desk.ui.app import application, end_session, event_loop
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context


async def _open_window(db: Database) -> int:
    admin = accounts.add_agent(
        db, SystemActor(), username="smoke", name="Smoke Test", email="smoke@desk.invalid",
        password=secrets.token_urlsafe(16), rights=(Right.ADMIN,), access={"Support": "All access"},
    )  # fmt: skip
    ctx = Context(services=LocalServices(db, "smoke test"), agent=admin, choices=reference.choices(db, admin))
    window = MainWindow(ctx)
    window.show()
    await window.start()
    rows = window.sidebar.count()
    await end_session(window, ctx)
    # What the window started (its first counts, kept sends, the mail check) ends here, not pending with the loop.
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=10)
    return rows


def main(url: str | None = None) -> int:
    if url is not None:  # the configured database: only its schema is checked, nothing is written
        existing = Database(url)
        check_schema(existing.engine)
        existing.dispose()
    app = application()
    with tempfile.TemporaryDirectory(prefix="desk-smoke-") as folder:
        db_url = f"sqlite:///{Path(folder) / 'smoke.db'}"
        command.upgrade(alembic_config(db_url), "head")
        db = Database(db_url)
        with db.transaction() as session:
            install_defaults(session)
        with event_loop(app) as loop:
            queues = loop.run_until_complete(_open_window(db))
    print(
        f"DESK-SMOKE-OK version={__version__} schema={head_revision()} queues={queues} "
        f"platform={QGuiApplication.platformName()} qt={qt_version} python={sys.version.split()[0]}"
    )
    return 0
