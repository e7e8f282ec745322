"""The Support Center's end-user accounts: registration confirmed by mail, sign-in sessions, password reset,
one-time links to a ticket, and the list of a user's own tickets.

Every secret handed out (a session cookie, a mailed link) is random and kept only as its SHA-256. Requests that
mail a link answer the same whether or not the address or ticket exists, so the pages reveal no one's account.
Links are built by the caller from a template with `{token}` in it: the web layer owns its addresses.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from desk.domain import inputs
from desk.domain.enums import StatusState
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import Actor, UserActor
from desk.domain.views import FeedbackView, Ref, TicketView, Upload
from desk.services import settings, tickets
from desk.services.accounts import (
    check_sign_in,
    find_or_create_user,
    hash_password,
    normalize_email,
    person_errors,
    user_actor,
)
from desk.services.base import command, load_ticket, now, query, visible_to, within
from desk.services.mail import outbound
from desk.services.queues import decode_cursor, keyset_after
from desk.services.reference import topic_names
from desk.services.views import ticket_view
from desk.storage.models import Feedback, HelpTopic, Status, Ticket, User, UserToken


class Purpose(enum.StrEnum):
    SESSION = "session"
    CONFIRM = "confirm"
    RESET = "reset"
    TICKET = "ticket"


LIFETIME = {
    Purpose.SESSION: timedelta(days=14),
    Purpose.CONFIRM: timedelta(hours=48),
    Purpose.RESET: timedelta(hours=1),
    Purpose.TICKET: timedelta(hours=48),
}
# A session opened by a ticket link lasts a working day: long enough to read and answer, short for a shared PC.
LINK_SESSION = timedelta(hours=8)
PAGE = 25
NO_MAIL = "This help desk cannot send mail yet, so it cannot send you a link. Please contact the help desk directly."


@dataclass(frozen=True)
class SignedIn:
    """A new Support Center session: the cookie's secret, who it is, and when it ends."""

    secret: str
    actor: UserActor
    expires_at: datetime


@dataclass(frozen=True)
class UserTicket:
    """A ticket as its requester sees it, with what they may do next."""

    ticket: TicketView
    feedback: FeedbackView | None
    awaiting_confirmation: bool  # resolved: the requester may confirm the fix, or reopen
    may_reopen: bool
    may_reply: bool


@dataclass(frozen=True)
class UserTicketRow:
    id: int
    number: str
    subject: str
    status: str
    state: StatusState
    requester: str
    created_at: datetime
    updated_at: datetime
    answered: bool  # an agent answered last: the user may want to read it


@dataclass(frozen=True)
class UserTicketPage:
    rows: tuple[UserTicketRow, ...]
    next_cursor: str | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(
    session: Session,
    purpose: Purpose,
    user: User,
    *,
    ticket_id: int | None = None,
    data: dict[str, Any] | None = None,
    lifetime: timedelta | None = None,
) -> tuple[str, UserToken]:
    secret = secrets.token_urlsafe(32)
    moment = now()
    token = UserToken(
        token_hash=_digest(secret),
        purpose=purpose.value,
        user_id=user.id,
        ticket_id=ticket_id,
        data=data,
        created_at=moment,
        expires_at=moment + (lifetime or LIFETIME[purpose]),
    )
    session.add(token)
    return secret, token


def _redeem(session: Session, secret: str, purpose: Purpose) -> tuple[UserToken, User]:
    """Use up a mailed link, or say why it cannot be used."""
    token = session.scalar(
        select(UserToken)
        .where(UserToken.token_hash == _digest(secret), UserToken.purpose == purpose.value)
        .with_for_update()
    )
    user = session.get(User, token.user_id) if token is not None else None
    if token is None or user is None or token.used_at is not None or token.expires_at <= now():
        raise Invalid("This link has expired or was used already. Ask for a new one.")
    if user.banned:
        raise PermissionDenied("This account cannot use the Support Center.")
    token.used_at = now()
    return token, user


def _signed_in(session: Session, user: User, *, ticket_id: int | None = None) -> SignedIn:
    secret, token = _issue(
        session, Purpose.SESSION, user, ticket_id=ticket_id, lifetime=LINK_SESSION if ticket_id else None
    )
    actor = user_actor(session, user)
    if ticket_id is not None:
        actor = UserActor(**{**actor.__dict__, "only_ticket_id": ticket_id})
    return SignedIn(secret=secret, actor=actor, expires_at=token.expires_at)


def _require_mail(session: Session) -> None:
    """Refuse a request that mails a link when nothing can be sent, before looking at the address (the answer must
    not depend on whether it has an account)."""
    if outbound.sender_for(session, None) is None:
        raise Invalid(NO_MAIL)


def _mail(session: Session, kind: str, user: User, variables: dict[str, Any]) -> None:
    values = {"user.name": user.name, "user.email": user.email, **variables}
    if outbound.queue_for_addresses(session, kind, None, [user.email], values) is None:
        raise Invalid(NO_MAIL)


def _hours(purpose: Purpose) -> int:
    return max(1, int(LIFETIME[purpose].total_seconds() // 3600))


# The hours a mailed link works, by the template that mails it (its %{hours}).
LINK_HOURS = {"account.confirm": _hours(Purpose.CONFIRM), "account.reset": _hours(Purpose.RESET),
              "ticket.link": _hours(Purpose.TICKET)}  # fmt: skip


# --- accounts --------------------------------------------------------------------------------------------------


@command
def register(
    session: Session, *, email: str, name: str, phone: str | None = None, link: str, sign_in_link: str
) -> None:
    """Ask for an account: a link is mailed to the address, and the password is chosen behind that link.

    Not before: a password typed here for someone else's address would become theirs if they opened the link.
    """
    errors = person_errors(name, phone)
    if not name.strip():
        errors["name"] = "Enter your name."
    try:
        address = normalize_email(email)
    except Invalid as error:
        errors.update(error.fields)
    if errors:
        raise Invalid("Check the marked fields.", errors)
    _require_mail(session)
    user = session.scalar(select(User).where(User.email == address))
    if user is not None and user.banned:
        return  # answered like any other request; a banned address gets no mail from us
    if user is not None and user.email_confirmed_at is not None and user.password_hash is not None:
        _mail(session, "account.exists", user, {"link": sign_in_link})
        return
    if user is None:
        user = find_or_create_user(session, address, name, phone)
        session.flush()
    data = {"name": name.strip(), "phone": (phone or "").strip() or None}
    secret, _ = _issue(session, Purpose.CONFIRM, user, data=data)
    _mail(session, "account.confirm", user, {"link": link.format(token=secret), "hours": LINK_HOURS["account.confirm"]})


@command
def confirm_email(session: Session, secret: str, password: str) -> SignedIn:
    """Open a confirmation link and choose the password: the account exists and the user is signed in."""
    new_hash = hash_password(password)  # checked before the link is used up, so a short password keeps it usable
    token, user = _redeem(session, secret, Purpose.CONFIRM)
    data = token.data or {}
    user.password_hash = new_hash
    user.name = data.get("name") or user.name
    user.phone = data.get("phone") or user.phone
    user.email_confirmed_at = now()
    user.failed_logins, user.locked_until = 0, None
    _forget_links(session, user, Purpose.CONFIRM)
    return _signed_in(session, user)


@command
def sign_in(session: Session, email: str, password: str, *, client_address: str | None = None) -> SignedIn | str:
    """A session for the right password; else the refusal to show (the attempt is audited and counted all the
    same, so this returns it rather than raising and rolling that back)."""
    address = email.strip().lower()
    user = session.scalar(select(User).where(User.email == address))
    refusal = check_sign_in(session, "user", address, user, password, client_address)
    if refusal is not None:
        return refusal
    assert user is not None  # check_sign_in refuses an unknown address
    return _signed_in(session, user)


@query
def session_actor(session: Session, secret: str) -> UserActor:
    """Who a session cookie belongs to; PermissionDenied when it is unknown, ended or expired."""
    token = session.scalar(
        select(UserToken).where(UserToken.token_hash == _digest(secret), UserToken.purpose == Purpose.SESSION.value)
    )
    user = session.get(User, token.user_id) if token is not None else None
    if token is None or user is None or user.banned or token.used_at is not None or token.expires_at <= now():
        raise PermissionDenied("Your session has ended. Sign in again.")
    actor = user_actor(session, user)
    return UserActor(**{**actor.__dict__, "only_ticket_id": token.ticket_id}) if token.ticket_id else actor


@command
def sign_out(session: Session, secret: str) -> None:
    session.execute(
        delete(UserToken).where(UserToken.token_hash == _digest(secret), UserToken.purpose == Purpose.SESSION.value)
    )


@command
def request_password_reset(session: Session, email: str, *, link: str) -> None:
    """Mail a reset link to a confirmed account's address; say nothing either way."""
    _require_mail(session)
    address = email.strip().lower()
    user = session.scalar(select(User).where(User.email == address))
    if user is None or user.banned or user.email_confirmed_at is None:
        return
    secret, _ = _issue(session, Purpose.RESET, user)
    _mail(session, "account.reset", user, {"link": link.format(token=secret), "hours": LINK_HOURS["account.reset"]})


@command
def reset_password(session: Session, secret: str, password: str) -> SignedIn:
    """Set a new password from a reset link; every other session of the account ends, the lockout is lifted."""
    new_hash = hash_password(password)  # checked before the link is used up, so a short password keeps it usable
    _token, user = _redeem(session, secret, Purpose.RESET)
    user.password_hash = new_hash
    user.failed_logins, user.locked_until = 0, None
    _forget_links(session, user, Purpose.RESET)
    session.execute(delete(UserToken).where(UserToken.user_id == user.id, UserToken.purpose == Purpose.SESSION.value))
    return _signed_in(session, user)


@query
def link_is_usable(session: Session, secret: str, purpose: Purpose) -> bool:
    """Whether a mailed link would still work, to say so before the person fills in a form behind it."""
    token = session.scalar(
        select(UserToken).where(UserToken.token_hash == _digest(secret), UserToken.purpose == purpose.value)
    )
    return token is not None and token.used_at is None and token.expires_at > now()


def _forget_links(session: Session, user: User, purpose: Purpose) -> None:
    """Other unused links of the same kind stop working once one is used."""
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose.value, UserToken.used_at.is_(None))
        .values(used_at=now())
    )


# --- tickets without an account ----------------------------------------------------------------------------------


@command
def request_ticket_link(session: Session, email: str, number: str, *, link: str) -> None:
    """Mail a one-time link to a ticket to its requester, when the address and the number go together."""
    _require_mail(session)
    address = email.strip().lower()
    found = session.execute(
        select(Ticket, User)
        .join(User, User.id == Ticket.requester_id)
        .where(Ticket.number == number.strip().lstrip("#"), User.email == address)
    ).first()
    if found is None or found[1].banned:
        return
    ticket, user = found
    secret, _ = _issue(session, Purpose.TICKET, user, ticket_id=ticket.id)
    variables = {
        "link": link.format(token=secret),
        "hours": LINK_HOURS["ticket.link"],
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
    }
    _mail(session, "ticket.link", user, variables)


@command
def redeem_ticket_link(session: Session, secret: str) -> tuple[SignedIn, int]:
    """Use a ticket link: a session for that one ticket, and the ticket's id."""
    token, user = _redeem(session, secret, Purpose.TICKET)
    assert token.ticket_id is not None
    return _signed_in(session, user, ticket_id=token.ticket_id), token.ticket_id


# --- the user's tickets ---


@query
def public_topics(session: Session) -> tuple[Ref, ...]:
    """The help topics an end user may choose for a new ticket, named "Parent / Child", by name."""
    topics = list(session.scalars(select(HelpTopic)))
    names = topic_names(topics)
    public = {t.id for t in topics if t.active and t.public}
    return tuple(sorted((Ref(t.id, names[t.id]) for t in topics if t.id in public), key=lambda ref: ref.name.lower()))


@command
def open_guest_ticket(
    session: Session,
    *,
    email: str,
    name: str,
    phone: str | None,
    subject: str,
    body: str,
    topic_id: int | None = None,
    attachments: Seq[Upload] = (),
) -> TicketView:
    """A ticket from someone who is not signed in: opened as the end user with that address (made if new), who
    then follows it by mail or a mailed link; the page never shows the ticket to whoever typed the address."""
    errors = person_errors(name, phone)
    if not name.strip():
        errors["name"] = "Enter your name."
    try:
        normalize_email(email)
    except Invalid as error:
        errors.update(error.fields)
    if errors:
        raise Invalid("Check the marked fields.", errors)
    user = find_or_create_user(session, email, name, phone)
    session.flush()
    actor = user_actor(session, user)
    return within(tickets.open_ticket)(
        session, actor, subject=subject, body=body, topic_id=topic_id, attachments=attachments
    )


@query
def user_ticket(session: Session, actor: Actor, ticket_id: int) -> UserTicket:
    """The ticket page of an end user: the public thread, their rating, and whether they may confirm or reopen."""
    if not isinstance(actor, UserActor):
        raise PermissionDenied("This page is for end users; agents open tickets in Desk.")
    ticket = load_ticket(session, actor, ticket_id)
    status = session.get(Status, ticket.status_id)
    assert status is not None
    feedback = session.get(Feedback, ticket.id)
    own = ticket.requester_id == actor.id
    return UserTicket(
        ticket=ticket_view(session, ticket, actor),
        feedback=(
            FeedbackView(ticket.id, feedback.rating, feedback.comment, feedback.created_at)
            if feedback is not None and own
            else None
        ),
        awaiting_confirmation=own and status.id == settings.get(session, "ticket.resolved_status_id"),
        may_reopen=own and status.state == StatusState.CLOSED and status.allows_reopen,
        may_reply=status.state == StatusState.OPEN or status.allows_reopen,
    )


# --- the list of own tickets -------------------------------------------------------------------------------------


@query
def my_tickets(
    session: Session, actor: Actor, *, closed: bool = False, cursor: str | None = None, limit: int = PAGE
) -> UserTicketPage:
    """The end user's open (or closed) tickets, and their organization's where it shares them; the most recently
    changed first, a page at a time."""
    if not isinstance(actor, UserActor):
        raise PermissionDenied("This list is for end users; agents use the queues.")
    if not 1 <= limit <= 100:
        raise Invalid("A page holds 1 to 100 tickets.")
    visible = visible_to(actor)
    assert visible is not None
    states = [StatusState.CLOSED.value] if closed else [StatusState.OPEN.value]
    statement = (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Status.name,
            Ticket.state,
            User.name,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.answered,
        )
        .join(Status, Status.id == Ticket.status_id)
        .join(User, User.id == Ticket.requester_id)
        .where(visible, Ticket.state.in_(states), Ticket.merged_into_id.is_(None))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        after, after_id = decode_cursor(cursor, Ticket.updated_at)
        statement = statement.where(keyset_after(Ticket.updated_at, after, after_id, descending=True))
    found = session.execute(statement).all()
    rows = tuple(
        UserTicketRow(
            id=row[0],
            number=row[1],
            subject=row[2],
            status=row[3],
            state=StatusState(row[4]),
            requester=row[5],
            created_at=row[6],
            updated_at=row[7],
            answered=row[8],
        )
        for row in found[:limit]
    )
    more = len(found) > limit
    return UserTicketPage(
        rows=rows, next_cursor=inputs.encode_cursor(rows[-1].updated_at, rows[-1].id) if more else None
    )
