"""The mail channel against real servers on loopback: Dovecot for IMAP, aiosmtpd for SMTP, the worker between.

A user mails the support address → a ticket with an auto-response → an agent replies → the user's mailbox
receives it → the user replies from that mail → the same ticket, reopened. Then the faults: the IMAP server
stopped mid-fetch, the SMTP server refusing, a worker killed in the middle of its job.
"""

from __future__ import annotations

import imaplib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from desk.cli import main
from desk.domain.enums import EntryKind, InboundState, OutboxState
from desk.domain.permissions import AgentActor
from desk.domain.views import EntryView, Upload
from desk.services import entries, lifecycle, tickets, worker
from desk.services.base import now
from desk.services.mail import fetching
from desk.services.worker import Worker
from desk.storage.db import Database
from desk.storage.models import Attachment, InboundMessage, Mailbox, OutboxMessage, Ticket, WorkerJob
from desk.storage.secrets import seal
from tests.mail import smtp
from tests.mail.dovecot import ImapServer, free_ports
from tests.mail.helpdesk import SUPPORT, support_desk
from tests.mail.smtp import Mailer

ALICE = "alice@example.com"


@dataclass
class Desk:
    db: Database
    imap: ImapServer
    mailer: Mailer
    agent: AgentActor
    mailbox_id: int

    def worker(self) -> Worker:
        return Worker(self.db, context=self.imap.ssl_context(), fetch_every=0, send_every=0, holder="test-worker")

    def run_worker(self) -> dict[str, str]:
        return self.worker().run_due()

    def user_mails(self, subject: str, body: str, **headers: str) -> str:
        message_id = make_msgid(domain="example.com")
        message = EmailMessage()
        message["From"] = f"Alice Archer <{ALICE}>"
        message["To"] = SUPPORT
        message["Subject"] = subject
        message["Message-ID"] = message_id
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        message.set_content(body)
        self.imap.append("desk", message.as_bytes())
        return message_id


@pytest.fixture
def desk(db: Database, imap_server: ImapServer) -> Iterator[Desk]:
    imap_server.add_user("alice", "alice-secret")
    mailer, controller = smtp.start_mailer(imap_server, free_ports(1)[0], {ALICE: "alice"})
    admin, box = support_desk(db, imap_server, "desk", controller.port)
    yield Desk(db, imap_server, mailer, admin, box.id)
    controller.stop()


def thread(desk: Desk, ticket_id: int) -> list[EntryView]:
    view = tickets.get_ticket(desk.db, desk.agent, ticket_id)
    return [item for item in view.thread if isinstance(item, EntryView)]


def only_ticket(db: Database) -> int:
    with db.transaction(write=False) as session:
        [ticket_id] = session.scalars(select(Ticket.id)).all()
        return ticket_id


def test_a_conversation_by_mail_from_first_message_to_reopening(desk: Desk) -> None:
    desk.user_mails("Printer broken", "The printer on floor 2 prints blank pages.")

    desk.run_worker()  # fetch → ticket; send → auto-response and alerts

    ticket_id = only_ticket(desk.db)
    number = tickets.get_ticket(desk.db, desk.agent, ticket_id).number
    [auto] = desk.mailer.to(ALICE)
    assert f"[#{number}]" in auto["Subject"] and auto["Auto-Submitted"] == "auto-replied"
    assert desk.imap.flags("desk") == [{"\\Seen"}]  # marked only after it was stored

    entries.post_reply(desk.db, desk.agent, ticket_id, "Please switch it off and on again.")
    lifecycle.resolve(desk.db, desk.agent, ticket_id)
    desk.run_worker()

    received = desk.imap.messages("alice")  # what Alice's mail client shows
    assert len(received) == 2
    reply = desk.mailer.to(ALICE)[-1]
    assert "Please switch it off and on again." in reply.get_content()
    assert reply["In-Reply-To"] is not None and "Auto-Submitted" not in reply

    desk.user_mails(
        f"Re: {reply['Subject']}",
        f"It is still broken.\n\nOn Mon, 23 Nov 2026 at 10:02, Desk Support <{SUPPORT}> wrote:\n"
        "> Please switch it off and on again.",
        In_Reply_To=reply["Message-ID"],
        References=f"{reply['References'] or ''} {reply['Message-ID']}",
    )
    desk.run_worker()

    assert only_ticket(desk.db) == ticket_id
    view = tickets.get_ticket(desk.db, desk.agent, ticket_id)
    assert view.status.name == "Open" and view.reopen_count == 1
    last = thread(desk, ticket_id)[-1]
    assert (last.kind, last.body_text) == (EntryKind.MESSAGE, "It is still broken.")
    assert len(desk.imap.messages("alice")) == 2  # a user's reply is not auto-answered


def test_the_first_fetch_takes_the_unread_mail_not_the_whole_history(desk: Desk) -> None:
    old = EmailMessage()
    old["From"], old["To"], old["Subject"], old["Message-ID"] = ALICE, SUPPORT, "Old, read", make_msgid()
    old.set_content("Handled by hand years ago.")
    desk.imap.append("desk", old.as_bytes(), flags="\\Seen")
    desk.user_mails("New request", "Please help.")

    desk.run_worker()

    with desk.db.transaction(write=False) as session:
        assert session.scalars(select(Ticket.subject)).all() == ["New request"]
    later = old.as_bytes().replace(b"Old, read", b"Later, read elsewhere")
    desk.imap.append("desk", later, flags="\\Seen")
    desk.run_worker()  # from now on every new UID counts, read or not
    with desk.db.transaction(write=False) as session:
        assert sorted(session.scalars(select(Ticket.subject))) == ["Later, read elsewhere", "New request"]


def test_the_imap_server_stopping_mid_fetch_loses_and_doubles_nothing(desk: Desk) -> None:
    total = fetching.CHUNK * 2 + 7
    for n in range(total):
        desk.user_mails(f"Request {n}", f"Body {n}")
    calls = []

    def stop_after_first_chunk() -> None:
        calls.append(1)
        if len(calls) == 2:
            desk.imap.stop()

    with pytest.raises((OSError, imaplib.IMAP4.error)):  # the connection is cut, or the server says it stops
        fetching.fetch_mailbox(
            desk.db, desk.mailbox_id, context=desk.imap.ssl_context(), keep_alive=stop_after_first_chunk
        )
    with desk.db.transaction(write=False) as session:
        stored = session.scalar(select(func.count()).select_from(InboundMessage))
    assert stored == fetching.CHUNK

    desk.imap.start()
    desk.run_worker()

    with desk.db.transaction(write=False) as session:
        subjects = session.scalars(select(Ticket.subject)).all()
    assert sorted(subjects) == sorted(f"Request {n}" for n in range(total))
    assert all(flags == {"\\Seen"} for flags in desk.imap.flags("desk"))


def test_a_failing_mailbox_is_reported_to_administrators(desk: Desk) -> None:
    desk.imap.stop()
    for _ in range(3):
        desk.run_worker()
    desk.imap.start()
    problems = worker.status(desk.db, desk.agent).problems()
    assert any(p.startswith(f"Mailbox {SUPPORT} cannot be fetched (3 failures in a row)") for p in problems)
    with desk.db.transaction(write=False) as session:
        alerts = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert.mailbox_failing")).all()
        assert [a.recipients["to"] for a in alerts] == [["ada@desk.example"]]  # once per failure streak

    desk.run_worker()  # the server is back: the alert is sent and the mailbox is well again
    assert not [p for p in worker.status(desk.db, desk.agent).problems() if "cannot be fetched" in p]


def test_smtp_refusing_is_retried_and_the_mail_arrives_once(desk: Desk) -> None:
    desk.user_mails("Printer broken", "Blank pages.")
    desk.mailer.refuse_next(2)  # both mails of the first round: the auto-response and the alert to Ada
    desk.run_worker()
    assert desk.imap.messages("alice") == []
    with desk.db.transaction() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert rows and all(r.state == OutboxState.PENDING.value and "451" in (r.last_error or "") for r in rows)
        session.execute(update(OutboxMessage).values(next_attempt_at=now()))  # the retry's time has come

    desk.run_worker()

    assert len(desk.imap.messages("alice")) == 1


def test_a_worker_killed_mid_send_leaves_each_mail_sent_once(desk: Desk, database_url: str) -> None:
    for n in range(3):
        desk.user_mails(f"Request {n}", f"Body {n}")
    # The worker process is killed while the SMTP server holds the second auto-response before accepting it.
    seen: list[str] = []

    def hold_second(address: str) -> bool:
        seen.append(address)
        return address == ALICE and seen.count(ALICE) == 2

    desk.mailer.hold_when = hold_second
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, database_url, str(desk.imap.cafile)],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert desk.mailer.held.wait(60), "the worker never reached the second mail"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    desk.mailer.hold_when = None
    desk.mailer.release.set()
    with desk.db.transaction() as session:  # time passes: the dead worker's leases and its claim on mail run out
        session.execute(update(WorkerJob).values(expires_at=now() - timedelta(seconds=1)))
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.PENDING.value)
            .values(next_attempt_at=now() - timedelta(seconds=1))
        )

    desk.run_worker()

    assert sorted(str(m["To"]) for m in desk.mailer.to(ALICE)) == [ALICE] * 3
    with desk.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 3
        states = session.scalars(select(InboundMessage.state)).all()
    assert states == [InboundState.DONE.value] * 3


@pytest.mark.parametrize("fault", ["missing", "wrong"])
def test_without_the_servers_key_mail_waits_and_the_administrator_is_told_what_to_do(
    desk: Desk,
    fault: str,
    database_url: str,
    secret_key_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The key file is missing, or holds another key (a server rebuilt without restoring it): nothing is fetched,
    the reply waits without an attempt counted, and `desk mail status` names the file and the commands to run."""
    desk.user_mails("Printer broken", "Blank pages.")
    ticket = tickets.open_ticket(desk.db, desk.agent, subject="Toner", body="Order some.", requester_email=ALICE)
    entries.post_reply(desk.db, desk.agent, ticket.id, "Ordered.")
    with desk.db.transaction(write=False) as session:
        stored = session.scalars(select(Mailbox.imap_secret)).one() or ""
    elsewhere = tmp_path / "secret.key"
    monkeypatch.setenv("DESK_SECRET_KEY_FILE", str(elsewhere))
    if fault == "missing":
        why = (
            f"The key file {elsewhere} is missing on this machine. Put back the server's key file from your backup "
            "(or set DESK_SECRET_KEY_FILE, or key_file under [secrets] in the config file, to where it is)."
        )
    else:
        other = seal("another server's key").split(":")[2]
        why = (
            f"It was encrypted with key {stored.split(':')[2]}, but the key file {elsewhere} holds key {other}. Put "
            "back the key file it was encrypted with (set DESK_SECRET_KEY_FILE, or key_file under [secrets] in the "
            "config file, to its path if it is elsewhere)."
        )
    again = f"Or enter the passwords again: `desk mailbox edit {SUPPORT} --passwords`."

    with caplog.at_level(logging.INFO, logger="desk.worker"):
        desk.run_worker()

    assert [r for r in caplog.records if r.exc_info] == []  # reported, never a traceback
    assert "\\Seen" not in desk.imap.flags("desk")[0] and desk.imap.messages("alice") == []
    with desk.db.transaction(write=False) as session:
        [reply] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all()
        assert (reply.state, reply.attempts, reply.last_error) == (OutboxState.PENDING.value, 0, None)
    assert main(["--url", database_url, "mail", "status"]) == 1
    shown = capsys.readouterr().out
    assert f"! Mailbox {SUPPORT} cannot be fetched (1 failures in a row): The IMAP password of {SUPPORT} cannot be " \
           f"decrypted. {why} {again}\n" in shown  # fmt: skip
    assert f"! Mail is not sent: The SMTP password of {SUPPORT} cannot be decrypted. {why} {again}\n" in shown

    monkeypatch.setenv("DESK_SECRET_KEY_FILE", str(secret_key_file))  # the key is back
    with desk.db.transaction() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=now()))
    desk.run_worker()

    assert desk.imap.flags("desk") == [{"\\Seen"}]
    assert len(desk.imap.messages("alice")) == 2  # the reply, and the auto-response to the mail fetched now
    assert sorted(m["Subject"].split(" [#")[0] for m in desk.mailer.to(ALICE)) == [
        "Re: Toner",
        "We received your request: Printer broken",
    ]
    assert not [p for p in worker.status(desk.db, desk.agent).problems() if "decrypted" in p]


# The worker as `desk worker` runs it, in its own process, trusting the test CA.
WORKER_SCRIPT = """
import ssl, sys, threading
from desk.services.worker import Worker
from desk.storage.db import Database
worker = Worker(Database(sys.argv[1]), context=ssl.create_default_context(cafile=sys.argv[2]), fetch_every=0,
                send_every=0, holder="doomed")
worker.run_forever(threading.Event())
"""


def test_a_reply_whose_stored_text_breaks_lines_still_reaches_the_user(desk: Desk) -> None:
    """Names and subjects stored with line breaks (before names were made safe on entry) or typed by anyone: the
    reply is built, the SMTP server accepts it and Alice reads one-line headers and safe file names."""
    desk.user_mails("Printer broken", "Blank pages.")
    desk.run_worker()
    ticket_id = only_ticket(desk.db)
    entries.post_reply(
        desk.db,
        desk.agent,
        ticket_id,
        "The driver and the log.",
        attachments=[
            Upload("driver\r\n.exe.", "application/x-msdownload", b"MZ"),
            Upload("log.txt", "text/plain", b"log"),
        ],
    )
    with desk.db.transaction() as session:  # what earlier versions stored as it came
        reply = session.scalars(select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING.value)).one()
        reply.subject = "Re: Printer broken\r\nBcc: everyone@example.com"
        session.execute(update(Mailbox).values(name="Desk\r\nSupport\x1b"))
        session.execute(
            update(Attachment).where(Attachment.name == "log.txt").values(name="../log\r\nfile\u202etxt.exe")
        )

    desk.run_worker()

    message = message_from_bytes(desk.imap.messages("alice")[-1], policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Re: Printer broken Bcc: everyone@example.com" and "Bcc" not in message
    assert message["From"].addresses[0].display_name == "Desk Support"
    assert [part.get_filename() for part in message.iter_attachments()] == ["driver.exe", "log filetxt.exe"]
