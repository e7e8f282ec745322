"""An administrator signs a mailbox in with OAuth2 from the Administration window: the provider's fields replace
the passwords, a provider's servers fill themselves in, and "Sign in in the browser…" opens the provider's page in
the system browser, which comes back to Desk on this machine. The "browser" here stands in for QDesktopServices.openUrl
and follows the URL as a browser would, against a real OAuth2 provider on loopback."""

from __future__ import annotations

import threading

import httpx2
import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from desk.services import mailboxes
from desk.ui.admin.mail_editors import MailboxEditor
from desk.ui.admin.window import AdministrationWindow
from desk.ui.tasks import Context
from tests.mail.oauth_provider import CLIENT_ID, OAuthProvider, oauth_provider
from tests.ui.conftest import run, until

__all__ = ["oauth_provider"]


class Browser:
    """Opens what Desk asks the system to open, as a browser would: the provider's page, then its redirect."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[str] = []

    def open(self, url: QUrl) -> bool:
        self.opened.append(url.toString())
        threading.Thread(target=lambda: self.pages.append(httpx2.get(url.toString(), follow_redirects=True,
                                                                      trust_env=False).text)).start()  # fmt: skip
        return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    handler = Browser()
    monkeypatch.setattr(QDesktopServices, "openUrl", handler.open)
    return handler


def test_a_mailbox_is_signed_in_with_oauth2_from_the_window(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, oauth_provider: OAuthProvider, browser: Browser
) -> None:
    async def scenario() -> None:
        window = AdministrationWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        window.start()
        window.choose("Mailboxes")
        boxes = window.sections["Mailboxes"]
        editor = boxes.editor
        assert isinstance(editor, MailboxEditor)
        boxes.new_button.click()
        await until(lambda: editor.heading.text() == "New mailbox")
        layout = editor.layout_
        assert layout.isRowVisible(editor.imap_password) and not layout.isRowVisible(editor.oauth_client_id)

        editor.oauth_provider.setCurrentIndex(editor.oauth_provider.findText("Microsoft 365"))
        assert (editor.imap_host.text(), editor.imap_port.value()) == ("outlook.office365.com", 993)
        assert (editor.smtp_host.text(), editor.smtp_port.value()) == ("smtp.office365.com", 587)
        assert not layout.isRowVisible(editor.imap_password) and layout.isRowVisible(editor.oauth_client_id)
        assert layout.labelForField(editor.oauth_issuer).text() == "Tenant:"  # type: ignore[attr-defined]

        editor.oauth_provider.setCurrentIndex(editor.oauth_provider.findText("Other (OpenID provider)"))
        assert layout.labelForField(editor.oauth_issuer).text() == "Provider address:"  # type: ignore[attr-defined]
        for edit, text in ((editor.name, "Cloud support"), (editor.address, "cloud@desk.example"),
                           (editor.imap_host, "127.0.0.1"), (editor.imap_user, "desk"),
                           (editor.oauth_client_id, CLIENT_ID), (editor.oauth_issuer, oauth_provider.url)):  # fmt: skip
            edit.setText(text)
        assert not editor.oauth_button.isEnabled() and editor.oauth_state.text() == "Save first, then sign in."
        assert await boxes.store()
        await until(lambda: editor.oauth_button.isEnabled(), what="the sign-in button")
        assert editor.oauth_state.text().startswith("Not signed in yet")

        editor.oauth_button.click()
        await until(lambda: editor.oauth_state.text().startswith("Signed in"), what="the sign-in", timeout=30)
        assert browser.opened[0].startswith(oauth_provider.url + "/authorize?")
        assert "code_challenge_method=S256" in browser.opened[0]
        await until(lambda: bool(browser.pages), what="the browser's last page")
        assert "Desk has the sign-in" in browser.pages[0]
        assert editor.oauth_button.text() == "Sign in in the browser…"
        assert editor.details is not None
        details = await ctx.call(mailboxes.get_mailbox_details, editor.details.id)
        assert details.oauth_signed_in

    run(loop, scenario())


def test_signing_in_can_be_cancelled(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []  # a browser the administrator closes without signing in
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))

    async def scenario() -> None:
        window = AdministrationWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        window.start()
        window.choose("Mailboxes")
        boxes = window.sections["Mailboxes"]
        editor = boxes.editor
        assert isinstance(editor, MailboxEditor)
        boxes.new_button.click()
        await until(lambda: editor.heading.text() == "New mailbox")
        editor.oauth_provider.setCurrentIndex(editor.oauth_provider.findText("Google Workspace / Gmail"))
        assert not editor.layout_.isRowVisible(editor.oauth_issuer)  # Google needs no tenant
        editor.name.setText("Gmail support")
        editor.address.setText("gmail@desk.example")
        editor.imap_user.setText("gmail@desk.example")
        editor.oauth_client_id.setText("desk.apps.googleusercontent.com")
        assert await boxes.store()
        await until(lambda: editor.oauth_button.isEnabled(), what="the sign-in button")
        failures: list[str] = []
        editor.failed.connect(failures.append)
        editor.oauth_button.click()
        await until(lambda: editor.oauth_button.text() == "Cancel", what="waiting for the browser")
        editor.oauth_button.click()
        await until(lambda: failures == ["Signing in was cancelled."], what="the cancel", timeout=10)
        assert editor.oauth_button.text() == "Sign in in the browser…" and editor.oauth_button.isEnabled()

    run(loop, scenario())
    assert opened and opened[0].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
