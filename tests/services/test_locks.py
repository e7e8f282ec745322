"""Ticket locks: taken by the writer, refused to others with who and until when, expiring, released, taken over,
and won by exactly one of several agents who try at the same moment (threads and processes, on every engine)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from desk.domain.errors import Conflict, Locked, PermissionDenied
from desk.domain.permissions import AgentActor
from desk.services import accounts, lifecycle, locks, settings
from desk.services.base import now
from desk.storage.db import Database
from desk.storage.models import TicketLock
from tests.services.conftest import World

CONTENDERS = 8


def _expire(db: Database, ticket_id: int) -> None:
    with db.transaction() as session:
        session.execute(
            update(TicketLock).where(TicketLock.ticket_id == ticket_id).values(expires_at=now() - timedelta(seconds=1))
        )


def _rows(db: Database, ticket_id: int) -> list[int]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(TicketLock.agent_id).where(TicketLock.ticket_id == ticket_id)))


def test_the_writer_takes_the_lock_for_the_configured_minutes(world: World) -> None:
    ticket = world.open()
    before = now()
    lock = locks.acquire(world.db, world.manager, ticket.id)
    assert lock is not None
    assert lock.agent.name == "Manager Agent"
    assert before + timedelta(minutes=3) <= lock.expires_at <= now() + timedelta(minutes=3)
    assert locks.holder(world.db, world.admin, ticket.id) == lock


def test_another_agent_is_refused_with_the_holder_and_the_time(world: World) -> None:
    ticket = world.open()
    lock = locks.acquire(world.db, world.manager, ticket.id)
    assert lock is not None
    with pytest.raises(Locked) as refused:
        locks.acquire(world.db, world.limited, ticket.id)
    assert isinstance(refused.value, Conflict)  # callers that only know Conflict still keep the agent's input
    assert refused.value.holder_name == "Manager Agent"
    assert refused.value.holder_id == world.manager.id
    assert refused.value.until == lock.expires_at
    assert refused.value.info.changed_by == "Manager Agent"
    assert f"{lock.expires_at:%H:%M}" in str(refused.value)
    assert _rows(world.db, ticket.id) == [world.manager.id]


def test_renewing_extends_and_keeps_one_row(world: World) -> None:
    ticket = world.open()
    first = locks.acquire(world.db, world.manager, ticket.id)
    second = locks.renew(world.db, world.manager, ticket.id)
    assert first is not None and second is not None
    assert second.expires_at >= first.expires_at
    assert _rows(world.db, ticket.id) == [world.manager.id]


def test_an_expired_lock_is_free(world: World) -> None:
    ticket = world.open()
    locks.acquire(world.db, world.manager, ticket.id)
    _expire(world.db, ticket.id)
    assert locks.holder(world.db, world.admin, ticket.id) is None
    lock = locks.acquire(world.db, world.limited, ticket.id)
    assert lock is not None and lock.agent.id == world.limited.id
    assert _rows(world.db, ticket.id) == [world.limited.id]


def test_release_frees_only_the_holders_lock(world: World) -> None:
    ticket = world.open()
    locks.acquire(world.db, world.manager, ticket.id)
    locks.release(world.db, world.limited, ticket.id)  # not theirs: nothing happens
    assert _rows(world.db, ticket.id) == [world.manager.id]
    locks.release(world.db, world.manager, ticket.id)
    assert _rows(world.db, ticket.id) == []
    locks.release(world.db, world.manager, ticket.id)  # twice is fine (sent, then the tab closed)
    assert locks.holder(world.db, world.manager, ticket.id) is None


def test_take_over_moves_the_lock_and_the_previous_holder_learns_it_on_renewal(world: World) -> None:
    ticket = world.open()
    locks.acquire(world.db, world.limited, ticket.id)
    taken = locks.take_over(world.db, world.manager, ticket.id)
    assert taken is not None and taken.agent.id == world.manager.id
    with pytest.raises(Locked) as refused:
        locks.renew(world.db, world.limited, ticket.id)
    assert refused.value.holder_name == "Manager Agent"
    assert _rows(world.db, ticket.id) == [world.manager.id]
    locks.release(world.db, world.manager, ticket.id)
    assert locks.take_over(world.db, world.manager, ticket.id) is not None  # a free lock is simply taken


def test_take_over_needs_ticket_assign_and_locked_says_whether_it_is_allowed(world: World) -> None:
    replier = world.outsider  # no department: as the assignee they may reply, not reassign
    ticket = world.open(assignee_id=replier.id)
    locks.acquire(world.db, world.manager, ticket.id)
    with pytest.raises(Locked) as refused:
        locks.acquire(world.db, replier, ticket.id)
    assert not refused.value.can_take_over
    with pytest.raises(PermissionDenied, match="You have no role in Support, so you cannot take over another agent's"):
        locks.take_over(world.db, replier, ticket.id)
    assert _rows(world.db, ticket.id) == [world.manager.id]
    with pytest.raises(Locked) as allowed:
        locks.acquire(world.db, world.admin, ticket.id)
    assert allowed.value.can_take_over


def test_zero_minutes_turns_locking_off(world: World) -> None:
    with world.db.transaction() as session:
        settings.put(session, "ticket.lock_minutes", 0)
    ticket = world.open()
    assert locks.acquire(world.db, world.manager, ticket.id) is None
    assert locks.acquire(world.db, world.limited, ticket.id) is None
    assert locks.take_over(world.db, world.admin, ticket.id) is None
    assert _rows(world.db, ticket.id) == []


def test_closing_the_ticket_drops_its_lock(world: World) -> None:
    ticket = world.open()
    locks.acquire(world.db, world.manager, ticket.id)
    lifecycle.close(world.db, world.admin, ticket.id)
    assert locks.holder(world.db, world.admin, ticket.id) is None


def test_locks_write_no_ticket_change(world: World) -> None:
    """A lock is not a change of the ticket: no version bump, so taking it never makes a save stale."""
    ticket = world.open()
    locks.acquire(world.db, world.manager, ticket.id)
    locks.take_over(world.db, world.admin, ticket.id)
    locks.release(world.db, world.admin, ticket.id)
    assert lifecycle.resolve(world.db, world.limited, ticket.id, expected_version=ticket.version) is not None


def _contend(agents: list[AgentActor], acquire: object) -> dict[int, str]:
    barrier = threading.Barrier(len(agents))
    outcomes: dict[int, str] = {}

    def attempt(agent: AgentActor) -> None:
        barrier.wait()
        try:
            outcomes[agent.id] = "won" if acquire(agent) is not None else "off"  # type: ignore[operator]
        except Locked as refused:
            outcomes[agent.id] = f"lost to {refused.holder_id}"

    threads = [threading.Thread(target=attempt, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _contenders(world: World) -> list[AgentActor]:
    return [
        accounts.add_agent(
            world.db,
            world.admin,
            username=f"racer{i}",
            name=f"Racer {i}",
            email=f"racer{i}@desk.example",
            password="racer-password",
            access={"Support": "Limited access"},
        )
        for i in range(CONTENDERS)
    ]


def _assert_one_winner(world: World, ticket_id: int, outcomes: dict[int, str]) -> None:
    winners = [agent for agent, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert all(outcome == f"lost to {winners[0]}" for agent, outcome in outcomes.items() if agent != winners[0])
    assert _rows(world.db, ticket_id) == winners


def test_agents_racing_for_a_free_lock_exactly_one_wins(world: World) -> None:
    ticket = world.open()
    agents = _contenders(world)
    outcomes = _contend(agents, lambda agent: locks.acquire(world.db, agent, ticket.id))
    _assert_one_winner(world, ticket.id, outcomes)


def test_agents_racing_for_an_expired_lock_exactly_one_wins(world: World) -> None:
    ticket = world.open()
    locks.acquire(world.db, world.manager, ticket.id)
    _expire(world.db, ticket.id)
    outcomes = _contend(_contenders(world), lambda agent: locks.acquire(world.db, agent, ticket.id))
    _assert_one_winner(world, ticket.id, outcomes)


def _acquire_in_process(url: str, agent: AgentActor, ticket_id: int, start: float) -> str:
    import time

    db = Database(url)  # a fresh engine: a forked child must never use the parent's pooled connections
    try:
        time.sleep(max(0.0, start - time.time()))  # start together, as a barrier across processes
        try:
            locks.acquire(db, agent, ticket_id)
        except Locked as refused:
            return f"lost to {refused.holder_id}"
        return "won"
    finally:
        db.dispose()


def test_processes_racing_for_a_lock_exactly_one_wins(world: World, database_url: str) -> None:
    import time

    ticket = world.open()
    agents = _contenders(world)
    start = time.time() + 1.0
    with multiprocessing.get_context("fork").Pool(len(agents)) as pool:
        results = pool.starmap(_acquire_in_process, [(database_url, agent, ticket.id, start) for agent in agents])
    _assert_one_winner(world, ticket.id, {agent.id: result for agent, result in zip(agents, results, strict=True)})
