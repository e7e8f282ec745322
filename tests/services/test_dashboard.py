"""The dashboard's figures: each equals a recount from the tickets themselves, each equals the total of the queue
it opens, and an agent sees only their own tickets and the departments they may see."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from desk.domain.dashboard import MY_FIGURES, Dashboard, Figure, KeyFigures, figure_criteria
from desk.domain.enums import StatusState
from desk.domain.errors import Invalid
from desk.domain.permissions import AgentActor
from desk.services import dashboard, entries, lifecycle, queues
from desk.storage.models import Department, Ticket
from tests.services.conftest import World


def recount(
    world: World, agent: AgentActor, start: datetime, end: datetime
) -> tuple[KeyFigures, dict[str, KeyFigures]]:
    """The agent's figures and each visible department's, counted in Python from every ticket's row."""
    with world.db.transaction(write=False) as session:
        tickets = list(session.scalars(select(Ticket)))
        departments = {d.id: d.name for d in session.scalars(select(Department))}
    seen = departments if agent.is_admin else {i: n for i, n in departments.items() if i in agent.departments}

    def figures(of: list[Ticket]) -> KeyFigures:
        opened = [t for t in of if t.state == StatusState.OPEN.value]
        answered = [t for t in of if t.first_responded_at is not None and start <= t.first_responded_at < end]
        waits = [(t.first_responded_at - t.created_at).total_seconds() / 60 for t in answered]  # type: ignore[operator]
        return KeyFigures(
            open=len(opened),
            overdue=sum(t.overdue for t in opened),
            due_today=sum(start <= t.due_at < end for t in opened),
            unassigned=sum(t.assignee_id is None for t in opened),
            mine=sum(t.assignee_id == agent.id for t in opened),
            resolved_today=sum(
                t.state == StatusState.CLOSED.value and t.closed_at is not None and start <= t.closed_at < end
                for t in of
            ),
            first_responses=len(answered),
            first_response_minutes=statistics.median(waits) if waits else None,
        )

    mine = figures([t for t in tickets if t.assignee_id == agent.id])
    mine = KeyFigures(**{**mine.__dict__, "unassigned": 0, "mine": 0})  # said of departments only
    return mine, {name: figures([t for t in tickets if t.department_id == i]) for i, name in seen.items()}


def same(got: KeyFigures, expected: KeyFigures) -> bool:
    """Equal, the median to the millisecond (engines keep times to the microsecond)."""
    a, b = got.first_response_minutes, expected.first_response_minutes
    close = a == b or (a is not None and b is not None and abs(a - b) < 1e-4)
    return close and got.__dict__ | {"first_response_minutes": 0} == expected.__dict__ | {"first_response_minutes": 0}


@pytest.fixture
def day(world: World) -> tuple[datetime, datetime]:
    """A desk's day: tickets opened before it and during it, some due, overdue, answered, resolved, reopened."""
    now = datetime.now(UTC)
    admin, manager, limited = world.admin, world.manager, world.limited
    earlier = now - timedelta(hours=30)
    made = []
    for i in range(14):
        made.append(
            world.open(
                subject=f"Ticket {i}",
                department_id=(world.support, world.billing)[i % 2],
                assignee_id=(None, admin.id, manager.id, limited.id)[i // 2 % 4],
                team_id=world.level2 if i % 7 == 3 else None,
                sla_id=world.sla_fast if i % 3 else None,
                at=earlier if i < 6 else now - timedelta(hours=i % 4),
                by=admin,
            )
        )
    lifecycle.mark_overdue(world.db, admin)
    for ticket in made[1::3]:
        entries.post_reply(world.db, admin, ticket.id, "On it.")
    for ticket in made[2::4]:
        lifecycle.resolve(world.db, admin, ticket.id)
    lifecycle.reopen(world.db, admin, made[2].id)
    return now - timedelta(hours=12), now + timedelta(hours=12)


def test_the_figures_equal_a_recount_and_the_queues_they_open(world: World, day: tuple[datetime, datetime]) -> None:
    start, end = day
    for agent in (world.admin, world.manager, world.limited, world.viewer, world.outsider):
        shown = dashboard.dashboard(world.db, agent, start, end)
        mine, departments = recount(world, agent, start, end)
        assert same(shown.mine, mine), agent.name
        assert [d.name for d in shown.departments] == sorted(departments, key=str.casefold), agent.name
        for row in shown.departments:
            assert same(row.figures, departments[row.name]), (agent.name, row.name)
        assert_each_figure_opens_its_tickets(world, agent, shown)
    admin = dashboard.dashboard(world.db, world.admin, start, end)
    support = next(d.figures for d in admin.departments if d.department_id == world.support)
    # The scenario reaches every figure, so that none is compared as zero against zero only.
    assert all(support.count(figure) for figure in Figure), support
    assert admin.mine.first_response_minutes is not None


def assert_each_figure_opens_its_tickets(world: World, agent: AgentActor, shown: Dashboard) -> None:
    """Clicking a figure opens a queue of as many tickets."""
    rows = [(None, shown.mine, MY_FIGURES)] + [(d.department_id, d.figures, tuple(Figure)) for d in shown.departments]
    for department_id, figures, which in rows:
        for figure in which:
            criteria = figure_criteria(figure, agent_id=agent.id, department_id=department_id,
                                       day_start=shown.day_start, day_end=shown.day_end)  # fmt: skip
            total = queues.queue_page(world.db, agent, criteria).total
            assert total == figures.count(figure), (agent.name, department_id, figure)


def test_a_day_that_is_over_counts_nothing_of_today(world: World, day: tuple[datetime, datetime]) -> None:
    start, _end = day
    before = dashboard.dashboard(world.db, world.admin, start - timedelta(days=2), start - timedelta(days=1))
    today = dashboard.dashboard(world.db, world.admin, *day)
    for row, now in zip(before.departments, today.departments, strict=True):
        assert (row.figures.open, row.figures.overdue) == (now.figures.open, now.figures.overdue)
        assert row.figures.resolved_today == row.figures.first_responses == 0


def test_an_agent_sees_only_their_departments(world: World, day: tuple[datetime, datetime]) -> None:
    assert [d.department_id for d in dashboard.dashboard(world.db, world.manager, *day).departments] == [world.support]
    assert [d.department_id for d in dashboard.dashboard(world.db, world.viewer, *day).departments] == [world.billing]
    outsider = dashboard.dashboard(world.db, world.outsider, *day)
    assert outsider.departments == () and outsider.mine == KeyFigures()


def test_the_day_is_checked(world: World) -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    with pytest.raises(Invalid, match="time zone"):
        dashboard.dashboard(world.db, world.admin, start.replace(tzinfo=None), start + timedelta(days=1))
    with pytest.raises(Invalid, match="one day"):
        dashboard.dashboard(world.db, world.admin, start, start + timedelta(days=2))
    with pytest.raises(Invalid, match="one day"):
        dashboard.dashboard(world.db, world.admin, start, start)
