"""Soak: 8 agent processes doing random lifecycle actions on one ticket set, on each configured server.

Then the invariants: no lost update (each successful change left its event at its version, each reply and note
exists exactly once, the final fields are those of the last event), every change has its thread event and its
change-feed row, ticket numbers are unique, and the sidebar counts equal a recount from the tickets table.

CI runs 8 × 40 actions. The long run is on demand:

    DESK_SOAK_ACTIONS=500 uv run pytest tests/soak -s

Conflicts are expected (every action carries the version its agent last read) and are counted, not failures.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from desk.domain.enums import STATUS_EVENTS
from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.services import accounts, queues, tickets
from desk.storage.db import Database
from desk.storage.models import Change, Priority, Status, ThreadEntry, ThreadEvent, Ticket
from tests.conftest import engine_params
from tests.services.test_queues import recount_for
from tests.soak.agent import ACTIONS, Plan, Report, Success, run_agent

AGENTS = int(os.environ.get("DESK_SOAK_AGENTS", "8"))
ACTIONS_EACH = int(os.environ.get("DESK_SOAK_ACTIONS", "40"))
TICKETS = 12  # few enough that agents collide often

# Each configured server (CI configures both); SQLite is a single-writer file, not the shared LAN engine.
on_servers = pytest.mark.parametrize("database_url", [e for e in engine_params() if e != "sqlite"], indirect=True)

SYSTEM = SystemActor()


@on_servers
def test_soak(db: Database, database_url: str) -> None:
    admin, plans = _help_desk(db, database_url)
    started = time.monotonic()
    # spawn: a fresh interpreter per agent, as eight agents' Desks are; nothing of the parent's engine is shared.
    with multiprocessing.get_context("spawn").Pool(AGENTS) as pool:
        reports: list[Report] = pool.map(run_agent, plans)
    duration = time.monotonic() - started
    successes = [s for report in reports for s in report.successes]
    refused = sum((report.refused for report in reports), Counter[str]())

    _no_lost_update(db, successes)
    _every_change_has_its_event_and_feed_row(db)
    _ticket_numbers_unique(db)
    assert queues.queue_counts(db, admin) == recount_for(db, admin.id)

    print(
        f"\nsoak on {db.dialect}: {AGENTS} agents × {ACTIONS_EACH} actions = {AGENTS * ACTIONS_EACH} in "
        f"{duration:.1f} s; {len(successes)} succeeded, refused {dict(sorted(refused.items()))}; "
        f"successes by action {dict(sorted(Counter(s.action for s in successes).items()))}"
    )
    assert len(successes) + sum(refused.values()) == AGENTS * ACTIONS_EACH
    assert len(successes) > AGENTS * ACTIONS_EACH // 4, "the agents should mostly get through"


def _help_desk(db: Database, url: str) -> tuple[AgentActor, list[Plan]]:
    """The agents (All access in Support), an admin to count with, and the tickets they all work on."""

    def agent(name: str, rights: tuple[Right, ...] = ()) -> AgentActor:
        return accounts.add_agent(
            db,
            SYSTEM,
            username=name,
            name=name.title(),
            email=f"{name}@soak.example",
            password=f"{name}-password",
            access={"Support": "All access"},
            rights=rights,
        )

    agents = [agent(f"agent{i}") for i in range(AGENTS)]
    admin = agent("counter", (Right.ADMIN,))
    opened = [
        tickets.open_ticket(db, SYSTEM, subject=f"Soak {i}", body="Shared", requester_email=f"soak{i}@example.com")
        for i in range(TICKETS)
    ]
    with db.transaction(write=False) as session:
        priorities = tuple(session.scalars(select(Priority.id)))
        statuses = tuple(session.scalars(select(Status.id).where(Status.state == "open")))
    versions = {t.id: t.version for t in opened}
    colleagues = tuple(a.id for a in agents)
    plans = [
        Plan(url, a, colleagues, versions, priorities, statuses, ACTIONS_EACH, seed=i) for i, a in enumerate(agents)
    ]
    return admin, plans


def _no_lost_update(db: Database, successes: list[Success]) -> None:
    with db.transaction(write=False) as session:
        events = {
            (e.ticket_id, e.ticket_version): e
            for e in session.scalars(select(ThreadEvent).where(ThreadEvent.kind != "created"))
        }
        bodies = Counter(session.scalars(select(ThreadEntry.body_text).where(ThreadEntry.body_text.like("soak %"))))
        final = {t.id: t for t in session.scalars(select(Ticket))}
        ordered = list(session.scalars(select(ThreadEvent).order_by(ThreadEvent.id)))
    # Each change that went through left its own event at the version it produced, by that agent.
    for success in successes:
        if success.version != success.expected and ACTIONS[success.action]:
            event = events.get((success.ticket_id, success.version))
            assert event is not None, f"{success} left no event"
            assert event.kind in ACTIONS[success.action], (success, event.kind)
    # Each reply and note sent exists exactly once, and nothing refused wrote one.
    posted = Counter(s.marker for s in successes if s.marker)
    assert bodies == posted
    # The ticket's fields are those of the last event that changed each of them.
    for ticket_id, ticket in final.items():
        history = [e for e in ordered if e.ticket_id == ticket_id]
        priority = [e for e in history if e.kind == "priority"]
        if priority:
            assert ticket.priority_id == priority[-1].data["after"]["id"]
        assignment = [e for e in history if e.kind in ("assigned", "released")]
        if assignment:
            last = assignment[-1]
            assert ticket.assignee_id == (last.data["after"]["id"] if last.kind == "assigned" else None)
        status = [e for e in history if e.kind in STATUS_EVENTS]
        if status:
            assert ticket.status_id == status[-1].data["after"]["id"]
        # No write went unrecorded: the last version was made by an event or by a reply or note (which marks the
        # ticket answered without an event of its own).
        made = [e.ticket_version for e in history if e.ticket_version is not None] + [
            s.version for s in successes if s.ticket_id == ticket_id
        ]
        assert ticket.version == max(made, default=ticket.version)


def _every_change_has_its_event_and_feed_row(db: Database) -> None:
    """Per ticket: a feed row per event, and one per reply or note posted without a status change."""
    with db.transaction(write=False) as session:
        # The tickets' rows: those told to one agent alone are their alerts (tests/services/test_alerts.py).
        tickets_feed = select(Change.ticket_id, Change.aspect).where(Change.agent_id.is_(None))
        feed = Counter(tuple(row) for row in session.execute(tickets_feed))
        events = Counter(tuple(row) for row in session.execute(select(ThreadEvent.ticket_id, ThreadEvent.kind)))
        posted = select(ThreadEntry.ticket_id, ThreadEntry.kind).where(ThreadEntry.body_text.like("soak %"))
        posts = Counter(tuple(row) for row in session.execute(posted))
    assert feed == events + posts


def _ticket_numbers_unique(db: Database) -> None:
    with db.transaction(write=False) as session:
        doubles = session.execute(select(Ticket.number).group_by(Ticket.number).having(func.count() > 1)).scalars()
        assert list(doubles) == []
