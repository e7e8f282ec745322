"""Time spent: minutes entered with agents' replies and notes, their total on the ticket, the departments that
require them, and the rows a report will read (per entry, agent, ticket and time)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.domain.enums import EntryKind
from desk.domain.errors import Invalid
from desk.domain.staff import DepartmentForm
from desk.domain.views import EntryView
from desk.services import audit, entries, lifecycle, staff, tickets
from desk.storage.models import ThreadEntry
from tests.services.conftest import World, count


def require_time(world: World, required: bool = True) -> None:
    details = staff.get_department(world.db, world.admin, world.support)
    staff.save_department(
        world.db, world.admin, world.support, DepartmentForm(**{**vars(details.form), "time_required": required})
    )


def test_minutes_are_stored_per_entry_and_totalled_on_the_ticket(world: World) -> None:
    ticket = world.open()
    assert ticket.time_spent == 0 and not ticket.time_required
    entries.post_reply(world.db, world.manager, ticket.id, "Replaced the toner.", minutes=45)
    entries.post_note(world.db, world.limited, ticket.id, "Checked the fuser too.", minutes=60)
    view = entries.post_note(world.db, world.manager, ticket.id, "No time given.")

    assert view.time_spent == 105
    shown = [(item.kind, item.author, item.minutes) for item in view.thread if isinstance(item, EntryView)]
    assert shown == [
        (EntryKind.MESSAGE, "Alice Archer", None),
        (EntryKind.REPLY, "Manager Agent", 45),
        (EntryKind.NOTE, "Limited Agent", 60),
        (EntryKind.NOTE, "Manager Agent", None),
    ]
    assert tickets.get_ticket(world.db, world.limited, ticket.id).time_spent == 105
    # What the reports will read: the minutes per agent and ticket, each with when it was entered.
    with world.db.transaction(write=False) as session:
        per_agent = dict(
            session.execute(
                select(ThreadEntry.agent_id, func.sum(ThreadEntry.minutes))
                .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.minutes.is_not(None))
                .group_by(ThreadEntry.agent_id)
            ).all()
        )
        moments = session.scalars(select(ThreadEntry.created_at).where(ThreadEntry.minutes.is_not(None))).all()
    assert per_agent == {world.manager.id: 45, world.limited.id: 60}
    assert len(moments) == 2 and all(moments)


def test_the_end_user_sees_no_time(world: World) -> None:
    ticket = world.open()
    entries.post_reply(world.db, world.manager, ticket.id, "On it.", minutes=20)
    view = tickets.get_ticket(world.db, world.alice, ticket.id)
    assert view.time_spent == 0
    assert [item.minutes for item in view.thread if isinstance(item, EntryView)] == [None, None]


@pytest.mark.parametrize("minutes", [0, -5, 24 * 60 + 1, 10**9])
def test_minutes_outside_a_day_are_refused_and_nothing_is_written(world: World, minutes: int) -> None:
    ticket = world.open()
    for post in (entries.post_reply, entries.post_note):
        with pytest.raises(Invalid, match="between 1 minute and 24 hours") as refused:
            post(world.db, world.manager, ticket.id, "Done.", minutes=minutes)
        assert set(refused.value.fields) == {"minutes"}
    assert count(world.db, ThreadEntry) == 1  # the opening message only
    assert tickets.get_ticket(world.db, world.manager, ticket.id).version == ticket.version


@pytest.mark.parametrize("minutes", [1, 24 * 60])
def test_a_minute_and_a_whole_day_are_accepted(world: World, minutes: int) -> None:
    ticket = world.open()
    assert entries.post_note(world.db, world.manager, ticket.id, "Long one.", minutes=minutes).time_spent == minutes


def test_a_department_that_requires_time_refuses_agents_entries_without_it(world: World) -> None:
    require_time(world)
    ticket = world.open()
    assert ticket.time_required
    for post in (entries.post_reply, entries.post_note):
        with pytest.raises(Invalid, match="Support asks for the time spent with each reply and note") as refused:
            post(world.db, world.manager, ticket.id, "Done.")
        assert refused.value.fields == {"minutes": "Enter the minutes you spent on it."}
    assert count(world.db, ThreadEntry) == 1
    assert entries.post_reply(world.db, world.manager, ticket.id, "Done.", minutes=5).time_spent == 5
    # The end user is never asked for time, nor are other departments' tickets.
    entries.add_message(world.db, world.alice, ticket.id, "Thanks!")
    assert count(world.db, ThreadEntry) == 3
    other = world.open(department_id=world.billing, by=world.admin)
    assert not entries.post_note(world.db, world.admin, other.id, "Fine.").time_required

    require_time(world, False)
    assert entries.post_note(world.db, world.manager, ticket.id, "Optional again.").time_spent == 5
    changes = [entry.changes for entry in audit.audit_log(world.db, world.admin)[:2]]
    assert changes == [{"time spent required": ("yes", "no")}, {"time spent required": ("no", "yes")}]
    assert not staff.get_department(world.db, world.admin, world.support).form.time_required


def test_merging_moves_the_time_with_its_entries(world: World) -> None:
    parent, child = world.open(), world.open("Printer still on fire")
    entries.post_note(world.db, world.manager, parent.id, "Looked at it.", minutes=10)
    entries.post_note(world.db, world.manager, child.id, "Looked at it again.", minutes=20)
    assert lifecycle.merge(world.db, world.manager, parent.id, [child.id]).time_spent == 30
    assert tickets.get_ticket(world.db, world.manager, child.id).time_spent == 0
