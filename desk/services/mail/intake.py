"""Incoming mail: stored raw first, then threaded into a ticket in one transaction, or kept aside — never dropped.

`store` keeps the bytes (once per Message-ID) before anything reads them; `process` turns one stored message into
a new ticket, a message on its ticket or an agent's internal note, or marks it ignored (automatic mail), rejected
(banned sender) or quarantined (cannot be parsed or posted), with the reason. Administrators list the quarantine
and retry a message once the cause is fixed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain import mailthread
from desk.domain.attachments import types_text
from desk.domain.enums import CollaboratorRole, InboundState, SenderCheck, StatusState, TicketSource
from desk.domain.errors import DeskError, Invalid, NotFound, Rejected
from desk.domain.permissions import Actor, Right, SystemActor
from desk.domain.rules import Arrival, Channel
from desk.domain.views import InboundView
from desk.services import entries, reference, tickets
from desk.services.accounts import agent_actor, find_or_create_user, require_right
from desk.services.base import command, now, query
from desk.services.mail.outbound import mail_secret
from desk.services.mail.parse import (
    ParsedMail,
    Unparseable,
    conversation_of,
    header_text,
    message_id_of,
    parse,
    read_headers,
    sender_of,
)
from desk.storage.db import Database
from desk.storage.models import (
    Agent,
    Collaborator,
    InboundMessage,
    Mailbox,
    OutboxMessage,
    Status,
    Ticket,
    User,
)

PER_TRANSACTION = 20  # messages threaded per transaction: on SQLite agents' writes wait no longer than ~0.1 s
WAIT = 0.05  # seconds before claiming again messages that wait for another worker's batch
FLUSH_BYTES = 8 << 20  # stored messages sent to the database together, at most (one statement may carry them)

log = logging.getLogger("desk.mail")


def store(db: Database, mailbox_id: int | None, uid: int | None, raw: bytes) -> int | None:
    """Keep a fetched message's bytes; None when a message with its Message-ID is stored already.

    A message bigger than the database takes in one value (see `fits`) keeps only its headers here, quarantined
    with the reason; the fetcher then leaves the message itself on the mail server.
    """
    return store_many(db, mailbox_id, [(uid, raw)])[0]


def store_many(db: Database, mailbox_id: int | None, messages: Seq[tuple[int | None, bytes]]) -> list[int | None]:
    """`store` for a fetched chunk in one transaction: each message's id, None for one stored already."""
    return _store(db, [_stored(mailbox_id, uid, raw, fits(db, raw)) for uid, raw in messages])


def fits(db: Database, raw: bytes) -> bool:
    return len(raw) <= db.max_value_bytes


def _stored(mailbox_id: int | None, uid: int | None, raw: bytes, whole: bool) -> dict[str, Any]:
    """The row of a fetched message (its headers read here, before the transaction)."""
    return {
        "mailbox_id": mailbox_id,
        "uid": uid,
        "message_id": message_id_of(raw),
        "raw": raw if whole else raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:65536],
        "size": len(raw),
        "state": InboundState.NEW.value if whole else InboundState.QUARANTINED.value,
        "reason": None
        if whole
        else (
            f"The message is {len(raw):,} bytes, more than the database accepts in one value; it was left on the "
            "mail server (marked seen). Raise the server's max_allowed_packet (MariaDB) and retry, or forward it "
            "without the large attachments."
        ),
    }


@command
def _store(session: Session, rows: list[dict[str, Any]]) -> list[int | None]:
    wanted = [row["message_id"] for row in rows]
    known = set(session.scalars(select(InboundMessage.message_id).where(InboundMessage.message_id.in_(wanted))))
    moment = now()
    fresh: dict[int, dict[str, Any]] = {}  # position in `rows` -> the row to add
    for position, row in enumerate(rows):
        if row["message_id"] not in known:
            known.add(row["message_id"])
            fresh[position] = row
    try:
        with session.begin_nested():  # together: one statement per few megabytes
            added = {position: InboundMessage(**row, received_at=moment) for position, row in fresh.items()}
            size = 0
            for message in added.values():
                session.add(message)
                size += message.size
                if size > FLUSH_BYTES:
                    session.flush()
                    size = 0
    except IntegrityError:  # one of them stored meanwhile by a concurrent fetch of another mailbox: one at a time
        added = {}
        for position, row in fresh.items():
            try:
                with session.begin_nested():
                    message = InboundMessage(**row, received_at=moment)
                    session.add(message)
            except IntegrityError:
                continue
            added[position] = message
    return [added[position].id if position in added else None for position in range(len(rows))]


@command
def process(session: Session, inbound_id: int) -> InboundState:
    """Thread one stored message. Locked while it is processed, so two workers never post it twice."""
    row = session.execute(
        select(InboundMessage.state, InboundMessage.mailbox_id, InboundMessage.raw)
        .where(InboundMessage.id == inbound_id)
        .with_for_update()
    ).one_or_none()
    if row is None or row.state != InboundState.NEW.value:
        return InboundState(row.state) if row else InboundState.DONE
    return _thread(session, inbound_id, row.mailbox_id, _read(session, row.raw))


@dataclass(frozen=True)
class _Read:
    """A stored message as read before it is threaded: parsed, or why it cannot be."""

    mail: ParsedMail | None
    problem: str | None = None

    @property
    def conversation(self) -> frozenset[str]:
        return self.mail.conversation if self.mail is not None else frozenset()


def _read(session: Session, raw: bytes) -> _Read:
    ours, rules = _our_addresses(session), reference.rules(session)
    try:
        domains = tuple({address.rpartition("@")[2] for address in ours.mailboxes})
        return _Read(parse(raw, max_attachment=rules.max_bytes, attachment_types=rules.types, our_domains=domains))
    except Unparseable as error:
        return _Read(None, str(error))
    except Exception as error:  # a parser bug on one strange message must not stop the fetch: keep it aside
        return _Read(None, f"The message could not be read ({type(error).__name__}: {error}).")


def _thread(session: Session, inbound_id: int, mailbox_id: int | None, read: _Read) -> InboundState:
    """Post one claimed message, and record what became of it on its row (one statement)."""
    ticket_id, (state, reason) = None, _outcome(session, read)
    if state is InboundState.DONE:
        assert read.mail is not None
        try:
            with session.begin_nested():  # a refusal leaves nothing of this message behind
                mailbox = session.get(Mailbox, mailbox_id) if mailbox_id else None
                ticket_id = _post(session, read.mail, mailbox)
        except Rejected as rejected:  # by a rule: the mail is kept, rejected, and no ticket opened
            rejected.keep(session, copy=False)
            state, reason = InboundState.REJECTED, rejected.reason
        except DeskError as error:
            state, reason = InboundState.QUARANTINED, str(error)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(
            state=state.value,
            reason=reason,
            ticket_id=ticket_id,
            attempts=InboundMessage.attempts + 1,
            processed_at=now(),
        )
        .execution_options(synchronize_session=False)
    )
    return state


def _outcome(session: Session, read: _Read) -> tuple[InboundState, str | None]:
    """What becomes of a message before it is posted: DONE means post it (with the reason to record)."""
    mail = read.mail
    if mail is None:
        return InboundState.QUARANTINED, read.problem
    if mail.sender in _our_addresses(session).mailboxes or (
        mail.automatic and mail.automatic not in mailthread.POSTED_QUIETLY
    ):
        return InboundState.IGNORED, f"Not answered: {mail.automatic or 'sent by one of our mailboxes'}."
    if session.scalar(select(User.banned).where(User.email == mail.sender)):
        return InboundState.REJECTED, f"{mail.sender} is banned."
    return InboundState.DONE, f"Posted without automatic answers: {mail.automatic}." if mail.automatic else None


@command
def _quarantine(session: Session, inbound_id: int, reason: str) -> None:
    row = session.get(InboundMessage, inbound_id, with_for_update=True)
    if row is not None and row.state == InboundState.NEW.value:
        row.state, row.reason = InboundState.QUARANTINED.value, reason


@dataclass(frozen=True)
class _Ours:
    mailboxes: frozenset[str]
    agents: dict[str, bool]  # every agent's address: is the agent active


def _our_addresses(session: Session) -> _Ours:
    """Our mailboxes' and agents' addresses, read once per transaction (a batch threads several messages)."""
    ours: _Ours | None = session.info.get("desk.our_addresses")
    if ours is None:
        ours = session.info["desk.our_addresses"] = _Ours(
            frozenset(session.scalars(select(Mailbox.address))),
            {email: active for email, active in session.execute(select(Agent.email, Agent.active))},
        )
    return ours


def _post(session: Session, mail: ParsedMail, mailbox: Mailbox | None) -> int:
    """Post the mail where it belongs; the ticket's id."""
    ticket, by_sender = thread(session, mail)
    text = _with_skipped(mail, reference.rules(session).types)
    agent = (
        session.scalar(select(Agent).where(Agent.email == mail.sender))
        if _our_addresses(session).agents.get(mail.sender)
        else None
    )
    if ticket is not None and not _may_reopen(session, ticket):
        ticket = None  # a reply to a ticket that stays closed starts a new one
    # Posting as an agent, or into a ticket found by who the sender says they are, takes more than a From header.
    unverified = ticket is not None and (agent is not None or by_sender) and not sender_verified(mail, mailbox)
    if unverified:
        agent = None
    if ticket is not None and agent is not None:
        view = entries.mailed_note(
            session, agent_actor(session, agent), ticket.id, text, body_html=mail.html, attachments=mail.attachments
        )
        return view.id
    if ticket is not None:
        # Someone not on the ticket who answers in its thread is posted, but not given access to the ticket: an
        # agent adds them as a collaborator when they belong (the thread may have reached a mailing list).
        user = find_or_create_user(session, mail.sender, mail.sender_name)
        return entries.new_message(
            session,
            SystemActor(),
            ticket.id,
            text,
            body_html=mail.html,
            attachments=mail.attachments,
            from_user_id=user.id,
            unverified=unverified,
            arrival=Arrival(Channel.MAIL, mailbox.id if mailbox else None),
        ).id
    ticket_id = tickets.new_ticket(
        session,
        SystemActor(),
        subject=mail.subject[:255],
        body=text,
        body_html=mail.html,
        requester_email=mail.sender,
        requester_name=mail.sender_name or None,
        source=TicketSource.EMAIL,
        topic_id=mailbox.topic_id if mailbox else None,
        department_id=mailbox.department_id if mailbox and not mailbox.topic_id else None,
        attachments=mail.attachments,
        arrival=Arrival(Channel.MAIL, mailbox.id if mailbox else None),
    ).id
    auto_responses = (OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "auto_response")
    if mail.automatic:  # list mail and the like is posted, never answered
        session.execute(delete(OutboxMessage).where(*auto_responses))
    else:  # the auto-response answers the mail that opened the ticket: the requester's client shows them together
        session.execute(
            update(OutboxMessage)
            .where(*auto_responses)
            .values(in_reply_to=mail.message_id, reference_ids=mail.message_id)
        )
    _copy_cc(session, ticket_id, mail, mailbox)
    return ticket_id


def sender_verified(mail: ParsedMail, mailbox: Mailbox | None) -> bool:
    """Whether the mail is from the address in its From header, as its mailbox's sender check decides (mail with no
    mailbox is checked as a new mailbox is: never verified without the receiving server's word)."""
    check = mailbox.sender_check if mailbox is not None else SenderCheck.REQUIRED.value
    if check == SenderCheck.TRUSTED_RELAY.value:
        return True
    if check == SenderCheck.REQUIRED.value and mailbox is not None and mailbox.auth_server:
        return mailthread.sender_authenticated(mail.authentication, mailbox.auth_server, mail.sender)
    return False


def thread(session: Session, mail: ParsedMail) -> tuple[Ticket | None, bool]:
    """The ticket a mail answers, in order of trust, and whether it was found by who the sender says they are
    (their From address); None for a new one.

    1. Our own signed Message-ID in In-Reply-To or References (only we can make one).
    2. Any Message-ID we stored, sent or received, in In-Reply-To or References.
    3. A ticket number tag in the subject, when the sender is its requester, a collaborator or an agent —
       never for a stranger, who could otherwise write into anyone's ticket by guessing a number. Of several
       tags, the first that names such a ticket of ours (another help desk's tag may stand before ours).
    """
    referenced = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    secret = mail_secret(session)
    for message_id in referenced:
        ticket_id = mailthread.signed_ticket_id(secret, message_id)
        ticket = session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is not None:
            return ticket, False
    if referenced:
        known: dict[str, int] = {}
        for model in (InboundMessage, OutboxMessage):
            rows = session.execute(
                select(model.message_id, model.ticket_id).where(
                    model.message_id.in_(referenced), model.ticket_id.is_not(None)
                )
            )
            known.update({message_id: ticket_id for message_id, ticket_id in rows if ticket_id is not None})
        for message_id in referenced:  # the mail answered first, then the newest reference
            if message_id in known:
                return session.get(Ticket, known[message_id]), False
    numbers = mailthread.subject_numbers(mail.subject)
    if not numbers:
        return None, False
    agent = _our_addresses(session).agents.get(mail.sender)  # an active agent
    sender = None if agent else session.scalar(select(User.id).where(User.email == mail.sender))
    tagged = session.scalars(select(Ticket).where(Ticket.number.in_(numbers))).all()
    for ticket in sorted(tagged, key=lambda t: numbers.index(t.number)):
        if agent or (sender is not None and _involved(session, ticket, sender)):
            return ticket, True
    return None, False


def _involved(session: Session, ticket: Ticket, user_id: int) -> bool:
    return ticket.requester_id == user_id or session.get(Collaborator, (ticket.id, user_id)) is not None


def _may_reopen(session: Session, ticket: Ticket) -> bool:
    status = session.get(Status, ticket.status_id)
    return status is not None and (status.state == StatusState.OPEN or status.allows_reopen)


def _with_skipped(mail: ParsedMail, types: tuple[str, ...]) -> str:
    """The text, saying which attachments were too big to keep or of types not accepted (the message is kept; the
    agent asks for the file another way)."""
    text = mail.text.strip()
    if too_big := ", ".join(f"{s.name} ({s.size:,} bytes)" for s in mail.skipped if not s.wrong_type):
        text += f"\n\n[Attachments over the size limit were not kept: {too_big}]"
    if wrong := ", ".join(f"{s.name} ({s.size:,} bytes)" for s in mail.skipped if s.wrong_type):
        text += f"\n\n[Attachments of types not accepted were not kept: {wrong}; accepted: {types_text(types)}]"
    if not text.strip():
        text = "(no text)" if not mail.attachments else "(no text; see the attachments)"
    return text.strip()


def _copy_cc(session: Session, ticket_id: int, mail: ParsedMail, mailbox: Mailbox | None) -> None:
    """People the requester copied become collaborators, so replies reach them too (not our own addresses)."""
    ours = _our_addresses(session)
    for address in dict.fromkeys([*mail.cc, *mail.to]):
        if address in ours.mailboxes or address in ours.agents or address == mail.sender:
            continue
        try:
            user = find_or_create_user(session, address, None)
        except DeskError:  # a banned address is simply not copied
            continue
        if session.get(Collaborator, (ticket_id, user.id)) is None:
            session.add(Collaborator(ticket_id=ticket_id, user_id=user.id, role=CollaboratorRole.CC.value))


def process_pending(db: Database, keep_alive: Callable[[], None] = lambda: None) -> dict[InboundState, int]:
    """Thread every stored message not yet processed, oldest first, PER_TRANSACTION at a time; counts by outcome.

    Any number of workers may run this at once (see `_process_batch`). A batch the database refuses is done again
    one message at a time, and a message that still fails is quarantined with the error: one bad message never
    holds up the ones behind it. Returns when nothing is left that no other worker holds.
    """
    outcome: dict[InboundState, int] = {}
    while True:
        keep_alive()
        claimed: list[int] = []
        try:
            states = _process_batch(db, _read_ahead(db), claimed)
        except Exception:  # found out message by message below
            states = [_process_alone(db, inbound_id) for inbound_id in claimed]
        if not claimed:  # none left that no other worker holds
            return outcome
        if not states:  # all of them wait for earlier ones of their conversations, in other workers' hands
            time.sleep(WAIT)
        for state in states:
            outcome[state] = outcome.get(state, 0) + 1


def _read_ahead(db: Database) -> dict[int, _Read]:
    """On SQLite, the next batch parsed before its write transaction (which holds the one write lock agents wait
    for). Servers parse in the transaction instead, after claiming and before writing: the claim holds no one up,
    and two workers never parse the same messages."""
    if db.dialect != "sqlite":
        return {}
    with db.transaction(write=False) as session:
        rows = session.execute(_oldest_new().with_only_columns(InboundMessage.id, InboundMessage.raw)).all()
        return {inbound_id: _read(session, raw) for inbound_id, raw in rows}


def _oldest_new() -> Select[int, int | None]:
    return (
        select(InboundMessage.id, InboundMessage.mailbox_id)
        .where(InboundMessage.state == InboundState.NEW.value)
        .order_by(InboundMessage.id)
        .limit(PER_TRANSACTION)
    )


@command
def _process_batch(session: Session, ready: dict[int, _Read], claimed: list[int]) -> list[InboundState]:
    """Claim the oldest new messages no other worker holds and thread them in order; `claimed` says which.

    Several workers at once (PostgreSQL, MariaDB): each claims its batch with FOR UPDATE SKIP LOCKED, so no
    message is taken twice, and a worker that dies lets go of its batch as its transaction ends (nothing of it
    was written). Order within a conversation: a message waits (is left new, for a later batch) while an earlier
    message that may belong to its conversation (`ParsedMail.conversation`) is held by another worker, or waits
    itself. SQLite has one writer: workers take turns, and each batch sees every earlier one done.
    """
    rows = session.execute(_oldest_new().with_for_update(skip_locked=True)).all()
    claimed[:] = [inbound_id for inbound_id, _ in rows]
    if not rows:
        return []
    unread = [inbound_id for inbound_id in claimed if inbound_id not in ready]
    reads = dict(ready)
    if unread:
        raws = session.execute(select(InboundMessage.id, InboundMessage.raw).where(InboundMessage.id.in_(unread)))
        reads.update({inbound_id: _read(session, raw) for inbound_id, raw in raws})
    held = session.execute(  # earlier messages other workers are threading now
        select(InboundMessage.id, InboundMessage.raw).where(
            InboundMessage.state == InboundState.NEW.value,
            InboundMessage.id < claimed[-1],
            InboundMessage.id.not_in(claimed),
        )
    ).all()
    waiting: dict[int, frozenset[str]] = {inbound_id: conversation_of(raw) for inbound_id, raw in held}
    states = []
    for inbound_id, mailbox_id in rows:
        read = reads[inbound_id]
        if any(read.conversation & keys for earlier, keys in waiting.items() if earlier < inbound_id):
            waiting[inbound_id] = read.conversation
            continue
        states.append(_thread(session, inbound_id, mailbox_id, read))
    return states


def _process_alone(db: Database, inbound_id: int) -> InboundState:
    try:
        return process(db, inbound_id)
    except Exception as error:  # a database refusal of this one message (a value too long, …): kept aside
        log.exception("incoming message %s could not be posted", inbound_id)
        cause = getattr(error, "orig", None) or error  # the database's words, without the statement and its data
        first_line = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else ""
        _quarantine(db, inbound_id, f"The message could not be posted ({type(cause).__name__}: {first_line}).")
        return InboundState.QUARANTINED


# --- the quarantine, for administrators -------------------------------------------------------------------------


def _view(row: InboundMessage) -> InboundView:
    headers = read_headers(row.raw[:65536])
    sender = sender_of(headers)[1] or "(no sender)"
    subject = header_text(headers, "Subject")
    return InboundView(
        id=row.id,
        received_at=row.received_at,
        sender=sender,
        subject=" ".join(subject.split()) or "(no subject)",
        state=row.state,
        reason=row.reason,
        size=row.size,
        ticket_id=row.ticket_id,
    )


@query
def quarantined(
    session: Session, actor: Actor, *, state: InboundState = InboundState.QUARANTINED, limit: int = 200
) -> list[InboundView]:
    """Incoming mail kept aside, newest first: quarantined, or (`state`) ignored as automatic or rejected."""
    require_right(actor, Right.ADMIN)
    rows = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.state == state.value)
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    return [_view(row) for row in rows]


@command
def release(session: Session, actor: Actor, inbound_id: int) -> None:
    """Put a quarantined message back in line; `retry` processes it at once."""
    require_right(actor, Right.ADMIN)
    row = _quarantined(session, inbound_id)
    if row.size > len(row.raw):  # only its headers are here: the next fetch takes the whole message again
        mailbox = session.get(Mailbox, row.mailbox_id) if row.mailbox_id else None
        if mailbox is None or row.uid is None:
            raise Invalid("Only this message's headers were kept, and its mailbox is gone: forward it again.")
        mailbox.last_uid = min(mailbox.last_uid, row.uid - 1)
        session.delete(row)
        return
    row.state, row.reason = InboundState.NEW.value, None


def _quarantined(session: Session, inbound_id: int) -> InboundMessage:
    row = session.get(InboundMessage, inbound_id, with_for_update=True)
    if row is None or row.state != InboundState.QUARANTINED.value:
        raise NotFound(f"No quarantined message {inbound_id}: it may have been retried or discarded meanwhile.")
    return row


@query
def raw_message(session: Session, actor: Actor, inbound_id: int) -> bytes:
    """A fetched message as it arrived (headers and body), for an administrator to see why it was set aside."""
    require_right(actor, Right.ADMIN)
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound(f"There is no fetched message {inbound_id}.")
    return row.raw


@command
def discard(session: Session, actor: Actor, inbound_id: int) -> InboundView:
    """Set a quarantined message aside for good; it is kept (with its raw bytes) as the record of what arrived."""
    require_right(actor, Right.ADMIN)
    row = _quarantined(session, inbound_id)
    row.state = InboundState.DISCARDED.value
    row.reason = f"Discarded by {actor.name}. {row.reason or ''}".strip()
    return _view(row)


def retry(db: Database, actor: Actor, inbound_id: int) -> InboundView | None:
    """Process a quarantined message again (after a fix or a setting change); what became of it. None: only its
    headers were kept, and the next fetch takes the message from the mail server again."""
    release(db, actor, inbound_id)
    process(db, inbound_id)
    with db.transaction(write=False) as session:
        row = session.get(InboundMessage, inbound_id)
        return _view(row) if row is not None else None
