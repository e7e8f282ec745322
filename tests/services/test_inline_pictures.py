"""Inline (`cid:`) pictures: a mail's inline part keeps its Content-ID, its HTML keeps the `cid:` picture, and the
pictures a thread shows in place are handed out only to someone who may see them."""

from __future__ import annotations

import struct
import zlib
from email.message import EmailMessage
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid

import pytest

from desk.domain.errors import Invalid, NotFound
from desk.domain.views import EntryView, TicketView, Upload
from desk.services import entries, tickets
from tests.services.conftest import World
from tests.services.test_mail import SUPPORT, deliver, mail_world  # noqa: F401  # the fixture


def png(width: int = 40, height: int = 20, rgb: tuple[int, int, int] = (220, 30, 30)) -> bytes:
    """A real PNG of one colour, made without Qt (the services' tests import none)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def mail_with_picture(picture: bytes, content_id: str = "chart@example.com") -> bytes:
    """A mail as Thunderbird sends a pasted picture: the HTML version in a multipart/related with the picture."""
    message = EmailMessage()
    message["From"] = "Alice Archer <alice@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = "Error on screen"
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("This is what I see:\n[chart]\n")
    message.add_alternative(f'<p>This is what I see:</p><p><img src="cid:{content_id}" alt="chart"></p>', "html")
    html = message.get_body(("html",))
    assert html is not None
    html.add_related(picture, "image", "png", cid=f"<{content_id}>", filename="chart.png")
    return message.as_bytes()


def only_entry(view: TicketView) -> EntryView:
    [entry] = [item for item in view.thread if isinstance(item, EntryView)]
    return entry


def test_a_mail_s_inline_picture_is_stored_with_its_content_id_and_shown_by_it(mail_world: World) -> None:  # noqa: F811
    picture = png()
    _state, ticket_id = deliver(mail_world, mail_with_picture(picture))
    assert ticket_id is not None
    entry = only_entry(tickets.get_ticket(mail_world.db, mail_world.manager, ticket_id))
    [attachment] = entry.attachments
    assert (attachment.name, attachment.content_type, attachment.content_id) == (
        "chart.png",
        "image/png",
        "chart@example.com",
    )
    assert entry.body_html == '<p>This is what I see:</p><p><img src="cid:chart@example.com" alt="chart"></p>\n'
    assert entries.pictures(mail_world.db, mail_world.manager, ticket_id, (attachment.id,)) == (
        (attachment.id, picture),
    )
    assert entries.pictures(mail_world.db, mail_world.alice, ticket_id, (attachment.id,)) == ((attachment.id, picture),)


def test_only_the_ticket_s_shown_pictures_are_handed_out_and_no_note_s_to_its_requester(world: World) -> None:
    picture = png()

    def shown(name: str, content_type: str = "image/png", data: bytes = picture) -> Upload:
        return Upload(name, content_type, data, content_id=f"<{name}@x>")

    ticket = world.open(
        body="Screens",
        body_html='<img src="cid:a.png@x">',
        attachments=[shown("a.png"), Upload("b.png", "image/png", picture)],
    )
    first, plain = only_entry(ticket).attachments
    assert (first.content_id, plain.content_id) == ("a.png@x", None)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    noted = entries.post_note(
        world.db, world.manager, ticket.id, "Inside", attachments=[shown("n.png"), shown("s.svg", "image/svg+xml", svg)]
    )
    note_picture, script = noted.thread[-1].attachments  # type: ignore[union-attr]
    other = world.open(subject="Other", attachments=[shown("o.png")])
    elsewhere = only_entry(other).attachments[0]
    asked = (first.id, plain.id, note_picture.id, script.id, elsewhere.id)

    given = entries.pictures(world.db, world.manager, ticket.id, asked)
    assert given == (
        (first.id, picture),
        (note_picture.id, picture),
    )  # not a file without a Content-ID, an SVG, another ticket's
    assert entries.pictures(world.db, world.alice, ticket.id, asked) == ((first.id, picture),)
    with pytest.raises(NotFound):
        entries.pictures(world.db, world.outsider, ticket.id, asked)
    with pytest.raises(NotFound):
        entries.pictures(world.db, world.bob, ticket.id, asked)
    with pytest.raises(Invalid, match="at most 100"):
        entries.pictures(world.db, world.manager, ticket.id, tuple(range(1, 102)))


def test_outlook_s_layout_keeps_the_picture_s_content_id_too(mail_world: World) -> None:  # noqa: F811
    """Outlook and Apple Mail wrap the other way round: multipart/related around the alternative and the picture."""
    picture = png()
    message = MIMEMultipart("related")
    message["From"] = "Alice Archer <alice@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = "Error on screen"
    message["Message-ID"] = make_msgid(domain="example.com")
    versions = MIMEMultipart("alternative")
    versions.attach(MIMEText("See:\n"))
    versions.attach(MIMEText('<p>See:</p><img src="cid:image001.png@01DA2B3C.4D5E6F70">', "html"))
    message.attach(versions)
    image = MIMEImage(picture, "png")
    image["Content-ID"] = "<image001.png@01DA2B3C.4D5E6F70>"
    message.attach(image)
    _state, ticket_id = deliver(mail_world, message.as_bytes())
    assert ticket_id is not None
    entry = only_entry(tickets.get_ticket(mail_world.db, mail_world.manager, ticket_id))
    [attachment] = entry.attachments
    assert attachment.content_id == "image001.png@01DA2B3C.4D5E6F70"
    assert entry.body_text == "See:" and entry.body_html is not None
    assert '<img src="cid:image001.png@01DA2B3C.4D5E6F70">' in entry.body_html
    assert entries.pictures(mail_world.db, mail_world.manager, ticket_id, (attachment.id,)) == (
        (attachment.id, picture),
    )
