"""Several agents at once: stale saves are refused with who and what, nothing is lost, numbers stay unique."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

from sqlalchemy import select

from desk.domain.errors import Conflict
from desk.domain.permissions import SystemActor
from desk.services import settings, tickets
from desk.storage.db import Database
from desk.storage.models import Ticket
from tests.services.conftest import World, events

PROCESSES = 8
TICKETS_EACH = 6


def test_two_agents_save_the_same_version(world: World) -> None:
    """Both loaded version v; exactly one save wins, the other gets a Conflict naming the winner."""
    ticket = world.open()
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(name: str, priority: str) -> None:
        actor = world.manager if name == "manager" else world.admin
        barrier.wait()
        try:
            tickets.set_priority(
                world.db, actor, ticket.id, world.priorities[priority], expected_version=ticket.version
            )
            outcomes[name] = "saved"
        except Conflict as conflict:
            outcomes[name] = conflict

    threads = [
        threading.Thread(target=save, args=("manager", "High")),
        threading.Thread(target=save, args=("admin", "Low")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes.values()) == ["Conflict", "str"]
    winner = next(name for name, o in outcomes.items() if o == "saved")
    loser = next(o for o in outcomes.values() if isinstance(o, Conflict))
    assert loser.info.changed_by == ("Manager Agent" if winner == "manager" else "Admin Agent")
    final = tickets.get_ticket(world.db, world.admin, ticket.id)
    assert final.priority.name == ("High" if winner == "manager" else "Low")
    assert events(world.db, ticket.id) == ["created", "priority"]


def test_concurrent_changes_without_version_all_land(world: World) -> None:
    """Blind writes race on the version column; the loser is retried, so every change and its event lands."""
    ticket = world.open()
    names = ["Low", "High"] * 4
    barrier = threading.Barrier(len(names))

    def change(priority: str) -> None:
        barrier.wait()
        tickets.set_priority(world.db, world.manager, ticket.id, world.priorities[priority], note=priority)

    threads = [threading.Thread(target=change, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    view = tickets.get_ticket(world.db, world.admin, ticket.id)
    priority_events = events(world.db, ticket.id).count("priority")
    assert 1 <= priority_events <= len(names)
    last = [item for item in view.thread if getattr(item, "kind", None) == "priority"][-1]
    assert last.data["after"]["name"] == view.priority.name  # type: ignore[union-attr]


def _open_many(url: str, count: int) -> list[str]:
    db = Database(url)
    try:
        return [
            tickets.open_ticket(
                db, SystemActor(), subject=f"Load {i}", body="Concurrent", requester_email=f"load{i}@example.com"
            ).number
            for i in range(count)
        ]
    finally:
        db.dispose()


def _open_from_processes(url: str) -> list[str]:
    # fork: a spawned child spends seconds re-importing; each child opens its own engine, never the parent's pool.
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.starmap(_open_many, [(url, TICKETS_EACH)] * PROCESSES)
    return [number for numbers in results for number in numbers]


def test_processes_get_unique_random_numbers(world: World, database_url: str) -> None:
    with world.db.transaction() as session:
        settings.put(session, "ticket.number_format", "###")  # 1,000 numbers for 48 tickets: collisions happen
    numbers = _open_from_processes(database_url)
    assert len(numbers) == PROCESSES * TICKETS_EACH
    assert [n for n, c in Counter(numbers).items() if c > 1] == []
    with world.db.transaction(write=False) as session:
        assert sorted(session.scalars(select(Ticket.number))) == sorted(numbers)


def test_processes_get_a_gapless_sequence(world: World, database_url: str) -> None:
    with world.db.transaction() as session:
        settings.put(session, "ticket.number_mode", "sequence")
    numbers = _open_from_processes(database_url)
    assert sorted(int(n) for n in numbers) == list(range(1, PROCESSES * TICKETS_EACH + 1))
