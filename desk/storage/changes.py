"""The change feed: a row per committed ticket change, and on PostgreSQL a NOTIFY in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from desk.domain.enums import ActorKind
from desk.storage.models import Change

CHANNEL = "desk_changes"


def record(
    session: Session,
    ticket_id: int | None,
    aspect: str,
    actor_kind: ActorKind,
    actor_id: int | None,
    at: datetime,
    *,
    agent_id: int | None = None,
) -> None:
    """A change to a ticket, told to whoever may see it; or (`agent_id`) one told to that agent only."""
    session.add(
        Change(
            ticket_id=ticket_id,
            aspect=aspect,
            actor_kind=actor_kind.value,
            actor_id=actor_id,
            created_at=at,
            agent_id=agent_id,
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to listeners only when this transaction commits, and never if it rolls back.
        session.execute(select(func.pg_notify(CHANNEL, f"{ticket_id or ''}:{aspect}")))


def tell_agents(session: Session, agent_ids: list[int], aspect: str, at: datetime) -> None:
    """Changes with no ticket, each told to one of these agents only (their alerts), written in one statement."""
    rows = [
        {"ticket_id": None, "aspect": aspect, "actor_kind": ActorKind.SYSTEM.value, "actor_id": None,
         "created_at": at, "agent_id": agent_id}
        for agent_id in agent_ids
    ]  # fmt: skip
    if not rows:
        return
    session.execute(insert(Change), rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, f":{aspect}")))


def latest_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(Change.id), 0))) or 0


def since(session: Session, after_id: int, limit: int = 1000) -> list[Change]:
    return list(session.scalars(select(Change).where(Change.id > after_id).order_by(Change.id).limit(limit)))
