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
Administration window (the rules with a failing one, and their test dialog), the change-password, signature and
own canned responses dialogs, and a long ticket printed to PDF; with --relations, only the screens up to the ticket,
its linked tickets and the merge dialog. The theme comes from DESK_THEME (light / dark); the platform from
QT_QPA_PLATFORM (xcb on Xvfb for real rendering).
After the Following queue: an alert arriving (the bell's count), the bell's list and File › My alerts…; with
--alerts, only the screens up to the ticket, then those.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QTextCursor
from PySide6.QtWidgets import QMenu, QTextEdit, QWidget

from desk.client.local import LocalServices
from desk.client.remote import RemoteServices
from desk.domain.dashboard import Figure
from desk.domain.enums import AssignMode, EntryKind, InboundState, OutgoingMail, Queue
from desk.domain.errors import Invalid
from desk.domain.macros import MacroActions, MacroForm, TaskForm
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.domain.reports import Grouping, ReportKind
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm
from desk.services import (
    accounts,
    entries,
    following,
    lifecycle,
    macros,
    mailboxes,
    portal,
    queues,
    rules,
    settings,
    staff,
    tickets,
)
from desk.services import tasks as task_service
from desk.services.demo import LONG_THREAD_SUBJECT, build_demo
from desk.services.mail import intake, sending
from desk.storage.db import Database
from desk.storage.models import InboundMessage
from desk.ui import theme
from desk.ui.admin.editors import AgentEditor, DepartmentEditor, TeamEditor
from desk.ui.admin.mail_editors import MailboxEditor
from desk.ui.admin.people_editors import OwnCannedEditor
from desk.ui.admin.rule_editors import RuleEditor
from desk.ui.app import application, end_session, event_loop
from desk.ui.connect import ConnectionDialog, Remembered
from desk.ui.export import Cancelled, ExportProgress, Row, export_table
from desk.ui.first_run import FirstAdministratorDialog
from desk.ui.labels import ASSIGN_MODES
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
from desk.ui.ticket.rich import picture_png
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


async def shoot_dashboard_and_export(window: MainWindow, out: Path) -> None:
    """The dashboard dock (and a figure's tickets), then a long export's progress dialog over the window."""
    panel = window.dashboard.panel
    await panel.refresh()
    await settle()
    save(window.dashboard, out, "19-dashboard")
    support = next(d for d in panel.figures.departments if d.name == "Support") if panel.figures else None
    assert support is not None
    panel.buttons[(support.department_id, Figure.OVERDUE)].click()
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "19-dashboard-overdue-queue")

    async def pages(on_total: Callable[[int], None]) -> AsyncIterator[list[Row]]:
        """A million-ticket queue's pages, as they come from a busy server."""
        on_total(1_000_000)
        for start in range(0, 1_000_000, 5000):
            await asyncio.sleep(0.05)
            yield [(f"{n:06d}", "Card declined", None) for n in range(start, start + 5000)]

    export = asyncio.ensure_future(export_table(window, out / "export.csv", ("Number", "Subject", "Due"), pages,
                                                noun="tickets"))  # fmt: skip
    await settle(lambda: any(d.isVisible() and d.value() > 100_000 for d in window.findChildren(ExportProgress)))
    dialog = next(d for d in window.findChildren(ExportProgress) if d.isVisible())
    save(dialog, out, "19-export-progress")
    dialog.cancel()
    with contextlib.suppress(Cancelled):
        await export


async def shoot_macros_and_tasks(ctx: Context, window: MainWindow, editor: TicketEditor, out: Path) -> None:
    """The macro picker (Ctrl+Shift+A) over the ticket, the ticket after one (its events in the thread), and the
    ticket's checklist in a department that wants it done before closing, with the task dialog."""
    ticket = editor.ticket
    assert ticket is not None
    statuses = {s.name: s.id for s in ctx.choices.statuses}
    high = next(p.id for p in ctx.choices.priorities if p.name == "High")
    level2 = next((t.id for t in ctx.choices.teams if t.name == "Level 2"), None)
    logs = MacroActions(
        priority_id=high,
        post=EntryKind.REPLY,
        text="Dear %{user.name},\n\nto find the cause, please send us the app's log file (Settings › Help › Send "
        "logs) with ticket %{ticket.number} in the subject.\n\n%{agent.name}",
        status_id=statuses["Pending"],
    )
    for macro in (
        MacroForm("Ask for logs → Pending", logs),
        MacroForm("Close as duplicate", MacroActions(post=EntryKind.NOTE, text="Duplicate.",
                                                     status_id=statuses["Closed"])),
        MacroForm("Escalate to Level 2", MacroActions(team_id=level2, follow=True, post=EntryKind.NOTE,
                                                      text="Escalated: needs Level 2."), personal=True),
    ):  # fmt: skip
        await ctx.call(macros.save_macro, None, macro)
    picker = editor.open_macros()
    assert picker is not None
    await settle(lambda: picker.list.count() == 3)
    save(picker, out, "19-macro-picker")
    picker.apply()  # Enter: the highlighted one, "Ask for logs → Pending"
    await settle(lambda: editor.ticket is not None and editor.ticket.status.name == "Pending")
    save(window, out, "19-macro-applied")
    for text, who in (("Check the card processor's log", ctx.agent.id), ("Call the customer back", None),
                      ("Refund the double charge", None)):  # fmt: skip
        await ctx.call(task_service.save_task, ticket.id, None, TaskForm(text, who, date(2026, 12, 9)))
    done = (await ctx.call(tickets.get_ticket, ticket.id)).tasks[0].id
    await ctx.call(task_service.set_task_done, ticket.id, done, True)
    form = (await ctx.call(staff.get_department, ticket.department.id)).form
    await ctx.call(staff.save_department, ticket.department.id, dataclasses.replace(form, tasks_required=True))
    await editor.load()
    await settle(lambda: editor.properties.tasks.list.count() == 3)
    save(window, out, "19-ticket-tasks")
    dialog = editor.edit_task()
    assert dialog is not None
    dialog.text.setText("Send the customer the new card's PIN letter")
    dialog.has_due.setChecked(True)
    await settle()
    save(dialog, out, "19-task-dialog")
    dialog.reject()
    await ctx.call(staff.save_department, ticket.department.id, form)
    own = window.show_own_macros()
    await settle(lambda: own.section.loaded_form is not None)
    save(own, out, "19-my-macros")
    own.close()


async def shoot(
    out: Path, url: str, *, only_relations: bool = False, only_reports: bool = False, only_alerts: bool = False
) -> None:
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
    if only_reports:
        await shoot_reports(window, out)
        await end_session(window, ctx)
        executor.shutdown()
        return
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
    await shoot_dashboard_and_export(window, out)

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
    body = editor.composer.findChild(QTextEdit, "composerBody")
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
    if only_alerts:
        await shoot_alerts(window, ctx, db, out)
        await end_session(window, ctx)
        executor.shutdown()
        return
    await shoot_relations(ctx, window, editor, out)
    await shoot_macros_and_tasks(ctx, window, editor, out)
    await shoot_pictures(window, db, out)
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
    await shoot_alerts(window, ctx, db, out)

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
    add_rules(db)
    await shoot_administration(window, out)
    await shoot_reports(window, out)
    await shoot_rule_test(window, out)
    await shoot_assignment(window, ctx, out)
    await end_session(window, ctx)
    executor.shutdown()


async def shoot_reports(window: MainWindow, out: Path) -> None:
    """View › Reports…: this year's volume by week and responsiveness by department (light and dark), a figure's
    tickets as a queue, and the report printed to PDF (paper is light: once)."""
    reports = window.show_reports()
    reports.resize(1360, 760)

    async def report(kind: ReportKind, grouping: Grouping, name: str) -> None:
        reports.kind.setCurrentIndex(reports.kind.findData(kind.value))
        reports.preset.setCurrentText("This year")
        reports.grouping.setCurrentIndex(reports.grouping.findData(grouping.value))
        await settle(lambda: reports.table_data is not None and reports.table_data.query == reports.query())
        save(reports, out, name)

    await report(ReportKind.VOLUME, Grouping.WEEK, "18-reports-volume-by-week")
    await report(ReportKind.RESPONSIVENESS, Grouping.DEPARTMENT, "18-reports-responsiveness")
    if not theme.is_dark():
        reports.printer().write_pdf(out / "18-report-responsiveness.pdf")
    reports.open_figure(0, 0)
    await settle(lambda: window.queue.title_label.text().startswith("Responsiveness"))
    await settle(lambda: not window.queue.model.is_loading)
    save(window, out, "18-reports-figure-tickets")
    reports.close()


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


async def shoot_alerts(window: MainWindow, ctx: Context, db: Database, out: Path) -> None:
    """Maria assigns a ticket to the admin while Desk runs: the bell's count and the status bar's line (bare Xvfb has
    no notification area), or the tray's message and the whole screen (one with a tray, e.g. `trayer` started on
    the Xvfb display first), the bell's list of recent alerts, and File › My alerts…"""
    maria = accounts.agent_by_username(db, "maria")
    row = queues.queue_page(db, maria, Criteria(queue=Queue.UNASSIGNED), limit=3).rows[-1]
    tickets.assign(db, maria, row.id, ctx.agent.id)
    await settle(lambda: (shown := window.alerts.listed.alerts) and shown[0].ticket_id == row.id)
    save(window, out, "19-alert-arrived")
    if window.notifier.tray is not None:  # a desktop with a notification area (Xvfb with a tray such as trayer)
        await settle()
        screen = QGuiApplication.primaryScreen().grabWindow(0)  # the tray's message is a window of its own
        screen.save(str(out / f"19-alert-tray-{'dark' if theme.is_dark() else 'light'}.png"))
    window.alerts.show_popup()
    await settle()
    save(window.alerts.popup, out, "19-alerts-list")
    window.alerts.popup.hide()
    dialog = window.show_alert_choices()
    await settle(dialog.ok.isEnabled)
    save(dialog, out, "20-my-alerts")
    dialog.reject()


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
    body = editor.composer.findChild(QTextEdit, "composerBody")
    assert body is not None
    body.setPlainText("Customer confirmed the payment went through.")
    await editor.composer.send()  # refused: no time given, the text stays
    await settle()
    save(window, out, "16-time-spent-required")
    body.clear()
    await ctx.call(staff.save_department, department, form)


def error_screen() -> QImage:
    """A picture such as a user pastes into a mail: a screenshot of an error message."""
    image = QImage(420, 150, QImage.Format.Format_RGB32)
    image.fill(QColor("#f3f3f3"))
    painter = QPainter(image)
    painter.fillRect(0, 0, 420, 30, QColor("#2b579a"))
    painter.setPen(QColor("white"))
    painter.drawText(12, 20, "Lumen Online Banking")
    painter.fillRect(20, 50, 36, 36, QColor("#c42b1c"))
    painter.setPen(QColor("black"))
    painter.drawText(72, 64, "Payment could not be completed.")
    painter.drawText(72, 84, "Error 0x80070057: card declined by issuer.")
    painter.drawRect(320, 110, 80, 26)
    painter.drawText(348, 128, "OK")
    painter.end()
    return image


async def shoot_pictures(window: MainWindow, db: Database, out: Path) -> None:
    """A mail with a screenshot pasted in it, shown in place in the thread, and a rich reply being written with a
    bold word, a list, a link and a picture of its own."""
    message = EmailMessage()
    message["From"] = "Nora Quinn <nora.quinn@example.org>"
    message["To"] = "service@lumenbank.example"
    message["Subject"] = "Error screen when paying by card"
    message["Message-ID"] = "<screenshot-picture@example.org>"
    message.set_content("Hello,\n\nthis is what I see when I pay:\n[error]\n\nNora")
    message.add_alternative(
        "<p>Hello,</p><p>this is what I see when I pay:</p>"
        '<p><img src="cid:error@example.org" alt="the error"></p><p>Nora</p>',
        "html",
    )
    html = message.get_body(("html",))
    assert html is not None
    html.add_related(picture_png(error_screen()), "image", "png", cid="<error@example.org>", filename="error.png")
    inbound = intake.store(db, None, None, message.as_bytes()) or 0
    intake.process(db, inbound)
    with db.transaction(write=False) as session:
        ticket_id = session.get_one(InboundMessage, inbound).ticket_id
    window.open_ticket(ticket_id or 0)
    await settle(lambda: (e := window.current_editor()) is not None and bool(e.thread_view.shown_pictures()))
    editor = window.current_editor()
    assert editor is not None
    save(window, out, "19-thread-inline-picture")
    composer = editor.composer
    editor.start_reply(EntryKind.REPLY)
    composer.set_rich(True)
    body = composer.findChild(QTextEdit, "composerBody")
    assert body is not None
    body.setHtml(
        "<p>Hello <b>Nora</b>, thank you for the screenshot. Please try this:</p>"
        "<ul><li>Check the card's daily limit in the app</li><li>Pay again after 10 minutes</li></ul>"
        '<p>More in our <a href="https://help.lumenbank.example/cards">card help</a>.</p>'
    )
    body.moveCursor(QTextCursor.MoveOperation.End)
    body.textCursor().insertBlock()
    limit = QImage(260, 90, QImage.Format.Format_RGB32)
    limit.fill(QColor("#e8f1e8"))
    data = QMimeData()
    data.setImageData(limit)
    body.insertFromMimeData(data)
    await settle()
    save(window, out, "20-rich-reply-composer")
    body.clear()
    composer.set_rich(False)


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


async def shoot_assignment(window: MainWindow, ctx: Context, out: Path) -> None:
    """Support auto-assigning round-robin and escalating, a team assigning by fewest open tickets, and a ticket
    Pending until a date in its properties and in the queue (issue 16)."""
    support = next(d.id for d in ctx.choices.departments if d.name == "Support")
    form = (await ctx.call(staff.get_department, support)).form
    high = next(p.id for p in ctx.choices.priorities if p.name == "High")
    await ctx.call(staff.save_department, support, dataclasses.replace(
        form, assign_mode=AssignMode.ROUND_ROBIN, assign_in_hours=True, reassign_away=True, escalate_minutes=30,
        escalate_priority_id=high,
    ))  # fmt: skip
    admin = window.show_administration()
    admin.resize(1100, 720)
    admin.choose("Departments")
    departments = admin.sections["Departments"]
    await settle(lambda: departments.list.count() > 0 and departments.loaded_form is not None)
    departments.list.setCurrentRow(
        next(r for r in range(departments.list.count()) if departments.list.item(r).text() == "Support")
    )
    editor = departments.editor
    assert isinstance(editor, DepartmentEditor)
    await settle(lambda: editor.heading.text() == "Support" and editor.escalate.value() == 30)
    departments.scroller.ensureWidgetVisible(editor.escalate_to)
    await settle()
    save(admin, out, "18-admin-department-assignment")
    admin.choose("Teams")
    teams = admin.sections["Teams"]
    await settle(lambda: teams.list.count() > 0 and teams.loaded_form is not None)
    team_editor = teams.editor
    assert isinstance(team_editor, TeamEditor)
    team_editor.assign_mode.setCurrentIndex(team_editor.assign_mode.findText(ASSIGN_MODES[AssignMode.LEAST_OPEN]))
    await teams.store()
    await settle(lambda: not teams.is_dirty())
    save(admin, out, "18-admin-team-assignment")
    admin.close()
    await ctx.call(staff.save_department, support, form)
    row = (await ctx.call(queues.queue_page, Criteria(queue=Queue.UNASSIGNED))).rows[-1]
    pending = next(s.id for s in ctx.choices.statuses if s.name == "Pending")
    until = datetime.now(UTC).replace(hour=14, minute=30, second=0, microsecond=0) + timedelta(days=3)
    await ctx.call(lifecycle.set_status, row.id, pending, until)
    window.open_ticket(row.id)
    await settle(lambda: (e := window.current_editor()) is not None and e.ticket is not None)
    shown = window.current_editor()
    assert shown is not None
    await shown.load()  # its tab may have been open since before
    await settle(lambda: shown.ticket is not None and shown.ticket.pending_until is not None)
    save(window, out, "18-ticket-pending-until")
    window.tabs.setCurrentWidget(window.queue)
    window.search_edit.clear()
    window.sidebar.select_queue(Queue.ON_HOLD)
    await settle(lambda: not window.queue.model.is_loading and window.queue.model.rowCount() > 0)
    save(window, out, "18-queue-pending-until")


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


def add_rules(db: Database) -> None:
    """Rules for the Rules section: routing, an out-of-hours note, spam rejected, and one whose pattern runs too
    long on a message (so the list marks it failing)."""
    admin = accounts.agent_by_username(db, "admin")
    choices = staff.staff_choices(db, admin)
    billing = next(d.id for d in choices.departments if d.name == "Billing")
    high = next(p.id for p in choices.priorities if p.name == "High")
    hours = choices.schedules[0].id
    refunds = RuleForm(
        "Refunds and invoices to Billing",
        (Condition(Field.SUBJECT, Op.CONTAINS, "refund"), Condition(Field.SUBJECT, Op.REGEX, r"invoice\s*#?\d+")),
        (Action(ActionKind.DEPARTMENT, billing), Action(ActionKind.PRIORITY, high)),
        match_all=False,
        on_message=True,
    )
    night = RuleForm(
        "Out of hours",
        (Condition(Field.BUSINESS_HOURS, Op.IS_NOT, str(hours)), Condition(Field.CHANNEL, Op.IS, "mail")),
        (Action(ActionKind.NOTE, text="Arrived out of hours: answer first thing."),),
    )
    spam = RuleForm("Spam", (Condition(Field.SENDER_DOMAIN, Op.IS, "bulk-offers.example"),),
                    (Action(ActionKind.REJECT), Action(ActionKind.BAN)))  # fmt: skip
    broken = RuleForm("Order numbers", (Condition(Field.BODY, Op.REGEX, r"(x+x+)+y"),), (Action(ActionKind.STOP),))
    old = RuleForm("Old routing (kept for reference)", actions=(Action(ActionKind.STOP),), enabled=False)
    for form in (refunds, night, spam, broken, old):
        rules.save_rule(db, admin, None, form)
    tickets.open_ticket(db, admin, subject="Export log", body="x" * 5000, requester_email="ops@example.org")


async def shoot_rule_test(window: MainWindow, out: Path) -> None:
    """The rules' test dialog on a pasted message."""
    admin = window.show_administration()
    admin.resize(1100, 720)
    admin.choose("Rules")
    section = admin.sections["Rules"]
    await settle(lambda: section.loaded_form is not None)
    editor = section.editor
    assert isinstance(editor, RuleEditor)
    editor.open_test()
    dialog = editor.dialog
    assert dialog is not None
    dialog.sender_edit.setText("kim.lee@example.com")
    dialog.subject.setText("Refund for invoice #4471")
    dialog.body.setPlainText("Hello,\n\nI was charged twice for invoice #4471. Please refund one.\n\nKim")
    dialog.run()
    await settle(lambda: dialog.results.count() > 0)
    save(dialog, out, "16-admin-rules-test")
    dialog.close()
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    parser.add_argument("--tickets", type=int, default=120)
    parser.add_argument("--relations", action="store_true", help="only the screens up to merge, link and split")
    parser.add_argument("--reports", action="store_true", help="only the Reports window's screens")
    parser.add_argument("--alerts", action="store_true", help="only the screens up to a ticket, then the alerts")
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
            loop.run_until_complete(
                shoot(args.out, url, only_relations=args.relations, only_reports=args.reports, only_alerts=args.alerts)
            )


if __name__ == "__main__":
    main()
