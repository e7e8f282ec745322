"""Pending until a date: an agent sets a waiting status with a time, and the worker turns it back to Open then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desk.domain.enums import Queue
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import SystemActor
from desk.domain.queues import Criteria
from desk.services import entries, lifecycle, queues, tickets
from tests.services.conftest import World, events

SYSTEM = SystemActor()


def later(**delta: float) -> datetime:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


def test_pending_until_shows_on_the_ticket_and_in_the_queue_with_its_event(world: World) -> None:
    ticket = world.open()
    until = later(days=2)
    view = lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Pending"], until)
    assert (view.status.name, view.pending_until) == ("Pending", until)
    assert events(world.db, ticket.id) == ["created", "status", "pending"]
    assert view.thread[-1].data == {"until": until.isoformat(), "status": "Pending"}  # type: ignore[union-attr]
    row = next(r for r in queues.queue_page(world.db, world.manager, Criteria(queue=Queue.OPEN)).rows)
    assert (row.id, row.status, row.pending_until) == (ticket.id, "Pending", until)
    moved = lifecycle.set_status(
        world.db, world.manager, ticket.id, world.statuses["Pending"], until + timedelta(hours=1)
    )
    assert moved.pending_until == until + timedelta(hours=1)  # a new date for the same status: one more event
    assert events(world.db, ticket.id)[-2:] == ["pending", "pending"]


def test_any_other_status_change_ends_the_wait(world: World) -> None:
    ticket = world.open()
    lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["On hold"], later(days=1))
    assert lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Pending"]).pending_until is None
    lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Pending"], later(days=1))
    entries.post_note(world.db, world.manager, ticket.id, "Closing it", status_id=world.statuses["Closed"])
    assert tickets.get_ticket(world.db, world.manager, ticket.id).pending_until is None


@pytest.mark.parametrize(
    ("status", "until", "field"),
    [
        ("Open", later(days=1), "until"),  # not a waiting status
        ("Closed", later(days=1), "until"),
        ("Pending", later(minutes=-5), "until"),  # the past
        ("Pending", later(days=400), "until"),  # more than a year away
        ("Pending", datetime(2030, 1, 1), "until"),  # no time zone
    ],
)
def test_a_date_needs_a_waiting_status_and_a_time_in_the_coming_year(
    world: World, status: str, until: datetime, field: str
) -> None:
    ticket = world.open()
    with pytest.raises(Invalid) as refused:
        lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses[status], until)
    assert set(refused.value.fields) == {field}
    assert events(world.db, ticket.id) == ["created"]  # nothing half-done


def test_the_worker_returns_tickets_to_open_when_their_time_comes(world: World) -> None:
    first, second = world.open(subject="First"), world.open(subject="Second")
    until = later(hours=3)
    for ticket in (first, second):
        lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Pending"], until)
    lifecycle.set_status(world.db, world.manager, second.id, world.statuses["Pending"], until + timedelta(days=1))
    assert lifecycle.return_pending(world.db, SYSTEM, until - timedelta(seconds=1)) == []
    assert lifecycle.return_pending(world.db, SYSTEM, until) == [first.id]
    assert lifecycle.return_pending(world.db, SYSTEM, until) == []  # once
    back = tickets.get_ticket(world.db, world.manager, first.id)
    assert (back.status.name, back.pending_until) == ("Open", None)
    event = back.thread[-1]
    assert event.kind == "status" and event.actor == "System"  # type: ignore[union-attr]
    assert event.note == f"It was waiting until {until:%Y-%m-%d %H:%M} UTC."  # type: ignore[union-attr]
    assert tickets.get_ticket(world.db, world.manager, second.id).status.name == "Pending"


def test_only_the_worker_or_an_administrator_runs_the_job(world: World) -> None:
    with pytest.raises(PermissionDenied):
        lifecycle.return_pending(world.db, world.manager)
    assert lifecycle.return_pending(world.db, world.admin) == []
