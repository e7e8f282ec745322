"""Rich text replies typed by keyboard in the composer: formatting, lists, a link and a pasted picture, sent as a
multipart mail (text, HTML, the picture inline by Content-ID); drafts keep it all across a restart."""

from __future__ import annotations

import dataclasses
import json
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

import qasync
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QImage, QTextDocument
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QTextEdit, QToolButton

from desk.domain.enums import EntryKind, Queue
from desk.domain.queues import Criteria
from desk.domain.views import EntryView, TicketView
from desk.services import queues, tickets
from desk.services.mail import sending
from desk.storage.models import Mailbox, OutboxMessage
from desk.ui.tasks import Context
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.drafts import DraftStore
from tests.ui.conftest import db_of, run, until

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = CTRL | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def ticket(ctx: Context) -> TicketView:
    row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
    return tickets.get_ticket(db_of(ctx), ctx.agent, row.id)


def make_composer(ctx: Context, ticket: TicketView, qtbot: QtBot, drafts: DraftStore | None = None) -> ComposerWidget:
    ctx.choices = dataclasses.replace(ctx.choices, department_signatures=(), signature="Ada\nSupport team")
    widget = ComposerWidget(ctx, drafts)
    qtbot.addWidget(widget)
    widget.resize(760, 360)
    widget.show()
    widget.set_ticket(ticket)
    return widget


def body_of(composer: ComposerWidget) -> QTextEdit:
    body = composer.findChild(QTextEdit, "composerBody")
    assert body is not None
    return body


def red_picture() -> QImage:
    image = QImage(120, 60, QImage.Format.Format_RGB32)
    image.fill(QColor(220, 30, 30))
    return image


def type_rich_reply(composer: ComposerWidget, qtbot: QtBot) -> None:
    """Switch to rich text and write, by keyboard: a bold word, a bulleted list, a link (Ctrl+K), a picture."""
    rich = composer.findChild(QToolButton, "composerRich")
    assert rich is not None and not rich.isChecked()  # plain text until the agent asks for rich
    qtbot.mouseClick(rich, Qt.MouseButton.LeftButton)
    composer.activateWindow()  # shortcuts reach only the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is composer)
    body = body_of(composer)
    body.setFocus()
    qtbot.keyClicks(body, "Hello ")
    qtbot.keyClick(body, Qt.Key.Key_B, CTRL)
    qtbot.keyClicks(body, "Anna")
    qtbot.keyClick(body, Qt.Key.Key_B, CTRL)
    qtbot.keyClicks(body, ", two steps:")
    qtbot.keyClick(body, Qt.Key.Key_Return)
    qtbot.keyClick(body, Qt.Key.Key_8, CTRL_SHIFT)
    qtbot.keyClicks(body, "Restart")
    qtbot.keyClick(body, Qt.Key.Key_Return)
    qtbot.keyClicks(body, "Log in again")
    qtbot.keyClick(body, Qt.Key.Key_Return)
    qtbot.keyClick(body, Qt.Key.Key_8, CTRL_SHIFT)  # out of the list
    qtbot.keyClicks(body, "See the guide")
    qtbot.keyClick(body, Qt.Key.Key_Left, CTRL_SHIFT)  # select "guide"
    qtbot.keyClick(body, Qt.Key.Key_K, CTRL)
    dialog = composer.findChild(QInputDialog)
    assert dialog is not None and dialog.isVisible()
    field = dialog.findChild(QLineEdit)
    assert field is not None
    field.selectAll()
    qtbot.keyClicks(field, "https://help.example/guide")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    composer.activateWindow()  # back from the dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is composer)
    body.moveCursor(body.textCursor().MoveOperation.End)
    qtbot.keyClick(body, Qt.Key.Key_Return)
    QApplication.clipboard().setImage(red_picture())
    qtbot.keyClick(body, Qt.Key.Key_V, CTRL)


def test_a_rich_reply_typed_by_keyboard_is_mailed_as_text_html_and_an_inline_picture(
    ctx: Context, ticket: TicketView, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    composer = make_composer(ctx, ticket, qtbot)
    type_rich_reply(composer, qtbot)
    sent: list[TicketView] = []
    composer.sent.connect(sent.append)

    async def scenario() -> None:
        qtbot.keyClick(body_of(composer), Qt.Key.Key_Return, CTRL)  # Ctrl+Enter sends
        errors: list[str] = []
        composer.failed.connect(errors.append)
        await until(lambda: sent or errors, what="the reply sent")
        assert not errors, errors

    run(loop, scenario())
    reply = sent[0].thread[-1]
    assert isinstance(reply, EntryView) and reply.kind == EntryKind.REPLY
    [picture] = reply.attachments
    assert picture.content_type == "image/png" and picture.content_id and picture.content_id.endswith("@desk")
    assert reply.body_text == (
        "Hello Anna, two steps:\n• Restart\n• Log in again\nSee the guide <https://help.example/guide>\n[picture]"
        "\n\nAda\nSupport team"
    )
    assert reply.body_html == (
        "<p>Hello <b>Anna</b>, two steps:</p><ul><li>Restart</li><li>Log in again</li></ul>"
        '<p>See the <a href="https://help.example/guide" rel="noopener noreferrer">guide</a></p>'
        f'<p><img src="cid:{picture.content_id}" alt="picture"></p><p>Ada<br>Support team</p>'
    )

    with db_of(ctx).transaction(write=False) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.entry_id == reply.id, OutboxMessage.kind == "reply")
        ).one()
        mailbox = session.get(Mailbox, row.mailbox_id)
        assert mailbox is not None
        mail = message_from_bytes(sending.build(session, row, mailbox).as_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert "• Log in again\nSee the guide <https://help.example/guide>" in text.get_content()
    assert '<li>Log in again</li></ul><p>See the <a href="https://help.example/guide"' in html.get_content()
    assert f'<img src="cid:{picture.content_id}" alt="picture">' in html.get_content()
    related = next(part for part in mail.walk() if part.get_content_type() == "multipart/related")
    [_html, inline] = list(related.iter_parts())
    assert inline["Content-ID"] == f"<{picture.content_id}>" and inline.get_content_type() == "image/png"
    assert inline.get_content_disposition() == "inline"
    shown = QImage.fromData(inline.get_content())
    assert shown.size().width() == 120 and shown.pixelColor(5, 5) == QColor(220, 30, 30)
    assert not [part for part in mail.walk() if part.get_content_disposition() == "attachment"]  # only in place


def test_a_rich_draft_with_its_picture_survives_a_restart(ctx: Context, ticket: TicketView, qtbot: QtBot) -> None:
    drafts = DraftStore()
    composer = make_composer(ctx, ticket, qtbot, drafts)
    type_rich_reply(composer, qtbot)
    composer.save_draft()
    saved = json.loads(drafts.path(ctx.agent.id, ticket.id).read_text(encoding="utf-8"))
    [content_id] = saved["pictures"]
    composer.close()
    composer.deleteLater()

    again = make_composer(ctx, ticket, qtbot, DraftStore())  # a new composer, as after a restart
    body = body_of(again)
    assert again.is_rich() and body.toPlainText().startswith("Hello Anna, two steps:\nRestart\nLog in again")
    picture = body.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(f"cid:{content_id}"))
    assert isinstance(picture, QImage) and picture.size().width() == 120
    assert body.document().toHtml().count("font-weight:700") == 1  # "Anna" still bold
    assert again.draft() == composer.draft()


def test_going_plain_keeps_the_words_and_plain_stays_the_default_next_time(
    ctx: Context, ticket: TicketView, qtbot: QtBot
) -> None:
    composer = make_composer(ctx, ticket, qtbot)
    type_rich_reply(composer, qtbot)
    composer.set_rich(False)
    assert not composer.is_rich()
    assert body_of(composer).toPlainText() == (
        "Hello Anna, two steps:\n• Restart\n• Log in again\nSee the guide <https://help.example/guide>\n[picture]"
    )  # where the picture was, as the mail's text part says
    assert make_composer(ctx, ticket, qtbot).is_rich() is False  # the agent's last choice
    composer.set_rich(True)
    assert make_composer(ctx, ticket, qtbot).findChild(QToolButton, "composerRich").isChecked()  # type: ignore[union-attr]
