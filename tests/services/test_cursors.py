"""Page cursors come back from clients: whatever one holds, a page is a page or the answer is Invalid, on every engine.

A cursor holding an out-of-range date or an integer beyond 64 bits used to fail inside the database driver
(OverflowError), which the Support Center and the API answered with a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from desk.domain.enums import Queue, SortKey
from desk.domain.errors import Invalid
from desk.domain.queues import Criteria
from desk.services import portal, queues
from tests.domain.test_inputs import any_cursor, cursor_of
from tests.services.conftest import World

# The database is only read: one help desk serves every example.
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Cursors that reached the database and failed there, for each sort column's type.
BROKEN = [
    (SortKey.PRIORITY, 2**70, 1),
    (SortKey.PRIORITY, 40_000, 1),
    (SortKey.UPDATED, "0001-01-01T00:00:00+01:00", 1),
    (SortKey.DUE, "9999-12-31T23:59:59-01:00", 1),
    (SortKey.NUMBER, "a\x00b", 1),
    (SortKey.NUMBER, "\ud800", 1),
    (SortKey.NUMBER, "1", 2**40),
]


def page_or_invalid(world: World, sort: SortKey, cursor: str, criteria: Criteria) -> None:
    for walk in (queues.queue_page, queues.queue_ids):
        try:
            walk(world.db, world.admin, criteria, sort=sort, cursor=cursor, limit=5)
        except Invalid as error:
            assert "cursor" in str(error)


@pytest.mark.parametrize(("sort", "value", "last_id"), BROKEN)
def test_cursors_that_failed_in_the_database_are_invalid(world: World, sort: SortKey, value: Any, last_id: int) -> None:
    world.open()
    for criteria in (Criteria(queue=Queue.OPEN), Criteria(text="printer")):  # a plain queue, and a filtered one
        with pytest.raises(Invalid, match="cursor"):
            queues.queue_page(world.db, world.admin, criteria, sort=sort, cursor=cursor_of(value, last_id))
    if sort == SortKey.UPDATED:
        with pytest.raises(Invalid, match="cursor"):
            portal.my_tickets(world.db, world.alice, cursor=cursor_of(value, last_id))


@pytest.mark.parametrize("sort", list(SortKey))
def test_any_cursor_gives_a_page_or_invalid(world: World, sort: SortKey) -> None:
    world.open()

    @FUZZ
    @given(cursor=any_cursor)
    def check(cursor: str) -> None:
        page_or_invalid(world, sort, cursor, Criteria(queue=Queue.OPEN))

    check()


def test_any_cursor_gives_the_end_users_list_or_invalid(world: World) -> None:
    world.open()

    @FUZZ
    @given(cursor=any_cursor)
    def check(cursor: str) -> None:
        try:
            portal.my_tickets(world.db, world.alice, cursor=cursor)
        except Invalid as error:
            assert "cursor" in str(error)

    check()


@pytest.mark.parametrize("limit", [0, -3, 501, 2**70])
def test_a_search_page_size_out_of_range_is_invalid(world: World, limit: int) -> None:
    with pytest.raises(Invalid, match="1 to 500"):
        queues.search_tickets(world.db, world.admin, "printer", limit=limit)
