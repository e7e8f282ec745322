"""Reference data and look-ups an agent's screens need: the choices for a ticket's fields, people, their tickets."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from desk.domain.attachments import AttachmentRules
from desk.domain.enums import StatusState
from desk.domain.errors import NotFound
from desk.domain.inputs import check_limit, literal
from desk.domain.permissions import Actor
from desk.domain.views import Choices, DepartmentSignature, PersonView, QueueRow, Ref
from desk.services import settings
from desk.services.base import query, require_agent, visible_to
from desk.services.mail import outbound
from desk.services.queues import rows_for
from desk.services.views import person, priority_view, status_view
from desk.storage.models import (
    Agent,
    Department,
    HelpTopic,
    Organization,
    Priority,
    SlaPlan,
    Status,
    Team,
    Ticket,
    User,
)


def topic_names(topics: list[HelpTopic]) -> dict[int, str]:
    """Every active topic's full name, "Parent / Child", from one list (no query per level)."""
    by_id = {topic.id: topic for topic in topics}

    def name(topic: HelpTopic) -> str:
        parent = by_id.get(topic.parent_id) if topic.parent_id is not None else None
        return topic.name if parent is None else f"{name(parent)} / {topic.name}"

    return {topic.id: name(topic) for topic in topics}


@query
def choices(session: Session, actor: Actor) -> Choices:
    agent = require_agent(actor)
    topics = list(session.scalars(select(HelpTopic)))
    names = topic_names(topics)
    me = session.get(Agent, agent.id)
    departments = list(session.scalars(select(Department).order_by(Department.name)))
    statuses = list(session.scalars(select(Status).order_by(Status.sort, Status.id)))
    return Choices(
        statuses=tuple(status_view(s) for s in statuses),
        priorities=tuple(priority_view(p) for p in session.scalars(select(Priority).order_by(Priority.level))),
        departments=tuple(Ref(id=d.id, name=d.name) for d in departments),
        topics=tuple(
            sorted((Ref(id=t.id, name=names[t.id]) for t in topics if t.active), key=lambda r: r.name.lower())
        ),
        slas=tuple(
            Ref(id=s.id, name=s.name)
            for s in session.scalars(select(SlaPlan).where(SlaPlan.active).order_by(SlaPlan.name))
        ),
        agents=tuple(
            Ref(id=a.id, name=a.name) for a in session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))
        ),
        teams=tuple(Ref(id=t.id, name=t.name) for t in session.scalars(select(Team).order_by(Team.name))),
        signature=me.signature if me is not None else None,
        attachment_limit=int(settings.get(session, "attachments.max_bytes")),
        attachment_types=rules(session).types,
        outgoing_mail=outbound.outgoing_mail(session),
        department_signatures=tuple(  # the departments whose tickets the agent answers as one of them
            DepartmentSignature(d.id, d.signature)
            for d in departments
            if d.signature and (agent.is_admin or d.id in agent.departments)
        ),
        waiting_statuses=tuple(s.id for s in statuses if s.state == StatusState.OPEN and s.on_hold),
    )


@query
def attachment_rules(session: Session) -> AttachmentRules:
    """The largest attachment accepted and the types accepted (public: the Support Center's forms say them)."""
    return rules(session)


def rules(session: Session) -> AttachmentRules:
    """What a file must be to be attached, as the settings say now (see `attachment_rules`)."""
    return AttachmentRules(
        int(settings.get(session, "attachments.max_bytes")), tuple(settings.get(session, "attachments.types"))
    )


MOST = 200  # suggestions and a requester's other tickets: more than a person reads


@query
def find_users(session: Session, actor: Actor, text: str, *, limit: int = 20) -> list[PersonView]:
    """End users whose name or email starts with the text (or whose email contains it), for picking a requester."""
    require_agent(actor)
    check_limit(limit, MOST)
    needle = " ".join(text.split()).lower()
    if len(needle) < 2:
        return []
    pattern = literal(needle)
    rows = session.execute(
        select(User, Organization.name)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(
            or_(
                func.lower(User.name).like(f"{pattern}%", escape="\\"),
                User.email.like(f"%{pattern}%", escape="\\"),
            )
        )
        .order_by(User.name_key, User.id)  # ix_users_name_key: read in order until the page is full
        .limit(limit)
    )
    return [
        PersonView(id=user.id, name=user.name, email=user.email, phone=user.phone, organization=organization)
        for user, organization in rows
    ]


@query
def get_user(session: Session, actor: Actor, user_id: int) -> PersonView:
    """One end user, for an agent (agents see every requester's name and address, as they do in the queues)."""
    require_agent(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no end user with id {user_id}.")
    return person(session, user)


@query
def requester_tickets(session: Session, actor: Actor, user_id: int, *, limit: int = 20) -> list[QueueRow]:
    """A requester's tickets that the agent may see, most recently updated first."""
    agent = require_agent(actor)
    check_limit(limit, MOST)
    ids = select(Ticket.id).where(Ticket.requester_id == user_id)
    visible = visible_to(agent)
    if visible is not None:
        ids = ids.where(visible)
    return rows_for(
        session, list(session.scalars(ids.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit)))
    )
