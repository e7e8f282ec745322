"""The demo tells the truth: its mail goes into a sink Desk shows, the composer and status bar learn from one
function whether mail goes out at all, and the walkthrough the demo exists for works with the demo's agents."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from desk.domain.enums import OutboxState, OutgoingMail, Queue
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import UserActor
from desk.domain.queues import Criteria
from desk.services import accounts, demo, entries, mailboxes, portal, queues, reference, tickets, worker
from desk.services.mail import outbound, sending
from desk.storage.db import Database
from desk.storage.models import Department, OutboxMessage
from tests.services.conftest import World, count


@pytest.fixture
def demo_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    demo.build_demo(db, tickets=12)
    return db


def open_unassigned(db: Database, department: str) -> int:
    admin = accounts.agent_by_username(db, "admin")
    rows = queues.queue_page(db, admin, Criteria(queue=Queue.UNASSIGNED), limit=100).rows
    return next(row.id for row in rows if row.department == department)


def refuse(*_: object) -> dict[str, str]:
    raise AssertionError("a demo mail was handed to a mail server")


def test_the_demo_keeps_its_mail_for_desk_to_show(demo_db: Database) -> None:
    admin = accounts.agent_by_username(demo_db, "admin")
    assert outbound.outgoing_mail_now(demo_db, admin) == OutgoingMail.DEMO
    assert reference.choices(demo_db, admin).outgoing_mail == OutgoingMail.DEMO
    assert outbound.demo_mailbox(demo_db, admin) == ()  # the demo's made-up history mailed nobody
    requester = UserActor(id=1, name="A requester", email="someone@example.org")
    with pytest.raises(PermissionDenied):  # everyone's mail is in it
        outbound.demo_mailbox(demo_db, requester)

    ticket = tickets.get_ticket(demo_db, admin, open_unassigned(demo_db, "Support"))
    entries.post_reply(demo_db, admin, ticket.id, "We are on it: the card is unblocked.")

    [mail] = outbound.demo_mailbox(demo_db, admin)
    assert mail.to == (ticket.requester.email,)
    assert mail.ticket_number == ticket.number and ticket.number in mail.subject
    assert "We are on it: the card is unblocked." in mail.body
    # Nothing waits for a mail server, and a worker hands nothing to one.
    assert count(demo_db, OutboxMessage, OutboxMessage.state == OutboxState.PENDING.value) == 0
    assert sending.send_due(demo_db, refuse) == (0, 0)
    # Only mail that reaches a fetched mailbox needs a worker: the demo's support address is not one.
    assert worker.status(demo_db, admin).problems() == []


def test_the_support_centers_mailed_links_can_be_followed_in_the_demo(demo_db: Database) -> None:
    admin = accounts.agent_by_username(demo_db, "admin")
    ticket = tickets.get_ticket(demo_db, admin, open_unassigned(demo_db, "Support"))
    portal.request_ticket_link(
        demo_db, ticket.requester.email, ticket.number, link="http://127.0.0.1:8080/link/{token}"
    )
    portal.register(
        demo_db,
        email="new.visitor@example.org",
        name="New Visitor",
        link="http://127.0.0.1:8080/confirm/{token}",
        sign_in_link="http://127.0.0.1:8080/sign-in",
    )

    confirm, ticket_link = outbound.demo_mailbox(demo_db, admin)  # newest first
    assert confirm.to == ("new.visitor@example.org",) and ticket_link.to == (ticket.requester.email,)
    token = re.search(r"http://127\.0\.0\.1:8080/link/(\S+)", ticket_link.body)
    assert token is not None
    _, opened = portal.redeem_ticket_link(demo_db, token.group(1))
    assert opened == ticket.id
    token = re.search(r"http://127\.0\.0\.1:8080/confirm/(\S+)", confirm.body)
    assert token is not None
    signed_in = portal.confirm_email(demo_db, token.group(1), "a long enough password")
    assert signed_in.actor.email == "new.visitor@example.org"


def test_a_demo_built_before_the_sink_gets_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    monkeypatch.setattr(demo, "_mail_sink", lambda session: None)  # as the demo was built before
    demo.build_demo(db, tickets=8)
    admin = accounts.agent_by_username(db, "admin")
    assert outbound.outgoing_mail_now(db, admin) == OutgoingMail.OFF
    monkeypatch.undo()
    assert "nothing was added" in demo.build_demo(db, tickets=8)
    assert outbound.outgoing_mail_now(db, admin) == OutgoingMail.DEMO


def test_whether_mail_goes_out_is_said_truthfully(world: World) -> None:
    db, agent = world.db, world.limited
    assert outbound.outgoing_mail_now(db, agent) == OutgoingMail.OFF
    with pytest.raises(Invalid, match="not a demo"):
        outbound.demo_mailbox(db, world.admin)  # a real install's mail is never shown this way
    with pytest.raises(PermissionDenied):
        outbound.outgoing_mail_now(db, world.alice)

    mailboxes.add_mailbox(db, world.admin, name="Support", address="support@desk.example", imap_host="imap.example",
                          imap_user="desk", imap_password="secret")  # fmt: skip
    assert outbound.outgoing_mail_now(db, agent) == OutgoingMail.OFF  # fetched, but nothing to send through
    mailboxes.add_mailbox(db, world.admin, name="Out", address="out@desk.example", smtp_host="smtp.example")
    assert outbound.outgoing_mail_now(db, agent) == OutgoingMail.NO_WORKER
    assert worker.hold(db, "mail.send", "worker-1")
    assert outbound.outgoing_mail_now(db, agent) == OutgoingMail.SENT
    assert reference.choices(db, agent).outgoing_mail == OutgoingMail.SENT
    worker.let_go(db, "mail.send", "worker-1")
    assert outbound.outgoing_mail_now(db, agent) == OutgoingMail.NO_WORKER


def test_the_walkthrough_works_with_the_demos_agents(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticket moved to Online Banking by the administrator, then claimed and answered by the support agent john;
    the demo says who can do what."""
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    summary = demo.build_demo(db, tickets=12)
    assert "john / demo-john (Limited access in Support and Online Banking" in summary
    demo_db = db
    admin = accounts.agent_by_username(demo_db, "admin")
    john = accounts.agent_by_username(demo_db, "john")
    ticket_id = open_unassigned(demo_db, "Support")
    with demo_db.transaction(write=False) as session:
        online_banking = session.scalar(select(Department.id).where(Department.name == "Online Banking"))
    assert online_banking is not None

    moved = tickets.transfer(demo_db, admin, ticket_id, online_banking)
    assert moved.department.name == "Online Banking"
    claimed = tickets.claim(demo_db, john, ticket_id)
    assert claimed.assignee is not None and claimed.assignee.name == "John Carter"
    answered = entries.post_reply(demo_db, john, ticket_id, "I have taken this over from Support.")
    assert answered.answered
