"""File → API tokens: an agent sees their tokens, makes one (its secret shown once, copied) and revokes one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QMessageBox, QPushButton

from desk.domain.errors import DeskError, PermissionDenied
from desk.domain.permissions import SystemActor
from desk.services import accounts, api_tokens
from desk.storage.db import Database
from desk.ui.api_tokens import ApiTokensDialog, NewTokenDialog
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.ui.conftest import make_context, run, until


def cells(dialog: ApiTokensDialog) -> list[list[str]]:
    table = dialog.table
    return [
        [item.text() if (item := table.item(r, c)) else "" for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def answer(box: QMessageBox | None, text: str) -> None:
    assert box is not None and box.isVisible()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    assert isinstance(button, QPushButton)
    button.click()


async def opened(ctx: Context, qtbot: QtBot) -> ApiTokensDialog:
    dialog = ApiTokensDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    await dialog.load()
    return dialog


def test_without_tokens_it_says_what_they_are_for(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        dialog = await opened(ctx, qtbot)
        assert dialog.pages.currentWidget() is dialog.empty and dialog.empty.isVisible()
        assert dialog.empty.text().startswith("You have no API tokens yet.")
        shown = " ".join(w.text() for w in dialog.findChildren(type(dialog.empty)) if w.isVisible())
        assert "Integrations use API tokens to call Desk's JSON API at /api/v1 with your permissions." in shown
        assert not dialog.secret_panel.isVisible() and not dialog.revoke_button.isEnabled()

    run(loop, scenario())


def test_a_new_tokens_secret_is_shown_once_and_copied(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        dialog = await opened(ctx, qtbot)
        dialog.new_button.click()
        ask = dialog.findChild(NewTokenDialog)
        assert ask is not None and ask.isVisible() and not ask.create_button.isEnabled()
        QTest.keyClicks(ask.name, "  CRM sync ")
        assert ask.create_button.isEnabled()
        ask.create_button.click()
        await until(lambda: dialog.tokens, what="the new token in the list")
        assert dialog.secret_panel.isVisible()
        secret = dialog.secret.text()
        assert secret.startswith("desk_") and dialog.secret.isReadOnly()
        assert "Copy the new token “CRM sync” now: it will not be shown again." in dialog.secret_warning.text()
        assert f"Authorization: Bearer {secret[:12]}…" in dialog.usage.text()
        assert cells(dialog) == [["CRM sync", f"{secret[:12]}…", cells(dialog)[0][2], "Never", "Active"]]
        assert dialog.selected_id() == dialog.tokens[0].id and dialog.revoke_button.isEnabled()
        assert api_tokens.token_agent(demo_db, secret).id == ctx.agent.id  # the secret works for the API

        dialog.copy_button.click()
        clipboard = QGuiApplication.clipboard()
        try:
            assert clipboard.text() == secret and dialog.copy_button.text() == "Copied"
        finally:
            clipboard.clear()  # a QMimeData left on the clipboard crashes the interpreter at exit

        dialog.close()
        assert dialog.secret.text() == "" and secret not in dialog.usage.text()
        again = await opened(ctx, qtbot)
        assert not again.secret_panel.isVisible() and len(again.tokens) == 1  # never shown again

    run(loop, scenario())


def test_revoking_asks_first(ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    crm = api_tokens.create_token(demo_db, ctx.agent, name="CRM sync")
    api_tokens.create_token(demo_db, ctx.agent, name="Nightly export")

    async def scenario() -> None:
        dialog = await opened(ctx, qtbot)
        assert [row[0] for row in cells(dialog)] == ["CRM sync", "Nightly export"]
        dialog.table.selectRow(0)
        dialog.revoke_button.click()
        box = dialog.confirmation
        assert box is not None and "Revoke the token “CRM sync”" in box.text()
        answer(box, "Cancel")
        await until(lambda: dialog.confirmation is None, what="the question to close")
        assert api_tokens.token_agent(demo_db, crm.secret)  # still valid

        dialog.revoke_button.click()
        answer(dialog.confirmation, "Revoke")
        await until(lambda: cells(dialog)[-1][4] == "Revoked", what="the token shown revoked")
        assert [row[0] for row in cells(dialog)] == ["Nightly export", "CRM sync"]  # revoked ones last
        assert dialog.selected_id() == crm.token.id and not dialog.revoke_button.isEnabled()
        with pytest.raises(PermissionDenied):
            api_tokens.token_agent(demo_db, crm.secret)

    run(loop, scenario())


def test_errors_are_said_in_the_dialog(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(message: str) -> Callable[..., None]:
        def service(*_args: object, **_kwargs: object) -> None:
            raise DeskError(message)

        return service

    monkeypatch.setattr(api_tokens, "list_tokens", refuse("The database server is unreachable."))
    monkeypatch.setattr(api_tokens, "create_token", refuse("Only administrators handle other agents' API tokens."))

    async def scenario() -> None:
        dialog = await opened(ctx, qtbot)
        assert dialog.message.isVisible() and dialog.message.text() == "The database server is unreachable."
        assert dialog.empty.text() == "Your API tokens could not be loaded."
        dialog.make_token("CRM sync")
        await until(lambda: "administrators" in dialog.message.text(), what="the error")
        assert dialog.message.isVisible() and dialog.new_button.isEnabled() and not dialog.secret_panel.isVisible()

    run(loop, scenario())


def test_the_file_menu_opens_the_agents_own_tokens(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    admin = accounts.agent_by_username(demo_db, "admin")
    john = make_context(demo_db, "john")
    api_tokens.create_token(demo_db, admin, name="Admin's CRM")
    api_tokens.create_token(demo_db, SystemActor(), name="John's bot", agent_id=john.agent.id)

    async def scenario() -> None:
        window = MainWindow(john)
        qtbot.addWidget(window)
        file_menu = window.menuBar().actions()[0].menu()
        assert isinstance(file_menu, QMenu) and window.api_tokens_action in file_menu.actions()
        window.api_tokens_action.trigger()
        dialog = window.findChild(ApiTokensDialog)
        assert dialog is not None
        await until(lambda: dialog.tokens, what="john's tokens")
        assert [row[0] for row in cells(dialog)] == ["John's bot"]
        dialog.close()
        window.close()

    run(loop, scenario())
    john.close()
