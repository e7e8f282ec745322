"""The dashboard: an agent's key figures at a glance, their own and each department's they may see.

Open, overdue, unassigned and "mine" are summed from the ticket tallies (as the sidebar counts are: a few hundred
rows whatever the number of tickets). Due today, resolved today and today's first replies are read from the
tickets of the day only: due today is a range of the (state, due) index; a ticket resolved or first answered today
was updated today too (every change sets updated_at, after closed_at and first_responded_at), so those are a range
of the (state, updated) index, whatever the size of the help desk.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from desk.domain.dashboard import Dashboard, DepartmentFigures, KeyFigures
from desk.domain.enums import StatusState
from desk.domain.errors import Invalid
from desk.domain.inputs import utc_moment
from desk.domain.permissions import Actor, AgentActor
from desk.services.base import query, require_agent
from desk.storage.models import Department, Status, Ticket, TicketTally

MINE = -1  # the key of the agent's own figures among the departments'
LONGEST_DAY = timedelta(hours=26)  # a day that ends summer time, in the zone with the widest change (Lord Howe's)


@query
def dashboard(session: Session, actor: Actor, day_start: datetime, day_end: datetime) -> Dashboard:
    """The agent's figures and those of each department they may see, for the day from `day_start` to `day_end`
    (the agent's own midnights: the day is theirs, in their time zone)."""
    agent = require_agent(actor)
    try:
        start, end = utc_moment(day_start), utc_moment(day_end)
    except ValueError as error:
        raise Invalid(f"The day's bounds need a time zone and a date Desk can store: {error}.") from None
    if not start < end <= start + LONGEST_DAY:
        raise Invalid("A dashboard's day is one day: its end after its start, at most 26 hours later.")
    names = _departments(session, agent)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    waits: dict[int, list[float]] = defaultdict(list)
    _tallied(session, agent, names, counts)
    _today(session, agent, names, start, end, counts, waits)
    rows = tuple(
        DepartmentFigures(department_id, name, _figures(counts[department_id], waits[department_id]))
        for department_id, name in sorted(names.items(), key=lambda item: item[1].casefold())
    )
    return Dashboard(day_start=start, day_end=end, mine=_figures(counts[MINE], waits[MINE]), departments=rows)


def _departments(session: Session, agent: AgentActor) -> dict[int, str]:
    """The departments whose figures the agent sees: theirs (an administrator's: all), by id."""
    statement = select(Department.id, Department.name)
    if not agent.is_admin:
        statement = statement.where(Department.id.in_(sorted(agent.departments)))
    return {department_id: name for department_id, name in session.execute(statement)}


def _scope(agent: AgentActor, names: dict[int, str], department: Any, assignee: Any) -> ColumnElement[bool]:
    """The agent's departments, and their own tickets wherever they are."""
    return or_(department.in_(sorted(names)), assignee == agent.id)


def _tallied(session: Session, agent: AgentActor, names: dict[int, str], counts: dict[int, Counter[str]]) -> None:
    """Open, overdue, unassigned and mine from the tallies of open tickets, per department and for the agent."""
    statement = (
        select(
            TicketTally.department_id,
            TicketTally.assignee_id,
            func.sum(TicketTally.count),
            func.sum(case((TicketTally.overdue.is_(True), TicketTally.count), else_=0)),
        )
        .join(Status, Status.id == TicketTally.status_id)
        .where(
            Status.state == StatusState.OPEN.value,
            _scope(agent, names, TicketTally.department_id, TicketTally.assignee_id),
        )
        .group_by(TicketTally.department_id, TicketTally.assignee_id)
    )
    for department_id, assignee_id, tickets, overdue in session.execute(statement):
        for key in _keys(department_id, assignee_id, agent, names):
            counts[key]["open"] += int(tickets)
            counts[key]["overdue"] += int(overdue)
            if key != MINE and assignee_id == 0:  # a tally's 0: no assignee
                counts[key]["unassigned"] += int(tickets)
            if key != MINE and assignee_id == agent.id:
                counts[key]["mine"] += int(tickets)


def _today(
    session: Session,
    agent: AgentActor,
    names: dict[int, str],
    start: datetime,
    end: datetime,
    counts: dict[int, Counter[str]],
    waits: dict[int, list[float]],
) -> None:
    """Due today, resolved today, and today's first replies with the minutes each took."""
    in_scope = _scope(agent, names, Ticket.department_id, Ticket.assignee_id)
    due = select(Ticket.department_id, Ticket.assignee_id).where(
        Ticket.state == StatusState.OPEN.value, Ticket.due_at >= start, Ticket.due_at < end, in_scope
    )
    for department_id, assignee_id in session.execute(due):
        for key in _keys(department_id, assignee_id, agent, names):
            counts[key]["due_today"] += 1
    # Updated today: the index's range that holds every ticket resolved or first answered today.
    touched = select(
        Ticket.department_id, Ticket.assignee_id, Ticket.state, Ticket.closed_at, Ticket.created_at,
        Ticket.first_responded_at,
    ).where(
        Ticket.state.in_([StatusState.OPEN.value, StatusState.CLOSED.value]),
        Ticket.updated_at >= start,
        or_(and_(Ticket.closed_at >= start, Ticket.closed_at < end),
            and_(Ticket.first_responded_at >= start, Ticket.first_responded_at < end)),
        in_scope,
    )  # fmt: skip
    for department_id, assignee_id, state, closed, created, responded in session.execute(touched):
        for key in _keys(department_id, assignee_id, agent, names):
            if state == StatusState.CLOSED.value and closed is not None and start <= closed < end:
                counts[key]["resolved_today"] += 1
            if responded is not None and start <= responded < end:
                waits[key].append((responded - created).total_seconds() / 60)


def _keys(department_id: int, assignee_id: int | None, agent: AgentActor, names: dict[int, str]) -> list[int]:
    """Which rows a ticket counts in: its department's (if the agent sees it there) and the agent's own."""
    keys = [department_id] if department_id in names else []
    return [*keys, MINE] if assignee_id == agent.id else keys


def _figures(counts: Counter[str], waits: list[float]) -> KeyFigures:
    return KeyFigures(
        open=counts["open"],
        overdue=counts["overdue"],
        due_today=counts["due_today"],
        unassigned=counts["unassigned"],
        mine=counts["mine"],
        resolved_today=counts["resolved_today"],
        first_responses=len(waits),
        first_response_minutes=statistics.median(waits) if waits else None,
    )
