"""Reports for supervisors: volume, responsiveness, SLA compliance, backlog, agents and satisfaction.

Each figure is an indexed range query over the rows that record what happened: tickets by opening, first reply
and closing; status events by kind and time; replies and time spent by agent and time; feedback by time. The
business-time measures a query cannot work out (first reply and resolution with Pending left out, targets met)
were written on the ticket by the SLA clock in the ticket's own transaction (`desk.services.sla`), so reports never
replay a ticket's history. Why not tallies per day, as the sidebar counts have: a day's boundaries are the viewer's
(their time zone), medians need the values rather than counts, and a tally per day and each of seven fields holds
about as many rows as the tickets themselves.

Periods are the viewer's local days, weeks (from Monday) and months, in any time zone: rows are counted per UTC
slot in SQL, a slot being as long as the periods' bounds allow (a day for UTC days, an hour in Paris, half an hour
in Kolkata), and the slots add up to their periods in Python; one GROUP BY on the moment's index, as a person would
write for UTC days.

Agents with the right to see reports see the tickets of their departments (administrators: all), whoever they are
assigned to; the figures count tickets as they are now (a ticket moved to another department counts there).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from desk.domain import reports
from desk.domain.enums import EntryKind, EventKind, StatusState, TicketSource
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import Actor, AgentActor, Right
from desk.domain.reports import (
    AGE_BUCKETS,
    COLUMN_LABELS,
    COLUMNS,
    MAX_DRILL,
    Grouping,
    ReportComment,
    ReportKind,
    ReportQuery,
    ReportRow,
    ReportTable,
)
from desk.services.base import now, query, require_agent
from desk.storage.models import (
    Agent,
    Department,
    Feedback,
    HelpTopic,
    Organization,
    SlaPlan,
    Status,
    Team,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    User,
)

AnySelect = Select[*tuple[Any, ...]]
MAX_COMMENTS = 200  # the satisfaction report's latest comments

_FIELDS: dict[Grouping, Any] = {
    Grouping.DEPARTMENT: Ticket.department_id,
    Grouping.TOPIC: Ticket.topic_id,
    Grouping.CHANNEL: Ticket.source,
    Grouping.AGENT: Ticket.assignee_id,
    Grouping.TEAM: Ticket.team_id,
    Grouping.ORGANIZATION: User.organization_id,
    Grouping.PLAN: Ticket.sla_id,
}
# Names of each field's values, and what its "none" is called.
_NAMES: dict[Grouping, tuple[Any, str]] = {
    Grouping.DEPARTMENT: (Department, "No department"),
    Grouping.TOPIC: (HelpTopic, "No help topic"),
    Grouping.AGENT: (Agent, "Unassigned"),
    Grouping.TEAM: (Team, "No team"),
    Grouping.ORGANIZATION: (Organization, "No organization"),
    Grouping.PLAN: (SlaPlan, "No SLA plan"),
}
_CHANNELS = {
    TicketSource.WEB.value: "Web",
    TicketSource.EMAIL.value: "Email",
    TicketSource.PHONE.value: "Phone",
    TicketSource.OTHER.value: "Other",
}
# Columns that summarise values (blank when there are none) rather than count rows.
_SUMMARIES = frozenset(
    {"first_response_median", "first_response_p90", "resolution_median", "resolution_p90", "csat", "average"}
)
_EVENTS = {"resolved": EventKind.RESOLVED, "closed": EventKind.CLOSED, "reopened": EventKind.REOPENED}


@dataclass(frozen=True)
class _Source:
    """The rows a column counts: one per ticket, event, entry or rating, placed in a period by `moment`."""

    root: Any  # the table the rows come from, joined to its ticket unless it is Ticket
    moment: Any
    where: tuple[ColumnElement[bool], ...] = ()
    value: Any = None  # what is summed or summarised (None: the rows are counted)
    agent: Any = field(default_factory=lambda: Ticket.assignee_id)  # whose row it is (the author, for replies)
    ranged: bool = True  # False: a snapshot of now (the backlog by age), not rows of the range
    aggregate: str = "count"  # count | distinct (tickets) | sum | values | flags | replies: see _aggregates
    extra: tuple[ColumnElement[bool], ...] = field(default=())


def _may_see_reports(actor: Actor) -> AgentActor:
    agent = require_agent(actor)
    if not agent.is_admin and Right.REPORTS_VIEW not in agent.rights:
        raise PermissionDenied("Seeing the reports needs the reports right; ask an administrator for it.")
    return agent


def _checked(agent: AgentActor, report: ReportQuery) -> None:
    problem = report.problem()
    if problem is not None:
        raise Invalid(problem)
    outside = [d for d in report.department_ids if not agent.is_admin and d not in agent.departments]
    if outside:
        raise PermissionDenied("You may see the reports of your own departments only.")


def _conditions(agent: AgentActor, report: ReportQuery, source: _Source) -> list[ColumnElement[bool]]:
    """The agent's departments and the report's filters, over the source's ticket (and its agent)."""
    conditions: list[ColumnElement[bool]] = [*source.where, *source.extra]
    if not agent.is_admin:
        conditions.append(Ticket.department_id.in_(sorted(agent.departments)) if agent.departments else false())
    for column, values in (
        (Ticket.department_id, report.department_ids),
        (Ticket.topic_id, report.topic_ids),
        (Ticket.team_id, report.team_ids),
        (source.agent, report.agent_ids),
        (Ticket.source, [s.value for s in report.sources]),
    ):
        if values:
            conditions.append(column.in_(list(values)))
    if source.ranged:
        start, end = report.span
        conditions += [source.moment >= start, source.moment < end]
    return conditions


def _from(statement: AnySelect, source: _Source, grouping: Grouping | None) -> AnySelect:
    statement = statement.select_from(source.root)
    if source.root is not Ticket:
        statement = statement.join(Ticket, Ticket.id == source.root.ticket_id)
    if grouping == Grouping.ORGANIZATION:
        statement = statement.join(User, User.id == Ticket.requester_id)
    return statement


def _slots(report: ReportQuery) -> tuple[int, list[int]]:
    """Rows are counted in UTC slots as long as the greatest common divisor of the periods' bounds (a day in
    UTC, an hour in Paris, half an hour in Kolkata), so each slot lies in one period: (slot seconds, each period's
    first slot, then the end's)."""
    bounds = [int(lo.timestamp()) for _first, lo, _hi in reports.periods(report)] + [int(report.span[1].timestamp())]
    size = math.gcd(*bounds)
    return size, [bound // size for bound in bounds]


def _slot(session: Session, moment: Any, size: int) -> Any:
    """The UTC slot of a moment: its seconds since 1970 (stored naive UTC) divided by the slot's, on each engine."""
    dialect = session.connection().dialect.name
    if dialect == "sqlite":
        seconds: Any = cast(func.strftime("%s", moment), BigInteger)
    elif dialect == "postgresql":
        seconds = cast(func.floor(func.extract("epoch", moment)), BigInteger)
    else:
        seconds = func.timestampdiff(literal_column("SECOND"), literal_column("'1970-01-01'"), moment)
    return seconds // literal(size, BigInteger, literal_execute=True)


def _group_column(report: ReportQuery, source: _Source, grouping: Grouping) -> Any:
    if grouping == Grouping.AGENT:
        return source.agent
    if grouping == Grouping.AGE:
        moment, cases = now(), []
        for key, _low, high in AGE_BUCKETS:
            if high is not None:
                cases.append((Ticket.created_at > moment - timedelta(days=high), literal(key)))
        return case(*cases, else_=literal(AGE_BUCKETS[-1][0]))
    return _FIELDS[grouping]


def _collect(
    session: Session, agent: AgentActor, report: ReportQuery, source: _Source, grouping: Grouping | None
) -> dict[str, Any]:
    """The source's aggregate per group key (a period's index as text, a field's value, "" for none)."""
    aggregates = _aggregates(source)
    conditions = _conditions(agent, report, source)
    statement: AnySelect
    if grouping is None:  # one figure for all the rows
        statement = _from(select(*aggregates), source, None).where(*conditions)
        if source.aggregate == "values":
            return {"": list(session.scalars(statement))}
        return {"": _figure(session.execute(statement).one())}
    if grouping.is_period:
        if source.aggregate in ("distinct", "replies"):
            raise AssertionError("distinct tickets do not add up over a period's slots")
        size, starts = _slots(report)
        key: Any = _slot(session, source.moment, size)
        period: Callable[[Any], str] = lambda slot: str(bisect.bisect_right(starts, slot) - 1)  # noqa: E731
    else:
        key = _group_column(report, source, grouping)
        period = _key
    statement = _from(select(key, *aggregates), source, grouping).where(*conditions)
    rows = session.execute(statement if source.aggregate == "values" else statement.group_by(key))
    if source.aggregate == "values":
        found: dict[str, Any] = defaultdict(list)
        for k, v in rows:
            found[period(k)].append(v)
    else:
        found = {}
        for k, *figures in rows:  # the slots of a period add up to its figures
            here = _figure(figures)
            before = found.get(period(k))
            found[period(k)] = here if before is None else _added(before, here)
    return dict(found)


def _aggregates(source: _Source) -> tuple[Any, ...]:
    """What `_collect` selects per group for the source's kind of aggregate."""
    if source.aggregate == "values":
        return (source.value,)
    if source.aggregate == "sum":
        return (func.coalesce(func.sum(source.value), 0),)
    if source.aggregate == "flags":  # a flag's rows that are true and false, in one pass
        return tuple(func.sum(case((source.value.is_(flag), 1), else_=0)) for flag in (True, False))
    if source.aggregate == "replies":  # the rows, and the tickets they are on
        return func.count(), func.count(Ticket.id.distinct())
    if source.aggregate == "distinct":
        return (func.count(Ticket.id.distinct()),)
    return (func.count(),)


def _figure(values: Sequence[Any]) -> Any:
    """One aggregate's figure, or a tuple of several (engines sum to decimals: figures are ints)."""
    figures = tuple(int(v or 0) for v in values)
    return figures[0] if len(figures) == 1 else figures


def _added(one: Any, other: Any) -> Any:
    return tuple(a + b for a, b in zip(one, other, strict=True)) if isinstance(one, tuple) else one + other


def _key(value: Any) -> str:
    return "" if value is None else str(value)


# --- what each column counts --------------------------------------------------------------------------------


def _opened() -> _Source:
    return _Source(Ticket, Ticket.created_at)


def _event(kind: EventKind) -> _Source:
    return _Source(ThreadEvent, ThreadEvent.created_at, (ThreadEvent.kind == kind.value,))


def _first_responses(aggregate: str = "values", *extra: ColumnElement[bool]) -> _Source:
    where = (Ticket.first_response_seconds.is_not(None),)
    return _Source(
        Ticket, Ticket.first_responded_at, where, Ticket.first_response_seconds, aggregate=aggregate, extra=extra
    )


def _resolutions(aggregate: str = "values", *extra: ColumnElement[bool]) -> _Source:
    where = (Ticket.resolution_seconds.is_not(None), Ticket.closed_at.is_not(None))
    return _Source(Ticket, Ticket.closed_at, where, Ticket.resolution_seconds, aggregate=aggregate, extra=extra)


def _done() -> _Source:
    return _Source(Ticket, Ticket.closed_at, (Ticket.closed_at.is_not(None),))


def _open_now(*extra: ColumnElement[bool]) -> _Source:
    return _Source(Ticket, Ticket.created_at, (Ticket.state == StatusState.OPEN.value,), ranged=False, extra=extra)


def _replies(aggregate: str) -> _Source:
    where = (ThreadEntry.kind == EntryKind.REPLY.value, ThreadEntry.agent_id.is_not(None))
    return _Source(ThreadEntry, ThreadEntry.created_at, where, agent=ThreadEntry.agent_id, aggregate=aggregate)


def _minutes() -> _Source:
    where = (ThreadEntry.minutes.is_not(None), ThreadEntry.agent_id.is_not(None))
    return _Source(
        ThreadEntry, ThreadEntry.created_at, where, ThreadEntry.minutes, agent=ThreadEntry.agent_id, aggregate="sum"
    )


def _ratings(*extra: ColumnElement[bool]) -> _Source:
    return _Source(Feedback, Feedback.created_at, value=Feedback.rating, aggregate="values", extra=extra)


def _column_source(kind: ReportKind, column: str) -> _Source:
    """The rows behind one column's figures: counted for the report, listed when the figure is clicked."""
    if kind == ReportKind.VOLUME:
        return _opened() if column == "opened" else _event(_EVENTS[column])
    if kind == ReportKind.RESPONSIVENESS:
        return _first_responses() if column.startswith("first_response") else _resolutions()
    if kind == ReportKind.SLA:
        met = column.endswith("_met")
        if column.startswith("first_response"):
            return _first_responses("count", Ticket.first_response_met.is_(met))
        return _resolutions("count", Ticket.resolution_met.is_(met))
    if kind == ReportKind.BACKLOG:
        return {"opened": _opened, "done": _done, "open": _opened}[column]()
    if kind == ReportKind.AGENTS:
        return {
            "handled": lambda: _replies("distinct"),
            "replies": lambda: _replies("count"),
            "minutes": _minutes,
            "ratings": _ratings,
            "csat": _ratings,
        }[column]()
    if column.startswith("stars_"):
        return _ratings(Feedback.rating == int(column.removeprefix("stars_")))
    return _ratings()


# --- the reports ----------------------------------------------------------------------------------------------


@query
def report(session: Session, actor: Actor, report_query: ReportQuery) -> ReportTable:
    """A report's figures, one row per period or value of the grouping, with a total row where one adds up."""
    agent = _may_see_reports(actor)
    _checked(agent, report_query)
    kind, grouping = report_query.kind, report_query.grouping
    builder: dict[ReportKind, Callable[[Session, AgentActor, ReportQuery], _Figures]] = {
        ReportKind.VOLUME: _volume,
        ReportKind.RESPONSIVENESS: _responsiveness,
        ReportKind.SLA: _sla,
        ReportKind.BACKLOG: _backlog_by_age if grouping == Grouping.AGE else _backlog_trend,
        ReportKind.AGENTS: _agents,
        ReportKind.SATISFACTION: _satisfaction,
    }
    figures = builder[kind](session, agent, report_query)
    keys = figures.keys
    if grouping.is_period:
        keys = [str(n) for n in range(len(reports.periods(report_query)))]
    labels = _labels(session, report_query, keys)
    rows = tuple(
        ReportRow(
            key=row_key, label=labels[k], values=tuple(figures.cells[k].get(c, _blank(c)) for c in figures.columns)
        )
        for k in (_order(keys, labels) if not grouping.is_period else keys)
        for row_key in [_row_key(report_query, k)]
    )
    comments = _comments(session, agent, report_query) if kind == ReportKind.SATISFACTION else ()
    return ReportTable(
        query=report_query,
        columns=figures.columns,
        column_labels=tuple(figures.labels.get(c) or COLUMN_LABELS[c] for c in figures.columns),
        rows=rows,
        total=ReportRow(key="", label="Total", values=tuple(figures.total.get(c) for c in figures.columns))
        if figures.total
        else None,
        comments=comments,
    )


@query
def report_ticket_ids(
    session: Session, actor: Actor, report_query: ReportQuery, row_key: str | None, column: str
) -> list[int]:
    """The tickets behind one figure (row None: the total), newest first, at most MAX_DRILL of them."""
    agent = _may_see_reports(actor)
    _checked(agent, report_query)
    kind, grouping = report_query.kind, report_query.grouping
    if kind == ReportKind.BACKLOG and grouping == Grouping.AGE:
        source = _open_now(Ticket.status_id == int(column))
    else:
        if column not in COLUMNS[kind]:
            raise Invalid(f"The {kind.value} report has no column {column!r}.")
        source = _column_source(kind, column)
    conditions = _conditions(agent, report_query, source)
    if kind == ReportKind.BACKLOG and column == "open":  # open at the end of the period (or of the range)
        end = _period_bounds(report_query, row_key)[1] if row_key is not None else report_query.span[1]
        source = _Source(Ticket, Ticket.created_at, ranged=False)
        conditions = [*_conditions(agent, report_query, source), Ticket.created_at < end]
        conditions.append(or_(Ticket.closed_at.is_(None), Ticket.closed_at >= end))
    elif row_key is not None:
        conditions.append(_row_condition(report_query, source, row_key))
    statement = _from(select(Ticket.id), source, grouping).where(*conditions).distinct()
    ids = session.scalars(statement.order_by(Ticket.id.desc()).limit(MAX_DRILL)).all()
    return list(ids)


@dataclass
class _Figures:
    columns: tuple[str, ...]
    keys: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    total: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # column labels that are data (status names)

    def put(self, column: str, found: dict[str, Any], total: Any) -> None:
        for key, value in found.items():
            if key not in self.cells:
                self.keys.append(key)
            self.cells[key][column] = value
        self.total[column] = total


def _blank(column: str) -> int | None:
    """A group with no rows for a column: none counted (0), or no duration or average to show (None)."""
    return None if column in _SUMMARIES else 0


def _counts(figures: _Figures, column: str, found: dict[str, int]) -> None:
    figures.put(column, found, sum(found.values()))


def _volume(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    figures = _Figures(COLUMNS[ReportKind.VOLUME])
    for column in figures.columns:
        _counts(figures, column, _collect(session, agent, report, _column_source(report.kind, column), report.grouping))
    return figures


def _responsiveness(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    figures = _Figures(COLUMNS[ReportKind.RESPONSIVENESS])
    for prefix, count, source in (
        ("first_response", "first_responses", _first_responses()),
        ("resolution", "resolutions", _resolutions()),
    ):
        found = _collect(session, agent, report, source, report.grouping)
        every = [v for values in found.values() for v in values]
        figures.put(count, {k: len(v) for k, v in found.items()}, len(every))
        for suffix, fraction in (("median", 0.5), ("p90", 0.9)):
            summary = {k: reports.hours(reports.percentile(v, fraction)) for k, v in found.items()}
            figures.put(f"{prefix}_{suffix}", summary, reports.hours(reports.percentile(every, fraction)))
    return figures


def _sla(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    figures = _Figures(COLUMNS[ReportKind.SLA])
    for prefix, moment, flag in (
        ("first_response", Ticket.first_responded_at, Ticket.first_response_met),
        ("resolution", Ticket.closed_at, Ticket.resolution_met),
    ):
        source = _Source(Ticket, moment, (flag.is_not(None),), flag, aggregate="flags")
        found = _collect(session, agent, report, source, report.grouping)
        for n, outcome in enumerate(("met", "missed")):
            _counts(figures, f"{prefix}_{outcome}", {k: v[n] for k, v in found.items()})
    return figures


def _backlog_trend(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    """Opened and done per period, and how many were open at each period's end: those open at the start, plus
    the opened, less the done, so far (a ticket reopened since counts as open from its opening)."""
    figures = _Figures(COLUMNS[ReportKind.BACKLOG])
    opened = _collect(session, agent, report, _opened(), report.grouping)
    done = _collect(session, agent, report, _done(), report.grouping)
    start = report.span[0]
    before = [_Source(Ticket, Ticket.created_at, (Ticket.created_at < start,), ranged=False)]
    before.append(_Source(Ticket, Ticket.closed_at, (Ticket.closed_at < start,), ranged=False))
    open_then = [sum(_collect(session, agent, report, source, None).values()) for source in before]
    running = open_then[0] - open_then[1]
    open_at: dict[str, int] = {}
    for n in range(len(reports.periods(report))):
        running += opened.get(str(n), 0) - done.get(str(n), 0)
        open_at[str(n)] = running
    _counts(figures, "opened", opened)
    _counts(figures, "done", done)
    figures.put("open", open_at, running)
    return figures


def _backlog_by_age(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    """Open tickets now, by how long they have been open (rows) and their status (columns); no date range."""
    source = _open_now()
    by_status: dict[str, dict[str, int]] = defaultdict(dict)
    age = _group_column(report, source, Grouping.AGE)
    statement = _from(select(age, Ticket.status_id, func.count()), source, None)
    statement = statement.where(*_conditions(agent, report, source)).group_by(age, Ticket.status_id)
    for bucket, status_id, counted in session.execute(statement):
        by_status[str(status_id)][bucket] = counted
    statuses = session.execute(
        select(Status.id, Status.name).where(Status.state == StatusState.OPEN.value).order_by(Status.sort, Status.id)
    ).all()
    figures = _Figures(tuple(str(s.id) for s in statuses), labels={str(s.id): s.name for s in statuses})
    for status in statuses:
        found = by_status.get(str(status.id), {})
        figures.put(str(status.id), {k: found.get(k, 0) for k, _low, _high in AGE_BUCKETS}, sum(found.values()))
    return figures


def _agents(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    figures = _Figures(COLUMNS[ReportKind.AGENTS])
    replies = _collect(session, agent, report, _replies("replies"), report.grouping)
    figures.put("replies", {k: v[0] for k, v in replies.items()}, sum(v[0] for v in replies.values()))
    figures.put("handled", {k: v[1] for k, v in replies.items()}, None)  # a ticket may have several agents
    minutes = _collect(session, agent, report, _minutes(), report.grouping)
    figures.put("minutes", minutes, sum(minutes.values()))
    _rating_columns(figures, _collect(session, agent, report, _ratings(), report.grouping), "ratings", "csat")
    figures.keys = [k for k in figures.keys if k]  # ratings of unassigned tickets belong to no agent
    return figures


def _satisfaction(session: Session, agent: AgentActor, report: ReportQuery) -> _Figures:
    figures = _Figures(COLUMNS[ReportKind.SATISFACTION])
    found = _collect(session, agent, report, _ratings(), report.grouping)
    _rating_columns(figures, found, "ratings", "average")
    every = [v for values in found.values() for v in values]
    for stars in range(1, 6):
        per = {k: sum(1 for v in values if v == stars) for k, values in found.items()}
        figures.put(f"stars_{stars}", per, sum(1 for v in every if v == stars))
    return figures


def _rating_columns(figures: _Figures, found: dict[str, list[int]], count: str, average: str) -> None:
    every = [v for values in found.values() for v in values]
    figures.put(count, {k: len(v) for k, v in found.items()}, len(every))
    figures.put(average, {k: _average(v) for k, v in found.items()}, _average(every))


def _average(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _comments(session: Session, agent: AgentActor, report: ReportQuery) -> tuple[ReportComment, ...]:
    source = _ratings(Feedback.comment.is_not(None))
    statement = _from(
        select(Ticket.id, Ticket.number, Feedback.rating, Feedback.comment, Feedback.created_at), source, None
    ).where(*_conditions(agent, report, source))
    rows = session.execute(statement.order_by(Feedback.created_at.desc()).limit(MAX_COMMENTS))
    return tuple(ReportComment(*row) for row in rows)


# --- rows: keys, labels, order --------------------------------------------------------------------------------


def _row_key(report: ReportQuery, key: str) -> str:
    """A row's key as callers see it: a period's first day rather than its index."""
    if report.grouping.is_period:
        return reports.periods(report)[int(key)][0].isoformat()
    return key


def _period_bounds(report: ReportQuery, row_key: str) -> tuple[datetime, datetime]:
    for first, lo, hi in reports.periods(report):
        if first.isoformat() == row_key:
            return lo, hi
    raise Invalid(f"No period of the range starts on {row_key}.")


def _row_condition(report: ReportQuery, source: _Source, row_key: str) -> ColumnElement[bool]:
    grouping = report.grouping
    if grouping.is_period:
        lo, hi = _period_bounds(report, row_key)
        return and_(source.moment >= lo, source.moment < hi)
    column: ColumnElement[Any] = _group_column(report, source, grouping)
    if grouping == Grouping.AGE:
        return column == row_key
    if row_key == "":
        return column.is_(None)
    return column == (row_key if grouping == Grouping.CHANNEL else _int(row_key))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a row of this report.") from None


def _labels(session: Session, report: ReportQuery, keys: Sequence[str]) -> dict[str, str]:
    grouping = report.grouping
    if grouping.is_period:
        return {
            k: _period_label(grouping, first)
            for k, (first, _lo, _hi) in zip(keys, reports.periods(report), strict=True)
        }
    if grouping == Grouping.AGE:
        return {k: _age_label(k) for k in keys}
    if grouping == Grouping.CHANNEL:
        return {k: _CHANNELS.get(k, k) for k in keys}
    model, none = _NAMES[grouping]
    ids = [int(k) for k in keys if k]
    names: dict[int, str] = {}
    if ids:
        names = {row.id: row.name for row in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}
    return {k: names.get(int(k), f"#{k}") if k else none for k in keys}


def _order(keys: Sequence[str], labels: dict[str, str]) -> list[str]:
    """Age buckets in their order; named values by name, the "none" row last."""
    ages = [key for key, _low, _high in AGE_BUCKETS]
    if all(k in ages for k in keys):
        return [k for k in ages if k in keys] if keys else []
    return sorted(keys, key=lambda k: (k == "", labels[k].casefold()))


def _period_label(grouping: Grouping, first: date) -> str:
    if grouping == Grouping.MONTH:
        return first.strftime("%B %Y")
    if grouping == Grouping.WEEK:
        return f"Week of {first.isoformat()}"
    return f"{first.strftime('%a')} {first.isoformat()}"


def _age_label(key: str) -> str:
    for bucket, low, high in AGE_BUCKETS:
        if bucket == key:
            return f"{low}–{high} days" if high is not None else f"over {low} days"
    return key
