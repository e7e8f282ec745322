"""Reference data every new Desk database starts with (administrators edit it afterwards)."""

from __future__ import annotations

from alembic import command as alembic_command
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.enums import StatusState
from desk.domain.permissions import Perm
from desk.services import settings
from desk.storage.db import Database, alembic_config
from desk.storage.models import Department, Priority, Role, RolePermission, Schedule, ScheduleHours, SlaPlan, Status

PRIORITIES = (("Low", 1, "#5b8a72"), ("Normal", 2, "#4a6fa5"), ("High", 3, "#d08a2e"), ("Emergency", 4, "#c0392b"))

# name, state, pauses the SLA clock, counts as on hold
STATUSES = (
    ("Open", StatusState.OPEN, False, False),
    ("On hold", StatusState.OPEN, False, True),
    ("Pending", StatusState.OPEN, True, True),
    ("Resolved", StatusState.CLOSED, False, False),
    ("Closed", StatusState.CLOSED, False, False),
    ("Archived", StatusState.ARCHIVED, False, False),
    ("Deleted", StatusState.DELETED, False, False),
)

ROLES: dict[str, frozenset[Perm]] = {
    "All access": frozenset(Perm),
    "Expanded access": frozenset(Perm) - {Perm.TICKET_DELETE, Perm.THREAD_EDIT},
    "Limited access": frozenset({Perm.TICKET_CREATE, Perm.TICKET_REPLY, Perm.TICKET_ASSIGN, Perm.TICKET_CLOSE}),
    "View only": frozenset(),
}


def install_defaults(session: Session, *, timezone: str = "UTC") -> None:
    """Priorities, statuses, roles, a business-hours schedule, the Default SLA plan and a Support department."""
    if session.scalar(select(Status.id).limit(1)) is not None:
        return
    for name, level, colour in PRIORITIES:
        session.add(Priority(name=name, level=level, colour=colour, is_default=name == "Normal"))
    statuses = {
        name: Status(name=name, state=state.value, pauses_sla=pauses, on_hold=hold, sort=sort)
        for sort, (name, state, pauses, hold) in enumerate(STATUSES)
    }
    session.add_all(statuses.values())
    session.flush()
    for status in statuses.values():
        status.allows_reopen = status.state == StatusState.CLOSED
        status.reopen_status_id = statuses["Open"].id if status.allows_reopen else None
    for role_name, perms in ROLES.items():
        role = Role(name=role_name)
        role.permissions = [RolePermission(permission=perm.value) for perm in sorted(perms)]
        session.add(role)
    schedule = Schedule(name="Business hours", timezone=timezone)
    schedule.hours = [ScheduleHours(weekday=day, start_minute=9 * 60, end_minute=17 * 60) for day in range(5)]
    schedule.holidays = []
    session.add(schedule)
    default_sla = SlaPlan(name="Default", first_response_hours=18, resolution_hours=48, schedule_id=None)
    session.add(default_sla)
    session.flush()
    support = Department(name="Support", sla_id=default_sla.id)
    session.add(support)
    session.flush()
    settings.put(session, "ticket.default_status_id", statuses["Open"].id)
    settings.put(session, "ticket.resolved_status_id", statuses["Resolved"].id)
    settings.put(session, "ticket.closed_status_id", statuses["Closed"].id)
    settings.put(session, "ticket.default_department_id", support.id)
    settings.put(session, "ticket.default_sla_id", default_sla.id)


def upgrade_database(db: Database) -> None:
    """Bring the schema to this Desk's version, and give a new database its reference data: `desk db upgrade`, and
    a new help desk file the window makes."""
    alembic_command.upgrade(alembic_config(db.engine.url), "head")
    with db.transaction() as session:
        install_defaults(session)
