"""Administering how tickets are handled: SLA plans, business-hours schedules and holidays, help topics, statuses,
priorities and the help desk's settings.

Administrators only. Each save or delete is one transaction with its audit row; what is still in use is not
deleted (the message says how much uses it, and that deactivating is the way for plans and topics). Changing a
plan or a schedule times the tickets opened from then on; tickets already open keep their due times.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from desk.domain import attachments, numbers, sla
from desk.domain.enums import StatusState
from desk.domain.errors import Invalid
from desk.domain.inputs import is_one_line
from desk.domain.permissions import Actor
from desk.domain.sla import add_business_time
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.ticket_setup import (
    DeskSettings,
    DuePreview,
    HolidayForm,
    Interval,
    PriorityDetails,
    PriorityForm,
    ScheduleDetails,
    ScheduleForm,
    SlaDetails,
    SlaForm,
    StatusDetails,
    StatusForm,
    TopicDetails,
    TopicForm,
)
from desk.domain.views import Ref
from desk.services import audit, reference, settings
from desk.services.audit import Shown, differences
from desk.services.base import command, now, query
from desk.services.editing import (
    audit_save,
    count,
    get_row,
    known,
    listing,
    names_of,
    refuse_in_use,
    require_admin,
    to_save,
    unique_name,
)
from desk.services.reference import topic_names
from desk.services.sla import schedule, schedule_of
from desk.storage.models import (
    Agent,
    Department,
    HelpTopic,
    Holiday,
    Priority,
    Schedule,
    ScheduleHours,
    SlaPlan,
    Status,
    Team,
    Ticket,
)

MOST_HOURS = 24 * 365  # a target beyond a year is a typing mistake
MOST_GRACE_MINUTES = 24 * 60  # a day late and not yet overdue is no target at all
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MEGABYTE = 1024 * 1024


def _fail(errors: dict[str, str]) -> None:
    if errors:
        raise Invalid(" ".join(errors.values()), errors)


# --- SLA plans ----------------------------------------------------------------------------------------------------


def _preview(session: Session, form: SlaForm, opened: datetime) -> DuePreview:
    """When a ticket opened at `opened` under the plan is due (in its schedule's hours, else around the clock)."""
    hours = schedule(session, form.schedule_id)
    first = form.first_response_hours
    return DuePreview(
        opened=opened,
        first_response=add_business_time(opened, timedelta(hours=first), hours) if first is not None else None,
        resolution=add_business_time(opened, timedelta(hours=form.resolution_hours), hours),
    )


def _sla_form(plan: SlaPlan) -> SlaForm:
    return SlaForm(
        plan.name, plan.resolution_hours, plan.first_response_hours, plan.schedule_id, plan.active, plan.grace_minutes
    )


def _shown_sla(session: Session, form: SlaForm) -> dict[str, Shown]:
    hours = names_of(session, Schedule, [form.schedule_id])
    return {
        "name": form.name,
        "first response": f"{form.first_response_hours:g} h" if form.first_response_hours is not None else None,
        "resolution": f"{form.resolution_hours:g} h",
        "hours": hours.get(form.schedule_id, "around the clock") if form.schedule_id else "around the clock",
        "grace": f"{form.grace_minutes} min",
        "active": "yes" if form.active else "no",
    }


def _check_sla(session: Session, form: SlaForm) -> None:
    errors = {}
    for field, value in (
        ("first_response_hours", form.first_response_hours),
        ("resolution_hours", form.resolution_hours),
    ):
        if value is not None and not 0 < value <= MOST_HOURS:
            errors[field] = f"Give a number of hours above 0 and at most {MOST_HOURS:,}."
    if not errors and form.first_response_hours is not None and form.first_response_hours > form.resolution_hours:
        errors["first_response_hours"] = "The first response cannot be due after the resolution: shorten it."
    if not 0 <= form.grace_minutes <= MOST_GRACE_MINUTES:
        errors["grace_minutes"] = f"Give 0 to {MOST_GRACE_MINUTES:,} minutes past the due time."
    _fail(errors)
    known(session, Schedule, [form.schedule_id], "schedule_id", "schedule")


@query
def list_slas(session: Session, actor: Actor) -> list[Ref]:
    """The SLA plans, by name."""
    require_admin(actor)
    return listing(session, SlaPlan)


def _sla_details(session: Session, plan: SlaPlan) -> SlaDetails:
    form = _sla_form(plan)
    open_tickets = count(session, Ticket, Ticket.sla_id == plan.id, Ticket.state == StatusState.OPEN)
    return SlaDetails(id=plan.id, form=form, open_tickets=open_tickets)


@query
def get_sla(session: Session, actor: Actor, sla_id: int) -> SlaDetails:
    """An SLA plan to edit: its targets, grace and schedule."""
    require_admin(actor)
    return _sla_details(session, get_row(session, SlaPlan, sla_id))


@query
def preview_sla(session: Session, actor: Actor, form: SlaForm, *, opened: datetime | None = None) -> DuePreview:
    """When a ticket opened now (or at `opened`) would be due under the plan as typed, saved or not."""
    require_admin(actor)
    _check_sla(session, form)
    return _preview(session, form, opened or now())


@command
def save_sla(session: Session, actor: Actor, sla_id: int | None, form: SlaForm) -> SlaDetails:
    """Create or change an SLA plan: its first-response and resolution targets in hours, counted in a schedule's
    business hours or around the clock, and the grace in minutes past them before a ticket is flagged overdue (the
    worker's next pass uses the new grace for open tickets too); an inactive plan is no longer offered."""
    require_admin(actor)
    name = unique_name(session, SlaPlan, form.name, sla_id, "SLA plan")
    _check_sla(session, form)
    if not form.active and sla_id is not None and settings.get(session, "ticket.default_sla_id") == sla_id:
        raise Invalid(f"{name} is the default plan for new tickets: make another the default first.")
    plan, before = to_save(session, SlaPlan, sla_id, lambda p: _shown_sla(session, _sla_form(p)))
    plan.name, plan.first_response_hours, plan.resolution_hours = name, form.first_response_hours, form.resolution_hours
    plan.schedule_id, plan.active, plan.grace_minutes = form.schedule_id, form.active, form.grace_minutes
    session.flush()
    saved = replace(form, name=name)
    audit_save(session, actor, sla_id, AuditKind.SLA, plan.id, name, before, _shown_sla(session, saved))
    return _sla_details(session, plan)


@command
def delete_sla(session: Session, actor: Actor, sla_id: int) -> None:
    """Delete an SLA plan that is not the default and that no ticket, department or help topic uses."""
    require_admin(actor)
    plan = get_row(session, SlaPlan, sla_id)
    if settings.get(session, "ticket.default_sla_id") == sla_id:
        raise Invalid(f"{plan.name} is the default plan for new tickets: make another the default first.")
    uses = {
        "ticket": count(session, Ticket, Ticket.sla_id == sla_id),
        "department": count(session, Department, Department.sla_id == sla_id),
        "help topic": count(session, HelpTopic, HelpTopic.sla_id == sla_id),
    }
    refuse_in_use(plan.name, uses, "make it inactive instead, so that it is no longer offered")
    session.delete(plan)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.SLA, sla_id, plan.name)


# --- schedules ----------------------------------------------------------------------------------------------------


def _shown_schedule(form: ScheduleForm) -> dict[str, Shown]:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return {
        "name": form.name,
        "time zone": form.timezone,
        "hours": "; ".join(
            f"{days[i.weekday]} {i.start_minute // 60:02}:{i.start_minute % 60:02}–{i.end_minute // 60:02}:"
            f"{i.end_minute % 60:02}"
            for i in form.hours
        ) or "none",
        "holidays": ", ".join(f"{h.day} {h.name}" for h in form.holidays) or None,
    }  # fmt: skip


def _check_schedule(form: ScheduleForm) -> ScheduleForm:
    """The form with its intervals and holidays in order; Invalid naming what to fix."""
    errors = {}
    if form.timezone not in sla.time_zones():
        errors["timezone"] = f"“{form.timezone}” is not a time zone: choose one from the list, e.g. Europe/Berlin."
    hours = tuple(sorted(set(form.hours), key=lambda i: (i.weekday, i.start_minute)))
    for i, interval in enumerate(hours):
        if interval.weekday not in range(7) or not 0 <= interval.start_minute < interval.end_minute <= 1440:
            errors["hours"] = "Each interval starts before it ends, within its day (00:00–24:00)."
        elif i and hours[i - 1].weekday == interval.weekday and hours[i - 1].end_minute > interval.start_minute:
            errors["hours"] = "A day's intervals must not overlap: join or shorten them."
    if not hours:
        errors["hours"] = "Give some business hours: a ticket timed by a schedule without any would never be due."
    holidays = tuple(sorted(form.holidays, key=lambda h: h.day))
    if len({h.day for h in holidays}) != len(holidays):
        errors["holidays"] = "Each day can be one holiday only."
    elif any(not h.name.strip() or not is_one_line(h.name) or len(h.name.strip()) > 100 for h in holidays):
        errors["holidays"] = "Name each holiday on one line, in at most 100 characters."
    _fail(errors)
    holidays = tuple(HolidayForm(h.day, h.name.strip()) for h in holidays)
    return ScheduleForm(form.name, form.timezone, hours, holidays)


@query
def list_schedules(session: Session, actor: Actor) -> list[Ref]:
    """The business-hours schedules, by name."""
    require_admin(actor)
    return listing(session, Schedule)


def _schedule_details(session: Session, row: Schedule) -> ScheduleDetails:
    hours = session.scalars(select(ScheduleHours).where(ScheduleHours.schedule_id == row.id))
    holidays = session.scalars(select(Holiday).where(Holiday.schedule_id == row.id))
    form = ScheduleForm(
        name=row.name,
        timezone=row.timezone,
        hours=tuple(sorted(Interval(h.weekday, h.start_minute, h.end_minute) for h in hours)),
        holidays=tuple(sorted((HolidayForm(h.day, h.name) for h in holidays), key=lambda h: h.day)),
    )
    return ScheduleDetails(
        id=row.id,
        form=form,
        plans=count(session, SlaPlan, SlaPlan.schedule_id == row.id),
        departments=count(session, Department, Department.schedule_id == row.id),
    )


@query
def get_schedule(session: Session, actor: Actor, schedule_id: int) -> ScheduleDetails:
    """A business-hours schedule to edit: its time zone, hours and holidays."""
    require_admin(actor)
    return _schedule_details(session, get_row(session, Schedule, schedule_id))


@query
def preview_schedule(
    session: Session, actor: Actor, form: ScheduleForm, hours: float, *, opened: datetime | None = None
) -> DuePreview:
    """When `hours` of this schedule's business time (as typed, saved or not) end, counted from now (or `opened`)."""
    require_admin(actor)
    checked = _check_schedule(form)
    opened = opened or now()
    intervals = [(i.weekday, i.start_minute, i.end_minute) for i in checked.hours]
    hours_of = schedule_of(checked.timezone, intervals, [h.day for h in checked.holidays])
    due = add_business_time(opened, timedelta(hours=hours), hours_of)
    return DuePreview(opened=opened, first_response=None, resolution=due)


@command
def save_schedule(session: Session, actor: Actor, schedule_id: int | None, form: ScheduleForm) -> ScheduleDetails:
    """Create or change a business-hours schedule: its time zone, the hours of each weekday and its holidays."""
    require_admin(actor)
    name = unique_name(session, Schedule, form.name, schedule_id, "schedule")
    form = _check_schedule(ScheduleForm(name, form.timezone, form.hours, form.holidays))
    row, before = to_save(session, Schedule, schedule_id, lambda r: _shown_schedule(_schedule_details(session, r).form))
    row.name, row.timezone = name, form.timezone
    session.flush()
    session.execute(delete(ScheduleHours).where(ScheduleHours.schedule_id == row.id))
    session.execute(delete(Holiday).where(Holiday.schedule_id == row.id))
    session.add_all(ScheduleHours(schedule_id=row.id, weekday=i.weekday, start_minute=i.start_minute,
                                  end_minute=i.end_minute) for i in form.hours)  # fmt: skip
    session.add_all(Holiday(schedule_id=row.id, day=h.day, name=h.name) for h in form.holidays)
    session.flush()
    audit_save(session, actor, schedule_id, AuditKind.SCHEDULE, row.id, name, before, _shown_schedule(form))
    return _schedule_details(session, row)


@command
def delete_schedule(session: Session, actor: Actor, schedule_id: int) -> None:
    """Delete a business-hours schedule that no SLA plan or department uses."""
    require_admin(actor)
    row = get_row(session, Schedule, schedule_id)
    uses = {
        "SLA plan": count(session, SlaPlan, SlaPlan.schedule_id == schedule_id),
        "department": count(session, Department, Department.schedule_id == schedule_id),
    }
    refuse_in_use(row.name, uses, "give them other business hours first")
    session.execute(delete(ScheduleHours).where(ScheduleHours.schedule_id == schedule_id))
    session.execute(delete(Holiday).where(Holiday.schedule_id == schedule_id))
    session.execute(delete(Schedule).where(Schedule.id == schedule_id))
    audit.record(session, actor, AuditAction.DELETED, AuditKind.SCHEDULE, schedule_id, row.name)


# --- help topics --------------------------------------------------------------------------------------------------


def _topic_form(topic: HelpTopic) -> TopicForm:
    return TopicForm(
        name=topic.name,
        department_id=topic.department_id,
        parent_id=topic.parent_id,
        priority_id=topic.priority_id,
        sla_id=topic.sla_id,
        assign_agent_id=topic.assign_agent_id,
        assign_team_id=topic.assign_team_id,
        public=topic.public,
        active=topic.active,
    )


def _topic_details(session: Session, topic: HelpTopic) -> TopicDetails:
    names = topic_names(list(session.scalars(select(HelpTopic))))
    tickets = count(session, Ticket, Ticket.topic_id == topic.id)
    return TopicDetails(id=topic.id, form=_topic_form(topic), full_name=names[topic.id], tickets=tickets)


def _shown_topic(session: Session, form: TopicForm) -> dict[str, Shown]:
    def name(model: object, row_id: int | None) -> Shown:
        return names_of(session, model, [row_id]).get(row_id) if row_id is not None else None

    return {
        "name": form.name,
        "parent": name(HelpTopic, form.parent_id),
        "department": name(Department, form.department_id),
        "priority": name(Priority, form.priority_id),
        "SLA plan": name(SlaPlan, form.sla_id),
        "assigns to": name(Agent, form.assign_agent_id) or name(Team, form.assign_team_id),
        "public": "yes" if form.public else "no",
        "active": "yes" if form.active else "no",
    }


@query
def list_topics(session: Session, actor: Actor) -> list[Ref]:
    """Every help topic by its full name ("Parent / Child"), active or not."""
    require_admin(actor)
    names = topic_names(list(session.scalars(select(HelpTopic))))
    return sorted((Ref(id=i, name=n) for i, n in names.items()), key=lambda r: r.name.casefold())


@query
def get_topic(session: Session, actor: Actor, topic_id: int) -> TopicDetails:
    """A help topic to edit, with what it sets on new tickets."""
    require_admin(actor)
    return _topic_details(session, get_row(session, HelpTopic, topic_id))


def _check_topic(session: Session, topic_id: int | None, form: TopicForm) -> str:
    name = form.name.strip()
    errors = {}
    if not name or not is_one_line(name) or len(name) > 120:
        errors["name"] = "Name the topic on one line, in at most 120 characters."
    elif session.scalar(
        select(HelpTopic.id).where(
            HelpTopic.name == name,
            HelpTopic.parent_id.is_(None) if form.parent_id is None else HelpTopic.parent_id == form.parent_id,
            HelpTopic.id != (topic_id or 0),
        )
    ):
        errors["name"] = f"Another topic is called {name} there: choose another name or parent."
    if form.assign_agent_id is not None and form.assign_team_id is not None:
        errors["assign"] = "Assign new tickets to an agent or to a team, not both."
    parent = form.parent_id
    seen: set[int] = set()
    while parent is not None and parent not in seen:  # the new parent must not be this topic or below it
        if parent == topic_id:
            errors["parent_id"] = "A topic cannot sit below itself: choose another parent."
            break
        seen.add(parent)
        parent = session.scalar(select(HelpTopic.parent_id).where(HelpTopic.id == parent))
    _fail(errors)
    known(session, HelpTopic, [form.parent_id], "parent_id", "help topic")
    known(session, Department, [form.department_id], "department_id", "department")
    known(session, Priority, [form.priority_id], "priority_id", "priority")
    known(session, SlaPlan, [form.sla_id], "sla_id", "SLA plan")
    known(session, Agent, [form.assign_agent_id], "assign", "agent")
    known(session, Team, [form.assign_team_id], "assign", "team")
    return name


@command
def save_topic(session: Session, actor: Actor, topic_id: int | None, form: TopicForm) -> TopicDetails:
    """Create or change a help topic: where it sits, which department gets its tickets, their priority, SLA plan
    and assignee; public topics are offered in the Support Center, agent-only ones in Desk."""
    require_admin(actor)
    name = _check_topic(session, topic_id, form)
    form = TopicForm(**{**vars(form), "name": name})
    topic, before = to_save(session, HelpTopic, topic_id, lambda t: _shown_topic(session, _topic_form(t)))
    for field, value in vars(form).items():
        setattr(topic, field, value)
    session.flush()
    audit_save(session, actor, topic_id, AuditKind.TOPIC, topic.id, name, before, _shown_topic(session, form))
    return _topic_details(session, topic)


@command
def delete_topic(session: Session, actor: Actor, topic_id: int) -> None:
    """Delete a help topic that no ticket uses and that has no topics under it."""
    require_admin(actor)
    topic = get_row(session, HelpTopic, topic_id)
    uses = {
        "ticket": count(session, Ticket, Ticket.topic_id == topic_id),
        "topic below it": count(session, HelpTopic, HelpTopic.parent_id == topic_id),
    }
    refuse_in_use(topic.name, uses, "make it inactive instead, so that it is no longer offered")
    session.delete(topic)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.TOPIC, topic_id, topic.name)


# --- statuses -----------------------------------------------------------------------------------------------------

BUILT_IN_STATUSES = {
    "ticket.default_status_id": "new tickets get it",
    "ticket.resolved_status_id": "resolving sets it",
    "ticket.closed_status_id": "closing sets it",
}


def _status_form(status: Status) -> StatusForm:
    return StatusForm(status.name, StatusState(status.state), status.pauses_sla, status.on_hold, status.allows_reopen,
                      status.reopen_status_id, status.sort)  # fmt: skip


def _shown_status(session: Session, form: StatusForm) -> dict[str, Shown]:
    reopen = names_of(session, Status, [form.reopen_status_id])
    return {
        "name": form.name,
        "state": form.state.value,
        "pauses the SLA clock": "yes" if form.pauses_sla else "no",
        "on hold": "yes" if form.on_hold else "no",
        "reopens as": reopen.get(form.reopen_status_id) if form.allows_reopen and form.reopen_status_id else None,
        "order": str(form.sort),
    }


def _status_details(session: Session, status: Status) -> StatusDetails:
    return StatusDetails(status.id, _status_form(status), count(session, Ticket, Ticket.status_id == status.id))


@query
def list_statuses(session: Session, actor: Actor) -> list[Ref]:
    """The statuses, in their order."""
    require_admin(actor)
    return listing(session, Status, Status.sort)


@query
def get_status(session: Session, actor: Actor, status_id: int) -> StatusDetails:
    """A status to edit."""
    require_admin(actor)
    return _status_details(session, get_row(session, Status, status_id))


@command
def save_status(session: Session, actor: Actor, status_id: int | None, form: StatusForm) -> StatusDetails:
    """Create or change a status. Its state (open, closed, archived, deleted) cannot change while tickets have it:
    their queues follow the state."""
    require_admin(actor)
    name = unique_name(session, Status, form.name, status_id, "status")
    errors = {}
    if form.allows_reopen and form.reopen_status_id is None:
        errors["reopen_status_id"] = "Choose the status a reopened ticket gets."
    elif form.allows_reopen and form.reopen_status_id is not None:
        target = session.get(Status, form.reopen_status_id)
        if target is None or target.state != StatusState.OPEN:
            errors["reopen_status_id"] = "A reopened ticket gets an open status: choose one."
    if form.state != StatusState.OPEN and (form.pauses_sla or form.on_hold):
        errors["state"] = "Only an open status pauses the SLA clock or puts a ticket on hold."
    if not -1000 <= form.sort <= 1000:
        errors["sort"] = "Give an order from -1,000 to 1,000."
    if status_id is not None:
        current = get_row(session, Status, status_id)
        used = count(session, Ticket, Ticket.status_id == status_id)
        if current.state != form.state and used:
            errors["state"] = f"{used:,} tickets have this status: its state cannot change under them."
        built_in = [why for key, why in BUILT_IN_STATUSES.items() if settings.get(session, key) == status_id]
        if built_in and current.state != form.state:
            errors["state"] = f"{current.name} is built in ({', '.join(built_in)}): its state stays."
    _fail(errors)
    form = StatusForm(name, form.state, form.pauses_sla, form.on_hold, form.allows_reopen,
                      form.reopen_status_id if form.allows_reopen else None, form.sort)  # fmt: skip
    status, before = to_save(session, Status, status_id, lambda s: _shown_status(session, _status_form(s)))
    status.name, status.state, status.pauses_sla, status.on_hold = name, form.state.value, form.pauses_sla, form.on_hold
    status.allows_reopen, status.reopen_status_id, status.sort = form.allows_reopen, form.reopen_status_id, form.sort
    session.flush()
    audit_save(session, actor, status_id, AuditKind.STATUS, status.id, name, before, _shown_status(session, form))
    return _status_details(session, status)


@command
def delete_status(session: Session, actor: Actor, status_id: int) -> None:
    """Delete a status that is not built in and that no ticket uses and no status reopens as."""
    require_admin(actor)
    status = get_row(session, Status, status_id)
    built_in = [why for key, why in BUILT_IN_STATUSES.items() if settings.get(session, key) == status_id]
    if built_in:
        raise Invalid(f"{status.name} is built in ({', '.join(built_in)}): it cannot be deleted.")
    uses = {
        "ticket": count(session, Ticket, Ticket.status_id == status_id),
        "status that reopens as it": count(session, Status, Status.reopen_status_id == status_id),
    }
    refuse_in_use(status.name, uses, "give them another status first")
    session.delete(status)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.STATUS, status_id, status.name)


# --- priorities ---------------------------------------------------------------------------------------------------


def _priority_form(priority: Priority) -> PriorityForm:
    return PriorityForm(priority.name, priority.level, priority.colour, priority.is_default)


def _shown_priority(form: PriorityForm) -> dict[str, Shown]:
    default = "yes" if form.is_default else "no"
    return {"name": form.name, "level": str(form.level), "colour": form.colour, "default": default}


@query
def list_priorities(session: Session, actor: Actor) -> list[Ref]:
    """The priorities, by level."""
    require_admin(actor)
    return listing(session, Priority, Priority.level)


@query
def get_priority(session: Session, actor: Actor, priority_id: int) -> PriorityDetails:
    """A priority to edit: its name, colour and level."""
    require_admin(actor)
    priority = get_row(session, Priority, priority_id)
    return PriorityDetails(
        priority.id, _priority_form(priority), count(session, Ticket, Ticket.priority_id == priority_id)
    )


@command
def save_priority(session: Session, actor: Actor, priority_id: int | None, form: PriorityForm) -> PriorityDetails:
    """Create or change a priority: its name, its level (higher is more urgent; queues sort by it) and colour; the
    default one goes to new tickets that get none from their topic."""
    require_admin(actor)
    name = unique_name(session, Priority, form.name, priority_id, "priority")
    errors = {}
    if not 1 <= form.level <= 100:
        errors["level"] = "Give a level from 1 to 100."
    elif session.scalar(select(Priority.name).where(Priority.level == form.level, Priority.id != (priority_id or 0))):
        errors["level"] = f"Another priority has level {form.level}: each level is one priority's."
    if not COLOUR.match(form.colour):
        errors["colour"] = "Give a colour as #rrggbb, e.g. #c0392b."
    if priority_id is not None and not form.is_default and get_row(session, Priority, priority_id).is_default:
        errors["is_default"] = "Make another priority the default instead: one always is."
    _fail(errors)
    form = PriorityForm(name, form.level, form.colour.lower(), form.is_default)
    priority, before = to_save(session, Priority, priority_id, lambda p: _shown_priority(_priority_form(p)))
    if form.is_default:
        session.execute(update(Priority).where(Priority.id != (priority_id or 0)).values(is_default=False))
    priority.name, priority.level, priority.colour, priority.is_default = name, form.level, form.colour, form.is_default
    session.flush()
    # Tickets keep a copy of their priority's level for sorting their queues.
    session.execute(update(Ticket).where(Ticket.priority_id == priority.id).values(priority_level=form.level))
    audit_save(session, actor, priority_id, AuditKind.PRIORITY, priority.id, name, before, _shown_priority(form))
    return PriorityDetails(priority.id, form, count(session, Ticket, Ticket.priority_id == priority.id))


@command
def delete_priority(session: Session, actor: Actor, priority_id: int) -> None:
    """Delete a priority that is not the default and that no ticket or help topic uses."""
    require_admin(actor)
    priority = get_row(session, Priority, priority_id)
    if priority.is_default:
        raise Invalid(f"{priority.name} is the default priority: make another the default first.")
    uses = {
        "ticket": count(session, Ticket, Ticket.priority_id == priority_id),
        "help topic": count(session, HelpTopic, HelpTopic.priority_id == priority_id),
    }
    refuse_in_use(priority.name, uses, "give them another priority first")
    session.delete(priority)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.PRIORITY, priority_id, priority.name)


# --- settings -----------------------------------------------------------------------------------------------------

# Each setting of the form: its key in desk.services.settings, the limits of its value, and its words.
NUMBERS = {
    "autoclose_days": ("ticket.autoclose_days", 0, 3650, "days"),
    "lock_minutes": ("ticket.lock_minutes", 0, 120, "minutes"),
    "attachment_max_mb": ("attachments.max_bytes", 1, 100, "MB"),
    "login_max_failures": ("login.max_failures", 3, 100, "attempts"),
    "login_lockout_minutes": ("login.lockout_minutes", 1, 1440, "minutes"),
    "session_idle_hours": ("sessions.idle_hours", 1, 720, "hours"),
    "session_max_days": ("sessions.max_days", 1, 365, "days"),
}


def _settings(session: Session) -> DeskSettings:
    values = {field: int(settings.get(session, key)) for field, (key, *_) in NUMBERS.items()}
    values["attachment_max_mb"] = max(1, values["attachment_max_mb"] // MEGABYTE)
    return DeskSettings(
        number_format=str(settings.get(session, "ticket.number_format")),
        number_mode=str(settings.get(session, "ticket.number_mode")),
        default_department_id=settings.get(session, "ticket.default_department_id"),
        default_sla_id=settings.get(session, "ticket.default_sla_id"),
        attachment_types=reference.rules(session).types,
        **values,
    )


def _shown_settings(session: Session, form: DeskSettings) -> dict[str, Shown]:
    department = names_of(session, Department, [form.default_department_id])
    plan = names_of(session, SlaPlan, [form.default_sla_id])
    return {
        "ticket numbers": f"{form.number_format} ({form.number_mode})",
        "default department": department.get(form.default_department_id or 0),
        "default SLA plan": plan.get(form.default_sla_id or 0),
        **{field.replace("_", " "): f"{getattr(form, field)} {unit}" for field, (_, _, _, unit) in NUMBERS.items()},
        "attachment types": attachments.types_text(form.attachment_types),
    }


def _types_problem(types: tuple[str, ...]) -> str | None:
    """What is wrong with a list of attachment types, in words; None when nothing is."""
    wrong = [text for text in types if not attachments.is_type(text)]
    if wrong:
        return f"“{wrong[0][:40]}” is not a file type: give what names end in after the last dot, e.g. pdf, png, docx."
    if len(types) > attachments.MAX_TYPES:
        return f"List at most {attachments.MAX_TYPES} types."
    return None


@query
def get_settings(session: Session, actor: Actor) -> DeskSettings:
    """The help desk's settings."""
    require_admin(actor)
    return _settings(session)


@command
def save_settings(session: Session, actor: Actor, form: DeskSettings) -> DeskSettings:
    """Change the help desk's settings: ticket numbers, defaults for new tickets, closing resolved tickets, reply
    locks, the attachment size and types, sign-in lockout and how long agents' sessions last."""
    require_admin(actor)
    errors = {}
    if (problem := numbers.validate_format(form.number_format)) is not None or not is_one_line(form.number_format):
        errors["number_format"] = problem or "Use one line."
    if form.number_mode not in ("random", "sequence"):
        errors["number_mode"] = "Numbers are drawn at random or counted in sequence."
    for field, (_, least, most, unit) in NUMBERS.items():
        if not least <= getattr(form, field) <= most:
            errors[field] = f"Give {least:,} to {most:,} {unit}."
    if form.default_department_id is None:
        errors["default_department_id"] = "Choose the department of tickets that come without one."
    types = tuple(dict.fromkeys(attachments.normal_type(text) for text in form.attachment_types))
    if (problem := _types_problem(types)) is not None:
        errors["attachment_types"] = problem
    _fail(errors)
    known(session, Department, [form.default_department_id], "default_department_id", "department")
    known(session, SlaPlan, [form.default_sla_id], "default_sla_id", "SLA plan")
    before = _shown_settings(session, _settings(session))
    settings.put(session, "ticket.number_format", form.number_format)
    settings.put(session, "ticket.number_mode", form.number_mode)
    settings.put(session, "ticket.default_department_id", form.default_department_id)
    settings.put(session, "ticket.default_sla_id", form.default_sla_id)
    settings.put(session, "attachments.types", list(types))
    for field, (key, *_) in NUMBERS.items():
        value = getattr(form, field)
        settings.put(session, key, value * MEGABYTE if field == "attachment_max_mb" else value)
    changes = differences(before, _shown_settings(session, replace(form, attachment_types=types)))
    if changes:
        audit.record(session, actor, AuditAction.CHANGED, AuditKind.SETTINGS, None, "Settings", changes)
    return _settings(session)
