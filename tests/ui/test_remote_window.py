"""The agent window through `desk serve` (issue 14): the in-process scenarios again, with the window's services
on a real server process, on PostgreSQL and MariaDB; then the faults only a server has.

One server per engine for the module, reaching its database through a TCP proxy the tests can stop; the demo
help desk is built once per engine and put back before each test. The tests arrange and check on the database
directly, as a colleague's Desk elsewhere would change it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from pytestqt.qtbot import QtBot
from sqlalchemy import select, text

import qasync
from PySide6.QtWidgets import QApplication

from desk.services import accounts, reference
from desk.services.demo import build_demo
from desk.storage.db import Database
from desk.storage.models import Ticket
from desk.ui.live import PUSHED_STATE
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.drafts import DraftStore
from tests.conftest import Snapshot, build_schema, engine_params, engine_url
from tests.ui.conftest import Shown, run, until
from tests.ui.queue.test_bulk import bulk_close
from tests.ui.test_agent_window import lifecycle
from tests.ui.test_alerts_window import alert_arrives
from tests.ui.test_live import scroll_kept, two_windows
from tests.ui.test_offline import kept_sends_applied_once
from tests.ui.test_server_loss import BODY, composing, pending_files, recovered, replies
from tests.web.serving import DeskServer, TcpProxy, signed_in

pytestmark = pytest.mark.gui


@dataclass(frozen=True)
class Team:
    """A Desk server and its database; `db` is the tests' own way in (not through the proxy)."""

    server: DeskServer
    proxy: TcpProxy
    db: Database
    demo: Snapshot


@pytest.fixture(scope="module", params=[engine for engine in engine_params() if engine != "sqlite"])
def team(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    url = engine_url(request.param, tmp_path_factory.mktemp("team"))
    db = Database(url)
    build_schema(db, url)
    with pytest.MonkeyPatch.context() as patch:  # as tests/conftest.py's fast_password_hashing, for the module
        patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        build_demo(db, tickets=40)
    proxy = TcpProxy(url)
    proxy.start()
    server = DeskServer(proxy.url, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        server.start()
        yield Team(server, proxy, db, Snapshot(db))
    finally:
        server.stop()
        proxy.stop()
        db.dispose()


@pytest.fixture
def helpdesk(team: Team) -> Team:
    """The team's help desk as the demo built it."""
    team.demo.restore(team.db)
    return team


def remote_context(team: Team, username: str) -> Context:
    """A window's Context on the server, signed in as a demo agent."""
    remote, agent = signed_in(team.server.url, team.db, username, f"demo-{username}")
    return Context(services=remote, agent=agent, choices=remote.call(reference.choices, agent))


def test_the_lifecycle_walkthrough(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    run(loop, lifecycle(helpdesk.server.url, qtbot))  # signs in through the login dialog, at the server


def test_a_change_in_one_window_shows_in_the_other(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    run(loop, two_windows(remote_context(helpdesk, "admin"), remote_context(helpdesk, "john"), PUSHED_STATE, qtbot))


def test_scroll_and_selection_survive_a_live_refresh(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    run(loop, scroll_kept(remote_context(helpdesk, "admin"), remote_context(helpdesk, "admin"), qtbot))


def test_a_new_alert_arrives_in_the_tray_and_the_bell(
    helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot, tray: Shown
) -> None:
    ctx = remote_context(helpdesk, "admin")
    run(loop, alert_arrives(ctx, helpdesk.db, qtbot, tray))
    ctx.close()


def test_bulk_close_and_undo(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ctx = remote_context(helpdesk, "admin")
    run(loop, bulk_close(ctx, helpdesk.db, qtbot))
    ctx.close()


def test_sends_kept_by_an_earlier_run_are_applied_once(helpdesk: Team, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    ctx = remote_context(helpdesk, "admin")
    kept_sends_applied_once(ctx, helpdesk.db, loop, tmp_path)
    ctx.close()


# --- faults -------------------------------------------------------------------------------------------------------


def open_tickets(db: Database) -> tuple[int, int]:
    with db.transaction(write=False) as session:
        first, second = session.scalars(
            select(Ticket.id).where(Ticket.closed_at.is_(None)).order_by(Ticket.id).limit(2)
        )
        return first, second


def run_windows(loop: qasync.QEventLoop, ctx: Context, scenario: Coroutine[Any, Any, None]) -> None:
    """Run a scenario; then close its windows before the Context (and its executor), also when it failed."""
    try:
        run(loop, scenario, timeout=180)
    finally:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.close()
        ctx.close()


@contextlib.contextmanager
def row_locked(db: Database, ticket_id: int) -> Iterator[None]:
    """The ticket's row locked by another transaction: a reply to it waits inside its own transaction."""
    with db.transaction() as session:
        session.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
        yield


def writing_the_reply(db: Database) -> bool:
    """Whether a connection to this database (the server's: others share the database server) is inserting the
    reply, held up by the row lock."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
        if db.dialect == "postgresql"
        else "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND command = 'Query'"
    )
    column = "query" if db.dialect == "postgresql" else "info"
    with db.engine.connect() as connection:
        return bool(connection.execute(text(f"{query} AND {column} LIKE 'INSERT INTO thread_entries%'")).scalar())


def test_a_reply_cut_off_by_a_killed_server_arrives_once(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ticket_id, _ = open_tickets(helpdesk.db)
    ctx = remote_context(helpdesk, "admin")

    async def scenario() -> None:
        screen = await composing(ctx, ticket_id, qtbot)
        with row_locked(helpdesk.db, ticket_id):
            screen.send.click()
            await until(lambda: writing_the_reply(helpdesk.db), timeout=30, what="the server to be writing the reply")
            await asyncio.to_thread(helpdesk.server.kill)  # mid-reply: its transaction dies with it, uncommitted
        await until(screen.banner.isVisible, timeout=30, what="the composer to say the reply is not sent yet")
        assert screen.banner.text() == (
            "Not sent yet: the server is unreachable. It will be sent when the connection is back."
        )
        assert "Server unreachable" in screen.window.connection_label.text()
        assert screen.body.toPlainText() == BODY and screen.body.isReadOnly() and not screen.send.isEnabled()
        assert pending_files() and replies(helpdesk.db, ticket_id, BODY) == 0

        await asyncio.to_thread(helpdesk.server.start)  # the same address, as a service manager restarts it
        await recovered(ctx, screen)

    run_windows(loop, ctx, scenario())
    assert replies(helpdesk.db, ticket_id, BODY) == 1


def test_the_database_stopped_behind_the_server(helpdesk: Team, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ticket_id, other_id = open_tickets(helpdesk.db)
    ctx = remote_context(helpdesk, "admin")

    async def scenario() -> None:
        screen = await composing(ctx, ticket_id, qtbot)
        window = screen.window
        await asyncio.to_thread(helpdesk.proxy.stop)
        screen.send.click()
        await until(screen.banner.isVisible, timeout=30, what="the composer to say the reply is not sent yet")
        assert screen.banner.text() == (
            "Not sent yet: the server cannot reach its database. It will be sent when it is back."
        )
        assert window.connection_label.text().startswith("⚠ The server cannot reach its database")
        draft = DraftStore().load(ctx.agent.id, ticket_id)
        assert draft is not None and draft.body == BODY and screen.body.toPlainText() == BODY and pending_files()
        window.open_ticket(other_id)  # says why it cannot, rather than a traceback or "server unreachable"
        await until(lambda: "cannot reach its database" in window.statusBar().currentMessage())
        assert "unreachable" not in window.connection_label.text() + window.statusBar().currentMessage()

        await asyncio.to_thread(helpdesk.proxy.start)
        await recovered(ctx, screen)
        assert DraftStore().load(ctx.agent.id, ticket_id) is None

    run_windows(loop, ctx, scenario())
    assert replies(helpdesk.db, ticket_id, BODY) == 1
