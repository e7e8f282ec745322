"""Status moves, resolution, merge, links, collaborators, feedback, overdue and auto-close."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from desk.domain.enums import CollaboratorRole, EntryKind, EventKind, Queue, StatusState
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.queues import Criteria
from desk.domain.staff import AuditKind
from desk.domain.ticket_setup import SlaForm
from desk.domain.views import EntryView, EventView, LinkedTicket, TicketView, Upload
from desk.services import audit, entries, lifecycle, queues, ticket_setup, tickets
from desk.services.base import now
from desk.storage.models import Attachment, ThreadEntry, Ticket
from tests.services.conftest import SYSTEM, World, count, events, feed


def test_resolve_close_reopen(world: World) -> None:
    ticket = world.open()
    view = lifecycle.resolve(world.db, world.manager, ticket.id, note="Replaced the fuser")
    assert view.status.name == "Resolved" and view.closed_at is not None and not view.overdue
    view = lifecycle.close(world.db, world.manager, ticket.id)
    assert view.status.name == "Closed"
    assert view.closed_at is not None
    view = lifecycle.reopen(world.db, world.manager, ticket.id)
    assert view.status.name == "Open" and view.reopen_count == 1 and view.closed_at is None
    assert events(world.db, ticket.id) == ["created", "resolved", "closed", "reopened"]
    with pytest.raises(Invalid, match="already open"):
        lifecycle.reopen(world.db, world.manager, ticket.id)


def test_closed_tickets_leave_open_queues(world: World) -> None:
    ticket = world.open()
    lifecycle.close(world.db, world.manager, ticket.id)
    open_page = queues.queue_page(world.db, world.manager, Criteria(queue=Queue.OPEN))
    closed_page = queues.queue_page(world.db, world.manager, Criteria(queue=Queue.CLOSED))
    assert open_page.total == 0 and [r.id for r in closed_page.rows] == [ticket.id]


def test_pending_stops_the_sla_clock(world: World) -> None:
    ticket = world.open(sla_id=world.sla_fast)  # 24x7: 1 h first response, 4 h resolution
    lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Pending"])
    paused_for = timedelta(hours=3)
    with world.db.transaction() as session:  # pretend the ticket waited three hours for the user
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.sla_paused_at is not None
        stored.sla_paused_at -= paused_for
    view = lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Open"])
    assert view.resolution_due is not None and ticket.resolution_due is not None
    moved = view.resolution_due - ticket.resolution_due
    assert paused_for <= moved < paused_for + timedelta(seconds=30)
    assert view.first_response_due is not None and ticket.first_response_due is not None
    assert view.first_response_due - ticket.first_response_due == moved


def test_overdue_marking(world: World) -> None:
    late = world.open(sla_id=world.sla_fast)
    paused = world.open(sla_id=world.sla_fast)
    lifecycle.set_status(world.db, world.manager, paused.id, world.statuses["Pending"])
    on_time = world.open(sla_id=world.sla_fast)
    later = now() + timedelta(hours=2)
    with world.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.id == on_time.id).values(due_at=later + timedelta(hours=1)))
    assert lifecycle.mark_overdue(world.db, SYSTEM, later) == [late.id]
    assert lifecycle.mark_overdue(world.db, SYSTEM, later) == []
    assert tickets.get_ticket(world.db, world.manager, late.id).overdue
    counts = queues.queue_counts(world.db, world.manager)
    assert counts[Queue.OVERDUE] == 1
    with pytest.raises(PermissionDenied):
        lifecycle.mark_overdue(world.db, world.manager)


def test_auto_close_after_configured_days(world: World) -> None:
    old = world.open()
    recent = world.open()
    for ticket in (old, recent):
        lifecycle.resolve(world.db, world.manager, ticket.id)
    with world.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.id == old.id).values(closed_at=now() - timedelta(days=8)))
    assert lifecycle.auto_close(world.db, SYSTEM) == [old.id]
    assert tickets.get_ticket(world.db, world.manager, old.id).status.name == "Closed"
    assert tickets.get_ticket(world.db, world.manager, recent.id).status.name == "Resolved"


def test_merge_combines_threads_and_closes_children(world: World) -> None:
    parent = world.open(subject="Printer jam")
    child = world.open(subject="Printer jammed again", requester_email="bob@example.com", body="Paper everywhere")
    view = lifecycle.merge(world.db, world.manager, parent.id, [child.id])
    bodies = [i.body_text for i in view.thread if isinstance(i, EntryView) and i.kind == EntryKind.MESSAGE]
    assert bodies == ["It is really on fire.", "Paper everywhere"]
    assert [c.user.email for c in view.collaborators] == ["bob@example.com"]
    merged = tickets.get_ticket(world.db, world.manager, child.id)
    assert merged.merged_into == parent.number and merged.status.state == StatusState.CLOSED
    # Bob answers his old ticket: the message lands on the parent he is now copied on.
    after = entries.add_message(world.db, world.bob, child.id, "Any news?")
    assert after.id == parent.id and after.thread[-1].body_text == "Any news?"  # type: ignore[union-attr]
    with pytest.raises(Invalid, match="already merged"):
        lifecycle.merge(world.db, world.manager, parent.id, [child.id])
    with pytest.raises(PermissionDenied, match=r"^Your role in Support cannot merge tickets\.$"):
        lifecycle.merge(world.db, world.limited, parent.id, [world.open().id])


def test_links_show_on_both_tickets(world: World) -> None:
    first, second = world.open(), world.open()
    view = lifecycle.link(world.db, world.manager, first.id, second.id)
    assert view.linked == (second.number,)
    assert tickets.get_ticket(world.db, world.manager, second.id).linked == (first.number,)
    view = lifecycle.unlink(world.db, world.manager, second.id, first.id)
    assert view.linked == ()
    assert events(world.db, first.id) == ["created", "linked", "linked"]


def test_a_linked_ticket_out_of_reach_shows_its_number_only(world: World) -> None:
    mine = world.open(subject="Printer on fire")
    billing = world.open(subject="Refund for the printer", department_id=world.billing, by=world.admin)
    lifecycle.link(world.db, world.admin, mine.id, billing.id)
    assert tickets.get_ticket(world.db, world.manager, mine.id).links == (
        LinkedTicket(billing.id, billing.number, None),
    )
    shown = tickets.get_ticket(world.db, world.admin, mine.id).links
    assert shown == (LinkedTicket(billing.id, billing.number, "Refund for the printer"),)


def test_collaborators(world: World) -> None:
    ticket = world.open()
    view = lifecycle.add_collaborator(world.db, world.manager, ticket.id, "Bob@example.com", role=CollaboratorRole.BCC)
    assert [(c.user.name, c.role) for c in view.collaborators] == [("Bob Baker", CollaboratorRole.BCC)]
    # A collaborator sees the ticket, but not who else is copied.
    bob_view = tickets.get_ticket(world.db, world.bob, ticket.id)
    assert bob_view.collaborators == ()
    with pytest.raises(Invalid, match="requester already"):
        lifecycle.add_collaborator(world.db, world.manager, ticket.id, "alice@example.com")
    view = lifecycle.remove_collaborator(world.db, world.manager, ticket.id, world.bob.id)
    assert view.collaborators == ()
    with pytest.raises(NotFound):
        tickets.get_ticket(world.db, world.bob, ticket.id)


def test_feedback_after_closing_only_by_requester(world: World) -> None:
    ticket = world.open()
    with pytest.raises(Invalid, match="resolved or closed"):
        lifecycle.leave_feedback(world.db, world.alice, ticket.id, 5)
    lifecycle.resolve(world.db, world.manager, ticket.id)
    with pytest.raises(Invalid, match="1 to 5"):
        lifecycle.leave_feedback(world.db, world.alice, ticket.id, 6)
    feedback = lifecycle.leave_feedback(world.db, world.alice, ticket.id, 4, "  Quick fix  ")
    assert (feedback.rating, feedback.comment) == (4, "Quick fix")
    feedback = lifecycle.leave_feedback(world.db, world.alice, ticket.id, 5)
    assert feedback.rating == 5
    with pytest.raises(PermissionDenied):
        lifecycle.leave_feedback(world.db, world.manager, ticket.id, 1)
    with pytest.raises(NotFound):
        lifecycle.leave_feedback(world.db, world.bob, ticket.id, 1)


def test_end_user_reopens_own_resolved_ticket(world: World) -> None:
    ticket = tickets.open_ticket(world.db, world.alice, subject="Cannot print", body="Help")
    lifecycle.resolve(world.db, world.manager, ticket.id)
    view = lifecycle.reopen(world.db, world.alice, ticket.id, note="Not fixed")
    assert view.status.name == "Open"


def test_a_plan_s_grace_delays_the_overdue_flag_not_the_due_time(world: World) -> None:
    """Tickets of a plan with 30 minutes' grace are flagged once due + 30 min has passed; tickets of a plan without
    grace, and tickets without a plan, at their due time. Each ticket's due time stays as it was."""
    graced = ticket_setup.save_sla(world.db, world.admin, None, SlaForm("Graced", 4, 1, grace_minutes=30))
    other = ticket_setup.save_sla(world.db, world.admin, None, SlaForm("Other graced", 4, 1, grace_minutes=90))
    due = now().replace(microsecond=0) + timedelta(hours=1)
    opened = {
        "graced": world.open(sla_id=graced.id),
        "other": world.open(sla_id=other.id),
        "strict": world.open(sla_id=world.sla_fast),
        "no plan": world.open(),
    }
    with world.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.id.in_([t.id for t in opened.values()])).values(due_at=due))
        session.execute(update(Ticket).where(Ticket.id == opened["no plan"].id).values(sla_id=None))
    names = {ticket.id: name for name, ticket in opened.items()}

    def flagged(at: datetime) -> list[str]:
        return sorted(names[i] for i in lifecycle.mark_overdue(world.db, SYSTEM, at))

    assert flagged(due) == []  # due now is not yet late
    assert flagged(due + timedelta(seconds=1)) == ["no plan", "strict"]
    assert flagged(due + timedelta(minutes=30)) == []  # the grace's last moment
    assert flagged(due + timedelta(minutes=30, seconds=1)) == ["graced"]
    assert flagged(due + timedelta(minutes=90, seconds=1)) == ["other"]
    assert tickets.get_ticket(world.db, world.manager, opened["graced"].id).overdue
    with world.db.transaction(write=False) as session:  # still due when it was
        assert set(session.scalars(select(Ticket.due_at))) == {due}


def test_a_plan_s_grace_is_checked_and_audited(world: World) -> None:
    for minutes in (-1, ticket_setup.MOST_GRACE_MINUTES + 1):
        with pytest.raises(Invalid) as refused:
            ticket_setup.save_sla(world.db, world.admin, None, SlaForm("Odd", 4, grace_minutes=minutes))
        assert refused.value.fields == {"grace_minutes": "Give 0 to 1,440 minutes past the due time."}
    plan = ticket_setup.save_sla(world.db, world.admin, None, SlaForm("Gold", 8, 2))
    assert plan.form.grace_minutes == 0
    saved = ticket_setup.save_sla(world.db, world.admin, plan.id, SlaForm("Gold", 8, 2, grace_minutes=15))
    assert saved.form.grace_minutes == 15 == ticket_setup.get_sla(world.db, world.admin, plan.id).form.grace_minutes
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.SLA, text="Gold")[:1]
    assert entry.changes == {"grace": ("0 min", "15 min")}


def _entry_ids(view: TicketView) -> list[int]:
    return [item.id for item in view.thread if isinstance(item, EntryView)]


def test_split_moves_the_chosen_entries_into_a_linked_ticket(world: World) -> None:
    """Issue 17: a thread that became two problems is split; each entry and attachment ends up in one ticket."""
    log = Upload("scanner.log", "text/plain", b"jam at tray 2")
    original = world.open(subject="Printer on fire", topic_id=world.topic_problem, priority_id=world.priorities["High"])
    lifecycle.add_collaborator(world.db, world.manager, original.id, "bob@example.com")
    entries.post_reply(world.db, world.manager, original.id, "Turn it off, please.")
    entries.add_message(world.db, world.alice, original.id, "Also the scanner jams.", attachments=[log])
    entries.post_note(world.db, world.manager, original.id, "Scanner is a separate fault.")
    before = _entry_ids(tickets.get_ticket(world.db, world.manager, original.id))
    moved = before[2:]
    view = lifecycle.split(world.db, world.manager, original.id, moved, subject="Scanner jams", note="Two faults")
    kept = tickets.get_ticket(world.db, world.manager, original.id)

    assert (view.subject, view.requester.email, view.department.id) == (
        "Scanner jams",
        "alice@example.com",
        world.support,
    )
    assert (view.topic, view.priority, view.assignee) == (original.topic, original.priority, original.assignee)
    assert [c.user.email for c in view.collaborators] == ["bob@example.com"]
    assert _entry_ids(view) == moved and _entry_ids(kept) == before[:2]
    bodies = [item.body_text for item in view.thread if isinstance(item, EntryView)]
    assert bodies == ["Also the scanner jams.", "Scanner is a separate fault."]
    assert [a.name for item in view.thread if isinstance(item, EntryView) for a in item.attachments] == ["scanner.log"]
    assert count(world.db, Attachment) == 1
    assert view.linked == (original.number,) and kept.linked == (view.number,)
    # The requester wrote last in the new ticket: it waits for an answer; the original's last word is the reply.
    assert not view.answered and kept.answered and view.status.state == StatusState.OPEN
    assert [(e.kind, e.data, e.note) for e in kept.thread if isinstance(e, EventView)][-1] == (
        EventKind.SPLIT,
        {"to": view.number, "entries": 2},
        "Two faults",
    )
    assert events(world.db, view.id) == ["split"] and feed(world.db, view.id) == ["split"]
    assert feed(world.db, original.id)[-1] == "split"
    found = queues.search_tickets(world.db, world.manager, "scanner").rows
    assert [row.id for row in found] == [view.id]
    assert tickets.get_ticket(world.db, world.bob, view.id).number == view.number  # Bob stays copied


def test_split_refuses_what_would_lose_or_misplace_entries(world: World) -> None:
    ticket = world.open()
    other = world.open()
    entries.post_note(world.db, world.manager, ticket.id, "Second thought")
    every = _entry_ids(tickets.get_ticket(world.db, world.manager, ticket.id))
    stranger = _entry_ids(other)
    before = (count(world.db, Ticket), count(world.db, ThreadEntry, ThreadEntry.ticket_id == ticket.id))
    refusals = [
        (every, "leave the ticket empty"),
        ([], "Choose the entries"),
        (stranger, f"not in ticket {ticket.number}"),
    ]
    for chosen, message in refusals:
        with pytest.raises(Invalid, match=message):
            lifecycle.split(world.db, world.manager, ticket.id, chosen)
    with pytest.raises(Invalid, match="Enter a subject") as blank:
        lifecycle.split(world.db, world.manager, ticket.id, every[1:], subject=" \n")
    assert blank.value.fields == {"subject": "Enter a subject."}
    with pytest.raises(PermissionDenied, match=r"^Your role in Support cannot edit tickets\.$"):
        lifecycle.split(world.db, world.limited, ticket.id, every[1:])
    with pytest.raises(NotFound):
        lifecycle.split(world.db, world.viewer, ticket.id, every[1:])
    assert (count(world.db, Ticket), count(world.db, ThreadEntry, ThreadEntry.ticket_id == ticket.id)) == before
    lifecycle.merge(world.db, world.manager, other.id, [ticket.id])
    with pytest.raises(Invalid, match="was merged into another ticket"):
        lifecycle.split(world.db, world.manager, ticket.id, every[1:])


@pytest.mark.parametrize("keep", [0, 1, 3])
def test_split_keeps_every_entry_exactly_once(world: World, keep: int) -> None:
    """Whichever entries stay (the first message too may go), the two threads together are the old one."""
    ticket = world.open()
    for text in ("one", "two", "three"):
        entries.post_note(world.db, world.manager, ticket.id, text)
    every = _entry_ids(tickets.get_ticket(world.db, world.manager, ticket.id))
    moved = [entry for index, entry in enumerate(every) if index != keep]
    new = lifecycle.split(world.db, world.manager, ticket.id, moved)
    kept = _entry_ids(tickets.get_ticket(world.db, world.manager, ticket.id))
    assert kept == [every[keep]] and _entry_ids(new) == moved and new.subject == ticket.subject


@pytest.fixture
def long_ticket(world: World) -> tuple[TicketView, list[int]]:
    """A ticket with six entries of each kind, for the split-then-merge property."""
    ticket = world.open()
    for n in range(2):
        entries.post_reply(world.db, world.manager, ticket.id, f"Reply {n}")
        entries.post_note(world.db, world.manager, ticket.id, f"Note {n}")
    entries.add_message(world.db, world.alice, ticket.id, "Still burning")
    return ticket, _entry_ids(tickets.get_ticket(world.db, world.manager, ticket.id))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_split_then_merge_back_keeps_every_entry_once(
    world: World, long_ticket: tuple[TicketView, list[int]], data: st.DataObject
) -> None:
    """Any proper subset split off lands in the new ticket, the rest stays; merged back, the thread is whole again."""
    ticket, every = long_ticket
    moved = data.draw(st.lists(st.sampled_from(every), min_size=1, max_size=len(every) - 1, unique=True))
    new = lifecycle.split(world.db, world.manager, ticket.id, moved)
    kept = _entry_ids(tickets.get_ticket(world.db, world.manager, ticket.id))
    assert _entry_ids(new) == sorted(moved) and kept == [entry for entry in every if entry not in moved]
    whole = lifecycle.merge(world.db, world.manager, ticket.id, [new.id])
    assert _entry_ids(whole) == every
