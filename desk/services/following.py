"""Following tickets: an agent follows a ticket they may see, by choice or because another agent mentioned them
(`@username`) in an internal note; followers are mailed when the requester writes and find the ticket in their
Following queue.

Following is the agent's own business, like a saved search: it writes no thread event and does not change the
ticket (nor its version, so no one's reply conflicts with it), but a change-feed row, so that the agent's other
windows and queues see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain import mentions
from desk.domain.enums import ActorKind
from desk.domain.permissions import Actor, AgentActor
from desk.domain.views import TicketView
from desk.services.accounts import agent_actor
from desk.services.base import command, load_ticket, now, require_agent
from desk.services.mail import outbound
from desk.services.views import ticket_view
from desk.storage import changes
from desk.storage.models import Agent, Follower, Ticket

ASPECT = "followers"  # the change-feed aspect of a follow or unfollow


@command
def follow(session: Session, actor: Actor, ticket_id: int) -> TicketView:
    """Follow a ticket one may see (NotFound otherwise); following it again changes nothing."""
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    if _add(session, ticket.id, agent.id, now()):
        changes.record(session, ticket.id, ASPECT, ActorKind.AGENT, agent.id, now())
    return ticket_view(session, ticket, actor)


@command
def unfollow(session: Session, actor: Actor, ticket_id: int) -> TicketView:
    """Stop following a ticket one may see (NotFound otherwise); unfollowing one not followed changes nothing."""
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    gone = session.execute(delete(Follower).where(Follower.ticket_id == ticket.id, Follower.agent_id == agent.id))
    if gone.rowcount:  # type: ignore[attr-defined]  # a DELETE answers a CursorResult
        changes.record(session, ticket.id, ASPECT, ActorKind.AGENT, agent.id, now())
    return ticket_view(session, ticket, actor)


def on_note(session: Session, author: AgentActor, ticket: Ticket, text: str, at: datetime) -> None:
    """The agents an internal note mentions (`desk.domain.mentions`) follow the ticket and are mailed about it:
    active agents who may see it, other than the author. Anyone else named is passed over without a trace: the
    note is the author's text, and nothing tells an agent who may not see the ticket that it exists."""
    candidates = mentions.mentioned(text)
    if not candidates:
        return
    with session.no_autoflush:
        agents = {
            agent.username: agent
            for agent in session.scalars(
                select(Agent).where(Agent.username.in_(candidates), Agent.active.is_(True), Agent.id != author.id)
            )
        }
    told: list[Agent] = []
    for username in mentions.resolve(text, frozenset(agents)):
        agent = agents[username]
        if agent_actor(session, agent).can_see(ticket.department_id, ticket.assignee_id, ticket.team_id):
            _add(session, ticket.id, agent.id, at)
            told.append(agent)
    outbound.on_mentioned(session, ticket, told, author.name, text)


def _add(session: Session, ticket_id: int, agent_id: int, at: datetime) -> bool:
    """Make the agent a follower; False when they follow already (or came to, in a concurrent call)."""
    if session.get(Follower, (ticket_id, agent_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Follower(ticket_id=ticket_id, agent_id=agent_id, since=at))
    except IntegrityError:
        return False
    return True
