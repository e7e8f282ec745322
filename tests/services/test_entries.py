"""Replies, internal notes, user messages, edits and attachments."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select, update

from desk.domain.enums import PUBLIC_EVENTS, EntryKind, Recipients, StatusState
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.views import EntryView, EventView, TicketView, Upload
from desk.services import entries, lifecycle, queues, settings, tickets
from desk.storage.models import Attachment, Blob, EntryRevision, ThreadEntry
from tests.services.conftest import SYSTEM, World, count, feed


def kinds(view: object) -> list[str]:
    return [item.kind.value for item in view.thread]  # type: ignore[attr-defined]


def test_reply_answers_and_records_first_response(world: World) -> None:
    ticket = world.open()
    assert not ticket.answered and ticket.first_responded_at is None
    view = entries.post_reply(world.db, world.limited, ticket.id, "Have you tried turning it off?")
    assert view.answered
    assert view.first_responded_at is not None and view.last_response_at == view.first_responded_at
    assert view.due == view.resolution_due  # the next deadline is now the resolution
    reply = view.thread[-1]
    assert isinstance(reply, EntryView) and reply.kind == EntryKind.REPLY and reply.author == "Limited Agent"
    assert reply.recipients == ("alice@example.com",)
    assert feed(world.db, ticket.id) == ["created", "reply"]


def test_reply_goes_to_collaborators_unless_requester_only(world: World) -> None:
    ticket = world.open()
    lifecycle.add_collaborator(world.db, world.manager, ticket.id, "bob@example.com")
    view = entries.post_reply(world.db, world.manager, ticket.id, "To everyone")
    assert view.thread[-1].recipients == ("alice@example.com", "cc:bob@example.com")  # type: ignore[union-attr]
    view = entries.post_reply(world.db, world.manager, ticket.id, "Just you", recipients=Recipients.REQUESTER)
    assert view.thread[-1].recipients == ("alice@example.com",)  # type: ignore[union-attr]
    view = entries.post_reply(world.db, world.manager, ticket.id, "Nobody", recipients=Recipients.NONE)
    assert view.thread[-1].recipients == ()  # type: ignore[union-attr]


def test_reply_and_resolve_in_one_action(world: World) -> None:
    ticket = world.open()
    view = entries.post_reply(world.db, world.manager, ticket.id, "Fixed it.", status_id=world.statuses["Resolved"])
    assert view.status.name == "Resolved" and view.status.state == StatusState.CLOSED
    assert view.closed_at is not None
    assert kinds(view)[-2:] == ["reply", "resolved"]


def test_reply_with_status_the_role_cannot_set_changes_nothing(world: World) -> None:
    ticket = world.open()
    with pytest.raises(PermissionDenied):
        entries.post_reply(world.db, world.limited, ticket.id, "Deleting", status_id=world.statuses["Deleted"])
    assert count(world.db, ThreadEntry) == 1  # only the opening message


def test_note_is_hidden_from_the_end_user(world: World) -> None:
    ticket = world.open()
    entries.post_note(world.db, world.limited, ticket.id, "Customer seems upset")
    agent_view = tickets.get_ticket(world.db, world.manager, ticket.id)
    assert "note" in kinds(agent_view)
    assert not agent_view.answered
    user_view = tickets.get_ticket(world.db, world.alice, ticket.id)
    assert "note" not in kinds(user_view)
    assert all(item.kind in PUBLIC_EVENTS for item in user_view.thread if isinstance(item, EventView))


def test_user_message_clears_answered_and_reopens_resolved(world: World) -> None:
    ticket = world.open()
    entries.post_reply(world.db, world.manager, ticket.id, "Done", status_id=world.statuses["Resolved"])
    view = entries.add_message(world.db, world.alice, ticket.id, "Still broken!")
    assert not view.answered
    assert view.status.name == "Open" and view.reopen_count == 1 and view.closed_at is None
    assert kinds(view)[-2:] == ["message", "reopened"]


def test_message_to_a_status_that_forbids_reopening_is_refused(world: World) -> None:
    ticket = world.open()
    lifecycle.set_status(world.db, world.manager, ticket.id, world.statuses["Archived"])
    with pytest.raises(Invalid, match="cannot be reopened"):
        entries.add_message(world.db, world.alice, ticket.id, "Hello?")


def test_only_the_requester_or_system_adds_user_messages(world: World) -> None:
    ticket = world.open()
    with pytest.raises(NotFound):
        entries.add_message(world.db, world.bob, ticket.id, "Not my ticket")
    with pytest.raises(PermissionDenied):
        entries.add_message(world.db, world.manager, ticket.id, "Agents reply instead")
    view = entries.add_message(world.db, SYSTEM, ticket.id, "From mail", from_user_id=world.alice.id)
    assert view.thread[-1].author == "Alice Archer"  # type: ignore[union-attr]


def test_edit_keeps_the_original(world: World) -> None:
    ticket = world.open()
    view = entries.post_reply(world.db, world.manager, ticket.id, "Teh fix")
    reply_id = view.thread[-1].id
    view = entries.edit_entry(world.db, world.manager, reply_id, "The fix")
    edited = next(i for i in view.thread if isinstance(i, EntryView) and i.id == reply_id)
    assert edited.body_text == "The fix" and edited.edited_at is not None
    revisions = entries.entry_revisions(world.db, world.manager, reply_id)
    assert [(r.body_text, r.author) for r in revisions] == [("Teh fix", "Manager Agent")]
    assert count(world.db, EntryRevision) == 1
    with pytest.raises(PermissionDenied, match=r"^Your role in Support cannot edit thread entries\.$"):
        entries.edit_entry(world.db, world.limited, reply_id, "Mine now")


@examples(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec=None), min_size=1, max_size=30) | st.sampled_from(["a\x00b", "a\ud800b"]))
def test_a_reply_note_or_edit_stores_its_text_as_given_or_says_what_to_fix(world: World, text: str) -> None:
    """The window and the CLI reach these services without the API's text checks: NUL (which PostgreSQL refuses)
    or a lone surrogate (which no engine encodes) gets a message about the text, never a database error."""
    unstorable = "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    ticket = world.open()
    opening = ticket.thread[0].id

    def entry(view: TicketView, entry_id: int | None = None) -> EntryView:
        found = [i for i in view.thread if isinstance(i, EntryView) and entry_id in (None, i.id)]
        return found[-1]

    attempts = (
        (lambda: entry(entries.post_reply(world.db, world.manager, ticket.id, text)).body_text, text, True),
        (
            lambda: entry(entries.post_note(world.db, world.manager, ticket.id, "n", body_html=text)).body_text,
            "n",
            False,
        ),
        (lambda: entry(entries.edit_entry(world.db, world.manager, opening, text), opening).body_text, text, True),
    )
    for attempt, stored, blank_refused in attempts:
        if unstorable or (blank_refused and not text.strip()):
            with pytest.raises(Invalid) as refused:
                attempt()
            assert set(refused.value.fields) == {"body"}
        else:
            assert attempt() == stored


def test_html_is_sanitised(world: World) -> None:
    ticket = world.open(body="see html", body_html='<p onclick="x()">Hi<script>alert(1)</script></p>')
    first = ticket.thread[0]
    assert isinstance(first, EntryView) and first.body_html == "<p>Hi</p>"


def test_attachments_are_deduplicated_and_limited(world: World) -> None:
    ticket = world.open()
    logo = Upload("logo.png", "image/png", b"\x89PNG" + b"x" * 100)
    entries.post_reply(world.db, world.manager, ticket.id, "One", attachments=[logo])
    view = entries.post_note(world.db, world.manager, ticket.id, "Same file", attachments=[logo])
    attachment = view.thread[-1].attachments[0]  # type: ignore[union-attr]
    assert (attachment.name, attachment.size) == ("logo.png", 104)
    assert count(world.db, Blob) == 1
    meta, data = entries.attachment_content(world.db, world.manager, attachment.id)
    assert data == logo.data and meta.content_type == "image/png"
    with pytest.raises(NotFound):  # the note's attachment is not the end user's to fetch
        entries.attachment_content(world.db, world.alice, attachment.id)
    with world.db.transaction() as session:
        settings.put(session, "attachments.max_bytes", 50)
    with pytest.raises(Invalid, match="at most 50 bytes"):
        entries.post_reply(world.db, world.manager, ticket.id, "Too big", attachments=[logo])
    assert count(world.db, ThreadEntry) == 3


@pytest.mark.parametrize(
    ("name", "content_type", "stored"),
    [
        ("../../etc/invoice.exe.", "application/x-msdownload", "invoice.exe"),
        ("C:\\Users\\anna\\statement\r\n.pdf", "application/pdf", "statement.pdf"),
        ("photo\u202egnp.exe", "image/png", "photognp.exe"),
        ("CON.txt", "text/plain; charset=utf-8", "_CON.txt"),
        ("  ", "image/jpeg", "attachment.jpg"),
    ],
)
def test_a_file_is_stored_under_its_safe_name_from_every_channel(
    world: World, name: str, content_type: str, stored: str
) -> None:
    """Mail, the Support Center, the API and the window all store files through the same service."""
    upload = Upload(name, content_type, b"data")
    ticket = world.open(attachments=[upload])
    entries.post_reply(world.db, world.manager, ticket.id, "Agent", attachments=[upload])
    entries.post_note(world.db, world.manager, ticket.id, "Note", attachments=[upload])
    view = entries.add_message(world.db, world.alice, ticket.id, "User", attachments=[upload])
    files = [a for item in view.thread if isinstance(item, EntryView) for a in item.attachments]
    assert [a.name for a in files] == [stored] * 3  # the user does not see the note's
    assert {a.content_type for a in files} == {content_type.split(";")[0]}
    with world.db.transaction(write=False) as session:
        assert set(session.scalars(select(Attachment.name))) == {stored}


def test_a_name_stored_before_names_were_made_safe_is_safe_on_the_way_out(world: World) -> None:
    ticket = world.open(attachments=[Upload("report.pdf", "application/pdf", b"%PDF")])
    with world.db.transaction() as session:
        session.execute(update(Attachment).values(name="..\\report\r\n\u202efdp.exe.", content_type="multipart/mixed"))
    [attachment] = tickets.get_ticket(world.db, world.manager, ticket.id).thread[0].attachments  # type: ignore[union-attr]
    assert (attachment.name, attachment.content_type) == ("report fdp.exe", "application/octet-stream")
    meta, _data = entries.attachment_content(world.db, world.manager, attachment.id)
    assert meta == attachment


def test_new_entry_is_searchable_at_once(world: World) -> None:
    ticket = world.open()
    entries.post_note(world.db, world.manager, ticket.id, "Toner cartridge xylophone")
    page = queues.search_tickets(world.db, world.manager, "xylophone")
    assert [row.id for row in page.rows] == [ticket.id]


def test_a_file_of_a_type_not_on_the_list_is_refused_from_every_channel(world: World) -> None:
    """Replies, notes, a user's message and a new ticket all store files through one check of the types."""
    ticket = world.open()
    with world.db.transaction() as session:
        settings.put(session, "attachments.types", ["pdf", "png"])
    program = Upload("invoice.pdf.exe ", "application/x-msdownload", b"MZ")
    for attempt in (
        lambda: entries.post_reply(world.db, world.manager, ticket.id, "Agent", attachments=[program]),
        lambda: entries.post_note(world.db, world.manager, ticket.id, "Note", attachments=[program]),
        lambda: entries.add_message(world.db, world.alice, ticket.id, "User", attachments=[program]),
        lambda: world.open(attachments=[program]),
    ):
        with pytest.raises(Invalid) as refused:
            attempt()
        accepted = "Desk accepts only these file types: pdf, png."
        assert str(refused.value) == f"“invoice.pdf.exe” cannot be attached: {accepted}"
        assert "attachments" in refused.value.fields
    assert count(world.db, ThreadEntry) == 1 and count(world.db, Attachment) == 0  # nothing half-written
    scan = Upload("Scan.PDF", "application/pdf", b"%PDF")
    view = entries.post_reply(world.db, world.manager, ticket.id, "Agent", attachments=[scan])
    assert [a.name for a in view.thread[-1].attachments] == ["Scan.PDF"]  # type: ignore[union-attr]
