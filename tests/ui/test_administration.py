"""The Administration window, driven as an administrator would: keyboard and buttons, then checked in the services."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import TypeVar

import openpyxl
import pytest
from pytestqt.qtbot import QtBot
from shiboken6 import isValid

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QMessageBox

from desk.domain.canned import TEMPLATES
from desk.domain.enums import InboundState, Queue
from desk.domain.errors import DeskError, PermissionDenied
from desk.domain.people import UserForm
from desk.domain.permissions import Right, SystemActor
from desk.domain.queues import Criteria
from desk.domain.staff import AuditAction, AuditKind, DepartmentForm, TeamForm
from desk.services import accounts, audit, canned, notifications, people, queues, reference, staff, tickets
from desk.services.mail import intake
from desk.storage.db import Database
from desk.storage.models import InboundMessage
from desk.ui.admin.editors import AgentEditor, DepartmentEditor
from desk.ui.admin.mail_templates import NotificationEditor, TemplateEditor
from desk.ui.admin.people_editors import MembersEditor, OwnCannedEditor, UserEditor
from desk.ui.admin.quarantine import RawMessageDialog
from desk.ui.admin.section import Section
from desk.ui.admin.window import AdministrationWindow
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.composer import ComposerWidget
from tests.ui.conftest import db_of, make_context, run, until

E = TypeVar("E")


def opened(ctx: Context, qtbot: QtBot) -> AdministrationWindow:
    window = AdministrationWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.start()
    return window


def section_of(window: AdministrationWindow, name: str, kind: type[E]) -> tuple[Section, E]:
    """The named section, chosen, and its editor (of the kind it must be)."""
    window.choose(name)
    section = window.sections[name]
    assert isinstance(section.editor, kind)
    return section, section.editor


def choose(section: Section, text: str) -> None:
    item = next(
        section.list.item(r) for r in range(section.list.count()) if section.list.item(r).text().startswith(text)
    )
    section.list.setCurrentItem(item)


async def shows(section: Section, name: str) -> None:
    await until(lambda: section.editor.heading.text() == name and section.loaded_form is not None, what=name)


def test_giving_an_agent_a_role_in_another_department(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    db = ctx.services.db  # type: ignore[attr-defined]

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        await until(lambda: window.sections["Agents"].list.count() > 0, what="the agents")
        agents = window.sections["Agents"]
        editor = agents.editor
        assert isinstance(editor, AgentEditor)
        choose(agents, "John")
        await shows(agents, "John Carter")
        assert not agents.save_button.isEnabled()  # nothing changed yet
        billing = next(d for d, box in editor.access.items() if box.accessibleName() == "Role in Billing")
        box = editor.access[billing]
        box.setCurrentIndex(box.findText("View only"))
        assert agents.save_button.isEnabled() and agents.revert_button.isEnabled()
        qtbot.keyClick(agents.save_button, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: not agents.is_dirty() and not agents.save_button.isEnabled(), what="saved")
        john = accounts.agent_by_username(db, "john")
        assert billing in john.departments and john.departments[billing] == frozenset()
        window.choose("Audit log")
        await until(lambda: window.audit.table.rowCount() > 0, what="the audit")
        what, changes = (window.audit.table.item(0, column) for column in (3, 4))
        assert what is not None and what.text() == "agent John Carter"
        assert changes is not None and "Billing: View only" in changes.text()
        window.close()

    run(loop, scenario())


def test_refused_fields_are_shown_beside_them_and_the_form_is_kept(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Departments")
        departments = window.sections["Departments"]
        await until(lambda: departments.list.count() > 0, what="the departments")
        await until(lambda: departments.loaded_form is not None, what="the first department")
        departments.new_button.click()
        editor = departments.editor
        assert isinstance(editor, DepartmentEditor)
        await until(lambda: editor.heading.text() == "New department")
        qtbot.keyClicks(editor.name, "Billing")
        departments.save_button.click()
        await until(lambda: editor.errors["name"].isVisible(), what="the refusal")
        assert editor.errors["name"].text() == "Another department is called Billing."
        assert editor.name.text() == "Billing" and departments.current_id is None
        editor.name.setText("Sales")
        saved: list[bool] = []
        departments.saved.connect(lambda: saved.append(True))
        departments.save_button.click()
        await until(lambda: saved, what="the new department saved and listed")  # the save's whole work is done
        assert not editor.errors["name"].isVisible()
        assert [d.name for d in staff.list_departments(ctx.services.db, ctx.agent)].count("Sales") == 1  # type: ignore[attr-defined]
        listed: list[bool] = []
        departments.listed.connect(lambda: listed.append(True))
        departments.ask_delete()
        box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
        next(b for b in box.buttons() if b.text() == "Delete").click()
        await until(lambda: listed, what="the list again, after the delete")  # the delete's whole work is done
        assert "Sales" not in [departments.list.item(r).text() for r in range(departments.list.count())]
        window.close()

    run(loop, scenario())


def test_choosing_another_row_with_unsaved_changes_asks_first(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Teams")
        teams = window.sections["Teams"]
        await until(lambda: teams.loaded_form is not None, what="the first team")
        first = teams.editor.heading.text()
        teams.editor.name.setText("Renamed but not saved")  # type: ignore[attr-defined]
        teams.list.setCurrentRow(1)
        await until(lambda: teams.question is not None, what="the question")
        assert teams.question is not None
        teams.question.button(QMessageBox.StandardButton.Cancel).click()
        await until(lambda: teams.question is None)
        assert teams.list.currentRow() == 0 and teams.editor.name.text() == "Renamed but not saved"  # type: ignore[attr-defined]
        assert teams.editor.heading.text() == first
        teams.revert_button.click()
        await until(lambda: not teams.is_dirty())
        window.close()

    run(loop, scenario())


def test_a_question_whose_window_is_deleted_under_it_answers_cancel(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """Desk quitting with a form half-edited deletes the window under its "Discard your changes?": the question
    answers Cancel (nothing is discarded behind the agent's back) and nothing raises."""

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Teams")
        teams = window.sections["Teams"]
        await until(lambda: teams.loaded_form is not None, what="the first team")
        teams.editor.name.setText("Renamed but not saved")  # type: ignore[attr-defined]
        asked = asyncio.ensure_future(teams.confirm_discard())
        await until(lambda: teams.question is not None, what="the question")
        window.deleteLater()
        assert await asked is False
        assert teams.question is None

    run(loop, scenario())


def test_administration_is_offered_to_administrators_and_every_agent_changes_their_password(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    john = make_context(demo_db, "john")
    admin = make_context(demo_db, "admin")

    async def scenario() -> None:
        for ctx, offered in ((john, False), (admin, True)):
            window = MainWindow(ctx)
            qtbot.addWidget(window)
            assert window.administration_action.isVisible() is offered
        john_window = MainWindow(john)
        qtbot.addWidget(john_window)
        dialog = john_window.show_change_password()
        dialog.current.setText("not-it")
        dialog.password.setText("a-new-password")
        dialog.repeat.setText("a-new-password")
        dialog.ok.click()
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert dialog.message.text() == "The current password is wrong." and dialog.isVisible()
        dialog.current.setText("demo-john")
        dialog.ok.click()
        await until(lambda: not isValid(dialog), what="accepted (and the dialog gone)")
        assert accounts.authenticate_agent(demo_db, "john", "a-new-password").id == john.agent.id
        [entry] = audit.audit_log(demo_db, admin.agent, kind=AuditKind.AGENT)
        assert (entry.action, entry.target, entry.actor) == (AuditAction.PASSWORD, "John Carter", "John Carter")

    run(loop, scenario())
    john.close()
    admin.close()


def test_an_agent_sets_their_signature_and_the_next_reply_offers_it(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        window = MainWindow(john)
        qtbot.addWidget(window)
        dialog = window.show_signature()
        assert dialog.text.toPlainText() == ""  # the demo's john has none
        dialog.text.setPlainText("x" * 10_001)
        dialog.ok.click()
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert "at most 10,000" in dialog.message.text() and dialog.isVisible()
        dialog.text.setPlainText("John Carter\nNorthbank Support, ext. 214")
        dialog.ok.click()
        await until(lambda: not isValid(dialog), what="saved (and the dialog gone)")
        assert john.choices.signature == "John Carter\nNorthbank Support, ext. 214"
        assert staff.get_agent(demo_db, SystemActor(), john.agent.id).form.signature == john.choices.signature
        composer = ComposerWidget(john)
        qtbot.addWidget(composer)
        row = queues.queue_page(demo_db, john.agent, Criteria(queue=Queue.OPEN)).rows[0]
        composer.set_ticket(tickets.get_ticket(demo_db, john.agent, row.id))
        choice = composer.findChild(QComboBox, "composerSignature")
        assert choice is not None and choice.currentText() == "My signature"

    run(loop, scenario())
    john.close()


def test_an_agent_keeps_canned_responses_of_their_own(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        window = MainWindow(john)
        qtbot.addWidget(window)
        dialog = window.show_own_canned()
        section = dialog.section
        await until(lambda: section.empty.isVisible(), what="the empty list")
        assert section.empty.text() == "No canned responses yet: “New canned response” adds one."
        section.new_button.click()
        editor = section.editor
        assert isinstance(editor, OwnCannedEditor) and not editor.department.isVisible()
        await until(lambda: editor.heading.text() == "New canned response")
        qtbot.keyClicks(editor.title, "Sign-off")
        editor.body.setPlainText("Best, %{agent.name}")
        section.save_button.click()
        await until(lambda: section.list.count() == 1 and not section.is_dirty(), what="saved and listed")
        row = queues.queue_page(demo_db, john.agent, Criteria(queue=Queue.OPEN)).rows[0]
        offered = {c.title: c.text for c in canned.canned_for_ticket(demo_db, john.agent, row.id)}
        assert offered["Sign-off"] == "Best, John Carter"
        admin = accounts.agent_by_username(demo_db, "admin")
        assert "Sign-off" not in {r.name for r in canned.list_canned(demo_db, admin)}  # John's alone
        dialog.close()

    run(loop, scenario())
    john.close()


def test_an_agent_who_manages_end_users_merges_two_accounts_and_bans_one(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    accounts.add_agent(demo_db, SystemActor(), username="clerk", name="Clerk", email="clerk@desk.example",
                       password="clerk-password", rights=(Right.USER_MANAGE,))  # fmt: skip
    clerk = make_context(demo_db, "clerk")
    people.save_user(demo_db, clerk.agent, None, UserForm("Nora at home", "nora@home.example"))

    async def scenario() -> None:
        window = opened(clerk, qtbot)
        assert [window.sidebar.item(r).text() for r in range(window.sidebar.count())] == [
            "PEOPLE", "End users", "Organizations"
        ]  # fmt: skip
        users = window.sections["End users"]
        editor = users.editor
        assert isinstance(editor, UserEditor)
        await until(lambda: users.loaded_form is not None, what="the first end user")
        users.search.setText("nora.novak")
        await until(lambda: users.list.count() == 1 and editor.heading.text() == "Nora Novak", what="Nora")
        # Her tickets are in departments the clerk has no access to: none of them is listed.
        await until(lambda: editor.tickets.count() == 1, what="her tickets")
        assert editor.tickets.item(0).text() == "No tickets you may see"
        merge = editor.ask_merge()
        assert merge is not None
        merge.search.setText("nora@home")
        await until(lambda: merge.results.count() == 1, what="the other account")
        merge.results.setCurrentRow(0)
        assert "cannot be undone" in merge.outcome.text()
        merge.merge_button.click()
        await until(lambda: not isValid(merge), what="the merge")
        assert people.list_users(demo_db, clerk.agent, "nora@home").rows == ()
        editor.ban_button.click()
        await until(lambda: editor.ban_button.text() == "Lift the ban", what="the ban")
        assert "banned" in editor.summary.text()
        window.close()

    run(loop, scenario())
    clerk.close()


def test_the_quarantine_shows_a_message_raw_and_discards_it(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = db_of(ctx)
    raw = b"From: Nora <nora@example.org>\r\nSubject: <b>Statement</b>\r\n\r\n<img src='/dev/zero'>\r\n"
    inbound = intake.store(db, None, None, raw)
    assert inbound is not None
    with db.transaction() as session:
        session.get_one(InboundMessage, inbound).state = InboundState.QUARANTINED.value

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Mail quarantine")
        quarantine = window.quarantine
        await until(lambda: quarantine.table.rowCount() == 1, what="the quarantined message")
        quarantine.table.selectRow(0)
        assert quarantine.retry_button.isEnabled() and quarantine.discard_button.isEnabled()
        quarantine.show_raw()
        dialog = await until(lambda: next((d for d in window.findChildren(RawMessageDialog) if d.isVisible()), None))
        # As plain text (line ends as the editor keeps them): nothing in it is rendered or loaded.
        assert dialog.text.toPlainText() == raw.decode().replace("\r\n", "\n")
        dialog.close()
        quarantine.discard(inbound)
        await until(lambda: quarantine.table.rowCount() == 0, what="the message discarded")
        assert quarantine.empty.isVisible()
        window.close()

    run(loop, scenario())


def test_the_audit_log_filters_by_kind_and_shows_sign_ins(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    db = db_of(ctx)
    staff.save_team(db, ctx.agent, None, TeamForm("Night shift"))
    with pytest.raises(PermissionDenied):
        accounts.authenticate_agent(db, "john", "not-his", client_address="10.9.8.7")

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Audit log")
        log = window.audit
        await until(lambda: log.table.rowCount() > 0, what="the changes")
        log.kind.setCurrentIndex(log.kind.findText("Teams"))
        await until(lambda: log.table.rowCount() == 1 and log.table.item(0, 3).text() == "team Night shift")  # type: ignore[union-attr]
        log.kind.setCurrentIndex(log.kind.findText("Sign-ins"))
        log.search.setText("10.9.8.7")
        await until(lambda: (cell := log.table.item(0, 4)) is not None and cell.text() == "from 10.9.8.7", what="john")
        row = [log.table.item(0, column).text() for column in range(1, 5)]  # type: ignore[union-attr]
        assert row == ["john", "refused: wrong password", "agent", "from 10.9.8.7"]
        window.close()

    run(loop, scenario())


def test_a_department_manager_gives_an_agent_a_role_in_their_department(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    sam = make_context(demo_db, "sam")  # manages Support, no administrator

    async def scenario() -> None:
        main = MainWindow(sam)
        qtbot.addWidget(main)
        assert not main.administration_action.isVisible()
        await main._offer_administration()
        assert main.administration_action.isVisible()
        window = main.show_administration()
        qtbot.addWidget(window)
        assert [window.sidebar.item(r).text() for r in range(window.sidebar.count())] == [
            "PEOPLE", "Department members", "TICKETS", "Canned responses", "Macros"
        ]  # fmt: skip
        members = window.sections["Department members"]
        editor = members.editor
        assert isinstance(editor, MembersEditor)
        await until(lambda: editor.heading.text() == "Support", what="Support's members")
        assert [members.list.item(r).text() for r in range(members.list.count())] == ["Support"]
        assert not members.new_button.isVisible() and not editor.roles[sam.agent.id].isEnabled()
        tom = next(agent for agent, choice in editor.roles.items() if choice.accessibleName() == "Role of Tom Becker")
        editor.roles[tom].setCurrentIndex(editor.roles[tom].findText("View only"))
        assert await members.store()
        assert accounts.agent_by_username(demo_db, "tom").departments[editor.details.department.id] == frozenset()  # type: ignore[union-attr]
        window.close()
        main.close()

    run(loop, scenario())
    sam.close()


def test_a_departments_tickets_are_moved_before_it_is_deleted(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = db_of(ctx)
    sales = staff.save_department(db, ctx.agent, None, DepartmentForm("Sales"))
    ticket = tickets.open_ticket(db, ctx.agent, subject="Quote", body="Please.", requester_email="a@example.com",
                                 department_id=sales.id)  # fmt: skip

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Departments")
        departments = window.sections["Departments"]
        editor = departments.editor
        assert isinstance(editor, DepartmentEditor)
        await until(lambda: departments.loaded_form is not None)
        choose(departments, "Sales")
        await shows(departments, "Sales")
        assert editor.move_to.isVisible()
        support = next(d.id for d in ctx.choices.departments if d.name == "Support")
        editor.move_tickets(sales.id, support)
        await until(lambda: editor.details is not None and editor.details.tickets == 0, what="the tickets moved")
        assert not editor.move_to.isVisible()
        assert tickets.get_ticket(db, ctx.agent, ticket.id).department.id != sales.id
        listed: list[bool] = []
        departments.listed.connect(lambda: listed.append(True))
        departments.delete(sales.id)
        await until(lambda: listed, what="the list again, after the delete")  # the delete's whole work is done
        assert "Sales" not in [departments.list.item(r).text() for r in range(departments.list.count())]
        window.close()

    run(loop, scenario())


def test_the_audit_log_exports_every_page_as_csv_for_excel(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    db = db_of(ctx)
    for n in range(audit.PAGE + 5):  # more than a page
        staff.save_team(db, ctx.agent, None, TeamForm(f"Shift «{n}»"))
    target = tmp_path / "audit.csv"

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Audit log")
        log = window.audit
        await until(lambda: log.table.rowCount() > 0, what="the changes")
        written: list[int] = []
        log.exported.connect(written.append)
        log.export(str(target))
        await until(lambda: written, what="the export", timeout=60)
        assert written == [audit.PAGE + 5]
        window.close()

    run(loop, scenario())
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 by its byte-order mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][1:3] == ["Who", "Did"] and len(rows) == audit.PAGE + 6
    assert [row[3] for row in rows[1:]] == [f"team Shift «{n}»" for n in reversed(range(audit.PAGE + 5))]


def test_the_sign_ins_export_to_excel_keeps_a_typed_formula_as_text(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    """Anyone can type a formula as a user name at the sign-in: exported, it stays text."""
    attack = '=HYPERLINK("http://evil.example","Click")'
    with pytest.raises(DeskError):
        accounts.authenticate_agent(db_of(ctx), attack, "wrong password")
    target = tmp_path / "sign-ins.xlsx"

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Audit log")
        log = window.audit
        log.kind.setCurrentIndex(log.kind.findText("Sign-ins"))
        await until(lambda: log.table.rowCount() > 0, what="the sign-ins")
        written: list[int] = []
        log.exported.connect(written.append)
        log.export(str(target))
        await until(lambda: written, what="the export", timeout=60)
        assert written == [log.table.rowCount()]
        window.close()

    run(loop, scenario())
    book = openpyxl.load_workbook(target)
    rows = list(book.worksheets[0].iter_rows())
    assert [cell.value for cell in rows[0]][:3] == ["When", "Who", "Did"]
    attempt = next(row for row in rows[1:] if row[1].value == attack.lower())  # user names are kept lower-case
    assert attempt[1].data_type == "s" and attempt[1].quotePrefix  # text, and Excel keeps it text
    assert attempt[2].value == "refused: no such account"
    book.close()


def test_a_mail_template_is_previewed_on_a_real_ticket_and_saved(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = ctx.services.db  # type: ignore[attr-defined]

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        templates, editor = section_of(window, "Mail templates", TemplateEditor)
        await until(lambda: templates.list.count() == len(TEMPLATES), what="the templates")
        choose(templates, "Auto-response")
        await shows(templates, "Auto-response")
        await until(lambda: editor.preview.toPlainText().startswith("Subject: We received"), what="the preview")
        newest = editor.preview_note.text()
        assert newest.startswith("As ticket #")
        editor.subject.setText("Thanks: %{ticket.subject}")
        editor.variables.setCurrentIndex(editor.variables.findText("%{requester.email}"))
        editor.variables.activated.emit(editor.variables.currentIndex())
        assert "%{requester.email}" in editor.body.toPlainText()
        await until(lambda: editor.preview.toPlainText().startswith("Subject: Thanks: "), what="the preview again")
        assert "%{" not in editor.preview.toPlainText()
        editor.body.setPlainText("Dear %{requester.nmae}")
        templates.save_button.click()
        await until(lambda: editor.errors["body"].isVisible(), what="the refusal")
        assert "%{requester.nmae}" in editor.errors["body"].text()
        editor.body.setPlainText("Dear %{requester.name}, we have your request.")
        templates.save_button.click()
        await until(lambda: not templates.is_dirty(), what="saved")
        saved = next(t for t in notifications.mail_templates(db, ctx.agent) if t.kind == "auto_response")
        assert (saved.subject, saved.body) == (
            "Thanks: %{ticket.subject}",
            "Dear %{requester.name}, we have your request.",
        )
        assert editor.summary.text().endswith("Changed here.") and editor.restore.isEnabled()
        editor.restore.click()
        assert editor.subject.text() == TEMPLATES["auto_response"][0] and templates.save_button.isEnabled()
        shown: list[bool] = []
        editor.previewed.connect(lambda: shown.append(True))
        templates.revert()
        await until(lambda: shown, what="the reverted text previewed")  # nothing left to do when the window closes
        window.close()

    run(loop, scenario())


def test_notifications_are_switched_off_for_one_department(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    db = ctx.services.db  # type: ignore[attr-defined]

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        places, editor = section_of(window, "Notifications", NotificationEditor)
        await until(lambda: places.list.count() > 1, what="the places")
        assert places.list.item(0).text() == "Everywhere"
        choose(places, "Department: Billing")
        await shows(places, "Department: Billing")
        box = editor.choices["alert.new_ticket"]
        assert box.currentText() == "As everywhere"
        box.setCurrentIndex(box.findText("Off"))
        places.save_button.click()
        await until(lambda: not places.is_dirty(), what="saved")
        billing = next(p for p in notifications.notification_switches(db, ctx.agent) if p.name == "Billing")
        assert billing.switches == {"alert.new_ticket": False}
        window.close()

    run(loop, scenario())


def test_an_end_users_latest_tickets_are_listed_and_open_in_the_agent_window(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = ctx.services.db  # type: ignore[attr-defined]

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        users, editor = section_of(window, "End users", UserEditor)
        users.search.setText("nora.novak")
        await until(lambda: users.list.count() == 1 and editor.heading.text() == "Nora Novak", what="Nora")
        nora = people.list_users(db, ctx.agent, "nora.novak").rows[0]
        theirs = reference.requester_tickets(db, ctx.agent, nora.id, limit=20)
        assert theirs, "the demo gives Nora tickets"
        await until(lambda: editor.tickets.count() == len(theirs), what="her tickets")
        assert editor.tickets.item(0).text().startswith(f"{theirs[0].number} · {theirs[0].status}")
        requested: list[int] = []
        window.ticket_requested.connect(requested.append)
        editor.tickets.setCurrentRow(0)
        editor.tickets.itemActivated.emit(editor.tickets.item(0))
        assert requested == [theirs[0].id]
        window.close()

    run(loop, scenario())
