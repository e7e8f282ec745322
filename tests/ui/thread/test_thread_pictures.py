"""Inline (`cid:`) pictures in the thread view: shown in place from the entry's own stored attachment, fetched
after the thread is shown; Qt is never asked for anything else, and never loads a file or an address itself."""

from __future__ import annotations

import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot
from sqlalchemy import select

import qasync
from PySide6.QtCore import QSize, QUrl
from PySide6.QtGui import QColor, QImage, QTextDocument

from desk.domain.enums import EntryKind
from desk.domain.views import AttachmentView
from desk.services.richtext import sanitize_html
from desk.services.worker import Worker
from desk.storage.db import Database
from desk.storage.models import Ticket
from desk.ui.thread.view import PICTURE_WIDTH, ThreadView
from desk.ui.ticket.editor import TicketEditor
from tests.mail import smtp
from tests.mail.dovecot import ImapServer, free_ports
from tests.mail.helpdesk import support_desk
from tests.services.test_inline_pictures import mail_with_picture, png
from tests.services.test_richtext import SOURCES, element, markup
from tests.ui.conftest import make_context, run, until
from tests.ui.thread.test_thread_view import entry

RED = (220, 30, 30)
NO_SOURCE = ""  # what Qt asks for a picture left without a source (another entry's, a file's, an address's)


def picture(content_id: str, attachment_id: int, name: str = "chart.png", size: int = 1000) -> AttachmentView:
    return AttachmentView(attachment_id, name, "image/png", size, "0" * 64, content_id)


class SpyingThreadView(ThreadView):
    """Records every resource the document asks for (its icons and pictures given up front are not asked)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.wanted: list[list[int]] = []
        self.pictures_wanted.connect(self.wanted.append)

    def loadResource(self, type: int, name: QUrl | str) -> object:  # noqa: N802
        self.asked.append(QUrl(name).toString())
        return super().loadResource(type, name)


def spy(qtbot: QtBot) -> SpyingThreadView:
    view = SpyingThreadView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    return view


def reddish(image: QImage) -> int:
    """How many points of a grid over the image are the test picture's red."""
    points = ((x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4))
    return sum(1 for x, y in points if image.pixelColor(x, y) == QColor(*RED))


def test_a_cid_picture_is_asked_for_then_shown_in_place(qtbot: QtBot) -> None:
    view = spy(qtbot)
    html = sanitize_html('<p>Look:</p><img src="cid:chart@x" alt="chart"><img src="cid:elsewhere@x">')
    shown = entry(1, EntryKind.MESSAGE, "Anna Berg", "Look:", body_html=html, attachments=(picture("chart@x", 7),))
    view.set_thread([shown])
    assert view.wanted == [[7]]  # the picture of this entry, not the one it names but does not carry
    view.grab()
    assert reddish(view.grab().toImage()) == 0

    view.add_pictures([(7, png(200, 120, RED))])
    resource = view.document().resource(QTextDocument.ResourceType.ImageResource, QUrl("cid:7"))
    assert isinstance(resource, QImage) and resource.size() == QSize(200, 120)
    assert reddish(view.grab().toImage()) > 100

    view.set_thread([shown])  # a refresh shows it at once, without asking again
    assert view.wanted == [[7]] and reddish(view.grab().toImage()) > 100
    assert all(url in ("cid:7", NO_SOURCE) or url.startswith("icon:") for url in view.asked), view.asked


def test_a_wide_picture_is_scaled_down_and_a_huge_or_broken_one_stays_empty(qtbot: QtBot) -> None:
    view = spy(qtbot)
    attachments = (picture("wide@x", 1), picture("huge@x", 2), picture("broken@x", 3))
    html = sanitize_html('<img src="cid:wide@x"><img src="cid:huge@x"><img src="cid:broken@x">')
    view.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "", body_html=html, attachments=attachments)])
    # A few bytes that claim 100,000 x 100,000 pixels: never decoded.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    huge = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + header
        + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    )
    view.add_pictures([(1, png(2000, 100)), (2, huge), (3, b"not a picture")])
    document = view.document()
    wide = document.resource(QTextDocument.ResourceType.ImageResource, QUrl("cid:1"))
    assert isinstance(wide, QImage) and wide.size() == QSize(PICTURE_WIDTH, 32)
    for attachment_id in (2, 3):
        empty = document.resource(QTextDocument.ResourceType.ImageResource, QUrl(f"cid:{attachment_id}"))
        assert isinstance(empty, QImage) and empty.size() == QSize(1, 1)


def test_a_picture_too_big_or_of_a_type_not_shown_in_place_is_not_asked_for(qtbot: QtBot) -> None:
    view = spy(qtbot)
    attachments = (
        picture("big@x", 1, size=6 * 1024 * 1024),
        picture("svg@x", 2, name="chart.svg"),
        AttachmentView(3, "plain.png", "image/png", 100, "0" * 64),
    )
    html = sanitize_html('<img src="cid:big@x"><img src="cid:svg@x"><img src="cid:plain.png">')
    view.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "", body_html=html, attachments=attachments)])
    view.grab()
    assert view.wanted == []
    assert all(url == NO_SOURCE or url.startswith("icon:") for url in view.asked), view.asked


content_ids = st.sampled_from(["chart@x", "logo@x", "missing@x", "7", "../7", "%3Cchart@x%3E", "CHART@x"])
picture_sources = st.one_of(st.sampled_from(SOURCES), content_ids.map(lambda cid: f"cid:{cid}"))
picture_element = st.tuples(
    st.just("img"), st.lists(st.tuples(st.just("src"), picture_sources), max_size=2), st.text(max_size=4)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(element, picture_element), min_size=1, max_size=6), st.booleans())
def test_qt_is_asked_only_for_our_icons_and_the_thread_s_own_pictures(
    qtbot: QtBot, elements: list[tuple[str, list[tuple[str, str]], str]], sanitised: bool
) -> None:
    """Whatever the HTML names (files, shares, web addresses, data, other entries' pictures, escaped spellings),
    stored under the policy or not: Qt asks only for `icon:` and the `cid:` pictures of the entry's own attachments,
    and gets an empty image for anything it might still ask for."""
    html = markup(elements)
    body = sanitize_html(html) if sanitised else html
    view = spy(qtbot)
    own = (picture("chart@x", 11), picture("logo@x", 12))
    other = entry(
        2, EntryKind.REPLY, "John Carter", "", body_html='<img src="cid:7">', attachments=(picture("x@y", 7),)
    )
    view.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "", body_html=body, attachments=own), other])
    view.add_pictures([(11, png(10, 10)), (12, png(10, 10)), (7, png(10, 10))])
    view.grab()
    for url in view.asked:
        assert url.startswith("icon:") or url in ("cid:11", "cid:12", NO_SOURCE), url
    assert all(ids and set(ids) <= {11, 12, 7} for ids in view.wanted)


def test_a_mailed_picture_comes_through_imap_and_shows_in_the_ticket(
    db: Database, imap_server: ImapServer, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    """A user pastes a screenshot into a mail: fetched from Dovecot by the worker, it is shown in the ticket's thread
    where the mail put it."""
    _mailer, controller = smtp.start_mailer(imap_server, free_ports(1)[0], {})
    try:
        support_desk(db, imap_server, "desk", controller.port)
        imap_server.append("desk", mail_with_picture(png(200, 120, RED)))
        Worker(db, context=imap_server.ssl_context(), fetch_every=0, send_every=0, holder="test-worker").run_due()
        with db.transaction(write=False) as session:
            [ticket_id] = session.scalars(select(Ticket.id)).all()
        ctx = make_context(db, "admin")

        async def scenario() -> None:
            editor = TicketEditor(ctx, ticket_id)
            qtbot.addWidget(editor)
            editor.resize(1100, 700)
            editor.show()
            await editor.load()
            view = editor.thread_view
            await until(lambda: reddish(view.grab().toImage()) > 100, what="the mailed picture shown in the thread")
            assert view.document().find("This is what I see:").hasSelection()

        run(loop, scenario())
        ctx.close()
    finally:
        controller.stop()
