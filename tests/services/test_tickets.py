"""Opening tickets and changing their properties."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.domain.enums import EntryKind, EventKind, Queue, StatusState, TicketSource
from desk.domain.errors import Conflict, Invalid, NotFound, PermissionDenied
from desk.domain.views import EntryView, EventView
from desk.services import numbering, queues, settings, tickets
from desk.storage.models import Ticket, TicketTally
from tests.services.conftest import SYSTEM, World, count, events, feed, statements_sent


def test_end_user_opens_ticket_with_topic_defaults(world: World) -> None:
    view = tickets.open_ticket(
        world.db, world.alice, subject="  Site   down ", body="Nothing loads.", topic_id=world.topic_outage
    )
    assert view.subject == "Site down"
    assert view.requester.email == "alice@example.com"
    assert view.source == TicketSource.WEB
    assert view.topic is not None and view.topic.name == "Report a Problem / Business Critical Outage"
    assert view.priority.name == "Emergency"
    assert view.sla is not None and view.sla.name == "Sev-A"
    assert view.team is not None and view.team.name == "Level 2"
    assert view.status.name == "Open" and view.status.state == StatusState.OPEN
    assert view.first_response_due == view.created_at + timedelta(hours=1)
    assert view.resolution_due == view.created_at + timedelta(hours=4)
    assert view.due == view.first_response_due
    assert re.fullmatch(r"\d{6}", view.number)
    first = view.thread[0]
    assert isinstance(first, EntryView) and first.kind == EntryKind.MESSAGE and first.author == "Alice Archer"
    assert [item.kind for item in view.thread if isinstance(item, EventView)] == [EventKind.CREATED]
    assert feed(world.db, view.id) == ["created"]


def test_agent_opens_on_behalf_of_new_user(world: World) -> None:
    view = world.open(
        requester_email="Carol@Example.COM",
        requester_name="Carol Chen",
        source=TicketSource.PHONE,
        priority_id=world.priorities["High"],
        assignee_id=world.limited.id,
    )
    assert view.requester.name == "Carol Chen" and view.requester.email == "carol@example.com"
    assert view.source == TicketSource.PHONE
    assert view.assignee is not None and view.assignee.id == world.limited.id
    assert view.priority.name == "High"
    assert view.department.name == "Support"
    created = next(item for item in view.thread if isinstance(item, EventView))
    assert created.actor == "Manager Agent"


def test_end_user_cannot_pick_private_topic_or_routing(world: World) -> None:
    with pytest.raises(Invalid, match="help topic is not available"):
        tickets.open_ticket(world.db, world.alice, subject="x", body="y", topic_id=world.topic_private)
    with pytest.raises(PermissionDenied):
        tickets.open_ticket(world.db, world.alice, subject="x", body="y", priority_id=world.priorities["High"])
    assert count(world.db, Ticket) == 0


def test_invalid_input_names_every_field_and_writes_nothing(world: World) -> None:
    with pytest.raises(Invalid) as error:
        tickets.open_ticket(world.db, world.manager, subject=" ", body="", requester_email="a@b.example")
    assert set(error.value.fields) == {"subject", "body"}
    with pytest.raises(Invalid) as error:
        world.open(requester_email="not-an-address")
    assert "email" in error.value.fields
    assert count(world.db, Ticket) == 0


def test_agent_without_create_right_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied, match=r"^Your role in Billing cannot open tickets\.$"):
        tickets.open_ticket(
            world.db, world.viewer, subject="x", body="y", requester_email="a@b.example", department_id=world.billing
        )


def test_sequence_numbers_follow_the_format(world: World) -> None:
    with world.db.transaction() as session:
        settings.put(session, "ticket.number_mode", "sequence")
        settings.put(session, "ticket.number_format", "TK-#####")
    numbers = [world.open().number for _ in range(3)]
    assert numbers == ["TK-00001", "TK-00002", "TK-00003"]


def test_random_number_redrawn_on_collision(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first = world.open()
    draws = iter([first.number, first.number, "424242"])
    monkeypatch.setattr(numbering, "random_number", lambda pattern, rng: next(draws))
    assert world.open().number == "424242"
    assert queues.queue_counts(world.db, world.admin)[Queue.OPEN] == 2  # the draws rolled back left no count


def test_full_number_format_is_named(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = world.open().number
    monkeypatch.setattr(numbering, "random_number", lambda pattern, rng: taken)
    with pytest.raises(Invalid, match="widen"):
        world.open()
    assert queues.queue_counts(world.db, world.admin)[Queue.OPEN] == 1


def test_opening_a_ticket_does_not_look_its_number_up_first(world: World) -> None:
    """The insert's savepoint catches a taken number; a SELECT by number before it was a statement of 17."""
    with statements_sent(world.db) as sent:
        world.open()
    assert not [s for s in sent if s.startswith("SELECT") and "tickets.number =" in s]


def test_property_changes_record_events_and_feed(world: World) -> None:
    ticket = world.open()
    db, actor = world.db, world.manager
    view = tickets.assign(db, actor, ticket.id, world.limited.id, note="You know printers")
    assert view.assignee is not None and view.assignee.name == "Limited Agent"
    view = tickets.assign_team(db, actor, ticket.id, world.level2)
    view = tickets.set_priority(db, actor, ticket.id, world.priorities["Emergency"])
    assert view.priority.name == "Emergency"
    view = tickets.set_sla(db, actor, ticket.id, world.sla_fast)
    assert view.resolution_due == view.created_at + timedelta(hours=4)
    view = tickets.set_topic(db, actor, ticket.id, world.topic_problem)
    assert view.topic is not None and view.topic.name == "Report a Problem"
    view = tickets.transfer(db, actor, ticket.id, world.billing, note="Invoice issue really")
    assert view.department.name == "Billing"
    assert events(db, ticket.id) == ["created", "assigned", "team_assigned", "priority", "sla", "topic", "transferred"]
    assert feed(db, ticket.id) == events(db, ticket.id)
    assigned = next(i for i in view.thread if isinstance(i, EventView) and i.kind == EventKind.ASSIGNED)
    assert assigned.note == "You know printers"
    assert assigned.data["after"]["name"] == "Limited Agent"
    # The manager has no access to Billing: after the transfer the ticket is out of their sight.
    with pytest.raises(NotFound):
        tickets.get_ticket(db, actor, ticket.id)


def test_unchanged_value_writes_no_event(world: World) -> None:
    ticket = world.open()
    tickets.set_priority(world.db, world.manager, ticket.id, ticket.priority.id)
    assert events(world.db, ticket.id) == ["created"]


def test_claim_and_release(world: World) -> None:
    ticket = world.open()
    view = tickets.claim(world.db, world.limited, ticket.id)
    assert view.assignee is not None and view.assignee.id == world.limited.id
    with pytest.raises(Invalid, match="already assigned to Limited Agent"):
        tickets.claim(world.db, world.manager, ticket.id)
    view = tickets.release(world.db, world.limited, ticket.id)
    assert view.assignee is None


def test_stale_change_reports_who_changed_what(world: World) -> None:
    ticket = world.open()
    tickets.set_priority(world.db, world.admin, ticket.id, world.priorities["High"], expected_version=ticket.version)
    with pytest.raises(Conflict) as error:
        tickets.set_priority(
            world.db, world.manager, ticket.id, world.priorities["Low"], expected_version=ticket.version
        )
    assert error.value.info.changed_by == "Admin Agent"
    assert [(c.field, c.before, c.after) for c in error.value.info.changes] == [("priority", "Normal", "High")]
    assert "Admin Agent" in str(error.value) and "priority" in str(error.value)
    assert tickets.get_ticket(world.db, world.manager, ticket.id).priority.name == "High"


def test_tallies_follow_every_change(world: World) -> None:
    first = world.open()
    world.open(requester_email="bob@example.com")
    tickets.assign(world.db, world.manager, first.id, world.limited.id)
    tickets.transfer(world.db, world.manager, first.id, world.billing)
    with world.db.transaction(write=False) as session:
        tallies = {(t.department_id, t.assignee_id): t.count for t in session.scalars(select(TicketTally)) if t.count}
    assert tallies == {(world.support, 0): 1, (world.billing, world.limited.id): 1}


def test_system_opens_ticket_from_mail(world: World) -> None:
    view = tickets.open_ticket(
        world.db,
        SYSTEM,
        subject="Invoice",
        body="Wrong amount",
        requester_email="dave@example.org",
        source=TicketSource.EMAIL,
        department_id=world.billing,
    )
    assert view.source == TicketSource.EMAIL and view.department.name == "Billing"
    assert tickets.find_ticket(world.db, world.admin, f"#{view.number}").id == view.id


def test_an_agent_sees_every_missing_field_at_once(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        tickets.open_ticket(world.db, world.manager, subject=" ", body="")
    assert refused.value.fields == {
        "email": "Enter the requester's email address.",
        "subject": "Enter a subject.",
        "body": "Describe the problem.",
    }
    assert count(world.db, Ticket) == 0
