"""Reports: who may see them and which departments, and figures that equal a recount from the raw rows.

The recount replays each ticket's status events and replies itself (which statuses pause the clock, when it was
closed and reopened) and measures the business time with the SLA clock's arithmetic (`desk.domain.sla`); the
service reads the measures the SLA clock wrote on the ticket as it went. Both must agree to the second, in any
time zone of the business hours and of the viewer.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain import reports as rules
from desk.domain import sla as clock
from desk.domain.enums import STATUS_EVENTS, EntryKind, StatusState, TicketSource
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import AgentActor, Right
from desk.domain.queues import Criteria
from desk.domain.reports import Grouping, ReportKind, ReportQuery, ReportTable
from desk.services import entries, lifecycle, queues, reports, tickets
from desk.storage.models import (
    Department,
    Schedule,
    ScheduleHours,
    SlaPlan,
    Status,
    ThreadEntry,
    ThreadEvent,
    Ticket,
)
from tests.services.conftest import World

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham")


def with_reports(agent: AgentActor) -> AgentActor:
    return dataclasses.replace(agent, rights=agent.rights | {Right.REPORTS_VIEW})


def column(table: ReportTable, name: str) -> dict[str, Any]:
    at = table.columns.index(name)
    return {row.key: row.values[at] for row in table.rows}


class Clock:
    """The services' `now`, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


@contextmanager
def clock_at(start: datetime) -> Iterator[Clock]:
    fake = Clock(start)
    with mock.patch.object(entries, "now", fake), mock.patch.object(lifecycle, "now", fake):
        yield fake


# --- who sees what ----------------------------------------------------------------------------------------------


def query(kind: ReportKind = ReportKind.VOLUME, grouping: Grouping = Grouping.DEPARTMENT, **kw: Any) -> ReportQuery:
    today = datetime.now(UTC).date()
    return ReportQuery(kind=kind, grouping=grouping, start=today - timedelta(days=1), end=today, **kw)


def test_reports_need_the_reports_right(world: World) -> None:
    world.open()
    for agent in (world.manager, world.outsider):
        with pytest.raises(PermissionDenied, match="reports right"):
            reports.report(world.db, agent, query())
        with pytest.raises(PermissionDenied, match="reports right"):
            reports.report_ticket_ids(world.db, agent, query(), None, "opened")
    with pytest.raises(PermissionDenied, match="Only agents"):
        reports.report(world.db, world.alice, query())


def test_an_agent_sees_the_figures_of_their_own_departments_only(world: World) -> None:
    support = world.open()
    billing = world.open(department_id=world.billing, by=world.admin)
    viewer = with_reports(world.viewer)  # Billing only
    manager = with_reports(world.manager)  # Support only

    def opened(agent: AgentActor, **kw: Any) -> dict[str, Any]:
        return column(reports.report(world.db, agent, query(**kw)), "opened")

    assert opened(viewer) == {str(world.billing): 1}
    assert opened(manager) == {str(world.support): 1}
    assert opened(world.admin) == {str(world.billing): 1, str(world.support): 1}
    assert reports.report_ticket_ids(world.db, viewer, query(), None, "opened") == [billing.id]
    assert reports.report_ticket_ids(world.db, manager, query(), None, "opened") == [support.id]
    with pytest.raises(PermissionDenied, match="your own departments"):
        opened(viewer, department_ids=(world.support,))
    assert opened(with_reports(world.outsider)) == {}


def test_a_figure_s_tickets_open_as_a_queue_of_those_the_agent_may_see(world: World) -> None:
    """The drill-down's queue: exactly the listed tickets, and of them only those the agent may see."""
    support = world.open()
    billing = world.open(department_id=world.billing, by=world.admin)
    world.open(subject="Not listed")
    listed = Criteria(ticket_ids=(support.id, billing.id))
    assert {row.id for row in queues.queue_page(world.db, world.admin, listed).rows} == {support.id, billing.id}
    assert [row.id for row in queues.queue_page(world.db, world.manager, listed).rows] == [support.id]


def test_a_ticket_assigned_to_an_agent_outside_their_department_is_not_in_their_reports(world: World) -> None:
    world.open(department_id=world.billing, by=world.admin, assignee_id=world.manager.id)
    assert column(reports.report(world.db, with_reports(world.manager), query()), "opened") == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grouping": Grouping.AGE}, "cannot be grouped by age"),
        ({"end": date(2020, 1, 1)}, "ends before it starts"),
        ({"tz": "Mars/Olympus"}, "Unknown time zone"),
        ({"start": date(2020, 1, 1), "grouping": Grouping.DAY}, "More than 400 days"),
    ],
)
def test_a_query_that_cannot_run_says_what_to_change(world: World, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        reports.report(world.db, world.admin, dataclasses.replace(query(), **changes))


# --- figures on a known story -------------------------------------------------------------------------------------


def business_plan(world: World, tz: str, first_response: float, resolution: float) -> tuple[int, int]:
    """A department with its SLA plan in business hours (09:00–17:00 Monday to Friday in `tz`)."""
    with world.db.transaction() as session:
        schedule = Schedule(name=f"Hours {tz} {datetime.now(UTC).timestamp()}", timezone=tz)
        schedule.hours = [ScheduleHours(weekday=d, start_minute=9 * 60, end_minute=17 * 60) for d in range(5)]
        schedule.holidays = []
        session.add(schedule)
        session.flush()
        plan = SlaPlan(name=schedule.name, first_response_hours=first_response, resolution_hours=resolution)
        plan.schedule_id = schedule.id
        session.add(plan)
        session.flush()
        department = Department(name=schedule.name, sla_id=plan.id)
        session.add(department)
        session.flush()
        return department.id, plan.id


def test_business_hours_and_pending_are_left_out_of_the_times(world: World) -> None:
    """Opened Monday 16:00 in Paris; replied Tuesday 10:00 (2 business hours); Pending from Tuesday 11:00 to
    Wednesday 11:00 (8 business hours, left out); resolved Wednesday 12:00: 4 business hours in all."""
    department, plan = business_plan(world, "Europe/Paris", first_response=1, resolution=5)
    paris = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 16:00 in Paris (UTC+1 in March before the change)
    ticket = world.open(department_id=department, by=world.admin, at=paris)
    with clock_at(paris) as now:
        now.moment = paris + timedelta(hours=18)  # Tuesday 10:00
        entries.post_reply(world.db, world.admin, ticket.id, "Looking at it.")
        now.moment = paris + timedelta(hours=19)
        lifecycle.set_status(world.db, world.admin, ticket.id, world.statuses["Pending"])
        now.moment = paris + timedelta(hours=43)  # Wednesday 11:00
        lifecycle.set_status(world.db, world.admin, ticket.id, world.statuses["Open"])
        now.moment = paris + timedelta(hours=44)
        lifecycle.resolve(world.db, world.admin, ticket.id)
    the_week = ReportQuery(
        kind=ReportKind.RESPONSIVENESS,
        grouping=Grouping.WEEK,
        start=date(2026, 3, 2),
        end=date(2026, 3, 8),
        tz="Europe/Paris",
        department_ids=(department,),
    )
    table = reports.report(world.db, world.admin, the_week)
    assert [row.key for row in table.rows] == ["2026-03-02"]
    assert table.rows[0].values == (1, 2.0, 2.0, 1, 4.0, 4.0)
    sla_table = reports.report(
        world.db, world.admin, dataclasses.replace(the_week, kind=ReportKind.SLA, grouping=Grouping.PLAN)
    )
    assert [(row.key, row.values) for row in sla_table.rows] == [(str(plan), (0, 1, 1, 0))]
    volume = reports.report(
        world.db, world.admin, dataclasses.replace(the_week, kind=ReportKind.VOLUME, grouping=Grouping.DAY)
    )
    assert column(volume, "opened") == {"2026-03-02": 1, **{f"2026-03-0{d}": 0 for d in range(3, 9)}}
    assert column(volume, "resolved")["2026-03-04"] == 1
    # The figure's tickets, as a click opens them.
    assert reports.report_ticket_ids(world.db, world.admin, sla_table.query, str(plan), "first_response_missed") == [
        ticket.id
    ]
    assert reports.report_ticket_ids(world.db, world.admin, volume.query, "2026-03-03", "resolved") == []


def test_agents_and_satisfaction(world: World) -> None:
    first, second = world.open(), world.open(subject="Scanner jammed")
    entries.post_reply(world.db, world.manager, first.id, "On it.", minutes=30)
    entries.post_reply(world.db, world.manager, first.id, "Fixed.", minutes=15)
    entries.post_note(world.db, world.limited, second.id, "Checked.", minutes=10)
    entries.post_reply(world.db, world.limited, second.id, "Fixed too.")
    for ticket, agent in ((first, world.manager), (second, world.limited)):
        tickets.assign(world.db, world.admin, ticket.id, agent.id)
        lifecycle.resolve(world.db, world.admin, ticket.id)
    lifecycle.leave_feedback(world.db, world.alice, first.id, 5, "Quick and kind.")
    lifecycle.leave_feedback(world.db, world.alice, second.id, 2)

    agents = reports.report(world.db, world.admin, query(ReportKind.AGENTS, Grouping.AGENT))
    assert [row.label for row in agents.rows] == ["Limited Agent", "Manager Agent"]
    assert [row.values for row in agents.rows] == [(1, 1, 10, 1, 2.0), (1, 2, 45, 1, 5.0)]
    satisfaction = reports.report(world.db, world.admin, query(ReportKind.SATISFACTION, Grouping.DEPARTMENT))
    assert [(row.label, row.values) for row in satisfaction.rows] == [("Support", (2, 3.5, 0, 1, 0, 0, 1))]
    assert [(c.number, c.rating, c.comment) for c in satisfaction.comments] == [(first.number, 5, "Quick and kind.")]
    two_stars = reports.report_ticket_ids(world.db, world.admin, satisfaction.query, str(world.support), "stars_2")
    assert two_stars == [second.id]


def test_the_backlog_by_age_and_status(world: World) -> None:
    old = world.open(at=datetime.now(UTC) - timedelta(days=10))
    world.open(at=datetime.now(UTC) - timedelta(hours=2))
    pending = world.open(at=datetime.now(UTC) - timedelta(days=2))
    lifecycle.set_status(world.db, world.admin, pending.id, world.statuses["Pending"])
    lifecycle.close(world.db, world.admin, world.open().id)
    table = reports.report(world.db, world.admin, query(ReportKind.BACKLOG, Grouping.AGE))
    assert table.column_labels == ("Open", "On hold", "Pending")
    assert [(row.key, row.values) for row in table.rows] == [
        ("0-1", (1, 0, 0)),
        ("1-3", (0, 0, 1)),
        ("3-7", (0, 0, 0)),
        ("7-30", (1, 0, 0)),
        ("30+", (0, 0, 0)),
    ]
    assert table.total is not None and table.total.values == (2, 0, 1)
    assert reports.report_ticket_ids(world.db, world.admin, table.query, "7-30", str(world.statuses["Open"])) == [
        old.id
    ]


# --- the recount ------------------------------------------------------------------------------------------------

ACTIONS = ("reply", "pending", "open", "resolve", "close", "reopen")
_PAUSING = "Pending"


@dataclasses.dataclass
class Story:
    tz: str
    viewer_tz: str
    plan_hours: tuple[float, float] | None
    business: tuple[int, int] | None  # business hours (start, end minute) on weekdays, None: around the clock
    tickets: list[tuple[int, TicketSource, list[tuple[int, str]]]]  # (minutes after the start, channel, actions)


stories = st.builds(
    Story,
    tz=st.sampled_from(ZONES),
    viewer_tz=st.sampled_from(ZONES),
    plan_hours=st.none() | st.tuples(st.sampled_from([0.5, 1, 4, 8]), st.sampled_from([2, 8, 24, 40])),
    business=st.none() | st.tuples(st.integers(0, 12).map(lambda h: h * 60), st.integers(13, 24).map(lambda h: h * 60)),
    tickets=st.lists(
        st.tuples(
            st.integers(0, 5 * 24 * 60),
            st.sampled_from(list(TicketSource)),
            st.lists(st.tuples(st.integers(1, 3 * 24 * 60), st.sampled_from(ACTIONS)), max_size=6),
        ),
        min_size=1,
        max_size=4,
    ),
)

STORY_START = datetime(2026, 10, 20, 6, 30, tzinfo=UTC)  # the clocks go back in Europe and America in between


def act(world: World, story: Story) -> int:
    """Play the story through the services; the department it happened in."""
    with world.db.transaction() as session:
        name = f"Story {datetime.now(UTC).timestamp()}"
        schedule_id = None
        if story.business is not None:
            schedule = Schedule(name=name, timezone=story.tz)
            start, end = story.business
            schedule.hours = [ScheduleHours(weekday=d, start_minute=start, end_minute=end) for d in range(5)]
            schedule.holidays = []
            session.add(schedule)
            session.flush()
            schedule_id = schedule.id
        plan_id = None
        if story.plan_hours is not None:
            plan = SlaPlan(name=name, first_response_hours=story.plan_hours[0], resolution_hours=story.plan_hours[1])
            plan.schedule_id = schedule_id
            session.add(plan)
            session.flush()
            plan_id = plan.id
        department = Department(name=name, sla_id=plan_id, schedule_id=schedule_id)
        session.add(department)
        session.flush()
        department_id = department.id
    for offset, channel, actions in story.tickets:
        moment = STORY_START + timedelta(minutes=offset)
        ticket = world.open(department_id=department_id, by=world.admin, at=moment, source=channel)
        with clock_at(moment) as now:
            for delay, action in actions:
                now.moment += timedelta(minutes=delay)
                play(world, ticket.id, action)
    return department_id


def play(world: World, ticket_id: int, action: str) -> None:
    state = tickets.get_ticket(world.db, world.admin, ticket_id)
    status = state.status.name
    is_open = state.status.state == StatusState.OPEN
    if action == "reply" and is_open:
        entries.post_reply(world.db, world.admin, ticket_id, "An answer.")
    elif action == "pending" and is_open and status != _PAUSING:
        lifecycle.set_status(world.db, world.admin, ticket_id, world.statuses[_PAUSING])
    elif action == "open" and status == _PAUSING:
        lifecycle.set_status(world.db, world.admin, ticket_id, world.statuses["Open"])
    elif action == "resolve" and is_open:
        lifecycle.resolve(world.db, world.admin, ticket_id)
    elif action == "close" and status != "Closed":
        lifecycle.close(world.db, world.admin, ticket_id)
    elif action == "reopen" and not is_open:
        lifecycle.reopen(world.db, world.admin, ticket_id)


@dataclasses.dataclass
class Replayed:
    """One ticket as the recount sees it from its rows."""

    created: datetime
    source: str
    closed_at: datetime | None
    events: list[tuple[datetime, str]]  # (moment, kind) of status events
    first_reply: datetime | None
    first_response_seconds: int | None = None
    first_response_met: bool | None = None
    resolution_seconds: int | None = None
    resolution_met: bool | None = None


def recount_tickets(world: World, department_id: int) -> list[Replayed]:
    found = []
    with world.db.transaction(write=False) as session:
        statuses = {s.id: s for s in session.scalars(select(Status))}
        for ticket in session.scalars(select(Ticket).where(Ticket.department_id == department_id)):
            events = session.execute(
                select(ThreadEvent.created_at, ThreadEvent.kind, ThreadEvent.data)
                .where(ThreadEvent.ticket_id == ticket.id)
                .order_by(ThreadEvent.created_at, ThreadEvent.id)
            ).all()
            replies = session.scalars(
                select(ThreadEntry.created_at)
                .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.kind == EntryKind.REPLY.value)
                .order_by(ThreadEntry.created_at)
            ).all()
            moves = [(at, statuses[data["after"]["id"]]) for at, kind, data in events if kind in STATUS_EVENTS]
            replayed = Replayed(
                created=ticket.created_at,
                source=ticket.source,
                closed_at=ticket.closed_at,
                events=[(at, kind) for at, kind, _data in events],
                first_reply=replies[0] if replies else None,
            )
            plan = session.get(SlaPlan, ticket.sla_id) if ticket.sla_id else None
            targets = None if plan is None else (plan.first_response_hours, plan.resolution_hours)
            measure(replayed, moves, business_hours(session, ticket, plan), targets)
            found.append(replayed)
    return found


def business_hours(session: Any, ticket: Ticket, plan: SlaPlan | None) -> clock.Schedule | None:
    """The plan's hours, else the department's; around the clock without a plan (read from the rows)."""
    if plan is None:
        return None
    department = session.get(Department, ticket.department_id)
    schedule_id = plan.schedule_id or department.schedule_id
    if schedule_id is None:
        return None
    schedule = session.get(Schedule, schedule_id)
    hours: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for row in session.scalars(select(ScheduleHours).where(ScheduleHours.schedule_id == schedule_id)):
        end = time(0) if row.end_minute == 1440 else time(row.end_minute // 60, row.end_minute % 60)
        hours[row.weekday].append((time(row.start_minute // 60, row.start_minute % 60), end))
    return clock.Schedule(tz=schedule.timezone, hours={day: tuple(sorted(spans)) for day, spans in hours.items()})


def measure(
    ticket: Replayed,
    moves: list[tuple[datetime, Status]],
    hours: clock.Schedule | None,
    plan: tuple[float | None, float] | None,
) -> None:
    """Business time while open and not pausing, up to the first reply and to the last closing; and whether each
    came before its due, which starts at the opening (or the reopening) and moves by each pause's business time."""

    def active(until: datetime) -> int:
        total, since, running = timedelta(0), ticket.created, True
        for at, status in moves:
            if at >= until:
                break
            if running:
                total += clock.business_time_between(since, at, hours)
            since, running = at, status.state == StatusState.OPEN.value and not status.pauses_sla
        if running:
            total += clock.business_time_between(since, until, hours)
        return int(total.total_seconds())

    def met(target: float, until: datetime) -> bool:
        started = max([ticket.created, *(at for at, kind in ticket.events if kind == "reopened" and at <= until)])
        due = clock.add_business_time(started, timedelta(hours=target), hours)
        paused_at = None
        for at, status in [(at, s) for at, s in moves if started <= at <= until] + [(until, None)]:
            if paused_at is not None and (status is None or not status.pauses_sla):
                due = clock.resume_due(due, paused_at, at, hours)
                paused_at = None
            if status is not None and status.pauses_sla and paused_at is None:
                paused_at = at
        return until <= due

    if ticket.first_reply is not None:
        ticket.first_response_seconds = active(ticket.first_reply)
        reply_target = None if plan is None else plan[0]
        ticket.first_response_met = None if reply_target is None else met(reply_target, ticket.first_reply)
    if ticket.closed_at is not None:
        ticket.resolution_seconds = active(ticket.closed_at)
        ticket.resolution_met = None if plan is None else met(plan[1], ticket.closed_at)


def day_of(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=stories)
def test_every_report_equals_a_recount_from_the_raw_rows(world: World, story: Story) -> None:
    department = act(world, story)
    replayed = recount_tickets(world, department)
    days = {
        day_of(STORY_START - timedelta(days=1), story.viewer_tz),
        day_of(STORY_START + timedelta(days=30), story.viewer_tz),
    }
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    base = ReportQuery(
        kind=ReportKind.VOLUME,
        grouping=Grouping.DAY,
        start=first,
        end=last,
        tz=story.viewer_tz,
        department_ids=(department,),
    )
    every_day = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def per_day(moments: list[datetime]) -> dict[str, int]:
        counted = Counter(day_of(m, story.viewer_tz) for m in moments)
        return {day: counted.get(day, 0) for day in every_day}

    volume = reports.report(world.db, world.admin, base)
    assert column(volume, "opened") == per_day([t.created for t in replayed])
    for kind in ("resolved", "closed", "reopened"):
        assert column(volume, kind) == per_day([at for t in replayed for at, k in t.events if k == kind])

    responsiveness = reports.report(world.db, world.admin, dataclasses.replace(base, kind=ReportKind.RESPONSIVENESS))
    by_day: dict[str, list[int]] = defaultdict(list)
    for t in replayed:
        if t.first_reply is not None:
            by_day[day_of(t.first_reply, story.viewer_tz)].append(t.first_response_seconds)  # type: ignore[arg-type]
    assert column(responsiveness, "first_responses") == {day: len(by_day.get(day, [])) for day in every_day}
    assert column(responsiveness, "first_response_median") == {
        day: rules.hours(rules.percentile(by_day[day], 0.5)) if by_day.get(day) else None for day in every_day
    }
    resolved = sorted(t.resolution_seconds for t in replayed if t.resolution_seconds is not None)
    assert responsiveness.total is not None
    assert responsiveness.total.values[3:] == (
        len(resolved),
        rules.hours(rules.percentile(resolved, 0.5)),
        rules.hours(rules.percentile(resolved, 0.9)),
    )

    compliance = reports.report(
        world.db, world.admin, dataclasses.replace(base, kind=ReportKind.SLA, grouping=Grouping.PLAN)
    )
    expected: Counter[str] = Counter()
    for t in replayed:
        for name, flag in (("first_response", t.first_response_met), ("resolution", t.resolution_met)):
            if flag is not None:
                expected[f"{name}_{'met' if flag else 'missed'}"] += 1
    assert compliance.total is not None
    assert dict(zip(compliance.columns, compliance.total.values, strict=True)) == {
        c: expected.get(c, 0) for c in compliance.columns
    }

    backlog = reports.report(world.db, world.admin, dataclasses.replace(base, kind=ReportKind.BACKLOG))
    ends = {
        day: rules.local_midnight(date.fromisoformat(day) + timedelta(days=1), story.viewer_tz) for day in every_day
    }
    assert column(backlog, "open") == {
        day: sum(1 for t in replayed if t.created < end and (t.closed_at is None or t.closed_at >= end))
        for day, end in ends.items()
    }

    channels = reports.report(world.db, world.admin, dataclasses.replace(base, grouping=Grouping.CHANNEL))
    assert column(channels, "opened") == dict(Counter(t.source for t in replayed))
    assert set(
        itertools.chain.from_iterable(
            reports.report_ticket_ids(world.db, world.admin, channels.query, row.key, "opened") for row in channels.rows
        )
    ) == {t for t in reports.report_ticket_ids(world.db, world.admin, channels.query, None, "opened")}
