"""Render every main screen of the agent window to PNG, for review: `./dev screenshots` (light and dark, on Xvfb).

    python -m tests.ui.screenshots --out build/screenshots

Builds a small demo help desk in a temporary folder, signs in as the demo admin and grabs: the connection dialog
(empty, a server address refused beside the field, a file tried, a new file, an old database login's message), a new
help desk's first administrator (against a server, its set-up code refused), the login dialog (on a file, and
against a server with "Stay signed in", with and without a keyring), the Open queue, a ticket with its thread and
properties, the composer with an error, the canned responses offered in the composer, a ticket's linked tickets
and the merge dialog, a ticket with time spent (a note refused without it where the department requires it), the
new-ticket dialog with field errors, an empty search, the Following queue and a followed ticket with its followers,
the keyboard shortcuts, the demo mailbox, the composer when mail is not set up, a ticket that came by mail (the
demo's sink switched off for it), the API tokens (empty, then with a new token's secret), each section of the
Administration window, the change-password, signature and own canned responses dialogs, and a long ticket printed
to PDF; with --relations, only the screens up to the ticket, its linked tickets and the merge dialog. The theme
comes from DESK_THEME (light / dark); the platform from QT_QPA_PLATFORM (xcb on Xvfb for real rendering).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QWidget

from desk.client.local import LocalServices
from desk.client.remote import RemoteServices
from desk.domain.enums import EntryKind, InboundState, OutgoingMail, Queue
from desk.domain.errors import Invalid
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.services import accounts, entries, following, lifecycle, mailboxes, portal, queues, settings, staff, tickets
from desk.services.demo import LONG_THREAD_SUBJECT, build_demo
from desk.services.mail import intake, sending
from desk.storage.db import Database
from desk.storage.models import InboundMessage
from desk.ui import theme
from desk.ui.admin.editors import AgentEditor
from desk.ui.admin.mail_editors import MailboxEditor
from desk.ui.admin.people_editors import OwnCannedEditor
from desk.ui.app import application, end_session, event_loop
from desk.ui.connect import ConnectionDialog, Remembered
from desk.ui.first_run import FirstAdministratorDialog
from desk.ui.login import LoginDialog
from desk.ui.main_window import MainWindow, ShortcutsDialog
from desk.ui.queue.model import SUBJECT_COLUMN
from desk.ui.startup import sign_in, sign_in_function
from desk.ui.tasks import Context
from desk.ui.ticket.canned_picker import CannedPicker
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.editor import TicketEditor
from desk.ui.ticket.new_ticket import NewTicketDialog
from desk.ui.ticket.printing import save_pdf
from desk.ui.ticket.relations import MergeDialog
from tests.conftest import build_schema


async def settle(condition: Callable[[], object] = lambda: True, seconds: float = 30) -> None:
    """Let loading finish and the screen paint."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # the loop runs Qt's events meanwhile (never processEvents() inside a task)


def editor_shows(window: MainWindow, entries: int) -> bool:
    editor = window.current_editor()
    return editor is not None and editor.ticket is not None and len(editor.ticket.thread) >= entries


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"{name}-{'dark' if theme.is_dark() else 'light'}.png"
    widget.grab().save(str(path))
    print(path)


async def shoot_relations(ctx: Context, window: MainWindow, editor: TicketEditor, out: Path) -> None:
    """The ticket's linked tickets in its properties, and the merge dialog with a ticket found and the preview."""
    ticket = editor.ticket
    assert ticket is not None
    others = [row for row in (await ctx.call(queues.search_tickets, "payment", limit=5)).rows if row.id != ticket.id]
    for row in others[:2]:
        await ctx.call(lifecycle.link, ticket.id, row.id)
    await editor.load()
    await settle(lambda: editor.properties.linked.count() == 2)
    save(window, out, "5-ticket-linked")
    editor.merge_tickets()
    dialog = editor.dialog
    assert isinstance(dialog, MergeDialog)
    dialog.finder.query.setText(others[0].number)
    await dialog.finder.look_up(others[0].number)
    await settle(lambda: "will hold" in dialog.preview.text())
    save(dialog, out, "5-merge-dialog")
    dialog.reject()


async def shoot(out: Path, url: str, *, only_relations: bool = False) -> None:
    executor = ThreadPoolExecutor(max_workers=2)
    db = Database(url)
    connection = ConnectionDialog(executor, initial=Remembered())
    connection.show()
    await settle()
    save(connection, out, "1-connection")
    connection.address.setText("http://desk.example.lan")
    connection.test_button.click()
    await settle(lambda: connection.errors["address"].isVisible())
    save(connection, out, "1-connection-server-error")
    connection.file.setChecked(True)
    connection.path.setText(str(db.engine.url.database))
    connection.test_button.click()
    await settle(lambda: connection.outcome.text().startswith("Opened"))
    save(connection, out, "1-connection-file")
    connection.close()
    QSettings().setValue("connection/engine", "postgresql")  # what a Desk before desk serve remembered
    connection = ConnectionDialog(executor)
    connection.show()
    await settle()
    save(connection, out, "1-connection-team-server")
    connection.close()
    QSettings().remove("connection/engine")
    connection = ConnectionDialog(executor, initial=Remembered(file=str(out / "new-help-desk.db"), use_file=True))
    connection.show()
    await settle()
    save(connection, out, "1-connection-new-file")
    connection.close()

    def refuse(*_: str) -> AgentActor:
        raise Invalid("This is not the set-up code.", {"code": "This is not the set-up code: `desk serve` printed it."})

    first = FirstAdministratorDialog(refuse, executor, connection="https://desk.example.lan:8443", ask_code=True)
    first.show()
    typed = {"name": "Ada Lindqvist", "username": "ada", "email": "ada@example.com", "password": "ada-password"}
    for name, text in {**typed, "repeat": "ada-password", "code": "K7QM-2XWP-9RTB"}.items():
        first.fields[name].setText(text)
    first.create_button.click()
    await settle(lambda: first.errors["code"].isVisible())
    save(first, out, "2-first-administrator-server")
    first.close()
    login = LoginDialog(
        sign_in_function(LocalServices(db, "SQLite demo.db")), executor, connection="SQLite demo.db", username="admin"
    )
    login.show()
    await settle()
    save(login, out, "2-login")
    login.close()
    server = RemoteServices("https://desk.example.lan:8443")
    for keyring in (True, False):
        answer = functools.partial(bool, keyring)  # what the system's keyring would say
        login = LoginDialog(
            sign_in_function(server), executor, connection=server.label, username="john", keyring=answer
        )
        login.show()
        while not (login.stay_signed_in.isEnabled() or login.no_keyring.isVisible()):  # the keyring's answer
            await asyncio.sleep(0.01)
        login.stay_signed_in.setChecked(keyring)
        await settle()
        save(login, out, "2-login-server" if keyring else "2-login-server-no-keyring")
        login.close()
    server.close()

    ctx = await sign_in(url=url, username="admin", password="demo-admin")
    assert ctx is not None
    window = MainWindow(ctx)
    window.resize(1440, 880)
    window.show()
    await window.start()
    await settle(lambda: not window.queue.model.is_loading)
    window.queue.table.selectRow(2)
    await settle()
    save(window, out, "3-queue")
    header = window.queue.table.horizontalHeader()
    header.setSortIndicator(SUBJECT_COLUMN, Qt.SortOrder.DescendingOrder)  # as a click on "Subject" does
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "3-queue-by-subject-descending")
    header.setSortIndicator(1, Qt.SortOrder.DescendingOrder)
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu)
    file_menu.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
    await settle()
    save(file_menu, out, "3-file-menu")
    file_menu.close()
    window.search_edit.setText("payment")
    window.run_search()
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "3-search-by-relevance")

    ticket = next(r for r in range(window.queue.model.rowCount()) if window.queue.model.ticket_id(r))
    window.open_ticket(window.queue.model.ticket_id(ticket) or 0)
    await settle(lambda: editor_shows(window, 1))
    save(window, out, "4-ticket")
    editor = window.current_editor()
    assert editor is not None
    editor.start_reply(EntryKind.NOTE)
    await settle()
    save(window, out, "5-ticket-note")
    editor.start_reply(EntryKind.REPLY)
    body = editor.composer.findChild(QPlainTextEdit, "composerBody")
    picker = window.findChild(CannedPicker)
    assert body is not None and picker is not None
    body.setPlainText("Hello,\n\n")
    body.moveCursor(QTextCursor.MoveOperation.End)
    editor.composer.open_canned()  # as Ctrl+Shift+T, or a `/` typed on the empty line
    await settle(picker.current)
    body.insertPlainText("on it")  # typed: filters the list
    await settle()
    save(window, out, "5-composer-canned")
    picker.close_list()
    body.clear()
    await shoot_relations(ctx, window, editor, out)
    if only_relations:
        await end_session(window, ctx)
        executor.shutdown()
        return

    window.search_edit.setText(LONG_THREAD_SUBJECT)
    window.run_search()
    await settle(lambda: not window.queue.model.is_loading)
    window.open_ticket(window.queue.model.ticket_id(0) or 0)
    await settle(
        lambda: (e := window.current_editor()) is not None and e.ticket is not None and len(e.ticket.thread) > 50
    )
    save(window, out, "6-long-thread")
    long_ticket = window.current_editor()
    assert long_ticket is not None and long_ticket.ticket is not None
    if not theme.is_dark():  # paper is white in either theme: one PDF (look at it with e.g. pdftoppm)
        save_pdf(long_ticket.ticket, out / "18-ticket-print.pdf", notes=True)

    window.tabs.setCurrentWidget(window.queue)
    window.search_edit.setText("zzqxwv")
    window.run_search()
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "7-empty-search")
    window.sidebar.select_queue(Queue.MINE)
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "8-my-tickets")
    await shoot_following(window, db, out)

    dialog = NewTicketDialog(ctx, window)
    dialog.show()
    dialog.submit()
    await settle(lambda: dialog.errors["subject"].isVisible())
    save(dialog, out, "9-new-ticket-errors")
    dialog.close()
    shortcuts = ShortcutsDialog(window)
    shortcuts.show()
    await settle()
    save(shortcuts, out, "10-shortcuts")
    shortcuts.close()
    row = (await ctx.call(queues.queue_page, Criteria(queue=Queue.OPEN), limit=1)).rows[0]
    await ctx.call(entries.post_reply, row.id, "Your card works again: please try the payment once more.")
    shown = await ctx.call(tickets.get_ticket, row.id)
    portal.request_ticket_link(db, shown.requester.email, shown.number, link="http://127.0.0.1:8080/link/{token}")
    mailbox = window.show_demo_mailbox()
    await settle(lambda: mailbox.table.rowCount() == 2)
    save(mailbox, out, "14-demo-mailbox")
    mailbox.close()

    off = dataclasses.replace(ctx, choices=dataclasses.replace(ctx.choices, outgoing_mail=OutgoingMail.OFF))
    composer = ComposerWidget(off)
    composer.resize(900, 260)
    composer.set_ticket(shown)
    composer.show()
    await settle()
    save(composer, out, "15-composer-mail-off")
    composer.close()
    await shoot_time_spent(window, ctx, row.id, out)

    add_mail(db)  # from here on a real install's mail: fetched, and sent by a worker (none runs here)
    window.mail_health.check()
    await settle(lambda: window.mail_health.outgoing.text().endswith("no worker running"))
    window.search_edit.setText(MAIL_SUBJECT)
    window.run_search()
    await settle(lambda: not window.queue.model.is_loading)
    window.open_ticket(window.queue.model.ticket_id(0) or 0)
    await settle(lambda: editor_shows(window, 3))
    save(window, out, "11-mail-ticket")
    tokens = window.show_api_tokens()
    await settle(lambda: tokens.empty.text().startswith("You have no API tokens"))
    save(tokens, out, "12-api-tokens-empty")
    tokens.make_token("CRM sync")
    await settle(lambda: tokens.secret_panel.isVisible() and tokens.tokens)
    save(tokens, out, "13-api-tokens-secret")
    tokens.close()
    await shoot_administration(window, out)
    await end_session(window, ctx)
    executor.shutdown()


async def shoot_following(window: MainWindow, db: Database, out: Path) -> None:
    """Maria mentions the admin in notes on two tickets, John follows the first too: the Following queue, then the
    first ticket with its followers (and the Unfollow button)."""
    maria, john = accounts.agent_by_username(db, "maria"), accounts.agent_by_username(db, "john")
    rows = queues.queue_page(db, maria, Criteria(queue=Queue.UNASSIGNED), limit=2).rows
    for row in rows:
        entries.post_note(db, maria, row.id, "@admin, the customer asks for you: can you follow this one?")
    following.follow(db, john, rows[0].id)
    window.sidebar.select_queue(Queue.FOLLOWING)
    await window.sidebar.refresh_counts()
    await settle(lambda: not window.queue.model.is_loading and window.queue.model.rowCount() >= len(rows))
    save(window, out, "16-following-queue")
    window.open_ticket(rows[0].id)
    await settle(lambda: (e := window.current_editor()) is not None and e.ticket is not None and e.ticket.following)
    save(window, out, "17-ticket-followers")
    window.tabs.setCurrentWidget(window.queue)


async def shoot_time_spent(window: MainWindow, ctx: Context, ticket_id: int, out: Path) -> None:
    """A ticket whose department requires the time spent: entries with their time, the total, and a note sent
    without it refused (the setting is put back for the screens after)."""
    await ctx.call(entries.post_note, ticket_id, "Card processor's log checked: declines stopped at 10:42.", minutes=45)
    await ctx.call(entries.post_note, ticket_id, "Called the bank's merchant desk; they confirm.", minutes=60)
    department = (await ctx.call(tickets.get_ticket, ticket_id)).department.id
    form = (await ctx.call(staff.get_department, department)).form
    await ctx.call(staff.save_department, department, dataclasses.replace(form, time_required=True))
    window.open_ticket(ticket_id)
    await settle(lambda: (e := window.current_editor()) is not None and e.ticket is not None and e.ticket.time_spent)
    editor = window.current_editor()
    assert editor is not None
    editor.start_reply(EntryKind.NOTE)
    body = editor.composer.findChild(QPlainTextEdit, "composerBody")
    assert body is not None
    body.setPlainText("Customer confirmed the payment went through.")
    await editor.composer.send()  # refused: no time given, the text stays
    await settle()
    save(window, out, "16-time-spent-required")
    body.clear()
    await ctx.call(staff.save_department, department, form)


def _shown(page: QWidget | None) -> bool:
    """Whether an Administration page shows what it loads: a row in its editor, or its list."""
    loaded = getattr(page, "loaded_form", None) is not None
    return loaded or bool(getattr(page, "entries", None)) or bool(getattr(page, "messages", None))


async def shoot_administration(window: MainWindow, out: Path) -> None:
    """Each section of the Administration window, an agent given a role (so the audit shows it), a new agent's
    refused fields, and the change-password dialog."""
    admin = window.show_administration()
    admin.resize(1100, 720)
    agents = admin.sections["Agents"]
    await settle(lambda: agents.list.count() > 0 and agents.loaded_form is not None)
    agents.list.setCurrentRow(
        next(r for r in range(agents.list.count()) if agents.list.item(r).text().startswith("John"))
    )
    await settle(lambda: agents.editor.heading.text().startswith("John"))
    editor = agents.editor
    assert isinstance(editor, AgentEditor)
    billing = next(box for box in editor.access.values() if box.accessibleName() == "Role in Billing")
    billing.setCurrentIndex(billing.findText("View only"))
    await agents.store()
    save(admin, out, "16-admin-agents")
    agents.new_button.click()
    await settle(lambda: agents.current_id is None)
    editor.username.setText("Nora Quinn")
    editor.email.setText("nora@")
    await agents.store()
    await settle()
    save(admin, out, "16-admin-agent-refused")
    agents.revert()
    for name in (*list(admin.sections)[1:], "Mail quarantine", "Audit log"):
        admin.choose(name)
        page = admin.pages.currentWidget()
        await settle(functools.partial(_shown, page))
        # a plan's or a schedule's due times, a mail template on a real ticket
        preview = getattr(getattr(page, "editor", None), "preview", None)
        if preview is not None:
            await settle(getattr(preview, "text", None) or preview.toPlainText)
        save(admin, out, f"16-admin-{name.lower().replace(' ', '-')}")
    admin.choose("Mailboxes")
    boxes = admin.sections["Mailboxes"]
    box_editor = boxes.editor
    assert isinstance(box_editor, MailboxEditor)
    box_editor.oauth_provider.setCurrentIndex(box_editor.oauth_provider.findText("Microsoft 365"))
    box_editor.oauth_client_id.setText("3f2a9c1e-5b7d-4e0a-9c61-2d8e4f7a1b30")
    box_editor.oauth_issuer.setText("lumenbank.example")
    await settle()
    save(admin, out, "16-admin-mailbox-oauth")
    boxes.revert()
    admin.close()
    dialog = window.show_change_password()
    dialog.current.setText("wrong")
    dialog.password.setText("new-password")
    dialog.repeat.setText("new-password")
    dialog.submit()
    await settle(lambda: dialog.message.isVisible())
    save(dialog, out, "17-change-password-refused")
    dialog.close()
    signature = window.show_signature()
    signature.text.setPlainText("Ada Lindqvist\nNorthbank Support · +44 20 7946 0000")
    await settle()
    save(signature, out, "17-my-signature")
    signature.close()
    own = window.show_own_canned()
    own.resize(900, 520)
    await settle(lambda: own.section.empty.isVisible() or own.section.list.count() > 0)
    save(own, out, "17-my-canned-empty")
    own.section.new_button.click()
    await settle()
    editor = own.section.editor
    assert isinstance(editor, OwnCannedEditor)
    editor.title.setText("Sign-off with my direct line")
    editor.body.setPlainText("Best regards,\n%{agent.name}\nDirect line: +44 20 7946 0101")
    await own.section.store()
    await settle(lambda: own.section.list.count() > 0)
    save(own, out, "17-my-canned")
    own.close()


MAIL_SUBJECT = "Statement PDF will not open"


def add_mail(db: Database) -> None:
    """A ticket that came by mail, whose auto-response the mail server refused: its thread and the status bar."""
    admin = accounts.agent_by_username(db, "admin")
    with db.transaction() as session:  # real mail from now on, not the demo's sink
        settings.put(session, "mail.demo_sink", False)
    mailboxes.add_mailbox(db, admin, name="Lumen Service", address="service@lumenbank.example",
                          imap_host="imap.lumenbank.example", imap_user="support", imap_password="x",
                          smtp_host="smtp.lumenbank.example", auth_server="mx.lumenbank.example")  # fmt: skip
    message = EmailMessage()
    message["From"] = "Nora Quinn <nora.quinn@example.org>"
    message["To"] = "service@lumenbank.example"
    message["Subject"] = MAIL_SUBJECT
    message["Message-ID"] = "<screenshot-1@example.org>"
    message.set_content("Hello,\n\nthe March statement downloads as an empty PDF.\n\nNora")
    intake.process(db, intake.store(db, None, None, message.as_bytes()) or 0)
    unreadable = b"From: Max <max@example.org>\r\nSubject: Invoice 2291\r\nContent-Type: multipart/mixed\r\n\r\n--\r\n"
    inbound = intake.store(db, None, None, unreadable)
    with db.transaction() as session:  # as a message that could not be threaded is kept for the quarantine
        row = session.get_one(InboundMessage, inbound)
        row.state, row.reason = InboundState.QUARANTINED.value, "The message could not be read (no MIME boundary)."
    for mail in sending.due(db)[0]:
        if mail.recipients == ("nora.quinn@example.org",):
            sending.mark_failed(db, mail.id, "SMTPRecipientsRefused: 550 5.1.1 No such user", permanent=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    parser.add_argument("--tickets", type=int, default=120)
    parser.add_argument("--relations", action="store_true", help="only the screens up to merge, link and split")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DESK_DATA_DIR"] = folder  # drafts and settings stay out of the developer's own
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
        url = f"sqlite:///{folder}/demo.db"
        db = Database(url)
        build_schema(db, url)
        build_demo(db, tickets=args.tickets)
        db.dispose()
        app = application()
        with event_loop(app) as loop:
            loop.run_until_complete(shoot(args.out, url, only_relations=args.relations))


if __name__ == "__main__":
    main()
