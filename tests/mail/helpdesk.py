"""The help desk the mail tests and the mail benchmark run: an administrator and the support mailbox on the
private Dovecot (IMAP over TLS) and the aiosmtpd server (STARTTLS + AUTH)."""

from __future__ import annotations

from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.services import accounts, mailboxes
from desk.services.mailboxes import MailboxView
from desk.storage.db import Database
from tests.mail import smtp
from tests.mail.dovecot import ImapServer

SUPPORT = "support@desk.example"


def support_desk(db: Database, imap: ImapServer, imap_user: str, smtp_port: int) -> tuple[AgentActor, MailboxView]:
    admin = accounts.add_agent(
        db, SystemActor(), username="admin", name="Ada Admin", email="ada@desk.example", password="x" * 12,
        rights=(Right.ADMIN,), access={"Support": "All access"},
    )  # fmt: skip
    box = mailboxes.add_mailbox(
        db, admin, name="Desk Support", address=SUPPORT,
        imap_host="127.0.0.1", imap_port=imap.tls_port, imap_security="tls", imap_user=imap_user,
        imap_password=imap.users[imap_user],
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="starttls", smtp_user=smtp.USER,
        smtp_password=smtp.PASSWORD,
    )  # fmt: skip
    return admin, box
