"""The composer on the demo help desk: typing, drafts, sending through the real services, refusals, files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TypeVar

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFocusEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QToolButton,
    QWidget,
)

from desk import config
from desk.domain.enums import EntryKind, Queue, Recipients
from desk.domain.errors import ServerUnreachable
from desk.domain.queues import Criteria
from desk.domain.views import DepartmentSignature, EntryView, TicketView
from desk.services import canned, queues, tickets
from desk.ui.tasks import Context
from desk.ui.ticket.canned_picker import CannedPicker
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.drafts import Draft, DraftStore
from tests.ui.conftest import db_of, run, until

W = TypeVar("W", bound=QWidget)


@pytest.fixture
def ticket(ctx: Context) -> TicketView:
    row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
    return tickets.get_ticket(db_of(ctx), ctx.agent, row.id)


def make_composer(ctx: Context, ticket: TicketView, qtbot: QtBot) -> ComposerWidget:
    widget = ComposerWidget(ctx)
    qtbot.addWidget(widget)  # closed and deleted on the GUI thread at teardown, never by a GC pass in a worker
    widget.resize(720, 320)
    widget.show()
    widget.set_ticket(ticket)
    return widget


@pytest.fixture
def composer(ctx: Context, ticket: TicketView, qtbot: QtBot) -> ComposerWidget:
    """A composer that sends replies as typed: the demo's departments have signatures (tested on their own)."""
    ctx.choices = dataclasses.replace(ctx.choices, department_signatures=())
    return make_composer(ctx, ticket, qtbot)


class Screen:
    """The composer's controls, found by object name as a test script would, and what it has signalled."""

    def __init__(self, composer: ComposerWidget) -> None:
        self.sent: list[TicketView] = []
        self.failures: list[str] = []
        composer.sent.connect(self.sent.append)
        composer.failed.connect(self.failures.append)
        self.body = self._find(composer, QTextEdit, "composerBody")
        self.send = self._find(composer, QPushButton, "composerSend")
        self.error = self._find(composer, QLabel, "composerError")
        self.recipients = self._find(composer, QComboBox, "composerRecipients")
        self.status = self._find(composer, QComboBox, "composerStatus")
        self.signature = self._find(composer, QComboBox, "composerSignature")
        self.reply_mode = self._find(composer, QToolButton, "composerReplyMode")
        self.note_mode = self._find(composer, QToolButton, "composerNoteMode")
        self.lock = self._find(composer, QWidget, "composerLock")

    @staticmethod
    def _find(composer: QWidget, kind: type[W], name: str) -> W:
        found = composer.findChild(kind, name)
        assert found is not None, name
        return found


def draft_file(ctx: Context, ticket_id: int) -> Path:
    return config.data_dir() / "drafts" / f"{ctx.agent.id}-{ticket_id}.json"


def entries_of(ticket: TicketView) -> list[EntryView]:
    return [item for item in ticket.thread if isinstance(item, EntryView)]


def test_typing_is_kept_in_a_draft_that_a_new_composer_restores(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget, qtbot: QtBot
) -> None:
    screen = Screen(composer)
    path = draft_file(ctx, ticket.id)

    async def scenario() -> None:
        screen.note_mode.click()
        QTest.keyClicks(screen.body, "Call the branch tomorrow")
        assert not path.exists()  # debounced: not written on every key
        await until(path.exists, what="the draft file")
        saved = json.loads(path.read_text())
        assert saved["body"] == "Call the branch tomorrow" and saved["mode"] == "note"

        again = make_composer(ctx, ticket, qtbot)  # as after a crash: a new composer for the same ticket
        restored = Screen(again)
        assert restored.body.toPlainText() == "Call the branch tomorrow"
        assert again.mode() == EntryKind.NOTE and restored.note_mode.isChecked()
        assert restored.recipients.isHidden()

    run(loop, scenario())


def test_leaving_the_editor_writes_the_draft_at_once(
    ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    QTest.keyClicks(screen.body, "Half a thought")
    # The agent clicks elsewhere; sent directly, so the test does not depend on which window is active.
    QApplication.sendEvent(screen.body, QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.MouseFocusReason))
    assert json.loads(draft_file(ctx, ticket.id).read_text())["body"] == "Half a thought"


def test_each_ticket_keeps_its_own_draft(ctx: Context, ticket: TicketView, composer: ComposerWidget) -> None:
    screen = Screen(composer)
    other_id = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[1].id
    QTest.keyClicks(screen.body, "For the first ticket")

    composer.set_ticket(tickets.get_ticket(db_of(ctx), ctx.agent, other_id))
    assert screen.body.toPlainText() == ""
    assert draft_file(ctx, ticket.id).exists()  # saved when switching, without waiting for the timer

    composer.set_ticket(ticket)
    assert screen.body.toPlainText() == "For the first ticket"


def test_a_reply_is_sent_through_the_services(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)

    async def scenario() -> None:
        assert not screen.send.isEnabled()
        QTest.keyClicks(screen.body, "   ")
        assert not screen.send.isEnabled()  # blank is not a reply
        QTest.keyClicks(screen.body, "We fixed it.")
        assert screen.send.isEnabled() and screen.send.text() == "Send reply"
        screen.recipients.setCurrentIndex(screen.recipients.findData(Recipients.REQUESTER.value))
        await until(draft_file(ctx, ticket.id).exists, what="the draft")

        screen.send.click()
        await until(lambda: screen.sent, what="the sent signal")

        fresh = await ctx.call(tickets.get_ticket, ticket.id)
        reply = entries_of(fresh)[-1]
        assert reply.kind == EntryKind.REPLY and reply.body_text == "   We fixed it."
        assert reply.recipients == (ticket.requester.email,)
        assert screen.sent[0].version == fresh.version
        assert screen.body.toPlainText() == "" and not screen.send.isEnabled()
        assert not draft_file(ctx, ticket.id).exists()
        assert screen.error.isHidden()

    run(loop, scenario())


def test_a_stale_ticket_shows_who_changed_it_and_keeps_the_text(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    other = next(p for p in ctx.choices.priorities if p.id != ticket.priority.id)
    tickets.set_priority(db_of(ctx), ctx.agent, ticket.id, other.id)  # someone changes it while the agent types

    async def scenario() -> None:
        QTest.keyClicks(screen.body, "Your card is unblocked.")
        screen.send.click()
        await until(lambda: screen.failures, what="the failed signal")

        assert screen.error.isVisible()
        assert f"changed by {ctx.agent.name}" in screen.error.text() and "priority" in screen.error.text()
        assert screen.body.toPlainText() == "Your card is unblocked."
        assert screen.send.isEnabled()  # re-enabled, so the agent can try again
        assert json.loads(draft_file(ctx, ticket.id).read_text())["body"] == "Your card is unblocked."
        assert not entries_of(await ctx.call(tickets.get_ticket, ticket.id))[-1].body_text.startswith("Your card")

        # The owner reloads the ticket; the same text then goes out.
        composer.set_ticket(await ctx.call(tickets.get_ticket, ticket.id))
        assert screen.body.toPlainText() == "Your card is unblocked."
        screen.send.click()
        await until(lambda: screen.sent, what="the second send")
        assert entries_of(screen.sent[0])[-1].body_text == "Your card is unblocked."

    run(loop, scenario())


def test_a_note_can_resolve_the_ticket(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    offered = [screen.status.itemText(i) for i in range(screen.status.count())]
    assert offered[0] == "— keep status —" and "Resolved" in offered
    assert "Deleted" not in offered and "Archived" not in offered

    async def scenario() -> None:
        screen.note_mode.click()
        QTest.keyClicks(screen.body, "Solved on the phone.")
        screen.status.setCurrentIndex(screen.status.findText("Resolved"))
        assert screen.send.text() == "Add note"
        screen.send.click()
        await until(lambda: screen.sent, what="the sent signal")

        fresh = await ctx.call(tickets.get_ticket, ticket.id)
        assert fresh.status.name == "Resolved"
        assert any(e.kind == EntryKind.NOTE and e.body_text == "Solved on the phone." for e in entries_of(fresh))
        assert screen.status.currentIndex() == 0  # back to "keep status" for the next entry
        assert composer.mode() == EntryKind.NOTE  # the mode stays what the agent chose

    run(loop, scenario())


def test_recipients_and_signature_are_for_replies_only(ctx: Context, ticket: TicketView, qtbot: QtBot) -> None:
    ctx.choices = dataclasses.replace(ctx.choices, signature="Jane Doe\nNorthbank Support")
    composer = make_composer(ctx, ticket, qtbot)
    screen = Screen(composer)
    assert screen.recipients.isVisible() and screen.signature.isVisible()
    assert screen.signature.currentText() == "My signature"

    composer.set_mode(EntryKind.NOTE)  # what the main window's Ctrl+Shift+N does
    assert screen.recipients.isHidden() and screen.signature.isHidden()
    assert screen.note_mode.isChecked() and screen.send.text() == "Add note"

    screen.reply_mode.click()
    assert screen.recipients.isVisible() and composer.mode() == EntryKind.REPLY


def test_the_signature_is_added_to_a_reply(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, qtbot: QtBot
) -> None:
    ctx.choices = dataclasses.replace(ctx.choices, signature="Jane Doe\nNorthbank Support")
    composer = make_composer(ctx, ticket, qtbot)
    screen = Screen(composer)

    async def scenario() -> None:
        QTest.keyClicks(screen.body, "Done.")
        screen.send.click()
        await until(lambda: screen.sent)
        assert entries_of(screen.sent[-1])[-1].body_text == "Done.\n\nJane Doe\nNorthbank Support"

        screen.signature.setCurrentIndex(screen.signature.findText("No signature"))  # sent as typed
        QTest.keyClicks(screen.body, "One more thing.")
        screen.send.click()
        await until(lambda: len(screen.sent) == 2)
        assert entries_of(screen.sent[-1])[-1].body_text == "One more thing."

    run(loop, scenario())


def test_a_reply_may_be_signed_with_its_departments_signature(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, qtbot: QtBot
) -> None:
    theirs = DepartmentSignature(ticket.department.id, "The Support team\nnorthbank.example/help")
    ctx.choices = dataclasses.replace(ctx.choices, signature=None, department_signatures=(theirs,))
    composer = make_composer(ctx, ticket, qtbot)
    screen = Screen(composer)
    assert [screen.signature.itemText(i) for i in range(screen.signature.count())] == [
        "Department's signature",
        "No signature",
    ]

    async def scenario() -> None:
        QTest.keyClicks(screen.body, "Fixed.")
        screen.send.click()
        await until(lambda: screen.sent)
        assert entries_of(screen.sent[-1])[-1].body_text == f"Fixed.\n\n{theirs.text}"

    run(loop, scenario())

    ctx.choices = dataclasses.replace(ctx.choices, department_signatures=())
    bare = make_composer(ctx, ticket, qtbot)
    assert Screen(bare).signature.isHidden()  # no signature to choose: no choice shown


def drop(target: QWidget, *paths: Path) -> None:
    """Drag files over a widget and drop them, as from a file manager."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    action, button, keys = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(20, 20), action, mime, button, keys)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the composer refused the drag"
    QApplication.sendEvent(target, QDropEvent(QPointF(20, 20), action, mime, button, keys))


def test_a_file_over_the_limit_is_refused_with_a_message(
    tmp_path: Path, ctx: Context, composer: ComposerWidget
) -> None:
    screen = Screen(composer)
    big = tmp_path / "backup.iso"
    with big.open("wb") as file:
        file.truncate(ctx.choices.attachment_limit + 1024 * 1024)  # sparse: nothing big is written
    small = tmp_path / "log.txt"
    small.write_text("hello")

    drop(composer, big, small)

    assert composer.attachments() == [small]
    assert screen.error.isVisible()
    # The demo's limit is the default 10 MB, as the services will enforce it.
    assert "“backup.iso” is 11.0 MB; files may be at most 10.0 MB." in screen.error.text()
    chips = [label.text() for label in composer.findChildren(QLabel) if label.text().startswith("log.txt")]
    assert chips == ["log.txt (5 bytes)"]


def test_a_reply_carries_its_files_and_a_chip_can_be_removed(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget, tmp_path: Path
) -> None:
    screen = Screen(composer)
    first, second = tmp_path / "statement.csv", tmp_path / "notes.txt"
    first.write_text("date,amount\n")
    second.write_text("not this one")

    async def scenario() -> None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
        QApplication.clipboard().setMimeData(mime)
        screen.body.paste()  # pasted files are attached, not inserted as text
        # The clipboard owns `mime` now; left there, it is destroyed during interpreter exit, after QApplication,
        # which crashes the test process (exit 139) after every test has passed.
        QApplication.clipboard().clear()
        assert screen.body.toPlainText() == "" and composer.attachments() == [first, second]
        remove = next(b for b in composer.findChildren(QToolButton) if b.toolTip() == "Remove notes.txt")
        remove.click()
        assert composer.attachments() == [first]

        QTest.keyClicks(screen.body, "The statement you asked for.")
        await until(draft_file(ctx, ticket.id).exists)
        assert json.loads(draft_file(ctx, ticket.id).read_text())["attachments"] == [str(first)]
        screen.send.click()
        await until(lambda: screen.sent)

        reply = entries_of(screen.sent[0])[-1]
        assert [(a.name, a.size, a.content_type) for a in reply.attachments] == [("statement.csv", 12, "text/csv")]
        assert composer.attachments() == []

    run(loop, scenario())


def test_the_lock_notice_names_the_other_agent(composer: ComposerWidget) -> None:
    screen = Screen(composer)
    assert screen.lock.isHidden()
    composer.set_lock_holder("Jane Doe")
    assert screen.lock.isVisible()
    assert any(label.text() == "Jane Doe is replying to this ticket" for label in screen.lock.findChildren(QLabel))
    composer.set_lock_holder(None)
    assert screen.lock.isHidden()


def test_draft_store_writes_atomically_and_reads_back(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    draft = Draft(
        mode=EntryKind.NOTE,
        body="Ünïcode ✓",
        recipients=Recipients.NONE,
        status_id=4,
        attachments=("/tmp/a.txt",),
        extra={"subject": "New laptop"},
    )
    store.save(7, 0, draft)  # ticket 0: the new-ticket form
    assert store.load(7, 0) == draft
    assert [p.name for p in (tmp_path / "drafts").iterdir()] == ["7-0.json"]  # no temp file left behind

    store.save(7, 0, Draft())  # nothing worth keeping
    assert store.load(7, 0) is None and not store.path(7, 0).exists()

    store.path(7, 1).write_text("{not json")
    assert store.load(7, 1) is None  # unreadable: ignored, and left for a person to look at
    assert store.path(7, 1).exists()


def test_ctrl_enter_sends(loop: qasync.QEventLoop, ticket: TicketView, composer: ComposerWidget) -> None:
    screen = Screen(composer)

    async def scenario() -> None:
        composer.activateWindow()
        await until(lambda: QApplication.activeWindow() is composer, what="the composer's window to be active")
        composer.focus_editor()
        QTest.keyClicks(screen.body, "Sent from the keyboard.")
        QTest.keyClick(screen.body, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: screen.sent, what="Ctrl+Enter to send")
        assert entries_of(screen.sent[0])[-1].body_text == "Sent from the keyboard."

    run(loop, scenario())


def test_a_file_of_a_type_not_accepted_is_refused_with_the_types_that_are(
    tmp_path: Path, ctx: Context, qtbot: QtBot, ticket: TicketView
) -> None:
    ctx.choices = dataclasses.replace(ctx.choices, attachment_types=("pdf", "png"))  # as signed in after the change
    composer = make_composer(ctx, ticket, qtbot)
    screen = Screen(composer)
    files = [tmp_path / name for name in ("setup.exe", "invoice.pdf.exe", "README", "Scan.PDF")]
    for file in files:
        file.write_bytes(b"data")

    drop(composer, *files)

    assert composer.attachments() == [files[-1]]  # the type is the last extension, in any case
    assert screen.error.isVisible()
    assert screen.error.text() == (
        "“setup.exe” cannot be attached: only these file types are accepted: pdf, png. "
        "“invoice.pdf.exe” cannot be attached: only these file types are accepted: pdf, png. "
        "“README” cannot be attached: only these file types are accepted: pdf, png."
    )


# --- canned responses -------------------------------------------------------------------------------------------


class Picker:
    """The canned-response picker as the agent sees it: shown or not, the titles listed, the highlighted one's
    text, or the message in place of the list."""

    def __init__(self, composer: ComposerWidget) -> None:
        found = composer.window().findChild(CannedPicker)
        assert found is not None
        self.widget = found
        self.list = Screen._find(found, QListWidget, "cannedList")
        self.preview = Screen._find(found, QPlainTextEdit, "cannedPreview")
        self.empty = Screen._find(found, QLabel, "cannedEmpty")

    def shown(self) -> bool:
        return self.widget.isVisible()

    def titles(self) -> list[str]:
        if not self.list.isVisible():
            return []
        return [item.text() for i in range(self.list.count()) if (item := self.list.item(i))]

    def highlighted(self) -> str:
        item = self.list.currentItem()
        return item.text() if item is not None else ""


def canned_texts(ctx: Context, ticket: TicketView) -> dict[str, str]:
    """The demo's canned responses as filled in on this ticket for the signed-in agent."""
    return {c.title: c.text for c in canned.canned_for_ticket(db_of(ctx), ctx.agent, ticket.id)}


def test_a_slash_on_an_empty_line_offers_canned_responses_and_enter_inserts_one(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen, picker = Screen(composer), Picker(composer)
    texts = canned_texts(ctx, ticket)
    thanks = texts["Thanks, we are on it"]
    assert ticket.number in thanks and ticket.requester.name in thanks and ctx.agent.name in thanks

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "Hello,")
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        assert not picker.shown()
        QTest.keyClicks(screen.body, "/")
        assert picker.shown() and screen.body.toPlainText() == "Hello,\n/"  # the `/` is typed, as any key
        await until(picker.titles, what="the canned responses")
        assert picker.titles() == sorted(texts)
        QTest.keyClicks(screen.body, "ON it")
        assert picker.titles() == ["Thanks, we are on it"]
        assert picker.preview.toPlainText() == thanks  # shown as it will be inserted, variables filled in
        assert screen.body.toPlainText() == "Hello,\n/ON it"
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        assert not picker.shown()
        assert screen.body.toPlainText() == f"Hello,\n{thanks}"  # in place of the `/ON it` typed
        assert screen.body.textCursor().atEnd()
        await until(draft_file(ctx, ticket.id).exists, what="the draft")  # an edit like any other
        assert json.loads(draft_file(ctx, ticket.id).read_text())["body"] == f"Hello,\n{thanks}"
        screen.body.undo()
        assert screen.body.toPlainText() == "Hello,\n/ON it"

    run(loop, scenario())


def test_arrows_choose_the_response_and_its_text_is_previewed(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen, picker = Screen(composer), Picker(composer)
    texts = canned_texts(ctx, ticket)

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "/")
        await until(picker.titles)
        first, second = sorted(texts)[:2]
        assert picker.highlighted() == first and picker.preview.toPlainText() == texts[first]
        QTest.keyClick(screen.body, Qt.Key.Key_Down)
        assert picker.highlighted() == second and picker.preview.toPlainText() == texts[second]
        QTest.keyClick(screen.body, Qt.Key.Key_Up)
        QTest.keyClick(screen.body, Qt.Key.Key_Up)  # stays on the first
        assert picker.highlighted() == first
        QTest.keyClick(screen.body, Qt.Key.Key_Down)
        QTest.keyClick(screen.body, Qt.Key.Key_Enter)
        assert screen.body.toPlainText() == texts[second]

        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        QTest.keyClicks(screen.body, "/zzqx")
        assert picker.titles() == [] and picker.empty.text() == "No canned response has “zzqx” in its title"
        QTest.keyClick(screen.body, Qt.Key.Key_Return)  # nothing to insert: a new line, as typed
        assert screen.body.toPlainText() == f"{texts[second]}\n/zzqx\n" and not picker.shown()

    run(loop, scenario())


def test_escape_and_a_slash_inside_a_line_leave_the_text_as_typed(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen, picker = Screen(composer), Picker(composer)

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "/thank")
        await until(picker.titles)
        QTest.keyClick(screen.body, Qt.Key.Key_Escape)
        assert not picker.shown() and screen.body.toPlainText() == "/thank"
        QTest.keyClicks(screen.body, "s/no")  # a `/` inside a line is a character
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        QTest.keyClicks(screen.body, "and/or /x")
        assert not picker.shown()
        assert screen.body.toPlainText() == "/thanks/no\nand/or /x"
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        QTest.keyClicks(screen.body, "/a")
        assert picker.shown()
        QTest.keyClick(screen.body, Qt.Key.Key_Backspace)
        QTest.keyClick(screen.body, Qt.Key.Key_Backspace)  # the `/` itself: nothing to pick for any more
        assert not picker.shown() and screen.body.toPlainText() == "/thanks/no\nand/or /x\n"

    run(loop, scenario())


def test_the_shortcut_offers_them_at_the_cursor_and_each_ticket_gets_its_own(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    screen, picker = Screen(composer), Picker(composer)
    other = tickets.get_ticket(db_of(ctx), ctx.agent, queues.queue_page(db_of(ctx), ctx.agent, Criteria()).rows[1].id)

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "Dear customer, ")
        composer.open_canned()  # what the window's Ctrl+Shift+T does
        assert picker.shown()
        await until(picker.titles)
        QTest.keyClicks(screen.body, "ON it")
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        assert screen.body.toPlainText() == f"Dear customer, {canned_texts(ctx, ticket)['Thanks, we are on it']}"

        composer.open_canned()
        assert picker.titles(), "fetched once for the ticket: shown at once"
        QTest.keyClick(screen.body, Qt.Key.Key_Escape)
        composer.set_ticket(other)
        composer.focus_editor()
        QTest.keyClicks(screen.body, "/ON it")
        assert picker.empty.text() == "Loading canned responses…"
        await until(picker.titles)
        assert picker.preview.toPlainText() == canned_texts(ctx, other)["Thanks, we are on it"]
        assert other.number in picker.preview.toPlainText()

    run(loop, scenario())


def test_a_department_without_canned_responses_says_where_they_are_added(
    loop: qasync.QEventLoop, ctx: Context, ticket: TicketView, composer: ComposerWidget
) -> None:
    for ref in canned.list_canned(db_of(ctx), ctx.agent):
        details = canned.get_canned(db_of(ctx), ctx.agent, ref.id)
        canned.save_canned(db_of(ctx), ctx.agent, ref.id, dataclasses.replace(details.form, active=False))
    screen, picker = Screen(composer), Picker(composer)

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "/")
        await until(lambda: "Administration" in picker.empty.text())
        assert picker.empty.text() == (
            "No canned responses for this department — administrators add them under Administration › Canned responses"
        )
        assert picker.titles() == []
        QTest.keyClick(screen.body, Qt.Key.Key_Return)
        assert screen.body.toPlainText() == "/\n"

    run(loop, scenario())


def test_responses_that_cannot_be_fetched_say_why_and_are_asked_for_again(
    loop: qasync.QEventLoop,
    ctx: Context,
    ticket: TicketView,
    composer: ComposerWidget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen, picker = Screen(composer), Picker(composer)
    fetch = canned.canned_for_ticket

    def unreachable(*_args: object, **_kwargs: object) -> None:
        raise ServerUnreachable("The Desk server did not answer.")

    monkeypatch.setattr(canned, "canned_for_ticket", unreachable)

    async def scenario() -> None:
        composer.focus_editor()
        QTest.keyClicks(screen.body, "/")
        await until(lambda: picker.empty.text() == "The Desk server did not answer.", what="the reason")
        QTest.keyClicks(screen.body, "on")
        assert picker.empty.text() == "The Desk server did not answer." and screen.body.toPlainText() == "/on"
        QTest.keyClick(screen.body, Qt.Key.Key_Escape)
        monkeypatch.setattr(canned, "canned_for_ticket", fetch)  # the server is back
        composer.open_canned()
        await until(picker.titles, what="the responses, asked for again")
        assert screen.body.toPlainText() == "/on"

    run(loop, scenario())
