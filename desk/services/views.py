"""Building the frozen views services return, inside their transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from datetime import datetime
from typing import Any, Concatenate, ParamSpec

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from desk.domain.attachments import safe_content_type, safe_name
from desk.domain.enums import PUBLIC_EVENTS, ActorKind, CollaboratorRole, EntryKind, EventKind, StatusState
from desk.domain.enums import TicketSource as Source
from desk.domain.permissions import Actor, AgentActor, UserActor
from desk.domain.views import (
    AttachmentView,
    CollaboratorView,
    EntryView,
    EventView,
    LinkedTicket,
    PersonView,
    PriorityView,
    Ref,
    StatusView,
    TaskView,
    ThreadItem,
    TicketView,
)
from desk.services.richtext import sanitize_html
from desk.storage.models import (
    Agent,
    Attachment,
    Collaborator,
    Department,
    Follower,
    HelpTopic,
    Organization,
    Priority,
    SlaPlan,
    Status,
    Team,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    TicketLink,
    TicketTask,
    User,
)

P = ParamSpec("P")


def attachment_view(
    attachment_id: int, name: str, content_type: str, size: int, sha256: str, content_id: str | None = None
) -> AttachmentView:
    """A stored attachment as everyone sees and saves it: its name and type made safe again on the way out, so
    files stored before names were made safe on entry are shown, downloaded and mailed under a safe name too."""
    return AttachmentView(
        attachment_id, safe_name(name, content_type), safe_content_type(content_type), size, sha256, content_id
    )


def person(session: Session, user: User) -> PersonView:
    organization = session.get(Organization, user.organization_id) if user.organization_id else None
    return PersonView(
        id=user.id,
        name=user.name,
        email=user.email,
        phone=user.phone,
        organization=organization.name if organization else None,
    )


def topic_name(session: Session, topic: HelpTopic) -> str:
    """Nested topics read "Parent / Child"."""
    return _topic_path(session, [topic.name], topic.parent_id)


def _topic_path(session: Session, names: list[str], parent_id: int | None) -> str:
    """The topic named by `names` (child first) under the topic `parent_id`, its ancestors looked up in turn."""
    while parent_id is not None:
        parent = session.get(HelpTopic, parent_id)
        if parent is None:
            break
        names.append(parent.name)
        parent_id = parent.parent_id
    return " / ".join(reversed(names))


def priority_view(priority: Priority) -> PriorityView:
    return PriorityView(id=priority.id, name=priority.name, level=priority.level, colour=priority.colour)


def status_view(status: Status) -> StatusView:
    return StatusView(id=status.id, name=status.name, state=StatusState(status.state), pauses_sla=status.pauses_sla)


def _names(
    session: Session, agent_ids: Iterable[int | None], user_ids: Iterable[int | None]
) -> dict[tuple[str, int], str]:
    agents = {i for i in agent_ids if i is not None}
    users = {i for i in user_ids if i is not None}
    names: dict[tuple[str, int], str] = {}
    if agents:
        names |= {("agent", a.id): a.name for a in session.scalars(select(Agent).where(Agent.id.in_(agents)))}
    if users:
        names |= {("user", u.id): u.name for u in session.scalars(select(User).where(User.id.in_(users)))}
    return names


def _author(agent_id: int | None, agent: str | None, user_id: int | None, user: str | None) -> tuple[ActorKind, str]:
    if agent_id is not None:
        return ActorKind.AGENT, agent or "Unknown agent"
    if user_id is not None:
        return ActorKind.USER, user or "Unknown user"
    return ActorKind.SYSTEM, "System"


def entry_author(session: Session, entry: ThreadEntry) -> tuple[ActorKind, str]:
    names = _names(session, [entry.agent_id], [entry.user_id])
    agent = names.get(("agent", entry.agent_id)) if entry.agent_id is not None else None
    user = names.get(("user", entry.user_id)) if entry.user_id is not None else None
    return _author(entry.agent_id, agent, entry.user_id, user)


# --- statements built once: a ticket view takes three, whatever the length of its thread ---------------------------
# Written on the tables, not the mapped classes: rows then come through Core, without the ORM's loading machinery,
# which costs more than SQLite's reading of a 200-entry thread. Core statements do not autoflush: `ticket_view`
# flushes first.

_tickets, _users, _organizations = Ticket.__table__.c, User.__table__.c, Organization.__table__.c
_departments, _topics, _priorities = Department.__table__.c, HelpTopic.__table__.c, Priority.__table__.c
_statuses, _slas, _agents, _teams = Status.__table__.c, SlaPlan.__table__.c, Agent.__table__.c, Team.__table__.c
_merged = Ticket.__table__.alias("merged")
_parent_topic = HelpTopic.__table__.alias("parent_topic")
_collaborator = select(Collaborator.__table__.c.ticket_id).where(Collaborator.__table__.c.ticket_id == _tickets.id)
_follower = select(Follower.__table__.c.ticket_id).where(Follower.__table__.c.ticket_id == _tickets.id)
_task = select(TicketTask.__table__.c.ticket_id).where(TicketTask.__table__.c.ticket_id == _tickets.id)
_links = TicketLink.__table__.c
_link = select(_links.ticket_id).where(or_(_links.ticket_id == _tickets.id, _links.linked_id == _tickets.id))

_entries = ThreadEntry.__table__.c
# The agents' minutes over the whole thread, read with the header: a sum over the ticket's entries (its index).
_time_spent = (
    select(func.coalesce(func.sum(_entries.minutes), 0)).where(_entries.ticket_id == _tickets.id).scalar_subquery()
)

# Everything a ticket's header shows besides the ticket's own columns, and whether it has collaborators, links or
# followers (most have none, so their queries are skipped).
_HEADER_COLUMNS = (
    _users.id,
    _users.name,
    _users.email,
    _users.phone,
    _organizations.name,
    _departments.id,
    _departments.name,
    _topics.id,
    _topics.name,
    _parent_topic.c.id,
    _parent_topic.c.name,
    _parent_topic.c.parent_id,
    _priorities.id,
    _priorities.name,
    _priorities.level,
    _priorities.colour,
    _statuses.id,
    _statuses.name,
    _statuses.state,
    _statuses.pauses_sla,
    _slas.id,
    _slas.name,
    _agents.id,
    _agents.name,
    _teams.id,
    _teams.name,
    _merged.c.number,
    exists(_collaborator),
    exists(_link),
    exists(_follower),
    _departments.time_required,
    _time_spent,
    exists(_task),
    _departments.tasks_required,
)


def _header_statement(*entities: Any) -> Any:
    return (
        select(*entities, *_HEADER_COLUMNS)
        .select_from(Ticket.__table__)
        .join(User.__table__, _users.id == _tickets.requester_id)
        .outerjoin(Organization.__table__, _organizations.id == _users.organization_id)
        .join(Department.__table__, _departments.id == _tickets.department_id)
        .outerjoin(HelpTopic.__table__, _topics.id == _tickets.topic_id)
        .outerjoin(_parent_topic, _parent_topic.c.id == _topics.parent_id)
        .join(Priority.__table__, _priorities.id == _tickets.priority_id)
        .join(Status.__table__, _statuses.id == _tickets.status_id)
        .outerjoin(SlaPlan.__table__, _slas.id == _tickets.sla_id)
        .outerjoin(Agent.__table__, _agents.id == _tickets.assignee_id)
        .outerjoin(Team.__table__, _teams.id == _tickets.team_id)
        .outerjoin(_merged, _merged.c.id == _tickets.merged_into_id)
        .where(_tickets.id == bindparam("ticket_id"))
    )


_HEADER = _header_statement()
TICKET_WITH_HEADER = _header_statement(Ticket)  # the ticket itself too: opening a ticket takes one statement

_author_agent = Agent.__table__.alias("author_agent")
_author_user = User.__table__.alias("author_user")


def _thread_statement(model: type[ThreadEntry] | type[ThreadEvent], *columns: str) -> Any:
    """A ticket's entries or events with their authors' names: id, kind, agent id and name, user id and name,
    created_at, then `columns`."""
    table = model.__table__
    return (
        select(
            table.c.id,
            table.c.kind,
            table.c.agent_id,
            _author_agent.c.name,
            table.c.user_id,
            _author_user.c.name,
            table.c.created_at,
            *(table.c[name] for name in columns),
        )
        .outerjoin(_author_agent, _author_agent.c.id == table.c.agent_id)
        .outerjoin(_author_user, _author_user.c.id == table.c.user_id)
        .where(table.c.ticket_id == bindparam("ticket_id"))
    )


def _entries_statement(public_only: bool) -> Any:
    entries, attachments = ThreadEntry.__table__, Attachment.__table__
    statement = (
        _thread_statement(
            ThreadEntry, "body_text", "body_html", "recipients", "edited_at", "sender_unverified", "minutes"
        )
        .add_columns(*(attachments.c[name] for name in ("id", "name", "content_type", "size", "sha256", "content_id")))
        .outerjoin(attachments, attachments.c.entry_id == entries.c.id)
        .order_by(entries.c.id, attachments.c.id)
    )
    return statement.where(entries.c.kind != EntryKind.NOTE.value) if public_only else statement


def _events_statement(public_only: bool) -> Any:
    statement = _thread_statement(ThreadEvent, "data", "note")
    if public_only:
        statement = statement.where(ThreadEvent.__table__.c.kind.in_(sorted(kind.value for kind in PUBLIC_EVENTS)))
    return statement


# (entries, events) for agents and the system, and for end users
_THREAD = {public: (_entries_statement(public), _events_statement(public)) for public in (False, True)}

_COLLABORATORS = (
    select(_users.id, _users.name, _users.email, _users.phone, _organizations.name, Collaborator.__table__.c.role)
    .join(Collaborator.__table__, Collaborator.__table__.c.user_id == _users.id)
    .outerjoin(Organization.__table__, _organizations.id == _users.organization_id)
    .where(Collaborator.__table__.c.ticket_id == bindparam("ticket_id"))
    .order_by(_users.name, _users.id)
)
_LINKED = (
    select(
        _tickets.id, _tickets.number, _tickets.subject, _tickets.department_id, _tickets.assignee_id, _tickets.team_id
    )
    .join(TicketLink.__table__, or_(_links.ticket_id == _tickets.id, _links.linked_id == _tickets.id))
    .where(
        or_(_links.ticket_id == bindparam("ticket_id"), _links.linked_id == bindparam("ticket_id")),
        _tickets.id != bindparam("ticket_id"),
    )
    .order_by(_tickets.number)
)
_task_assignee, _task_doer = aliased(Agent, name="task_assignee"), aliased(Agent, name="task_doer")
_TASKS = (
    select(
        TicketTask.id,
        TicketTask.text,
        _task_assignee.id,
        _task_assignee.name,
        TicketTask.due_on,
        TicketTask.done_at,
        _task_doer.id,
        _task_doer.name,
    )
    .outerjoin(_task_assignee, _task_assignee.id == TicketTask.assignee_id)
    .outerjoin(_task_doer, _task_doer.id == TicketTask.done_by_id)
    .where(TicketTask.ticket_id == bindparam("ticket_id"))
    .order_by(TicketTask.id)
)


def _ref(ref_id: int | None, name: str | None) -> Ref | None:
    return Ref(ref_id, name or "") if ref_id is not None else None


_FOLLOWERS = (
    select(_agents.id, _agents.name)
    .join(Follower.__table__, Follower.__table__.c.agent_id == _agents.id)
    .where(Follower.__table__.c.ticket_id == bindparam("ticket_id"))
    .order_by(_agents.name, _agents.id)
)


# Enum members by stored value: a dict look-up per thread item instead of an Enum call (a 200-entry thread is read
# on every opening).
_ENTRY_KINDS = {kind.value: kind for kind in EntryKind}
_EVENT_KINDS = {kind.value: kind for kind in EventKind}


def thread(session: Session, ticket_id: int, actor: Actor) -> tuple[ThreadItem, ...]:
    """Entries and events in time order; an end user sees no internal note and no agent-only event.

    Two statements whatever the thread's length: authors and attachments come joined to their entries.
    """
    public_only = isinstance(actor, UserActor)
    entries_statement, events_statement = _THREAD[public_only]
    params = {"ticket_id": ticket_id}
    items: list[tuple[datetime, int, int, ThreadItem]] = []
    entries: dict[int, tuple[tuple[Any, ...], list[AttachmentView]]] = {}
    connection = session.connection()  # Core statements: plain rows, without the session's ORM handling
    for row in connection.execute(entries_statement, params).all():
        found = entries.get(row[0])
        if found is None:
            found = entries[row[0]] = (row, [])
        if row[13] is not None:
            found[1].append(attachment_view(*row[13:19]))
    for entry, attachments in entries.values():
        entry_id, kind, agent_id, agent, user_id, user, created_at, text, html, recipients, edited_at = entry[:11]
        author_kind, author = _author(agent_id, agent, user_id, user)
        view = EntryView(
            entry_id,
            _ENTRY_KINDS[kind],
            author_kind,
            author,
            created_at,
            text,
            sanitize_html(html) if html else None,  # stored under an older policy, perhaps: today's policy when shown
            tuple(recipients) if recipients else (),
            edited_at,
            tuple(attachments),
            bool(entry[11]),  # sender_unverified
            None if public_only else entry[12],  # minutes: the agents' business
        )
        items.append((created_at, 0, entry_id, view))
    for event_id, event_kind, agent_id, agent, user_id, user, created_at, data, note in connection.execute(
        events_statement, params
    ).all():
        author_kind, author = _author(agent_id, agent, user_id, user)
        event_view = EventView(
            event_id,
            _EVENT_KINDS[event_kind],
            author_kind,
            author,
            created_at,
            dict(data),
            None if public_only else note,
        )
        items.append((created_at, 1, event_id, event_view))
    items.sort(key=lambda item: item[:3])
    return tuple(item[3] for item in items)


def _linked_tickets(session: Session, actor: Actor, params: dict[str, Any]) -> tuple[LinkedTicket, ...]:
    """The tickets linked to this one; an agent sees the subject of those in their reach only."""
    return tuple(
        LinkedTicket(link_id, number, subject if not isinstance(actor, AgentActor) or actor.can_see(*where) else None)
        for link_id, number, subject, *where in session.execute(_LINKED, params)
    )


def with_view(
    change: Callable[Concatenate[Session, Actor, P], Ticket], name: str
) -> Callable[Concatenate[Session, Actor, P], TicketView]:
    """A change to a ticket as the service `name`, which answers with the ticket's view; `change` itself answers
    with the ticket, for mail intake: it needs no view, and building one is a tenth of what a message costs."""

    @functools.wraps(change)
    def service(session: Session, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> TicketView:
        return ticket_view(session, change(session, actor, *args, **kwargs), actor)

    service.__name__ = service.__qualname__ = name
    service.answers_view = True  # type: ignore[attr-defined]  # its signature, unwrapped, is the change's
    return service


def ticket_view(
    session: Session, ticket: Ticket, actor: Actor, *, with_thread: bool = True, header: Seq[Any] | None = None
) -> TicketView:
    """The view of a ticket loaded in this session; `header` is the rest of a `TICKET_WITH_HEADER` row if at hand."""
    session.flush()  # the statements below are Core: they see only what is flushed
    if header is None:
        header = session.execute(_HEADER, {"ticket_id": ticket.id}).one()
    (user_id, user_name, email, phone, organization, department_id, department) = header[:7]
    (topic_id, topic, parent_id, parent, grandparent_id) = header[7:12]
    (priority_id, priority, level, colour, status_id, status, state, pauses_sla) = header[12:20]
    (sla_id, sla, assignee_id, assignee, team_id, team, merged_into, has_collaborators, has_links) = header[20:29]
    has_followers, time_required, time_spent, has_tasks, tasks_required = header[29:34]
    params = {"ticket_id": ticket.id}
    collaborators: tuple[CollaboratorView, ...] = ()
    links: tuple[LinkedTicket, ...] = ()
    if has_collaborators and (not isinstance(actor, UserActor) or actor.id == ticket.requester_id):
        collaborators = tuple(
            CollaboratorView(
                user=PersonView(id=i, name=name, email=address, phone=number, organization=org),
                role=CollaboratorRole(role),
            )
            for i, name, address, number, org, role in session.execute(_COLLABORATORS, params)
        )
    if has_links and not isinstance(actor, UserActor):
        links = _linked_tickets(session, actor, params)
    followers: tuple[Ref, ...] = ()
    if has_followers and isinstance(actor, AgentActor):  # the agents' own business: not for end users
        followers = tuple(Ref(i, name) for i, name in session.execute(_FOLLOWERS, params))
    tasks: tuple[TaskView, ...] = ()
    if has_tasks and isinstance(actor, AgentActor):  # the agents' own work: not for end users
        tasks = tuple(
            TaskView(i, text, _ref(assignee_id, assignee), due_on, done_at, _ref(done_by_id, done_by))
            for i, text, assignee_id, assignee, due_on, done_at, done_by_id, done_by in session.execute(_TASKS, params)
        )
    topic_ref = None
    if topic_id is not None:
        names = [topic] if parent_id is None else [topic, parent]
        topic_ref = Ref(topic_id, _topic_path(session, names, grandparent_id if parent_id is not None else None))
    return TicketView(
        id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        requester=PersonView(id=user_id, name=user_name, email=email, phone=phone, organization=organization),
        department=Ref(department_id, department),
        topic=topic_ref,
        priority=PriorityView(id=priority_id, name=priority, level=level, colour=colour),
        status=StatusView(id=status_id, name=status, state=StatusState(state), pauses_sla=pauses_sla),
        sla=Ref(sla_id, sla) if sla_id is not None else None,
        assignee=Ref(assignee_id, assignee) if assignee_id is not None else None,
        team=Ref(team_id, team) if team_id is not None else None,
        source=Source(ticket.source),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        first_responded_at=ticket.first_responded_at,
        answered=ticket.answered,
        overdue=ticket.overdue,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        last_message_at=ticket.last_message_at,
        last_response_at=ticket.last_response_at,
        merged_into=merged_into,
        version=ticket.version,
        collaborators=collaborators,
        links=links,
        followers=followers,
        following=isinstance(actor, AgentActor) and any(f.id == actor.id for f in followers),
        thread=thread(session, ticket.id, actor) if with_thread else (),
        time_spent=0 if isinstance(actor, UserActor) else int(time_spent),
        time_required=bool(time_required) and not isinstance(actor, UserActor),
        tasks=tasks,
        tasks_required=bool(tasks_required) and not isinstance(actor, UserActor),
        pending_until=ticket.pending_until,
    )
