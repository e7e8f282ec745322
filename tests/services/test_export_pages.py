"""An export reads a queue through `queues.export_page`: the queue's tickets, in its order, with its columns, a
page at a time, and only those the agent may see; a search's export holds the search's matches."""

from __future__ import annotations

import pytest

from desk.domain.enums import Queue, SortKey
from desk.domain.errors import Invalid
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.domain.views import ExportRow, QueueRow
from desk.services import lifecycle, queues
from tests.services.conftest import World
from tests.services.test_queues import NAMES, SUBJECTS


def exported(row: QueueRow) -> ExportRow:
    """A queue row as its export's columns (desk.domain.views.ExportRow)."""
    return (row.number, row.subject, row.requester, row.requester_email, row.priority, row.status, row.department,
            row.assignee, row.team, row.due, row.overdue, row.created_at, row.updated_at)  # fmt: skip


def queue_rows(world: World, agent: AgentActor, criteria: Criteria, sort: SortKey, descending: bool) -> list[QueueRow]:
    rows: list[QueueRow] = []
    cursor = None
    while True:
        page = queues.queue_page(world.db, agent, criteria, sort=sort, descending=descending, cursor=cursor)
        rows += page.rows
        if (cursor := page.next_cursor) is None:
            return rows


def export_rows(
    world: World, agent: AgentActor, criteria: Criteria, sort: SortKey, descending: bool, limit: int
) -> tuple[list[ExportRow], list[int]]:
    """Every exported row, and each page's total."""
    rows: list[ExportRow] = []
    totals: list[int] = []
    cursor = None
    while True:
        page = queues.export_page(world.db, agent, criteria, sort=sort, descending=descending, cursor=cursor,
                                  limit=limit)  # fmt: skip
        assert len(page.rows) <= limit
        rows += page.rows
        totals.append(page.total)
        if (cursor := page.next_cursor) is None:
            return rows, totals


@pytest.fixture
def tickets(world: World) -> None:
    assignees = (None, world.admin.id, world.manager.id)
    made = [
        world.open(
            subject=subject,
            priority_id=list(world.priorities.values())[i % 4],
            requester_email=f"user{i % 4}@example.com",
            requester_name=NAMES[i % 4],
            assignee_id=assignees[i % 3],
            department_id=(world.support, world.billing)[i % 2],
            team_id=world.level2 if i % 5 == 0 else None,
            sla_id=world.sla_fast if i % 2 else None,
            by=world.admin,
        )
        for i, subject in enumerate(SUBJECTS)
    ]
    for ticket in made[::3]:
        lifecycle.set_status(world.db, world.admin, ticket.id, world.statuses["On hold"])
    for ticket in made[1::4]:
        lifecycle.resolve(world.db, world.admin, ticket.id)


@pytest.mark.usefixtures("tickets")
@pytest.mark.parametrize("sort", [SortKey.UPDATED, SortKey.SUBJECT, SortKey.DUE, SortKey.ASSIGNEE, SortKey.NUMBER])
@pytest.mark.parametrize("descending", [True, False])
def test_an_export_holds_the_queues_rows_in_its_order(world: World, sort: SortKey, descending: bool) -> None:
    for criteria in (
        Criteria(queue=Queue.OPEN),
        Criteria(queue=Queue.CLOSED),
        Criteria(queue=Queue.OPEN, department_ids=(world.billing,)),
        Criteria(status_ids=(world.statuses["On hold"],), unassigned=True),
    ):
        for agent in (world.admin, world.limited):
            expected = [exported(r) for r in queue_rows(world, agent, criteria, sort, descending)]
            rows, totals = export_rows(world, agent, criteria, sort, descending, limit=3)
            assert rows == expected, (criteria, agent.name)
            assert totals == [len(expected)] + [-1] * (len(totals) - 1)  # counted once, for the first page


@pytest.mark.usefixtures("tickets")
def test_a_searchs_export_holds_its_matches(world: World) -> None:
    for agent in (world.admin, world.limited):
        found = queues.search_tickets(world.db, agent, "zebra", limit=queues.MAX_PAGE)
        page = queues.export_search(world.db, agent, "zebra")
        assert list(page.rows) == [exported(r) for r in found.rows]
        assert page.total == len(page.rows) and page.next_cursor is None
    assert queues.export_search(world.db, world.admin, "zebra").rows
    with pytest.raises(Invalid, match="Type at least one word"):
        queues.export_search(world.db, world.admin, "a")


def test_an_export_page_is_bounded(world: World) -> None:
    with pytest.raises(Invalid, match="1 to 5,000"):
        queues.export_page(world.db, world.admin, Criteria(queue=Queue.OPEN), limit=queues.EXPORT_PAGE + 1)
