"""A ticket's checklist: adding, changing, ticking off and deleting tasks, their events, and the departments that
close a ticket only when its tasks are done."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from desk.domain.enums import EntryKind, EventKind
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.macros import MacroActions, MacroForm, TaskForm
from desk.services import entries, lifecycle, macros, staff, tasks, tickets
from desk.storage.models import TicketTask
from tests.services.conftest import World, count, events, feed


def require_tasks_done(world: World) -> None:
    form = staff.get_department(world.db, world.admin, world.support).form
    staff.save_department(world.db, world.admin, world.support, replace(form, tasks_required=True))


def test_a_task_is_added_changed_ticked_off_and_deleted_with_an_event_each(world: World) -> None:
    db, manager = world.db, world.manager
    ticket = world.open()
    view = tasks.save_task(db, manager, ticket.id, None, TaskForm("  Replace the toner ", world.limited.id))
    (task,) = view.tasks
    assert (task.text, task.assignee and task.assignee.name, task.due_on, task.done_at) == (
        "Replace the toner",
        "Limited Agent",
        None,
        None,
    )
    due = date(2026, 12, 24)
    view = tasks.save_task(db, manager, ticket.id, task.id, TaskForm("Replace the drum", None, due))
    assert (view.tasks[0].text, view.tasks[0].assignee, view.tasks[0].due_on) == ("Replace the drum", None, due)
    unchanged = tasks.save_task(db, manager, ticket.id, task.id, TaskForm("Replace the drum", None, due))
    assert unchanged.version == view.version  # the same again changes nothing
    done = tasks.set_task_done(db, world.limited, ticket.id, task.id, True).tasks[0]
    assert done.done_at is not None and done.done_by is not None and done.done_by.name == "Limited Agent"
    assert tasks.set_task_done(db, manager, ticket.id, task.id, False).tasks[0].done_at is None
    assert tasks.delete_task(db, manager, ticket.id, task.id).tasks == ()
    assert events(db, ticket.id).count(EventKind.TASK.value) == 5
    assert feed(db, ticket.id).count(EventKind.TASK.value) == 5  # other windows hear of each
    assert tickets.get_ticket(db, world.alice, ticket.id).tasks == ()  # the agents' work, not the requester's


def test_tasks_need_the_right_to_edit_and_ticking_the_right_to_reply(world: World) -> None:
    db = world.db
    ticket = world.open()
    with pytest.raises(PermissionDenied, match="cannot change the ticket's tasks"):
        tasks.save_task(db, world.limited, ticket.id, None, TaskForm("Call back"))
    task = tasks.save_task(db, world.manager, ticket.id, None, TaskForm("Call back")).tasks[0]
    with pytest.raises(NotFound):
        tasks.set_task_done(db, world.viewer, ticket.id, task.id, True)
    with pytest.raises(PermissionDenied):
        tasks.set_task_done(db, world.alice, ticket.id, task.id, True)
    other = world.open()
    with pytest.raises(NotFound, match="has no task"):  # a task of another ticket
        tasks.delete_task(db, world.manager, other.id, task.id)
    assert count(db, TicketTask) == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [(TaskForm("   "), "text"), (TaskForm("two\nlines"), "text"), (TaskForm("x" * 501), "text"),
     (TaskForm("Who?", 10_000), "assignee_id")],
)  # fmt: skip
def test_a_task_without_text_or_with_an_unknown_agent_is_refused(world: World, form: TaskForm, field: str) -> None:
    ticket = world.open()
    with pytest.raises(Invalid) as refused:
        tasks.save_task(world.db, world.manager, ticket.id, None, form)
    assert field in refused.value.fields
    assert count(world.db, TicketTask) == 0


def test_a_department_closes_a_ticket_only_when_its_tasks_are_done(world: World) -> None:
    db, manager = world.db, world.manager
    ticket = world.open()
    task = tasks.save_task(db, manager, ticket.id, None, TaskForm("Replace the toner")).tasks[0]
    lifecycle.resolve(db, manager, ticket.id)  # not asked for by the department yet
    lifecycle.reopen(db, manager, ticket.id)
    require_tasks_done(world)
    pending_reply = macros.save_macro(
        db,
        world.admin,
        None,
        MacroForm("Done", MacroActions(post=EntryKind.REPLY, text="Fixed.", status_id=world.statuses["Closed"])),
    ).id
    attempts = (
        lambda: lifecycle.resolve(db, manager, ticket.id),
        lambda: lifecycle.close(db, manager, ticket.id),
        lambda: lifecycle.set_status(db, manager, ticket.id, world.statuses["Closed"]),
        lambda: entries.post_reply(db, manager, ticket.id, "Fixed", status_id=world.statuses["Resolved"]),
        lambda: macros.apply_macro(db, manager, ticket.id, pending_reply),
    )
    for attempt in attempts:
        with pytest.raises(Invalid, match=r"1 of ticket .* is still to do"):
            attempt()
    assert tickets.get_ticket(db, manager, ticket.id).status.name == "Open"
    lifecycle.set_status(db, manager, ticket.id, world.statuses["On hold"])  # open statuses stay free
    tasks.set_task_done(db, manager, ticket.id, task.id, True)
    assert lifecycle.resolve(db, manager, ticket.id).status.name == "Resolved"
