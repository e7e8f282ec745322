"""Macros: who keeps them, who is offered them, and applying one as one transaction of the agent's own actions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desk.domain.enums import EntryKind, EventKind
from desk.domain.errors import Conflict, Invalid, NotFound, PermissionDenied
from desk.domain.macros import MacroActions, MacroForm
from desk.domain.staff import TeamForm
from desk.domain.views import EntryView
from desk.services import macros, staff, tickets
from desk.storage.models import Macro, ThreadEntry
from tests.services.conftest import World, count, events, feed


def shared(world: World, name: str, actions: MacroActions, department_id: int | None = None) -> int:
    return macros.save_macro(world.db, world.admin, None, MacroForm(name, actions, department_id)).id


def test_a_macro_makes_each_change_with_its_own_event_and_fills_in_its_reply(world: World) -> None:
    db, manager = world.db, world.manager
    ticket = world.open()
    macro = shared(
        world,
        "Ask for logs",
        MacroActions(
            priority_id=world.priorities["High"],
            assign_to_me=True,
            follow=True,
            post=EntryKind.REPLY,
            text="Please send the logs for ticket %{ticket.number}, %{user.name}.",
            status_id=world.statuses["Pending"],
        ),
    )
    before = events(db, ticket.id)
    view = macros.apply_macro(db, manager, ticket.id, macro, expected_version=ticket.version)
    assert (view.priority.name, view.status.name, view.assignee and view.assignee.id) == ("High", "Pending", manager.id)
    assert view.following
    reply = view.thread[-2] if isinstance(view.thread[-2], EntryView) else None
    assert reply is not None and reply.kind == EntryKind.REPLY
    assert reply.body_text == f"Please send the logs for ticket {ticket.number}, Alice Archer."
    assert events(db, ticket.id)[len(before) :] == [
        EventKind.MACRO.value,
        EventKind.PRIORITY.value,
        EventKind.ASSIGNED.value,
        EventKind.STATUS.value,
    ]
    assert "followers" in feed(db, ticket.id)


def test_a_change_the_agent_may_not_make_refuses_the_whole_macro(world: World) -> None:
    """The limited agent may reply, but not transfer: the reply posted before the transfer is undone too."""
    db = world.db
    ticket = tickets.assign(db, world.admin, world.open().id, world.limited.id)
    macro = shared(
        world,
        "Send to Billing",
        MacroActions(post=EntryKind.REPLY, text="Billing will answer you.", department_id=world.billing),
    )
    before = (events(db, ticket.id), count(db, ThreadEntry, ThreadEntry.ticket_id == ticket.id))
    with pytest.raises(PermissionDenied, match=r"“Send to Billing” was not applied, nothing changed: .*transfer"):
        macros.apply_macro(db, world.limited, ticket.id, macro)
    assert (events(db, ticket.id), count(db, ThreadEntry, ThreadEntry.ticket_id == ticket.id)) == before
    assert tickets.get_ticket(db, world.admin, ticket.id).version == ticket.version


def test_a_row_deleted_since_refuses_the_macro_and_names_it(world: World) -> None:
    db = world.db
    ticket = world.open()
    team = staff.save_team(db, world.admin, None, TeamForm("Night shift")).id
    macro = shared(world, "Night shift", MacroActions(priority_id=world.priorities["Low"], team_id=team))
    staff.delete_team(db, world.admin, team)
    with pytest.raises(Invalid, match="“Night shift” was not applied, nothing changed: There is no team"):
        macros.apply_macro(db, world.manager, ticket.id, macro)
    assert tickets.get_ticket(db, world.admin, ticket.id).priority.name == ticket.priority.name


def test_a_stale_copy_is_refused_before_anything_changes(world: World) -> None:
    db = world.db
    ticket = world.open()
    macro = shared(world, "Urgent", MacroActions(priority_id=world.priorities["Emergency"]))
    tickets.set_priority(db, world.admin, ticket.id, world.priorities["Low"])
    with pytest.raises(Conflict):
        macros.apply_macro(db, world.manager, ticket.id, macro, expected_version=ticket.version)
    assert tickets.get_ticket(db, world.admin, ticket.id).priority.name == "Low"


def test_the_time_a_department_requires_goes_with_the_macros_note(world: World) -> None:
    db = world.db
    form = staff.get_department(db, world.admin, world.support).form
    staff.save_department(db, world.admin, world.support, replace(form, time_required=True))
    ticket = world.open()
    macro = shared(world, "Looked at it", MacroActions(post=EntryKind.NOTE, text="Checked the printer."))
    with pytest.raises(Invalid, match="asks for the time spent"):
        macros.apply_macro(db, world.manager, ticket.id, macro)
    view = macros.apply_macro(db, world.manager, ticket.id, macro, minutes=15)
    assert view.time_spent == 15


def test_agents_are_offered_the_shared_their_departments_and_their_own_macros(world: World) -> None:
    db = world.db
    ticket = world.open()  # in Support
    shared(world, "Everywhere", MacroActions(priority_id=world.priorities["Low"]))
    shared(world, "Support only", MacroActions(priority_id=world.priorities["Low"]), world.support)
    shared(world, "Billing only", MacroActions(priority_id=world.priorities["Low"]), world.billing)
    inactive = MacroForm("Switched off", MacroActions(priority_id=world.priorities["Low"]), active=False)
    macros.save_macro(db, world.admin, None, inactive)
    own = MacroForm("Mine", MacroActions(post=EntryKind.NOTE, text="Seen by %{agent.name}"), personal=True)
    mine = macros.save_macro(db, world.manager, None, own).id
    offered = macros.macros_for_ticket(db, world.manager, ticket.id)
    assert [m.name for m in offered] == ["Everywhere", "Mine", "Support only"]
    assert offered[1].actions.text == "Seen by Manager Agent" and offered[1].personal
    assert [m.name for m in macros.macros_for_ticket(db, world.limited, ticket.id)] == ["Everywhere", "Support only"]
    with pytest.raises(NotFound):  # another agent's own macro is not theirs to apply, nor to read
        macros.apply_macro(db, world.limited, ticket.id, mine)
    with pytest.raises(NotFound):
        macros.get_macro(db, world.admin, mine)
    assert [r.name for r in macros.list_own_macros(db, world.manager)] == ["Mine"]
    assert [r.name for r in macros.list_macros(db, world.admin)] == [
        "Billing only — Billing",
        "Everywhere",
        "Support only — Support",
        "Switched off",
    ]


@pytest.mark.parametrize(
    ("actions", "field"),
    [
        (MacroActions(), None),
        (MacroActions(post=EntryKind.REPLY), "text"),
        (MacroActions(text="Hello"), "text"),
        (MacroActions(assign_to_me=True, assignee_id=1), "assignee_id"),
        (MacroActions(status_id=10_000), "status_id"),
        (MacroActions(department_id=10_000), "transfer_to"),
    ],
)
def test_a_macro_that_does_nothing_or_names_nothing_is_refused(
    world: World, actions: MacroActions, field: str | None
) -> None:
    with pytest.raises(Invalid) as refused:
        macros.save_macro(world.db, world.admin, None, MacroForm("Broken", actions))
    assert field is None or field in refused.value.fields
    assert count(world.db, Macro) == 0


def test_managers_keep_their_departments_macros_and_agents_their_own(world: World) -> None:
    db = world.db
    with pytest.raises(PermissionDenied):
        macros.save_macro(db, world.limited, None, MacroForm("Shared", MacroActions(follow=True)))
    with pytest.raises(PermissionDenied):
        macros.list_macros(db, world.limited)
    own = macros.save_macro(db, world.limited, None, MacroForm("Own", MacroActions(follow=True), personal=True))
    with pytest.raises(NotFound):  # not even an administrator's to read
        macros.save_macro(db, world.admin, own.id, MacroForm("Own", MacroActions(follow=True), personal=True))
    form = staff.get_department(db, world.admin, world.support).form
    staff.save_department(db, world.admin, world.support, replace(form, manager_id=world.manager.id))
    mine = macros.save_macro(db, world.manager, None, MacroForm("Mine", MacroActions(follow=True), personal=True))
    for_support = MacroForm("Mine", MacroActions(follow=True), world.support)
    with pytest.raises(Invalid, match="cannot become someone's own"):
        macros.save_macro(db, world.manager, mine.id, for_support)
    assert macros.save_macro(db, world.manager, None, for_support).form.department_id == world.support
    macros.delete_macro(db, world.limited, own.id)
    assert [m.name for m in macros.macros_for_ticket(db, world.limited, world.open().id)] == ["Mine"]
