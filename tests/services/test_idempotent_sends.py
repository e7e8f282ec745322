"""Replies and notes sent with a client key arrive once, however often the send is repeated (issue 5, part 3)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from desk.domain.errors import Conflict, Invalid
from desk.domain.views import TicketView
from desk.services import entries, tickets
from desk.storage.models import ThreadEntry
from tests.services.conftest import World, count


def test_a_repeated_reply_is_posted_once(world: World) -> None:
    ticket = world.open()
    key = str(uuid.uuid4())
    first = entries.post_reply(
        world.db, world.manager, ticket.id, "Try this.", client_key=key, expected_version=ticket.version
    )
    # The first attempt's outcome was unknown to the client, which sends again with the version it had: the key
    # is found before the version check, so this is not a conflict but the same reply.
    again = entries.post_reply(
        world.db, world.manager, ticket.id, "Try this.", client_key=key, expected_version=ticket.version
    )
    assert count(world.db, ThreadEntry, ThreadEntry.ticket_id == ticket.id) == 2  # the opening message and one reply
    assert again.version == first.version and again.thread == first.thread


def test_a_repeated_note_with_a_status_is_applied_once(world: World) -> None:
    ticket = world.open()
    key = str(uuid.uuid4())
    resolved = world.statuses["Resolved"]
    first = entries.post_note(world.db, world.manager, ticket.id, "Done.", status_id=resolved, client_key=key)
    again = entries.post_note(world.db, world.manager, ticket.id, "Done.", status_id=resolved, client_key=key)
    assert again.status.name == first.status.name == "Resolved"
    assert [item.kind.value for item in again.thread].count("resolved") == 1
    assert count(world.db, ThreadEntry, ThreadEntry.client_key == key) == 1


def test_without_a_key_each_send_is_a_new_entry(world: World) -> None:
    ticket = world.open()
    entries.post_note(world.db, world.manager, ticket.id, "Same words")
    entries.post_note(world.db, world.manager, ticket.id, "Same words")
    assert count(world.db, ThreadEntry, ThreadEntry.ticket_id == ticket.id) == 3


def test_a_new_key_on_a_changed_ticket_is_still_a_conflict(world: World) -> None:
    ticket = world.open()
    tickets.set_priority(world.db, world.admin, ticket.id, world.priorities["High"])
    with pytest.raises(Conflict):
        entries.post_reply(
            world.db, world.manager, ticket.id, "Stale", client_key=str(uuid.uuid4()), expected_version=ticket.version
        )
    assert count(world.db, ThreadEntry, ThreadEntry.ticket_id == ticket.id) == 1


def test_a_key_belongs_to_one_send(world: World) -> None:
    first, second = world.open(), world.open("Another")
    key = str(uuid.uuid4())
    entries.post_note(world.db, world.manager, first.id, "Here", client_key=key)
    with pytest.raises(Invalid, match="client key"):
        entries.post_note(world.db, world.manager, second.id, "There", client_key=key)
    with pytest.raises(Invalid, match="client key"):
        entries.post_note(world.db, world.admin, first.id, "Someone else", client_key=key)
    with pytest.raises(Invalid, match="client key"):
        entries.post_note(world.db, world.manager, first.id, "Short", client_key="x")


def test_concurrent_attempts_with_one_key_post_once(world: World) -> None:
    """The retry arrives while the first attempt's transaction is still open (its COMMIT was in flight when the
    connection broke): the retry waits for it, then reports the entry it wrote."""
    ticket = world.open()
    key = str(uuid.uuid4())
    results: list[TicketView | BaseException] = []

    def retry() -> None:
        try:
            results.append(entries.post_reply(world.db, world.manager, ticket.id, "Once", client_key=key))
        except BaseException as error:  # reported by the assertion below
            results.append(error)

    post_reply_in = entries.post_reply.__wrapped__  # type: ignore[attr-defined]  # functools.wraps keeps it
    with world.db.transaction() as session:
        post_reply_in(session, world.manager, ticket.id, "Once", client_key=key)
        session.flush()
        thread = threading.Thread(target=retry)
        thread.start()
        time.sleep(0.5)  # the retry is now blocked on the key's unique index (or SQLite's write lock)
    thread.join(30)
    assert len(results) == 1 and isinstance(results[0], TicketView), results
    assert [item.kind.value for item in results[0].thread].count("reply") == 1
    assert count(world.db, ThreadEntry, ThreadEntry.client_key == key) == 1
