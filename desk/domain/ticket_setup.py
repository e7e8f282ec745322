"""What an administrator sets about tickets: SLA plans, business-hours schedules with their holidays, help topics,
statuses, priorities and the help desk's settings; the forms the editors send and the views they get back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from desk.domain.enums import StatusState


@dataclass(frozen=True)
class SlaForm:
    name: str
    resolution_hours: float
    first_response_hours: float | None = None  # None: no first-response target
    schedule_id: int | None = None  # None: around the clock (or the department's hours, when it has some)
    active: bool = True
    grace_minutes: int = 0  # past a due time before a ticket is flagged overdue; the due time stays as shown


@dataclass(frozen=True)
class DuePreview:
    """When a ticket opened at `opened` under a plan would be due."""

    opened: datetime
    first_response: datetime | None
    resolution: datetime


@dataclass(frozen=True)
class SlaDetails:
    id: int
    form: SlaForm
    open_tickets: int


@dataclass(frozen=True, order=True)
class Interval:
    """Business hours on a weekday (0 = Monday), minutes after local midnight."""

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class HolidayForm:
    day: date
    name: str


@dataclass(frozen=True)
class ScheduleForm:
    name: str
    timezone: str
    hours: tuple[Interval, ...] = ()
    holidays: tuple[HolidayForm, ...] = ()


@dataclass(frozen=True)
class ScheduleDetails:
    id: int
    form: ScheduleForm
    plans: int  # SLA plans and departments timed by it
    departments: int


@dataclass(frozen=True)
class TopicForm:
    name: str
    department_id: int
    parent_id: int | None = None
    priority_id: int | None = None
    sla_id: int | None = None
    assign_agent_id: int | None = None
    assign_team_id: int | None = None
    public: bool = True
    active: bool = True


@dataclass(frozen=True)
class TopicDetails:
    id: int
    form: TopicForm
    full_name: str
    tickets: int


@dataclass(frozen=True)
class StatusForm:
    name: str
    state: StatusState
    pauses_sla: bool = False
    on_hold: bool = False
    allows_reopen: bool = False
    reopen_status_id: int | None = None
    sort: int = 0


@dataclass(frozen=True)
class StatusDetails:
    id: int
    form: StatusForm
    tickets: int


@dataclass(frozen=True)
class PriorityForm:
    name: str
    level: int
    colour: str
    is_default: bool = False


@dataclass(frozen=True)
class PriorityDetails:
    id: int
    form: PriorityForm
    tickets: int


@dataclass(frozen=True)
class DeskSettings:
    """The help desk's settings an administrator changes (desk.services.settings keeps them)."""

    number_format: str  # "#" is a digit: "######" gives 6-digit ticket numbers
    number_mode: str  # "random" or "sequence"
    default_department_id: int | None
    default_sla_id: int | None
    autoclose_days: int  # a resolved ticket closes by itself after this many days (0: never)
    lock_minutes: int  # how long a reply lock lasts without typing
    attachment_max_mb: int
    attachment_types: tuple[str, ...]  # extensions a file may have, e.g. ("pdf", "png"); empty: any type
    login_max_failures: int
    login_lockout_minutes: int
    session_idle_hours: int
    session_max_days: int


@dataclass(frozen=True)
class CannedForm:
    title: str
    body: str  # with variables such as %{ticket.number}, filled in when an agent inserts it
    department_id: int | None = None  # None: every department's
    active: bool = True
    personal: bool = False  # the saving agent's own: only they see and insert it (in any department)


@dataclass(frozen=True)
class CannedDetails:
    id: int
    form: CannedForm
    updated_at: datetime


@dataclass(frozen=True)
class CannedText:
    """A canned response as the composer offers it on one ticket: its title, and its text with that ticket's
    values filled in (plain text, as the administrator typed it)."""

    id: int
    title: str
    text: str
