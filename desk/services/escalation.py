"""Escalations and reminders: the worker alerts people before a ticket's due time and at it.

Configured per department (the one whose agents, manager and SLA plan the ticket has): `escalate_minutes` before
the next due time (`Ticket.due_at`: first response until given, then resolution, as the SLA clock sets it) a
reminder, and at it an escalation, each mailed to the assignee, the team lead and the department manager (else
the department's agents); at the due time the department may also raise the priority and transfer the ticket.
Tickets whose clock is paused (a waiting status) are left alone until it runs again.

Each fires once per ticket, stage and due time: the row it writes in `escalations` has that key, so a second
worker (one whose lease ran out mid-run, say) fails to insert it and passes the ticket by. A due time that moves
(a reopened ticket, another SLA plan) is a new key and fires again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain.enums import EscalationStage, EventKind, StatusState
from desk.domain.permissions import Actor
from desk.services import tickets
from desk.services.base import command, now, record_event, within
from desk.services.lifecycle import require_system
from desk.services.mail import outbound
from desk.storage.models import NO_DUE, Agent, Department, Escalation, Priority, Team, Ticket

_BATCH = 200


def _fired(stage: EscalationStage) -> Any:
    return exists().where(
        Escalation.ticket_id == Ticket.id, Escalation.stage == stage.value, Escalation.due_at == Ticket.due_at
    )


def _due(session: Session, moment: datetime) -> list[Ticket]:
    """Open tickets with a running clock in escalating departments whose reminder or escalation is due and has
    not fired, soonest first. One condition per distinct number of minutes (departments share a few)."""
    windows: dict[int, list[int]] = {}
    for department in session.scalars(select(Department).where(Department.escalate_minutes.is_not(None))):
        windows.setdefault(department.escalate_minutes or 0, []).append(department.id)
    if not windows:
        return []
    reached = and_(Ticket.due_at <= moment, ~_fired(EscalationStage.DUE))
    soon = [
        and_(
            Ticket.department_id.in_(departments),
            Ticket.due_at > moment,
            Ticket.due_at <= moment + timedelta(minutes=minutes),
            ~_fired(EscalationStage.SOON),
        )
        for minutes, departments in windows.items()
        if minutes > 0
    ]
    everyone = [d for departments in windows.values() for d in departments]
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.state == StatusState.OPEN.value,
                Ticket.sla_paused_at.is_(None),
                Ticket.due_at < NO_DUE,
                or_(and_(Ticket.department_id.in_(everyone), reached), *soon),
            )
            .order_by(Ticket.due_at, Ticket.id)
            .limit(_BATCH)
        )
    )


def _people(session: Session, ticket: Ticket, department: Department) -> list[Agent]:
    """The assignee, the team lead and the department manager, each once, active ones only."""
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    ids = dict.fromkeys(i for i in (ticket.assignee_id, team.lead_id if team else None, department.manager_id) if i)
    agents = [session.get(Agent, i) for i in ids]
    return [agent for agent in agents if agent is not None and agent.active]


def _claim(session: Session, ticket: Ticket, stage: EscalationStage, moment: datetime) -> bool:
    """Write the escalation's row; False when another worker has (the key is taken)."""
    try:
        with session.begin_nested():
            session.add(Escalation(ticket_id=ticket.id, stage=stage.value, due_at=ticket.due_at, created_at=moment))
    except IntegrityError:
        return False
    return True


def _fire(session: Session, actor: Actor, ticket: Ticket, moment: datetime) -> bool:
    stage = EscalationStage.DUE if ticket.due_at <= moment else EscalationStage.SOON
    if not _claim(session, ticket, stage, moment):
        return False
    department = session.get_one(Department, ticket.department_id)
    first = ticket.first_responded_at is None and ticket.first_response_due == ticket.due_at
    deadline = "first_response" if first else "resolution"
    people = _people(session, ticket, department)
    data: dict[str, Any] = {
        "stage": stage.value,
        "deadline": deadline,
        "due": ticket.due_at.isoformat(),
        "to": [agent.name for agent in people],
    }
    raise_to = transfer_to = None
    if stage == EscalationStage.DUE:
        raise_to = session.get(Priority, department.escalate_priority_id) if department.escalate_priority_id else None
        if raise_to is not None and raise_to.level <= ticket.priority_level:
            raise_to = None  # raised already, or higher: never lowered
        transfer_to = session.get(Department, department.escalate_to_id) if department.escalate_to_id else None
        data |= {
            "priority": raise_to.name if raise_to else None,
            "department": transfer_to.name if transfer_to else None,
        }
    record_event(session, actor, ticket, EventKind.ESCALATED, data, at=moment)
    when = f"{ticket.due_at:%Y-%m-%d %H:%M} UTC"
    what = "first response" if first else "resolution"
    message = f"{what} due at {when}" if stage == EscalationStage.SOON else f"{what} was due at {when}"
    kind = "alert.due_soon" if stage == EscalationStage.SOON else "alert.escalated"
    outbound.on_escalation(session, ticket, kind, people, message)
    note = f"Escalated: {what} was due at {when}."
    if raise_to is not None:
        within(tickets.set_priority)(session, actor, ticket.id, raise_to.id, note=note)
    if transfer_to is not None:
        within(tickets.transfer)(session, actor, ticket.id, transfer_to.id, note=note)
    return True


@command
def escalate(session: Session, actor: Actor, at: datetime | None = None) -> list[int]:
    """The worker's job: fire the reminders and escalations that are due; the ids of the tickets they fired on."""
    require_system(actor)
    moment = at or now()
    return [ticket.id for ticket in _due(session, moment) if _fire(session, actor, ticket, moment)]
