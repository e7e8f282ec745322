"""A help desk set up from the window alone: a new file, its first administrator, a department, an SLA plan, a
nested help topic, a mailbox tried against real IMAP and SMTP servers, and an agent given access; then that agent
signs in and works a ticket there."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtWidgets import QApplication

from desk.domain.queues import Criteria
from desk.services import queues, tickets
from desk.ui import startup
from desk.ui.admin.editors import AgentEditor, DepartmentEditor
from desk.ui.admin.mail_editors import MailboxEditor
from desk.ui.admin.ticket_editors import SlaEditor, TopicEditor
from desk.ui.connect import ConnectionDialog
from desk.ui.first_run import FirstAdministratorDialog
from desk.ui.login import LoginDialog
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.mail.dovecot import ImapServer, free_ports
from tests.mail.smtp import PASSWORD as SMTP_PASSWORD
from tests.mail.smtp import USER as SMTP_USER
from tests.mail.smtp import start_mailer
from tests.ui.conftest import run, until


def shown(kind: type[Any]) -> Any:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)


async def signed_in(task: asyncio.Task[Context | None]) -> Context:
    context = await task
    assert context is not None
    return context


def test_an_administrator_sets_up_a_new_help_desk_from_the_window(
    tmp_path: Path, loop: qasync.QEventLoop, qtbot: QtBot, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "help desk" / "desk.db"
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cafile))  # the test servers' authority, trusted as a system's
    (smtp_port,) = free_ports(1)
    _mailer, smtp = start_mailer(imap_server, smtp_port, {})
    imap_user, imap_password = next(iter(imap_server.users.items()))

    async def scenario() -> None:
        starting = asyncio.ensure_future(startup.sign_in())
        connection: ConnectionDialog = await until(lambda: shown(ConnectionDialog), what="the connection dialog")
        connection.file.click()
        connection.path.setText(str(path))
        connection.connect_button.click()
        first: FirstAdministratorDialog = await until(lambda: shown(FirstAdministratorDialog), what="set-up")
        assert "code" not in first.errors  # a file of one's own has no set-up code
        for name, text in {"name": "Ada Lindqvist", "username": "ada", "email": "ada@example.com",
                           "password": "ada-password", "repeat": "ada-passwort"}.items():  # fmt: skip
            first.fields[name].setText(text)
        first.create_button.click()
        await until(lambda: first.errors["repeat"].isVisible(), what="the passwords differ")
        first.fields["repeat"].setText("ada-password")
        first.create_button.click()
        ada = await signed_in(starting)
        assert ada.agent.is_admin and ada.agent.name == "Ada Lindqvist"
        window = MainWindow(ada)
        qtbot.addWidget(window)
        window.show()
        await window.start()

        admin = window.show_administration()
        await until(lambda: admin.sections["Agents"].loaded_form is not None, what="the agents")
        admin.choose("Departments")
        departments = admin.sections["Departments"]
        await until(lambda: departments.loaded_form is not None, what="Support")
        departments.new_button.click()
        editor = departments.editor
        assert isinstance(editor, DepartmentEditor)
        await until(lambda: editor.heading.text() == "New department")
        editor.name.setText("Online Banking")
        assert await departments.store()
        admin.choose("SLA plans")
        plans = admin.sections["SLA plans"]
        await until(lambda: plans.loaded_form is not None, what="the Default plan")
        plans.new_button.click()
        plan_editor = plans.editor
        assert isinstance(plan_editor, SlaEditor)
        await until(lambda: plan_editor.heading.text() == "New SLA plan")
        plan_editor.name.setText("Sev-A")
        plan_editor.first_response.setValue(1)
        plan_editor.resolution.setValue(4)
        assert plan_editor.schedule.currentText().startswith("Around the clock")
        assert await plans.store()
        admin.choose("Help topics")
        topics = admin.sections["Help topics"]
        topic_editor = topics.editor
        assert isinstance(topic_editor, TopicEditor)
        await until(lambda: topic_editor.isEnabled() or topics.list.count() == 0, what="the topics")
        for name, below, department in (
            ("Report a Problem", "The top level", "Support"),
            ("Business Critical Outage", "Report a Problem", "Online Banking"),
        ):
            topics.new_button.click()
            await until(lambda: topic_editor.heading.text() == "New help topic")
            topic_editor.name.setText(name)
            topic_editor.parent_topic.setCurrentText(below)
            topic_editor.department.setCurrentText(department)
            if department == "Online Banking":
                topic_editor.sla.setCurrentText("Sev-A")
            assert await topics.store()
        assert topic_editor.heading.text() == "Report a Problem / Business Critical Outage"
        admin.choose("Mailboxes")
        boxes = admin.sections["Mailboxes"]
        mailbox = boxes.editor
        assert isinstance(mailbox, MailboxEditor)
        await until(lambda: boxes.nothing.isVisible(), what="no mailbox yet")
        boxes.new_button.click()
        await until(lambda: mailbox.heading.text() == "New mailbox")
        typed = {
            mailbox.name: "Online Banking",
            mailbox.address: "banking@example.com",
            mailbox.imap_host: "127.0.0.1",
            mailbox.imap_user: imap_user,
            mailbox.imap_password: imap_password,
            mailbox.smtp_host: "127.0.0.1",
            mailbox.smtp_user: SMTP_USER,
            mailbox.smtp_password: SMTP_PASSWORD,
            mailbox.auth_server: "mx.example.com",
        }
        for edit, text in typed.items():
            edit.setText(text)
        mailbox.imap_port.setValue(imap_server.tls_port)
        mailbox.smtp_port.setValue(smtp_port)
        mailbox.department.setCurrentText("Online Banking")
        mailbox.test_button.click()
        await until(lambda: mailbox.imap_result.text() and mailbox.smtp_result.text(), what="the test", timeout=30)
        assert mailbox.imap_result.text().startswith("✓ IMAP: logged in to 127.0.0.1"), mailbox.imap_result.text()
        assert mailbox.smtp_result.text().startswith("✓ SMTP: connected to 127.0.0.1"), mailbox.smtp_result.text()
        assert await boxes.store()
        assert mailbox.imap_password.text() == "" and mailbox.imap_password.placeholderText().startswith("stored")
        admin.choose("Agents")
        agents = admin.sections["Agents"]
        agents.new_button.click()
        agent_editor = agents.editor
        assert isinstance(agent_editor, AgentEditor)
        await until(lambda: agent_editor.heading.text() == "New agent" and len(agent_editor.access) == 2)
        agent_editor.username.setText("john")
        agent_editor.name.setText("John Carter")
        agent_editor.email.setText("john@example.com")
        agent_editor.password.setText("john-password")
        for box in agent_editor.access.values():
            box.setCurrentIndex(box.findText("Limited access"))
        assert await agents.store()
        admin.close()
        window.close()
        ada.close()

        again = asyncio.ensure_future(startup.sign_in())  # the file is remembered: Desk asks who signs in
        login: LoginDialog = await until(lambda: shown(LoginDialog), what="the sign-in")
        login.username.setText("john")
        login.password.setText("john-password")
        login.sign_in_button.click()
        john = await signed_in(again)
        outage = next(t.id for t in john.choices.topics if t.name == "Report a Problem / Business Critical Outage")
        ticket = await john.call(tickets.open_ticket, subject="Card payments down", body="No card works.",
                                 requester_email="alice@example.com", topic_id=outage)  # fmt: skip
        assert (ticket.department.name, ticket.sla.name if ticket.sla else None) == ("Online Banking", "Sev-A")
        assert ticket.resolution_due == ticket.created_at + timedelta(hours=4)
        page = await john.call(queues.queue_page, Criteria())
        assert [row.id for row in page.rows] == [ticket.id]
        john.close()

    try:
        run(loop, scenario(), timeout=120)
    finally:
        smtp.stop()
