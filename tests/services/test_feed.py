"""The change feed as agents read it: visibility, who changed what, and changes that commit out of id order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desk.domain.alerts import ASPECT
from desk.domain.enums import ActorKind
from desk.domain.errors import PermissionDenied
from desk.services import feed, tickets
from desk.storage import changes
from tests.conftest import engine_params
from tests.services.conftest import World

on_servers = pytest.mark.parametrize("database_url", [e for e in engine_params() if e != "sqlite"], indirect=True)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_changes_name_the_actor_and_follow_visibility(world: World) -> None:
    start = feed.latest_change_id(world.db, world.manager)
    support = world.open()
    billing = world.open(subject="Invoice twice", department_id=world.billing, by=world.admin)
    tickets.set_priority(world.db, world.manager, support.id, world.priorities["High"])

    seen_by_manager = feed.changes_since(world.db, world.manager, start)
    # (and, told to them alone, their alert of the new ticket in Support: tests/services/test_alerts.py)
    assert [c.ticket_id for c in seen_by_manager if c.aspect == ASPECT] == [None]
    assert {c.ticket_id for c in seen_by_manager if c.aspect != ASPECT} == {support.id}
    assert seen_by_manager[-1].aspect == "priority"
    assert seen_by_manager[-1].actor == "Manager Agent"
    assert seen_by_manager[-1].actor_kind == ActorKind.AGENT
    assert seen_by_manager[-1].actor_id == world.manager.id
    assert [c.id for c in seen_by_manager] == sorted(c.id for c in seen_by_manager)

    assert {c.ticket_id for c in feed.changes_since(world.db, world.viewer, start)} == {billing.id, None}
    everything = feed.changes_since(world.db, world.admin, start)
    assert {c.ticket_id for c in everything} == {support.id, billing.id}
    assert feed.latest_change_id(world.db, world.manager) == everything[-1].id
    assert feed.changes_since(world.db, world.outsider, start) == []
    with pytest.raises(PermissionDenied):
        feed.changes_since(world.db, world.alice, start)


def test_reader_returns_each_change_once_and_pages(world: World) -> None:
    reader = feed.FeedReader(world.db, world.admin, limit=2)
    reader.start()
    ticket = world.open()
    for name in ("High", "Low", "Normal"):
        tickets.set_priority(world.db, world.admin, ticket.id, world.priorities[name])
    first = reader.read()
    assert [c.aspect for c in first] == ["created", "priority", "priority", "priority"]
    assert reader.read() == []  # the overlap window is read again, nothing is returned twice


def test_reader_moves_its_floor_after_the_overlap(world: World) -> None:
    clock = Clock()
    reader = feed.FeedReader(world.db, world.admin, overlap_seconds=5, clock=clock)
    reader.start()
    ticket = world.open()
    assert len(reader.read()) == 1
    clock.now += 6
    tickets.set_priority(world.db, world.admin, ticket.id, world.priorities["High"])
    assert [c.aspect for c in reader.read()] == ["priority"]
    clock.now += 6
    assert reader.read() == []


@on_servers
def test_a_change_committed_out_of_id_order_is_not_missed(world: World) -> None:
    """Two real transactions: the one with the lower change id commits after the one with the higher id."""
    ticket = world.open()
    reader = feed.FeedReader(world.db, world.admin)
    reader.start()
    naive_after = feed.latest_change_id(world.db, world.admin)
    at = datetime.now(UTC)
    with world.db.transaction() as slow:
        changes.record(slow, ticket.id, "slow", ActorKind.AGENT, world.manager.id, at)
        slow.flush()  # the slow transaction now holds the lower id, uncommitted
        with world.db.transaction() as quick:
            changes.record(quick, ticket.id, "quick", ActorKind.AGENT, world.admin.id, at)
        seen = reader.read()
        assert [c.aspect for c in seen] == ["quick"]
        naive = feed.changes_since(world.db, world.admin, naive_after)
        naive_after = max(c.id for c in naive)
    # A reader that only asks for ids above the last one it saw never sees the slow change.
    assert feed.changes_since(world.db, world.admin, naive_after) == []
    late = reader.read()
    assert [(c.aspect, c.actor) for c in late] == [("slow", "Manager Agent")]
    assert late[0].id < seen[0].id
    assert reader.read() == []
