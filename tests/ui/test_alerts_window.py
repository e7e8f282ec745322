"""Agent alerts in the window: a new alert arrives live, the tray tells of it (or the status bar, without a tray),
the bell counts and lists them, a click opens the ticket and marks it read; File › My alerts… sets the choices."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from shiboken6 import isValid

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon

from desk.domain.alerts import AlertChoice
from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import accounts, alerts, entries, queues, tickets
from desk.storage.db import Database
from desk.ui.alerts import AlertChoicesDialog, AlertsButton, tray_text
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.services.conftest import SYSTEM
from tests.ui.conftest import Shown, db_of, run, until


async def started(ctx: Context, qtbot: QtBot) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    await window.start()
    await until(lambda: window.alerts.loaded, what="the alerts loaded")
    return window


def assign_to_me(ctx: Context, db: Database | None = None) -> tuple[int, str, str]:
    """The worker (no agent) assigns an unassigned ticket to the window's agent: an alert to them alone."""
    db = db or db_of(ctx)
    row = queues.queue_page(db, ctx.agent, Criteria(queue=Queue.UNASSIGNED)).rows[0]
    tickets.assign(db, SYSTEM, row.id, ctx.agent.id)
    return row.id, row.number, row.subject


async def alert_arrives(ctx: Context, db: Database, qtbot: QtBot, tray: Shown) -> None:
    """An assignment made elsewhere: the tray tells of it, the bell counts and lists it, a click on it in the list
    opens the ticket and marks it read (in process, and through `desk serve`: tests/ui/test_remote_window.py)."""
    window = await started(ctx, qtbot)
    try:
        bell = window.alerts
        assert window.notifier.tray is not None and bell.text() == "" and tray == []  # the demo's alerts are read
        ticket_id, number, subject = assign_to_me(ctx, db)
        text = f"Ticket #{number} assigned to you: {subject}"
        await until(lambda: tray, what="the tray's message")
        assert tray == [(f"Assignment · {number}", tray_text(text))]
        await until(lambda: bell.text() == "1", what="one unread alert on the bell")
        assert bell.toolTip() == "1 unread alert(s): show the recent alerts"

        qtbot.mouseClick(bell, Qt.MouseButton.LeftButton)
        popup = bell.popup
        await until(popup.isVisible, what="the list of alerts")
        first = popup.list.item(0)
        assert first.text().startswith("Assignment · ") and first.text().endswith(f"\n{text}")
        assert first.font().bold() and popup.heading.text() == "Alerts · 1 unread"
        assert popup.list.item(1).font().bold() is False  # the demo's older alerts, read
        rect = popup.list.visualItemRect(first)
        qtbot.mouseClick(popup.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        await until(lambda: (e := window.current_editor()) is not None and e.ticket_id == ticket_id, what="the ticket")
        assert not popup.isVisible()
        await until(lambda: bell.text() == "", what="the alert read")
        assert alerts.my_alerts(db, ctx.agent).unread == 0
    finally:
        window.close()


def test_a_new_alert_arrives_live_in_the_tray_and_the_bell_and_opens_its_ticket(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop, tray: Shown
) -> None:
    run(loop, alert_arrives(ctx, db_of(ctx), qtbot, tray))


def test_mark_all_read_empties_the_count(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        window = await started(ctx, qtbot)
        assign_to_me(ctx)
        await until(lambda: window.alerts.listed.unread >= 1, what="an unread alert")
        window.alerts.show_popup()
        popup = window.alerts.popup
        assert popup.mark_all.isEnabled()
        qtbot.mouseClick(popup.mark_all, Qt.MouseButton.LeftButton)
        await until(lambda: window.alerts.text() == "", what="no unread alert")
        assert not popup.mark_all.isEnabled() and popup.heading.text() == "Alerts"
        assert not any(popup.list.item(i).font().bold() for i in range(popup.list.count()))
        assert alerts.my_alerts(db_of(ctx), ctx.agent).unread == 0
        window.close()

    run(loop, scenario())


def test_without_a_tray_the_status_bar_says_the_new_alert(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))

    async def scenario() -> None:
        window = await started(ctx, qtbot)
        assert window.notifier.tray is None
        _ticket_id, number, subject = assign_to_me(ctx)
        said = f"New alert: Ticket #{number} assigned to you: {subject}"
        await until(lambda: window.statusBar().currentMessage() == said, what="the status bar's line")
        window.close()

    run(loop, scenario())


def test_my_alerts_sets_how_each_kind_comes_and_the_window_follows_it(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop, tray: Shown
) -> None:
    async def scenario() -> None:
        db = db_of(ctx)
        window = await started(ctx, qtbot)
        assert window.my_alerts_action.text() == "My alerts…"
        window.my_alerts_action.trigger()
        dialog = await until(lambda: window.findChild(AlertChoicesDialog), what="the dialog")
        await until(lambda: dialog.ok.isEnabled(), what="the choices loaded")
        titles = [dialog.grid.itemAtPosition(row, 0).widget().text() for row in range(1, len(dialog.boxes) + 1)]
        assert titles[:4] == ["New ticket", "New message", "Assignment", "Mention"] and "Overdue" in titles
        mail, in_desk = dialog.boxes["alert.assigned"]
        assert mail.isChecked() and in_desk.isChecked()
        assert in_desk.accessibleName() == "Assignment in Desk"
        qtbot.mouseClick(in_desk, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        await until(lambda: not isValid(dialog), what="the dialog saved and closed")
        chosen = {c.kind: c for c in alerts.alert_choices(db, ctx.agent)}
        assert chosen["alert.assigned"] == AlertChoice("alert.assigned", mail=True, window=False)
        assert chosen["alert.overdue"] == AlertChoice("alert.overdue")
        # Assigned to them now comes by mail only; a mention of them, after it, still in Desk: the tray tells of the
        # mention alone (the feed brings both, in order).
        maria = accounts.agent_by_username(db, "maria")
        ticket = queues.queue_page(db, maria, Criteria(queue=Queue.OPEN), limit=1).rows[0]
        tickets.assign(db, SYSTEM, ticket.id, ctx.agent.id)
        entries.post_note(db, maria, ticket.id, "@admin have a look")
        await until(lambda: tray, what="the tray's message")
        assert [title for title, _text in tray] == [f"Mention · {ticket.number}"]
        listed = window.alerts.listed.alerts
        assert listed[0].kind == "alert.mentioned" and listed[0].ticket_id == ticket.id
        assert not [a for a in listed if a.kind == "alert.assigned" and a.ticket_id == ticket.id]
        window.close()

    run(loop, scenario())


def test_a_refused_save_says_why_and_keeps_the_dialog(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        dialog = AlertChoicesDialog(ctx)
        qtbot.addWidget(dialog)
        dialog.show_choices((AlertChoice("alert.gone"),))  # a kind this server does not know (an older one)
        dialog.show()
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert dialog.message.text().startswith("There is no alert “alert.gone”")
        assert dialog.isVisible() and dialog.ok.isEnabled()

    run(loop, scenario())


def test_the_list_says_so_when_there_are_no_alerts(ctx: Context, qtbot: QtBot) -> None:
    bell = AlertsButton(ctx)
    qtbot.addWidget(bell)
    popup = bell.popup
    assert popup.empty.isVisibleTo(popup) and not popup.list.isVisibleTo(popup)
    assert popup.empty.text() == "No alerts yet. File › My alerts… chooses which you get here."
    assert (bell.text(), popup.heading.text(), popup.mark_all.isEnabled()) == ("", "Alerts", False)


def test_the_tray_is_never_handed_markup_from_a_subject() -> None:
    """Notification servers may read a message as markup (links, images): a subject's markup characters are
    replaced by look-alikes that mean nothing there."""
    assert tray_text('Ticket #1: <img src="http://x/y.png"> & <a href="x">') == (
        'Ticket #1: ‹img src="http://x/y.png"› ＆ ‹a href="x"›'
    )
