"""Auto-assignment: a ticket that arrives in a department (or team) unassigned gets an agent by itself.

Each department and team chooses a mode (desk.domain.enums.AssignMode): off, round-robin (each eligible agent in
turn, by id) or least open tickets. The ticket's team decides when its mode is on, else its department.

Eligible: active agents who are not away today (their `away_from`–`away_until`, in their own time zone) and who
may work the ticket — for a department, those whose role there lets them reply; for a team, its members (the
team makes the ticket theirs in any department). With "only in working hours", also only agents inside the
department's business hours (its schedule, the one its SLA clock runs in), read in each agent's own time zone.

Round-robin keeps whom it gave the last ticket on the department's or team's row, read under a row lock
(SELECT … FOR UPDATE) and written in the same transaction: two servers assigning at once take turns on the row,
so each hands the next agent on. Least open tickets counts from the ticket tallies (a few hundred rows, never
the tickets), so a pick costs the same over a million tickets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from desk.domain import sla as sla_clock
from desk.domain.enums import AssignMode, EventKind, StatusState
from desk.domain.permissions import Actor, Perm, SystemActor
from desk.services import sla
from desk.services.base import command, now, record_event
from desk.services.lifecycle import require_system
from desk.services.mail import outbound
from desk.storage.models import (
    Agent,
    AgentAccess,
    Department,
    RolePermission,
    Status,
    Team,
    TeamMember,
    Ticket,
    TicketTally,
)

SYSTEM = SystemActor()
_BATCH = 200  # tickets re-assigned per run of the away job


@dataclass(frozen=True)
class Pool:
    """Where a ticket's agent is chosen: a department's agents or a team's members, and how."""

    model: type[Department] | type[Team]
    id: int
    name: str
    mode: AssignMode
    in_hours: bool


@dataclass(frozen=True)
class Candidate:
    id: int
    timezone: str | None
    away_from: date | None
    away_until: date | None


def pool_of(session: Session, ticket: Ticket) -> Pool | None:
    """The team's pool when its auto-assignment is on, else the department's; None when neither assigns."""
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    department = session.get(Department, ticket.department_id)
    for row in (team, department):
        if row is not None and row.assign_mode != AssignMode.OFF:
            return Pool(type(row), row.id, row.name, AssignMode(row.assign_mode), row.assign_in_hours)
    return None


# Built once (a pick runs them on the connection, without the ORM's handling of rows they do not need).
_AGENTS = select(Agent.id, Agent.timezone, Agent.away_from, Agent.away_until).where(Agent.active.is_(True))
_CANDIDATES = {
    Department: _AGENTS.join(AgentAccess, AgentAccess.agent_id == Agent.id)
    .join(RolePermission, RolePermission.role_id == AgentAccess.role_id)
    .where(AgentAccess.department_id == bindparam("pool"), RolePermission.permission == Perm.TICKET_REPLY.value)
    .order_by(Agent.id),
    Team: _AGENTS.join(TeamMember, TeamMember.agent_id == Agent.id)
    .where(TeamMember.team_id == bindparam("pool"))
    .order_by(Agent.id),
}
_POOLS: tuple[type[Department] | type[Team], ...] = (Department, Team)
_LAST = {m: select(m.assign_last_id).where(m.id == bindparam("pool")).with_for_update() for m in _POOLS}
_TURN = {m: update(m).where(m.id == bindparam("pool")) for m in _POOLS}
# Every assignee's open tickets: a few hundred tally rows, one plan for any pool (an IN list of its agents was
# planned anew on each call by PostgreSQL).
_OPEN_COUNTS = (
    select(TicketTally.assignee_id, func.sum(TicketTally.count))
    .join(Status, Status.id == TicketTally.status_id)
    .where(Status.state == StatusState.OPEN.value, TicketTally.assignee_id != 0)
    .group_by(TicketTally.assignee_id)
)


def _candidates(session: Session, pool: Pool) -> list[Candidate]:
    return [Candidate(*row) for row in session.connection().execute(_CANDIDATES[pool.model], {"pool": pool.id})]


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def is_away(candidate: Candidate, moment: datetime) -> bool:
    """Away today, in the agent's own time zone (else UTC); both days included."""
    if candidate.away_from is None or candidate.away_until is None:
        return False
    today = moment.astimezone(_zone(candidate.timezone)).date()
    return candidate.away_from <= today <= candidate.away_until


def _working(session: Session, ticket: Ticket, eligible: list[Candidate], moment: datetime) -> list[Candidate]:
    """Those inside the department's business hours in their own time zone (all of them without a schedule)."""
    department = session.get(Department, ticket.department_id)
    hours = sla.schedule(session, department.schedule_id if department else None)
    if hours is None:
        return eligible
    open_in: dict[str, bool] = {}  # per time zone: the agents of one zone share the answer
    for zone in {c.timezone or hours.tz for c in eligible}:
        local = dataclasses.replace(hours, tz=zone)
        open_in[zone] = sla_clock.add_business_time(moment, timedelta(0), local) == moment
    return [c for c in eligible if open_in[c.timezone or hours.tz]]


def eligible(session: Session, ticket: Ticket, pool: Pool, moment: datetime) -> list[int]:
    """The ids of the agents the pool may give the ticket to now, in id order."""
    found = [c for c in _candidates(session, pool) if not is_away(c, moment)]
    if pool.in_hours:
        found = _working(session, ticket, found, moment)
    return [c.id for c in found]


def _round_robin(session: Session, pool: Pool, ids: Seq[int]) -> int:
    """The agent after the one given the last ticket, under a lock on the pool's row until the commit."""
    connection = session.connection()
    last = connection.execute(_LAST[pool.model], {"pool": pool.id}).scalar()
    chosen = next((i for i in ids if last is None or i > last), ids[0])
    connection.execute(_TURN[pool.model].values(assign_last_id=chosen), {"pool": pool.id})
    return chosen


def _least_open(session: Session, ids: Seq[int]) -> int:
    """The agent with the fewest open tickets (the lowest id among equals), from the tallies."""
    counts: dict[int, int] = dict(session.connection().execute(_OPEN_COUNTS).all())
    return min(ids, key=lambda i: (counts.get(i, 0), i))


def pick(session: Session, ticket: Ticket, pool: Pool, moment: datetime) -> int | None:
    """The agent the pool chooses for the ticket now; None when no one is eligible."""
    ids = [i for i in eligible(session, ticket, pool, moment) if i != ticket.assignee_id]
    if not ids:
        return None
    return _round_robin(session, pool, ids) if pool.mode == AssignMode.ROUND_ROBIN else _least_open(session, ids)


def _assign(session: Session, ticket: Ticket, pool: Pool, agent_id: int, reason: str, moment: datetime) -> None:
    """Give the ticket to the agent, with the event that says how it was chosen and the assignee's alert."""
    before = session.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None
    agent = session.get_one(Agent, agent_id)
    ticket.assignee_id = agent.id
    data = {
        "before": {"id": before.id, "name": before.name} if before else None,
        "after": {"id": agent.id, "name": agent.name},
        "how": pool.mode.value,
        "pool": {"kind": "team" if pool.model is Team else "department", "name": pool.name},
        "in_hours": pool.in_hours,
        "reason": reason,  # "arrived", or "away" (the assignee went away)
    }
    record_event(session, SYSTEM, ticket, EventKind.ASSIGNED, data, at=moment)
    outbound.on_assigned(session, ticket, None, SYSTEM.name)


def auto_assign(session: Session, ticket: Ticket) -> int | None:
    """Give an open, unassigned ticket an agent by its team's or department's auto-assignment; the agent's id, or
    None when it stays unassigned (assigned already, closed, auto-assignment off, or no one eligible)."""
    if ticket.assignee_id is not None or ticket.state != StatusState.OPEN:
        return None
    pool = pool_of(session, ticket)
    if pool is None:
        return None
    moment = now()
    chosen = pick(session, ticket, pool, moment)
    if chosen is not None:
        _assign(session, ticket, pool, chosen, "arrived", moment)
    return chosen


@command
def reassign_away(session: Session, actor: Actor, at: datetime | None = None) -> list[int]:
    """The worker's job: give the open tickets of agents away today, in departments that re-assign them, to
    another agent of their team or department; the ids of the tickets given. A ticket no one else may take
    stays with its agent (and is looked at again on the next run)."""
    require_system(actor)
    moment = at or now()
    latest_today = moment.astimezone(UTC).date() + timedelta(days=1)  # zones ahead of UTC are a day on at most
    away = [
        c.id
        for c in (
            Candidate(*row)
            for row in session.execute(
                select(Agent.id, Agent.timezone, Agent.away_from, Agent.away_until).where(
                    Agent.away_from.is_not(None), Agent.away_from <= latest_today
                )
            )
        )
        if is_away(c, moment)
    ]
    if not away:
        return []
    tickets = session.scalars(
        select(Ticket)
        .join(Department, Department.id == Ticket.department_id)
        .where(Ticket.assignee_id.in_(away), Ticket.state == StatusState.OPEN.value, Department.reassign_away.is_(True))
        .order_by(Ticket.id)
        .limit(_BATCH)
    ).all()
    given = []
    for ticket in tickets:
        pool = pool_of(session, ticket)
        chosen = pick(session, ticket, pool, moment) if pool is not None else None
        if pool is not None and chosen is not None:
            _assign(session, ticket, pool, chosen, "away", moment)
            given.append(ticket.id)
    return given
