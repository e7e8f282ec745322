"""A session's end: closing the agent window ends all of its background work; File › Sign out switches agent."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from shiboken6 import isValid

import qasync
from PySide6.QtWidgets import QApplication

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import accounts, queues
from desk.storage.db import Database
from desk.ui import mail_health
from desk.ui.app import agent_sessions
from desk.ui.login import LoginDialog
from desk.ui.main_window import MainWindow
from desk.ui.queue import model as queue_model
from desk.ui.queue.sidebar import COUNT_ROLE
from desk.ui.tasks import Context
from tests.ui.conftest import queue_loaded, run, until


def test_closing_the_window_ends_all_of_its_background_work(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closed while its queue still reads the ids of the rows it shows two at a time and its mail check runs every
    few milliseconds, the window leaves nothing running: no task, no timer that starts a call, no error once the
    session is closed."""
    monkeypatch.setattr(queue_model, "FIRST_PAGE", 2)
    monkeypatch.setattr(queue_model, "ID_WINDOW", 2)
    monkeypatch.setattr(mail_health, "CHECK_EVERY_MS", 5)
    bugs: list[Any] = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: bugs.append(info))

    async def scenario() -> None:
        before = asyncio.all_tasks()  # this scenario's own
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        starting = asyncio.ensure_future(window.start())
        model = window.queue.model
        await until(lambda: model.rowCount() > 0 and not model.is_complete, what="ids of the rows shown on their way")
        window.close()
        ctx.close()  # as Desk does when the window has closed
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await asyncio.sleep(0.5)  # a hundred mail-check periods; any chunk still coming would have asked for more
        assert asyncio.all_tasks() - before == set()
        assert bugs == []

    run(loop, scenario())


async def sign_in_as(username: str, password: str) -> MainWindow:
    """Type into the sign-in dialog Desk shows, and wait for that agent's window."""
    dialog = await until(
        lambda: next((w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()), None),
        what="the sign-in dialog",
    )
    dialog.username.setText(username)
    dialog.password.setText(password)
    dialog.sign_in_button.click()
    window: MainWindow = await until(
        lambda: next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()),
            None,
        ),
        what=f"{username}'s window",
    )
    return window


def shown_ids(window: MainWindow) -> list[int]:
    model = window.queue.model
    return [ticket_id for row in range(model.rowCount()) if (ticket_id := model.ticket_id(row)) is not None]


def test_sign_out_switches_agent_without_restarting(demo_db: Database, loop: qasync.QEventLoop) -> None:
    url = demo_db.engine.url.render_as_string(hide_password=False)
    john = accounts.agent_by_username(demo_db, "john")
    johns_queue, _ = queues.queue_ids(demo_db, john, Criteria(queue=Queue.OPEN))
    admins_queue, _ = queues.queue_ids(
        demo_db, accounts.agent_by_username(demo_db, "admin"), Criteria(queue=Queue.OPEN)
    )
    assert set(johns_queue) < set(admins_queue)

    async def scenario() -> None:
        before = asyncio.all_tasks()  # this scenario's own
        sessions = asyncio.ensure_future(agent_sessions(url))
        first = await sign_in_as("admin", "demo-admin")
        await queue_loaded(first.queue)
        assert shown_ids(first) == admins_queue
        first.sign_out_action.trigger()
        second = await sign_in_as("john", "demo-john")
        assert second is not first and "John" in second.windowTitle()
        await until(lambda: not isValid(first), what="the admin's window to be deleted")
        await queue_loaded(second.queue)
        assert shown_ids(second) == johns_queue  # only what john may see, in the queue's order
        assert second.sidebar.queue_items[Queue.OPEN].data(COUNT_ROLE) == len(johns_queue)
        second.close()  # File › Quit
        assert await sessions == 0
        assert asyncio.all_tasks() - before == set()

    run(loop, scenario())
