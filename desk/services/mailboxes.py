"""Administering the support addresses: where mail is fetched from and sent through."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.canned import NOTIFICATIONS
from desk.domain.enums import SenderCheck
from desk.domain.errors import Invalid, NotFound
from desk.domain.permissions import Actor, Right
from desk.services import settings
from desk.services.accounts import normalize_email, require_right
from desk.services.base import command, query
from desk.services.mail.secrets import conceal
from desk.services.tickets import get_row
from desk.storage.models import Department, HelpTopic, Mailbox

SECURITY = ("tls", "starttls", "none")
AFTER_FETCH = ("seen", "move", "delete")


@dataclass(frozen=True)
class MailboxView:
    id: int
    name: str
    address: str
    imap: str | None  # "host:port (security)"
    imap_user: str | None
    smtp: str | None
    smtp_user: str | None
    folder: str
    after_fetch: str
    sender_check: SenderCheck
    auth_server: str | None


def _view(mailbox: Mailbox) -> MailboxView:
    def server(host: str | None, port: int | None, security: str) -> str | None:
        return f"{host}:{port or 'default'} ({security})" if host else None

    return MailboxView(
        id=mailbox.id,
        name=mailbox.name,
        address=mailbox.address,
        imap=server(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security),
        imap_user=mailbox.imap_user,
        smtp=server(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security),
        smtp_user=mailbox.smtp_user,
        folder=mailbox.folder,
        after_fetch=mailbox.after_fetch + (f" to {mailbox.move_to}" if mailbox.after_fetch == "move" else ""),
        sender_check=SenderCheck(mailbox.sender_check),
        auth_server=mailbox.auth_server,
    )


@command
def add_mailbox(
    session: Session,
    actor: Actor,
    *,
    name: str,
    address: str,
    imap_host: str | None = None,
    imap_port: int | None = None,
    imap_security: str = "tls",
    imap_user: str | None = None,
    imap_password: str | None = None,
    folder: str = "INBOX",
    after_fetch: str = "seen",
    move_to: str | None = None,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    smtp_security: str = "starttls",
    smtp_user: str | None = None,
    smtp_password: str | None = None,
    department_id: int | None = None,
    topic_id: int | None = None,
    sender_check: SenderCheck = SenderCheck.REQUIRED,
    auth_server: str | None = None,
) -> MailboxView:
    """A new support address. Its passwords are stored encrypted with the server's key (see mail.secrets).

    Mail is taken as from its From address (an agent's note, a requester's reply found by its ticket tag) only
    as `sender_check` says: by default only when the receiving server `auth_server` vouches for it.
    """
    require_right(actor, Right.ADMIN)
    errors = _sender_check_errors(sender_check, auth_server)
    if imap_security not in SECURITY or smtp_security not in SECURITY:
        errors["security"] = f"Choose one of {', '.join(SECURITY)}."
    if after_fetch not in AFTER_FETCH:
        errors["after_fetch"] = f"Choose one of {', '.join(AFTER_FETCH)}."
    if after_fetch == "move" and not move_to:
        errors["move_to"] = "Name the folder fetched mail is moved to."
    if imap_host and not imap_user:
        errors["imap_user"] = "Enter the IMAP user name."
    if errors:
        raise Invalid("The mailbox cannot be added: " + " ".join(errors.values()), errors)
    email = normalize_email(address)
    if session.scalar(select(Mailbox.id).where(Mailbox.address == email)) is not None:
        raise Invalid(f"A mailbox for {email} exists already.", {"address": "Enter another address."})
    if session.scalar(select(Mailbox.id).where(Mailbox.name == (name.strip() or email))) is not None:
        raise Invalid(f"A mailbox named “{name.strip()}” exists already.", {"name": "Choose another name."})
    if department_id is not None:
        get_row(session, Department, department_id, "department")
    if topic_id is not None:
        get_row(session, HelpTopic, topic_id, "help topic")
    mailbox = Mailbox(
        name=name.strip() or email,
        address=email,
        department_id=department_id,
        topic_id=topic_id,
        imap_host=imap_host,
        imap_port=imap_port,
        imap_security=imap_security,
        imap_user=imap_user,
        imap_secret=conceal("imap", imap_password),
        folder=folder,
        after_fetch=after_fetch,
        move_to=move_to,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_user=smtp_user,
        smtp_secret=conceal("smtp", smtp_password),
        sender_check=SenderCheck(sender_check).value,
        auth_server=(auth_server or "").strip() or None,
        active=True,
        last_uid=0,
        failures=0,
        alerted=False,
    )
    session.add(mailbox)
    session.flush()
    return _view(mailbox)


@command
def set_sender_check(
    session: Session, actor: Actor, address: str, sender_check: SenderCheck, auth_server: str | None = None
) -> MailboxView:
    """How a mailbox decides that mail is from its From address (see SenderCheck); `auth_server` is the name the
    receiving mail server writes first in its Authentication-Results headers (the authserv-id)."""
    require_right(actor, Right.ADMIN)
    errors = _sender_check_errors(sender_check, auth_server)
    if errors:
        raise Invalid("The sender check cannot be set: " + " ".join(errors.values()), errors)
    mailbox = _mailbox(session, address)
    mailbox.sender_check = SenderCheck(sender_check).value
    mailbox.auth_server = (auth_server or "").strip() or None
    return _view(mailbox)


@command
def set_passwords(
    session: Session, actor: Actor, address: str, *, imap_password: str | None, smtp_password: str | None
) -> MailboxView:
    """Replace a mailbox's passwords (None or empty: none), e.g. after the server's key was lost."""
    require_right(actor, Right.ADMIN)
    mailbox = _mailbox(session, address)
    mailbox.imap_secret = conceal("imap", imap_password)
    mailbox.smtp_secret = conceal("smtp", smtp_password)
    return _view(mailbox)


def _mailbox(session: Session, address: str) -> Mailbox:
    mailbox = session.scalar(select(Mailbox).where(Mailbox.address == address.strip().lower()))
    if mailbox is None:
        raise NotFound(f"There is no mailbox for {address}; `desk mailbox list` shows them.")
    return mailbox


def _sender_check_errors(sender_check: str, auth_server: str | None) -> dict[str, str]:
    if sender_check not in {check.value for check in SenderCheck}:
        return {"sender_check": f"Choose one of {', '.join(check.value for check in SenderCheck)}."}
    if auth_server and not _AUTHSERV_ID.match(auth_server.strip()):
        return {
            "auth_server": "Enter the server's name as its Authentication-Results headers begin, like mx.example.com."
        }
    return {}


_AUTHSERV_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")


def sender_check_problem(mailbox: Mailbox) -> str | None:
    """What an administrator must know about a mailbox's sender check; None when it vouches as it should."""
    if mailbox.sender_check == SenderCheck.TRUSTED_RELAY:
        return (
            f"Mailbox {mailbox.address} trusts the From header: anyone who mails it can write as an agent. Unless a "
            f"relay verifies senders first, run `desk mailbox edit {mailbox.address} --sender-check required "
            "--auth-server NAME`."
        )
    if mailbox.sender_check == SenderCheck.REQUIRED and not mailbox.auth_server:
        return (
            f"Mailbox {mailbox.address} names no receiving server (--auth-server): mail from agents and tagged replies "
            "are posted as from unverified senders."
        )
    return None


@query
def get_mailbox(session: Session, actor: Actor, address: str) -> MailboxView:
    require_right(actor, Right.ADMIN)
    return _view(_mailbox(session, address))


@query
def list_mailboxes(session: Session, actor: Actor) -> list[MailboxView]:
    require_right(actor, Right.ADMIN)
    return [_view(m) for m in session.scalars(select(Mailbox).order_by(Mailbox.id))]


@command
def switch_notification(
    session: Session,
    actor: Actor,
    kind: str,
    on: bool,
    *,
    department_id: int | None = None,
    topic_id: int | None = None,
) -> None:
    """Turn a mail notification on or off for a help topic, a department, or (neither given) everywhere."""
    require_right(actor, Right.ADMIN)
    if kind not in NOTIFICATIONS:
        raise Invalid(f"There is no notification “{kind}”; choose one of {', '.join(NOTIFICATIONS)}.")
    target: Department | HelpTopic | None = None
    if topic_id is not None:
        target = get_row(session, HelpTopic, topic_id, "help topic")
    elif department_id is not None:
        target = get_row(session, Department, department_id, "department")
    if target is None:
        settings.put(session, "mail.notifications", {**settings.get(session, "mail.notifications"), kind: on})
    else:
        target.mail_notifications = {**(target.mail_notifications or {}), kind: on}
