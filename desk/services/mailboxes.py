"""Administering the support addresses: where mail is fetched from and sent through."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.enums import SenderCheck
from desk.domain.errors import Invalid, NotFound
from desk.domain.inputs import is_one_line
from desk.domain.oauth import PROVIDERS, issuer_problem
from desk.domain.permissions import Actor, Right
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.views import Ref
from desk.services import audit
from desk.services.accounts import normalize_email, require_right
from desk.services.audit import differences
from desk.services.base import command, query
from desk.services.editing import get_row
from desk.services.mail import oauth
from desk.services.mail.secrets import MissingPassword, conceal, reveal
from desk.storage.db import Database
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


@dataclass(frozen=True)
class MailboxForm:
    """A mailbox as the administrator's editor sends it (its passwords go beside it)."""

    name: str
    address: str
    department_id: int | None = None
    topic_id: int | None = None
    imap_host: str | None = None
    imap_port: int | None = None  # None: the usual one for its security
    imap_security: str = "tls"
    imap_user: str | None = None
    folder: str = "INBOX"
    after_fetch: str = "seen"
    move_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    sender_check: SenderCheck = SenderCheck.REQUIRED
    auth_server: str | None = None
    active: bool = True
    oauth_provider: str | None = None  # desk.domain.oauth.PROVIDERS: signs in with OAuth2 instead of passwords
    oauth_client_id: str | None = None
    oauth_issuer: str | None = None  # Microsoft's tenant, or another OpenID provider's address


@dataclass(frozen=True)
class MailboxDetails:
    id: int
    form: MailboxForm
    imap_password_set: bool
    smtp_password_set: bool
    oauth_signed_in: bool  # an administrator gave the OAuth2 provider's consent and Desk holds its tokens
    last_success_at: datetime | None
    last_error: str | None
    failures: int  # fetches that failed in a row


@dataclass(frozen=True)
class MailboxTest:
    """What "Test connection" found, in words: None where no server is given."""

    imap: str | None
    imap_ok: bool
    smtp: str | None
    smtp_ok: bool


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
    """A new support address (the command line's; the window saves a MailboxForm). Its passwords are stored
    encrypted with the server's key (see mail.secrets).

    Mail is taken as from its From address (an agent's note, a requester's reply found by its ticket tag) only
    as `sender_check` says: by default only when the receiving server `auth_server` vouches for it.
    """
    form = MailboxForm(
        name, address, department_id, topic_id, imap_host, imap_port, imap_security, imap_user, folder, after_fetch,
        move_to, smtp_host, smtp_port, smtp_security, smtp_user, sender_check, auth_server,
    )  # fmt: skip
    mailbox = _save(session, actor, None, form, imap_password, smtp_password)
    return _view(mailbox)


def _form_errors(form: MailboxForm) -> dict[str, str]:
    errors = _sender_check_errors(form.sender_check, form.auth_server)
    if form.imap_security not in SECURITY or form.smtp_security not in SECURITY:
        errors["security"] = f"Choose one of {', '.join(SECURITY)}."
    if form.after_fetch not in AFTER_FETCH:
        errors["after_fetch"] = f"Choose one of {', '.join(AFTER_FETCH)}."
    if form.after_fetch == "move" and not (form.move_to or "").strip():
        errors["move_to"] = "Name the folder fetched mail is moved to."
    if form.imap_host and not form.imap_user:
        errors["imap_user"] = "Enter the IMAP user name."
    errors.update(_oauth_errors(form))
    for field, port in (("imap_port", form.imap_port), ("smtp_port", form.smtp_port)):
        if port is not None and not 1 <= port <= 65535:
            errors[field] = "Give a port from 1 to 65535, or none for the usual one."
    texts = (("name", form.name), ("imap_host", form.imap_host), ("imap_user", form.imap_user),
             ("folder", form.folder), ("move_to", form.move_to), ("smtp_host", form.smtp_host),
             ("smtp_user", form.smtp_user))  # fmt: skip
    for field, text in texts:
        if text and (not is_one_line(text) or len(text) > 254):
            errors[field] = "Use one line of at most 254 characters."
    return errors


def _oauth_errors(form: MailboxForm) -> dict[str, str]:
    if form.oauth_provider is None:
        return {}
    if form.oauth_provider not in PROVIDERS:
        return {"oauth_provider": f"Choose one of {', '.join(p.title for p in PROVIDERS.values())}."}
    errors = {}
    if not (form.oauth_client_id or "").strip() or not is_one_line(form.oauth_client_id or ""):
        errors["oauth_client_id"] = "Enter the application (client) id registered with the provider."
    issuer = (form.oauth_issuer or "").strip()
    if form.oauth_provider == "openid" and (problem := issuer_problem(issuer)):
        errors["oauth_issuer"] = problem
    elif form.oauth_provider == "microsoft" and issuer and not re.fullmatch(r"[\w.-]{1,100}", issuer):
        errors["oauth_issuer"] = "Enter the tenant: organizations, your domain (example.com) or the tenant id."
    return errors


def _save(
    session: Session,
    actor: Actor,
    mailbox_id: int | None,
    form: MailboxForm,
    imap_password: str | None,
    smtp_password: str | None,
    oauth_client_secret: str | None = None,
) -> Mailbox:
    """Create or change the mailbox; a password None keeps the stored one (a new mailbox: none), "" removes it."""
    require_right(actor, Right.ADMIN)
    if errors := _form_errors(form):
        raise Invalid("The mailbox cannot be saved: " + " ".join(errors.values()), errors)
    email = normalize_email(form.address)
    name = form.name.strip() or email
    others = select(Mailbox.id).where(Mailbox.id != (mailbox_id or 0))
    if session.scalar(others.where(Mailbox.address == email)) is not None:
        raise Invalid(f"A mailbox for {email} exists already.", {"address": "Enter another address."})
    if session.scalar(others.where(Mailbox.name == name)) is not None:
        raise Invalid(f"A mailbox named “{name}” exists already.", {"name": "Choose another name."})
    if form.department_id is not None:
        get_row(session, Department, form.department_id)
    if form.topic_id is not None:
        get_row(session, HelpTopic, form.topic_id)
    if mailbox_id is None:
        mailbox = Mailbox(last_uid=0, failures=0, alerted=False)
        session.add(mailbox)
    else:
        mailbox = get_row(session, Mailbox, mailbox_id)
    before = _shown(mailbox) if mailbox_id is not None else {}
    mailbox.name, mailbox.address, mailbox.active = name, email, form.active
    mailbox.department_id, mailbox.topic_id = form.department_id, form.topic_id
    mailbox.imap_host, mailbox.imap_port, mailbox.imap_security = (
        _host(form.imap_host),
        form.imap_port,
        form.imap_security,
    )
    mailbox.imap_user, mailbox.folder = form.imap_user, form.folder.strip() or "INBOX"
    mailbox.after_fetch, mailbox.move_to = form.after_fetch, (form.move_to or "").strip() or None
    mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security = (
        _host(form.smtp_host),
        form.smtp_port,
        form.smtp_security,
    )
    mailbox.smtp_user = form.smtp_user
    mailbox.sender_check = SenderCheck(form.sender_check).value
    mailbox.auth_server = (form.auth_server or "").strip() or None
    if imap_password is not None or mailbox_id is None:
        mailbox.imap_secret = conceal("imap", imap_password or None)
    if smtp_password is not None or mailbox_id is None:
        mailbox.smtp_secret = conceal("smtp", smtp_password or None)
    client = (
        form.oauth_provider,
        (form.oauth_client_id or "").strip() or None,
        (form.oauth_issuer or "").strip() or None,
    )
    new_client = client != (mailbox.oauth_provider, mailbox.oauth_client_id, mailbox.oauth_issuer)
    mailbox.oauth_provider, mailbox.oauth_client_id, mailbox.oauth_issuer = client
    oauth.seal_client_secret(mailbox, oauth_client_secret if mailbox.oauth_provider else "", forget_tokens=new_client)
    session.flush()
    changes = differences(before, _shown(mailbox))
    if imap_password is not None and mailbox_id is not None:
        changes["IMAP password"] = (None, "changed" if imap_password else "removed")
    if smtp_password is not None and mailbox_id is not None:
        changes["SMTP password"] = (None, "changed" if smtp_password else "removed")
    action = AuditAction.CREATED if mailbox_id is None else AuditAction.CHANGED
    audit.record(session, actor, action, AuditKind.MAILBOX, mailbox.id, mailbox.name, changes)
    return mailbox


def _host(host: str | None) -> str | None:
    return (host or "").strip() or None


def _shown(mailbox: Mailbox) -> dict[str, str | None]:
    view = _view(mailbox)
    return {
        "name": view.name,
        "address": view.address,
        "IMAP": f"{view.imap_user}@{view.imap}" if view.imap else None,
        "SMTP": f"{view.smtp_user or ''}@{view.smtp}" if view.smtp else None,
        "after fetch": view.after_fetch,
        "sender check": view.sender_check.value,
        "active": "yes" if mailbox.active else "no",
        "OAuth2": f"{mailbox.oauth_provider} {mailbox.oauth_client_id}" if mailbox.oauth_provider else None,
    }


def _form(mailbox: Mailbox) -> MailboxForm:
    return MailboxForm(
        mailbox.name, mailbox.address, mailbox.department_id, mailbox.topic_id, mailbox.imap_host, mailbox.imap_port,
        mailbox.imap_security, mailbox.imap_user, mailbox.folder, mailbox.after_fetch, mailbox.move_to,
        mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_user,
        SenderCheck(mailbox.sender_check), mailbox.auth_server, mailbox.active, mailbox.oauth_provider,
        mailbox.oauth_client_id, mailbox.oauth_issuer,
    )  # fmt: skip


def _details(mailbox: Mailbox) -> MailboxDetails:
    return MailboxDetails(
        id=mailbox.id,
        form=_form(mailbox),
        imap_password_set=mailbox.imap_secret is not None,
        smtp_password_set=mailbox.smtp_secret is not None,
        oauth_signed_in=oauth.signed_in(mailbox),
        last_success_at=mailbox.last_success_at,
        last_error=mailbox.last_error,
        failures=mailbox.failures,
    )


@query
def mailbox_names(session: Session, actor: Actor) -> list[Ref]:
    """Every mailbox as "Name <address>", for the administrator's list."""
    require_right(actor, Right.ADMIN)
    rows = session.execute(select(Mailbox.id, Mailbox.name, Mailbox.address).order_by(Mailbox.name))
    return [Ref(i, f"{name} <{address}>") for i, name, address in rows]


@query
def get_mailbox_details(session: Session, actor: Actor, mailbox_id: int) -> MailboxDetails:
    """A mailbox to edit: its servers and settings, whether passwords are stored, how fetching went."""
    require_right(actor, Right.ADMIN)
    return _details(get_row(session, Mailbox, mailbox_id))


@command
def save_mailbox(
    session: Session,
    actor: Actor,
    mailbox_id: int | None,
    form: MailboxForm,
    *,
    imap_password: str | None = None,
    smtp_password: str | None = None,
    oauth_client_secret: str | None = None,
) -> MailboxDetails:
    """Create or change a mailbox; a password or client secret left out (None) keeps the stored one, an empty one
    removes it. A new OAuth2 provider, client or issuer forgets the tokens: an administrator signs in again."""
    return _details(_save(session, actor, mailbox_id, form, imap_password, smtp_password, oauth_client_secret))


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


@query
def _stored_passwords(session: Session, actor: Actor, mailbox_id: int | None) -> tuple[str | None, str | None]:
    require_right(actor, Right.ADMIN)
    if mailbox_id is None:
        return None, None
    mailbox = get_row(session, Mailbox, mailbox_id)
    return reveal(mailbox, "imap"), reveal(mailbox, "smtp")


def try_mailbox(
    db: Database,
    actor: Actor,
    form: MailboxForm,
    *,
    mailbox_id: int | None = None,
    imap_password: str | None = None,
    smtp_password: str | None = None,
) -> MailboxTest:
    """Log in to the mailbox's IMAP and SMTP servers as typed (a password left out: the stored one) and say what
    happened in words, changing nothing. Outside any transaction: a server may take its timeout to answer."""
    from desk.services.mail import probe  # the mail protocols: only when a mailbox is tried

    if errors := _form_errors(form):
        raise Invalid("The mailbox cannot be tried: " + " ".join(errors.values()), errors)
    stored_imap, stored_smtp = _stored_passwords(db, actor, mailbox_id)
    if form.oauth_provider:  # the saved mailbox's sign-in (its access token) stands in for both passwords
        if mailbox_id is None:
            raise Invalid("Save the mailbox and sign in with its provider, then test it.")
        try:
            stored_imap = stored_smtp = oauth.access_token(db, mailbox_id)
        except MissingPassword as error:
            return MailboxTest(
                str(error) if form.imap_host else None, False, str(error) if form.smtp_host else None, False
            )
    oauth_mailbox = mailbox_id if form.oauth_provider else None
    imap = smtp = None
    imap_ok = smtp_ok = False
    if form.imap_host:
        password = imap_password if imap_password is not None and not oauth_mailbox else stored_imap
        imap_ok, imap = probe.try_imap(_host(form.imap_host) or "", form.imap_port, form.imap_security,
                                       form.imap_user or "", password or "", form.folder,
                                       oauth=oauth_mailbox is not None)  # fmt: skip
    if form.smtp_host:
        password = smtp_password if smtp_password is not None and not oauth_mailbox else stored_smtp
        smtp_ok, smtp = probe.try_smtp(_host(form.smtp_host) or "", form.smtp_port, form.smtp_security,
                                       form.smtp_user or (form.address if oauth_mailbox else None), password,
                                       oauth_mailbox=oauth_mailbox)  # fmt: skip
    return MailboxTest(imap=imap, imap_ok=imap_ok, smtp=smtp, smtp_ok=smtp_ok)
