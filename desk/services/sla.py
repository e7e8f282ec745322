"""Due times of a ticket from its SLA plan and business hours, and the clock stopping while a status pauses it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain import sla
from desk.storage.models import NO_DUE, Department, Holiday, Schedule, ScheduleHours, SlaPlan, Status, Ticket


def _clock(minute: int) -> time:
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)  # 00:00 as an end means 24:00


def schedule(session: Session, schedule_id: int | None) -> sla.Schedule | None:
    """The domain schedule for a business-hours row; None (24x7) when the plan has none."""
    if schedule_id is None:
        return None
    row = session.get(Schedule, schedule_id)
    if row is None:
        return None
    intervals = session.execute(
        select(ScheduleHours.weekday, ScheduleHours.start_minute, ScheduleHours.end_minute).where(
            ScheduleHours.schedule_id == schedule_id
        )
    )
    holidays = session.scalars(select(Holiday.day).where(Holiday.schedule_id == schedule_id))
    return schedule_of(row.timezone, intervals, holidays)


def schedule_of(timezone: str, intervals: Iterable[tuple[int, int, int]], holidays: Iterable[date]) -> sla.Schedule:
    """The domain schedule of (weekday, start minute, end minute) intervals and holidays in a time zone."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in sorted(tuple(i) for i in intervals):
        hours.setdefault(weekday, []).append((_clock(start), _clock(end)))
    return sla.Schedule(
        tz=timezone, hours={day: tuple(spans) for day, spans in hours.items()}, holidays=frozenset(holidays)
    )


def ticket_hours(session: Session, ticket: Ticket, plan: SlaPlan) -> sla.Schedule | None:
    """The business hours a ticket's clock runs in: its plan's, else its department's, else around the clock."""
    if plan.schedule_id is not None:
        return schedule(session, plan.schedule_id)
    department = session.get(Department, ticket.department_id)
    return schedule(session, department.schedule_id if department else None)


def start_clock(session: Session, ticket: Ticket, start: datetime) -> None:
    """Set both due times from `start` by the ticket's SLA plan (none without a plan)."""
    plan = session.get(SlaPlan, ticket.sla_id) if ticket.sla_id else None
    if plan is None:
        ticket.first_response_due = ticket.resolution_due = None
    else:
        hours = ticket_hours(session, ticket, plan)
        ticket.first_response_due = (
            sla.add_business_time(start, timedelta(hours=plan.first_response_hours), hours)
            if plan.first_response_hours is not None and ticket.first_responded_at is None
            else None
        )
        ticket.resolution_due = sla.add_business_time(start, timedelta(hours=plan.resolution_hours), hours)
    refresh_due(ticket)


def refresh_due(ticket: Ticket) -> None:
    """Keep `due_at`, the next deadline, in step: first response until given, then resolution."""
    first_response_pending = ticket.first_responded_at is None and ticket.first_response_due is not None
    ticket.due_at = (ticket.first_response_due if first_response_pending else ticket.resolution_due) or NO_DUE


def on_status_change(session: Session, ticket: Ticket, old: Status, new: Status, at: datetime) -> None:
    """Stop the clock when entering a pausing status; on leaving it, move the deadlines by the paused business time."""
    if new.pauses_sla and not old.pauses_sla:
        ticket.sla_paused_at = at
    elif old.pauses_sla and not new.pauses_sla and ticket.sla_paused_at is not None:
        plan = session.get(SlaPlan, ticket.sla_id) if ticket.sla_id else None
        hours = ticket_hours(session, ticket, plan) if plan else None
        paused_at = ticket.sla_paused_at
        if ticket.first_response_due is not None:
            ticket.first_response_due = sla.resume_due(ticket.first_response_due, paused_at, at, hours)
        if ticket.resolution_due is not None:
            ticket.resolution_due = sla.resume_due(ticket.resolution_due, paused_at, at, hours)
        ticket.sla_paused_at = None
    refresh_due(ticket)
