"""The mail channel's services on every engine: intake, threading, the quarantine, the outbox, worker leases."""

from __future__ import annotations

import re
import smtplib
import uuid
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from desk.domain import mailthread
from desk.domain.attachments import safe_name
from desk.domain.enums import EntryKind, EventKind, InboundState, OutboxState, SenderCheck, TicketSource
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.views import EntryView, TicketView, Upload
from desk.services import entries, lifecycle, mailboxes, notifications, tickets, worker
from desk.services import settings as desk_settings
from desk.services.base import now
from desk.services.mail import intake, outbound, parse, sending
from desk.services.mail.parse import ParsedMail
from desk.storage.models import Attachment, InboundMessage, Mailbox, OutboxMessage, Ticket, User, WorkerJob
from tests.services.conftest import World, count, events
from tests.services.test_time_spent import require_time

SUPPORT = "support@desk.example"


RECEIVER = "mx.desk.example"  # the receiving mail server, as it names itself in Authentication-Results
VOUCHED = f"{RECEIVER}; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example"


@pytest.fixture
def mail_world(world: World) -> World:
    mailboxes.add_mailbox(
        world.db, world.admin, name="Support", address=SUPPORT, smtp_host="127.0.0.1", smtp_port=2525,
        auth_server=RECEIVER,
    )  # fmt: skip
    return world


def mail(
    sender: str = "Alice Archer <alice@example.com>",
    subject: str = "Printer broken",
    body: str = "The printer on floor 2 prints blank pages.",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="example.com"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def deliver(world: World, raw: bytes) -> tuple[InboundState, int | None]:
    """Store and process one message as the worker does (fetched from the Support mailbox when there is one);
    its outcome and ticket."""
    with world.db.transaction(write=False) as session:
        mailbox_id = session.scalar(select(Mailbox.id).where(Mailbox.address == SUPPORT))
    inbound_id = intake.store(world.db, mailbox_id, None, raw)
    assert inbound_id is not None, "the message was a duplicate"
    state = intake.process(world.db, inbound_id)
    with world.db.transaction(write=False) as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        return state, row.ticket_id


def outbox(world: World, ticket_id: int | None = None) -> list[OutboxMessage]:
    with world.db.transaction(write=False) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if ticket_id is not None:
            query = query.where(OutboxMessage.ticket_id == ticket_id)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def thread_of(world: World, ticket_id: int) -> list[EntryView]:
    view = tickets.get_ticket(world.db, world.admin, ticket_id)
    return [item for item in view.thread if isinstance(item, EntryView)]


def test_a_new_mail_opens_a_ticket_and_answers_the_requester(mail_world: World) -> None:
    state, ticket_id = deliver(
        mail_world, mail(sender="Carol Cole <Carol@Example.org>", message_id="<first@example.org>")
    )

    assert state == InboundState.DONE and ticket_id is not None
    ticket = tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id)
    assert (ticket.subject, ticket.source, ticket.requester.email) == (
        "Printer broken",
        TicketSource.EMAIL,
        "carol@example.org",
    )
    assert ticket.requester.name == "Carol Cole"
    assert thread_of(mail_world, ticket_id)[0].body_text == "The printer on floor 2 prints blank pages."
    kinds = {row.kind: row for row in outbox(mail_world, ticket_id)}
    assert set(kinds) == {"auto_response", "alert.new_ticket"}
    response = kinds["auto_response"]
    assert response.recipients["to"] == ["carol@example.org"]
    assert f"[#{ticket.number}]" in response.subject
    assert (response.in_reply_to, response.reference_ids) == ("<first@example.org>", "<first@example.org>")
    assert "manager@desk.example" in kinds["alert.new_ticket"].recipients["to"]  # Support's agents are alerted


def test_a_reply_to_our_mail_threads_by_its_signed_message_id_and_reopens(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    entries.post_reply(mail_world.db, mail_world.manager, ticket_id, "Please restart it.")
    lifecycle.resolve(mail_world.db, mail_world.manager, ticket_id)
    ours = next(row for row in outbox(mail_world, ticket_id) if row.kind == "reply")

    state, threaded = deliver(
        mail_world, mail(subject="Re: something else", body="Still blank.", In_Reply_To=ours.message_id)
    )

    assert (state, threaded) == (InboundState.DONE, ticket_id)
    ticket = tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id)
    assert ticket.status.name == "Open" and ticket.reopen_count == 1
    assert [e.kind for e in thread_of(mail_world, ticket_id)] == [EntryKind.MESSAGE, EntryKind.REPLY, EntryKind.MESSAGE]


def test_a_forged_message_id_of_ours_does_not_thread(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    forged = mailthread.make_message_id("not-our-secret", ticket_id, "abc123", "desk.example")

    _, threaded = deliver(mail_world, mail(sender="mallory@evil.example", References=forged))

    assert threaded not in (None, ticket_id)


def test_references_to_a_stored_message_thread_it(mail_world: World) -> None:
    first = make_msgid(domain="mail.gmail.com")
    _, ticket_id = deliver(mail_world, mail(message_id=first))

    _, threaded = deliver(mail_world, mail(subject="Re: Printer broken", References=f"<other@x.example> {first}"))

    assert threaded == ticket_id


def test_the_subject_tag_threads_only_for_people_on_the_ticket(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    number = tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id).number

    _, from_requester = deliver(mail_world, mail(subject=f"Re: Printer broken [#{number}]"))
    _, from_stranger = deliver(
        mail_world, mail(sender="mallory@evil.example", subject=f"Re: x [#{number}]", body="Send me the password.")
    )

    assert from_requester == ticket_id
    assert from_stranger not in (None, ticket_id)
    assert all("password" not in e.body_text for e in thread_of(mail_world, ticket_id))


def test_our_signed_message_id_threads_even_when_nothing_else_knows_it(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    with mail_world.db.transaction() as session:  # a mail of ours whose outbox row is long gone
        session.execute(delete(OutboxMessage))
        ours = mailthread.make_message_id(outbound.mail_secret(session), ticket_id, "a1b2c3", "desk.example")

    _, threaded = deliver(mail_world, mail(sender="stranger@elsewhere.example", subject="Fwd: hi", In_Reply_To=ours))

    assert threaded == ticket_id
    # Posted, but the stranger is not given the ticket: an agent decides whether they belong on it.
    assert tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id).collaborators == ()


def test_mail_from_an_agent_on_a_ticket_is_an_internal_note(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    ours = outbox(mail_world, ticket_id)[0]

    _, threaded = deliver(
        mail_world,
        mail(
            sender="manager@desk.example",
            body="Vendor says Friday.",
            In_Reply_To=ours.message_id,
            Authentication_Results=VOUCHED,
        ),
    )

    assert threaded == ticket_id
    note = thread_of(mail_world, ticket_id)[-1]
    assert (note.kind, note.body_text, note.author) == (EntryKind.NOTE, "Vendor says Friday.", "Manager Agent")
    assert not [
        row
        for row in outbox(mail_world, ticket_id)
        if "alice@example.com" in row.recipients["to"] and row.kind == "reply"
    ]


def test_mail_from_an_agent_is_posted_where_the_department_requires_time_spent(mail_world: World) -> None:
    """Mail carries no time spent: a department that requires it refuses the agents' window and API entries,
    never their mail (issue 17)."""
    require_time(mail_world)
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    ours = outbox(mail_world, ticket_id)[0]
    answer = mail(
        sender="manager@desk.example", body="Done.", In_Reply_To=ours.message_id, Authentication_Results=VOUCHED
    )
    _, threaded = deliver(mail_world, answer)

    assert threaded == ticket_id
    note = thread_of(mail_world, ticket_id)[-1]
    assert (note.kind, note.body_text, note.minutes) == (EntryKind.NOTE, "Done.", None)


def test_a_message_fetched_or_processed_again_is_stored_and_posted_once(mail_world: World) -> None:
    raw = mail()
    first = intake.store(mail_world.db, None, 1, raw)
    assert first is not None
    assert intake.store(mail_world.db, None, 2, raw) is None  # fetched again (another mailbox, a crash): not stored
    intake.process(mail_world.db, first)
    intake.process(mail_world.db, first)  # processed again (a retried batch): it is done already
    assert count(mail_world.db, Ticket) == 1 and count(mail_world.db, InboundMessage) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied", "Subject": "Automatic reply: Printer broken"}, "auto-reply"),
        ({"X_Failed_Recipients": "nobody@example.com"}, "bounce"),
        ({mailthread.LOOP_HEADER.replace("-", "_"): "desk.example"}, "loop"),
    ],
)
def test_automatic_mail_is_kept_but_never_answered(mail_world: World, headers: dict[str, str], reason: str) -> None:
    subject = headers.pop("Subject", "Printer broken")
    state, ticket_id = deliver(mail_world, mail(subject=subject, **headers))

    assert (state, ticket_id) == (InboundState.IGNORED, None)
    assert count(mail_world.db, Ticket) == 0 and outbox(mail_world) == []
    [kept] = intake.quarantined(mail_world.db, mail_world.admin, state=InboundState.IGNORED)  # administrators see it
    assert reason in (kept.reason or "") and kept.sender == "alice@example.com"


@pytest.mark.parametrize("headers", [{"Precedence": "list", "List_Id": "<support.groups.example.com>"},
                                     {"X_Auto_Response_Suppress": "All"}])  # fmt: skip
def test_list_mail_is_posted_but_never_answered(mail_world: World, headers: dict[str, str]) -> None:
    """A Google Group in front of the support address marks every customer's mail as list mail."""
    state, ticket_id = deliver(mail_world, mail(**headers))

    assert state == InboundState.DONE and ticket_id is not None
    assert [row.kind for row in outbox(mail_world, ticket_id)] == ["alert.new_ticket"]  # agents hear of it


def test_a_banned_sender_is_rejected_and_the_next_message_still_posts(mail_world: World) -> None:
    with mail_world.db.transaction() as session:
        session.execute(update(User).where(User.email == "bob@example.com").values(banned=True))

    assert deliver(mail_world, mail(sender="bob@example.com"))[0] == InboundState.REJECTED
    assert deliver(mail_world, mail())[0] == InboundState.DONE


def test_an_unusable_message_is_quarantined_for_administrators_to_retry(mail_world: World) -> None:
    raw = b"Subject: who sent this?\r\nMessage-ID: <x1@example.com>\r\n\r\nNo sender at all.\r\n"
    state, _ = deliver(mail_world, raw)

    assert state == InboundState.QUARANTINED
    [kept] = intake.quarantined(mail_world.db, mail_world.admin)
    assert (kept.subject, kept.sender) == ("who sent this?", "(no sender)")
    assert "no usable sender address" in (kept.reason or "")
    with pytest.raises(PermissionDenied):
        intake.quarantined(mail_world.db, mail_world.manager)
    again = intake.retry(mail_world.db, mail_world.admin, kept.id)
    assert again is not None and again.state == InboundState.QUARANTINED.value
    assert count(mail_world.db, InboundMessage) == 1  # never dropped


def test_a_reply_is_queued_to_the_requester_and_copied_people_with_threading_headers(mail_world: World) -> None:
    first = make_msgid(domain="example.com")
    _, ticket_id = deliver(mail_world, mail(message_id=first, Cc="bob@example.com"))
    assert ticket_id is not None

    entries.post_reply(mail_world.db, mail_world.manager, ticket_id, "Please restart it.\n\n-- Manager")

    [reply] = [row for row in outbox(mail_world, ticket_id) if row.kind == "reply"]
    assert (reply.recipients["to"], reply.recipients["cc"]) == (["alice@example.com"], ["bob@example.com"])
    assert reply.in_reply_to == first and first in (reply.reference_ids or "")
    assert reply.body_text.startswith(mailthread.REPLY_SEPARATOR) and "Please restart it." in reply.body_text
    [outgoing] = [o for o in sending.due(mail_world.db)[0] if o.id == reply.id]
    assert outgoing.message["Message-ID"] == reply.message_id and outgoing.message["In-Reply-To"] == first
    assert "Auto-Submitted" not in outgoing.message  # a person's reply; the auto-response carries it
    assert outgoing.recipients == ("alice@example.com", "bob@example.com")


def test_the_outbox_retries_then_gives_up_and_says_so_on_the_ticket(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    with mail_world.db.transaction() as session:  # only the auto-response is left to send
        session.execute(update(OutboxMessage).where(OutboxMessage.kind != "auto_response").values(state="sent"))
    attempts: list[str] = []

    def refusing(account: sending.SmtpAccount, message: EmailMessage, to: tuple[str, ...]) -> None:
        attempts.append(message["Subject"])
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    for _ in range(sending.MAX_ATTEMPTS):
        with mail_world.db.transaction() as session:  # its next attempt is due now
            session.execute(update(OutboxMessage).values(next_attempt_at=now() - timedelta(seconds=1)))
        sending.send_due(mail_world.db, refusing)

    assert len(attempts) == sending.MAX_ATTEMPTS
    [row] = [r for r in outbox(mail_world, ticket_id) if r.kind == "auto_response"]
    assert row.state == OutboxState.FAILED.value and "SMTPServerDisconnected" in (row.last_error or "")
    assert events(mail_world.db, ticket_id)[-1] == EventKind.MAIL_FAILED.value
    assert sending.send_due(mail_world.db, refusing) == (0, 0)  # given up: not tried again


def test_mail_being_sent_is_left_alone_by_a_second_worker(mail_world: World) -> None:
    deliver(mail_world, mail())
    first, _ = sending.due(mail_world.db)
    assert {m.message["Subject"] for m in first}  # the auto-response and the alert, claimed
    assert sending.due(mail_world.db) == ([], None)  # a worker that took over meanwhile finds nothing to send twice
    with mail_world.db.transaction() as session:  # the first worker died: after its claim, the mails go again
        session.execute(update(OutboxMessage).values(next_attempt_at=now() - timedelta(seconds=1)))
    assert {m.id for m in sending.due(mail_world.db)[0]} == {m.id for m in first}


def test_a_permanent_refusal_fails_at_once_and_other_mail_still_goes(mail_world: World) -> None:
    deliver(mail_world, mail(sender="nobody@example.com"))
    deliver(mail_world, mail(sender="carol@example.org"))
    sent: list[str] = []

    def picky(account: sending.SmtpAccount, message: EmailMessage, to: tuple[str, ...]) -> None:
        if "nobody@example.com" in to:
            raise smtplib.SMTPRecipientsRefused({"nobody@example.com": (550, b"No such user")})
        sent.extend(to)

    sending.send_due(mail_world.db, picky)

    assert "carol@example.org" in sent
    states = {tuple(r.recipients["to"]): r.state for r in outbox(mail_world) if r.kind == "auto_response"}
    assert states == {("nobody@example.com",): "failed", ("carol@example.org",): "sent"}


def test_notifications_switch_per_department_and_help_topic(mail_world: World) -> None:
    notifications.set_notifications(
        mail_world.db, mail_world.admin, {"auto_response": False}, department_id=mail_world.support
    )
    notifications.set_notifications(
        mail_world.db, mail_world.admin, {"auto_response": True}, topic_id=mail_world.topic_outage
    )
    with pytest.raises(PermissionDenied):
        notifications.set_notifications(mail_world.db, mail_world.manager, {"auto_response": True})

    _, quiet = deliver(mail_world, mail())
    assert [row.kind for row in outbox(mail_world, quiet)] == ["alert.new_ticket"]

    quiet_topic = tickets.open_ticket(
        mail_world.db, mail_world.alice, subject="Slow", body="Slow.", topic_id=mail_world.topic_problem
    )
    loud_topic = tickets.open_ticket(
        mail_world.db, mail_world.alice, subject="Down", body="All down.", topic_id=mail_world.topic_outage
    )
    assert "auto_response" not in [row.kind for row in outbox(mail_world, quiet_topic.id)]
    assert "auto_response" in [row.kind for row in outbox(mail_world, loud_topic.id)]


def test_without_a_mailbox_nothing_is_queued(world: World) -> None:
    view: TicketView = world.open()
    entries.post_reply(world.db, world.manager, view.id, "On it.")
    assert outbox(world) == []


def test_one_worker_holds_a_job_until_its_lease_expires(mail_world: World) -> None:
    db = mail_world.db
    assert worker.hold(db, "mail.send", "first")
    assert not worker.hold(db, "mail.send", "second")
    assert worker.hold(db, "mail.send", "first")  # renewed
    with db.transaction() as session:  # the first worker died: its lease runs out
        session.execute(update(WorkerJob).values(expires_at=now() - timedelta(seconds=1)))
    assert worker.hold(db, "mail.send", "second")
    assert not worker.hold(db, "mail.send", "first")
    worker.let_go(db, "mail.send", "second")
    assert worker.hold(db, "mail.send", "first")


def test_administrators_see_the_worker_and_mail_problems(mail_world: World) -> None:
    deliver(mail_world, b"Subject: ?\r\n\r\nno sender\r\n")
    status = worker.status(mail_world.db, mail_world.admin)
    problems = status.problems()
    assert any("No worker is running" in p for p in problems)
    assert any("1 incoming message(s) are in quarantine" in p for p in problems)
    with pytest.raises(PermissionDenied):
        worker.status(mail_world.db, mail_world.manager)


def test_a_message_the_database_refuses_is_quarantined_and_the_others_go_on(
    mail_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [intake.store(mail_world.db, None, n, mail(subject=f"Request {n}")) for n in range(7)]
    post = intake._post

    def refusing(session: Session, parsed: ParsedMail, mailbox: Mailbox | None) -> int:
        if parsed.subject == "Request 3":
            raise OperationalError("INSERT INTO thread_entries ... (huge parameters)", {}, Exception("value too long"))
        return post(session, parsed, mailbox)

    monkeypatch.setattr(intake, "_post", refusing)
    outcome = intake.process_pending(mail_world.db)

    assert outcome == {InboundState.DONE: 6, InboundState.QUARANTINED: 1}
    [kept] = intake.quarantined(mail_world.db, mail_world.admin)
    assert kept.id == ids[3] and kept.reason == "The message could not be posted (Exception: value too long)."


def test_recipients_refused_among_accepted_ones_show_on_the_ticket(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail(Cc="bob@example.com"))
    assert ticket_id is not None
    entries.post_reply(mail_world.db, mail_world.manager, ticket_id, "Done.")

    def greylisting(account: sending.SmtpAccount, message: EmailMessage, to: tuple[str, ...]) -> dict[str, str]:
        return {"bob@example.com": "450 4.7.1 Greylisted"} if "bob@example.com" in to else {}

    sending.send_due(mail_world.db, greylisting)

    assert events(mail_world.db, ticket_id)[-1] == EventKind.MAIL_FAILED.value
    [reply] = [row for row in outbox(mail_world, ticket_id) if row.kind == "reply"]
    assert reply.state == OutboxState.SENT.value and reply.last_error == "bob@example.com: 450 4.7.1 Greylisted"


def test_a_message_too_big_for_the_database_is_fetched_again_on_retry(
    mail_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = mailboxes.add_mailbox(mail_world.db, mail_world.admin, name="Sales", address="sales@desk.example")
    with mail_world.db.transaction() as session:
        session.execute(update(Mailbox).where(Mailbox.id == box.id).values(last_uid=40))
    monkeypatch.setattr(intake, "fits", lambda _db, raw: len(raw) < 1000)
    big = intake.store(mail_world.db, box.id, 17, mail(body="x" * 5000))
    assert big is not None

    [kept] = intake.quarantined(mail_world.db, mail_world.admin)
    assert "max_allowed_packet" in (kept.reason or "") and kept.size > 5000
    assert intake.retry(mail_world.db, mail_world.admin, big) is None  # the next fetch takes it from the server
    with mail_world.db.transaction(write=False) as session:
        assert session.scalar(select(Mailbox.last_uid).where(Mailbox.id == box.id)) == 16
        assert session.get(InboundMessage, big) is None


# --- senders, tags, charsets and bodies as real mail has them (issue 12 §4) ------------------------------------


def raw_mail(
    sender: bytes, *, subject: bytes = b"Printer broken", headers: bytes = b"", body: bytes = b"It fails."
) -> bytes:
    """A message as bytes, for headers EmailMessage would refuse or rewrite. Its Message-ID comes from uuid4, not
    make_msgid: hypothesis seeds `random` alike for every example, so make_msgid repeats and intake drops the copy."""
    return (
        b"From: " + sender + b"\r\nTo: " + SUPPORT.encode() + b"\r\nSubject: " + subject + b"\r\nMessage-ID: <"
        + uuid.uuid4().hex.encode() + b"@example.com>\r\n" + headers + b"\r\n" + body + b"\r\n"
    )  # fmt: skip


def requester_of(world: World, ticket_id: int | None) -> tuple[str, str]:
    assert ticket_id is not None
    requester = tickets.get_ticket(world.db, world.admin, ticket_id).requester
    return requester.email, requester.name


@pytest.mark.parametrize(
    ("sender", "requester"),
    [
        (b"Big Bug bb@bug.com", ("bb@bug.com", "Big Bug")),
        (b"=?utf-8?Q?M=C3=BCller,_Bernd?= <bernd@example.de>", ("bernd@example.de", "Müller, Bernd")),
        (b'"M\xc3\xbcller, Bernd" <bernd@example.de>', ("bernd@example.de", "Müller, Bernd")),  # undeclared UTF-8
        (b"Undisclosed:; , <@>, Carol <carol@example.org>, dave@example.org", ("carol@example.org", "Carol")),
        (b"Alice Archer <alice@example.com", ("alice@example.com", "Alice Archer")),  # no closing ">"
    ],
)
def test_a_readable_sender_address_is_used_however_the_from_is_written(
    mail_world: World, sender: bytes, requester: tuple[str, str]
) -> None:
    state, ticket_id = deliver(mail_world, raw_mail(sender))

    assert state == InboundState.DONE
    assert requester_of(mail_world, ticket_id) == requester


@pytest.mark.parametrize(
    "sender",
    [
        b'"xxxxx@xxxxx" <xxxxx@xxxxx>',
        b"<power quadrant system@example.com>",
        b"=?utf-8?Q?john=40desk.example=3E?=@attacker.example",  # an encoded word never becomes an address
        b"=?utf-8?Q?manager?=@desk.example",
        b"",
    ],
)
def test_a_from_with_no_usable_address_is_quarantined_not_raised(mail_world: World, sender: bytes) -> None:
    state, ticket_id = deliver(mail_world, raw_mail(sender))

    assert (state, ticket_id) == (InboundState.QUARANTINED, None)
    [kept] = intake.quarantined(mail_world.db, mail_world.admin)
    assert "no usable sender address" in (kept.reason or "") and kept.sender == "(no sender)"
    assert count(mail_world.db, Ticket) == 0


_ADDRESS_PARTS = st.sampled_from(
    ["alice@example.com", "xxxxx@xxxxx", "bb@bug.com", "john@desk.example", "@", "<", ">", '"', ",", ";", ":",
     "(", ")", "\\", " ", "=?utf-8?Q?john=40desk.example=3E?=", "=?utf-8?B?w7w=?=", "Müller", "\u00a0", "@x"]
)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(_ADDRESS_PARTS, st.text(max_size=6)), max_size=10))
def test_any_from_header_is_posted_or_quarantined(mail_world: World, parts: list[str]) -> None:
    sender = "".join(parts).replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogatepass")
    inbound_id = intake.store(mail_world.db, None, None, raw_mail(sender))
    assert inbound_id is not None

    state = intake.process(mail_world.db, inbound_id)  # never raises

    assert state in (InboundState.DONE, InboundState.QUARANTINED)
    with mail_world.db.transaction(write=False) as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        if state == InboundState.QUARANTINED:
            assert "no usable sender address" in (row.reason or ""), row.reason
        else:
            requester = session.get(User, session.get(Ticket, row.ticket_id).requester_id)  # type: ignore[union-attr]
            assert requester is not None and requester.email.encode() in sender.lower()  # as written, not decoded


def _note_attempt(world: World, **headers: str) -> EntryView:
    """Mail from the manager's address answering our mail on a new ticket; the entry it became."""
    _, ticket_id = deliver(world, mail())
    assert ticket_id is not None
    ours = outbox(world, ticket_id)[0]
    _, threaded = deliver(
        world, mail(sender="Manager Agent <manager@desk.example>", body="Refund approved.", In_Reply_To=ours.message_id,
                    **headers)
    )  # fmt: skip
    assert threaded == ticket_id
    return thread_of(world, ticket_id)[-1]


@pytest.mark.parametrize(
    "results",
    [
        [],  # nothing vouches for the From
        ["mx.attacker.example; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example"],  # his own
        [f"{RECEIVER}.attacker.example; dmarc=pass header.from=desk.example"],
        [f"{RECEIVER}; dmarc=fail header.from=desk.example; dkim=pass header.d=attacker.example"],
    ],
)
def test_mail_in_an_agents_name_that_nothing_vouches_for_is_an_unverified_message(
    mail_world: World, results: list[str]
) -> None:
    message = _note_attempt(mail_world, **({"Authentication_Results": results[0]} if results else {}))

    assert (message.kind, message.author_kind.value, message.sender_unverified) == (EntryKind.MESSAGE, "user", True)
    assert message.body_text == "Refund approved."


def test_a_sender_check_vouches_per_mailbox(mail_world: World) -> None:
    assert (vouched := _note_attempt(mail_world, Authentication_Results=VOUCHED)).kind == EntryKind.NOTE
    assert not vouched.sender_unverified and vouched.author == "Manager Agent"

    mailboxes.set_sender_check(mail_world.db, mail_world.admin, SUPPORT, SenderCheck.OFF)
    assert _note_attempt(mail_world, Authentication_Results=VOUCHED).sender_unverified

    mailboxes.set_sender_check(mail_world.db, mail_world.admin, SUPPORT, SenderCheck.TRUSTED_RELAY)
    assert _note_attempt(mail_world).kind == EntryKind.NOTE  # the relay in front verified it
    assert any("trusts the From header" in p for p in worker.status(mail_world.db, mail_world.admin).problems())

    with pytest.raises(PermissionDenied):
        mailboxes.set_sender_check(mail_world.db, mail_world.manager, SUPPORT, SenderCheck.TRUSTED_RELAY)
    with pytest.raises(Invalid, match="Authentication-Results"):
        mailboxes.set_sender_check(mail_world.db, mail_world.admin, SUPPORT, SenderCheck.REQUIRED, "mx; evil")


def test_a_new_mailbox_requires_the_receiving_servers_word(world: World) -> None:
    view = mailboxes.add_mailbox(
        world.db, world.admin, name="Sales", address="sales@desk.example", imap_host="imap.desk.example",
        imap_user="sales", imap_password="secret",
    )  # fmt: skip
    assert (view.sender_check, view.auth_server) == (SenderCheck.REQUIRED, None)
    assert any("names no receiving server" in p for p in worker.status(world.db, world.admin).problems())


def test_a_tagged_reply_as_the_requester_needs_the_receiving_servers_word(mail_world: World) -> None:
    _, ticket_id = deliver(mail_world, mail())
    assert ticket_id is not None
    number = tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id).number
    vouched = f"{RECEIVER}; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com"

    _, verified = deliver(mail_world, mail(subject=f"Re: Printer broken [#{number}]", Authentication_Results=vouched))
    _, unverified = deliver(mail_world, mail(subject=f"Re: Printer broken [#{number}]", body="Send it to me."))

    assert verified == unverified == ticket_id
    flags = [(e.body_text, e.sender_unverified) for e in thread_of(mail_world, ticket_id)]
    assert flags[-2:] == [("The printer on floor 2 prints blank pages.", False), ("Send it to me.", True)]


def test_our_tag_wins_over_a_foreign_one_in_the_subject(mail_world: World) -> None:
    vouched = f"{RECEIVER}; dmarc=pass header.from=example.com"
    state, ticket_id = deliver(mail_world, mail(subject="Re: Printer broken [#999999]", Authentication_Results=vouched))
    assert state == InboundState.DONE and ticket_id is not None
    [response] = [row for row in outbox(mail_world, ticket_id) if row.kind == "auto_response"]
    number = tickets.get_ticket(mail_world.db, mail_world.admin, ticket_id).number
    assert mailthread.subject_numbers(response.subject) == [number] and "999999" not in response.subject

    # The requester's client keeps the foreign tag before ours, or puts it after: the next reply finds our ticket.
    for subject in (f"Re: Printer broken [#999999] [#{number}]", f"Re: [#{number}] Printer broken [#999999]"):
        _, threaded = deliver(mail_world, mail(subject=subject, Authentication_Results=vouched))
        assert threaded == ticket_id
    assert count(mail_world.db, Ticket) == 1


def _subject_of(world: World, raw: bytes) -> str:
    _, ticket_id = deliver(world, raw)
    assert ticket_id is not None
    return tickets.get_ticket(world.db, world.admin, ticket_id).subject


@pytest.mark.parametrize(
    ("subject", "decoded"),
    [
        (b"Re: TEST =?utf-8?B?44OG44K544OI?=", "Re: TEST テスト"),
        (b"Re: TEST\r\n =?utf-8?B?44OG44K544OI?=", "Re: TEST テスト"),  # folded before the word: the fold is a space
        (b"=?utf-8?Q?a?= =?utf-8?Q?b?=  c =?utf-8?Q?d?=", "ab c d"),  # space between two encoded words dropped
        (b"=?utf-8?B?44OG?=\r\n =?utf-8?B?44K544OI?= (2)", "テスト (2)"),
        (b"=?gb2312?B?udjT2tbs6Ua7+bzNxO653Q==?=", "关于朱镕基纪念馆"),  # GB18030's characters under "gb2312"
        (b"=?ks_c_5601-1987?B?jGM=?= ok", "똠 ok"),  # cp949's characters under Microsoft's Korean name
        (b"Gr\xfc\xdfe \x80 100", "Grüße € 100"),  # undeclared 8-bit in Windows' Latin
        (b"=?utf-8?B?abcde?= x", "=?utf-8?B?abcde?= x"),  # a malformed word is kept as text
    ],
)
def test_subjects_decode_as_rfc_2047_says(mail_world: World, subject: bytes, decoded: str) -> None:
    assert _subject_of(mail_world, raw_mail(b"alice@example.com", subject=subject)) == decoded


@given(subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80))
def test_generated_subjects_survive_the_email_package_encoding_them(subject: str) -> None:
    message = EmailMessage()
    message["From"], message["Subject"] = "alice@example.com", subject
    parsed = parse.parse(message.as_bytes(), max_attachment=1024)
    assert parsed.subject == (" ".join(subject.split()) or "(no subject)")


def _body(world: World, charset: bytes | None, data: bytes) -> str:
    content_type = b"text/plain" + (b"; charset=" + charset if charset else b"")
    raw = raw_mail(b"alice@example.com", headers=b"Content-Type: " + content_type + b"\r\n", body=data)
    _, ticket_id = deliver(world, raw)
    assert ticket_id is not None
    return thread_of(world, ticket_id)[0].body_text


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        (b"gb2312", "朱镕基纪念馆的门票"),
        (b"ks_c_5601-1987", "똠방각하 주문"),
        (b"iso-8859-1", "Preis: 100 € – „fertig“"),
        (b"shift_jis", "①番の機械が止まりました"),
        (b"big5", "香港的客戶：銀行賬戶"),
        (b"iso-8859-8-i", "המדפסת לא עובדת"),
        (b'"us-ascii"', "naïve café ü"),  # UTF-8 written under "us-ascii"
    ],
)
def test_declared_charsets_are_read_as_real_mail_uses_them(mail_world: World, charset: bytes, text: str) -> None:
    codec = {b"gb2312": "gb18030", b"ks_c_5601-1987": "cp949", b"iso-8859-1": "cp1252", b"shift_jis": "cp932",
             b"big5": "big5hkscs", b"iso-8859-8-i": "iso-8859-8", b'"us-ascii"': "utf-8"}[charset]  # fmt: skip
    assert _body(mail_world, charset, text.encode(codec)) == text


def test_an_undeclared_or_mislabelled_body_is_guessed_from_its_bytes(mail_world: World) -> None:
    japanese = "お世話になっております。プリンターが印刷できません。至急ご確認をお願いいたします。" * 2
    assert _body(mail_world, None, japanese.encode("cp932")) == japanese
    assert _body(mail_world, b"utf-8", japanese.encode("cp932")) == japanese  # fails its label: guessed


@settings(max_examples=60)
@given(
    data=st.binary(max_size=200),
    charset=st.sampled_from(["utf-8", "gb2312", "ks_c_5601-1987", "iso-2022-jp", "x-unknown", "iso-8859-8-i", ""]),
)
def test_any_bytes_in_any_charset_decode_without_raising(data: bytes, charset: str) -> None:
    text = parse.decode_bytes(data, charset or None)
    assert isinstance(text, str) and (text or not data)


def test_every_inline_part_of_a_mixed_message_is_kept_in_order_in_both_bodies(mail_world: World) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "alice@example.com", SUPPORT, "Screens"
    message.set_content("First: the login screen.")
    message.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", disposition="inline", filename="a.png")
    message.add_attachment("<p>Second: the <b>report</b> screen.</p>", subtype="html", disposition="inline")
    message.add_attachment("Third: <the> export & more.", disposition="inline")

    _, ticket_id = deliver(mail_world, message.as_bytes())
    assert ticket_id is not None
    [entry] = thread_of(mail_world, ticket_id)

    assert entry.body_text == "First: the login screen.\n\nSecond: the report screen.\n\nThird: <the> export & more."
    html = entry.body_html or ""
    first, second, third = (html.find(text) for text in ("First: the login", "<b>report</b>", "Third: &lt;the&gt;"))
    assert -1 < first < second < third, html
    assert [a.name for a in entry.attachments] == ["a.png"]


# Text a user, an integration or an administrator may type, line breaks, NUL and other controls included.
typed = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300) | st.sampled_from(
    [
        "Invoice\r\nBcc: victim@example.com",
        "Müller (Billing",
        "a\x00b",
        "line\u2028break\x85next",
        "ü" * 2000,
        "x" * 3000,
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=typed, sender_name=typed, file_name=typed, content_type=typed)
def test_whatever_was_typed_a_reply_is_built_and_sent(
    mail_world: World, subject: str, sender_name: str, file_name: str, content_type: str
) -> None:
    """The subject, the mailbox's display name and the files of a reply may hold anything people type, and names
    stored before they were made safe on entry: the worker still builds and sends the reply, every header on one
    line and every file under its safe name."""
    ticket = mail_world.open(requester_email="alice@example.com")
    with mail_world.db.transaction() as session:  # only the reply is left to send
        session.execute(update(OutboxMessage).values(state=OutboxState.SENT.value))
    entries.post_reply(
        mail_world.db,
        mail_world.manager,
        ticket.id,
        "See the files.",
        attachments=[Upload(file_name, content_type, b"entered now"), Upload("old.pdf", "application/pdf", b"old")],
    )
    subject, sender_name = storable(subject), storable(sender_name)[:120]
    with mail_world.db.transaction() as session:  # what earlier versions stored unchanged
        reply = session.scalars(select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING.value)).one()
        reply.subject, reply_id = subject, reply.id
        session.execute(update(Mailbox).values(name=sender_name))
        stored = session.scalars(
            select(Attachment).where(Attachment.entry_id == reply.entry_id).order_by(Attachment.id)
        )
        old = stored.all()[1]
        old.name, old.content_type = storable(file_name)[:255], storable(content_type)[:127]
    sent: list[EmailMessage] = []

    def smtp_server(account: sending.SmtpAccount, message: EmailMessage, to: tuple[str, ...]) -> None:
        wire = message.as_bytes(policy=policy.SMTP)  # what smtplib sends
        received = message_from_bytes(wire, policy=policy.default)
        assert isinstance(received, EmailMessage)
        sent.append(received)

    assert sending.send_due(mail_world.db, smtp_server) == (1, 0)

    [mail] = sent
    assert mail["Subject"] == one_line(subject)
    # Python's parser puts a space between the encoded words a long name is folded into; the name reads the same.
    [sender] = mail["From"].addresses
    assert sender.addr_spec == SUPPORT
    display_name = sender.display_name
    assert "".join(display_name.split()) == "".join(one_line(sender_name).split())
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [
        safe_name(file_name, content_type),
        safe_name(storable(file_name)[:255], storable(content_type)[:127]),
    ]
    assert {r.id: r.state for r in outbox(mail_world, ticket.id)}[reply_id] == OutboxState.SENT.value


def storable(text: str) -> str:
    """Text every engine stores (PostgreSQL refuses NUL in text)."""
    return text.replace("\x00", "")


def one_line(text: str) -> str:
    """What the recipient reads: line breaks and controls as spaces, runs of white space as one."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text).split())


def test_a_sender_name_that_decodes_to_several_lines_is_stored_on_one(mail_world: World) -> None:
    forged = b"From: =?utf-8?Q?Eve=0D=0ABcc=3A_all=40example.com=00=E2=80=A8Evil?= <eve@example.com>"
    raw = mail("Eve <eve@example.com>").replace(b"From: Eve <eve@example.com>", forged)
    state, ticket_id = deliver(mail_world, raw)
    assert state == InboundState.DONE and ticket_id is not None
    with mail_world.db.transaction(write=False) as session:
        name = session.scalar(select(User.name).where(User.email == "eve@example.com"))
    assert name == "Eve Bcc: all@example.com Evil"


def test_a_mailed_file_of_a_type_not_on_the_list_is_dropped_and_the_thread_says_so(mail_world: World) -> None:
    """As with a file over the size limit, the message is kept: only the file is left out, and named."""
    with mail_world.db.transaction() as session:
        desk_settings.put(session, "attachments.types", ["pdf", "png"])
        desk_settings.put(session, "attachments.max_bytes", 1024)
    message = message_from_bytes(mail(body="The scans and the tool."), policy=policy.default)
    assert isinstance(message, EmailMessage)
    for name, data in (
        ("Scan.PDF", b"%PDF"),
        ("invoice.pdf.exe", b"MZ"),
        ("README", b"read me"),
        ("tool.exe. ", b"MZ!"),
        ("huge.png", b"x" * 2000),
    ):
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    state, ticket_id = deliver(mail_world, message.as_bytes())
    assert state is InboundState.DONE and ticket_id is not None
    [entry] = thread_of(mail_world, ticket_id)
    assert [a.name for a in entry.attachments] == ["Scan.PDF"]
    assert entry.body_text == (
        "The scans and the tool.\n\n"
        "[Attachments over the size limit were not kept: huge.png (2,000 bytes)]\n\n"
        "[Attachments of types not accepted were not kept: invoice.pdf.exe (2 bytes), README (7 bytes), "
        "tool.exe (3 bytes); accepted: pdf, png]"
    )
