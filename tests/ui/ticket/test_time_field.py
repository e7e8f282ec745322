"""Time spent in the window: typed beside Attach, required by some departments (refused without it, the text kept),
totalled in the ticket's properties and shown in each entry's header (issue 17)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit

from desk.domain.views import TicketView
from desk.services import entries, staff, tickets
from desk.ui.offline import PendingStore, apply_action
from desk.ui.tasks import Context
from desk.ui.thread.view import ThreadView
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.properties import PropertiesPanel
from tests.ui.conftest import db_of, run, until
from tests.ui.test_offline import action_for
from tests.ui.ticket.test_composer import Screen, draft_file, entries_of, make_composer
from tests.ui.ticket.test_composer import ticket as ticket  # the fixture


@pytest.fixture
def composer(ctx: Context, ticket: TicketView, qtbot: QtBot) -> ComposerWidget:
    ctx.choices = dataclasses.replace(ctx.choices, department_signatures=())  # replies as typed
    return make_composer(ctx, ticket, qtbot)


def time_field(composer: ComposerWidget) -> tuple[QLabel, QLineEdit]:
    field = composer.findChild(QLineEdit, "composerTime")
    assert field is not None
    caption = next(c for c in composer.findChildren(QLabel) if c.buddy() is field)
    return caption, field


def require_time(ctx: Context, ticket: TicketView) -> TicketView:
    """The ticket's department requires the time spent; the ticket as the window then loads it."""
    db = db_of(ctx)
    form = staff.get_department(db, ctx.agent, ticket.department.id).form
    staff.save_department(db, ctx.agent, ticket.department.id, dataclasses.replace(form, time_required=True))
    return tickets.get_ticket(db, ctx.agent, ticket.id)


def test_a_reply_carries_the_time_typed_and_the_field_is_cleared(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    caption, field = time_field(composer)
    assert caption.text() == "Time:" and field.placeholderText() == "min"

    async def scenario() -> None:
        QTest.keyClicks(screen.body, "Replaced the toner.")
        QTest.keyClicks(field, "1h 30")
        path = draft_file(ctx, ticket.id)
        await until(lambda: path.exists() and json.loads(path.read_text())["time"] == "1h 30", what="the draft")
        screen.send.click()
        await until(lambda: screen.sent, what="the sent signal")

        fresh = await ctx.call(tickets.get_ticket, ticket.id)
        assert entries_of(fresh)[-1].minutes == 90
        assert fresh.time_spent == ticket.time_spent + 90
        assert field.text() == "" and screen.body.toPlainText() == ""

    run(loop, scenario())


def test_a_required_time_left_out_is_refused_and_the_text_kept(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    composer.set_ticket(require_time(ctx, ticket))
    caption, field = time_field(composer)
    assert caption.text() == "Time (required):"
    before = len(entries_of(ticket))

    async def scenario() -> None:
        screen.note_mode.click()
        QTest.keyClicks(screen.body, "Spoke to the vendor at length.")
        screen.send.click()
        await until(lambda: screen.failures, what="the refusal")

        assert "asks for the time spent with each reply and note" in screen.error.text() and screen.error.isVisible()
        assert screen.body.toPlainText() == "Spoke to the vendor at length."
        assert json.loads(draft_file(ctx, ticket.id).read_text())["body"] == "Spoke to the vendor at length."
        assert field.hasFocus()
        assert len(entries_of(await ctx.call(tickets.get_ticket, ticket.id))) == before

        QTest.keyClicks(field, "forever")
        screen.send.click()
        await until(lambda: len(screen.failures) == 2, what="the second refusal")
        assert "The time spent is not a time: write minutes (15)" in screen.error.text()
        assert screen.body.toPlainText() == "Spoke to the vendor at length."

        field.setText("45")
        screen.send.click()
        await until(lambda: screen.sent, what="the sent signal")
        note = entries_of(screen.sent[0])[-1]
        assert (note.body_text, note.minutes) == ("Spoke to the vendor at length.", 45)
        assert screen.error.isHidden()

    run(loop, scenario())


def test_the_total_is_in_the_properties_and_each_entrys_time_in_its_header(
    ctx: Context, ticket: TicketView, qtbot: QtBot
) -> None:
    db = db_of(ctx)
    panel = PropertiesPanel(ctx.choices, ctx.agent)
    qtbot.addWidget(panel)
    panel.show_ticket(ticket)
    shown = panel.findChild(QLabel, "timeSpent")
    assert shown is not None and shown.text() == "Time spent: none entered"

    entries.post_note(db, ctx.agent, ticket.id, "Checked the logs.", minutes=60)
    view = entries.post_reply(db, ctx.agent, ticket.id, "Fixed.", minutes=45)
    panel.show_ticket(view)
    assert shown.text() == "Time spent: 1 h 45 min"

    thread = ThreadView()
    qtbot.addWidget(thread)
    thread.set_thread(view.thread)
    text = thread.toPlainText()
    assert "1 h spent" in text and "45 min spent" in text
    assert text.count(" spent") == 2  # entries without time say nothing


def test_a_send_kept_while_the_server_was_away_keeps_its_time(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, tmp_path: Path
) -> None:
    kept = dataclasses.replace(action_for(ctx, ticket.id, ticket.version, "Rebooted the terminal."), minutes=25)
    PendingStore(tmp_path).add(kept)  # on disk, as the run that lost the server left it
    (read,) = PendingStore(tmp_path).actions()

    view = run(loop, apply_action(ctx, read))

    assert (entries_of(view)[-1].body_text, entries_of(view)[-1].minutes) == ("Rebooted the terminal.", 25)
