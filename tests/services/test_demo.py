"""The demo data: what someone trying Desk relies on, on every engine; and the bulk loader behind benchmarks."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from desk.domain.enums import Queue, StatusState
from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.domain.queues import Criteria
from desk.domain.textsearch import words
from desk.services import accounts, demo, queues, tickets
from desk.services.views import topic_name
from desk.storage.db import Database
from desk.storage.models import (
    Department,
    Follower,
    HelpTopic,
    Priority,
    Schedule,
    SearchDocument,
    SlaPlan,
    Status,
    Team,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    TicketLink,
    TicketTally,
)
from tests.services.conftest import count


def recount(db: Database, agent: AgentActor) -> dict[Queue, int]:
    """Every sidebar count by plain SQL over the tickets the agent may see."""
    with db.transaction(write=False) as session:
        hold = list(session.scalars(select(Status.id).where(Status.on_hold.is_(True))))
        visible: list[object] = []
        if not agent.is_admin:
            visible.append(
                (Ticket.assignee_id == agent.id)
                | Ticket.department_id.in_(list(agent.departments))
                | Ticket.team_id.in_(list(agent.teams))
            )

        def n(*where: object) -> int:
            query = select(func.count()).select_from(Ticket).where(*visible, *where)  # type: ignore[arg-type]
            return session.scalar(query) or 0

        is_open = Ticket.state == StatusState.OPEN.value
        return {
            Queue.OPEN: n(is_open),
            Queue.UNANSWERED: n(is_open, Ticket.answered.is_(False)),
            Queue.ANSWERED: n(is_open, Ticket.answered.is_(True)),
            Queue.MINE: n(is_open, Ticket.assignee_id == agent.id),
            Queue.MY_TEAMS: n(is_open, Ticket.team_id.in_(list(agent.teams))),
            Queue.FOLLOWING: n(is_open, Ticket.id.in_(select(Follower.ticket_id).where(Follower.agent_id == agent.id))),
            Queue.UNASSIGNED: n(is_open, Ticket.assignee_id.is_(None)),
            Queue.OVERDUE: n(is_open, Ticket.overdue.is_(True)),
            Queue.ON_HOLD: n(is_open, Ticket.status_id.in_(hold)),
            Queue.CLOSED: n(Ticket.state == StatusState.CLOSED.value),
        }


def tallies_match_tickets(db: Database) -> bool:
    with db.transaction(write=False) as session:
        kept = {
            (t.department_id, t.status_id, t.assignee_id, t.team_id, bool(t.answered), bool(t.overdue)): t.count
            for t in session.scalars(select(TicketTally).where(TicketTally.count != 0))
        }
        counted = {
            (department, status, assignee or 0, team or 0, bool(answered), bool(overdue)): n
            for department, status, assignee, team, answered, overdue, n in session.execute(
                select(
                    Ticket.department_id,
                    Ticket.status_id,
                    Ticket.assignee_id,
                    Ticket.team_id,
                    Ticket.answered,
                    Ticket.overdue,
                    func.count(),
                ).group_by(
                    Ticket.department_id,
                    Ticket.status_id,
                    Ticket.assignee_id,
                    Ticket.team_id,
                    Ticket.answered,
                    Ticket.overdue,
                )
            )
        }
    return kept == counted


def test_demo_is_a_help_desk_to_try(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "LONG_THREAD", 60)  # 200 service calls for the benchmark's long thread take seconds
    summary = demo.build_demo(db, tickets=60)
    assert "60 tickets" in summary and "admin / demo-admin" in summary

    with db.transaction(write=False) as session:
        departments = {d.name: d for d in session.scalars(select(Department))}
        assert {"Support", "Online Banking", "Billing"} <= departments.keys()
        teams = {t.name: t.id for t in session.scalars(select(Team))}
        assert {"Level 2", "Billing desk"} <= teams.keys()
        hours = session.scalar(select(Schedule.id).where(Schedule.name == "Business hours"))
        plans = {
            p.name: (p.first_response_hours, p.resolution_hours, p.schedule_id)
            for p in session.scalars(select(SlaPlan))
        }
        assert [plans["Sev-A"], plans["Sev-B"], plans["Sev-C"][1:]] == [(1, 4, None), (2, 8, hours), (24, hours)]
        assert "Default" in plans
        priorities = {p.id: p.name for p in session.scalars(select(Priority))}
        sla_names = {p.id: p.name for p in session.scalars(select(SlaPlan))}
        topics = {topic_name(session, t): t for t in session.scalars(select(HelpTopic))}
        assert set(topics) == {
            "Report a Problem",
            "Report a Problem / Business Critical Outage",
            "Access Issue",
            "Billing question",
            "Feedback",
        }
        outage = topics["Report a Problem / Business Critical Outage"]
        assert (priorities[outage.priority_id or 0], sla_names[outage.sla_id or 0]) == ("Emergency", "Sev-A")
        assert outage.assign_team_id == teams["Level 2"]
        assert topics["Access Issue"].department_id == departments["Online Banking"].id
        assert priorities[topics["Access Issue"].priority_id or 0] == "High"
        assert sla_names[topics["Billing question"].sla_id or 0] == "Sev-C"
        assert priorities[topics["Feedback"].priority_id or 0] == "Low"

    admin = accounts.authenticate_agent(db, "admin", "demo-admin")
    john = accounts.authenticate_agent(db, "john", "demo-john")
    assert admin.is_admin and Right.ADMIN not in john.rights
    assert set(admin.departments) == {d.id for d in departments.values()}
    assert set(john.departments) == {departments["Support"].id, departments["Online Banking"].id}
    assert john.teams == frozenset({teams["Level 2"]})

    # Every status and every open queue has tickets, and the special tickets are there.
    with db.transaction(write=False) as session:
        statuses = {s.name: s.id for s in session.scalars(select(Status))}
    for name in ("Open", "On hold", "Pending", "Resolved", "Closed"):
        assert count(db, Ticket, Ticket.status_id == statuses[name]) > 0, name
    counts = queues.queue_counts(db, admin)
    for queue in (Queue.UNANSWERED, Queue.ANSWERED, Queue.UNASSIGNED, Queue.OVERDUE, Queue.ON_HOLD, Queue.CLOSED):
        assert counts[queue] > 0, queue
    assert count(db, Ticket, Ticket.assignee_id.is_not(None), Ticket.state == "open") > 0
    assert count(db, Ticket, Ticket.merged_into_id.is_not(None)) == 1
    assert count(db, TicketLink) == 1
    assert count(db, ThreadEntry, ThreadEntry.kind == "note") > 0
    with db.transaction(write=False) as session:
        long_id = session.scalar(select(Ticket.id).where(Ticket.subject == demo.LONG_THREAD_SUBJECT))
    assert count(db, ThreadEntry, ThreadEntry.ticket_id == long_id) == demo.LONG_THREAD

    # Counts are right for the administrator and for john, who sees Support's, Online Banking's and Level 2's
    # tickets only.
    assert counts == recount(db, admin)
    assert queues.queue_counts(db, john) == recount(db, john)
    john_page = queues.queue_page(db, john, Criteria(queue=Queue.OPEN), limit=500)
    assert john_page.total == recount(db, john)[Queue.OPEN] == len(john_page.rows)
    johns = {"Support", "Online Banking"}
    assert {row.department in johns or row.team == "Level 2" for row in john_page.rows} == {True}
    assert any(row.department not in johns for row in john_page.rows), "an escalated ticket from another department"
    assert queues.queue_page(db, admin, Criteria(queue=Queue.OPEN)).total > john_page.total

    # Search finds words of the threads: the requester's message and an agent's internal note.
    found = queues.search_tickets(db, admin, demo.RARE_WORD)
    assert len(found.rows) == 1
    with db.transaction(write=False) as session:
        opening = session.scalar(
            select(ThreadEntry.body_text).where(ThreadEntry.ticket_id == found.rows[0].id).order_by(ThreadEntry.id)
        )
        note = session.scalar(select(ThreadEntry).where(ThreadEntry.kind == "note").order_by(ThreadEntry.id))
        assert note is not None
    assert opening is not None and demo.RARE_WORD in opening.lower()
    word = max(words(note.body_text), key=len)
    assert note.ticket_id in {row.id for row in queues.search_tickets(db, admin, word, limit=500).rows}

    # The story happened over the last two months, in order, and nothing is stamped in the future.
    now = datetime.now(UTC)
    with db.transaction(write=False) as session:
        first, last = session.execute(select(func.min(Ticket.created_at), func.max(Ticket.updated_at))).one()
        assert now - timedelta(days=demo.DAYS + 1) < first and last <= now
        for model in (ThreadEntry, ThreadEvent):
            early = session.scalar(
                select(func.count())
                .select_from(model)
                .join(Ticket, Ticket.id == model.ticket_id)
                .where(model.created_at < Ticket.created_at)
            )
            late = session.scalar(
                select(func.count())
                .select_from(model)
                .join(Ticket, Ticket.id == model.ticket_id)
                .where(model.created_at > Ticket.updated_at)
            )
            assert (early, late) == (0, 0), model
    assert tallies_match_tickets(db)

    # Building again adds nothing.
    again = demo.build_demo(db, tickets=60)
    assert "nothing was added" in again
    assert count(db, Ticket) == 60


def test_bulk_load_follows_the_services_rules(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "BULK_THRESHOLD", 500)
    monkeypatch.setattr(demo, "SHOWCASE", 30)
    monkeypatch.setattr(demo, "BATCH", 700)  # several batches, the last one short
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    monkeypatch.setattr(demo, "LONGEST_THREAD", 30)
    demo.build_demo(db, tickets=2000)

    assert count(db, Ticket) == 2000
    with db.transaction(write=False) as session:
        last_id = session.scalar(select(func.max(Ticket.id))) or 0
        longest = session.scalar(select(Ticket.id).where(Ticket.subject == demo.LONGEST_THREAD_SUBJECT))
    assert count(db, ThreadEntry, ThreadEntry.ticket_id == longest) == 30  # the benchmarks' longest thread
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count(func.distinct(Ticket.number)))) == 2000
        without_entries = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.merged_into_id.is_(None),  # a merged ticket's entries moved to the one it was merged into
                ~select(ThreadEntry.id).where(ThreadEntry.ticket_id == Ticket.id).exists(),
            )
        )
        assert without_entries == 0
        without_document = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(~select(SearchDocument.ticket_id).where(SearchDocument.ticket_id == Ticket.id).exists())
        )
        assert without_document == 0
        without_created_event = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                ~select(ThreadEvent.id)
                .where(ThreadEvent.ticket_id == Ticket.id, ThreadEvent.kind == "created")
                .exists()
            )
        )
        assert without_created_event == 0
        by_state = dict(session.execute(select(Ticket.state, func.count()).group_by(Ticket.state)).all())
        # Overdue only where the services would flag it: open, past due, clock running (or flagged before a pause).
        wrong_overdue = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.overdue.is_(True), Ticket.state != "open")
        )
        assert wrong_overdue == 0
        missed = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.state == "open",
                Ticket.overdue.is_(False),
                Ticket.sla_paused_at.is_(None),
                Ticket.due_at < datetime.now(UTC) - timedelta(minutes=5),
            )
        )
        assert missed == 0
        stamped = [session.scalar(select(func.max(model.created_at))) for model in (ThreadEntry, ThreadEvent)] + [
            session.scalar(select(func.max(Ticket.updated_at)))
        ]
    assert max(at for at in stamped if at is not None) <= datetime.now(UTC), "nothing happens in the future"
    assert 0.78 < by_state["closed"] / 2000 < 0.92
    assert 4 <= count(db, ThreadEntry) / 2000 <= 6
    assert tallies_match_tickets(db)
    admin = accounts.agent_by_username(db, "admin")
    assert queues.queue_counts(db, admin) == recount(db, admin)

    # The loaded database is ready for work: search finds bulk tickets, and new tickets get fresh ids and numbers.
    common = queues.search_tickets(db, admin, demo.COMMON_WORD, limit=50)
    assert len(common.rows) == 50
    created = tickets.open_ticket(
        db, SystemActor(), subject="After the load", body="A new ticket.", requester_email="new@example.com"
    )
    assert created.id > last_id and count(db, Ticket) == 2001
    assert queues.queue_counts(db, admin) == recount(db, admin)


@pytest.mark.parametrize("count", [1, 10])
def test_a_small_demo_is_built_too(db: Database, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every story's agents work in its ticket's department, however few tickets there are."""
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    demo.build_demo(db, tickets=count)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == count


def _pattern(template: str) -> re.Pattern[str]:
    """A demo text template as a pattern: each {field} stands for any text."""
    parts = string.Formatter().parse(template)
    return re.compile(
        "".join(re.escape(literal) + (".+?" if field is not None else "") for literal, field, *_ in parts)
    )


def test_every_demo_ticket_is_about_one_thing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticket's first message is the one written for its subject, and every later entry belongs to the same kind
    of ticket, in the showcase and in the bulk load alike (no "App crashes on startup" ticket about a transfer)."""
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    monkeypatch.setattr(demo, "LONGEST_THREAD", 30)
    monkeypatch.setattr(demo, "BULK_THRESHOLD", 100)
    monkeypatch.setattr(demo, "SHOWCASE", 60)
    demo.build_demo(db, tickets=400)

    cases = [
        (_pattern(subject), _pattern(opening), scenario)
        for scenario in demo.SCENARIOS
        for subject, opening in scenario.cases
    ]
    cases.append((_pattern(demo.RARE_SUBJECT), _pattern(demo.RARE_OPENING), demo.CARDS))
    with db.transaction(write=False) as session:
        threads: dict[int, list[tuple[str, str]]] = {}
        for ticket_id, kind, body in session.execute(
            select(ThreadEntry.ticket_id, ThreadEntry.kind, ThreadEntry.body_text).order_by(ThreadEntry.id)
        ):
            threads.setdefault(ticket_id, []).append((kind, body))
        merged = Ticket.merged_into_id.is_not(None)
        subjects = {i: subject for i, subject in session.execute(select(Ticket.id, Ticket.subject).where(~merged))}
    checked = 0
    for ticket_id, subject in subjects.items():
        (first_kind, first), *rest = threads[ticket_id]
        assert first_kind == "message"
        if subject in (demo.LONG_THREAD_SUBJECT, demo.LONGEST_THREAD_SUBJECT):
            assert _pattern(demo.LONG_THREAD_OPENING).fullmatch(first)
            continue
        matching = [
            (opening, scenario) for subject_pattern, opening, scenario in cases if subject_pattern.fullmatch(subject)
        ]
        assert matching, f"{subject!r} is no case of the demo"
        scenario = next((s for opening, s in matching if opening.fullmatch(first)), None)
        assert scenario is not None, f"ticket {subject!r} opened with {first!r}"
        said = {
            "message": [
                *scenario.followups,
                *(o for _, o in scenario.cases),
                "Sorry, it's happening again." + demo.SIGN,
            ],
            "reply": [*scenario.replies, *scenario.fixes],
            "note": list(scenario.notes),
        }
        for kind, body in rest:
            assert any(_pattern(text).fullmatch(body) for text in said[kind]), f"{subject!r} has the {kind} {body!r}"
        checked += 1
    assert checked > 300
