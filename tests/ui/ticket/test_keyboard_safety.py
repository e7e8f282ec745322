"""No single keystroke changes a ticket by accident (issue 12 §5): after any action the keyboard is in the composer,
buttons that change a ticket never hold the focus, fields change only from their open list, the focus shows."""

from __future__ import annotations

import os

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desk.domain.enums import Queue, StatusState
from desk.domain.queues import Criteria
from desk.services import queues, tickets
from desk.ui import theme
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.canned_picker import CannedPicker
from desk.ui.ticket.editor import TicketEditor
from desk.ui.widgets import ChoiceBox
from tests.ui.conftest import POPUP, db_of, run, until


def unassigned_ticket(ctx: Context) -> int:
    return queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.UNASSIGNED)).rows[0].id


async def window_with_ticket(ctx: Context, qtbot: QtBot, ticket_id: int) -> tuple[MainWindow, TicketEditor]:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    window.activateWindow()
    await window.start()
    window.open_ticket(ticket_id)
    editor = await until(lambda: (e := window.current_editor()) is not None and e.ticket is not None and e)
    assert isinstance(editor, TicketEditor)
    return window, editor


def typed_into_focus(window: QWidget, qtbot: QtBot, text: str) -> None:
    """Type as a person does: into whatever holds the keyboard focus."""
    focused = window.focusWidget()
    assert focused is not None, "nothing holds the keyboard focus"
    qtbot.keyClicks(focused, text)


def composer_text(editor: TicketEditor) -> str:
    return editor.composer.draft().body


def test_typing_after_assign_to_me_lands_in_the_composer(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket_id = unassigned_ticket(ctx)
        window, editor = await window_with_ticket(ctx, qtbot, ticket_id)
        assert window.focusWidget() is editor.composer.findChild(QWidget, "composerBody")  # opened: ready to type
        version = editor.ticket.version if editor.ticket else 0
        qtbot.mouseClick(editor.claim_button, Qt.MouseButton.LeftButton)
        await until(lambda: editor.ticket is not None and editor.ticket.version > version, what="the claim")
        typed_into_focus(window, qtbot, "Hi there")
        await until(lambda: composer_text(editor) == "Hi there", what="the text in the composer")
        saved = tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id)
        assert saved.status.state == StatusState.OPEN and saved.assignee is not None
        assert saved.assignee.id == ctx.agent.id
        window.close()

    run(loop, scenario())


def test_ctrl_shift_t_offers_the_canned_responses_in_the_composer(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    """The window's shortcut, wherever the focus is in the ticket: the picker at the composer's cursor, whose
    Enter inserts the highlighted response there (not a shortcut of the ticket's)."""

    async def scenario() -> None:
        window, editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        assert editor.ticket is not None
        editor.properties.setFocus()
        QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        picker = window.findChild(CannedPicker)
        assert picker is not None and picker.isVisible()
        assert window.focusWidget() is editor.composer.findChild(QWidget, "composerBody")
        await until(picker.current, what="the canned responses")
        typed_into_focus(window, qtbot, "screenshot")
        chosen = picker.current()
        assert chosen is not None and chosen.title == "Ask for a screenshot"
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Return)
        assert composer_text(editor) == chosen.text and not picker.isVisible()
        assert tickets.get_ticket(db_of(ctx), ctx.agent, editor.ticket.id).version == editor.ticket.version
        window.close()

    run(loop, scenario())


@POPUP
def test_typing_after_a_field_change_lands_in_the_composer(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    """A priority picked with the mouse: the field keeps no focus, so "Hi there" neither picks "High" nor resolves."""

    async def scenario() -> None:
        window, editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        combo = editor.properties.priority
        qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)  # opens the list, takes the focus
        combo.hidePopup()
        index = combo.findText("Emergency" if combo.currentText() != "Emergency" else "Low")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
        chosen = combo.itemText(index)
        await until(lambda: editor.ticket is not None and editor.ticket.priority.name == chosen, what="the change")
        typed_into_focus(window, qtbot, "Hi there")
        await until(lambda: composer_text(editor) == "Hi there", what="the text in the composer")
        assert editor.ticket is not None
        saved = tickets.get_ticket(db_of(ctx), ctx.agent, editor.ticket.id)
        assert saved.priority.name == chosen and saved.status.state == StatusState.OPEN
        window.close()

    run(loop, scenario())


@POPUP
@pytest.mark.parametrize("field", ["status", "priority", "department", "topic", "sla", "assignee", "team"])
def test_a_focused_field_changes_only_from_its_open_list(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop, field: str
) -> None:
    """Letters, arrows and the wheel over a ticket's field change nothing; arrows and Space open its list."""

    async def scenario() -> None:
        editor = TicketEditor(ctx, unassigned_ticket(ctx))
        qtbot.addWidget(editor)
        editor.show()
        await editor.load()
        assert editor.ticket is not None
        combo = getattr(editor.properties, field)
        before = combo.currentText()
        combo.setFocus()
        picked: list[int] = []
        combo.activated.connect(picked.append)
        qtbot.keyClicks(combo, "Hi there, please close it")
        for key in (Qt.Key.Key_PageDown, Qt.Key.Key_End, Qt.Key.Key_Home):
            qtbot.keyClick(combo, key)
        assert combo.currentText() == before and not picked
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        assert combo.view().isVisible(), "the arrow key opens the list"
        combo.hidePopup()
        assert combo.currentText() == before and not picked
        assert tickets.get_ticket(db_of(ctx), ctx.agent, editor.ticket.id).version == editor.ticket.version

    run(loop, scenario())


def test_buttons_that_change_tickets_never_take_the_focus(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        window, editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        changing = [
            editor.claim_button,
            editor.resolve_button,
            editor.close_button,
            editor.reopen_button,
            editor.follow_button,
            editor.retry_button,
            editor.properties.remove_collaborator,
            editor.composer.findChild(QPushButton, "composerSend"),
            editor.composer.findChild(QPushButton, "composerTakeOver"),
            *window.queue.bulk_buttons,
            window.queue.undo_bar.undo_button,
        ]
        assert all(b is not None for b in changing)
        taking = [b.text() for b in changing if b is not None and b.focusPolicy() != Qt.FocusPolicy.NoFocus]
        assert not taking, f"these take the keyboard focus: {taking}"
        # Still usable from the keyboard: the Ticket menu's shortcuts.
        names = {a.text(): a.shortcut().toString() for a in window.actions_by_name.values()}
        assert names["Resolve the open ticket"] == "Ctrl+Shift+R"
        assert names["Reopen the open ticket"] == "Ctrl+Shift+O"
        window.close()

    run(loop, scenario())


def _focus_pixels(widget: QWidget, colour: QColor) -> int:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = QColor(image.pixel(x, y))
            distance = abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green())
            count += distance + abs(pixel.blue() - colour.blue()) < 40
    return count


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_is_clearly_visible(qapp: QApplication, qtbot: QtBot, scheme: str) -> None:
    """A focused button, text field and field of choices carry a ring in the focus colour, at least a full pixel
    line around them, that the unfocused ones do not have."""
    old = os.environ.get("DESK_THEME")
    os.environ["DESK_THEME"] = scheme
    try:
        theme.apply(qapp)
        box = QWidget()
        qtbot.addWidget(box)
        layout = QVBoxLayout(box)
        button, field, other, combo = QPushButton("Save search"), QLineEdit("text"), QLineEdit(), ChoiceBox()
        combo.addItems(["Emergency", "Low"])
        for widget in (button, field, combo, other):
            layout.addWidget(widget)
        box.show()
        box.activateWindow()
        qtbot.waitUntil(box.isActiveWindow)
        ring = theme.color("focus")
        for widget in (button, field, combo):
            other.setFocus()
            qtbot.waitUntil(other.hasFocus)
            unfocused = _focus_pixels(widget, ring)
            widget.setFocus()
            qtbot.waitUntil(widget.hasFocus)
            focused = _focus_pixels(widget, ring)
            perimeter = 2 * (widget.width() + widget.height())
            assert unfocused == 0 and focused >= perimeter, (widget, unfocused, focused, perimeter)
    finally:
        if old is None:
            os.environ.pop("DESK_THEME")
        else:
            os.environ["DESK_THEME"] = old
        theme.apply(qapp)
