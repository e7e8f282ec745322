"""The window through a Desk server: it shows the queue the server gives, and when the server ends the session
(an administrator, a deactivation) the agent is told why and taken back to the sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from desk.client.remote import RemoteServices
from desk.domain.permissions import SystemActor
from desk.services import accounts, agent_sessions, reference
from desk.storage.db import Database
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.ui.conftest import queue_loaded, run, until
from tests.web.serving import desk_serve


@pytest.fixture
def server(demo_db: Database, tmp_path: Path) -> Iterator[str]:
    url = demo_db.engine.url.render_as_string(hide_password=False)
    with desk_serve(url, tmp_path / "serve.log") as address:
        yield address


def test_the_server_ending_the_session_takes_the_agent_back_to_sign_in(
    server: str, demo_db: Database, qtbot: QtBot, loop: qasync.QEventLoop, qapp: QApplication
) -> None:
    remote = RemoteServices(server)
    john = remote.sign_in("john", "demo-john", client="test")
    ctx = Context(services=remote, agent=john, choices=remote.call(reference.choices, john))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    run(loop, window.start())
    run(loop, queue_loaded(window.queue))
    assert window.queue.model.rowCount() > 0  # John's Open queue, through the server
    signed_out: list[bool] = []
    window.closed.connect(signed_out.append)

    agent_id, _ = accounts.agent_named(demo_db, "john")
    assert agent_sessions.end_sessions(demo_db, SystemActor(), agent_id) == 1

    run(loop, window.refresh_counts())  # the next call finds the session ended

    def told() -> QMessageBox | None:
        shown = [w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        return shown[0] if shown else None

    box = run(loop, until(told, what="the agent to be told"))
    assert box.windowTitle() == "Signed out" and "Sign in again" in box.text()
    assert "drafts" in box.informativeText()
    box.accept()
    run(loop, until(lambda: signed_out == [True], what="the window to sign out"))
    window.live.stop()
    ctx.close()
    remote.close()
