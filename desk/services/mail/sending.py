"""The worker's side of the outbox: build each due mail, send it over SMTP, and record the outcome.

A batch is claimed first (put ten minutes ahead), so a worker that took the job over while another still sends
leaves it alone. Each mail is marked sent in its own transaction right after the server accepted it, so a worker
that dies loses at most the outcome of the one mail in flight; once its claim runs out that mail is sent again
with the same Message-ID (mail clients show it once). A temporary failure is retried with growing delays; a
permanent one, or the last retry, marks the mail failed and puts an event on its ticket for the agents to see.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from desk.domain import mailthread
from desk.domain.enums import EventKind, OutboxState
from desk.domain.inputs import one_line
from desk.domain.oauth import xoauth2
from desk.domain.permissions import SystemActor
from desk.services.base import command, now, record_event
from desk.services.mail import oauth
from desk.services.mail.secrets import MissingPassword, reveal
from desk.services.views import attachment_view
from desk.storage.db import Database
from desk.storage.models import Attachment, Blob, Mailbox, OutboxMessage, Ticket

MAX_ATTEMPTS = 8  # 1, 2, 4 … 64 minutes apart: about two hours of trying before a mail is given up
BATCH = 100
CLAIM = timedelta(minutes=10)  # a claimed mail whose worker died is sent again after this


@dataclass(frozen=True)
class SmtpAccount:
    host: str
    port: int
    security: str  # tls | starttls | none
    user: str | None
    password: str | None
    address: str
    name: str
    oauth_mailbox: int | None = None  # signs in with OAuth2: `password` is then the mailbox's access token


@dataclass(frozen=True)
class Outgoing:
    id: int
    account: SmtpAccount
    message: EmailMessage
    recipients: tuple[str, ...]


class SmtpTransport:
    """One SMTP connection per account, kept open across a batch."""

    def __init__(self, *, context: ssl.SSLContext | None = None, timeout: float = 30) -> None:
        self._context = context or ssl.create_default_context()
        self._timeout = timeout
        self._connections: dict[SmtpAccount, smtplib.SMTP] = {}

    def send(self, account: SmtpAccount, message: EmailMessage, recipients: tuple[str, ...]) -> dict[str, str]:
        """Send; the recipients the server refused while accepting the others, with its answer."""
        connection = self.open(account)
        try:
            refused = connection.send_message(message, from_addr=account.address, to_addrs=list(recipients))
        except (smtplib.SMTPServerDisconnected, OSError):
            self._connections.pop(account, None)
            raise
        return {address: f"{code} {answer.decode(errors='replace')}" for address, (code, answer) in refused.items()}

    def open(self, account: SmtpAccount) -> smtplib.SMTP:
        """The account's connection, made (and logged in) when there is none yet."""
        connection = self._connections.get(account)
        if connection is None:
            connection = self._connections[account] = self._connect(account)
        return connection

    def _connect(self, account: SmtpAccount) -> smtplib.SMTP:
        if account.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                account.host, account.port, timeout=self._timeout, context=self._context
            )
        else:
            connection = smtplib.SMTP(account.host, account.port, timeout=self._timeout)
            if account.security == "starttls":
                connection.starttls(context=self._context)
        if account.oauth_mailbox is not None:
            connection.ehlo_or_helo_if_needed()
            user = account.user or account.address
            initial = xoauth2(user, account.password or "")
            connection.auth("XOAUTH2", lambda challenge=None: "" if challenge else initial)
        elif account.user:
            connection.login(account.user, account.password or "")
        return connection

    def close(self) -> None:
        for connection in self._connections.values():
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        self._connections.clear()


# Sends one mail; returns the recipients refused while the others were accepted (address -> the server's answer).
Transport = Callable[[SmtpAccount, EmailMessage, tuple[str, ...]], dict[str, str] | None]


def account_of(mailbox: Mailbox) -> SmtpAccount:
    if not mailbox.smtp_host:
        raise ValueError(f"Mailbox {mailbox.address} has no SMTP server.")
    security = mailbox.smtp_security
    default_port = {"tls": 465, "starttls": 587}.get(security, 25)
    return SmtpAccount(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port or default_port,
        security=security,
        user=mailbox.smtp_user,
        password=None if mailbox.oauth_provider else reveal(mailbox, "smtp"),
        address=mailbox.address,
        name=mailbox.name,
        oauth_mailbox=mailbox.id if mailbox.oauth_provider else None,
    )


def build(session: Session, row: OutboxMessage, mailbox: Mailbox) -> EmailMessage:
    """The mail of an outbox row. Every header made from stored text (names, subjects, addresses, threading ids,
    file names) is made one line first: nothing a user or an integration typed makes a mail unbuildable."""
    message = EmailMessage()
    # Address, not formataddr: formataddr leaves a "(" in a non-ASCII name unquoted, which hides the address.
    username, _, domain = one_line(mailbox.address).rpartition("@")
    message["From"] = Address(one_line(mailbox.name), username, domain)
    message["To"] = ", ".join(one_line(address) for address in row.recipients.get("to", []))
    if row.recipients.get("cc"):
        message["Cc"] = ", ".join(one_line(address) for address in row.recipients["cc"])
    message["Subject"] = one_line(row.subject)
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    if row.in_reply_to:
        message["In-Reply-To"] = one_line(row.in_reply_to)
    if row.reference_ids:
        message["References"] = one_line(row.reference_ids)
    message[mailthread.LOOP_HEADER] = one_line(mailbox.address.rpartition("@")[2])
    if row.kind != "reply":  # a person's reply is not automatic; everything else is, and must not be answered
        message["Auto-Submitted"] = "auto-generated" if row.kind.startswith("alert") else "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    if row.entry_id is not None:
        files = session.execute(
            select(
                Attachment.id,
                Attachment.name,
                Attachment.content_type,
                Attachment.size,
                Attachment.sha256,
                Attachment.content_id,
                Blob.data,
            )
            .join(Blob, Blob.sha256 == Attachment.sha256)
            .where(Attachment.entry_id == row.entry_id)
            .order_by(Attachment.id)
        ).all()
        html_part = message.get_body(("html",)) if row.body_html else None
        for attachment_id, name, content_type, size, sha256, content_id, data in files:
            # Made safe again: names stored before they were made safe on entry.
            attachment = attachment_view(attachment_id, name, content_type, size, sha256, content_id)
            maintype, _, subtype = attachment.content_type.partition("/")
            if html_part is not None and content_id and f"cid:{escape(content_id)}" in (row.body_html or ""):
                # A picture the HTML shows in place: a part of the HTML's multipart/related, by its Content-ID.
                html_part.add_related(
                    data,
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{content_id}>",
                    disposition="inline",
                    filename=attachment.name,
                )
            else:
                message.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.name)
    return message


def _recipients(row: OutboxMessage) -> tuple[str, ...]:
    """The envelope's recipients, each on one line (smtplib refuses a command with a line break)."""
    everyone = [*row.recipients.get("to", []), *row.recipients.get("cc", []), *row.recipients.get("bcc", [])]
    return tuple(dict.fromkeys(one_line(address) for address in everyone))


@command
def _claim(session: Session, limit: int) -> list[int]:
    """Take the mails whose time has come, oldest first: each is put CLAIM ahead, so that a second worker (one
    that took the job over while this one still sends) leaves them alone; the outcome replaces the claim."""
    moment = now()
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == OutboxState.PENDING.value, OutboxMessage.next_attempt_at <= moment)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(next_attempt_at=moment + CLAIM))
    return ids


def due(db: Database, limit: int = BATCH) -> tuple[list[Outgoing], MissingPassword | None]:
    """The mails whose time has come, claimed, built and ready to hand to the transport; and why some wait, when
    their mailbox's password cannot be decrypted here (they stay pending, no attempt counted: the fault is the
    server's, not the mail's, and they go once the key is back, or the password entered again)."""
    ids = _claim(db, limit)
    outgoing, broken, unreadable = [], [], None
    with db.transaction(write=False) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
        for row in rows:
            mailbox = session.get(Mailbox, row.mailbox_id) if row.mailbox_id else None
            if mailbox is None or not mailbox.smtp_host:
                continue  # its mailbox was removed: left pending for an administrator to see in the outbox count
            try:
                account = account_of(mailbox)
            except MissingPassword as error:
                unreadable = error
                continue
            try:
                outgoing.append(Outgoing(row.id, account, build(session, row, mailbox), _recipients(row)))
            except ValueError as error:  # a header a template broke
                broken.append((row.id, f"{type(error).__name__}: {error}"))
    for outbox_id, reason in broken:  # one bad mail never holds up the others
        mark_failed(db, outbox_id, reason, permanent=True)
    return outgoing, unreadable


@command
def mark_sent(session: Session, outbox_id: int, refused: dict[str, str] | None = None) -> None:
    """Sent; recipients the server refused while accepting the others are shown on the ticket."""
    if not refused:  # the usual case, in one statement
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(state=OutboxState.SENT.value, sent_at=now(), attempts=OutboxMessage.attempts + 1, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if row is None:
        return
    row.state, row.sent_at, row.attempts = OutboxState.SENT.value, now(), row.attempts + 1
    row.last_error = "; ".join(f"{address}: {answer}" for address, answer in (refused or {}).items()) or None
    ticket = session.get(Ticket, row.ticket_id) if refused and row.ticket_id else None
    if ticket is not None and row.last_error:
        data = {"subject": row.subject, "to": sorted(refused or {}), "error": row.last_error[:300]}
        record_event(session, SystemActor(), ticket, EventKind.MAIL_FAILED, data)


@command
def mark_failed(session: Session, outbox_id: int, error: str, *, permanent: bool) -> bool:
    """Record a failed attempt; True when the mail is given up (then its ticket shows it)."""
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if row is None or row.state != OutboxState.PENDING.value:
        return False
    row.attempts += 1
    row.last_error = error[:2000]
    if not permanent and row.attempts < MAX_ATTEMPTS:
        row.next_attempt_at = now() + timedelta(minutes=2 ** (row.attempts - 1))
        return False
    row.state = OutboxState.FAILED.value
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    if ticket is not None:
        to = [*row.recipients.get("to", []), *row.recipients.get("cc", [])]
        record_event(session, SystemActor(), ticket, EventKind.MAIL_FAILED,
                     {"subject": row.subject, "to": to, "error": error[:300]})  # fmt: skip
    return True


def is_permanent(error: Exception) -> bool:
    """5xx answers (unknown recipient, refused sender, message too big) will not change on a retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError)
    return False


def _with_tokens(
    db: Database, mails: list[Outgoing], unreadable: MissingPassword | None
) -> tuple[list[Outgoing], MissingPassword | None]:
    """The mails with their OAuth2 mailboxes' access tokens (refreshed here, outside any transaction); a mailbox
    whose token cannot be had keeps its mail waiting, as for a password that cannot be decrypted."""
    tokens: dict[int, str | MissingPassword] = {}
    ready = []
    for mail in mails:
        mailbox_id = mail.account.oauth_mailbox
        if mailbox_id is None:
            ready.append(mail)
            continue
        if mailbox_id not in tokens:
            try:
                tokens[mailbox_id] = oauth.access_token(db, mailbox_id)
            except MissingPassword as error:
                tokens[mailbox_id] = error
        token = tokens[mailbox_id]
        if isinstance(token, MissingPassword):
            unreadable = token
        else:
            ready.append(replace(mail, account=replace(mail.account, password=token)))
    return ready, unreadable


def send_due(
    db: Database, transport: Transport, *, limit: int = BATCH, keep_alive: Callable[[], None] = lambda: None
) -> tuple[int, int]:
    """Send what is due; returns (sent, failed attempts). One mail's failure never stops the others; a password
    that cannot be decrypted is raised once the others are sent, for the worker to report."""
    sent = failed = 0
    mails, unreadable = due(db, limit)
    mails, unreadable = _with_tokens(db, mails, unreadable)
    for mail in mails:
        keep_alive()
        try:
            refused = transport(mail.account, mail.message, mail.recipients)
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as error:
            failed += 1
            mark_failed(db, mail.id, f"{type(error).__name__}: {error}", permanent=is_permanent(error))
            continue
        mark_sent(db, mail.id, refused)
        sent += 1
    if unreadable is not None:
        raise unreadable
    return sent, failed
