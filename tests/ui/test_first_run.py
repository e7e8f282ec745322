"""A help desk set up from the window alone: a new file, its first administrator, a department and an agent given
access to it; then that agent signs in and works a ticket there."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtWidgets import QApplication

from desk.domain.queues import Criteria
from desk.services import queues, tickets
from desk.ui import startup
from desk.ui.admin.editors import AgentEditor, DepartmentEditor
from desk.ui.connect import ConnectionDialog
from desk.ui.first_run import FirstAdministratorDialog
from desk.ui.login import LoginDialog
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.ui.conftest import run, until


def shown(kind: type[Any]) -> Any:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)


async def signed_in(task: asyncio.Task[Context | None]) -> Context:
    context = await task
    assert context is not None
    return context


def test_an_administrator_sets_up_a_new_help_desk_from_the_window(
    tmp_path: Path, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    path = tmp_path / "help desk" / "desk.db"

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
        admin.sidebar.setCurrentRow(3)
        departments = admin.sections["Departments"]
        await until(lambda: departments.loaded_form is not None, what="Support")
        departments.new_button.click()
        editor = departments.editor
        assert isinstance(editor, DepartmentEditor)
        await until(lambda: editor.heading.text() == "New department")
        editor.name.setText("Online Banking")
        assert await departments.store()
        admin.sidebar.setCurrentRow(0)
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
        banking = next(d.id for d in john.choices.departments if d.name == "Online Banking")
        ticket = await john.call(tickets.open_ticket, subject="Card blocked", body="My card is blocked.",
                                 requester_email="alice@example.com", department_id=banking)  # fmt: skip
        assert ticket.department.name == "Online Banking"
        page = await john.call(queues.queue_page, Criteria())
        assert [row.id for row in page.rows] == [ticket.id]
        john.close()

    run(loop, scenario(), timeout=120)
