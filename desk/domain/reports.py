"""What the reports count and how: kinds, groupings, filters, periods in the viewer's time zone, percentiles.

Pure rules, no I/O: `desk.services.reports` runs the queries; this says what a period is and how a median is
taken, so the figures mean the same in the window, the API and the tests.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from desk.domain.enums import TicketSource

# The most periods one report lists (a day per row for a year and a month fits; longer ranges go by week or month).
MAX_PERIODS = 400
# The most tickets a click on a figure opens as a queue.
MAX_DRILL = 10_000


class ReportKind(enum.StrEnum):
    VOLUME = "volume"
    RESPONSIVENESS = "responsiveness"
    SLA = "sla"
    BACKLOG = "backlog"
    AGENTS = "agents"
    SATISFACTION = "satisfaction"


class Grouping(enum.StrEnum):
    """What a report's rows are: periods of the range, or the values of a ticket's field."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    DEPARTMENT = "department"
    TOPIC = "topic"
    CHANNEL = "channel"
    AGENT = "agent"
    TEAM = "team"
    ORGANIZATION = "organization"
    PLAN = "plan"
    AGE = "age"  # the backlog's: how long open tickets have been open

    @property
    def is_period(self) -> bool:
        return self in (Grouping.DAY, Grouping.WEEK, Grouping.MONTH)


# Each report's columns (measure keys), in order; the backlog by age has one column per status instead.
COLUMNS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.VOLUME: ("opened", "resolved", "closed", "reopened"),
    ReportKind.RESPONSIVENESS: (
        "first_responses",
        "first_response_median",
        "first_response_p90",
        "resolutions",
        "resolution_median",
        "resolution_p90",
    ),
    ReportKind.SLA: ("first_response_met", "first_response_missed", "resolution_met", "resolution_missed"),
    ReportKind.BACKLOG: ("opened", "done", "open"),
    ReportKind.AGENTS: ("handled", "replies", "minutes", "ratings", "csat"),
    ReportKind.SATISFACTION: ("ratings", "average", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5"),
}

# The groupings each report offers, the first being its default.
GROUPINGS: dict[ReportKind, tuple[Grouping, ...]] = {
    ReportKind.VOLUME: tuple(g for g in Grouping if g not in (Grouping.PLAN, Grouping.AGE)),
    ReportKind.RESPONSIVENESS: tuple(g for g in Grouping if g not in (Grouping.PLAN, Grouping.AGE)),
    ReportKind.SLA: (Grouping.PLAN, Grouping.DEPARTMENT, Grouping.DAY, Grouping.WEEK, Grouping.MONTH),
    ReportKind.BACKLOG: (Grouping.AGE, Grouping.DAY, Grouping.WEEK, Grouping.MONTH),
    ReportKind.AGENTS: (Grouping.AGENT,),
    ReportKind.SATISFACTION: (Grouping.AGENT, Grouping.DEPARTMENT, Grouping.DAY, Grouping.WEEK, Grouping.MONTH),
}

# The backlog's age buckets: (key, lower bound in days, upper bound in days or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1", 0, 1),
    ("1-3", 1, 3),
    ("3-7", 3, 7),
    ("7-30", 7, 30),
    ("30+", 30, None),
)


@dataclass(frozen=True)
class ReportQuery:
    """A report asked for: kind, rows, the days of the range (both included, in `tz`), and filters.

    Empty filters mean all (within the departments the agent may see); a filter matches any of its values.
    """

    kind: ReportKind
    grouping: Grouping
    start: date
    end: date
    tz: str = "UTC"
    department_ids: tuple[int, ...] = ()
    topic_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    sources: tuple[TicketSource, ...] = ()

    def problem(self) -> str | None:
        """What is wrong with the query, in words that say what to change; None when it can run."""
        if self.grouping not in GROUPINGS[self.kind]:
            return f"The {self.kind.value} report cannot be grouped by {self.grouping.value}."
        if self.end < self.start:
            return "The range ends before it starts: choose an end on or after the start."
        try:
            ZoneInfo(self.tz)
        except (ValueError, KeyError):
            return f"Unknown time zone {self.tz!r}."
        if self.grouping.is_period and len(periods(self)) > MAX_PERIODS:
            return f"More than {MAX_PERIODS} {self.grouping.value}s: choose a shorter range or longer periods."
        return None

    @property
    def span(self) -> tuple[datetime, datetime]:
        """The range as UTC instants, start included and end excluded."""
        return local_midnight(self.start, self.tz), local_midnight(self.end + timedelta(days=1), self.tz)


@dataclass(frozen=True)
class ReportRow:
    key: str  # the group: a period's first day (ISO), a field's id ("" for none), a channel, an age bucket
    label: str
    values: tuple[float | int | None, ...]


@dataclass(frozen=True)
class ReportComment:
    """A requester's comment with their rating (the satisfaction report)."""

    ticket_id: int
    number: str
    rating: int
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class ReportTable:
    """A report's figures: one row per group, one value per column; durations in hours of business time."""

    query: ReportQuery
    columns: tuple[str, ...]
    column_labels: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    total: ReportRow | None = None
    comments: tuple[ReportComment, ...] = field(default=())


# What each column is called in the window, the printout and the API's CSV header.
COLUMN_LABELS: dict[str, str] = {
    "opened": "Opened",
    "resolved": "Resolved",
    "closed": "Closed",
    "reopened": "Reopened",
    "first_responses": "First replies",
    "first_response_median": "Reply median (h)",
    "first_response_p90": "Reply 90% (h)",
    "resolutions": "Resolutions",
    "resolution_median": "Resolution median (h)",
    "resolution_p90": "Resolution 90% (h)",
    "first_response_met": "Reply met",
    "first_response_missed": "Reply missed",
    "resolution_met": "Resolution met",
    "resolution_missed": "Resolution missed",
    "done": "Resolved or closed",
    "open": "Open at the end",
    "handled": "Tickets replied to",
    "replies": "Replies",
    "minutes": "Time spent (min)",
    "ratings": "Ratings",
    "csat": "Average rating",
    "average": "Average rating",
    **{f"stars_{n}": f"{n} star{'s' if n > 1 else ''}" for n in range(1, 6)},
}


def local_midnight(day: date, tz: str) -> datetime:
    """The UTC instant a local day starts (its first moment, when midnight itself was skipped)."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)  # fold 0: the first, or the change


def period_start(day: date, grouping: Grouping) -> date:
    if grouping == Grouping.WEEK:
        return day - timedelta(days=day.weekday())
    if grouping == Grouping.MONTH:
        return day.replace(day=1)
    return day


def periods(query: ReportQuery) -> list[tuple[date, datetime, datetime]]:
    """The range's periods: (first day, UTC start, UTC end), the first and last cut to the range."""
    firsts: list[date] = []
    day = period_start(query.start, query.grouping)
    while day <= query.end:
        firsts.append(day)
        if query.grouping == Grouping.WEEK:
            day += timedelta(days=7)
        elif query.grouping == Grouping.MONTH:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day += timedelta(days=1)
        if len(firsts) > MAX_PERIODS:
            break
    bounds = [max(first, query.start) for first in firsts] + [query.end + timedelta(days=1)]
    moments = [local_midnight(day, query.tz) for day in bounds]
    return [(firsts[i], moments[i], moments[i + 1]) for i in range(len(firsts))]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least `fraction` of them at or below it);
    the median is fraction 0.5. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, to two decimals, as reports show durations."""
    return None if seconds is None else round(seconds / 3600, 2)
