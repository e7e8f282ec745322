"""Live updates between two agents' windows on one database: no refresh pressed, nothing the agent had lost.

SQLite and MariaDB poll the change feed; PostgreSQL delivers NOTIFY on the qasync loop. Each configured engine
runs the same scenario (servers only when DESK_TEST_POSTGRES_URL / DESK_TEST_MARIADB_URL are set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTextEdit

from desk.services import tickets
from desk.services.demo import build_demo
from desk.storage.db import Database
from desk.ui import theme
from desk.ui.live import NOTIFY_STATE, STOPPED_STATE, polling_state
from desk.ui.main_window import MainWindow
from desk.ui.queue.model import PRIORITY_COLUMN, QueueRole
from desk.ui.tasks import Context
from tests.conftest import build_schema, engine_params, engine_url
from tests.ui.conftest import make_context, queue_loaded, run, until
from tests.ui.test_agent_window import choose


@pytest.fixture(params=engine_params())
def team_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The demo help desk on each configured engine (SQLite: the shared demo copy)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("demo_db")
        return
    url = engine_url(request.param, tmp_path)
    db = Database(url)
    build_schema(db, url)
    build_demo(db, tickets=40)
    yield db
    db.dispose()


async def open_window(ctx: Context, qtbot: QtBot) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    await window.start()
    await queue_loaded(window.queue)
    return window


async def close_window(window: MainWindow, ctx: Context) -> None:
    await window.live.aclose()
    window.close()
    ctx.close()


def test_a_change_in_one_window_shows_in_the_other(team_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    expected = NOTIFY_STATE if team_db.dialect == "postgresql" else polling_state(1)
    run(loop, two_windows(make_context(team_db, "admin"), make_context(team_db, "john"), expected, qtbot))


async def two_windows(admin_ctx: Context, john_ctx: Context, expected: str, qtbot: QtBot) -> None:
    """The admin changes a ticket John has open and is answering; John's window follows, his work kept."""
    admin, john = await open_window(admin_ctx, qtbot), await open_window(john_ctx, qtbot)
    await until(lambda: john.live_label.text() == expected, what="john's live state")

    # John selects a ticket he may work on that is not High yet, opens it and starts typing a reply.
    model = john.queue.model
    row = next(
        r
        for r in range(model.rowCount())
        if (queue_row := model.index(r, 0).data(QueueRole.ROW)) is not None and queue_row.priority != "High"
    )
    ticket_id = model.ticket_id(row)
    assert ticket_id is not None
    john.queue.table.selectRow(row)
    john.open_ticket(ticket_id)
    john_editor = await until(john.current_editor, what="john's ticket tab")
    await until(lambda: john_editor.ticket is not None, what="john's ticket")
    body = john_editor.composer.findChild(QTextEdit, "composerBody")
    assert body is not None
    QTest.keyClicks(body, "Half-written answer that must survive")
    john.tabs.setCurrentWidget(john.queue)  # John looks at the queue again; the ticket tab stays open
    before = john_editor.ticket
    assert before is not None

    # The admin raises the priority in their own window.
    admin.open_ticket(ticket_id)
    admin_editor = await until(admin.current_editor, what="admin's ticket tab")
    await until(lambda: admin_editor.ticket is not None and admin_editor.ticket.id == ticket_id)
    await choose(admin_editor.properties.priority, "High")

    # John's queue row and open ticket follow, marked with who changed them; his work is untouched.
    def john_row_high() -> bool:
        where = model.row_of(ticket_id)
        return where is not None and model.index(where, PRIORITY_COLUMN).data() == "High"

    await until(john_row_high, what="the priority in john's queue")
    where = model.row_of(ticket_id)
    assert where is not None
    assert model.index(where, 0).data(QueueRole.CHANGED_BY) == admin_ctx.agent.name
    assert model.index(where, 2).data(Qt.ItemDataRole.ToolTipRole) == f"Changed by {admin_ctx.agent.name} just now"
    assert model.index(where, 2).data(Qt.ItemDataRole.BackgroundRole) == theme.color("changed.bg")
    await until(lambda: john_editor.ticket is not None and john_editor.ticket.priority.name == "High")
    assert john_editor.updated_by.text() == f"Updated by {admin_ctx.agent.name}"
    assert not john_editor.updated_by.isHidden()
    assert body.toPlainText() == "Half-written answer that must survive"
    await until(lambda: john.queue.selected_ids() == [ticket_id], what="john's selection after the re-query")
    assert john.queue.current_id() == ticket_id

    # A reply posted from another session reaches both windows; the admin's own change was never marked.
    await admin_ctx.call(tickets.set_priority, ticket_id, before.priority.id)
    assert admin.queue.model.changed_by(ticket_id) is None
    await until(lambda: john_editor.ticket is not None and john_editor.ticket.priority.id == before.priority.id)
    assert body.toPlainText() == "Half-written answer that must survive"

    await close_window(admin, admin_ctx)
    await close_window(john, john_ctx)
    assert john.live.state == STOPPED_STATE


def test_scroll_position_survives_a_live_refresh(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    run(loop, scroll_kept(make_context(demo_db, "admin"), make_context(demo_db, "admin"), qtbot))


async def scroll_kept(admin_ctx: Context, other_ctx: Context, qtbot: QtBot) -> None:
    """Another session's change re-queries the admin's queue: the scroll position and the selection stay."""
    admin = await open_window(admin_ctx, qtbot)
    admin.resize(1200, 400)
    await asyncio.sleep(0.05)
    table, model = admin.queue.table, admin.queue.model
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    middle = table.rowAt(table.viewport().height() // 2)
    selected = model.ticket_id(middle)
    assert selected is not None
    table.selectionModel().setCurrentIndex(
        model.index(middle, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    scrolled = bar.value()
    generation = model.generation
    # Another session changes a ticket: a re-query of the admin's queue (sorted by last update).
    other = next(model.ticket_id(r) for r in range(model.rowCount()) if model.ticket_id(r) != selected)
    assert other is not None
    shown = model.queue_row(other)
    assert shown is not None
    new = next(p.id for p in other_ctx.choices.priorities if p.name != shown.priority)
    await other_ctx.call(tickets.set_priority, other, new)
    await until(lambda: model.generation > generation and not model.is_loading, what="the live re-query")
    await queue_loaded(admin.queue)
    assert bar.value() == scrolled
    assert admin.queue.current_id() == selected
    assert admin.queue.selected_ids() == [selected]
    await close_window(admin, admin_ctx)
    other_ctx.close()
