"""How the thread tells auto-assignment, escalations and a pending date (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

from desk.domain.enums import ActorKind, EventKind
from desk.domain.views import EventView
from desk.ui.labels import describe, when

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 8, 14, 30, tzinfo=UTC)


def event(kind: EventKind, **data: object) -> EventView:
    return EventView(1, kind, ActorKind.SYSTEM, "System", AT, dict(data))


def test_an_auto_assignment_says_how_the_agent_was_chosen() -> None:
    ann = {"id": 3, "name": "Ann"}
    arrived = event(
        EventKind.ASSIGNED, before=None, after=ann, how="round_robin", pool={"kind": "department", "name": "Support"},
        in_hours=False, reason="arrived",
    )  # fmt: skip
    assert describe(arrived) == "System assigned the ticket to Ann (by round-robin in department Support)"
    away = event(
        EventKind.ASSIGNED, before={"id": 4, "name": "Ben"}, after=ann, how="least_open",
        pool={"kind": "team", "name": "Level 2"}, in_hours=True, reason="away",
    )  # fmt: skip
    assert describe(away) == (
        "System assigned the ticket to Ann (as the agent with fewest open tickets in team Level 2 among agents in "
        "working hours, as Ben is away)"
    )
    manual = EventView(2, EventKind.ASSIGNED, ActorKind.AGENT, "Maria", AT, {"before": None, "after": ann})
    assert describe(manual) == "Maria assigned the ticket to Ann"


def test_escalations_say_which_deadline_who_was_told_and_what_changed() -> None:
    soon = event(EventKind.ESCALATED, stage="soon", deadline="first_response", due=DUE.isoformat(), to=["Ann", "Sam"])
    assert describe(soon) == f"System reminded: first response due at {when(DUE)} — told Ann, Sam"
    reached = event(
        EventKind.ESCALATED, stage="due", deadline="resolution", due=DUE.isoformat(), to=[], priority="High",
        department="Billing",
    )  # fmt: skip
    assert describe(reached) == (
        f"System escalated: resolution was due at {when(DUE)} — no one to tell; priority raised to High; "
        "transferred to Billing"
    )


def test_a_pending_date_is_told_with_its_status() -> None:
    pending = EventView(
        1, EventKind.PENDING, ActorKind.AGENT, "Maria", AT, {"until": DUE.isoformat(), "status": "Pending"}
    )
    assert describe(pending) == f"Maria set the ticket Pending until {when(DUE)}"
