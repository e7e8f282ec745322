"""Following tickets and @mentions in internal notes: who follows, who is mailed, and the Following queue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.domain.enums import Queue
from desk.domain.errors import NotFound, PermissionDenied
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.services import entries, following, lifecycle, mailboxes, notifications, queues, staff, tickets
from desk.services.base import visible_to
from desk.storage.db import Database
from desk.storage.models import Follower, OutboxMessage, Ticket
from tests.services.conftest import World, count, events, feed

SUPPORT = "support@desk.example"


@pytest.fixture
def mailed(world: World) -> World:
    """The world with a mailbox to send from, so that alerts are queued."""
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address=SUPPORT, smtp_host="127.0.0.1")
    return world


def alerts(db: Database, ticket_id: int, kind: str) -> list[list[str]]:
    """The addressees of each mail of this kind queued about the ticket, in order."""
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return [list(row.recipients["to"]) for row in rows]


def followers(db: Database, ticket_id: int) -> set[int]:
    with db.transaction(write=False) as session:
        return set(session.scalars(select(Follower.agent_id).where(Follower.ticket_id == ticket_id)))


def test_follow_and_unfollow_are_idempotent_and_leave_the_ticket_as_it_was(world: World) -> None:
    db, manager = world.db, world.manager
    ticket = world.open()
    view = following.follow(db, manager, ticket.id)
    again = following.follow(db, manager, ticket.id)
    assert (view.following, [f.name for f in view.followers]) == (True, ["Manager Agent"])
    assert again.followers == view.followers and again.version == ticket.version
    assert followers(db, ticket.id) == {manager.id}
    assert feed(db, ticket.id).count(following.ASPECT) == 1  # the second follow changed nothing
    other = tickets.get_ticket(db, world.limited, ticket.id)
    assert (other.following, [f.name for f in other.followers]) == (False, ["Manager Agent"])
    assert tickets.get_ticket(db, world.alice, ticket.id).followers == ()  # the agents' business only
    assert not following.unfollow(db, manager, ticket.id).following
    assert following.unfollow(db, manager, ticket.id).followers == ()
    assert followers(db, ticket.id) == set()
    assert feed(db, ticket.id).count(following.ASPECT) == 2
    assert events(db, ticket.id) == events(db, world.open().id)  # no thread event: one's own business


@pytest.mark.parametrize("who", ["viewer", "outsider", "alice"])
def test_only_agents_who_see_a_ticket_follow_it(world: World, who: str) -> None:
    ticket = world.open()
    actor = getattr(world, who)
    for service in (following.follow, following.unfollow):
        with pytest.raises(PermissionDenied if who == "alice" else NotFound):
            service(world.db, actor, ticket.id)
    with pytest.raises(NotFound):
        following.follow(world.db, world.manager, 10**6)
    assert count(world.db, Follower) == 0


def test_a_mention_of_an_agent_who_sees_the_ticket_makes_them_follow_and_mails_them(mailed: World) -> None:
    db = mailed.db
    ticket = mailed.open(subject="Printer on fire")
    text = "Smoke from the fuser. @Limited, can you look? cc @admin."
    view = entries.post_note(db, mailed.manager, ticket.id, text)
    assert followers(db, ticket.id) == {mailed.limited.id, mailed.admin.id}
    assert {f.name for f in view.followers} == {"Limited Agent", "Admin Agent"} and not view.following
    assert alerts(db, ticket.id, "alert.mentioned") == [["limited@desk.example", "admin@desk.example"]]
    with db.transaction(write=False) as session:
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert.mentioned")).one()
        assert mail.subject.startswith("Manager Agent mentioned you on #")
        assert text in mail.body_text
    assert tickets.get_ticket(db, mailed.limited, ticket.id).following
    # Mentioned again: mailed again (a mention asks for attention), still one follower row each.
    entries.post_note(db, mailed.manager, ticket.id, "@limited ping")
    assert alerts(db, ticket.id, "alert.mentioned")[1:] == [["limited@desk.example"]]
    assert followers(db, ticket.id) == {mailed.limited.id, mailed.admin.id}


def test_a_mention_of_an_agent_who_may_not_see_the_ticket_does_nothing_they_or_anyone_could_see(
    mailed: World,
) -> None:
    db = mailed.db
    ticket = mailed.open()
    before = count(db, OutboxMessage)
    text = "Ask @viewer and @outsider, or @nobody-here (bob@example.com wrote too)."
    view = entries.post_note(db, mailed.manager, ticket.id, text)
    assert followers(db, ticket.id) == set() and view.followers == ()
    assert count(db, OutboxMessage) == before
    assert view.thread[-1].body_text == text  # type: ignore[union-attr]  # the note as written, nothing added
    assert events(db, ticket.id) == events(db, mailed.open().id)
    for agent in (mailed.viewer, mailed.outsider):
        assert queues.queue_counts(db, agent)[Queue.FOLLOWING] == 0
        with pytest.raises(NotFound):
            tickets.get_ticket(db, agent, ticket.id)


def test_inactive_agents_and_the_author_are_not_mentioned(mailed: World) -> None:
    db = mailed.db
    staff.set_agent_active(db, mailed.admin, mailed.limited.id, False)
    ticket = mailed.open()
    entries.post_note(db, mailed.manager, ticket.id, "@limited @manager see this")
    assert followers(db, ticket.id) == set()
    assert alerts(db, ticket.id, "alert.mentioned") == []


def test_the_mention_alert_can_be_switched_off_and_the_mention_still_follows(mailed: World) -> None:
    db = mailed.db
    notifications.set_notifications(db, mailed.admin, {"alert.mentioned": False}, department_id=mailed.support)
    ticket = mailed.open()
    entries.post_note(db, mailed.manager, ticket.id, "@limited see this")
    assert followers(db, ticket.id) == {mailed.limited.id}
    assert alerts(db, ticket.id, "alert.mentioned") == []


def test_followers_who_see_the_ticket_are_alerted_once_when_the_requester_writes(mailed: World) -> None:
    db, manager = mailed.db, mailed.manager
    ticket = mailed.open(assignee_id=manager.id)
    for agent in (manager, mailed.limited, mailed.admin):
        following.follow(db, agent, ticket.id)
    entries.add_message(db, mailed.alice, ticket.id, "It is still smoking.")
    # The assignee, then the followers in the order they joined Desk, the assignee not twice.
    assert alerts(db, ticket.id, "alert.new_message") == [
        ["manager@desk.example", "admin@desk.example", "limited@desk.example"]
    ]
    # Moved to Billing, where Limited has no role (and it is no team's): Limited is no longer told.
    tickets.transfer(db, mailed.admin, ticket.id, mailed.billing)
    entries.add_message(db, mailed.alice, ticket.id, "Hello?")
    assert alerts(db, ticket.id, "alert.new_message")[1:] == [["manager@desk.example", "admin@desk.example"]]


def direct_following(db: Database, agent: AgentActor) -> set[int]:
    """The Following queue by a plain query: open tickets the agent follows and may see."""
    with db.transaction(write=False) as session:
        statement = (
            select(Ticket.id)
            .join(Follower, Follower.ticket_id == Ticket.id)
            .where(Follower.agent_id == agent.id, Ticket.state == "open")
        )
        if (visible := visible_to(agent)) is not None:
            statement = statement.where(visible)
        return set(session.scalars(statement))


def test_the_following_queue_holds_the_open_tickets_one_follows_and_still_sees(world: World) -> None:
    db, limited = world.db, world.limited
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf")
    mine = [world.open(subject=f"Printer {word}") for word in words]
    for ticket in mine[:5]:
        following.follow(db, limited, ticket.id)
        following.follow(db, world.admin, ticket.id)
    following.follow(db, world.admin, mine[6].id)
    lifecycle.close(db, world.manager, mine[0].id)  # closed: out of the queue
    tickets.transfer(db, world.admin, mine[1].id, world.billing)  # out of Limited's sight
    for agent in (limited, world.admin, world.manager, world.viewer):
        expected = direct_following(db, agent)
        criteria = Criteria(queue=Queue.FOLLOWING)
        page = queues.queue_page(db, agent, criteria, limit=2)
        got = [row.id for row in page.rows]
        while page.next_cursor:
            page = queues.queue_page(db, agent, criteria, limit=2, cursor=page.next_cursor)
            got += [row.id for row in page.rows]
        assert sorted(got) == sorted(expected) and len(got) == len(set(got))
        assert page.total == len(expected) == queues.queue_counts(db, agent)[Queue.FOLLOWING]
        assert set(queues.queue_ids(db, agent, criteria)[0]) == expected
        filtered = queues.queue_page(db, agent, Criteria(queue=Queue.FOLLOWING, department_ids=(world.support,)))
        assert filtered.total == len(expected - {mine[1].id})
        found = queues.queue_page(db, agent, Criteria(queue=Queue.FOLLOWING, text="delta"))
        assert {row.id for row in found.rows} == expected & {mine[3].id} and found.total == len(found.rows)
    assert direct_following(db, limited) == {t.id for t in mine[2:5]}
    assert direct_following(db, world.admin) == {t.id for t in (*mine[1:5], mine[6])}
