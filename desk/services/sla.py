"""Due times of a ticket from its SLA plan and business hours, and the clock stopping while a status pauses it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain import sla
from desk.domain.enums import StatusState
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


def clock_hours(session: Session, ticket: Ticket) -> sla.Schedule | None:
    """The business hours the ticket's clock runs in; around the clock without an SLA plan."""
    plan = session.get(SlaPlan, ticket.sla_id) if ticket.sla_id else None
    return ticket_hours(session, ticket, plan) if plan else None


def on_status_change(session: Session, ticket: Ticket, old: Status, new: Status, at: datetime) -> None:
    """Stop the clock when entering a pausing status; on leaving it, move the deadlines by the paused business time.

    The reports' measures move with it: the paused time adds up, leaving the open state measures the resolution,
    and the time a ticket spent closed counts as paused once it is reopened.
    """
    if new.pauses_sla and not old.pauses_sla:
        ticket.sla_paused_at = at
    elif old.pauses_sla and not new.pauses_sla and ticket.sla_paused_at is not None:
        hours = clock_hours(session, ticket)
        paused_at = ticket.sla_paused_at
        if ticket.first_response_due is not None:
            ticket.first_response_due = sla.resume_due(ticket.first_response_due, paused_at, at, hours)
        if ticket.resolution_due is not None:
            ticket.resolution_due = sla.resume_due(ticket.resolution_due, paused_at, at, hours)
        ticket.paused_seconds = _paused(ticket) + _seconds(sla.business_time_between(paused_at, at, hours))
        ticket.sla_paused_at = None
    if old.state == StatusState.OPEN and new.state != StatusState.OPEN:
        ticket.resolution_seconds = _active_seconds(session, ticket, at)
        ticket.resolution_met = None if ticket.resolution_due is None else at <= ticket.resolution_due
    elif old.state != StatusState.OPEN and new.state == StatusState.OPEN and ticket.closed_at is not None:
        closed = sla.business_time_between(ticket.closed_at, at, clock_hours(session, ticket))
        ticket.paused_seconds = _paused(ticket) + _seconds(closed)
    refresh_due(ticket)


def on_first_response(session: Session, ticket: Ticket, at: datetime) -> None:
    """Record the first reply: when, how long it took in business time, and whether it met its target."""
    ticket.first_responded_at = at
    ticket.first_response_seconds = _active_seconds(session, ticket, at)
    due = ticket.first_response_due
    if due is not None and ticket.sla_paused_at is not None:  # the clock stopped: the due moves on resuming
        due = sla.resume_due(due, ticket.sla_paused_at, at, clock_hours(session, ticket))
    ticket.first_response_met = None if due is None else at <= due


def _active_seconds(session: Session, ticket: Ticket, at: datetime) -> int:
    """Business seconds from the opening to `at` that the ticket was neither paused nor closed."""
    hours = clock_hours(session, ticket)
    pausing = sla.business_time_between(ticket.sla_paused_at, at, hours) if ticket.sla_paused_at else timedelta(0)
    return _seconds(sla.business_time_between(ticket.created_at, at, hours) - pausing) - _paused(ticket)


def _paused(ticket: Ticket) -> int:
    return ticket.paused_seconds or 0  # None on a ticket not yet inserted


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())
