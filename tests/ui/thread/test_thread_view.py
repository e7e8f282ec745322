"""The thread view: what an agent reads (labels, authors, times, events), links, no remote content, speed.

The module is not named test_view.py: tests/ has no __init__.py files, so basenames must be unique across it.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QByteArray, QPoint, QSize, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QImage, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QWidget

from desk.domain.enums import ActorKind, EntryKind, EventKind, Queue
from desk.domain.queues import Criteria
from desk.domain.views import AttachmentView, EntryView, EventView, ThreadItem, Upload, format_size
from desk.services import entries, queues, tickets
from desk.services.demo import LONG_THREAD_SUBJECT
from desk.ui import downloads, theme
from desk.ui.tasks import Context
from desk.ui.thread.view import SHOWN_AT_FIRST, ThreadView, format_time, open_attachment, render
from tests.ui.conftest import db_of, run

T0 = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)


def entry(entry_id: int, kind: EntryKind, author: str, body: str = "Hello", **fields: Any) -> EntryView:
    return EntryView(
        id=entry_id,
        kind=kind,
        author_kind=ActorKind.USER if kind == EntryKind.MESSAGE else ActorKind.AGENT,
        author=author,
        created_at=T0 + timedelta(minutes=entry_id),
        body_text=body,
        body_html=fields.pop("body_html", None),
        **fields,
    )


def conversation() -> list[ThreadItem]:
    return [
        EventView(id=1, kind=EventKind.CREATED, actor_kind=ActorKind.USER, actor="Anna Berg", created_at=T0),
        entry(1, EntryKind.MESSAGE, "Anna Berg", "My card is blocked.\nPlease help."),
        entry(
            2,
            EntryKind.REPLY,
            "John Carter",
            "We unblocked it.",
            recipients=("anna@example.com", "cc:boss@example.com"),
            edited_at=T0 + timedelta(hours=1),
        ),
        entry(3, EntryKind.NOTE, "Ada Lindqvist", "Fraud team confirmed."),
        EventView(
            id=2,
            kind=EventKind.STATUS,
            actor_kind=ActorKind.AGENT,
            actor="Ada Lindqvist",
            created_at=T0 + timedelta(minutes=5),
            data={"before": {"name": "Open"}, "after": {"name": "Resolved"}},
            note="Customer confirmed by phone.",
        ),
    ]


@pytest.fixture
def thread(qtbot: QtBot) -> ThreadView:
    widget = ThreadView()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    return widget


def link_position(widget: ThreadView, text: str) -> QPoint:
    """Where `text` is shown in the viewport, for clicking it as a person would."""
    cursor = widget.document().find(text)
    assert not cursor.isNull(), f"{text!r} is not shown"
    cursor.setPosition(cursor.selectionStart() + 1)
    widget.setTextCursor(cursor)
    widget.ensureCursorVisible()
    return widget.cursorRect(cursor).center()


def test_each_kind_shows_its_label_author_and_time(thread: ThreadView) -> None:
    thread.set_thread(conversation())
    text = thread.toPlainText()
    for label, author in (("Message", "Anna Berg"), ("Reply", "John Carter"), ("Internal note", "Ada Lindqvist")):
        assert re.search(rf"{label}\s+{author}", text), text
    assert format_time(T0 + timedelta(minutes=1)) in text
    assert "My card is blocked.\nPlease help." in text  # line breaks of a plain-text body are kept
    assert "To: anna@example.com · Cc: boss@example.com" in text
    assert "edited" in text
    assert "Anna Berg opened the ticket" in text
    assert "Ada Lindqvist changed the status from Open to Resolved" in text
    assert "Customer confirmed by phone." in text


def test_mail_from_an_unverified_sender_says_so_on_its_entry(thread: ThreadView) -> None:
    vouched = entry(1, EntryKind.MESSAGE, "Anna Berg", "My card is blocked.")
    forged = entry(2, EntryKind.MESSAGE, "john@desk.example", "Approve the refund.", sender_unverified=True)
    thread.set_thread([vouched, forged])

    text = thread.toPlainText()
    warning = "Unverified sender: nothing vouches that this mail is from this address; it may be forged."
    assert text.count(warning) == 1
    assert text.index("Approve the refund.") > text.index(warning) > text.index("My card is blocked.")


def test_time_is_shown_in_local_time_like_mon_23_nov_2026() -> None:
    shown = format_time(T0)
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", shown), shown
    assert shown.endswith(T0.astimezone().strftime("%H:%M"))
    assert format_size(512) == "512 bytes"
    assert format_size(48_000) == "47 KB"
    assert format_size(2_400_000) == "2.3 MB"


def test_every_note_on_a_long_demo_thread_is_labelled_and_it_lays_out_fast(
    thread: ThreadView, ctx: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's 200-entry thread: one "Internal note" label per note, and the layout time printed."""
    page = queues.queue_page(db_of(ctx), ctx.agent, Criteria(text=LONG_THREAD_SUBJECT))
    ticket = tickets.get_ticket(db_of(ctx), ctx.agent, page.rows[0].id)
    notes = [item for item in ticket.thread if isinstance(item, EntryView) and item.kind == EntryKind.NOTE]
    assert len(ticket.thread) >= 200 and notes

    started = time.perf_counter()
    thread.set_thread(ticket.thread)
    thread.document().size()  # forces the whole layout
    elapsed = (time.perf_counter() - started) * 1000
    thread.anchorClicked.emit(QUrl("earlier:all"))  # "Show … earlier messages and events"
    thread.document().size()
    with capsys.disabled():
        print(f"\nThreadView: {len(ticket.thread)} items, the newest set and laid out in {elapsed:.0f} ms")

    assert thread.toPlainText().count("Internal note") == len(notes)


def test_a_long_thread_opens_on_its_newest_items_and_shows_the_earlier_on_request(thread: ThreadView) -> None:
    items = [entry(i, EntryKind.MESSAGE, "Anna Berg", f"Message number {i}.") for i in range(1, 151)]
    thread.set_thread(items)
    QApplication.processEvents()
    text = thread.toPlainText()
    shown = [int(n) for n in re.findall(r"Message number (\d+)\.", text)]
    assert shown == list(range(151 - SHOWN_AT_FIRST, 151))  # the newest, in order
    assert f"Show {150 - SHOWN_AT_FIRST} earlier messages and events" in text
    bar = thread.verticalScrollBar()
    assert bar.value() == bar.maximum()  # at the newest

    thread.anchorClicked.emit(QUrl("earlier:all"))
    QApplication.processEvents()
    text = thread.toPlainText()
    assert [int(n) for n in re.findall(r"Message number (\d+)\.", text)] == list(range(1, 151))
    assert "earlier messages and events" not in text
    # The item that was first stays in view where the agent was reading, the earlier ones above it.
    first = 151 - SHOWN_AT_FIRST

    def top_of(number: int) -> int:
        return thread.cursorRect(thread.document().find(f"Message number {number}.")).top()

    assert 0 <= top_of(first) < thread.viewport().height()
    assert top_of(first - 1) < 0

    thread.set_thread([*items, entry(151, EntryKind.REPLY, "John Carter", "Message number 151.")])
    assert [int(n) for n in re.findall(r"Message number (\d+)\.", thread.toPlainText())] == list(range(1, 152))


def test_opens_scrolled_to_the_newest_entry(thread: ThreadView) -> None:
    items = [entry(i, EntryKind.MESSAGE, "Anna Berg", f"Message number {i}") for i in range(1, 60)]
    thread.set_thread(items)
    QApplication.processEvents()
    bar = thread.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()


def test_a_mail_that_could_not_be_sent_stands_out_with_its_reason(thread: ThreadView) -> None:
    failed = EventView(
        id=9, kind=EventKind.MAIL_FAILED, actor_kind=ActorKind.SYSTEM, actor="System", created_at=T0,
        data={"subject": "Re: Card blocked [#123456]", "to": ["anna@example.com"], "error": "550 No such user"},
    )  # fmt: skip
    thread.set_thread([*conversation(), failed])
    text = thread.toPlainText()
    assert "Mail “Re: Card blocked [#123456]” could not be sent to anna@example.com: 550 No such user" in text
    html = thread.toHtml()
    danger = theme.hex_of("danger")
    assert html.count(danger.lower()) + html.count(danger.upper()) >= 1  # in the alarm colour, with its own icon
    assert "icon:overdue" in html


def test_an_empty_thread_says_so(thread: ThreadView) -> None:
    thread.set_thread([])
    assert thread.toPlainText().strip() == "No messages yet."


class SpyingThreadView(ThreadView):
    """Records what the document asked to load and what it got."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, object]] = []

    def loadResource(self, type: int, name: QUrl | str) -> object:  # noqa: N802
        result = super().loadResource(type, name)
        self.loads.append((QUrl(name).toString(), result))
        return result


def test_remote_and_local_images_in_an_email_are_never_loaded(qtbot: QtBot, tmp_path: Path) -> None:
    """HTML given straight to the view (older stored HTML, a bug in a sanitiser): no source that is not our icon
    is even asked for, and anything asked gets an empty image from loadResource, so Qt never falls back to reading
    the file or address itself."""
    picture = tmp_path / "secret.png"
    big = QImage(300, 200, QImage.Format.Format_RGB32)
    big.fill(Qt.GlobalColor.red)
    assert big.save(str(picture))
    spy = SpyingThreadView()
    qtbot.addWidget(spy)
    spy.resize(600, 400)
    spy.show()
    local = QUrl.fromLocalFile(str(picture)).toString()
    body_html = (
        '<p>Invoice attached <img src="http://tracker.example.com/open.gif?u=anna">'
        f'<img src="https://cdn.example.com/logo.png"><img src="{local}"><img src="{picture}">'
        '<img src="icon:no-such-icon"></p>'
    )
    spy.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "Invoice attached", body_html=body_html)])
    spy.grab()  # lays out and paints, so every image is asked for

    asked = {url for url, _result in spy.loads}
    # The view keeps no source but its entries' own `cid:` pictures (tests/ui/thread/test_thread_pictures.py).
    assert not {"http://tracker.example.com/open.gif?u=anna", local, str(picture), "icon:no-such-icon"} & asked
    for url, result in spy.loads:
        if url.startswith("icon:") and url != "icon:no-such-icon":
            continue
        assert isinstance(result, QImage) and result.size() == QSize(1, 1), (url, result)
    document = spy.document()
    for url in (local, str(picture)):
        shown = document.resource(QTextDocument.ResourceType.ImageResource, QUrl(url))
        assert shown is not None and shown.size() == QSize(1, 1)  # never the 300 x 200 picture on disk
    assert "secret" not in " ".join(str(result) for _url, result in spy.loads)
    icon = document.resource(QTextDocument.ResourceType.ImageResource, QUrl("icon:message"))
    assert icon is not None and not icon.isNull()  # our own icons are there


def test_any_other_resource_is_empty_too(thread: ThreadView, tmp_path: Path) -> None:
    style = tmp_path / "style.css"
    style.write_text("p { color: red }")
    for kind in QTextDocument.ResourceType:
        if kind == QTextDocument.ResourceType.ImageResource:
            continue
        result = thread.loadResource(kind.value, QUrl.fromLocalFile(str(style)))
        assert isinstance(result, QByteArray) and result.isEmpty()


def test_clicking_an_attachment_opens_a_safe_type_and_saves_any_other(thread: ThreadView) -> None:
    pdf = AttachmentView(id=42, name="statement.pdf", content_type="application/pdf", size=2048, sha256="0")
    page = AttachmentView(id=43, name="statement.html", content_type="text/html", size=512, sha256="1")
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", attachments=(pdf, page))])
    assert "statement.pdf (2 KB)" in thread.toPlainText()
    assert "statement.html (512 bytes) (save only)" in thread.toPlainText()  # the agent sees what a click does
    activated: list[tuple[int, bool]] = []
    thread.attachment_activated.connect(lambda attachment_id, save: activated.append((attachment_id, save)))

    for name in ("statement.pdf", "statement.html"):
        QTest.mouseClick(thread.viewport(), Qt.MouseButton.LeftButton, pos=link_position(thread, name))

    assert activated == [(42, False), (43, True)]
    assert "only saves them" in link_tooltip(thread, "statement.html")  # the link says why, in words
    assert "open" in link_tooltip(thread, "statement.pdf").lower()


def link_tooltip(widget: ThreadView, text: str) -> str:
    cursor = widget.document().find(text)
    cursor.setPosition(cursor.selectionStart() + 1)
    return cursor.charFormat().toolTip()


def menu_actions(menu: QMenu) -> tuple[QAction, QAction]:
    """The menu's Open and Save As actions, as the agent sees them in this order."""
    actions = menu.actions()
    assert [a.objectName() for a in actions] == ["openAttachment", "saveAttachment"]
    return actions[0], actions[1]


@pytest.mark.parametrize("name", ["invoice.exe.", "setup.py", "logo.svg", "report.docm", "page.html", "disk.iso"])
def test_open_is_refused_in_the_attachment_menu_for_a_dangerous_type(thread: ThreadView, name: str) -> None:
    attachment = AttachmentView(id=7, name=name, content_type="application/octet-stream", size=10, sha256="0")
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", attachments=(attachment,))])
    activated: list[tuple[int, bool]] = []
    thread.attachment_activated.connect(lambda attachment_id, save: activated.append((attachment_id, save)))

    menu = thread.attachment_menu(attachment)
    open_action, save_action = menu_actions(menu)

    assert not open_action.isEnabled() and "only saves them" in open_action.toolTip()
    assert menu.toolTipsVisible()
    open_action.trigger()  # a disabled action does nothing
    save_action.trigger()
    assert activated == [(7, True)]


def test_open_is_offered_in_the_attachment_menu_for_a_pdf(thread: ThreadView) -> None:
    attachment = AttachmentView(id=8, name="statement.PDF", content_type="application/pdf", size=10, sha256="0")
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", attachments=(attachment,))])
    activated: list[tuple[int, bool]] = []
    thread.attachment_activated.connect(lambda attachment_id, save: activated.append((attachment_id, save)))

    open_action, _save_action = menu_actions(thread.attachment_menu(attachment))
    assert open_action.isEnabled()
    open_action.trigger()
    assert activated == [(8, False)]


def test_web_links_open_in_the_browser_only_when_clicked(thread: ThreadView, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "See https://status.example.com/incident/7.")])
    QApplication.processEvents()
    assert opened == []

    QTest.mouseClick(thread.viewport(), Qt.MouseButton.LeftButton, pos=link_position(thread, "status.example.com"))

    assert opened == ["https://status.example.com/incident/7"]  # the sentence's full stop is not part of it


DISGUISED = (
    '<p>Please confirm your card at <a href="https://evil.example/login?u=anna">'
    'https://<b>bank</b>.example/secure</a> today, or read <a href="https://bank.example/faq">our FAQ</a>.</p>'
)


def test_a_link_whose_text_names_another_host_asks_first_naming_the_real_target(
    thread: ThreadView, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "Confirm your card", body_html=DISGUISED)])

    QTest.mouseClick(thread.viewport(), Qt.MouseButton.LeftButton, pos=link_position(thread, "bank"))

    assert opened == []  # nothing opens before the agent has seen where it goes
    box = thread.confirmation
    assert box is not None and box.isVisible()
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert "https://bank.example/secure" in box.text() and "evil.example" in box.text()
    assert "https://evil.example/login?u=anna" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert opened == []

    QTest.mouseClick(thread.viewport(), Qt.MouseButton.LeftButton, pos=link_position(thread, "bank"))
    box = thread.confirmation
    assert box is not None
    box.button(QMessageBox.StandardButton.Open).click()
    assert opened == ["https://evil.example/login?u=anna"]

    opened.clear()
    QTest.mouseClick(thread.viewport(), Qt.MouseButton.LeftButton, pos=link_position(thread, "our FAQ"))
    assert opened == ["https://bank.example/faq"]  # words that name no address open at once


def test_hovering_a_link_shows_its_real_target(thread: ThreadView) -> None:
    thread.set_thread([entry(1, EntryKind.MESSAGE, "Anna Berg", "Confirm your card", body_html=DISGUISED)])
    QTest.mouseMove(thread.viewport(), link_position(thread, "bank"))
    QApplication.processEvents()
    assert thread.toolTip() == "https://evil.example/login?u=anna"
    thread.highlighted.emit(QUrl())  # the pointer left the link
    assert thread.toolTip() == ""


def test_a_link_of_another_scheme_does_nothing(thread: ThreadView, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)
    activated: list[int] = []
    thread.attachment_activated.connect(activated.append)
    for url in ("file:///etc/passwd", "javascript:alert(1)", "attachment:x", "attachment:99"):
        thread.anchorClicked.emit(QUrl(url))
    assert opened == [] and activated == []


# --- open_attachment ---------------------------------------------------------------------------------------------


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def attachment_on_a_ticket(ctx: Context, name: str, data: bytes) -> int:
    """Attach a file to a note on an open demo ticket; returns the attachment's id."""
    ticket_id = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0].id
    ticket = entries.post_note(
        db_of(ctx), ctx.agent, ticket_id, "The log", attachments=[Upload(name, "application/octet-stream", data)]
    )
    found = [a for item in ticket.thread if isinstance(item, EntryView) for a in item.attachments]
    return found[-1].id


def test_open_attachment_writes_a_temporary_file_and_opens_it(
    loop: qasync.QEventLoop, ctx: Context, parent: QWidget, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachment_id = attachment_on_a_ticket(ctx, "../../sync log.txt", b"line 1\n")
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)

    assert run(loop, open_attachment(ctx, parent, attachment_id, save=False))

    path = Path(opened[0].toLocalFile())
    assert path.name == "sync log.txt"  # no folder parts from the sender's name
    assert path.read_bytes() == b"line 1\n"


def test_save_attachment_writes_where_the_agent_picks(
    loop: qasync.QEventLoop, ctx: Context, parent: QWidget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    attachment_id = attachment_on_a_ticket(ctx, "invoice.pdf", b"%PDF-1.7")
    target = tmp_path / "saved.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))

    assert run(loop, open_attachment(ctx, parent, attachment_id, save=True))

    assert target.read_bytes() == b"%PDF-1.7"


@pytest.mark.parametrize("name", ["invoice.exe", "invoice.exe.", "tool.pyw", "drawing.svg", "help.chm", "x.appref-ms"])
def test_a_dangerous_file_is_saved_never_started(
    loop: qasync.QEventLoop, ctx: Context, parent: QWidget, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    attachment_id = attachment_on_a_ticket(ctx, name, b"MZ")
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)
    asked: list[str] = []

    def cancel(_parent: QWidget, _title: str, proposed: str) -> tuple[str, str]:
        asked.append(proposed)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", cancel)

    assert not run(loop, open_attachment(ctx, parent, attachment_id, save=False))  # cancelled in the dialog

    assert asked and Path(asked[0]).name == name.rstrip(".") and opened == []


@pytest.mark.parametrize("save", [False, True])
def test_a_file_written_on_windows_carries_the_mark_of_the_web(
    loop: qasync.QEventLoop,
    ctx: Context,
    parent: QWidget,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    save: bool,
) -> None:
    """Opened (from a temporary folder) or saved, the file is marked as from the Internet before anything opens it."""
    monkeypatch.setattr(downloads, "WINDOWS", True)
    attachment_id = attachment_on_a_ticket(ctx, "statement.pdf", b"%PDF-1.7")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / "saved.pdf"), ""))
    marks: list[bytes] = []

    def open_url(url: QUrl) -> None:  # what Windows would find when it opens the file
        marks.append(Path(url.toLocalFile() + ":Zone.Identifier").read_bytes())

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)

    assert run(loop, open_attachment(ctx, parent, attachment_id, save=save))

    mark = (tmp_path / "saved.pdf:Zone.Identifier").read_bytes() if save else marks[0]
    assert mark == b"[ZoneTransfer]\r\nZoneId=3\r\n"


def test_elsewhere_no_mark_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(downloads, "WINDOWS", False)
    downloads.write_downloaded(tmp_path / "a.pdf", b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform says so for every dialog
def test_a_missing_attachment_is_reported_to_the_agent(loop: qasync.QEventLoop, ctx: Context, parent: QWidget) -> None:
    assert not run(loop, open_attachment(ctx, parent, 987654, save=False))
    box = parent.findChild(QMessageBox)
    assert box is not None and "does not exist" in box.text()
    box.close()


PLAIN = st.lists(
    st.one_of(
        st.sampled_from(["http://", "https://", "www.", ".example", "/x?a=1&b=2"]),
        st.text("ab <>&\"';:.,!?()]\n", max_size=8),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=PLAIN)
def test_a_plain_text_message_reads_exactly_as_written(text: str) -> None:
    """Web addresses become links, and every character reads as typed: markup, escapes and an address that ends
    in a quote or an angle bracket (the address was once matched on escaped text, and showed `"&gt;`)."""
    document = QTextDocument()
    document.setHtml(render([entry(1, EntryKind.MESSAGE, "Anna Berg", text)]))
    assert text.strip("\n") in document.toPlainText()
