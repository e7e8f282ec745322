"""The mail channel's services on every engine: intake, threading, the quarantine, the outbox, worker leases."""

from __future__ import annotations

import re
import smtplib
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
from desk.domain.enums import EntryKind, EventKind, InboundState, OutboxState, TicketSource
from desk.domain.errors import PermissionDenied
from desk.domain.views import EntryView, TicketView, Upload
from desk.services import entries, lifecycle, mailboxes, tickets, worker
from desk.services.base import now
from desk.services.mail import intake, outbound, sending
from desk.services.mail.parse import ParsedMail
from desk.storage.models import Attachment, InboundMessage, Mailbox, OutboxMessage, Ticket, User, WorkerJob
from tests.services.conftest import World, count, events

SUPPORT = "support@desk.example"


@pytest.fixture
def mail_world(world: World) -> World:
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address=SUPPORT, smtp_host="127.0.0.1", smtp_port=2525)
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
    """Store and process one message as the worker does; its outcome and ticket."""
    inbound_id = intake.store(world.db, None, None, raw)
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
        mail_world, mail(sender="manager@desk.example", body="Vendor says Friday.", In_Reply_To=ours.message_id)
    )

    assert threaded == ticket_id
    note = thread_of(mail_world, ticket_id)[-1]
    assert (note.kind, note.body_text, note.author) == (EntryKind.NOTE, "Vendor says Friday.", "Manager Agent")
    assert not [
        row
        for row in outbox(mail_world, ticket_id)
        if "alice@example.com" in row.recipients["to"] and row.kind == "reply"
    ]


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
    assert "no sender address" in (kept.reason or "")
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
    [outgoing] = [o for o in sending.due(mail_world.db) if o.id == reply.id]
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
    first = sending.due(mail_world.db)
    assert {m.message["Subject"] for m in first}  # the auto-response and the alert, claimed
    assert sending.due(mail_world.db) == []  # a worker that took over meanwhile finds nothing to send twice
    with mail_world.db.transaction() as session:  # the first worker died: after its claim, the mails go again
        session.execute(update(OutboxMessage).values(next_attempt_at=now() - timedelta(seconds=1)))
    assert {m.id for m in sending.due(mail_world.db)} == {m.id for m in first}


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
    mailboxes.switch_notification(
        mail_world.db, mail_world.admin, "auto_response", False, department_id=mail_world.support
    )
    mailboxes.switch_notification(
        mail_world.db, mail_world.admin, "auto_response", True, topic_id=mail_world.topic_outage
    )
    with pytest.raises(PermissionDenied):
        mailboxes.switch_notification(mail_world.db, mail_world.manager, "auto_response", True)

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
