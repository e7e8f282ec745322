"""Per-agent API tokens: the JSON API acts with the permissions of the agent a token belongs to.

The secret is shown once, when the token is made; the database keeps only its SHA-256 (a stolen backup gives
no access) and its first characters, so that an agent can tell their tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.permissions import Actor, AgentActor, SystemActor
from desk.services.accounts import agent_actor
from desk.services.base import command, now, query, require_agent
from desk.storage.db import Database
from desk.storage.models import Agent, ApiToken

PREFIX = "desk_"
HINT = 12
# Recording every use would make each API read a write; a minute's precision is what "last used" needs.
USE_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    agent_id: int
    agent: str
    name: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiToken:
    """A token just made, with its secret: shown to the agent this once, never stored."""

    token: ApiTokenView
    secret: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(token: ApiToken, agent: Agent) -> ApiTokenView:
    return ApiTokenView(
        id=token.id,
        agent_id=agent.id,
        agent=agent.name,
        name=token.name,
        hint=token.hint,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def _for_agent(actor: Actor, agent_id: int | None) -> int:
    """Whose tokens the actor handles: their own, or anyone's for an administrator (and the system)."""
    if isinstance(actor, SystemActor):
        if agent_id is None:
            raise Invalid("Say which agent the token is for.")
        return agent_id
    agent = require_agent(actor)
    if agent_id is None or agent_id == agent.id:
        return agent.id
    if not agent.is_admin:
        raise PermissionDenied("Only administrators handle other agents' API tokens.")
    return agent_id


@command
def create_token(session: Session, actor: Actor, *, name: str, agent_id: int | None = None) -> NewApiToken:
    """A new token for the actor (or, by an administrator, for another agent) under a name saying what uses it."""
    owner_id = _for_agent(actor, agent_id)
    owner = session.get(Agent, owner_id)
    if owner is None or not owner.active:
        raise NotFound(f"There is no active agent with id {owner_id}.")
    label = name.strip()
    if not label or len(label) > 120:
        raise Invalid("Name the token after what will use it (1–120 characters).", {"name": "Enter a name."})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(agent_id=owner.id, name=label, token_hash=digest(secret), hint=secret[:HINT], created_at=now())
    session.add(token)
    session.flush()
    return NewApiToken(token=_view(token, owner), secret=secret)


@query
def list_tokens(session: Session, actor: Actor, *, agent_id: int | None = None) -> list[ApiTokenView]:
    """The actor's own tokens, or another agent's for an administrator; revoked ones last.

    The system naming no agent (`desk token list` on the server) gets every agent's, agent by agent.
    """
    statement = select(ApiToken, Agent).join(Agent, Agent.id == ApiToken.agent_id)
    if not (isinstance(actor, SystemActor) and agent_id is None):
        statement = statement.where(ApiToken.agent_id == _for_agent(actor, agent_id))
    rows = session.execute(
        statement.order_by(Agent.name, Agent.id, ApiToken.revoked_at.is_not(None), ApiToken.id)
    ).all()
    return [_view(token, agent) for token, agent in rows]


@command
def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiTokenView:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"There is no API token with id {token_id}.")
    _for_agent(actor, token.agent_id)
    if token.revoked_at is None:
        token.revoked_at = now()
    agent = session.get(Agent, token.agent_id)
    assert agent is not None
    return _view(token, agent)


def token_agent(db: Database, secret: str) -> AgentActor:
    """The agent a token acts as, with their current permissions; PermissionDenied for anything else.

    Every API call asks, so it reads; "last used" is written at most once a minute (a write per call would
    queue every API read behind the agents' writes, on SQLite behind the one write lock).
    """
    agent, token_id, stale = _token_use(db, secret)
    if stale:
        _record_use(db, token_id)
    return agent


@query
def _token_use(session: Session, secret: str) -> tuple[AgentActor, int, bool]:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    agent = session.get(Agent, token.agent_id) if token is not None else None
    if token is None or token.revoked_at is not None or agent is None or not agent.active:
        raise PermissionDenied("The API token is not valid: it is unknown, revoked, or its agent is inactive.")
    stale = token.last_used_at is None or now() - token.last_used_at > USE_PRECISION
    return agent_actor(session, agent), token.id, stale


@command
def _record_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now()))
