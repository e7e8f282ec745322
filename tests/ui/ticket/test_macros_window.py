"""Macros, tasks and the ticket's keyboard in the window, driven by keyboard and mouse as an agent does: the macro
picker (Ctrl+Shift+A) and the header's Macros menu, the checklist (Ctrl+Shift+K, Space, Delete), the property
fields (Alt+1…) and stepping through the thread's messages (Alt+Shift+Up/Down)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from shiboken6 import isValid

import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox

from desk.domain.enums import EntryKind
from desk.domain.macros import MacroActions, MacroForm
from desk.domain.views import EntryView, EventView
from desk.services import entries, macros, tickets
from desk.ui.admin.macro_editor import MacroEditor, OwnMacroEditor
from desk.ui.labels import describe
from desk.ui.main_window import SHORTCUTS, MainWindow
from desk.ui.tasks import Context
from desk.ui.ticket.editor import TicketEditor
from desk.ui.ticket.macro_picker import MacroPicker
from desk.ui.ticket.tasks_panel import TaskDialog
from tests.ui.conftest import POPUP, db_of, make_context, run, until
from tests.ui.test_administration import opened, section_of
from tests.ui.ticket.test_keyboard_safety import unassigned_ticket, window_with_ticket

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def status_id(ctx: Context, name: str) -> int:
    return next(s.id for s in ctx.choices.statuses if s.name == name)


def add_macros(ctx: Context) -> None:
    db = db_of(ctx)
    pending = MacroActions(
        priority_id=next(p.id for p in ctx.choices.priorities if p.name == "High"),
        post=EntryKind.REPLY,
        text="Please send us the logs of ticket %{ticket.number}.",
        status_id=status_id(ctx, "Pending"),
    )
    macros.save_macro(db, ctx.agent, None, MacroForm("Ask for logs → Pending", pending))
    duplicate = MacroActions(post=EntryKind.NOTE, text="Duplicate.", status_id=status_id(ctx, "Closed"))
    macros.save_macro(db, ctx.agent, None, MacroForm("Close as duplicate", duplicate))


def new_dialog(editor: TicketEditor, before: object) -> TaskDialog | None:
    """The task dialog the editor opened since `before` was its last."""
    dialog = editor.dialog
    return dialog if dialog is not before and isinstance(dialog, TaskDialog) else None


def thread_lines(editor: TicketEditor) -> list[str]:
    """The ticket's thread as the window says it: each event's line, each entry's text."""
    thread = editor.ticket.thread if editor.ticket else ()
    return [describe(item) if isinstance(item, EventView) else item.body_text for item in thread]


def test_ctrl_shift_a_filters_the_macros_and_enter_applies_one(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        add_macros(ctx)
        window, editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        assert editor.ticket is not None
        number, version = editor.ticket.number, editor.ticket.version
        QTest.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
        picker = await until(lambda: isinstance(editor.dialog, MacroPicker) and editor.dialog, what="the picker")
        picker.activateWindow()  # as a window manager does (the offscreen platform activates no window itself)
        await until(lambda: QApplication.focusWidget() is picker.filter, what="the keyboard in the filter")
        await until(lambda: picker.list.count() == 2, what="the ticket's macros")
        assert picker.preview.toPlainText().startswith("Priority → High\nReply to the requester:\n")
        assert f"Please send us the logs of ticket {number}." in picker.preview.toPlainText()  # filled in
        qtbot.keyClicks(picker.filter, "dup")
        assert [picker.list.item(r).text() for r in range(picker.list.count())] == ["Close as duplicate"]
        qtbot.keyClicks(picker.filter, "x")
        assert picker.empty.text() == "No macro has “dupx” in its name"
        qtbot.keyClick(picker.filter, Qt.Key.Key_Backspace)
        qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
        await until(lambda: editor.ticket is not None and editor.ticket.version > version, what="the macro applied")
        assert not isValid(picker)  # closed, and gone
        assert editor.ticket.status.name == "Closed"
        assert thread_lines(editor)[-3:] == [
            f"{ctx.agent.name} applied the macro “Close as duplicate”",
            "Duplicate.",
            f"{ctx.agent.name} closed the ticket",
        ]
        assert editor.reopen_button.isVisible()  # the header follows the new status
        window.close()

    run(loop, scenario())


@POPUP
def test_the_macros_menu_applies_one_in_a_click_and_a_refused_one_changes_nothing(
    qtbot: QtBot, loop: qasync.QEventLoop, ctx: Context
) -> None:
    """John (limited access in Support) may reply but not change the priority: the macro that does both is refused
    whole, saying why, and the ticket keeps its reply-less thread."""
    john = make_context(db_of(ctx), "john")

    async def scenario() -> None:
        add_macros(ctx)
        ticket_id = unassigned_ticket(john)
        window, editor = await window_with_ticket(john, qtbot, ticket_id)
        assert editor.ticket is not None
        before = editor.ticket
        menu = editor.macros_menu
        menu.popup(editor.macros_button.mapToGlobal(QPoint(0, editor.macros_button.height())))
        await until(lambda: any(a.text() == "Ask for logs → Pending" for a in menu.actions()), what="the menu")
        chosen = next(a for a in menu.actions() if a.text() == "Ask for logs → Pending")
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(chosen).center())
        await until(lambda: editor.banner.isVisible(), what="the refusal")
        assert editor.banner.text().startswith("“Ask for logs → Pending” was not applied, nothing changed: ")
        assert "change the priority" in editor.banner.text()
        after = tickets.get_ticket(db_of(ctx), ctx.agent, ticket_id)
        assert (after.version, len(after.thread)) == (before.version, len(before.thread))
        window.close()
        john.close()

    run(loop, scenario())


@POPUP
def test_the_checklist_by_keyboard(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    async def scenario() -> None:
        window, editor = await window_with_ticket(ctx, qtbot, unassigned_ticket(ctx))
        tasks_list = editor.properties.tasks
        assert tasks_list.summary.text().startswith("No tasks.")
        for text in ("Replace the toner", "Call the requester back"):
            before = editor.dialog
            window.activateWindow()  # back from the dialog (the offscreen platform activates no window itself)
            await until(window.isActiveWindow, what="the window active")
            QTest.keyClick(window, Qt.Key.Key_K, CTRL_SHIFT)
            dialog = await until(lambda: new_dialog(editor, before), what="the dialog")  # noqa: B023  # awaited at once
            dialog.activateWindow()
            await until(lambda: QApplication.focusWidget() is dialog.text, what="the keyboard in the task's text")  # noqa: B023
            qtbot.keyClicks(dialog.text, text)
            qtbot.keyClick(dialog.text, Qt.Key.Key_Return)
            await until(lambda: text in [task.text for task in editor.ticket.tasks] if editor.ticket else False)  # noqa: B023
        assert tasks_list.summary.text() == "0 of 2 done"
        window.activateWindow()
        await until(window.isActiveWindow, what="the window active")
        tasks_list.list.setFocus()
        tasks_list.list.setCurrentRow(0)
        qtbot.keyClick(tasks_list.list, Qt.Key.Key_Space)
        await until(lambda: tasks_list.summary.text() == "1 of 2 done", what="the task ticked off")
        assert editor.ticket is not None and editor.ticket.tasks[0].done_by is not None
        assert QApplication.focusWidget() is not tasks_list.list  # back where typing is safe
        tasks_list.list.setFocus()
        tasks_list.list.setCurrentRow(1)
        qtbot.keyClick(tasks_list.list, Qt.Key.Key_Delete)
        await until(lambda: tasks_list.summary.text() == "1 of 1 done", what="the task deleted")
        assert thread_lines(editor)[-4:] == [
            f"{ctx.agent.name} added the task “Replace the toner”",
            f"{ctx.agent.name} added the task “Call the requester back”",
            f"{ctx.agent.name} ticked off the task “Replace the toner”",
            f"{ctx.agent.name} deleted the task “Call the requester back”",
        ]
        window.close()

    run(loop, scenario())


@POPUP
def test_alt_digits_open_the_property_fields_and_alt_shift_arrows_step_through_the_messages(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        ticket_id = unassigned_ticket(ctx)
        for text in ("First answer", "Second answer"):
            entries.post_note(db_of(ctx), ctx.agent, ticket_id, text)
        window, editor = await window_with_ticket(ctx, qtbot, ticket_id)
        for number, name in enumerate(("status", "priority", "department", "help_topic", "sla_plan", "assignee"), 1):
            QTest.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.AltModifier)
            combo = editor.properties.findChild(QComboBox, name)
            assert combo is not None
            await until(combo.view().isVisible, what=f"the {name} list open")
            assert QApplication.focusWidget() in (combo, combo.view())
            combo.hidePopup()
        assert editor.ticket is not None
        entry_indexes = [i for i, item in enumerate(editor.ticket.thread) if isinstance(item, EntryView)]
        view = editor.thread_view
        up = Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier
        QTest.keyClick(window, Qt.Key.Key_Up, up)
        assert view.message_index == entry_indexes[-2]
        QTest.keyClick(window, Qt.Key.Key_Up, up)
        QTest.keyClick(window, Qt.Key.Key_Down, up)
        assert view.message_index == entry_indexes[-2]
        QTest.keyClick(window, Qt.Key.Key_Down, up)
        QTest.keyClick(window, Qt.Key.Key_Down, up)  # the newest stays the newest
        assert view.message_index == entry_indexes[-1]
        window.close()

    run(loop, scenario())


def test_the_help_lists_every_new_shortcut_from_the_one_table() -> None:
    keys = {name: keys for name, keys, _text in SHORTCUTS}
    assert (keys["macro"], keys["add_task"], keys["next_message"], keys["previous_message"]) == (
        "Ctrl+Shift+A",
        "Ctrl+Shift+K",
        "Alt+Shift+Down",
        "Alt+Shift+Up",
    )
    assert [keys[f"field_{name}"] for name in ("status", "priority", "team")] == ["Alt+1", "Alt+2", "Alt+7"]
    assert len(set(keys.values())) == len(keys), "two actions share a shortcut"


def test_an_administrator_writes_a_macro_in_the_administration(
    ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    async def scenario() -> None:
        window = opened(ctx, qtbot)
        section, editor = section_of(window, "Macros", MacroEditor)
        await until(section.empty.isVisible, what="the empty list")
        section.new_button.click()
        await until(lambda: editor.heading.text() == "New macro")
        qtbot.keyClicks(editor.name, "Hand over to Level 2")
        editor.team.setCurrentIndex(editor.team.findText("Level 2"))
        editor.assignee.setCurrentIndex(editor.assignee.findText("Me (whoever applies it)"))
        editor.post.setCurrentIndex(2)  # an internal note
        section.save_button.click()  # without its text: refused beside the field, nothing saved
        await until(lambda: editor.errors["text"].isVisible(), what="the refusal")
        assert editor.errors["text"].text() == "Write the reply or note it posts."
        assert macros.list_macros(db_of(ctx), ctx.agent) == []
        editor.text.setPlainText("Level 2: over to you on %{ticket.number}.")
        editor.status.setCurrentIndex(editor.status.findText("On hold"))
        section.save_button.click()
        await until(lambda: section.list.count() == 1 and not section.is_dirty(), what="saved and listed")
        (saved,) = macros.list_macros(db_of(ctx), ctx.agent)
        actions = macros.get_macro(db_of(ctx), ctx.agent, saved.id).form.actions
        assert (actions.assign_to_me, actions.post, actions.status_id) == (
            True,
            EntryKind.NOTE,
            status_id(ctx, "On hold"),
        )
        assert actions.text == "Level 2: over to you on %{ticket.number}."
        window.close()

    run(loop, scenario())


def test_an_agent_keeps_macros_of_their_own(ctx: Context, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
    john = make_context(db_of(ctx), "john")

    async def scenario() -> None:
        window = MainWindow(john)
        qtbot.addWidget(window)
        dialog = window.show_own_macros()
        section = dialog.section
        await until(lambda: section.empty.isVisible(), what="the empty list")
        section.new_button.click()
        editor = section.editor
        assert isinstance(editor, OwnMacroEditor) and not editor.department.isVisible()
        await until(lambda: editor.heading.text() == "New macro", what="a new macro's form")
        qtbot.keyClicks(editor.name, "Take it and follow")
        editor.assignee.setCurrentIndex(editor.assignee.findText("Me (whoever applies it)"))
        editor.follow.setCurrentIndex(1)
        section.save_button.click()
        await until(lambda: section.list.count() == 1 and not section.is_dirty(), what="saved and listed")
        ticket_id = unassigned_ticket(john)
        (offered,) = macros.macros_for_ticket(db_of(ctx), john.agent, ticket_id)
        assert (offered.name, offered.personal) == ("Take it and follow", True)
        view = macros.apply_macro(db_of(ctx), john.agent, ticket_id, offered.id)
        assert view.assignee is not None and view.assignee.id == john.agent.id and view.following
        assert macros.list_macros(db_of(ctx), ctx.agent) == []  # John's alone
        dialog.close()

    run(loop, scenario())
    john.close()
