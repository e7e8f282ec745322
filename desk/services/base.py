"""What every service shares: its transaction, the actor's identity on records, and loading a ticket it may see.

A service is written as a function of a Session; `@command` / `@query` turn it into a function of the Database
that runs it in one short transaction (retried whole after a deadlock), so callers write
`tickets.assign(db, actor, ticket_id, agent_id)`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import and_, or_, select, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import ColumnElement

from desk.domain.enums import ActorKind, EventKind
from desk.domain.errors import Conflict, ConflictInfo, FieldChange, Invalid, NotFound, PermissionDenied, Rejected
from desk.domain.permissions import Actor, AgentActor, Perm, SystemActor, UserActor
from desk.storage import changes
from desk.storage.db import Database, is_retryable
from desk.storage.models import Agent, Collaborator, Department, ThreadEvent, Ticket, User

P = ParamSpec("P")
R = TypeVar("R")

ATTEMPTS = 5
MAX_NOTE = 10_000  # an event's note is a Text column: 64 KB on MariaDB


class LeaseLost(Exception):
    """Another worker holds this job now (this one stalled past its lease): stop, the other carries on."""


def now() -> datetime:
    return datetime.now(UTC)


def command(fn: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Database, P], R]:
    """Run a changing service in one write transaction; retry it whole after a deadlock or a lost version race."""

    @functools.wraps(fn)
    def run(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(ATTEMPTS):
            try:
                with db.transaction(write=True) as session:
                    return fn(session, *args, **kwargs)
            except Rejected as rejected:  # the refused submission is kept, though nothing else of it is
                with db.transaction(write=True) as session:
                    rejected.keep(session)
                raise
            except (DBAPIError, StaleDataError) as error:
                retry = isinstance(error, StaleDataError) or is_retryable(error)
                if not retry or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    run.writes = True  # type: ignore[attr-defined]  # read by `transactional`
    return run


def query(fn: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Database, P], R]:
    """Run a read-only service in one read transaction."""

    @functools.wraps(fn)
    def run(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with db.transaction(write=False) as session:
            return fn(session, *args, **kwargs)

    run.writes = False  # type: ignore[attr-defined]
    return run


def transactional(service: Callable[..., Any]) -> Callable[[Callable[[Session], R]], Callable[[Database], R]]:
    """The decorator a @command or @query service was made with: for work that runs in that service's kind of
    transaction (a call through the server checks its session in the service's own)."""
    return command if getattr(service, "writes") else query  # noqa: B009  # set by the decorators above


def within(service: Callable[Concatenate[Database, P], R]) -> Callable[Concatenate[Session, P], R]:
    """A @command or @query as a function of the caller's session, for a job that must do several user actions in
    one transaction (mail intake threads a message and posts it together, or not at all)."""
    inner: Callable[Concatenate[Session, P], R] = getattr(service, "__wrapped__")  # noqa: B009  # set by functools.wraps
    return inner


# --- actors -------------------------------------------------------------------------------------------------------


def actor_kind(actor: Actor) -> ActorKind:
    if isinstance(actor, AgentActor):
        return ActorKind.AGENT
    if isinstance(actor, UserActor):
        return ActorKind.USER
    return ActorKind.SYSTEM


def actor_columns(actor: Actor) -> dict[str, Any]:
    """The author columns of a thread entry or event written by this actor."""
    return {
        "agent_id": actor.id if isinstance(actor, AgentActor) else None,
        "user_id": actor.id if isinstance(actor, UserActor) else None,
    }


def require_agent(actor: Actor) -> AgentActor:
    if not isinstance(actor, AgentActor):
        raise PermissionDenied("Only agents can do this.")
    return actor


def visible_to(actor: Actor) -> ColumnElement[bool] | None:
    """SQL condition on Ticket for the tickets this actor may see; None means all of them."""
    if isinstance(actor, SystemActor):
        return None
    if isinstance(actor, AgentActor):
        if actor.is_admin:
            return None
        return agent_sees(
            (Ticket.assignee_id, Ticket.department_id, Ticket.team_id),
            actor.id,
            sorted(actor.departments) if actor.departments else None,
            sorted(actor.teams) if actor.teams else None,
        )
    # The ids as one UNION ALL: each part uses its index (requester, collaborator, organization), where an OR of
    # them made PostgreSQL walk every open ticket in order (a user's list took 130 ms over a million tickets).
    mine = aliased(Ticket)
    parts: list[Any] = [
        select(mine.id).where(mine.requester_id == actor.id),
        select(Collaborator.ticket_id).where(Collaborator.user_id == actor.id),
    ]
    if actor.sees_organization and actor.organization_id is not None:
        parts.append(
            select(mine.id)
            .join(User, User.id == mine.requester_id)
            .where(User.organization_id == actor.organization_id)
        )
    own = Ticket.id.in_(union_all(*parts))
    if actor.only_ticket_id is not None:
        return and_(Ticket.id == actor.only_ticket_id, own)
    return own


def agent_sees(
    columns: tuple[Any, Any, Any],
    me: Any,
    departments: Any | None,
    teams: Any | None,
) -> ColumnElement[bool]:
    """`AgentActor.can_see` in SQL over (assignee, department, team) columns, for a non-admin agent.

    `me`, `departments` and `teams` are values or bound parameters (a statement built once for many agents);
    `departments` / `teams` are None when the agent has none.
    """
    assignee, department, team = columns
    conditions: list[ColumnElement[bool]] = [assignee == me]
    if departments is not None:
        conditions.append(department.in_(departments))
    if teams is not None:
        conditions.append(team.in_(teams))
    return or_(*conditions)


def can_see(session: Session, actor: Actor, ticket: Ticket) -> bool:
    if isinstance(actor, SystemActor):
        return True
    if isinstance(actor, AgentActor):
        return actor.can_see(ticket.department_id, ticket.assignee_id, ticket.team_id)
    requester = session.get(User, ticket.requester_id)
    collaborators = frozenset(session.scalars(select(Collaborator.user_id).where(Collaborator.ticket_id == ticket.id)))
    return actor.can_see(
        ticket.id, ticket.requester_id, requester.organization_id if requester else None, collaborators
    )


def load_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket, or NotFound when it does not exist or the actor may not see it (never reveal which)."""
    return visible_ticket(session, actor, ticket_id, session.get(Ticket, ticket_id, with_for_update=for_update))


def visible_ticket(session: Session, actor: Actor, ticket_id: int, ticket: Ticket | None) -> Ticket:
    """The ticket loaded for `ticket_id`, or NotFound when there is none or the actor may not see it."""
    if ticket is None or not can_see(session, actor, ticket):
        raise NotFound(f"Ticket {ticket_id} does not exist or you do not have access to it.")
    return ticket


def require_perm(actor: Actor, ticket: Ticket, perm: Perm, action: str) -> None:
    """Agents need the permission in the ticket's department; the system may do anything; end users nothing here."""
    if isinstance(actor, SystemActor):
        return
    if isinstance(actor, UserActor):
        raise PermissionDenied(f"You cannot {action}.")
    if perm not in actor.perms_on(ticket.department_id, ticket.assignee_id, ticket.team_id):
        raise PermissionDenied(actor.cannot(action, ticket.department_id, department_name(ticket)))


def department_name(ticket: Ticket) -> str:
    """The ticket's department as a refusal names it."""
    session = object_session(ticket)
    department = session.get(Department, ticket.department_id) if session is not None else None
    return department.name if department is not None else "this department"


def record_event(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    kind: EventKind,
    data: dict[str, Any] | None = None,
    *,
    note: str | None = None,
    at: datetime | None = None,
) -> ThreadEvent:
    """The thread event and change-feed row that go with every change, written in the change's transaction."""
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(f"A note can hold {MAX_NOTE:,} characters; shorten it.", {"note": "Shorten the note."})
    moment = at or now()
    if isinstance(actor, SystemActor) and actor.rule is not None:
        data = {**(data or {}), "rule": actor.rule}
    ticket.updated_at = moment
    if session.is_modified(ticket):
        session.flush()  # bumps ticket.version, which the event records for conflict reports
    event = ThreadEvent(
        ticket_id=ticket.id,
        kind=kind.value,
        actor_kind=actor_kind(actor).value,
        data=data or {},
        note=note.strip() if note and note.strip() else None,
        ticket_version=ticket.version,
        created_at=moment,
        **actor_columns(actor),
    )
    session.add(event)
    changes.record(session, ticket.id, kind.value, actor_kind(actor), getattr(actor, "id", None), moment)
    return event


def check_version(session: Session, ticket: Ticket, expected_version: int | None) -> None:
    """Refuse a change made on a stale copy, saying who changed what since, so the caller can keep their input."""
    if expected_version is None or ticket.version == expected_version:
        return
    events = session.scalars(
        select(ThreadEvent)
        .where(ThreadEvent.ticket_id == ticket.id, ThreadEvent.ticket_version > expected_version)
        .order_by(ThreadEvent.id)
    ).all()
    names = {
        agent.id: agent.name
        for agent in session.scalars(select(Agent).where(Agent.id.in_({e.agent_id for e in events if e.agent_id})))
    }
    who = sorted(
        {names.get(e.agent_id, "System") if e.agent_id else "an end user" if e.user_id else "System" for e in events}
    )
    fields = tuple(
        FieldChange(field=e.kind, before=_text(e.data.get("before")), after=_text(e.data.get("after"))) for e in events
    )
    by = ", ".join(who) or "someone else"
    summary = ", ".join(dict.fromkeys(change.field for change in fields)) or "the ticket"
    raise Conflict(
        f"Ticket {ticket.number} was changed by {by} since you opened it ({summary}). "
        "Your input is kept: review the changes and apply it again.",
        ConflictInfo(changed_by=by, changes=fields),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return str(value.get("name", value))
    return str(value)
