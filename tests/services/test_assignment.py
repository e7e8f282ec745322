"""Auto-assignment: who gets a ticket that arrives unassigned, on every way in, and two servers taking turns."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from desk.domain.enums import AssignMode
from desk.domain.permissions import AgentActor, SystemActor
from desk.domain.staff import DepartmentForm, TeamForm
from desk.services import accounts, assignment, lifecycle, staff, tickets
from desk.storage.db import Database
from desk.storage.models import Agent, Schedule, ScheduleHours, ThreadEvent, Ticket
from tests.services.conftest import World, events

SYSTEM = SystemActor()


def hire(world: World, username: str, access: str = "Limited access", **fields: object) -> AgentActor:
    """Another agent with a role in Support."""
    agent = accounts.add_agent(
        world.db,
        SYSTEM,
        username=username,
        name=username.title(),
        email=f"{username}@desk.example",
        password=f"{username}-password",
        access={"Support": access},
    )
    if fields:
        with world.db.transaction() as session:
            row = session.get_one(Agent, agent.id)
            for name, value in fields.items():
                setattr(row, name, value)
    return agent


def set_department(world: World, department_id: int, **changes: Any) -> None:
    form = staff.get_department(world.db, world.admin, department_id).form
    staff.save_department(world.db, world.admin, department_id, dataclasses.replace(form, **changes))


def assignee(db: Database, ticket_id: int) -> str | None:
    with db.transaction(write=False) as session:
        agent_id = session.get_one(Ticket, ticket_id).assignee_id
        return session.get_one(Agent, agent_id).username if agent_id else None


def event_data(db: Database, ticket_id: int, kind: str) -> list[dict[str, Any]]:
    """What each event of this kind in the ticket's thread records, in order."""
    with db.transaction(write=False) as session:
        return [
            e.data
            for e in session.scalars(
                select(ThreadEvent)
                .where(ThreadEvent.ticket_id == ticket_id, ThreadEvent.kind == kind)
                .order_by(ThreadEvent.id)
            )
        ]


def assignment_events(db: Database, ticket_id: int) -> list[dict[str, Any]]:
    return event_data(db, ticket_id, "assigned")


def test_round_robin_gives_each_eligible_agent_a_ticket_in_turn_and_says_so(world: World) -> None:
    hire(world, "ann")
    hire(world, "ben")
    set_department(world, world.support, assign_mode=AssignMode.ROUND_ROBIN)
    opened = [world.open(subject=f"Problem {n}") for n in range(5)]
    # manager, limited, ann, ben in the order they were made (by id), then manager again
    assert [assignee(world.db, t.id) for t in opened] == ["manager", "limited", "ann", "ben", "manager"]
    event = assignment_events(world.db, opened[2].id)
    assert event == [
        {
            "before": None,
            "after": {"id": event[0]["after"]["id"], "name": "Ann"},
            "how": "round_robin",
            "pool": {"kind": "department", "name": "Support"},
            "in_hours": False,
            "reason": "arrived",
        }
    ]
    shown = tickets.get_ticket(world.db, world.manager, opened[2].id)
    assert shown.assignee is not None and shown.assignee.name == "Ann"


def test_only_active_agents_who_may_reply_and_are_not_away_are_chosen(world: World) -> None:
    today = datetime.now(UTC).date()
    hire(world, "gone", active=False)
    hire(world, "resting", away_from=today - timedelta(days=1), away_until=today + timedelta(days=1))
    hire(world, "later", away_from=today + timedelta(days=3), away_until=today + timedelta(days=9))
    hire(world, "looker", access="View only")
    set_department(world, world.support, assign_mode=AssignMode.ROUND_ROBIN)
    chosen = {assignee(world.db, world.open(subject=f"Problem {n}").id) for n in range(8)}
    # the viewer (Billing) and the outsider have no role here; the admin none either
    assert chosen == {"manager", "limited", "later"}


def test_off_leaves_tickets_unassigned_and_an_assigned_ticket_keeps_its_agent(world: World) -> None:
    assert assignee(world.db, world.open().id) is None
    set_department(world, world.support, assign_mode=AssignMode.LEAST_OPEN)
    given = world.open(assignee_id=world.limited.id)
    assert assignee(world.db, given.id) == "limited"
    assert assignment_events(world.db, given.id) == []


def test_least_open_tickets_picks_the_agent_with_fewest_open_tickets(world: World) -> None:
    for n in range(2):
        world.open(subject=f"Manager's {n}", assignee_id=world.manager.id)
    closed = world.open(subject="Done", assignee_id=world.limited.id)
    tickets_closed = world.open(subject="Also done", assignee_id=world.limited.id)
    for ticket in (closed, tickets_closed):
        lifecycle.close(world.db, world.manager, ticket.id)
    world.open(subject="Limited's open one", assignee_id=world.limited.id)
    set_department(world, world.support, assign_mode=AssignMode.LEAST_OPEN)
    # manager has 2 open, limited 1 open (closed ones do not count): limited, then a tie at 2 goes to the lower id
    first, second, third = (world.open(subject=f"New {n}") for n in range(3))
    assert [assignee(world.db, t.id) for t in (first, second, third)] == ["limited", "manager", "limited"]
    assert assignment_events(world.db, first.id)[0]["how"] == "least_open"


def _zone_at(local_hour: int) -> str:
    """An Etc/GMT zone where the clock shows `local_hour` now (its sign is inverted: Etc/GMT-5 is UTC+5)."""
    offset = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_in_working_hours_only_agents_whose_business_hours_hold_now_in_their_zone(world: World) -> None:
    with world.db.transaction() as session:
        mornings = Schedule(name="Mornings", timezone="UTC")
        mornings.hours = [ScheduleHours(weekday=d, start_minute=0, end_minute=12 * 60) for d in range(7)]
        mornings.holidays = []
        session.add(mornings)
        session.flush()
        schedule_id = mornings.id
        session.get_one(Agent, world.manager.id).timezone = _zone_at(18)  # evening for them: outside
        session.get_one(Agent, world.limited.id).timezone = _zone_at(6)  # morning: inside
    set_department(
        world, world.support, assign_mode=AssignMode.ROUND_ROBIN, assign_in_hours=True, schedule_id=schedule_id
    )
    assert {assignee(world.db, world.open(subject=f"P{n}").id) for n in range(3)} == {"limited"}
    with world.db.transaction() as session:
        session.get_one(Agent, world.limited.id).timezone = _zone_at(18)
    assert assignee(world.db, world.open().id) is None  # no one at work: it waits unassigned


def test_a_team_with_auto_assignment_chooses_among_its_members(world: World) -> None:
    lead = hire(world, "lead")
    team = staff.get_team(world.db, world.admin, world.level2).form
    staff.save_team(
        world.db,
        world.admin,
        world.level2,
        dataclasses.replace(team, lead_id=lead.id, assign_mode=AssignMode.ROUND_ROBIN),
    )
    set_department(world, world.support, assign_mode=AssignMode.LEAST_OPEN)  # the team's mode goes first
    outage = [world.open(subject=f"Down {n}", topic_id=world.topic_outage) for n in range(3)]  # Level 2's topic
    assert [assignee(world.db, t.id) for t in outage] == ["limited", "lead", "limited"]
    assert assignment_events(world.db, outage[0].id)[0]["pool"] == {"kind": "team", "name": "Level 2"}
    plain = world.open()
    tickets.assign_team(world.db, world.manager, plain.id, world.level2)  # already assigned by the department
    assert assignee(world.db, plain.id) == "manager"


def test_every_way_in_assigns_a_new_ticket_and_a_transfer_into_the_department(world: World) -> None:
    set_department(world, world.support, assign_mode=AssignMode.ROUND_ROBIN)
    by_user = tickets.open_ticket(world.db, world.alice, subject="From the Support Center", body="Help")
    by_mail = tickets.open_ticket(world.db, SYSTEM, subject="From mail", body="Help", requester_email="bob@example.com")
    assert [assignee(world.db, t.id) for t in (by_user, by_mail)] == ["manager", "limited"]
    billing = world.open(department_id=world.billing, by=world.admin)
    assert assignee(world.db, billing.id) is None  # Billing assigns no one
    tickets.transfer(world.db, world.admin, billing.id, world.support)
    assert assignee(world.db, billing.id) == "manager"
    assert events(world.db, billing.id) == ["created", "transferred", "assigned"]


def test_away_agents_tickets_go_to_another_only_where_the_department_says(world: World) -> None:
    set_department(world, world.support, assign_mode=AssignMode.ROUND_ROBIN)
    mine = world.open(assignee_id=world.limited.id)
    today = datetime.now(UTC).date()
    with world.db.transaction() as session:
        row = session.get_one(Agent, world.limited.id)
        row.away_from, row.away_until = today, today + timedelta(days=7)
    assert assignment.reassign_away(world.db, SYSTEM) == []  # Support does not re-assign
    set_department(world, world.support, reassign_away=True)
    assert assignment.reassign_away(world.db, SYSTEM) == [mine.id]
    assert assignee(world.db, mine.id) == "manager"
    event = assignment_events(world.db, mine.id)[-1]
    assert (event["reason"], event["before"]) == ("away", {"id": world.limited.id, "name": "Limited Agent"})
    assert assignment.reassign_away(world.db, SYSTEM) == []  # done once


def test_away_days_are_read_in_the_agents_own_time_zone() -> None:
    moment = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # already 8 December in Tokyo
    tomorrow = date(2026, 12, 8)
    candidate = assignment.Candidate(1, "Asia/Tokyo", tomorrow, tomorrow)
    assert assignment.is_away(candidate, moment)
    assert not assignment.is_away(dataclasses.replace(candidate, timezone=None), moment)


def test_two_servers_assigning_at_once_take_turns(world: World) -> None:
    """One server holds the department's round-robin row until it commits; the other waits, then hands the next
    agent on (without the lock both would read the same last agent and choose the same one)."""
    set_department(world, world.support, assign_mode=AssignMode.ROUND_ROBIN)
    first, second = (world.open(subject=f"P{n}", assignee_id=world.manager.id) for n in range(2))
    with world.db.transaction() as session:
        for ticket_id in (first.id, second.id):
            session.get_one(Ticket, ticket_id).assignee_id = None
    other = Database(world.db.engine.url.render_as_string(hide_password=False))
    chosen: dict[str, int | None] = {}

    def second_server() -> None:
        with other.transaction() as session:
            chosen["second"] = assignment.auto_assign(session, session.get_one(Ticket, second.id))

    try:
        with world.db.transaction() as session:
            chosen["first"] = assignment.auto_assign(session, session.get_one(Ticket, first.id))
            thread = threading.Thread(target=second_server)
            thread.start()
            time.sleep(0.5)  # the second server reaches the lock meanwhile
        thread.join()
    finally:
        other.dispose()
    assert chosen["first"] is not None and chosen["second"] is not None
    assert chosen["first"] != chosen["second"]


@pytest.mark.parametrize("mode", [AssignMode.ROUND_ROBIN, AssignMode.LEAST_OPEN])
def test_the_settings_are_kept_and_audited(world: World, mode: AssignMode) -> None:
    set_department(world, world.support, assign_mode=mode, assign_in_hours=True, reassign_away=True)
    form = staff.get_department(world.db, world.admin, world.support).form
    assert (form.assign_mode, form.assign_in_hours, form.reassign_away) == (mode, True, True)
    team = staff.save_team(world.db, world.admin, None, TeamForm("Night", assign_mode=mode))
    assert staff.get_team(world.db, world.admin, team.id).form.assign_mode == mode
    assert DepartmentForm("x").assign_mode == AssignMode.OFF
