"""The conversation: agent replies, internal notes, user messages, edits that keep the original, attachments."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence as Seq
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain.attachments import content_id, picture_type, safe_content_type, safe_name
from desk.domain.enums import CollaboratorRole, EntryKind, EventKind, Recipients, StatusState
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import storable
from desk.domain.permissions import Actor, AgentActor, Perm, SystemActor, UserActor
from desk.domain.rules import Arrival
from desk.domain.timespent import check_minutes
from desk.domain.views import AttachmentView, EntryView, TicketView, Upload
from desk.services import following, reference, richtext, settings, sla
from desk.services.base import (
    actor_columns,
    actor_kind,
    can_see,
    check_version,
    command,
    load_ticket,
    now,
    query,
    record_event,
    require_agent,
    require_perm,
)
from desk.services.lifecycle import apply_status, status_for_change
from desk.services.mail import outbound
from desk.services.views import attachment_view, entry_author, ticket_view, with_view
from desk.storage import changes, search
from desk.storage.models import (
    Attachment,
    Blob,
    Collaborator,
    Department,
    EntryRevision,
    Status,
    ThreadEntry,
    Ticket,
    User,
)


def store_attachments(session: Session, entry: ThreadEntry, uploads: Seq[Upload]) -> None:
    """Every file that enters Desk (mail, Support Center, API, the window) is stored here, under its safe name, if
    it is of a type and size the settings accept (mail drops the others before, and says so in the thread)."""
    rules = reference.rules(session)
    for upload in uploads:
        name = safe_name(upload.name, upload.content_type)
        if (problem := rules.type_problem(name)) is not None:
            raise Invalid(problem, {"attachments": "Remove the file, or send it in one of those types."})
        if len(upload.data) > rules.max_bytes:
            raise Invalid(
                f"“{name}” is {len(upload.data):,} bytes; attachments may be at most {rules.max_bytes:,} bytes.",
                {"attachments": "Remove or shrink the file."},
            )
        digest = hashlib.sha256(upload.data).hexdigest()
        if session.get(Blob, digest) is None:
            try:
                with session.begin_nested():  # the same file stored by a concurrent upload is fine
                    session.add(Blob(sha256=digest, size=len(upload.data), data=upload.data))
            except IntegrityError:
                pass
        session.add(
            Attachment(
                entry_id=entry.id,
                sha256=digest,
                name=name,
                content_type=safe_content_type(upload.content_type),
                size=len(upload.data),
                content_id=content_id(upload.content_id) if upload.content_id else None,
            )
        )


def require_storable(body: str, body_html: str | None) -> None:
    """Text every engine stores, from every channel (the window and the CLI reach here without the API's checks):
    PostgreSQL refuses NUL, and no engine (nor the HTML sanitiser) takes a lone surrogate."""
    for text in (body, body_html or ""):
        try:
            storable(text)
        except ValueError as error:
            raise Invalid(f"The message {error}.", {"body": f"The text {error}."}) from error


def add_entry(
    session: Session,
    ticket: Ticket,
    kind: EntryKind,
    body: str,
    *,
    body_html: str | None = None,
    attachments: Seq[Upload] = (),
    at: datetime | None = None,
    agent_id: int | None = None,
    user_id: int | None = None,
    recipients: Seq[str] = (),
    refresh_search: bool = True,
    client_key: str | None = None,
    sender_unverified: bool = False,
    minutes: int | None = None,
) -> ThreadEntry:
    """Write one thread entry with its attachments and make it searchable at once (unless the caller does).

    With a `client_key` the entry is inserted first, under a savepoint: a concurrent attempt with the same key
    (the first try's COMMIT still finishing on the server) makes it raise `_AlreadyPosted`, and the caller's
    transaction stays usable to report the entry that won.
    """
    if not body.strip() and not attachments:
        raise Invalid("The message is empty.", {"body": "Write something or attach a file."})
    require_storable(body, body_html)
    if client_key is not None and not 8 <= len(client_key) <= 36:
        raise Invalid("The send's client key must be 8 to 36 characters (a UUID).")
    author_kind = "agent" if agent_id else "user" if user_id else "system"
    entry = ThreadEntry(
        ticket_id=ticket.id,
        kind=kind.value,
        author_kind=author_kind,
        agent_id=agent_id,
        user_id=user_id,
        body_text=body,
        body_html=richtext.sanitize_html(body_html),
        recipients=list(recipients) or None,
        created_at=at or now(),
        client_key=client_key,
        sender_unverified=sender_unverified,
        minutes=minutes,
    )
    if client_key is not None:
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError as error:
            raise _AlreadyPosted from error
    else:
        session.add(entry)
    if attachments:
        session.flush()  # the attachments need the entry's id
        store_attachments(session, entry, attachments)
    if refresh_search:
        search.refresh_document(session, ticket.id)
    return entry


def require_minutes(session: Session, ticket: Ticket, minutes: int | None, *, asked: bool = True) -> None:
    """The time spent an agent gives with a reply or note: within one day, and given when the ticket's department
    requires it (`asked`: an agent at work; mail an agent answers carries no time, and is never refused for it)."""
    if minutes is not None:
        try:
            check_minutes(minutes)
        except ValueError as error:
            raise Invalid(f"The time spent {error}.", {"minutes": f"The time {error}."}) from error
    elif asked and (department := session.get(Department, ticket.department_id)) and department.time_required:
        raise Invalid(
            f"{department.name} asks for the time spent with each reply and note.",
            {"minutes": "Enter the minutes you spent on it."},
        )


class _AlreadyPosted(Exception):
    """An entry with this client key was committed by a concurrent attempt of the same send."""


def _posted_before(session: Session, actor: Actor, ticket: Ticket, client_key: str | None) -> TicketView | None:
    """The ticket as it is, if this send (its client key) was already posted; None when it is new.

    A key belongs to one send: found on another ticket or by another author, it is refused rather than treated as
    done, so a client bug can never swallow a message silently.
    """
    if client_key is None:
        return None
    found = session.execute(
        select(ThreadEntry.ticket_id, ThreadEntry.agent_id, ThreadEntry.user_id).where(
            ThreadEntry.client_key == client_key
        )
    ).first()
    if found is None:
        return None
    author = actor_columns(actor)
    if found.ticket_id != ticket.id or (found.agent_id, found.user_id) != (author["agent_id"], author["user_id"]):
        raise Invalid("This send's client key was used for another message; send it again.")
    session.refresh(ticket)  # read before a concurrent attempt committed: show the ticket as it is now
    return ticket_view(session, ticket, actor)


def addressees(session: Session, ticket: Ticket, choice: Recipients) -> list[str]:
    """Whom a reply goes to: the requester, and the people copied (ALL), or no one."""
    if choice == Recipients.NONE:
        return []
    requester = session.get(User, ticket.requester_id)
    addresses = [requester.email] if requester else []
    if choice == Recipients.ALL:
        addresses += [
            f"{'bcc' if role == CollaboratorRole.BCC else 'cc'}:{email}"
            for email, role in session.execute(
                select(User.email, Collaborator.role)
                .join(Collaborator, Collaborator.user_id == User.id)
                .where(Collaborator.ticket_id == ticket.id)
                .order_by(User.email)
            )
        ]
    return addresses


def _announce(
    session: Session, actor: Actor, ticket: Ticket, kind: EntryKind, new_status: Status | None, at: datetime
) -> None:
    """Apply the status that goes with a new entry (its event feeds the change feed), or feed the entry itself."""
    if new_status is not None:
        apply_status(session, actor, ticket, new_status, at)
    else:
        session.flush()
        changes.record(session, ticket.id, kind.value, actor_kind(actor), getattr(actor, "id", None), at)


@command
def post_reply(
    session: Session,
    actor: Actor,
    ticket_id: int,
    body: str,
    *,
    body_html: str | None = None,
    recipients: Recipients = Recipients.ALL,
    status_id: int | None = None,
    attachments: Seq[Upload] = (),
    expected_version: int | None = None,
    client_key: str | None = None,
    minutes: int | None = None,
) -> TicketView:
    """Answer the end user (emailed to them and collaborators), optionally setting a status in the same action.

    `client_key` makes the call idempotent: sent again with the same key (its outcome was unknown when the
    connection broke), it returns the ticket with the reply already posted instead of posting it twice. The key
    is looked up before the version check, since the first attempt itself changed the version. `minutes`: the
    time the agent spent (1 to 24 hours' worth; required by some departments).
    """
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, Perm.TICKET_REPLY, "reply to tickets")
    if (done := _posted_before(session, actor, ticket, client_key)) is not None:
        return done
    check_version(session, ticket, expected_version)
    require_minutes(session, ticket, minutes)
    new_status = status_for_change(session, actor, ticket, status_id) if status_id is not None else None
    moment = now()
    try:
        entry = add_entry(
            session,
            ticket,
            EntryKind.REPLY,
            body,
            body_html=body_html,
            attachments=attachments,
            at=moment,
            agent_id=agent.id,
            recipients=addressees(session, ticket, recipients),
            client_key=client_key,
            minutes=minutes,
        )
    except _AlreadyPosted:
        return _posted_before(session, actor, ticket, client_key) or ticket_view(session, ticket, actor)
    ticket.answered = True
    ticket.last_response_at = moment
    if ticket.first_responded_at is None:
        sla.on_first_response(session, ticket, moment)
    sla.refresh_due(ticket)
    ticket.overdue = False if ticket.due_at > moment else ticket.overdue
    ticket.updated_at = moment
    _announce(session, actor, ticket, EntryKind.REPLY, new_status, moment)
    outbound.on_reply(session, ticket, entry, agent.name)
    return ticket_view(session, ticket, actor)


@command
def post_note(
    session: Session,
    actor: Actor,
    ticket_id: int,
    body: str,
    *,
    body_html: str | None = None,
    status_id: int | None = None,
    attachments: Seq[Upload] = (),
    expected_version: int | None = None,
    client_key: str | None = None,
    minutes: int | None = None,
) -> TicketView:
    """An internal note: for agents only, never shown or mailed to the end user. `client_key` and `minutes` as in
    post_reply."""
    return _note(
        session, actor, ticket_id, body, body_html, status_id, attachments, expected_version, client_key, minutes
    )


def mailed_note(
    session: Session, actor: Actor, ticket_id: int, body: str, *, body_html: str | None, attachments: Seq[Upload]
) -> TicketView:
    """An agent's mail to a ticket, posted as their note in the intake's transaction: mail carries no time spent,
    so a department that requires it does not refuse it."""
    return _note(session, actor, ticket_id, body, body_html, None, attachments, None, None, None, asked=False)


def _note(
    session: Session,
    actor: Actor,
    ticket_id: int,
    body: str,
    body_html: str | None,
    status_id: int | None,
    attachments: Seq[Upload],
    expected_version: int | None,
    client_key: str | None,
    minutes: int | None,
    *,
    asked: bool = True,
) -> TicketView:
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    if (done := _posted_before(session, actor, ticket, client_key)) is not None:
        return done
    check_version(session, ticket, expected_version)
    require_minutes(session, ticket, minutes, asked=asked)
    new_status = status_for_change(session, actor, ticket, status_id) if status_id is not None else None
    moment = now()
    try:
        add_entry(
            session,
            ticket,
            EntryKind.NOTE,
            body,
            body_html=body_html,
            attachments=attachments,
            at=moment,
            agent_id=agent.id,
            client_key=client_key,
            minutes=minutes,
        )
    except _AlreadyPosted:
        return _posted_before(session, actor, ticket, client_key) or ticket_view(session, ticket, actor)
    ticket.updated_at = moment
    _announce(session, actor, ticket, EntryKind.NOTE, new_status, moment)
    following.on_note(session, agent, ticket, body, moment)
    return ticket_view(session, ticket, actor)


def new_message(
    session: Session,
    actor: Actor,
    ticket_id: int,
    body: str,
    *,
    body_html: str | None = None,
    attachments: Seq[Upload] = (),
    from_user_id: int | None = None,
    unverified: bool = False,
    arrival: Arrival | None = None,
) -> Ticket:
    """A message from the end user (or from the mail intake on their behalf; `unverified`: mail whose From
    address nothing vouched for, shown so in the thread).

    It clears "answered", and reopens a resolved or closed ticket whose status allows it. A message to a ticket
    merged into another goes to that one. The rules that run on new messages look at it before anyone is told
    (`arrival`: the channel, which mail intake names; the Support Center's otherwise).
    """
    if isinstance(actor, AgentActor):
        raise PermissionDenied("Agents post replies or internal notes, not user messages.")
    if isinstance(actor, SystemActor) and from_user_id is None:
        raise Invalid("Say which end user the message is from.")
    ticket = load_ticket(session, actor, ticket_id)
    while ticket.merged_into_id is not None:
        merged = ticket.number
        ticket = load_ticket(session, SystemActor(), ticket.merged_into_id)
        # Merging made the requester and the copied people part of the surviving ticket; anyone else who could
        # see the merged one (an organization colleague) must not be let into another customer's ticket.
        if isinstance(actor, UserActor) and not can_see(session, replace(actor, only_ticket_id=None), ticket):
            raise Invalid(f"Ticket {merged} was merged into a ticket you are not part of: please open a new ticket.")
    author_id = actor.id if isinstance(actor, UserActor) else from_user_id
    moment = now()
    status = session.get(Status, ticket.status_id)
    assert status is not None
    if status.state != StatusState.OPEN and not status.allows_reopen:
        raise Invalid(f"Ticket {ticket.number} is {status.name.lower()} and cannot be reopened; open a new ticket.")
    add_entry(
        session,
        ticket,
        EntryKind.MESSAGE,
        body,
        body_html=body_html,
        attachments=attachments,
        at=moment,
        user_id=author_id,
        sender_unverified=unverified,
    )
    ticket.answered = False
    ticket.last_message_at = ticket.updated_at = moment
    reopen_to = None
    if status.state != StatusState.OPEN:
        reopen_to = session.get(Status, status.reopen_status_id or settings.get(session, "ticket.default_status_id"))
    _announce(session, actor, ticket, EntryKind.MESSAGE, reopen_to, moment)
    from desk.services import rules  # the rules act through this module's services

    rules.on_message(session, ticket, arrival or rules.arrival_of(actor), author_id, body, moment)
    outbound.on_message(session, ticket, body)
    return ticket


add_message = command(with_view(new_message, "add_message"))


@command
def edit_entry(session: Session, actor: Actor, entry_id: int, body: str, *, body_html: str | None = None) -> TicketView:
    """Correct an entry's text; the text before the edit is kept as a revision."""
    agent = require_agent(actor)
    entry = session.get(ThreadEntry, entry_id)
    if entry is None:
        raise NotFound(f"Thread entry {entry_id} does not exist.")
    ticket = load_ticket(session, actor, entry.ticket_id)
    require_perm(actor, ticket, Perm.THREAD_EDIT, "edit thread entries")
    if not body.strip():
        raise Invalid("An entry cannot be emptied.", {"body": "Keep some text."})
    require_storable(body, body_html)
    if body == entry.body_text and richtext.sanitize_html(body_html) == entry.body_html:
        return ticket_view(session, ticket, actor)
    moment = now()
    session.add(
        EntryRevision(
            entry_id=entry.id,
            body_text=entry.body_text,
            body_html=entry.body_html,
            replaced_at=moment,
            replaced_by_id=agent.id,
        )
    )
    entry.body_text, entry.body_html = body, richtext.sanitize_html(body_html)
    entry.edited_at, entry.edited_by_id = moment, agent.id
    session.flush()
    search.refresh_document(session, ticket.id)
    record_event(session, actor, ticket, EventKind.ENTRY_EDITED, {"entry_id": entry.id}, at=moment)
    return ticket_view(session, ticket, actor)


@query
def entry_revisions(session: Session, actor: Actor, entry_id: int) -> tuple[EntryView, ...]:
    """Earlier texts of an edited entry, oldest first (agents only)."""
    require_agent(actor)
    entry = session.get(ThreadEntry, entry_id)
    if entry is None:
        raise NotFound(f"Thread entry {entry_id} does not exist.")
    load_ticket(session, actor, entry.ticket_id)
    revisions = session.scalars(
        select(EntryRevision).where(EntryRevision.entry_id == entry_id).order_by(EntryRevision.id)
    )
    author = entry_author(session, entry)  # the words were the original author's until replaced
    return tuple(
        EntryView(
            id=entry.id,
            kind=EntryKind(entry.kind),
            author_kind=author[0],
            author=author[1],
            created_at=revision.replaced_at,
            body_text=revision.body_text,
            body_html=richtext.sanitize_html(revision.body_html),  # stored under an older policy, perhaps
        )
        for revision in revisions
    )


@query
def attachment_content(session: Session, actor: Actor, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """An attachment's content, if the actor may see the entry it belongs to."""
    attachment = session.get(Attachment, attachment_id)
    entry = session.get(ThreadEntry, attachment.entry_id) if attachment else None
    if attachment is None or entry is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    load_ticket(session, actor, entry.ticket_id)
    if isinstance(actor, UserActor) and entry.kind == EntryKind.NOTE:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    blob = session.get(Blob, attachment.sha256)
    assert blob is not None
    view = attachment_view(
        attachment.id,
        attachment.name,
        attachment.content_type,
        attachment.size,
        attachment.sha256,
        attachment.content_id,
    )
    return view, blob.data


MAX_PICTURES = 100  # at one call: the pictures shown in place in one thread


@query
def pictures(
    session: Session, actor: Actor, ticket_id: int, attachment_ids: tuple[int, ...]
) -> tuple[tuple[int, bytes], ...]:
    """The content of those of the ticket's attachments that its thread shows in place (`cid:` pictures of a type
    and size shown in place: desk.domain.attachments.picture_type), for a reader that cannot fetch each one by
    address (the agent's window); any other id is left out, as is an end user's look at an internal note."""
    if len(attachment_ids) > MAX_PICTURES:
        raise Invalid(f"Ask for at most {MAX_PICTURES} pictures at a time.")
    load_ticket(session, actor, ticket_id)
    statement = (
        select(Attachment.id, Attachment.name, Attachment.size, Blob.data)
        .join(ThreadEntry, ThreadEntry.id == Attachment.entry_id)
        .join(Blob, Blob.sha256 == Attachment.sha256)
        .where(
            ThreadEntry.ticket_id == ticket_id,
            Attachment.id.in_(attachment_ids),
            Attachment.content_id.is_not(None),
        )
        .order_by(Attachment.id)
    )
    if isinstance(actor, UserActor):
        statement = statement.where(ThreadEntry.kind != EntryKind.NOTE.value)
    return tuple(
        (attachment_id, data)
        for attachment_id, name, size, data in session.execute(statement)
        if picture_type(name, size) is not None
    )
