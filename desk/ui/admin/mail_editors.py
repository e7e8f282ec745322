"""The Administration window's mailboxes: where mail is fetched from and sent through, with "Test connection"
(desk.services.mailboxes; the servers are tried by the Desk server, or by this Desk for a file of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shiboken6 import isValid

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

from desk.domain.enums import SenderCheck
from desk.domain.errors import DeskError
from desk.domain.oauth import PROVIDERS
from desk.domain.staff import StaffChoices
from desk.services import mailboxes
from desk.services.mailboxes import MailboxDetails, MailboxForm
from desk.ui import theme
from desk.ui.admin.editors import StaffEditor, line_edit
from desk.ui.admin.fields import RefChoice
from desk.ui.admin.oauth_sign_in import BrowserReturn, sign_in_in_browser
from desk.ui.admin.section import Row
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label

SECURITY = (("TLS", "tls"), ("STARTTLS", "starttls"), ("None (only on a trusted network)", "none"))
AFTER_FETCH = (("Mark it read", "seen"), ("Move it to a folder", "move"), ("Delete it", "delete"))
SENDER_CHECKS = {
    SenderCheck.REQUIRED: "Only mail the receiving server vouches for (its Authentication-Results)",
    SenderCheck.TRUSTED_RELAY: "Trust the From header (only behind a relay that checks senders)",
}
STORED = "stored: type a new one to replace it"


@dataclass(frozen=True)
class MailboxEdit:
    """The editor's form: the mailbox, and the passwords typed (None: keep the stored one)."""

    form: MailboxForm
    imap_password: str | None
    smtp_password: str | None
    oauth_client_secret: str | None = None


def _choice(pairs: Sequence[tuple[str, object]]) -> QComboBox:
    box = QComboBox()
    for text, value in pairs:
        box.addItem(text, value)
    return box


def _port() -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, 65535)
    spin.setSpecialValueText("The usual")
    return spin


def _password() -> QLineEdit:
    return QLineEdit(echoMode=QLineEdit.EchoMode.Password)


class MailboxEditor(StaffEditor):
    noun = "mailbox"
    deletable = False  # its mail stays in the threads: switch it off instead

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: MailboxDetails | None = None
        self.name = self.field("name", "Name:", line_edit(120))
        self.address = self.field("address", "Address:", line_edit(254))
        self.department = self.field("department_id", "New tickets go to:", RefChoice("The default department"))
        self.topic = self.field("topic_id", "With the help topic:", RefChoice("None"))
        self.active = self.field("active", "", QCheckBox("Active: fetched and sent through"))
        self.layout_.addRow(label("Signing in", "section"))
        providers = [("Passwords (below)", ""), *((p.title, p.key) for p in PROVIDERS.values())]
        self.oauth_provider = self.field("oauth_provider", "Sign in with:", _choice(providers))
        self.oauth_client_id = self.field("oauth_client_id", "Application (client) id:", line_edit(255))
        self.oauth_client_id.setPlaceholderText("as registered with the provider for Desk")
        self.oauth_issuer = self.field("oauth_issuer", "Tenant:", line_edit(255))
        self.oauth_client_secret = self.field("oauth_client_secret", "Client secret:", _password())
        self.oauth_client_secret.setPlaceholderText("only if the provider gave one for Desk")
        self.oauth_button = QPushButton("Sign in in the browser…")
        self.oauth_button.clicked.connect(self.sign_in)
        self.oauth_state = label("", "muted", wrap=True)
        sign_in = QHBoxLayout()
        sign_in.setContentsMargins(0, 0, 0, 0)
        sign_in.addWidget(self.oauth_button)
        sign_in.addWidget(self.oauth_state, 1)
        self.oauth_row = QWidget()
        self.oauth_row.setLayout(sign_in)
        self.layout_.addRow("", self.oauth_row)
        self.listener: BrowserReturn | None = None
        self.layout_.addRow(label("Incoming mail (IMAP)", "section"))
        self.imap_host = self.field("imap_host", "Server:", line_edit(254))
        self.imap_port = self.field("imap_port", "Port:", _port())
        self.imap_security = self.field("security", "Security:", _choice(SECURITY))
        self.imap_user = self.field("imap_user", "User name:", line_edit(254))
        self.imap_password = self.field("imap_password", "Password:", _password())
        self.folder = self.field("folder", "Folder:", line_edit(254))
        self.after_fetch = self.field("after_fetch", "After fetching:", _choice(AFTER_FETCH))
        self.move_to = self.field("move_to", "Move to:", line_edit(254))
        self.layout_.addRow(label("Outgoing mail (SMTP)", "section"))
        self.smtp_host = self.field("smtp_host", "Server:", line_edit(254))
        self.smtp_port = self.field("smtp_port", "Port:", _port())
        self.smtp_security = _choice(SECURITY)
        self.layout_.addRow("Security:", self.smtp_security)
        self.smtp_user = self.field("smtp_user", "User name:", line_edit(254))
        self.smtp_password = self.field("smtp_password", "Password:", _password())
        self.layout_.addRow(label("Who wrote it", "section"))
        self.sender_check = self.field(
            "sender_check", "Believe the sender:", _choice(list(map(_swap, SENDER_CHECKS.items())))
        )
        self.auth_server = self.field("auth_server", "Receiving server:", line_edit(255))
        self.auth_server.setPlaceholderText("as its Authentication-Results headers begin, e.g. mx.example.com")
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test)
        self.imap_result = label("", wrap=True)
        self.smtp_result = label("", wrap=True)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addStretch(1)
        tests = QWidget()
        tests.setLayout(row)
        self.layout_.addRow("", tests)
        self.layout_.addRow("", self.imap_result)
        self.layout_.addRow("", self.smtp_result)
        for edit in (self.name, self.address, self.imap_host, self.imap_user, self.imap_password, self.folder,
                     self.move_to, self.smtp_host, self.smtp_user, self.smtp_password, self.auth_server,
                     self.oauth_client_id, self.oauth_issuer, self.oauth_client_secret):  # fmt: skip
            edit.textChanged.connect(self.edited)
        for box in (self.department, self.topic, self.imap_security, self.after_fetch, self.smtp_security,
                    self.sender_check, self.oauth_provider):  # fmt: skip
            box.currentIndexChanged.connect(self.edited)
        self.oauth_provider.currentIndexChanged.connect(self._provider_chosen)
        for spin in (self.imap_port, self.smtp_port):
            spin.valueChanged.connect(self.edited)
        self.active.toggled.connect(self.edited)
        self.after_fetch.currentIndexChanged.connect(
            lambda: self.move_to.setEnabled(self.after_fetch.currentData() == "move")
        )

    def set_choices(self, choices: StaffChoices) -> None:
        self.department.set_refs(choices.departments)
        self.topic.set_refs(choices.topics)

    async def rows(self, text: str) -> Sequence[Row]:
        needle = text.strip().casefold()
        return [Row(r.id, r.name) for r in await self.ctx.call(mailboxes.mailbox_names) if needle in r.name.casefold()]

    async def fetch(self, row_id: int) -> MailboxDetails:
        return await self.ctx.call(mailboxes.get_mailbox_details, row_id)

    async def store(self, row_id: int | None, edit: MailboxEdit) -> MailboxDetails:
        saved = await self.ctx.call(
            mailboxes.save_mailbox,
            row_id,
            edit.form,
            imap_password=edit.imap_password,
            smtp_password=edit.smtp_password,
            oauth_client_secret=edit.oauth_client_secret,
        )
        self.imap_password.clear()
        self.smtp_password.clear()
        self.oauth_client_secret.clear()
        self.structure_changed.emit()  # departments offer it to send from
        return saved

    def show_details(self, details: MailboxDetails | None) -> None:
        self.details = details
        form = details.form if details else MailboxForm(name="", address="", imap_security="tls")
        self.heading.setText(form.name or "New mailbox")
        self.summary.setText(_mailbox_summary(details))
        for edit, value in ((self.name, form.name), (self.address, form.address), (self.imap_host, form.imap_host),
                            (self.imap_user, form.imap_user), (self.folder, form.folder), (self.move_to, form.move_to),
                            (self.smtp_host, form.smtp_host), (self.smtp_user, form.smtp_user),
                            (self.auth_server, form.auth_server), (self.oauth_client_id, form.oauth_client_id),
                            (self.oauth_issuer, form.oauth_issuer)):  # fmt: skip
            edit.setText(value or "")
        self.oauth_provider.setCurrentIndex(max(self.oauth_provider.findData(form.oauth_provider or ""), 0))
        self.oauth_client_secret.clear()
        self.department.set_value(form.department_id)
        self.topic.set_value(form.topic_id)
        self.active.setChecked(form.active)
        self.imap_port.setValue(form.imap_port or 0)
        self.smtp_port.setValue(form.smtp_port or 0)
        for box, value in ((self.imap_security, form.imap_security), (self.smtp_security, form.smtp_security),
                           (self.after_fetch, form.after_fetch), (self.sender_check, form.sender_check)):  # fmt: skip
            box.setCurrentIndex(max(box.findData(value), 0))
        self.move_to.setEnabled(form.after_fetch == "move")
        for edit, stored in ((self.imap_password, details and details.imap_password_set),
                             (self.smtp_password, details and details.smtp_password_set)):  # fmt: skip
            edit.clear()
            edit.setPlaceholderText(STORED if stored else "")
        self.imap_result.setText("")
        self.smtp_result.setText("")
        self._provider_chosen()

    def _provider_chosen(self) -> None:
        """Show what the chosen way of signing in needs: a provider's fields, or the passwords."""
        provider = PROVIDERS.get(str(self.oauth_provider.currentData() or ""))
        for widget in (self.oauth_client_id, self.oauth_client_secret, self.oauth_row):
            self.layout_.setRowVisible(widget, provider is not None)
        self.layout_.setRowVisible(self.oauth_issuer, provider is not None and bool(provider.issuer_hint))
        for widget in (self.imap_password, self.smtp_password):
            self.layout_.setRowVisible(widget, provider is None)
        if provider is None:
            return
        issuer_label = self.layout_.labelForField(self.oauth_issuer)
        if isinstance(issuer_label, QLabel):
            issuer_label.setText("Tenant:" if provider.key == "microsoft" else "Provider address:")
        self.oauth_issuer.setPlaceholderText(provider.issuer_hint)
        presets = ((self.imap_host, self.imap_port, self.imap_security, provider.imap),
                   (self.smtp_host, self.smtp_port, self.smtp_security, provider.smtp))  # fmt: skip
        for host, port, security, preset in presets:
            if preset is not None and not host.text().strip():
                host.setText(preset[0])
                port.setValue(preset[1])
                security.setCurrentIndex(max(security.findData(preset[2]), 0))
        saved = self.details.form if self.details else None
        signed_in = self.details is not None and self.details.oauth_signed_in
        typed = (provider.key, self.oauth_client_id.text().strip() or None, self.oauth_issuer.text().strip() or None)
        same = saved is not None and (saved.oauth_provider, saved.oauth_client_id, saved.oauth_issuer) == typed
        self.oauth_button.setEnabled(same and self.listener is None)
        if not same:
            self.oauth_state.setText("Save first, then sign in.")
        else:
            self.oauth_state.setText(f"Signed in: Desk fetches and sends with {provider.title}." if signed_in
                                     else "Not signed in yet: sign in as the mailbox's account.")  # fmt: skip

    @async_slot
    async def sign_in(self) -> None:
        if self.listener is not None:  # the button reads Cancel while the browser is out
            self.listener.cancel()
            return
        if self.details is None:
            return
        mailbox_id = self.details.id
        self.listener = BrowserReturn()
        self.oauth_button.setText("Cancel")
        self.oauth_state.setText("Sign in in the browser window Desk opened…")
        try:
            await sign_in_in_browser(self.ctx, mailbox_id, self.listener)
            details = await self.ctx.call(mailboxes.get_mailbox_details, mailbox_id)
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        finally:
            if isValid(self):
                self.listener = None
                self.oauth_button.setText("Sign in in the browser…")
                self._provider_chosen()
        if isValid(self) and self.details is not None and self.details.id == mailbox_id:
            self.details = details
            self.summary.setText(_mailbox_summary(details))
            self._provider_chosen()

    def form(self) -> MailboxEdit:
        form = MailboxForm(
            name=self.name.text(),
            address=self.address.text(),
            department_id=self.department.value(),
            topic_id=self.topic.value(),
            imap_host=self.imap_host.text().strip() or None,
            imap_port=self.imap_port.value() or None,
            imap_security=str(self.imap_security.currentData()),
            imap_user=self.imap_user.text().strip() or None,
            folder=self.folder.text().strip() or "INBOX",
            after_fetch=str(self.after_fetch.currentData()),
            move_to=self.move_to.text().strip() or None,
            smtp_host=self.smtp_host.text().strip() or None,
            smtp_port=self.smtp_port.value() or None,
            smtp_security=str(self.smtp_security.currentData()),
            smtp_user=self.smtp_user.text().strip() or None,
            sender_check=SenderCheck(self.sender_check.currentData()),
            auth_server=self.auth_server.text().strip() or None,
            active=self.active.isChecked(),
            oauth_provider=str(self.oauth_provider.currentData() or "") or None,
            oauth_client_id=self.oauth_client_id.text().strip() or None,
            oauth_issuer=self.oauth_issuer.text().strip() or None,
        )
        return MailboxEdit(
            form,
            self.imap_password.text() or None,
            self.smtp_password.text() or None,
            self.oauth_client_secret.text() or None,
        )

    @async_slot
    async def test(self) -> None:
        edit = self.form()
        self.test_button.setEnabled(False)
        self.test_button.setText("Testing…")
        try:
            tried = await self.ctx.call(
                mailboxes.try_mailbox,
                edit.form,
                mailbox_id=self.details.id if self.details else None,
                imap_password=edit.imap_password,
                smtp_password=edit.smtp_password,
            )
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        finally:
            if isValid(self):
                self.test_button.setEnabled(True)
                self.test_button.setText("Test connection")
        if not isValid(self):
            return
        for result, said, ok in (
            (self.imap_result, tried.imap, tried.imap_ok),
            (self.smtp_result, tried.smtp, tried.smtp_ok),
        ):
            result.setText(("✓ " if ok else "✗ ") + said if said else "")
            result.setStyleSheet(f"color: {theme.hex_of('success' if ok else 'danger')};")


def _swap(pair: tuple[SenderCheck, str]) -> tuple[str, object]:
    return pair[1], pair[0]


def _mailbox_summary(details: MailboxDetails | None) -> str:
    if details is None:
        return "A support address: its mail becomes tickets, and replies are sent from it."
    if details.failures:
        return f"Fetching failed {details.failures} time(s) in a row: {details.last_error or 'no reason given'}"
    if details.last_success_at:
        return f"Fetched {when(details.last_success_at)}."
    return "Not fetched yet (a worker fetches it)."
