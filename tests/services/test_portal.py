"""The Support Center's account services (the pages' own tests are in tests/web/test_pages.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.services import entries, lifecycle, mailboxes, portal, tickets
from desk.storage.models import Organization, OutboxMessage, User, UserToken
from tests.services.conftest import World


@pytest.fixture
def mailing(world: World) -> World:
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address="support@x.example", smtp_host="127.0.0.1")
    return world


def test_my_tickets_pages_through_the_users_own_tickets_newest_change_first(world: World) -> None:
    opened = [world.open(subject=f"Ticket {n}") for n in range(7)]
    world.open(subject="Bob's", requester_email="bob@example.com")
    tickets.set_priority(world.db, world.manager, opened[2].id, world.priorities["High"])  # changed last
    seen, cursor = [], None
    while True:
        page = portal.my_tickets(world.db, world.alice, cursor=cursor, limit=3)
        seen += [row.subject for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["Ticket 2", "Ticket 6", "Ticket 5", "Ticket 4", "Ticket 3", "Ticket 1", "Ticket 0"]
    lifecycle.close(world.db, world.manager, opened[0].id)
    assert [r.subject for r in portal.my_tickets(world.db, world.alice, closed=True).rows] == ["Ticket 0"]
    with pytest.raises(Invalid, match="cursor"):
        portal.my_tickets(world.db, world.alice, cursor="nonsense")


def test_an_organization_that_shares_shows_its_members_tickets(world: World) -> None:
    bobs = world.open(subject="Bob's", requester_email="bob@example.com")
    assert portal.my_tickets(world.db, world.alice).rows == ()
    with world.db.transaction() as session:
        org = Organization(name="Acme", shares_tickets=True)
        session.add(org)
        session.flush()
        session.execute(update(User).values(organization_id=org.id))
    alice = portal.sign_in(world.db, "alice@example.com", "alice-password")
    assert not isinstance(alice, str)
    assert [r.id for r in portal.my_tickets(world.db, alice.actor).rows] == [bobs.id]
    assert portal.user_ticket(world.db, alice.actor, bobs.id).ticket.subject == "Bob's"


def test_a_ticket_link_session_sees_that_ticket_only(mailing: World) -> None:
    world = mailing
    mine, other = world.open(subject="Linked"), world.open(subject="Other")
    portal.request_ticket_link(world.db, "Alice@Example.com", f"#{mine.number}", link="https://x/link/{token}")
    token = _mailed_token(world, "ticket.link")
    with world.db.transaction(write=False) as session:
        assert session.scalar(select(UserToken.token_hash)) != token  # only the digest is stored
    signed_in, ticket_id = portal.redeem_ticket_link(world.db, token)
    assert ticket_id == mine.id and signed_in.actor.only_ticket_id == mine.id
    assert portal.user_ticket(world.db, signed_in.actor, mine.id).ticket.subject == "Linked"
    with pytest.raises(NotFound):
        portal.user_ticket(world.db, signed_in.actor, other.id)
    assert [r.id for r in portal.my_tickets(world.db, signed_in.actor).rows] == [mine.id]
    with pytest.raises(Invalid, match="expired or was used already"):
        portal.redeem_ticket_link(world.db, token)


def test_links_expire(mailing: World) -> None:
    world = mailing
    portal.register(world.db, email="carol@example.com", name="Carol", link="{token}", sign_in_link="-")
    token = _mailed_token(world, "account.confirm")
    assert portal.link_is_usable(world.db, token, portal.Purpose.CONFIRM)
    with world.db.transaction() as session:
        session.execute(update(UserToken).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
    with pytest.raises(Invalid, match="expired or was used already"):
        portal.confirm_email(world.db, token, "long enough")
    assert portal.sign_in(world.db, "carol@example.com", "long enough") == portal.sign_in(world.db, "x@y.example", "z")


def test_a_session_ends_on_sign_out(mailing: World) -> None:
    world = mailing
    signed_in = portal.sign_in(world.db, "alice@example.com", "alice-password")
    assert not isinstance(signed_in, str)
    portal.sign_out(world.db, signed_in.secret)
    with pytest.raises(PermissionDenied, match="Sign in again"):
        portal.session_actor(world.db, signed_in.secret)


def test_only_the_requester_confirms_a_resolved_ticket(world: World) -> None:
    ticket = world.open()
    with pytest.raises(Invalid, match="not waiting for your confirmation"):
        lifecycle.confirm_resolved(world.db, world.alice, ticket.id)
    lifecycle.resolve(world.db, world.manager, ticket.id)
    with pytest.raises(NotFound):
        lifecycle.confirm_resolved(world.db, world.bob, ticket.id)
    closed = lifecycle.confirm_resolved(world.db, world.alice, ticket.id)
    assert closed.status.name == "Closed"


def _mailed_token(world: World, kind: str) -> str:
    """The secret in the latest mail of this kind (the link template puts it last, after a slash or alone)."""
    with world.db.transaction(write=False) as session:
        body = session.scalars(
            select(OutboxMessage.body_text).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id.desc())
        ).first()
    assert body is not None
    found = re.search(r"(?:^|/)([A-Za-z0-9_-]{40,})\s*$", body, re.MULTILINE)
    assert found, body
    return found[1]


def test_a_message_to_a_merged_ticket_never_lets_a_colleague_into_the_other(world: World) -> None:
    with world.db.transaction() as session:
        org = Organization(name="Acme", shares_tickets=True)
        session.add(org)
        session.flush()
        session.execute(update(User).values(organization_id=org.id))
    bobs = world.open(subject="Bob's", requester_email="bob@example.com")
    other = world.open(subject="Another customer's", requester_email="carol@other.example")
    lifecycle.merge(world.db, world.admin, other.id, [bobs.id])
    alice, bob = (portal.sign_in(world.db, f"{n}@example.com", f"{n}-password") for n in ("alice", "bob"))
    assert not isinstance(alice, str) and not isinstance(bob, str)
    with pytest.raises(Invalid, match="merged into a ticket you are not part of"):
        entries.add_message(world.db, alice.actor, bobs.id, "Me too")
    with pytest.raises(NotFound):
        portal.user_ticket(world.db, alice.actor, other.id)
    landed = entries.add_message(world.db, bob.actor, bobs.id, "Still broken")  # the requester came along
    assert landed.id == other.id and landed.thread[-1].body_text == "Still broken"  # type: ignore[union-attr]
