"""The agent window driven as an agent would, on the demo help desk: what the screen shows at each step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QInputDialog, QPushButton, QTextEdit

from desk.domain.enums import Queue
from desk.domain.views import TicketView
from desk.storage.db import Database
from desk.ui.login import LoginDialog
from desk.ui.main_window import SHORTCUTS, MainWindow, ShortcutsDialog
from desk.ui.startup import sign_in
from desk.ui.tasks import Context
from desk.ui.ticket.editor import TicketEditor
from tests.ui.conftest import queue_loaded, run, until


def visible_login() -> LoginDialog | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()), None)


async def log_in(url: str) -> Context:
    """Through the login dialog: type the demo admin's name and password, press Sign in (at `url`: a database, or a
    Desk server)."""
    signing_in = asyncio.ensure_future(sign_in(url=url))
    dialog = await until(visible_login, what="the login dialog")
    dialog.username.clear()
    QTest.keyClicks(dialog.username, "admin")
    QTest.keyClicks(dialog.password, "wrong")
    dialog.sign_in_button.click()
    await until(lambda: "password" in dialog.message.text().lower(), what="the wrong-password message")
    dialog.password.clear()
    QTest.keyClicks(dialog.password, "demo-admin")
    dialog.sign_in_button.click()
    ctx = await signing_in
    assert ctx is not None and ctx.agent.is_admin
    return ctx


def rows_shown(window: MainWindow) -> list[tuple[int | None, str, str]]:
    """(ticket id, number, assignee) of every row of the queue table, as displayed."""
    model = window.queue.model
    return [
        (model.ticket_id(row), model.index(row, 0).data(), model.index(row, 5).data())
        for row in range(model.rowCount())
    ]


async def choose(combo: QComboBox, text: str) -> None:
    """Pick an entry as a person does: open the field with the keyboard and choose the item by its name."""
    index = combo.findText(text)
    assert index >= 0, f"{text} is not offered; offered: {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setFocus()
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


async def changed(editor: TicketEditor, check: Callable[[TicketView], bool]) -> None:
    await until(lambda: editor.ticket is not None and check(editor.ticket), what="the ticket to show the change")


def test_lifecycle_through_the_window(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    run(loop, lifecycle(str(demo_db.engine.url), qtbot))


async def lifecycle(url: str, qtbot: QtBot) -> None:
    """Sign in as the demo admin, then take a ticket from the Open queue to resolved as an agent would."""
    ctx = await log_in(url)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    await window.start()
    assert window.sidebar.currentItem().text() == "Open"
    await queue_loaded(window.queue)
    assert window.statusBar().findChildren(type(window.agent_label))  # status bar is populated
    assert "Signed in as" in window.agent_label.text()

    # Open an unassigned ticket from the Open queue with the keyboard.
    ticket_id, number, _ = next(row for row in rows_shown(window) if row[2] == "—")
    row = window.queue.model.row_of(ticket_id or 0)
    assert row is not None
    window.queue.table.setFocus()
    window.queue.table.selectRow(row)
    QTest.keyClick(window.queue.table, Qt.Key.Key_Return)
    editor = await until(window.current_editor, what="the ticket tab")
    await changed(editor, lambda t: t.id == ticket_id)
    assert editor.number.text() == f"Ticket {number}"
    assert window.tabs.tabText(window.tabs.currentIndex()) == number

    panel = editor.properties
    await choose(panel.priority, "High")
    await changed(editor, lambda t: t.priority.name == "High")
    assert "High priority" in editor.status.text()
    await choose(panel.department, "Online Banking")
    await changed(editor, lambda t: t.department.name == "Online Banking")
    await choose(panel.sla, "Sev-A")
    await changed(editor, lambda t: t.sla is not None and t.sla.name == "Sev-A")
    assert "Resolution by" in panel.due.text()
    topic = next(
        panel.topic.itemText(i) for i in range(panel.topic.count()) if "Business Critical" in panel.topic.itemText(i)
    )
    await choose(panel.topic, topic)
    await changed(editor, lambda t: t.topic is not None and t.topic.name == topic)

    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # assign to me
    await changed(editor, lambda t: t.assignee is not None and t.assignee.id == ctx.agent.id)
    assert panel.assignee.currentText() == ctx.agent.name
    assert not editor.claim_button.isVisible()

    body = editor.composer.findChild(QTextEdit, "composerBody")
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(body, "Checked the logs: the card was blocked by fraud rules.")
    send = next(b for b in editor.composer.findChildren(QPushButton) if b.text() == "Add note")
    send.click()
    await changed(editor, lambda t: any(getattr(i, "body_text", "").startswith("Checked the logs") for i in t.thread))
    thread_text = editor.thread_view.toPlainText()
    assert "Internal note" in thread_text and "Checked the logs" in thread_text

    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(body, "Your card is unblocked; please try the payment again.")
    send = next(b for b in editor.composer.findChildren(QPushButton) if b.text() == "Send reply")
    send.click()
    await changed(editor, lambda t: t.answered)
    assert "Your card is unblocked" in editor.thread_view.toPlainText()
    assert body.toPlainText() == ""  # sent: the composer is empty again

    editor.resolve_button.click()
    await changed(editor, lambda t: t.status.name == "Resolved")
    assert editor.reopen_button.isVisibleTo(editor) and not editor.resolve_button.isVisibleTo(editor)
    assert "Resolved" in editor.status.text()

    window.sidebar.select_queue(Queue.CLOSED)
    await queue_loaded(window.queue)
    assert ticket_id in [r[0] for r in rows_shown(window)]
    window.sidebar.select_queue(Queue.OPEN)
    await queue_loaded(window.queue)
    assert ticket_id not in [r[0] for r in rows_shown(window)]
    window.close()
    ctx.close()


def test_search_shows_results_as_a_queue(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        await window.start()
        await queue_loaded(window.queue)
        first_id = window.queue.model.ticket_id(0)
        subject = window.queue.model.index(0, 2).data()
        word = max(subject.split(), key=len).strip(".,:;!?")
        QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert window.search_edit.hasFocus()
        QTest.keyClicks(window.search_edit, word)
        QTest.keyClick(window.search_edit, Qt.Key.Key_Return)
        await until(lambda: window.queue.title_label.text() == f"Search: {word}")
        await queue_loaded(window.queue)
        found = [window.queue.model.ticket_id(r) for r in range(window.queue.model.rowCount())]
        assert first_id in found
        QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # selects the old words
        QTest.keyClicks(window.search_edit, "zzqxwv")  # no ticket has that word
        QTest.keyClick(window.search_edit, Qt.Key.Key_Return)
        await until(lambda: window.queue.stack.currentWidget() is window.queue.empty_label)
        assert "No ticket matches" in window.queue.empty_label.text()
        window.close()

    run(loop, scenario())


def test_help_lists_every_shortcut(qtbot: QtBot) -> None:
    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    shown = {item.text() for row in range(dialog.table.rowCount()) if (item := dialog.table.item(row, 1))}
    assert shown == {text for _name, _keys, text in SHORTCUTS}


def test_a_filter_saved_as_a_search_appears_in_the_sidebar(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        await window.start()
        await queue_loaded(window.queue)
        word = max(window.queue.model.index(0, 2).data().split(), key=len).strip(".,:;!?")
        QTest.keyClicks(window.queue.filter_edit, word)
        await until(lambda: window.queue.model.query is not None and window.queue.model.query.criteria.text == word)
        await queue_loaded(window.queue)
        filtered = window.queue.model.rowCount()
        window.queue.save_search_button.click()
        dialog = await until(
            lambda: next(
                (w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible()), None
            ),
            what="the name dialog",
        )
        dialog.setTextValue("Mine to watch")
        dialog.accept()
        item = await until(
            lambda: next(
                (
                    window.sidebar.item(i)
                    for i in range(window.sidebar.count())
                    if window.sidebar.item(i).text() == "Mine to watch"
                ),
                None,
            ),
            what="the saved search in the sidebar",
        )
        window.sidebar.select_queue(Queue.CLOSED)
        await queue_loaded(window.queue)
        window.sidebar.setCurrentItem(item)
        await until(lambda: window.queue.title_label.text() == "Mine to watch")
        await queue_loaded(window.queue)
        assert window.queue.model.rowCount() == filtered
        window.close()

    run(loop, scenario())


def test_next_ticket_opens_in_the_same_tab(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        await window.start()
        await queue_loaded(window.queue)
        first, second = window.queue.model.ticket_id(0), window.queue.model.ticket_id(1)
        window.queue.table.setFocus()
        window.queue.table.selectRow(0)
        QTest.keyClick(window.queue.table, Qt.Key.Key_Return)
        editor = await until(window.current_editor, what="the ticket tab")
        await changed(editor, lambda t: t.id == first)
        QTest.keyClick(window, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
        following = await until(
            lambda: (e := window.current_editor()) is not None and e.ticket is not None and e.ticket.id == second and e,
            what="the next ticket",
        )
        assert window.tabs.count() == 2  # the queue and one ticket
        assert window.tabs.tabText(window.tabs.indexOf(following)) == following.ticket.number
        QTest.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
        await until(
            lambda: (e := window.current_editor()) is not None and e.ticket is not None and e.ticket.id == first
        )
        assert window.tabs.count() == 2
        window.close()

    run(loop, scenario())
