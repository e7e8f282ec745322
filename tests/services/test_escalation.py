"""Escalations and reminders: before a due time and at it, once each, to the right people, and what they change."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import SystemActor
from desk.domain.staff import TeamForm
from desk.domain.views import TicketView
from desk.services import entries, escalation, lifecycle, mailboxes, notifications, staff, tickets
from desk.services.base import now, within
from desk.services.worker import Worker
from desk.storage.db import Database
from desk.storage.models import Ticket
from tests.services.conftest import World, events
from tests.services.test_assignment import event_data, set_department
from tests.services.test_following import alerts

SYSTEM = SystemActor()


@pytest.fixture
def escalating(world: World) -> World:
    """Support escalates 30 minutes before a due time, with a manager; Level 2 has a lead; mail is on."""
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1")
    set_department(world, world.support, escalate_minutes=30, manager_id=world.manager.id)
    staff.save_team(world.db, world.admin, world.level2, TeamForm("Level 2", lead_id=world.admin.id))
    return world


def urgent(world: World) -> TicketView:
    """A Sev-A ticket (first response in 1 hour, resolution in 4, around the clock) for Limited, in Level 2."""
    return world.open(sla_id=world.sla_fast, assignee_id=world.limited.id, team_id=world.level2)


def escalations(db: Database, ticket_id: int) -> list[dict[str, Any]]:
    return event_data(db, ticket_id, "escalated")


def test_a_reminder_before_the_due_time_and_an_escalation_at_it_each_once(escalating: World) -> None:
    db = escalating.db
    ticket = urgent(escalating)
    due = ticket.first_response_due
    assert due is not None
    assert escalation.escalate(db, SYSTEM, due - timedelta(minutes=31)) == []
    assert escalation.escalate(db, SYSTEM, due - timedelta(minutes=30)) == [ticket.id]
    assert escalation.escalate(db, SYSTEM, due - timedelta(minutes=5)) == []  # the reminder fired already
    people = ["Limited Agent", "Admin Agent", "Manager Agent"]  # assignee, team lead, department manager
    soon = {"stage": "soon", "deadline": "first_response", "due": due.isoformat(), "to": people}
    assert escalations(db, ticket.id) == [soon]
    addresses = ["limited@desk.example", "admin@desk.example", "manager@desk.example"]
    assert alerts(db, ticket.id, "alert.due_soon") == [addresses]
    assert escalation.escalate(db, SYSTEM, due) == [ticket.id]
    assert escalation.escalate(db, SYSTEM, due + timedelta(hours=1)) == []
    reached = {**soon, "stage": "due", "priority": None, "department": None}
    assert escalations(db, ticket.id) == [soon, reached]
    assert alerts(db, ticket.id, "alert.escalated") == [addresses]


def test_after_the_first_response_the_resolution_due_time_escalates_afresh(escalating: World) -> None:
    db = escalating.db
    ticket = urgent(escalating)
    assert ticket.resolution_due is not None
    entries.post_reply(db, escalating.limited, ticket.id, "Looking into it.")
    assert escalation.escalate(db, SYSTEM, ticket.resolution_due - timedelta(minutes=40)) == []
    assert escalation.escalate(db, SYSTEM, ticket.resolution_due - timedelta(minutes=20)) == [ticket.id]
    assert [e["deadline"] for e in escalations(db, ticket.id)] == ["resolution"]


def test_at_the_due_time_the_department_raises_the_priority_and_transfers(escalating: World) -> None:
    db = escalating.db
    set_department(
        escalating,
        escalating.support,
        escalate_minutes=0,  # no reminder: only at the due time
        escalate_priority_id=escalating.priorities["High"],
        escalate_to_id=escalating.billing,
    )
    ticket = urgent(escalating)
    calm = escalating.open(
        subject="Already urgent", sla_id=escalating.sla_fast, priority_id=escalating.priorities["Emergency"]
    )
    due = ticket.first_response_due
    assert due is not None
    assert escalation.escalate(db, SYSTEM, due - timedelta(minutes=10)) == []
    assert escalation.escalate(db, SYSTEM, due + timedelta(minutes=1)) == [ticket.id, calm.id]
    after = tickets.get_ticket(db, escalating.admin, ticket.id)
    assert (after.priority.name, after.department.name) == ("High", "Billing")
    assert events(db, ticket.id)[-3:] == ["escalated", "priority", "transferred"]
    assert escalations(db, ticket.id)[0] | {"to": []} == {
        "stage": "due",
        "deadline": "first_response",
        "due": due.isoformat(),
        "to": [],
        "priority": "High",
        "department": "Billing",
    }
    kept = tickets.get_ticket(db, escalating.admin, calm.id)
    assert kept.priority.name == "Emergency"  # never lowered
    assert escalation.escalate(db, SYSTEM, due + timedelta(hours=1)) == []  # Billing does not escalate


def test_paused_clocks_other_departments_and_switched_off_mail(escalating: World) -> None:
    db = escalating.db
    waiting = urgent(escalating)
    lifecycle.set_status(db, escalating.manager, waiting.id, escalating.statuses["Pending"])
    billing = escalating.open(sla_id=escalating.sla_fast, department_id=escalating.billing, by=escalating.admin)
    quiet = urgent(escalating)
    notifications.set_notifications(db, escalating.admin, {"alert.due_soon": False}, department_id=escalating.support)
    due = quiet.first_response_due
    assert due is not None
    assert escalation.escalate(db, SYSTEM, due - timedelta(minutes=1)) == [quiet.id]
    assert escalations(db, waiting.id) == escalations(db, billing.id) == []
    assert alerts(db, quiet.id, "alert.due_soon") == []  # switched off here: the event stays
    assert len(escalations(db, quiet.id)) == 1


def test_only_the_worker_or_an_administrator_escalates(escalating: World) -> None:
    with pytest.raises(PermissionDenied):
        escalation.escalate(escalating.db, escalating.manager)
    assert escalation.escalate(escalating.db, escalating.admin) == []


def test_two_workers_never_fire_one_escalation_twice(escalating: World) -> None:
    """The first worker has fired (its transaction not yet committed) when the second looks: the second waits on
    the first's row and, once it commits, passes the tickets by."""
    urgent_ones = [urgent(escalating) for _ in range(3)]
    moment = max(t.first_response_due for t in urgent_ones if t.first_response_due) + timedelta(minutes=1)
    other = Database(escalating.db.engine.url.render_as_string(hide_password=False))
    fired: dict[str, list[int]] = {}

    def second_worker() -> None:
        fired["second"] = escalation.escalate(other, SYSTEM, moment)

    try:
        with escalating.db.transaction() as session:
            fired["first"] = within(escalation.escalate)(session, SYSTEM, moment)
            thread = threading.Thread(target=second_worker)
            thread.start()
            time.sleep(0.5)  # the second worker reaches the same rows meanwhile
        thread.join()
    finally:
        other.dispose()
    assert sorted(fired["first"]) == sorted(t.id for t in urgent_ones)
    assert fired["second"] == []
    for ticket in urgent_ones:
        assert [e["stage"] for e in escalations(escalating.db, ticket.id)] == ["due"]
        assert len(alerts(escalating.db, ticket.id, "alert.escalated")) == 1


def test_the_worker_escalates_under_its_lease_and_a_second_worker_does_not(escalating: World) -> None:
    db = escalating.db
    ticket = urgent(escalating)
    with db.transaction() as session:  # its first response was due a minute ago
        row = session.get_one(Ticket, ticket.id)
        row.first_response_due = row.due_at = now() - timedelta(minutes=1)
    first, second = (Worker(db, transport=lambda *_: None, holder=name) for name in ("first", "second"))
    try:
        assert first.run_due()["tickets.escalate"] == "1 escalated"
        assert "tickets.escalate" not in second.run_due()  # the first holds the job
    finally:
        first.stop()
        second.stop()
    assert [e["stage"] for e in escalations(db, ticket.id)] == ["due"]
    addresses = ["limited@desk.example", "admin@desk.example", "manager@desk.example"]
    assert alerts(db, ticket.id, "alert.escalated") == [addresses]  # queued, for the next send


def test_the_settings_are_checked(escalating: World) -> None:
    form = staff.get_department(escalating.db, escalating.admin, escalating.support).form
    assert form.escalate_minutes == 30
    for changed, field in (
        (dataclasses.replace(form, escalate_minutes=-1), "escalate_minutes"),
        (dataclasses.replace(form, escalate_to_id=escalating.support), "escalate_to_id"),  # itself
        (dataclasses.replace(form, escalate_priority_id=10**6), "escalate_priority_id"),
    ):
        with pytest.raises(Invalid) as refused:
            staff.save_department(escalating.db, escalating.admin, escalating.support, changed)
        assert field in refused.value.fields
