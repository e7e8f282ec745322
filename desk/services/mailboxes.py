"""Administering the support addresses: where mail is fetched from and sent through."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid
from desk.domain.permissions import Actor, Right
from desk.services import settings
from desk.services.accounts import normalize_email, require_right
from desk.services.base import command, query
from desk.services.mail import outbound
from desk.services.mail.secrets import IN_KEYRING, conceal
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
    smtp: str | None
    folder: str
    after_fetch: str
    password_in_keyring: bool


def _view(mailbox: Mailbox) -> MailboxView:
    def server(host: str | None, port: int | None, security: str) -> str | None:
        return f"{host}:{port or 'default'} ({security})" if host else None

    return MailboxView(
        id=mailbox.id,
        name=mailbox.name,
        address=mailbox.address,
        imap=server(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security),
        smtp=server(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security),
        folder=mailbox.folder,
        after_fetch=mailbox.after_fetch + (f" to {mailbox.move_to}" if mailbox.after_fetch == "move" else ""),
        password_in_keyring=IN_KEYRING in (mailbox.imap_secret, mailbox.smtp_secret),
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
) -> MailboxView:
    """A new support address. Passwords go to the system keyring where there is one (see mail.secrets)."""
    require_right(actor, Right.ADMIN)
    errors = {}
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
        imap_secret=conceal(email, "imap", imap_password),
        folder=folder,
        after_fetch=after_fetch,
        move_to=move_to,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_user=smtp_user,
        smtp_secret=conceal(email, "smtp", smtp_password),
        active=True,
        last_uid=0,
        failures=0,
        alerted=False,
    )
    session.add(mailbox)
    session.flush()
    return _view(mailbox)


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
    if kind not in outbound.NOTIFICATIONS:
        raise Invalid(f"There is no notification “{kind}”; choose one of {', '.join(outbound.NOTIFICATIONS)}.")
    target: Department | HelpTopic | None = None
    if topic_id is not None:
        target = get_row(session, HelpTopic, topic_id, "help topic")
    elif department_id is not None:
        target = get_row(session, Department, department_id, "department")
    if target is None:
        settings.put(session, "mail.notifications", {**settings.get(session, "mail.notifications"), kind: on})
    else:
        target.mail_notifications = {**(target.mail_notifications or {}), kind: on}
