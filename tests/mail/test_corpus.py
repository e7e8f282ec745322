"""Real-world shaped mail (tests/mail/corpus: Outlook, Gmail, Apple Mail, Thunderbird, phones, ticket systems,
broken and automatic messages), each taken in by the services: threaded right, stored or quarantined, never lost.

expected.json says, per file, what a person reading the message would agree on: who sent it, where it belongs,
what text the agent must see and what quoted history must be gone, which files come with it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from desk.domain import mailthread
from desk.domain.enums import EntryKind, InboundState
from desk.domain.permissions import Right, SystemActor
from desk.domain.views import EntryView
from desk.services import accounts, lifecycle, mailboxes, settings, tickets
from desk.services.mail import intake
from desk.storage.db import Database
from desk.storage.models import Attachment, InboundMessage, Mailbox, OutboxMessage, Ticket

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: list[dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
NUMBER = "482913"
OUR_ID = "<t17.a1b2c3d4.5f0e9a8b7c6d5e4f@desk.example>"  # a mail we sent on the ticket
ALICE_FIRST = "<CAF=alice-first@mail.gmail.com>"  # a mail from Alice we stored on it


def raw_of(case: dict[str, Any]) -> bytes:
    raw: bytes = (CORPUS / case["file"]).read_bytes()
    if "generate" in case:  # an attachment too big to keep in git, made here
        data = os.urandom(case["generate"]["attachment_bytes"])
        encoded = base64.encodebytes(data)  # 76 columns, LF endings
        raw = raw.replace(b"@@BIG_ATTACHMENT_BASE64@@\n", encoded).replace(b"@@BIG_ATTACHMENT_BASE64@@", encoded)
    return raw


@pytest.fixture
def help_desk(db: Database) -> tuple[Database, int]:
    """Support with John the agent, Alice's ticket #482913 with Bob copied, and the mail ids known on it."""
    system = SystemActor()
    admin = accounts.add_agent(
        db, system, username="admin", name="Ada Admin", email="ada@desk.example", password="x" * 12,
        rights=(Right.ADMIN,),
    )  # fmt: skip
    accounts.add_agent(
        db, system, username="john", name="John Agent", email="john@desk.example", password="x" * 12,
        access={"Support": "All access"},
    )  # fmt: skip
    mailboxes.add_mailbox(
        db, admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1",
        auth_server="mx.desk.example",  # the receiving server in the corpus's Received and Authentication-Results
    )  # fmt: skip
    view = tickets.open_ticket(
        db, system, subject="Printer broken", body="It prints blank pages.", requester_email="alice@example.com",
        requester_name="Alice Archer",
    )  # fmt: skip
    lifecycle.add_collaborator(db, system, view.id, "bob@example.com", name="Bob Baker")
    with db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.id == view.id).values(number=NUMBER))
        session.add(InboundMessage(message_id=ALICE_FIRST, raw=b"", size=0, received_at=view.created_at,
                                   state=InboundState.DONE.value, ticket_id=view.id))  # fmt: skip
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == view.id)).first()
        assert sent is not None  # the auto-response of the ticket above: it becomes "the mail we sent"
        sent.message_id = OUR_ID
        settings.put(session, "attachments.max_bytes", 10 * 1024 * 1024)
    return db, view.id


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"].removesuffix(".eml") for case in EXPECTED])
def test_each_message_is_threaded_stored_or_quarantined(help_desk: tuple[Database, int], case: dict[str, Any]) -> None:
    db, ticket_id = help_desk
    raw = raw_of(case)
    with db.transaction(write=False) as session:
        mailbox_id = session.scalar(select(Mailbox.id))
    inbound_id = intake.store(db, mailbox_id, None, raw)
    assert inbound_id is not None
    state = intake.process(db, inbound_id)

    with db.transaction(write=False) as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None and row.size == len(raw)
        if case["message_id"]:
            assert row.message_id == case["message_id"]
    if not intake.fits(db, raw):  # MariaDB with its default 16 MiB packet: the mail server keeps the message
        assert state == InboundState.QUARANTINED and "max_allowed_packet" in (row.reason or "")
        assert raw.startswith(row.raw) and b"Subject: " in row.raw
        return
    assert row.raw == raw  # kept as it came
    if case["quarantine"]:
        assert state == InboundState.QUARANTINED, row.reason
        return
    if case["automatic"] in mailthread.POSTED_QUIETLY:  # list mail: posted, but no automatic answer
        assert state == InboundState.DONE and case["automatic"] in (row.reason or ""), row.reason
        with db.transaction(write=False) as session:
            kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.ticket_id == row.ticket_id)).all()
        assert "auto_response" not in kinds
        return
    if case["automatic"]:
        assert state == InboundState.IGNORED and case["automatic"] in (row.reason or ""), row.reason
        return
    assert state == InboundState.DONE, row.reason
    if case["thread"] == "new":
        assert row.ticket_id != ticket_id
    else:
        assert row.ticket_id == ticket_id, f"{case['thread']} did not find the ticket"
    assert row.ticket_id is not None
    view = tickets.get_ticket(db, SystemActor(), row.ticket_id)
    entry = [item for item in view.thread if isinstance(item, EntryView)][-1]
    if case["thread"] == "new":
        assert view.subject == case["subject"][:255]
    if case["author"] == "agent":
        assert (entry.kind, entry.author) == (EntryKind.NOTE, "John Agent")
    else:
        assert entry.kind == EntryKind.MESSAGE
        assert view.requester.email == case["from"] or case["thread"] != "new"
    # Mail in an agent's name or found by its tag as from someone on the ticket, with nothing vouching for it.
    assert entry.sender_unverified == (case["author"] == "unverified")
    for text in case["text_contains"]:
        assert text in entry.body_text, f"{text!r} missing from:\n{entry.body_text}"
    for text in case["text_excludes"]:
        assert text not in entry.body_text, f"quoted {text!r} kept in:\n{entry.body_text}"
    assert (entry.body_html is not None) == case["html"]
    limit = 10 * 1024 * 1024
    kept = [a for a in case["attachments"] if a["size"] <= limit]
    assert sorted((a.name, a.content_type, a.size) for a in entry.attachments) == sorted(
        (a["name"], a["content_type"], a["size"]) for a in kept
    )
    for too_big in (a for a in case["attachments"] if a["size"] > limit):
        assert f"{too_big['name']} ({too_big['size']:,} bytes)" in entry.body_text  # the agent is told
    with db.transaction(write=False) as session:
        assert session.scalar(select(Attachment.id).where(Attachment.size > limit)) is None
