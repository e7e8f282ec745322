"""The reply lock through the composer: taken on the first keystroke only, shown to others with the holder and
the time, taken over when the role allows, and given back on send and on leaving the ticket (osTicket#1434)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton, QTextEdit, QWidget

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.domain.views import TicketView
from desk.services import locks, queues, tickets
from desk.storage.db import Database
from desk.ui.tasks import Context
from desk.ui.ticket.composer import ComposerWidget
from tests.ui.conftest import db_of, make_context, run, until


@pytest.fixture
def john(demo_db: Database) -> Iterator[Context]:
    """John Carter, Limited access in Support: may reply, and may take over (ticket.assign)."""
    context = make_context(demo_db, "john")
    yield context
    context.close()


@pytest.fixture
def ticket(ctx: Context, john: Context) -> TicketView:
    """An open Support ticket both agents see."""
    rows = queues.queue_page(db_of(john), john.agent, Criteria(queue=Queue.OPEN)).rows
    return tickets.get_ticket(db_of(ctx), ctx.agent, rows[0].id)


def composer_for(context: Context, ticket: TicketView, qtbot: QtBot) -> ComposerWidget:
    widget = ComposerWidget(context)
    qtbot.addWidget(widget)
    widget.resize(720, 320)
    widget.show()
    widget.set_ticket(ticket)
    return widget


def body(composer: ComposerWidget) -> QTextEdit:
    found = composer.findChild(QTextEdit, "composerBody")
    assert found is not None
    return found


def holder(context: Context, ticket: TicketView) -> str | None:
    lock = locks.holder(db_of(context), context.agent, ticket.id)
    return lock.agent.name if lock else None


def test_browsing_takes_no_lock_and_typing_does(
    ctx: Context, ticket: TicketView, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        composer = composer_for(ctx, ticket, qtbot)
        assert holder(ctx, ticket) is None  # opened, not written: osTicket#1434
        QTest.keyClicks(body(composer), "Hello")
        await until(lambda: holder(ctx, ticket) == ctx.agent.name, what="the lock taken on typing")
        composer.release_lock()
        await until(lambda: holder(ctx, ticket) is None, what="the lock released")

    run(loop, scenario())


def test_another_agent_sees_the_holder_takes_over_and_sends(
    ctx: Context, john: Context, ticket: TicketView, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        johns = composer_for(john, ticket, qtbot)
        QTest.keyClicks(body(johns), "I am on it")
        await until(lambda: holder(ctx, ticket) == john.agent.name)
        admins = composer_for(ctx, ticket, qtbot)
        QTest.keyClicks(body(admins), "Let me")
        notice = admins.findChild(QWidget, "composerLock")
        text = admins.findChild(QLabel, "composerLockText")
        take_over = admins.findChild(QPushButton, "composerTakeOver")
        assert notice is not None and text is not None and take_over is not None
        await until(notice.isVisible, what="the lock notice")
        assert text.text().startswith(f"{john.agent.name} is replying to this ticket (until ")
        await until(take_over.isVisible, what="the take-over offer")  # admins may take over
        assert body(admins).toPlainText() == "Let me" and not body(admins).isReadOnly()  # typing never blocked
        take_over.click()
        await until(lambda: holder(ctx, ticket) == ctx.agent.name, what="the lock taken over")
        await until(lambda: not notice.isVisible())
        sent = await admins.send()
        assert sent is not None
        await until(lambda: holder(ctx, ticket) is None, what="the lock released on send")
        assert body(johns).toPlainText() == "I am on it"  # the other agent's text is untouched

    run(loop, scenario())


def test_leaving_the_ticket_releases_the_lock(
    ctx: Context, ticket: TicketView, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        composer = composer_for(ctx, ticket, qtbot)
        QTest.keyClicks(body(composer), "Draft")
        await until(lambda: holder(ctx, ticket) == ctx.agent.name)
        other = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[-1]
        composer.set_ticket(tickets.get_ticket(db_of(ctx), ctx.agent, other.id))  # another ticket in the same tab
        await until(lambda: holder(ctx, ticket) is None, what="released on navigating away")
        QTest.keyClicks(body(composer), "More")
        await until(lambda: locks.holder(db_of(ctx), ctx.agent, other.id) is not None)
        composer.hide()  # the tab closed or another tab chosen
        await until(lambda: locks.holder(db_of(ctx), ctx.agent, other.id) is None, what="released on hide")

    run(loop, scenario())


def test_opening_a_ticket_shows_who_is_replying_before_typing(
    ctx: Context, john: Context, ticket: TicketView, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    locks.acquire(db_of(john), john.agent, ticket.id)

    async def scenario() -> None:
        mine = composer_for(ctx, ticket, qtbot)
        notice = mine.findChild(QLabel, "composerLockText")
        assert notice is not None
        await until(lambda: notice.isVisible(), what="the lock notice")
        assert notice.text().startswith("John Carter is replying to this ticket")
        assert holder(ctx, ticket) == "John Carter"  # looking did not take the lock

    run(loop, scenario())
