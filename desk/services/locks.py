"""Ticket locks: who is writing a reply to a ticket right now, so two agents do not answer the same customer.

The lock is advisory. It says "Jane Doe is replying to this ticket (until 14:05)" to everyone else and lets a
role that may reassign the ticket take it over; it never blocks a send or a field change, because the version
check of every ticket change (`base.check_version`) is what prevents lost updates.

An agent takes the lock when they start writing, renews it while typing and releases it on send or when they
leave the ticket; a lock left behind by a crashed client expires after `ticket.lock_minutes` (0 turns locking
off). Locks held by agents who only browsed a ticket were a standing osTicket complaint (osTicket#1434), which is
why nothing here is taken when a ticket is merely opened.

Who may take a lock over: admins, and agents whose role grants `ticket.assign` in the ticket's department (in
effect, whoever may give the ticket to someone else may also take the reply from them).

Every call is one short transaction and race-safe on SQLite, PostgreSQL and MariaDB without reading first: the
lock row is claimed by a conditional UPDATE (ours already, or expired) and else by an INSERT that the primary key
on `ticket_id` lets only one agent win; the loser reads the winner's row and gets `Locked`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from desk.domain.errors import Locked
from desk.domain.permissions import Actor, AgentActor, Perm
from desk.domain.views import LockView, Ref
from desk.services import settings
from desk.services.base import command, load_ticket, now, query, require_agent, require_perm
from desk.storage.models import Agent, Ticket, TicketLock

_INSERT_ATTEMPTS = 3  # an expired row can be deleted or renewed between our UPDATE and INSERT; try again then


@command
def acquire(session: Session, actor: Actor, ticket_id: int) -> LockView | None:
    """Take the ticket's lock for `ticket.lock_minutes`, or renew it when the agent holds it already.

    Returns the lock, or None when locking is turned off (`ticket.lock_minutes` is 0). Raises `Locked` naming the
    holder and until when, if another agent holds an unexpired lock.
    """
    return _claim(session, actor, ticket_id)


@command
def renew(session: Session, actor: Actor, ticket_id: int) -> LockView | None:
    """Extend the agent's lock while they type: the same statement as `acquire`, so a lock that expired or was
    taken over meanwhile is taken again if free, and `Locked` names the new holder if not."""
    return _claim(session, actor, ticket_id)


@command
def take_over(session: Session, actor: Actor, ticket_id: int) -> LockView | None:
    """Take the lock whoever holds it; for admins and agents with `ticket.assign` in the ticket's department.

    The previous holder learns it on their next renewal, which then raises `Locked` naming the new holder; their
    text stays in their composer. Returns None when locking is turned off.
    """
    agent, ticket = _writer(session, actor, ticket_id)
    require_perm(agent, ticket, Perm.TICKET_ASSIGN, "take over another agent's reply")
    term = _term(session)
    if term is None:
        return None
    moment, until = term
    for _ in range(_INSERT_ATTEMPTS):
        if _update(session, ticket.id, agent.id, moment, until) or _insert(session, ticket.id, agent.id, moment, until):
            return LockView(ticket_id=ticket.id, agent=Ref(agent.id, agent.name), expires_at=until)
    raise AssertionError("the ticket lock kept changing hands while it was taken over")  # pragma: no cover


@command
def release(session: Session, actor: Actor, ticket_id: int) -> None:
    """Give up the agent's lock on the ticket; a no-op when they do not hold it (sent, expired or taken over)."""
    agent = require_agent(actor)
    load_ticket(session, agent, ticket_id)
    session.execute(
        delete(TicketLock)
        .where(TicketLock.ticket_id == ticket_id, TicketLock.agent_id == agent.id)
        .execution_options(synchronize_session=False)
    )


@query
def holder(session: Session, actor: Actor, ticket_id: int) -> LockView | None:
    """Who holds the ticket's lock now (the agent themselves included), or None when it is free or expired."""
    agent = require_agent(actor)
    ticket = load_ticket(session, agent, ticket_id)
    return _current(session, ticket.id, now())


# --- helpers ------------------------------------------------------------------------------------------------------


def _claim(session: Session, actor: Actor, ticket_id: int) -> LockView | None:
    agent, ticket = _writer(session, actor, ticket_id)
    term = _term(session)
    if term is None:
        return None
    moment, until = term
    for _ in range(_INSERT_ATTEMPTS):
        # Ours already, or expired: the row lock taken by UPDATE serialises agents racing for an expired lock, and
        # the WHERE is evaluated again on the winner's row (PostgreSQL re-check, InnoDB semi-consistent read).
        free = or_(TicketLock.agent_id == agent.id, TicketLock.expires_at <= moment)
        if _update(session, ticket.id, agent.id, moment, until, free):
            return LockView(ticket_id=ticket.id, agent=Ref(agent.id, agent.name), expires_at=until)
        if _insert(session, ticket.id, agent.id, moment, until):
            return LockView(ticket_id=ticket.id, agent=Ref(agent.id, agent.name), expires_at=until)
        current = _current(session, ticket.id, moment)
        if current is not None and current.agent.id != agent.id:
            raise _locked(current, agent, ticket)
    raise AssertionError("the ticket lock kept changing hands while it was taken")  # pragma: no cover


def _writer(session: Session, actor: Actor, ticket_id: int) -> tuple[AgentActor, Ticket]:
    """The agent and the ticket, when the agent may see it and reply to it (a lock is held to write a reply)."""
    agent = require_agent(actor)
    ticket = load_ticket(session, agent, ticket_id)
    require_perm(agent, ticket, Perm.TICKET_REPLY, "reply to this ticket")
    return agent, ticket


def _term(session: Session) -> tuple[datetime, datetime] | None:
    """Now and until when a lock taken now lasts; None when locking is turned off (`ticket.lock_minutes` = 0)."""
    minutes = int(settings.get(session, "ticket.lock_minutes") or 0)
    if minutes <= 0:
        return None
    moment = now()
    return moment, moment + timedelta(minutes=minutes)


def _update(
    session: Session, ticket_id: int, agent_id: int, moment: datetime, until: datetime, *where: ColumnElement[bool]
) -> bool:
    """Make the ticket's existing lock row the agent's (if it matches `where`); False when no row matched."""
    result = session.execute(
        update(TicketLock)
        .where(TicketLock.ticket_id == ticket_id, *where)
        .values(agent_id=agent_id, acquired_at=moment, expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _insert(session: Session, ticket_id: int, agent_id: int, moment: datetime, until: datetime) -> bool:
    """Insert the lock row; False when a row exists already (another agent's, possibly inserted a moment ago).

    A savepoint keeps the transaction usable after the duplicate key (PostgreSQL aborts the whole transaction
    otherwise). On the servers a concurrent uncommitted insert makes this wait for that transaction's outcome.
    """
    try:
        with session.begin_nested():
            session.execute(
                insert(TicketLock).values(ticket_id=ticket_id, agent_id=agent_id, acquired_at=moment, expires_at=until)
            )
    except IntegrityError:
        return False
    return True


def _current(session: Session, ticket_id: int, moment: datetime) -> LockView | None:
    row = session.execute(
        select(TicketLock.agent_id, Agent.name, TicketLock.expires_at)
        .join(Agent, Agent.id == TicketLock.agent_id)
        .where(TicketLock.ticket_id == ticket_id, TicketLock.expires_at > moment)
    ).first()
    if row is None:
        return None
    return LockView(ticket_id=ticket_id, agent=Ref(row.agent_id, row.name), expires_at=row.expires_at)


def _locked(current: LockView, agent: AgentActor, ticket: Ticket) -> Locked:
    can_take_over = Perm.TICKET_ASSIGN in agent.perms_on(ticket.department_id, ticket.assignee_id, ticket.team_id)
    return Locked(
        f"{current.agent.name} is replying to ticket {ticket.number} until "
        f"{current.expires_at:%H:%M} UTC. You can still write and send; your text is kept.",
        holder_id=current.agent.id,
        holder_name=current.agent.name,
        until=current.expires_at,
        can_take_over=can_take_over,
    )
