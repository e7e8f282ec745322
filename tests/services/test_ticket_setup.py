"""Administering SLA plans, schedules, help topics, statuses, priorities and settings: what tickets then get, what
is refused and why, and the audit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.domain.enums import StatusState
from desk.domain.errors import Invalid
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.ticket_setup import (
    DeskSettings,
    HolidayForm,
    Interval,
    PriorityForm,
    ScheduleForm,
    SlaForm,
    StatusForm,
    TopicForm,
)
from desk.services import audit, lifecycle, portal, reference, ticket_setup, tickets
from tests.services.conftest import World

NEW_YEAR = date(2027, 1, 1)
NINE_TO_FIVE = tuple(Interval(day, 9 * 60, 17 * 60) for day in range(5))


def test_a_plan_on_a_schedule_with_a_holiday_times_new_tickets_and_previews_it(world: World) -> None:
    christmas = ScheduleForm(
        "Berlin office", "Europe/Berlin", NINE_TO_FIVE, (HolidayForm(date(2026, 12, 24), "Christmas Eve"),)
    )
    schedule = ticket_setup.save_schedule(world.db, world.admin, None, christmas)
    assert schedule.form.holidays == (HolidayForm(date(2026, 12, 24), "Christmas Eve"),) and schedule.plans == 0
    plan = ticket_setup.save_sla(world.db, world.admin, None, SlaForm("Gold", 8, 2, schedule.id))
    wednesday_evening = datetime(2026, 12, 23, 17, 30, tzinfo=UTC)  # 18:30 in Berlin: closed
    ticket = world.open(sla_id=plan.id, at=wednesday_evening)
    # Thursday is a holiday; Friday 9:00 Berlin (8:00 UTC) plus 8 business hours
    assert ticket.resolution_due == datetime(2026, 12, 25, 16, 0, tzinfo=UTC)
    preview = ticket_setup.preview_sla(world.db, world.admin, plan.form, opened=wednesday_evening)
    assert (preview.first_response, preview.resolution) == (ticket.first_response_due, ticket.resolution_due)
    hours = ticket_setup.preview_schedule(world.db, world.admin, christmas, 8, opened=wednesday_evening)
    assert hours.resolution == ticket.resolution_due
    with pytest.raises(Invalid, match="still used by 1 SLA plan"):
        ticket_setup.delete_schedule(world.db, world.admin, schedule.id)
    with pytest.raises(Invalid, match="still used by 1 ticket: make it inactive"):
        ticket_setup.delete_sla(world.db, world.admin, plan.id)
    ticket_setup.save_sla(world.db, world.admin, plan.id, SlaForm("Gold", 8, 2, schedule.id, active=False))
    assert "Gold" not in [p.name for p in reference.choices(world.db, world.admin).slas]
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.SLA, text="Gold")[:1]
    assert entry.changes == {"active": ("yes", "no")}


def test_schedules_and_plans_refuse_what_would_never_be_due(world: World) -> None:
    for form, field in (
        (ScheduleForm("Never", "UTC"), "hours"),
        (ScheduleForm("Odd", "Mars/Olympus", NINE_TO_FIVE), "timezone"),
        (ScheduleForm("Back", "UTC", (Interval(0, 600, 540),)), "hours"),
        (ScheduleForm("Overlap", "UTC", (Interval(0, 540, 720), Interval(0, 700, 800))), "hours"),
        (
            ScheduleForm("Twice", "UTC", NINE_TO_FIVE, (HolidayForm(NEW_YEAR, "A"), HolidayForm(NEW_YEAR, "B"))),
            "holidays",
        ),
    ):
        with pytest.raises(Invalid) as refused:
            ticket_setup.save_schedule(world.db, world.admin, None, form)
        assert field in refused.value.fields, form
    for plan, field in (
        (SlaForm("Zero", 0), "resolution_hours"),
        (SlaForm("Late first", 4, 8), "first_response_hours"),
        (SlaForm("Nowhere", 4, 1, schedule_id=999_999), "schedule_id"),
    ):
        with pytest.raises(Invalid) as refused:
            ticket_setup.save_sla(world.db, world.admin, None, plan)
        assert field in refused.value.fields, plan


def test_help_topics_nest_without_cycles_and_assign_one_way(world: World) -> None:
    child = ticket_setup.save_topic(world.db, world.admin, None, TopicForm("Cards", world.support, world.topic_problem))
    assert child.full_name == "Report a Problem / Cards"
    grandchild = ticket_setup.save_topic(world.db, world.admin, None, TopicForm("Lost card", world.support, child.id))
    problem = ticket_setup.get_topic(world.db, world.admin, world.topic_problem).form
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_topic(
            world.db, world.admin, world.topic_problem, TopicForm(**{**vars(problem), "parent_id": grandchild.id})
        )
    assert "parent_id" in refused.value.fields
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_topic(
            world.db,
            world.admin,
            None,
            TopicForm("Both", world.support, assign_agent_id=world.manager.id, assign_team_id=world.level2),
        )
    assert "assign" in refused.value.fields
    with pytest.raises(Invalid, match="Another topic is called Cards there"):
        ticket_setup.save_topic(world.db, world.admin, None, TopicForm("Cards", world.billing, world.topic_problem))
    private = ticket_setup.save_topic(
        world.db, world.admin, grandchild.id, TopicForm("Lost card", world.support, child.id, public=False)
    )
    assert not private.form.public
    assert "Lost card" not in {t.name for t in portal.public_topics(world.db)}
    with pytest.raises(Invalid, match="still used by 1 topic below it"):
        ticket_setup.delete_topic(world.db, world.admin, child.id)
    ticket_setup.delete_topic(world.db, world.admin, grandchild.id)
    ticket_setup.delete_topic(world.db, world.admin, child.id)


def test_statuses_keep_their_state_under_tickets_and_built_ins_stay(world: World) -> None:
    waiting = ticket_setup.save_status(
        world.db,
        world.admin,
        None,
        StatusForm("Waiting for vendor", StatusState.OPEN, pauses_sla=True, on_hold=True, sort=2),
    )
    ticket = world.open()
    lifecycle.set_status(world.db, world.admin, ticket.id, waiting.id)
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_status(
            world.db, world.admin, waiting.id, StatusForm("Waiting for vendor", StatusState.CLOSED)
        )
    assert refused.value.fields["state"].startswith("1 tickets have this status")
    with pytest.raises(Invalid, match="still used by 1 ticket"):
        ticket_setup.delete_status(world.db, world.admin, waiting.id)
    with pytest.raises(Invalid, match="built in"):
        ticket_setup.delete_status(world.db, world.admin, world.statuses["Open"])
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_status(
            world.db,
            world.admin,
            None,
            StatusForm("Done", StatusState.CLOSED, allows_reopen=True, reopen_status_id=world.statuses["Closed"]),
        )
    assert "reopen_status_id" in refused.value.fields
    renamed = ticket_setup.save_status(
        world.db, world.admin, waiting.id, StatusForm("Vendor", StatusState.OPEN, True, True, sort=2)
    )
    assert tickets.get_ticket(world.db, world.admin, ticket.id).status.name == renamed.form.name == "Vendor"


def test_a_priority_level_change_reaches_its_tickets_and_one_is_always_the_default(world: World) -> None:
    ticket = world.open(priority_id=world.priorities["High"])
    high = ticket_setup.get_priority(world.db, world.admin, world.priorities["High"])
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_priority(world.db, world.admin, high.id, PriorityForm("High", 4, "#d08a2e"))
    assert refused.value.fields["level"] == "Another priority has level 4: each level is one priority's."
    ticket_setup.save_priority(world.db, world.admin, high.id, PriorityForm("High", 50, "#D08A2E", is_default=True))
    assert tickets.get_ticket(world.db, world.admin, ticket.id).priority.level == 50
    defaults = [
        ticket_setup.get_priority(world.db, world.admin, p.id).form.is_default
        for p in ticket_setup.list_priorities(world.db, world.admin)
    ]
    assert defaults.count(True) == 1
    with pytest.raises(Invalid, match="is the default priority"):
        ticket_setup.delete_priority(world.db, world.admin, high.id)
    with pytest.raises(Invalid) as refused:
        ticket_setup.save_priority(world.db, world.admin, None, PriorityForm("Pink", 60, "pink"))
    assert "colour" in refused.value.fields


def test_settings_are_checked_saved_and_audited(world: World) -> None:
    current = ticket_setup.get_settings(world.db, world.admin)
    assert current.attachment_max_mb == 10 and current.default_department_id == world.support
    changed = DeskSettings(
        **{
            **vars(current),
            "number_format": "T-#####",
            "number_mode": "sequence",
            "autoclose_days": 0,
            "attachment_max_mb": 25,
        }
    )
    assert ticket_setup.save_settings(world.db, world.admin, changed) == changed
    assert world.open().number == "T-00001"
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.SETTINGS)
    assert entry.action is AuditAction.CHANGED
    assert entry.changes["ticket numbers"] == ("###### (random)", "T-##### (sequence)")
    assert entry.changes["attachment max mb"] == ("10 MB", "25 MB")
    for field, value in (
        ("number_format", "T-#"),
        ("number_mode", "odd"),
        ("lock_minutes", -1),
        ("attachment_max_mb", 1000),
        ("default_department_id", None),
    ):
        with pytest.raises(Invalid) as refused:
            ticket_setup.save_settings(world.db, world.admin, DeskSettings(**{**vars(changed), field: value}))
        assert field in refused.value.fields, field
    assert ticket_setup.get_settings(world.db, world.admin) == changed  # nothing half-saved


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=130))
def test_any_name_is_saved_or_refused_never_an_error(world: World, name: str) -> None:
    for save in (
        lambda: ticket_setup.save_sla(world.db, world.admin, None, SlaForm(name, 8)),
        lambda: ticket_setup.save_schedule(
            world.db, world.admin, None, ScheduleForm(name, "UTC", NINE_TO_FIVE, (HolidayForm(date(2027, 1, 1), name),))
        ),
        lambda: ticket_setup.save_topic(world.db, world.admin, None, TopicForm(name, world.support)),
        lambda: ticket_setup.save_status(world.db, world.admin, None, StatusForm(name, StatusState.OPEN)),
        lambda: ticket_setup.save_priority(world.db, world.admin, None, PriorityForm(name, 77, "#000000")),
    ):
        try:
            saved = save()
        except Invalid as refused:
            assert refused.fields and str(refused)
        else:
            assert saved.form.name == name.strip()
            if isinstance(saved.form, PriorityForm):
                ticket_setup.delete_priority(world.db, world.admin, saved.id)  # frees level 77 for the next name


def test_attachment_types_are_saved_as_compared_refused_when_malformed_and_audited(world: World) -> None:
    current = ticket_setup.get_settings(world.db, world.admin)
    assert current.attachment_types == ()  # any type, as before there was a list
    typed = DeskSettings(**{**vars(current), "attachment_types": (".PDF", "png", "*.docx", "pdf")})
    saved = ticket_setup.save_settings(world.db, world.admin, typed)
    assert (
        saved.attachment_types
        == ("pdf", "png", "docx")
        == ticket_setup.get_settings(world.db, world.admin).attachment_types
    )
    assert reference.choices(world.db, world.manager).attachment_types == ("pdf", "png", "docx")  # the composer's
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.SETTINGS)
    assert entry.changes == {"attachment types": ("any type", "pdf, png, docx")}
    for wrong, message in (
        (("pdf", "tar.gz"), "“tar.gz” is not a file type"),
        (("exe.",), "“exe.” is not a file type"),
        (("p<f",), "“p<f” is not a file type"),
        (("",), "“” is not a file type"),
        (tuple(f"t{i}" for i in range(201)), "List at most 200 types."),
    ):
        with pytest.raises(Invalid) as refused:
            ticket_setup.save_settings(
                world.db, world.admin, DeskSettings(**{**vars(saved), "attachment_types": wrong})
            )
        assert refused.value.fields["attachment_types"].startswith(message), wrong
    assert ticket_setup.get_settings(world.db, world.admin) == saved  # nothing half-saved
    back = ticket_setup.save_settings(world.db, world.admin, DeskSettings(**{**vars(saved), "attachment_types": ()}))
    assert back.attachment_types == () and reference.choices(world.db, world.manager).attachment_types == ()
