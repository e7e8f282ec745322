"""Queues, keyset pages, sorting, counts against a recount, saved searches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from desk.domain.enums import Queue, SortKey
from desk.domain.errors import Invalid
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria, text_sort_key
from desk.domain.views import QueueRow
from desk.services import entries, following, lifecycle, queues, tickets
from desk.storage.db import Database
from desk.storage.models import Follower, Status, Ticket, User
from tests.services.conftest import World, statements_sent


def ids(page: object) -> list[int]:
    return [row.id for row in page.rows]  # type: ignore[attr-defined]


def recount(world: World, agent_departments: set[int] | None = None) -> dict[Queue, int]:
    """Counts by plain SQL over the tickets, for an agent who sees everything."""
    return recount_for(world.db, world.admin.id)


def recount_for(db: Database, admin_id: int) -> dict[Queue, int]:
    """The sidebar counts by plain SQL over the tickets table, for an admin `admin_id` (who sees every ticket)."""
    with db.transaction(write=False) as session:
        hold = list(session.scalars(select(Status.id).where(Status.on_hold.is_(True))))

        def n(*where: object) -> int:
            return session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0  # type: ignore[arg-type]

        is_open = Ticket.state == "open"
        return {
            Queue.OPEN: n(is_open),
            Queue.UNANSWERED: n(is_open, Ticket.answered.is_(False)),
            Queue.ANSWERED: n(is_open, Ticket.answered.is_(True)),
            Queue.MINE: n(is_open, Ticket.assignee_id == admin_id),
            Queue.MY_TEAMS: 0,
            Queue.FOLLOWING: n(is_open, Ticket.id.in_(select(Follower.ticket_id).where(Follower.agent_id == admin_id))),
            Queue.UNASSIGNED: n(is_open, Ticket.assignee_id.is_(None)),
            Queue.OVERDUE: n(is_open, Ticket.overdue.is_(True)),
            Queue.ON_HOLD: n(is_open, Ticket.status_id.in_(hold)),
            Queue.CLOSED: n(Ticket.state == "closed"),
        }


def test_queue_membership_and_counts(world: World) -> None:
    db, m = world.db, world.manager
    unanswered = world.open(subject="A")
    answered = world.open(subject="B")
    entries.post_reply(db, m, answered.id, "On it")
    mine = world.open(subject="C", assignee_id=world.admin.id)
    held = world.open(subject="D")
    lifecycle.set_status(db, m, held.id, world.statuses["On hold"])
    closed = world.open(subject="E")
    lifecycle.close(db, m, closed.id)
    admin = world.admin
    for followed in (answered, closed):
        following.follow(db, admin, followed.id)

    def q(queue: Queue) -> set[int]:
        return set(ids(queues.queue_page(db, admin, Criteria(queue=queue))))

    assert q(Queue.OPEN) == {unanswered.id, answered.id, mine.id, held.id}
    assert q(Queue.ANSWERED) == {answered.id}
    assert q(Queue.UNANSWERED) == {unanswered.id, mine.id, held.id}
    assert q(Queue.MINE) == {mine.id}
    assert q(Queue.FOLLOWING) == {answered.id}
    assert q(Queue.UNASSIGNED) == {unanswered.id, answered.id, held.id}
    assert q(Queue.ON_HOLD) == {held.id}
    assert q(Queue.CLOSED) == {closed.id}
    assert queues.queue_counts(db, admin) == recount(world)
    for queue in Queue:
        assert queues.queue_page(db, admin, Criteria(queue=queue)).total == len(q(queue))


def test_agents_see_only_their_departments_assignments_and_teams(world: World) -> None:
    db = world.db
    support = world.open(subject="support")
    billing = world.open(subject="billing", department_id=world.billing, by=world.admin)
    assigned = world.open(
        subject="billing but mine", department_id=world.billing, assignee_id=world.viewer.id, by=world.admin
    )
    team = world.open(subject="team", department_id=world.billing, team_id=world.level2, by=world.admin)
    open_queue = Criteria(queue=Queue.OPEN)
    assert set(ids(queues.queue_page(db, world.limited, open_queue))) == {support.id, team.id}
    assert set(ids(queues.queue_page(db, world.viewer, open_queue))) == {billing.id, assigned.id, team.id}
    assert ids(queues.queue_page(db, world.outsider, open_queue)) == []
    assert queues.queue_counts(db, world.limited)[Queue.OPEN] == 2
    assert queues.queue_counts(db, world.limited)[Queue.MY_TEAMS] == 1
    assert set(ids(queues.queue_page(db, world.limited, Criteria(queue=Queue.MY_TEAMS)))) == {team.id}
    assert queues.queue_counts(db, world.viewer)[Queue.MINE] == 1
    assert queues.queue_counts(db, world.outsider)[Queue.OPEN] == 0


def test_my_teams_of_an_agent_in_no_team_is_empty_without_reading_tickets(world: World) -> None:
    """It is empty for certain: asking the database made SQLite walk every open ticket to find none."""
    db = world.db
    world.open(subject="team", team_id=world.level2, by=world.admin)
    assert not world.viewer.teams
    with statements_sent(db) as sent:
        for criteria in (
            Criteria(queue=Queue.MY_TEAMS),
            Criteria(queue=Queue.MY_TEAMS, department_ids=(world.billing,)),
        ):
            page = queues.queue_page(db, world.viewer, criteria)
            assert (ids(page), page.total, page.next_cursor) == ([], 0, None)
            assert queues.queue_ids(db, world.viewer, criteria) == ([], None)
    assert [s for s in sent if "tickets" in s] == []
    assert ids(queues.queue_page(db, world.limited, Criteria(queue=Queue.MY_TEAMS))) != []


def test_a_page_statement_carries_its_size_and_state_in_its_text(world: World) -> None:
    """The same text on every call, the constants written in: PostgreSQL re-planned a page with a bound LIMIT, or
    (Unassigned) with a bound state, on every call."""
    world.open(subject="one")
    with statements_sent(world.db) as sent:
        for _ in range(2):
            queues.queue_page(world.db, world.admin, Criteria(queue=Queue.UNASSIGNED), limit=20)
    sent = [s for s in sent if "ORDER BY" in s]
    assert len(sent) == 2 and sent[0] == sent[1]
    assert "LIMIT 21" in sent[0] and "tickets.state = 'open'" in sent[0]


def test_a_limited_agents_page_and_counts_carry_the_agents_ids_in_their_text(world: World) -> None:
    """PostgreSQL planned a limited agent's Unanswered and Overdue pages anew on every call while the agent's id,
    departments and teams were bound; written in, one plan serves every call. Other agents get their own text."""
    world.open(subject="one")
    limited = world.limited
    (department,), (team,) = sorted(limited.departments), sorted(limited.teams)
    with statements_sent(world.db) as sent:
        for _ in range(2):
            queues.queue_page(world.db, limited, Criteria(queue=Queue.UNANSWERED), limit=20)
            queues.queue_counts(world.db, limited)
    sent = [s for s in sent if "FROM ticket" in s]
    page, tally, counts = sent[:3]
    assert sent == [page, tally, counts] * 2
    assert f"tickets.assignee_id = {limited.id}" in page and f"tickets.department_id IN ({department})" in page
    assert f"tickets.team_id IN ({team})" in page
    for statement in (tally, counts):
        assert f"ticket_tallies.assignee_id = {limited.id}" in statement
        assert f"ticket_tallies.department_id IN ({department})" in statement


# Texts whose order depends on case, accents, compatibility forms and spacing: every engine must agree.
SUBJECTS = (
    "émile",
    "Emile",
    "zebra",
    "Zèbre",
    "apple",
    "Apple",
    "Ａpple",
    "straße",
    "STRASSE",
    "b",
    "  b  x",
    "Ölfleck",
)
NAMES = ("Émile Zola", "emile zola", "Zoë Adams", "Ana Ñúñez")


def walk(world: World, agent: AgentActor, sort: SortKey, descending: bool, limit: int) -> list[int]:
    """Every ticket of the Open queue, page by page."""
    seen: list[int] = []
    cursor = None
    while True:
        page = queues.queue_page(
            world.db, agent, Criteria(queue=Queue.OPEN), sort=sort, descending=descending, cursor=cursor, limit=limit
        )
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen


SORT_ORDER: dict[SortKey, Callable[[QueueRow], Any]] = {
    SortKey.NUMBER: lambda r: (r.number, r.id),
    SortKey.CREATED: lambda r: (r.created_at, r.id),
    SortKey.UPDATED: lambda r: (r.updated_at, r.id),
    SortKey.DUE: lambda r: (r.due, r.id),
    SortKey.PRIORITY: lambda r: (r.priority_level, r.id),
    SortKey.SUBJECT: lambda r: (text_sort_key(r.subject), r.id),
    SortKey.REQUESTER: lambda r: (text_sort_key(r.requester), r.id),
    SortKey.ASSIGNEE: lambda r: (text_sort_key(r.assignee), r.id),
    SortKey.DEPARTMENT: lambda r: (text_sort_key(r.department), r.id),
    SortKey.STATUS: lambda r: (text_sort_key(r.status), r.id),
}


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_walk_every_ticket_once_in_order(world: World, sort: SortKey, descending: bool) -> None:
    assignees = (None, world.admin.id, world.manager.id)
    made = [
        world.open(
            subject=subject,
            priority_id=list(world.priorities.values())[i % 4],
            requester_email=f"user{i % 4}@example.com",
            requester_name=NAMES[i % 4],
            assignee_id=assignees[i % 3],
            department_id=(world.support, world.billing)[i % 2],
            by=world.admin,
        )
        for i, subject in enumerate(SUBJECTS)
    ]
    for ticket in made[::3]:
        lifecycle.set_status(world.db, world.admin, ticket.id, world.statuses["On hold"])
    seen = walk(world, world.admin, sort, descending, limit=5)
    assert sorted(seen) == sorted(t.id for t in made)
    rows = queues.rows_for_ids(world.db, world.admin, seen)
    assert [r.id for r in rows] == [r.id for r in sorted(rows, key=SORT_ORDER[sort], reverse=descending)]
    # A limited agent (Support only) walks the same order, over their own tickets only.
    theirs = walk(world, world.limited, sort, descending, limit=4)
    assert theirs == [i for i in seen if i in {t.id for t in made if t.department.name == "Support"}]


def test_renaming_moves_the_tickets_in_the_name_orders(world: World) -> None:
    first = world.open(subject="One", requester_email="zed@example.com", requester_name="Zed")
    second = world.open(subject="Two", requester_email="amy@example.com", requester_name="Amy")
    assert walk(world, world.admin, SortKey.REQUESTER, False, limit=5) == [second.id, first.id]
    with world.db.transaction() as session:
        zed = session.scalar(select(User).where(User.email == "zed@example.com"))
        assert zed is not None
        zed.name = "Ábel"
    assert walk(world, world.admin, SortKey.REQUESTER, False, limit=5) == [first.id, second.id]
    tickets.assign(world.db, world.admin, second.id, world.admin.id)  # unassigned ("") sorts first
    assert walk(world, world.admin, SortKey.ASSIGNEE, True, limit=5) == [second.id, first.id]


sort_texts = st.text(
    alphabet=st.one_of(
        st.sampled_from("aAbBeEéÉèzZöÖßſﬁＡİı \t\u200b\u0301\u00a0"),
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subjects=st.lists(sort_texts, min_size=12, max_size=12))
def test_text_orders_are_the_same_on_every_engine(world: World, subjects: list[str]) -> None:
    """The database's order is the folded keys' code point order, ties by id: the same on all three engines."""
    with world.db.transaction() as session:
        made = list(session.scalars(select(Ticket.id).order_by(Ticket.id)))
    for _ in range(len(subjects) - len(made)):
        made.append(world.open(subject="placeholder").id)
    with world.db.transaction() as session:  # renamed through the ORM, as the services do
        for ticket_id, subject in zip(made, subjects, strict=True):
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.subject = subject
    for descending in (False, True):
        expected = sorted(
            zip(subjects, made, strict=True), key=lambda p: (text_sort_key(p[0]), p[1]), reverse=descending
        )
        assert walk(world, world.admin, SortKey.SUBJECT, descending, limit=5) == [i for _, i in expected]


@pytest.mark.parametrize("descending", [True, False])
def test_id_chunks_continue_the_first_page_in_the_same_order(world: World, descending: bool) -> None:
    for i in range(12):
        world.open(subject=f"T{i}")
    world.open(subject="Billing only", department_id=world.billing, by=world.admin)
    criteria = Criteria(queue=Queue.OPEN)
    page = queues.queue_page(world.db, world.admin, criteria, sort=SortKey.NUMBER, descending=descending, limit=4)
    chunks, cursor = [ids(page)], page.next_cursor
    while cursor is not None:
        chunk, cursor = queues.queue_ids(
            world.db, world.admin, criteria, sort=SortKey.NUMBER, descending=descending, cursor=cursor, limit=3
        )
        chunks.append(chunk)
    walked = [ticket_id for chunk in chunks for ticket_id in chunk]
    every, end = queues.queue_ids(world.db, world.admin, criteria, sort=SortKey.NUMBER, descending=descending)
    assert end is None and walked == every and len(every) == 13
    numbers = [row.number for row in queues.rows_for_ids(world.db, world.admin, every)]
    assert numbers == sorted(numbers, reverse=descending)
    # The limited agent works in Support only: the Billing ticket is not among their ids.
    theirs, _ = queues.queue_ids(world.db, world.limited, criteria, sort=SortKey.NUMBER, descending=descending)
    assert len(theirs) == 12 and set(theirs) < set(every)
    with pytest.raises(Invalid, match="1 to 100,000 ids"):
        queues.queue_ids(world.db, world.admin, criteria, limit=0)


@pytest.mark.parametrize("criteria", [Criteria(queue=Queue.OPEN), Criteria(queue=Queue.OPEN, text="ticket")])
def test_id_chunks_start_anywhere_by_position_or_from_a_neighbours_cursor(world: World, criteria: Criteria) -> None:
    """The window's table jumps into a long queue by position, and goes on up or down from a cursor it holds."""
    for i in range(12):
        world.open(subject=f"Ticket {i}")
    world.open(subject="Billing ticket only", department_id=world.billing, by=world.admin)
    for agent in (world.admin, world.limited):
        every, _ = queues.queue_ids(world.db, agent, criteria, sort=SortKey.NUMBER)
        upward, _ = queues.queue_ids(world.db, agent, criteria, sort=SortKey.NUMBER, descending=False)
        assert upward == every[::-1] and len(every) == (13 if agent is world.admin else 12)
        for skip in (0, 1, 5, len(every) - 1, len(every), len(every) + 3):
            chunk, cursor = queues.queue_ids(world.db, agent, criteria, sort=SortKey.NUMBER, skip=skip, limit=4)
            assert chunk == every[skip : skip + 4]
            assert (cursor is None) == (skip + 4 >= len(every))
            if cursor is not None:  # down from the window's last ticket, and up from it
                after, _ = queues.queue_ids(world.db, agent, criteria, sort=SortKey.NUMBER, cursor=cursor, limit=3)
                assert after == every[skip + 4 : skip + 7]
                before, _ = queues.queue_ids(
                    world.db, agent, criteria, sort=SortKey.NUMBER, descending=False, cursor=cursor, skip=1, limit=2
                )
                assert before == every[skip : skip + 2][::-1]
    with pytest.raises(Invalid, match="0 to 10,000,000 tickets"):
        queues.queue_ids(world.db, world.admin, criteria, skip=-1)


def test_criteria_filters(world: World) -> None:
    db = world.db
    high = world.open(subject="Disk full", priority_id=world.priorities["High"])
    world.open(subject="Disk slow", department_id=world.billing, by=world.admin)
    page = queues.queue_page(db, world.admin, Criteria(priority_ids=(world.priorities["High"],)))
    assert ids(page) == [high.id] and page.total == 1
    page = queues.queue_page(db, world.admin, Criteria(text="disk", department_ids=(world.billing,)))
    assert page.total == 1 and page.rows[0].department == "Billing"
    page = queues.queue_page(db, world.admin, Criteria(queue=Queue.OPEN, unassigned=True, text="full"))
    assert ids(page) == [high.id]


def test_saved_searches_round_trip(world: World) -> None:
    criteria = Criteria(queue=Queue.OPEN, priority_ids=(world.priorities["High"],), text="disk")
    search_id = queues.save_search(world.db, world.manager, "  Hot   disks ", criteria)
    assert queues.saved_searches(world.db, world.manager) == [(search_id, "Hot disks", criteria)]
    assert queues.saved_searches(world.db, world.limited) == []
    with pytest.raises(Invalid):
        queues.save_search(world.db, world.manager, " ", criteria)
    queues.delete_saved_search(world.db, world.manager, search_id)
    assert queues.saved_searches(world.db, world.manager) == []


def test_search_respects_visibility_and_bad_input(world: World) -> None:
    support = world.open(subject="Kerberos ticket expired")
    world.open(subject="Kerberos on billing box", department_id=world.billing, by=world.admin)
    assert ids(queues.search_tickets(world.db, world.limited, "kerberos")) == [support.id]
    assert len(queues.search_tickets(world.db, world.admin, "kerber").rows) == 2
    assert ids(queues.search_tickets(world.db, world.admin, support.number)) == [support.id]
    with pytest.raises(Invalid, match="at least one word"):
        queues.search_tickets(world.db, world.admin, "a an")
