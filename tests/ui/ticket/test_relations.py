"""Merge, link and split from the ticket editor, by keyboard (issue 17): the dialogs find tickets by number or words,
say what will happen, act, and the editor opens the ticket that the agent goes on with."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from desk.domain.views import EntryView, TicketView
from desk.services import entries, tickets
from desk.storage.db import Database
from desk.ui.tasks import Context
from desk.ui.ticket.relations import LinkDialog, MergeDialog, RelationDialog, SplitDialog
from tests.services.conftest import SYSTEM
from tests.ui.conftest import db_of, make_context, run, until
from tests.ui.ticket.test_keyboard_safety import window_with_ticket
from tests.ui.ticket.test_role_limits import shown as editor_on


def opened(ctx: Context, subject: str, body: str) -> TicketView:
    return tickets.open_ticket(db_of(ctx), ctx.agent, subject=subject, body=body, requester_email="ann@example.com")


def press(
    qtbot: QtBot, widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(widget, key, modifier)


def act(qtbot: QtBot, dialog: RelationDialog) -> None:
    """Tab to the dialog's action button and press Space, as a keyboard user does."""
    dialog.action.setFocus()  # where Tab from the last field lands: the button box follows it
    press(qtbot, dialog.action, Qt.Key.Key_Space)


async def search(qtbot: QtBot, dialog: MergeDialog | LinkDialog, text: str) -> None:
    finder = dialog.finder
    finder.query.setFocus()
    qtbot.keyClicks(finder.query, text)
    press(qtbot, finder.query, Qt.Key.Key_Return)
    await until(lambda: finder.results.count() > 0 or "No other" in finder.message.text(), what="search results")


def test_merge_finds_by_number_shows_the_survivor_and_merges(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        older = opened(ctx, "Card declined at checkout", "My card is declined.")
        newer = opened(ctx, "Card declined again", "Still declined, second mail.")
        entries.post_note(db_of(ctx), ctx.agent, newer.id, "Same person mailing twice")
        editor = await editor_on(ctx, qtbot, newer.id)
        requested: list[int] = []
        editor.open_requested.connect(requested.append)
        editor.merge_tickets()
        dialog = editor.dialog
        assert isinstance(dialog, MergeDialog) and dialog.isVisible()
        assert not dialog.action.isEnabled()  # nothing chosen yet
        await search(qtbot, dialog, older.number)
        assert [dialog.finder.results.item(0).text()] == [f"{older.number} · Open · Card declined at checkout"]
        # The older ticket survives by default; the preview counts the combined thread and names its entries.
        await until(lambda: "3 entries" in dialog.preview.text(), what="preview")
        assert dialog.survivor.currentData() == older.id
        preview = dialog.preview.text()
        assert f"Ticket {older.number} stays open; {newer.number} will be closed into it." in preview
        shown = [dialog.preview_entries.item(row).text() for row in range(dialog.preview_entries.count())]
        assert [line.split(" · ", 2)[2] for line in shown] == [
            "Message: My card is declined.",
            "Message: Still declined, second mail.",
            "Internal note: Same person mailing twice",
        ]
        act(qtbot, dialog)
        await until(lambda: requested == [older.id], what="the survivor opened")
        await until(lambda: editor.merged_note.isVisible(), what="merged note")
        assert (
            editor.merged_note.text()
            == f"This ticket was merged into ticket {older.number}: its thread continues there."
        )
        kept = tickets.get_ticket(db_of(ctx), ctx.agent, older.id)
        assert len([item for item in kept.thread if isinstance(item, EntryView)]) == 3
        # The merged ticket offers the survivor.
        requested.clear()
        editor.open_survivor_button.click()
        await until(lambda: requested == [older.id], what="open the survivor")

    run(loop, scenario())


def test_merge_survivor_can_be_switched(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        older = opened(ctx, "Lost password", "Cannot sign in.")
        newer = opened(ctx, "Password lost", "Still cannot sign in.")
        editor = await editor_on(ctx, qtbot, older.id)
        editor.merge_tickets()
        dialog = editor.dialog
        assert isinstance(dialog, MergeDialog)
        await search(qtbot, dialog, newer.number)
        await until(lambda: "2 entries" in dialog.preview.text(), what="preview")
        dialog.survivor.setFocus()
        press(qtbot, dialog.survivor, Qt.Key.Key_Down)  # the newer one, second in the list
        assert dialog.survivor.currentData() == newer.id
        await until(lambda: f"Ticket {newer.number} stays open" in dialog.preview.text(), what="switched")
        act(qtbot, dialog)
        await until(lambda: editor.merged_note.isVisible(), what="merged into the newer")
        assert tickets.get_ticket(db_of(ctx), ctx.agent, older.id).merged_into == newer.number

    run(loop, scenario())


def test_merge_refusal_is_said_in_words(demo_db: Database, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    """John's Limited role may not merge: the editor says so and opens no dialog."""
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        support = next(d.id for d in john.choices.departments if d.name == "Support")
        ticket = tickets.open_ticket(
            demo_db,
            john.agent,
            subject="Modem",
            body="Blinks.",
            requester_email="ann@example.com",
            department_id=support,
        )
        editor = await editor_on(john, qtbot, ticket.id)
        editor.merge_tickets()
        assert editor.dialog is None
        assert editor.banner.isVisible() and editor.banner.text() == "Your role in Support cannot merge tickets."

    try:
        run(loop, scenario())
    finally:
        john.close()


def test_link_by_words_then_open_and_unlink_from_the_list(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket = opened(ctx, "Printer queue stuck", "Nothing prints.")
        other = opened(ctx, "Spooler crashes nightly", "The zyxwvutspooler service stops.")
        editor = await editor_on(ctx, qtbot, ticket.id)
        linked_list = editor.properties.linked
        assert [linked_list.item(0).text()] == ["No linked tickets"]
        editor.link_ticket()
        dialog = editor.dialog
        assert isinstance(dialog, LinkDialog)
        await search(qtbot, dialog, "zyxwvutspooler")
        assert dialog.finder.results.hasFocus() and dialog.action.isEnabled()
        act(qtbot, dialog)
        await until(lambda: linked_list.item(0).text() == f"{other.number} · Spooler crashes nightly", what="linked")
        requested: list[int] = []
        editor.open_requested.connect(requested.append)
        editor.activateWindow()
        await until(lambda: QApplication.activeWindow() is editor, what="the editor's window to be active")
        linked_list.setFocus()
        linked_list.setCurrentRow(0)
        press(qtbot, linked_list, Qt.Key.Key_Return)
        assert requested == [other.id]
        press(qtbot, linked_list, Qt.Key.Key_Delete)
        await until(lambda: linked_list.item(0).text() == "No linked tickets", what="unlinked")
        assert tickets.get_ticket(db_of(ctx), ctx.agent, other.id).linked == ()

    run(loop, scenario())


def test_link_search_without_match_or_words_says_so(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket = opened(ctx, "Printer queue stuck", "Nothing prints.")
        editor = await editor_on(ctx, qtbot, ticket.id)
        editor.link_ticket()
        dialog = editor.dialog
        assert isinstance(dialog, LinkDialog)
        await search(qtbot, dialog, "qqqnothingmatchesqqq")
        assert dialog.finder.message.text() == "No other ticket matches “qqqnothingmatchesqqq”."
        dialog.finder.query.clear()
        qtbot.keyClicks(dialog.finder.query, "a")
        press(qtbot, dialog.finder.query, Qt.Key.Key_Return)
        await until(lambda: "three or more letters" in dialog.finder.message.text(), what="the search's refusal")
        assert dialog.isVisible()  # Enter searched; it pressed no button

    run(loop, scenario())


def test_split_checked_entries_into_a_new_ticket(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket = opened(ctx, "Laptop and phone", "The laptop will not boot.")
        entries.add_message(db_of(ctx), SYSTEM, ticket.id, "Also my phone.", from_user_id=ticket.requester.id)
        editor = await editor_on(ctx, qtbot, ticket.id)
        requested: list[int] = []
        editor.open_requested.connect(requested.append)
        editor.split_ticket()
        dialog = editor.dialog
        assert isinstance(dialog, SplitDialog)
        assert dialog.entries.count() == 2 and dialog.entries.currentRow() == 1
        dialog.entries.setFocus()
        act(qtbot, dialog)  # nothing checked: said, not sent
        await until(lambda: dialog.error.text() == "Check at least one entry to move.", what="the hint")
        dialog.entries.setFocus()
        press(qtbot, dialog.entries, Qt.Key.Key_Space)
        assert dialog.checked() == [ticket_entries(ctx, ticket.id)[1]]
        dialog.subject.selectAll()
        qtbot.keyClicks(dialog.subject, "Phone")
        act(qtbot, dialog)
        await until(lambda: len(requested) == 1, what="the new ticket opened")
        new = tickets.get_ticket(db_of(ctx), ctx.agent, requested[0])
        assert new.subject == "Phone" and new.linked == (ticket.number,)
        # The original, shown again, keeps the first message and lists the new ticket.
        await until(lambda: editor.properties.linked.item(0).text() == f"{new.number} · Phone", what="reloaded")
        assert editor.ticket is not None
        assert [i.body_text for i in editor.ticket.thread if isinstance(i, EntryView)] == ["The laptop will not boot."]

    run(loop, scenario())


def test_split_of_every_entry_is_refused_in_words(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket = opened(ctx, "One message", "Only this.")
        editor = await editor_on(ctx, qtbot, ticket.id)
        editor.split_ticket()
        dialog = editor.dialog
        assert isinstance(dialog, SplitDialog)
        dialog.entries.setFocus()
        press(qtbot, dialog.entries, Qt.Key.Key_Space)
        act(qtbot, dialog)
        await until(lambda: dialog.error.isVisible(), what="the refusal")
        assert (
            dialog.error.text() == "Splitting every entry would leave the ticket empty; leave at least one entry in it."
        )
        assert dialog.isVisible()

    run(loop, scenario())


def test_the_ticket_menu_shortcuts_open_the_dialogs(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        ticket = opened(ctx, "Shortcut check", "By keyboard.")
        window, editor = await window_with_ticket(ctx, qtbot, ticket.id)
        await until(lambda: QApplication.activeWindow() is window, what="the window to be active")
        kinds: tuple[tuple[str, type[RelationDialog]], ...] = (
            ("Ctrl+Shift+M", MergeDialog),
            ("Ctrl+Shift+L", LinkDialog),
            ("Ctrl+Shift+S", SplitDialog),
        )
        for keys, kind in kinds:
            press(qtbot, editor.composer, *_key(keys))
            await until(lambda: type(editor.dialog) is kind and editor.dialog.isVisible(), what=keys)  # noqa: B023
            assert editor.dialog is not None
            editor.dialog.reject()
            window.activateWindow()
            await until(lambda: QApplication.activeWindow() is window, what="the window again")
        header_menu = editor.relations_button.menu()
        assert [action.text() for action in header_menu.actions()] == [
            "Merge with other tickets…",
            "Link to another ticket…",
            "Split entries into a new ticket…",
        ]
        header_menu.actions()[1].trigger()
        assert isinstance(editor.dialog, LinkDialog) and editor.dialog.isVisible()
        editor.dialog.reject()
        menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ticket")
        assert isinstance(menu, QMenu)
        shown = [action.text() for action in menu.actions()]
        assert {"Merge other tickets with the open one…", "Link the open ticket to another…"} <= set(shown)
        assert "Split entries of the open ticket into a new one…" in shown

    run(loop, scenario())


def _key(keys: str) -> tuple[Qt.Key, Qt.KeyboardModifier]:
    letter = keys.rsplit("+", 1)[1]
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    return Qt.Key(ord(letter)), modifiers


def ticket_entries(ctx: Context, ticket_id: int) -> list[int]:
    view = tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id)
    return [item.id for item in view.thread if isinstance(item, EntryView)]
