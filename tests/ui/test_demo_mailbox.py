"""The demo tells the truth about mail: File › Demo mailbox shows what the demo would have sent (with links to
copy), and the composer and status bar say when mail is not set up or waits for a worker."""

from __future__ import annotations

import re

from pytestqt.qtbot import QtBot
from sqlalchemy import delete

import qasync
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QLabel

from desk.domain.enums import EntryKind, Queue
from desk.domain.queues import Criteria
from desk.domain.views import TicketView
from desk.services import entries, mailboxes, portal, queues, settings, tickets
from desk.storage.db import Database
from desk.storage.models import Mailbox
from desk.ui import labels, theme
from desk.ui.demo_mailbox import DemoMailboxDialog
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.composer import ComposerWidget
from tests.ui.conftest import db_of, make_context, run, until


def a_ticket(ctx: Context) -> TicketView:
    row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.UNASSIGNED)).rows[0]
    return tickets.get_ticket(db_of(ctx), ctx.agent, row.id)


def a_ticket_other(ctx: Context, not_this: int) -> int:
    rows = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.UNASSIGNED)).rows
    return next(row.id for row in rows if row.id != not_this)


def shown_window(ctx: Context, qtbot: QtBot) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    return window


def recipients_of(composer: ComposerWidget) -> QComboBox:
    combo = composer.findChild(QComboBox, "composerRecipients")
    assert combo is not None
    return combo


def mail_note(composer: ComposerWidget) -> QLabel:
    note = composer.findChild(QLabel, "composerMailNote")
    assert note is not None
    return note


def test_the_demo_mailbox_shows_what_the_demo_sent(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ticket = a_ticket(ctx)

    async def scenario() -> None:
        window = shown_window(ctx, qtbot)
        await window.start()
        assert window.demo_mailbox_action.isVisible()
        assert window.mail_health.outgoing.text() == "Outgoing mail: demo mailbox"
        window.demo_mailbox_action.trigger()
        dialog = await until(lambda: window.findChild(DemoMailboxDialog), what="the demo mailbox")
        await until(dialog.empty.isVisible, what="the empty mailbox")
        assert dialog.empty.text().startswith("No mail yet.")
        assert not dialog.copy_link.isEnabled()

        # An agent answers, and a requester asks the Support Center for a link to their ticket: both show at once.
        await ctx.call(entries.post_reply, ticket.id, "Your card works again.")
        await until(lambda: dialog.table.rowCount() == 1, timeout=3, what="the reply in the mailbox")
        assert dialog.table.item(0, 1).text() == ticket.requester.email
        assert ticket.number in dialog.table.item(0, 2).text()
        assert "Your card works again." in dialog.body.toPlainText()
        portal.request_ticket_link(
            db_of(ctx), ticket.requester.email, ticket.number, link="http://127.0.0.1:8080/link/{token}"
        )
        await until(lambda: dialog.table.rowCount() == 2, timeout=3, what="the mailed link")
        dialog.table.setCurrentCell(0, 0)  # newest first
        text = dialog.body.toPlainText()
        assert text.startswith(f"To: {ticket.requester.email}\n") and "Subject: Your link to ticket" in text
        link = re.search(r"http://127\.0\.0\.1:8080/link/\S+", text)
        assert link is not None
        dialog.copy_link.click()
        assert QGuiApplication.clipboard().text() == link.group()
        _, opened = portal.redeem_ticket_link(db_of(ctx), link.group().rsplit("/", 1)[1])
        assert opened == ticket.id
        dialog.grab().save(f"/tmp/desk-demo-mailbox-{'dark' if theme.is_dark() else 'light'}.png")
        dialog.close()
        window.close()

    run(loop, scenario())


def mail_off(db: Database) -> None:
    """A real install where nobody has set up mail yet."""
    with db.transaction() as session:
        session.execute(delete(Mailbox))
        settings.put(session, "mail.demo_sink", False)


def test_without_mail_the_composer_and_status_bar_say_so(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    mail_off(demo_db)
    john = make_context(demo_db, "john")
    ticket = a_ticket(john)

    async def scenario() -> None:
        window = shown_window(john, qtbot)
        await window.start()
        assert window.mail_health.outgoing.text() == "Outgoing mail: not set up"
        assert window.mail_health.outgoing.isVisible()
        assert not window.demo_mailbox_action.isVisible()
        window.open_ticket(ticket.id)
        editor = await until(window.current_editor, what="the ticket tab")
        await until(lambda: editor.ticket is not None, what="the ticket")
        editor.start_reply(EntryKind.REPLY)
        recipients = recipients_of(editor.composer)
        assert [recipients.itemText(i) for i in range(recipients.count())] == [labels.MAIL_OFF]
        assert recipients.currentText() == "Mail is not set up: the reply is only shown in the Support Center"
        assert not recipients.isEnabled() and not mail_note(editor.composer).isVisible()
        window.grab().save(f"/tmp/desk-mail-off-{'dark' if theme.is_dark() else 'light'}.png")

        # An administrator adds a mailbox that sends: the next check says the mail waits for a worker.
        admin = make_context(demo_db, "admin")
        mailboxes.add_mailbox(demo_db, admin.agent, name="Out", address="out@desk.example", smtp_host="smtp.example")
        admin.close()
        window.mail_health.check()
        await until(lambda: window.mail_health.outgoing.text() == "Outgoing mail: no worker running")
        window.open_ticket(a_ticket_other(john, ticket.id))
        other = await until(
            lambda: (e := window.current_editor()) is not None and e.ticket_id != ticket.id and e, what="another tab"
        )
        await until(lambda: other.ticket is not None, what="the other ticket")
        recipients = recipients_of(other.composer)
        assert recipients.isEnabled() and recipients.currentText() == "Email the requester and collaborators"
        note = mail_note(other.composer)
        assert note.isVisible() and note.text() == "No worker is running: mail waits in the outbox until one does"
        window.close()

    run(loop, scenario())
    john.close()


def test_the_demos_composer_says_where_its_mail_goes(ctx: Context, qtbot: QtBot) -> None:
    composer = ComposerWidget(ctx)
    qtbot.addWidget(composer)
    composer.resize(760, 300)
    composer.show()
    composer.set_ticket(a_ticket(ctx))
    assert recipients_of(composer).currentText() == "Email the requester and collaborators"
    note = mail_note(composer)
    assert note.isVisible() and note.text() == "Demo: mail goes to File › Demo mailbox"
    composer.set_mode(EntryKind.NOTE)  # a note is never mailed: nothing to say about mail
    assert not note.isVisible() and not recipients_of(composer).isVisible()
