"""Opening tickets and changing their properties: assignment, team, department, priority, SLA plan, help topic."""

from __future__ import annotations

from collections.abc import Sequence as Seq
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Integer, bindparam, cast, func, select
from sqlalchemy.orm import Session, aliased

from desk.domain.enums import EntryKind, EventKind, TicketSource
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import one_line, storable, subject_problem
from desk.domain.permissions import PERM_ACTIONS, Actor, AgentActor, Perm, UserActor
from desk.domain.rules import Arrival
from desk.domain.views import TicketView, Upload
from desk.services import assignment, numbering, settings, sla
from desk.services.accounts import find_or_create_user
from desk.services.base import (
    check_version,
    command,
    department_name,
    load_ticket,
    now,
    query,
    record_event,
    require_agent,
    require_perm,
    visible_ticket,
)
from desk.services.entries import add_entry
from desk.services.mail import outbound
from desk.services.views import TICKET_WITH_HEADER, ticket_view, topic_name, with_view
from desk.storage import search
from desk.storage.models import (
    Agent,
    Department,
    HelpTopic,
    Priority,
    SlaPlan,
    Status,
    Team,
    Ticket,
    User,
)

RowT = TypeVar("RowT", Agent, Department, HelpTopic, Priority, SlaPlan, Status, Team)


def get_row(session: Session, model: type[RowT], row_id: int, label: str) -> RowT:
    row = session.get(model, row_id)
    if row is None:
        raise Invalid(f"There is no {label} with id {row_id}.", {label: f"Choose an existing {label}."})
    return row


def _validate_text(subject: str, body: str, *, requester_missing: bool) -> tuple[str, str]:
    """Every error of the form at once, so the agent fixes them in one go."""
    errors = {}
    if requester_missing:
        errors["email"] = "Enter the requester's email address."
    subject = one_line(subject)  # a mail header too: line breaks and control characters become spaces
    if problem := subject_problem(subject):
        errors["subject"] = problem
    if not body.strip():
        errors["body"] = "Describe the problem."
    else:
        try:
            storable(body)
        except ValueError as error:
            errors["body"] = f"The text {error}."
    if errors:
        raise Invalid("The ticket cannot be opened: " + " ".join(errors.values()), errors)
    return subject, body


def new_ticket(
    session: Session,
    actor: Actor,
    *,
    subject: str,
    body: str,
    requester_email: str | None = None,
    requester_name: str | None = None,
    requester_phone: str | None = None,
    source: TicketSource | None = None,
    topic_id: int | None = None,
    department_id: int | None = None,
    priority_id: int | None = None,
    sla_id: int | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    body_html: str | None = None,
    attachments: Seq[Upload] = (),
    at: datetime | None = None,
    arrival: Arrival | None = None,
) -> Ticket:
    """Open a ticket as an end user (their own), an agent (on behalf of a user) or the system (mail intake).

    Help-topic defaults fill what is not given: department, priority, SLA plan and auto-assignment. Then the rules
    run (`arrival`: the channel, which the API and mail intake name; the others' is the actor's), before anyone is
    told of the ticket; Rejected when one of them rejects it.
    """
    requester_missing = not isinstance(actor, UserActor) and requester_email is None
    subject, body = _validate_text(subject, body, requester_missing=requester_missing)
    moment = at or now()
    if isinstance(actor, UserActor):
        if any(v is not None for v in (department_id, priority_id, sla_id, assignee_id, team_id)):
            raise PermissionDenied("End users cannot set the department, priority, SLA plan or assignee.")
        requester = session.get(User, actor.id)
        if requester is None or requester.banned:
            raise PermissionDenied("Your account cannot open tickets.")
        source = TicketSource.WEB
    else:
        assert requester_email is not None  # checked with the other fields above
        requester = find_or_create_user(session, requester_email, requester_name, requester_phone)
    _preload(session, topic_id, department_id, priority_id, sla_id, assignee_id, team_id)
    topic = get_row(session, HelpTopic, topic_id, "help topic") if topic_id is not None else None
    if topic is not None and (not topic.active or (isinstance(actor, UserActor) and not topic.public)):
        raise Invalid("That help topic is not available.", {"topic": "Choose another help topic."})
    department = get_row(
        session,
        Department,
        department_id or (topic.department_id if topic else settings.get(session, "ticket.default_department_id")),
        "department",
    )
    if isinstance(actor, AgentActor) and not actor.may_in(Perm.TICKET_CREATE, department.id):
        raise PermissionDenied(actor.cannot(PERM_ACTIONS[Perm.TICKET_CREATE], department.id, department.name))
    chosen_priority = priority_id or (topic.priority_id if topic else None)
    priority = (
        get_row(session, Priority, chosen_priority, "priority") if chosen_priority else _default_priority(session)
    )
    if priority is None:
        raise Invalid("No default priority is configured; an administrator must mark one as default.")
    plan_id = (
        sla_id
        or (topic.sla_id if topic else None)
        or department.sla_id
        or settings.get(session, "ticket.default_sla_id")
    )
    plan = get_row(session, SlaPlan, plan_id, "SLA plan") if plan_id else None
    if assignee_id is None and team_id is None and topic is not None:
        assignee_id, team_id = topic.assign_agent_id, topic.assign_team_id
    elif isinstance(actor, AgentActor) and not actor.may_in(Perm.TICKET_ASSIGN, department.id):
        raise PermissionDenied(actor.cannot(PERM_ACTIONS[Perm.TICKET_ASSIGN], department.id, department.name))
    if assignee_id is not None:
        _active_agent(session, assignee_id)
    if team_id is not None:
        get_row(session, Team, team_id, "team")
    status = get_row(session, Status, settings.get(session, "ticket.default_status_id"), "status")
    ticket = Ticket(
        subject=subject,
        requester_id=requester.id,
        department_id=department.id,
        topic_id=topic.id if topic else None,
        priority_id=priority.id,
        priority_level=priority.level,
        status_id=status.id,
        state=status.state,
        sla_id=plan.id if plan else None,
        assignee_id=assignee_id,
        team_id=team_id,
        source=(source or TicketSource.OTHER).value,
        created_at=moment,
        updated_at=moment,
        last_message_at=moment,
    )
    sla.start_clock(session, ticket, moment)
    numbering.insert_with_number(session, ticket)
    # The first message is the requester's words, whoever typed them in; the event records who opened it.
    add_entry(
        session,
        ticket,
        EntryKind.MESSAGE,
        body,
        body_html=body_html,
        attachments=attachments,
        at=moment,
        user_id=requester.id,
        refresh_search=False,
    )
    search.add_document(session, ticket.id, ticket.number, ticket.subject, requester.name, requester.email, body)
    record_event(
        session,
        actor,
        ticket,
        EventKind.CREATED,
        {
            "source": ticket.source,
            "topic": topic_name(session, topic) if topic else None,
            "department": department.name,
        },
        at=moment,
    )
    route(session, actor, ticket, arrival, body, attachments, moment)
    outbound.on_ticket_opened(session, ticket, by_requester=not isinstance(actor, AgentActor), message=body)
    return ticket


open_ticket = command(with_view(new_ticket, "open_ticket"))


def route(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    arrival: Arrival | None,
    body: str,
    attachments: Seq[Upload],
    moment: datetime,
) -> None:
    """Where a new ticket goes before anyone is told of it: the administrators' rules, in their order."""
    from desk.services import rules  # the rules act through this module's services

    rules.on_new_ticket(session, ticket, arrival or rules.arrival_of(actor), body, attachments, moment)
    assignment.auto_assign(session, ticket)  # after the rules: one of them may have assigned it


# The rows `open_ticket` looks up, by the same defaults, in one statement; `session.get` then finds them in the
# identity map. Only a warm-up: a row it misses is looked up on its own, and the checks stay where they are.
# The one-row anchor carries the inputs, so that every join names a column of a table before it.
_INPUTS = (
    "topic_id",
    "department_id",
    "default_department_id",
    "priority_id",
    "sla_id",
    "default_sla_id",
    "status_id",
    "assignee_id",
    "team_id",
)
_given = select(*(cast(bindparam(name, type_=Integer), Integer).label(name) for name in _INPUTS)).subquery("given")
_topic = aliased(HelpTopic, name="topic")
_parent_topic = aliased(HelpTopic, name="parent_topic")
_PRELOAD = (
    select(_topic, _parent_topic, Department, Priority, SlaPlan, Status, Agent, Team)
    .select_from(_given)
    .outerjoin(_topic, _topic.id == _given.c.topic_id)
    .outerjoin(_parent_topic, _parent_topic.id == _topic.parent_id)
    .outerjoin(
        Department,
        Department.id == func.coalesce(_given.c.department_id, _topic.department_id, _given.c.default_department_id),
    )
    .outerjoin(Priority, Priority.id == func.coalesce(_given.c.priority_id, _topic.priority_id))
    .outerjoin(
        SlaPlan,
        SlaPlan.id == func.coalesce(_given.c.sla_id, _topic.sla_id, Department.sla_id, _given.c.default_sla_id),
    )
    .outerjoin(Status, Status.id == _given.c.status_id)
    .outerjoin(Agent, Agent.id == func.coalesce(_given.c.assignee_id, _topic.assign_agent_id))
    .outerjoin(Team, Team.id == func.coalesce(_given.c.team_id, _topic.assign_team_id))
)


def _preload(
    session: Session,
    topic_id: int | None,
    department_id: int | None,
    priority_id: int | None,
    sla_id: int | None,
    assignee_id: int | None,
    team_id: int | None,
) -> None:
    given = {
        "topic_id": topic_id,
        "department_id": department_id,
        "default_department_id": settings.get(session, "ticket.default_department_id"),
        "priority_id": priority_id,
        "sla_id": sla_id,
        "default_sla_id": settings.get(session, "ticket.default_sla_id"),
        "status_id": settings.get(session, "ticket.default_status_id"),
        "assignee_id": assignee_id,
        "team_id": team_id,
    }
    # Kept referenced for the transaction (the identity map holds its objects weakly), and read once per inputs:
    # mail intake opens many tickets in one transaction.
    preloaded = session.info.setdefault("desk.preloaded", {})
    if (key := tuple(given.values())) not in preloaded:
        preloaded[key] = session.execute(_PRELOAD, given).all()


def _default_priority(session: Session) -> Priority | None:
    """Read once per transaction, like the settings (mail intake opens many tickets in one)."""
    if "desk.default_priority" not in session.info:
        session.info["desk.default_priority"] = session.scalar(select(Priority).where(Priority.is_default.is_(True)))
    priority: Priority | None = session.info["desk.default_priority"]
    return priority


def _active_agent(session: Session, agent_id: int) -> Agent:
    agent = get_row(session, Agent, agent_id, "agent")
    if not agent.active:
        raise Invalid(f"{agent.name} is not an active agent.", {"assignee": "Choose an active agent."})
    return agent


def _for_change(
    session: Session, actor: Actor, ticket_id: int, perm: Perm, action: str, expected_version: int | None
) -> Ticket:
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, perm, action)
    check_version(session, ticket, expected_version)
    return ticket


def _named(row: Any) -> dict[str, Any] | None:
    return None if row is None else {"id": row.id, "name": row.name}


def _finish(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    kind: EventKind,
    before: Any,
    after: Any,
    note: str | None,
) -> TicketView:
    record_event(session, actor, ticket, kind, {"before": before, "after": after}, note=note)
    from desk.services import rules  # the rules act through this module's services

    rules.on_change(session, actor, ticket)
    if kind == EventKind.ASSIGNED:
        outbound.on_assigned(session, ticket, getattr(actor, "id", None), actor.name)
    elif kind == EventKind.TRANSFERRED:
        outbound.on_transferred(session, ticket, getattr(actor, "id", None), actor.name)
    if kind in (EventKind.TRANSFERRED, EventKind.TEAM_ASSIGNED):  # arrived unassigned in a department or team
        assignment.auto_assign(session, ticket)
    return ticket_view(session, ticket, actor)


@command
def assign(
    session: Session,
    actor: Actor,
    ticket_id: int,
    agent_id: int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_ASSIGN, "assign tickets", expected_version)
    agent = _active_agent(session, agent_id)
    if ticket.assignee_id == agent.id:
        return ticket_view(session, ticket, actor)
    before = _named(session.get(Agent, ticket.assignee_id)) if ticket.assignee_id else None
    ticket.assignee_id = agent.id
    return _finish(session, actor, ticket, EventKind.ASSIGNED, before, _named(agent), note)


@command
def claim(
    session: Session, actor: Actor, ticket_id: int, *, note: str | None = None, expected_version: int | None = None
) -> TicketView:
    """Assign an unassigned ticket to oneself ("assign to me")."""
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    check_version(session, ticket, expected_version)
    if ticket.assignee_id == agent.id:
        return ticket_view(session, ticket, actor)
    if ticket.assignee_id is not None:
        holder = session.get(Agent, ticket.assignee_id)
        raise Invalid(f"Ticket {ticket.number} is already assigned to {holder.name if holder else 'someone'}.")
    perms = agent.perms_on(ticket.department_id, ticket.assignee_id, ticket.team_id)
    if Perm.TICKET_ASSIGN not in perms and Perm.TICKET_REPLY not in perms:
        raise PermissionDenied(agent.cannot("take tickets", ticket.department_id, department_name(ticket)))
    ticket.assignee_id = agent.id
    return _finish(session, actor, ticket, EventKind.ASSIGNED, None, {"id": agent.id, "name": agent.name}, note)


@command
def release(
    session: Session, actor: Actor, ticket_id: int, *, note: str | None = None, expected_version: int | None = None
) -> TicketView:
    """Unassign the agent (and team) from a ticket."""
    ticket = load_ticket(session, actor, ticket_id)
    agent = require_agent(actor)
    if ticket.assignee_id != agent.id:  # releasing one's own ticket needs no special right
        require_perm(actor, ticket, Perm.TICKET_RELEASE, "release tickets")
    check_version(session, ticket, expected_version)
    if ticket.assignee_id is None and ticket.team_id is None:
        return ticket_view(session, ticket, actor)
    before = {
        "agent": _named(session.get(Agent, ticket.assignee_id)) if ticket.assignee_id else None,
        "team": _named(session.get(Team, ticket.team_id)) if ticket.team_id else None,
    }
    ticket.assignee_id = ticket.team_id = None
    return _finish(session, actor, ticket, EventKind.RELEASED, before, None, note)


@command
def assign_team(
    session: Session,
    actor: Actor,
    ticket_id: int,
    team_id: int | None,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_ASSIGN, "assign tickets", expected_version)
    team = get_row(session, Team, team_id, "team") if team_id is not None else None
    if ticket.team_id == team_id:
        return ticket_view(session, ticket, actor)
    before = _named(session.get(Team, ticket.team_id)) if ticket.team_id else None
    ticket.team_id = team_id
    return _finish(session, actor, ticket, EventKind.TEAM_ASSIGNED, before, _named(team), note)


@command
def transfer(
    session: Session,
    actor: Actor,
    ticket_id: int,
    department_id: int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_TRANSFER, "transfer tickets", expected_version)
    department = get_row(session, Department, department_id, "department")
    if ticket.department_id == department.id:
        return ticket_view(session, ticket, actor)
    before = _named(session.get(Department, ticket.department_id))
    ticket.department_id = department.id
    return _finish(session, actor, ticket, EventKind.TRANSFERRED, before, _named(department), note)


@command
def set_priority(
    session: Session,
    actor: Actor,
    ticket_id: int,
    priority_id: int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_EDIT, "change the priority", expected_version)
    priority = get_row(session, Priority, priority_id, "priority")
    if ticket.priority_id == priority.id:
        return ticket_view(session, ticket, actor)
    before = _named(session.get(Priority, ticket.priority_id))
    ticket.priority_id, ticket.priority_level = priority.id, priority.level
    return _finish(session, actor, ticket, EventKind.PRIORITY, before, _named(priority), note)


@command
def set_sla(
    session: Session,
    actor: Actor,
    ticket_id: int,
    sla_id: int | None,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    """Change the SLA plan; due times are counted again from when the ticket was opened."""
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_EDIT, "change the SLA plan", expected_version)
    plan = get_row(session, SlaPlan, sla_id, "SLA plan") if sla_id is not None else None
    if ticket.sla_id == sla_id:
        return ticket_view(session, ticket, actor)
    before = _named(session.get(SlaPlan, ticket.sla_id)) if ticket.sla_id else None
    ticket.sla_id = sla_id
    sla.start_clock(session, ticket, ticket.created_at)
    return _finish(session, actor, ticket, EventKind.SLA, before, _named(plan), note)


@command
def set_topic(
    session: Session,
    actor: Actor,
    ticket_id: int,
    topic_id: int | None,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    ticket = _for_change(session, actor, ticket_id, Perm.TICKET_EDIT, "change the help topic", expected_version)
    topic = get_row(session, HelpTopic, topic_id, "help topic") if topic_id is not None else None
    if ticket.topic_id == topic_id:
        return ticket_view(session, ticket, actor)
    old = session.get(HelpTopic, ticket.topic_id) if ticket.topic_id else None
    ticket.topic_id = topic_id
    return _finish(
        session,
        actor,
        ticket,
        EventKind.TOPIC,
        {"id": old.id, "name": topic_name(session, old)} if old else None,
        {"id": topic.id, "name": topic_name(session, topic)} if topic else None,
        note,
    )


@query
def get_ticket(session: Session, actor: Actor, ticket_id: int) -> TicketView:
    return _ticket_view(session, actor, ticket_id)


@query
def find_ticket(session: Session, actor: Actor, number: str) -> TicketView:
    """A ticket by its number, as the actor may see it."""
    ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number.strip().lstrip("#")))
    try:
        if ticket_id is None:
            raise NotFound(number)
        return _ticket_view(session, actor, ticket_id)
    except NotFound:  # one answer whether it does not exist or is hidden: neither its existence nor its id shows
        raise NotFound(f"Ticket {number} does not exist or you do not have access to it.") from None


def _ticket_view(session: Session, actor: Actor, ticket_id: int) -> TicketView:
    """Load the ticket with its header in one statement, check the actor may see it, then read its thread."""
    row = session.execute(TICKET_WITH_HEADER, {"ticket_id": ticket_id}).first()
    ticket = visible_ticket(session, actor, ticket_id, row[0] if row is not None else None)
    assert row is not None
    return ticket_view(session, ticket, actor, header=row[1:])
