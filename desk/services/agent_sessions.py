"""Agents signed in to `desk serve`: each Desk holds a session secret, the server only its SHA-256.

Sign-in goes through `accounts.authenticate_agent` (argon2id, the lockout and the login audit, the directory where
one is set up). Every call the window makes through the server presents the secret and gets the agent's current
access back, so a change of role, a deactivation or an administrator ending the session counts from the next call.
A session ends when it has been idle for `sessions.idle_hours`, `sessions.max_days` after sign-in, or at sign-out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from desk.domain.errors import SESSION_ENDED, Invalid, NotFound, PermissionDenied, SignedOut
from desk.domain.inputs import one_line
from desk.domain.permissions import Actor, AgentActor, SystemActor
from desk.domain.views import AgentSessionView, NewAgentSession
from desk.services import settings
from desk.services.accounts import actor_from, authenticate_agent, grants_of
from desk.services.api_tokens import digest  # a secret's SHA-256, as the database keeps it
from desk.services.base import command, now, query, require_agent, transactional, within
from desk.storage.db import Database
from desk.storage.models import Agent, AgentSession

R = TypeVar("R")

PREFIX = "desks_"
# Writing "last used" on every call would make each read a write; a minute's precision is what idling needs.
USE_PRECISION = timedelta(minutes=1)


def _view(row: AgentSession, agent: Agent) -> AgentSessionView:
    return AgentSessionView(
        id=row.id,
        agent_id=agent.id,
        agent=agent.name,
        client=row.client,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def sign_in(
    db: Database, username: str, password: str, *, client: str, client_address: str | None = None
) -> NewAgentSession:
    """Check the password (its own transaction: a refusal's audit row and failure count are kept), then open a
    session for the agent."""
    agent = authenticate_agent(db, username, password, client_address=client_address)
    return _open(db, agent, client)


@command
def _open(session: Session, agent: AgentActor, client: str) -> NewAgentSession:
    row_agent = session.get(Agent, agent.id)
    if row_agent is None or not row_agent.active:
        raise PermissionDenied("Wrong username or password.")
    at = now()
    secret = PREFIX + secrets.token_urlsafe(32)
    row = AgentSession(
        agent_id=agent.id,
        secret_hash=digest(secret),
        client=one_line(client)[:200] or "Desk",
        created_at=at,
        last_used_at=at,
        expires_at=at + timedelta(days=int(settings.get(session, "sessions.max_days"))),
    )
    session.add(row)
    session.flush()
    return NewAgentSession(secret=secret, agent=agent, session=_view(row, row_agent))


def session_agent(db: Database, secret: str) -> AgentActor:
    """The agent a session secret signs in, with their current access; SignedOut for anything else."""
    agent, session_id, stale = query(_session_use)(db, secret)
    if stale:
        _record_use(db, session_id)
    return agent


def call_as(db: Database, secret: str, service: Callable[..., R], arguments: Callable[[], dict[str, Any]]) -> R:
    """A @command or @query service run as the session's agent with the `arguments` read once the session is
    known good, in the service's own transaction: a call through the server costs one transaction, as in the
    window's own process. A service that waits on something else (another server) is a plain function of the
    Database that keeps its own transactions short: it runs after the session is checked in one of its own."""
    if not hasattr(service, "writes"):
        return service(db, session_agent(db, secret), **arguments())
    work = within(service)
    used: list[int] = []

    def as_session_agent(session: Session) -> R:
        agent, session_id, stale = _session_use(session, secret)
        used[:] = [session_id] if stale else []
        return work(session, agent, **arguments())

    result = transactional(service)(as_session_agent)(db)
    if used:
        _record_use(db, used[0])
    return result


# The session, its agent, their access and the idle limit in one statement, built once (a call through the server
# reads it in every call's own transaction): a row per grant, each with the session's and the agent's columns.
_MINE = AgentSession.secret_hash == bindparam("secret_hash")
_GRANTS = grants_of(select(AgentSession.agent_id).where(_MINE).scalar_subquery()).subquery()
_SESSION_USE = (
    select(
        AgentSession.id,
        AgentSession.ended_at,
        AgentSession.expires_at,
        AgentSession.last_used_at,
        Agent.id,
        Agent.name,
        Agent.rights,
        Agent.active,
        settings.selected("sessions.idle_hours"),
        *_GRANTS.c,
    )
    .join(Agent, Agent.id == AgentSession.agent_id)
    .outerjoin(_GRANTS, _GRANTS.c.agent_id == Agent.id)
    .where(_MINE)
)


def _session_use(session: Session, secret: str) -> tuple[AgentActor, int, bool]:
    """The session's agent with their access, its id, and whether its use is to be noted; SignedOut if ended."""
    rows = session.execute(_SESSION_USE, {"secret_hash": digest(secret)}).all()
    if not rows:
        raise SignedOut(SESSION_ENDED)
    session_id, ended_at, expires_at, last_used_at, agent_id, name, rights, active, idle_hours = rows[0][:9]
    at = now()
    idle = timedelta(hours=int(settings.given("sessions.idle_hours", idle_hours)))
    if not active or ended_at is not None or expires_at <= at or last_used_at + idle <= at:
        raise SignedOut(SESSION_ENDED)
    agent = actor_from(agent_id, name, rights, (row[9:] for row in rows))
    return agent, session_id, at - last_used_at > USE_PRECISION


@command
def _record_use(session: Session, session_id: int) -> None:
    session.execute(update(AgentSession).where(AgentSession.id == session_id).values(last_used_at=now()))


@command
def sign_out(session: Session, secret: str) -> None:
    """End the session this secret belongs to (nothing to do when it has ended already)."""
    session.execute(
        update(AgentSession)
        .where(AgentSession.secret_hash == digest(secret), AgentSession.ended_at.is_(None))
        .values(ended_at=now())
    )


@command
def end_by_digest(session: Session, digests: list[str]) -> None:
    """End the sessions whose secrets have these SHA-256s: a Desk that quit while the server was away keeps only
    the digest of its session (never the secret) and ends it so when the server is back. Knowing a digest lets one
    end that session and nothing more."""
    if digests:
        session.execute(
            update(AgentSession)
            .where(AgentSession.secret_hash.in_(digests), AgentSession.ended_at.is_(None))
            .values(ended_at=now())
        )


def _for_agent(actor: Actor, agent_id: int | None) -> int:
    """Whose sessions the actor handles: their own, or anyone's for an administrator (and the system)."""
    if isinstance(actor, SystemActor):
        if agent_id is None:
            raise Invalid("Say which agent's sessions.")
        return agent_id
    agent = require_agent(actor)
    if agent_id is None or agent_id == agent.id:
        return agent.id
    if not agent.is_admin:
        raise PermissionDenied("Only administrators handle other agents' sessions.")
    return agent_id


@query
def list_sessions(session: Session, actor: Actor, *, agent_id: int | None = None) -> list[AgentSessionView]:
    """The agent's sessions that are still open (not ended, not expired), newest first."""
    whose = _for_agent(actor, agent_id)
    agent = session.get(Agent, whose)
    if agent is None:
        raise NotFound("There is no such agent.")
    rows = session.scalars(
        select(AgentSession)
        .where(AgentSession.agent_id == whose, AgentSession.ended_at.is_(None), AgentSession.expires_at > now())
        .order_by(AgentSession.id.desc())
    )
    return [_view(row, agent) for row in rows]


@command
def end_sessions(session: Session, actor: Actor, agent_id: int) -> int:
    """End every open session of an agent (an administrator, or the agent themselves); how many were open."""
    whose = _for_agent(actor, agent_id)
    if session.get(Agent, whose) is None:
        raise NotFound("There is no such agent.")
    return end_all(session, whose)


def end_all(session: Session, agent_id: int) -> int:
    """End an agent's open sessions in the caller's transaction; how many there were."""
    result = session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
        .values(ended_at=now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
