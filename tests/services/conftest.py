"""A small help desk to act in: departments, roles, agents with different access, end users, topics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, func, select

from desk.domain.enums import InboundState
from desk.domain.permissions import AgentActor, Right, SystemActor, UserActor
from desk.domain.views import TicketView
from desk.services import accounts, portal, tickets
from desk.services.mail import intake
from desk.storage.db import Database
from desk.storage.models import (
    Change,
    Department,
    HelpTopic,
    InboundMessage,
    Priority,
    SlaPlan,
    Status,
    Team,
    TeamMember,
    ThreadEvent,
)

SYSTEM = SystemActor()


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """The statements sent to the database inside the block, each on one line."""
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


@dataclass(frozen=True)
class World:
    db: Database
    support: int
    billing: int
    level2: int
    admin: AgentActor
    manager: AgentActor  # All access in Support
    limited: AgentActor  # Limited access in Support, member of Level 2
    viewer: AgentActor  # View only in Billing
    outsider: AgentActor  # no department at all
    alice: UserActor
    bob: UserActor
    statuses: dict[str, int]
    priorities: dict[str, int]
    topic_problem: int
    topic_outage: int
    topic_private: int
    sla_fast: int

    def open(self, subject: str = "Printer on fire", body: str = "It is really on fire.", **kwargs: Any) -> TicketView:
        """A ticket for Alice, opened by the manager unless `by` names another actor."""
        kwargs.setdefault("requester_email", "alice@example.com")
        by = kwargs.pop("by", self.manager)
        return tickets.open_ticket(self.db, by, subject=subject, body=body, **kwargs)


def count(db: Database, model: type, *where: object) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def events(db: Database, ticket_id: int) -> list[str]:
    with db.transaction(write=False) as session:
        return list(
            session.scalars(select(ThreadEvent.kind).where(ThreadEvent.ticket_id == ticket_id).order_by(ThreadEvent.id))
        )


def feed(db: Database, ticket_id: int) -> list[str]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Change.aspect).where(Change.ticket_id == ticket_id).order_by(Change.id)))


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as session:
        support = session.scalar(select(Department).where(Department.name == "Support"))
        assert support is not None
        billing = Department(name="Billing")
        level2 = Team(name="Level 2")
        fast = SlaPlan(name="Sev-A", first_response_hours=1, resolution_hours=4, schedule_id=None)
        session.add_all([billing, level2, fast])
        session.flush()
        priorities = {p.name: p.id for p in session.scalars(select(Priority))}
        statuses = {s.name: s.id for s in session.scalars(select(Status))}
        problem = HelpTopic(name="Report a Problem", department_id=support.id, public=True)
        session.add(problem)
        session.flush()
        outage = HelpTopic(
            name="Business Critical Outage",
            parent_id=problem.id,
            department_id=support.id,
            priority_id=priorities["Emergency"],
            sla_id=fast.id,
            assign_team_id=level2.id,
        )
        private = HelpTopic(name="Internal audit", department_id=billing.id, public=False)
        session.add_all([outage, private])
        session.flush()
        ids = (support.id, billing.id, level2.id, problem.id, outage.id, private.id, fast.id)
    support_id, billing_id, level2_id, problem_id, outage_id, private_id, fast_id = ids

    def agent(username: str, access: dict[str, str], rights: tuple[Right, ...] = ()) -> AgentActor:
        return accounts.add_agent(
            db,
            SYSTEM,
            username=username,
            name=username.title() + " Agent",
            email=f"{username}@desk.example",
            password=f"{username}-password",
            access=access,
            rights=rights,
        )

    admin = agent("admin", {}, (Right.ADMIN,))
    manager = agent("manager", {"Support": "All access"})
    limited = agent("limited", {"Support": "Limited access"})
    viewer = agent("viewer", {"Billing": "View only"})
    outsider = agent("outsider", {})
    with db.transaction() as session:
        session.add(TeamMember(team_id=level2_id, agent_id=limited.id))
    limited = accounts.agent_by_username(db, "limited")
    accounts.add_user(db, SYSTEM, email="alice@example.com", name="Alice Archer", password="alice-password")
    accounts.add_user(db, SYSTEM, email="bob@example.com", name="Bob Baker", password="bob-password")
    return World(
        db=db,
        support=support_id,
        billing=billing_id,
        level2=level2_id,
        admin=admin,
        manager=manager,
        limited=limited,
        viewer=viewer,
        outsider=outsider,
        alice=_signed_in(db, "alice@example.com", "alice-password"),
        bob=_signed_in(db, "bob@example.com", "bob-password"),
        statuses=statuses,
        priorities=priorities,
        topic_problem=problem_id,
        topic_outage=outage_id,
        topic_private=private_id,
        sla_fast=fast_id,
    )


def _signed_in(db: Database, email: str, password: str) -> UserActor:
    result = portal.sign_in(db, email, password)
    assert not isinstance(result, str), result
    return result.actor


def quarantined_message(world: World, subject: str = "Statement") -> int:
    """A fetched message set aside as one that could not be threaded."""
    raw = f"From: Nora <nora@example.org>\r\nTo: support@example.com\r\nSubject: {subject}\r\n\r\nHello\r\n".encode()
    inbound_id = intake.store(world.db, None, None, raw)
    assert inbound_id is not None
    with world.db.transaction() as session:
        row = session.get_one(InboundMessage, inbound_id)
        row.state, row.reason = InboundState.QUARANTINED.value, "The message could not be posted (test)."
    return inbound_id
