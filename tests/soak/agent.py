"""One soak agent: a process that does random lifecycle actions on the shared tickets, as a hurried agent would.

Run by `tests/soak/test_soak.py` in spawned processes (a fresh interpreter and its own engine each, never the
parent's pooled connections). Every action is sent with the version this agent last read, as the GUI does, so
conflicts are expected: they are counted, the ticket is read again, and the agent goes on. What succeeded is
reported back so the test can check that each success left exactly its effect in the database.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from desk.domain.enums import STATUS_EVENTS
from desk.domain.errors import Conflict, Invalid
from desk.domain.permissions import AgentActor
from desk.domain.views import TicketView
from desk.services import entries, lifecycle, locks, tickets
from desk.storage.db import Database

# Each action's ticket-changing event kinds: a successful change must have left one of them at its version.
ACTIONS: dict[str, frozenset[str]] = {
    "claim": frozenset({"assigned"}),
    "assign": frozenset({"assigned"}),
    "release": frozenset({"released"}),
    "priority": frozenset({"priority"}),
    "status": frozenset(STATUS_EVENTS),
    "close": frozenset({"closed", "status"}),  # from Resolved, or from another closed status
    "reopen": frozenset({"reopened"}),
    "reply": frozenset(),
    "note": frozenset(),
    "lock": frozenset(),
    "unlock": frozenset(),
}


@dataclass(frozen=True)
class Plan:
    """What one agent process is told: where, who, on which tickets, how many actions, and its random seed."""

    url: str
    agent: AgentActor
    colleagues: tuple[int, ...]
    ticket_versions: dict[int, int]
    priorities: tuple[int, ...]
    statuses: tuple[int, ...]  # open-state statuses (Open, On hold) to switch between
    actions: int
    seed: int


@dataclass(frozen=True)
class Success:
    """One action that went through: its ticket, the version it was sent with and the version it produced."""

    action: str
    ticket_id: int
    expected: int
    version: int
    marker: str | None = None  # the body of a reply or note, unique over the run


@dataclass
class Report:
    agent_id: int
    successes: list[Success] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # "Conflict", "Locked", "Invalid"
    seconds: float = 0.0


def run_agent(plan: Plan) -> Report:
    """Do `plan.actions` random actions; return what succeeded and what was refused (a bug raises)."""
    rng = random.Random(plan.seed)
    db = Database(plan.url, pool_size=1)
    known = dict(plan.ticket_versions)
    report = Report(agent_id=plan.agent.id)
    started = time.monotonic()
    try:
        for number in range(plan.actions):
            ticket_id = rng.choice(sorted(known))
            if rng.random() < 0.1:  # now and then the agent looks at the ticket again before acting
                known[ticket_id] = tickets.get_ticket(db, plan.agent, ticket_id).version
            action = rng.choice(sorted(ACTIONS))
            expected = known[ticket_id]
            marker = f"soak {plan.agent.id}-{number}" if action in ("reply", "note") else None
            call = _call(plan, rng, action, ticket_id, expected, marker)
            try:
                result = call(db)
            except Conflict as refused:  # Locked included: another agent's stale or concurrent work
                report.refused[type(refused).__name__] += 1
                known[ticket_id] = tickets.get_ticket(db, plan.agent, ticket_id).version  # the GUI reloads
                continue
            except Invalid:  # e.g. reopen an open ticket, claim an assigned one: the agent misread the screen
                report.refused["Invalid"] += 1
                continue
            version = result.version if isinstance(result, TicketView) else expected
            known[ticket_id] = version
            report.successes.append(Success(action, ticket_id, expected, version, marker))
    finally:
        db.dispose()
    report.seconds = time.monotonic() - started
    return report


def _call(
    plan: Plan, rng: random.Random, action: str, ticket_id: int, version: int, marker: str | None
) -> Callable[[Database], Any]:
    agent = plan.agent
    if action == "claim":
        return lambda db: tickets.claim(db, agent, ticket_id, expected_version=version)
    if action == "assign":
        other = rng.choice(plan.colleagues)
        return lambda db: tickets.assign(db, agent, ticket_id, other, expected_version=version)
    if action == "release":
        return lambda db: tickets.release(db, agent, ticket_id, expected_version=version)
    if action == "priority":
        priority = rng.choice(plan.priorities)
        return lambda db: tickets.set_priority(db, agent, ticket_id, priority, expected_version=version)
    if action == "status":
        status = rng.choice(plan.statuses)
        return lambda db: lifecycle.set_status(db, agent, ticket_id, status, expected_version=version)
    if action == "close":
        return lambda db: lifecycle.close(db, agent, ticket_id, expected_version=version)
    if action == "reopen":
        return lambda db: lifecycle.reopen(db, agent, ticket_id, expected_version=version)
    if action == "reply":
        return lambda db: entries.post_reply(db, agent, ticket_id, marker or "", expected_version=version)
    if action == "note":
        return lambda db: entries.post_note(db, agent, ticket_id, marker or "", expected_version=version)
    if action == "lock":
        return lambda db: locks.acquire(db, agent, ticket_id)
    assert action == "unlock"
    return lambda db: locks.release(db, agent, ticket_id)
