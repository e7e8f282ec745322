"""One open ticket: header, colour-coded thread, composer, and the properties panel beside them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QMenu, QPushButton, QSplitter, QVBoxLayout, QWidget

from desk.domain.enums import EntryKind, StatusState
from desk.domain.errors import Conflict, DeskError
from desk.domain.macros import MacroChoice, TaskForm
from desk.domain.permissions import PERM_ACTIONS, Perm
from desk.domain.views import TaskView, TicketView
from desk.services import entries, following, lifecycle, macros, reference, tasks, tickets
from desk.ui import icons, labels
from desk.ui.tasks import Context, async_slot
from desk.ui.thread.view import ThreadView, open_attachment
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.macro_picker import MacroPicker
from desk.ui.ticket.properties import Change, PropertiesPanel, allow, refusal
from desk.ui.ticket.relations import LinkDialog, MergeDialog, RelationDialog, SplitDialog
from desk.ui.ticket.tasks_panel import TaskDialog
from desk.ui.widgets import hands_off, is_text_input, label, plain_tip

FOLLOW_TIPS = {  # whether the agent follows the ticket → what the button does
    False: "Follow this ticket: you are mailed when the requester writes, and it is in your Following queue "
    "(Ctrl+Shift+F)",
    True: "Stop following this ticket (Ctrl+Shift+F)",
}


class TicketEditor(QWidget):
    """A ticket as the agent works it. Every change goes through the services with the version last shown;
    a stale one shows who changed what, then the fresh ticket, and never touches the composer's text.

    Signals:
        ticket_changed: the ticket after a change made here (TicketView), so queues and counts refresh.
        open_requested: another ticket to open, by id.
    """

    ticket_changed = Signal(object)
    open_requested = Signal(int)

    def __init__(self, ctx: Context, ticket_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.ticket_id = ticket_id
        self.ticket: TicketView | None = None
        self.closed = False  # the tab was closed: answers still in flight are dropped
        self._applying = asyncio.Lock()

        self.number = label(role="muted")
        self.subject = label(role="heading", wrap=True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = label(wrap=True)
        self.overdue = label("⚠ Overdue", "error")
        self.overdue.hide()
        self.updated_by = label(role="changed")  # "Updated by …" for a moment after another agent's change
        self.updated_by.hide()
        self._updated_timer = QTimer(self, singleShot=True)
        self._updated_timer.timeout.connect(self.updated_by.hide)
        self.claim_button = self._button("Assign to me", "assign-me", "Take this ticket (Ctrl+M)", self.claim)
        self.resolve_button = self._button("Resolve", "answered", "Mark the problem fixed (Ctrl+Shift+R)", self.resolve)
        self.close_button = self._button("Close", "close-ticket", "Close the ticket (Ctrl+Shift+C)", self.close_ticket)
        self.reopen_button = self._button("Reopen", "refresh", "Reopen the ticket (Ctrl+Shift+O)", self.reopen)
        # Any agent who sees the ticket may follow it: no permission to check, the label says which way it goes.
        self.follow_button = self._button("Follow", "follow", FOLLOW_TIPS[False], self.toggle_follow)
        self.follow_button.setObjectName("follow")
        self.banner = label(role="banner", wrap=True)
        self.banner.hide()
        # A stale save keeps the agent's change: one click applies it again on the fresh ticket (issue 5).
        self.retry_button = self._button(
            "Apply my change again", "refresh", "Apply your change to the current ticket", self._retry_change
        )
        self.retry_button.setObjectName("retryChange")
        self.retry_button.hide()
        self._retry: tuple[Change, tuple[Any, ...], str | None] | None = None
        # A merged ticket offers the one it was merged into (issue 17): its thread and replies are there now.
        self.merged_note = label(role="banner", wrap=True)
        self.merged_note.setObjectName("mergedNote")
        self.open_survivor_button = QPushButton(icons.icon("message"), "Open it")
        self.open_survivor_button.clicked.connect(self.open_survivor)
        self.merged_note.hide()
        self.open_survivor_button.hide()
        self.dialog: QDialog | None = None  # the merge, link or split dialog last opened
        self.relations_button = QPushButton("Merge, link, split")
        self.relations_button.setToolTip(
            "Merge (Ctrl+Shift+M), link (Ctrl+Shift+L) or split (Ctrl+Shift+S) this ticket"
        )
        relations = QMenu(self.relations_button)
        relations.addAction("Merge with other tickets…", self.merge_tickets)
        relations.addAction("Link to another ticket…", self.link_ticket)
        relations.addAction("Split entries into a new ticket…", self.split_ticket)
        self.relations_button.setMenu(relations)
        hands_off(self.relations_button)
        # Macros (issue 17): the ticket's macros in the button's menu, one click each; Ctrl+Shift+A opens the picker.
        self.macros_button = QPushButton(icons.icon("saved"), "Macros")
        self.macros_button.setObjectName("macros")
        self.macros_button.setToolTip(
            "Apply a macro: several changes, a reply or note and a status at once (Ctrl+Shift+A)"
        )
        self.macros_menu = QMenu(self.macros_button)
        self.macros_menu.aboutToShow.connect(self._fill_macros_menu)
        self.macros_button.setMenu(self.macros_menu)
        hands_off(self.macros_button)

        self.thread_view = ThreadView()
        self.thread_view.attachment_activated.connect(self._open_attachment)
        self.thread_view.pictures_wanted.connect(self._fetch_pictures)
        self.composer = ComposerWidget(ctx)
        self.composer.sent.connect(self._sent)
        self.composer.failed.connect(self._composer_failed)
        self.properties = PropertiesPanel(ctx.choices, ctx.agent)
        self.properties.change_requested.connect(self._change_requested)
        self.properties.collaborator_added.connect(self._add_collaborator)
        self.properties.collaborator_removed.connect(self._remove_collaborator)
        self.properties.ticket_requested.connect(self.open_requested)
        self.properties.link_requested.connect(self.link_ticket)
        self.properties.unlink_requested.connect(self._unlink)
        self.properties.tasks.ticked.connect(self._tick_task)
        self.properties.tasks.delete_requested.connect(self._delete_task)
        self.properties.tasks.edit_requested.connect(self.edit_task)

        title = QVBoxLayout()
        title.setSpacing(2)
        title.addWidget(self.number)
        title.addWidget(self.subject)
        status_row = QHBoxLayout()
        status_row.setSpacing(12)
        # The status line takes the row's width and wraps only when that is too narrow (a wrapping label left to its
        # size hint breaks after a few words).
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.overdue)
        status_row.addWidget(self.updated_by)
        title.addLayout(status_row)
        header = QHBoxLayout()
        header.addLayout(title, 1)
        for button in (
            self.follow_button,
            self.claim_button,
            self.resolve_button,
            self.close_button,
            self.reopen_button,
        ):
            header.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.relations_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.macros_button, 0, Qt.AlignmentFlag.AlignTop)
        work = QSplitter(Qt.Orientation.Vertical)
        work.addWidget(self.thread_view)
        work.addWidget(self.composer)
        work.setStretchFactor(0, 3)
        work.setStretchFactor(1, 1)
        left = QVBoxLayout()
        left.addLayout(header)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        left.addLayout(banner_row)
        merged_row = QHBoxLayout()
        merged_row.addWidget(self.merged_note, 1)
        merged_row.addWidget(self.open_survivor_button, 0, Qt.AlignmentFlag.AlignVCenter)
        left.addLayout(merged_row)
        left.addWidget(work, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(left, 1)
        layout.addWidget(self.properties)

    # --- loading ----------------------------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch the ticket (thread included) and the requester's other tickets, and show them."""
        ticket = await self._ctx.call(tickets.get_ticket, self.ticket_id)
        if self.closed:
            return
        others = asyncio.ensure_future(self._ctx.call(reference.requester_tickets, ticket.requester.id))
        self.show_ticket(ticket)  # while the requester's other tickets are read
        found = await others
        if not self.closed:
            self.properties.show_other_tickets(found)

    async def _load_or_say(self) -> None:
        """Reload after a refusal; if the ticket is gone from this agent's view, say so instead of failing."""
        try:
            await self.load()
        except DeskError as error:
            if not self.closed:
                self._say(str(error))

    def close_editor(self) -> None:
        """The tab is going away: give the reply lock back, and let calls still in flight find the editor closed
        (their answers are dropped: the widgets are deleted)."""
        self.closed = True
        self.composer.release_lock()
        if self.composer.is_sending():
            # Deleting now would pull the widgets from under the send; the draft must be cleared first.
            self.composer.settled.connect(self.deleteLater)
        else:
            self.deleteLater()

    def show_ticket(self, ticket: TicketView) -> None:
        self.ticket = ticket
        self.number.setText(f"Ticket {ticket.number}")
        self.subject.setText(ticket.subject)
        self.status.setText(f"{ticket.status.name} · {ticket.priority.name} priority · {ticket.department.name}")
        self.overdue.setVisible(ticket.overdue)
        is_open = ticket.status.state == StatusState.OPEN
        self.claim_button.setVisible(is_open and (ticket.assignee is None or ticket.assignee.id != self._ctx.agent.id))
        self.resolve_button.setVisible(is_open)
        self.close_button.setVisible(is_open)
        self.reopen_button.setVisible(not is_open)
        assign = refusal(self._ctx.agent, ticket, (Perm.TICKET_ASSIGN, "take tickets"))
        reply = refusal(self._ctx.agent, ticket, (Perm.TICKET_REPLY, "take tickets"))
        allow(self.claim_button, assign and reply, self.claim_button.property("tip"))
        closing = refusal(self._ctx.agent, ticket, (Perm.TICKET_CLOSE, PERM_ACTIONS[Perm.TICKET_CLOSE]))
        for button in (self.resolve_button, self.close_button, self.reopen_button):
            allow(button, closing, button.property("tip"))
        self.follow_button.setText("Unfollow" if ticket.following else "Follow")
        self.follow_button.setToolTip(FOLLOW_TIPS[ticket.following])
        merged = ticket.merged_into
        self.merged_note.setText(
            f"This ticket was merged into ticket {merged}: its thread continues there." if merged else ""
        )
        self.open_survivor_button.setText(f"Open ticket {merged}")
        for widget in (self.merged_note, self.open_survivor_button):
            widget.setVisible(merged is not None)
        self.thread_view.set_thread(ticket.thread)
        self.properties.show_ticket(ticket)
        self.composer.set_ticket(ticket)

    def settle_focus(self) -> None:
        """After any action (a change, a send, the ticket opened or its tab shown) the keyboard focus is where typing
        is safe: text the agent is writing keeps it; anything else (a button, a field, the thread, nothing) gives it
        to the composer, so the next keystrokes land in the reply and change nothing."""
        if self.closed or not self.isVisible():
            return
        if not is_text_input(self.window().focusWidget()):
            self.composer.focus_editor()

    def show_updated_by(self, who: str, msecs: int = 3_000) -> None:
        """Say for a moment that another agent (or the requester, or the system) just changed this ticket."""
        self.updated_by.setText(f"Updated by {who}")
        self.updated_by.setToolTip(plain_tip(f"{who} changed this ticket just now; it shows the new version."))
        self.updated_by.show()
        self._updated_timer.start(msecs)

    # --- actions ----------------------------------------------------------------------------------------------

    @async_slot
    async def claim(self) -> None:
        await self._press(self.claim_button, tickets.claim)

    @async_slot
    async def resolve(self) -> None:
        await self._press(self.resolve_button, lifecycle.resolve)

    @async_slot
    async def close_ticket(self) -> None:
        await self._press(self.close_button, lifecycle.close)

    @async_slot
    async def reopen(self) -> None:
        await self._press(self.reopen_button, lifecycle.reopen)

    @async_slot
    async def toggle_follow(self) -> None:
        """Follow the ticket, or stop following it (Ctrl+Shift+F): the button says which, as the ticket last shown."""
        if self.ticket is None or not self.follow_button.isEnabled():
            return
        self.follow_button.setEnabled(False)  # one toggle at a time: a second press waits for the first's answer
        try:
            await self._personal(following.unfollow if self.ticket.following else following.follow)
        finally:
            if not self.closed:
                self.follow_button.setEnabled(True)

    async def _press(self, button: QPushButton, service: Change) -> None:
        """A header button's action, also reached by its shortcut: a disabled one says why instead."""
        if not button.isEnabled():
            self._say(button.toolTip())
            return
        await self._apply(service)

    def focus_field(self, name: str) -> None:
        """Put the keyboard on a property (Alt+1…: status, priority…) with its list open, so that the next keys
        choose the value; a field the agent may not change says why instead."""
        combo = self.properties.findChild(QComboBox, name)
        if combo is None or self.ticket is None:
            return
        if not combo.isEnabled():
            self._say(combo.toolTip())
            return
        combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        combo.showPopup()

    def start_reply(self, kind: EntryKind) -> None:
        self.composer.set_mode(kind)
        self.composer.focus_editor()

    async def _apply(self, service: Change, *args: Any) -> None:
        """One change with the version on screen and the panel's note; a stale version reloads the ticket.

        Changes run one at a time: a second one picked while the first is on its way waits for it and goes with
        the version it produced, instead of conflicting with the agent's own change."""
        async with self._applying:
            await self._apply_now(service, *args)

    async def _apply_now(self, service: Change, *args: Any) -> None:
        if self.ticket is None:
            return
        note = self.properties.take_note()
        try:
            fresh = await self._ctx.call(
                service, self.ticket_id, *args, note=note, expected_version=self.ticket.version
            )
        except Conflict as conflict:
            if self.closed:
                return
            changes = "; ".join(f"{c.field}: {c.before or '—'} → {c.after or '—'}" for c in conflict.info.changes)
            self._say(f"{conflict}" + (f" Changes: {changes}." if changes else ""))
            self._retry = (service, args, note)  # the agent's change, kept to apply again in one click
            self.retry_button.show()
            await self._load_or_say()
            self.settle_focus()
            return
        except DeskError as error:
            if self.closed:
                return
            self._say(str(error))
            if note and not self.properties.note.text():
                self.properties.note.setText(note)  # what the agent typed is kept for the next try
            self.show_ticket(self.ticket)  # put the fields back to what is saved
            self.settle_focus()
            return
        if self.closed:
            return
        self.banner.hide()
        self.retry_button.hide()
        self.show_ticket(fresh)
        self.settle_focus()
        self.ticket_changed.emit(fresh)

    @async_slot
    async def _change_requested(self, service: Change, value: Any) -> None:
        """A field's new value, or the arguments of a change that takes several (a status with its date)."""
        args = () if service is tickets.release else value if isinstance(value, tuple) else (value,)
        await self._apply(service, *args)

    @async_slot
    async def _add_collaborator(self, email: str) -> None:
        await self._personal(lifecycle.add_collaborator, email)

    @async_slot
    async def _remove_collaborator(self, user_id: int) -> None:
        await self._personal(lifecycle.remove_collaborator, user_id)

    @async_slot
    async def _unlink(self, other_id: int) -> None:
        await self._personal(lifecycle.unlink, other_id)

    async def _personal(self, service: Change, *args: Any) -> None:
        """A change that does not depend on the ticket's fields (who is copied, who follows, what is linked): no
        version sent."""
        try:
            fresh = await self._ctx.call(service, self.ticket_id, *args)
        except DeskError as error:
            if not self.closed:
                self._say(str(error))
            return
        if self.closed:
            return
        self.show_ticket(fresh)
        self.settle_focus()
        self.ticket_changed.emit(fresh)

    # --- tasks (issue 17) -------------------------------------------------------------------------------------

    def edit_task(self, task: TaskView | None = None) -> TaskDialog | None:
        """Add a task to the checklist (Ctrl+Shift+K), or change one, in a small dialog."""
        if self.ticket is None:
            return None
        if reason := refusal(self._ctx.agent, self.ticket, (Perm.TICKET_EDIT, "change the ticket's tasks")):
            self._say(reason)
            return None
        dialog = TaskDialog(self._ctx.choices.agents, task, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(functools.partial(self._save_task, task.id if task else None))
        self.dialog = dialog
        dialog.open()
        return dialog

    @async_slot
    async def _save_task(self, task_id: int | None, form: TaskForm) -> None:
        await self._personal(tasks.save_task, task_id, form)

    @async_slot
    async def _tick_task(self, task_id: int, done: bool) -> None:
        await self._personal(tasks.set_task_done, task_id, done)

    @async_slot
    async def _delete_task(self, task_id: int) -> None:
        await self._personal(tasks.delete_task, task_id)

    # --- macros (issue 17) -------------------------------------------------------------------------------------

    def open_macros(self) -> MacroPicker | None:
        """The macro picker (Ctrl+Shift+A): type to filter, Enter applies."""
        if self.ticket is None:
            return None
        picker = MacroPicker(self._ctx.choices, self)
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        picker.chosen.connect(self.apply_macro)
        self.dialog = picker
        picker.open()
        self._fetch_macros(picker.set_macros, picker.show_error)
        return picker

    def _fill_macros_menu(self) -> None:
        """The menu lists the ticket's macros as they are when it opens (fetched then: administrators change them)."""
        menu = self.macros_menu
        menu.clear()
        menu.addAction("Choose a macro… (Ctrl+Shift+A)", self.open_macros)
        menu.addSeparator()
        loading = menu.addAction(labels.tr("Loading macros…"))
        loading.setEnabled(False)

        def listed(found: Sequence[MacroChoice]) -> None:
            if not isValid(menu):
                return
            menu.removeAction(loading)
            for macro in found:
                menu.addAction(macro.name, functools.partial(self.apply_macro, macro))
            if not found:
                menu.addAction(labels.tr("No macros for this ticket")).setEnabled(False)

        def failed(message: str) -> None:
            if isValid(menu):
                loading.setText(message)

        self._fetch_macros(listed, failed)

    @async_slot
    async def _fetch_macros(self, then: Callable[[Sequence[MacroChoice]], None], failed: Callable[[str], None]) -> None:
        try:
            found = await self._ctx.call(macros.macros_for_ticket, self.ticket_id)
        except DeskError as error:
            if not self.closed:
                failed(str(error))
            return
        if not self.closed:
            then(found)

    @async_slot
    async def apply_macro(self, macro: MacroChoice) -> None:
        """Apply a macro with the version on screen (and the time typed beside Attach, when it posts a reply or
        note); refused whole, it says why and changes nothing."""
        async with self._applying:
            if self.ticket is None:
                return
            try:
                minutes = self.composer.typed_minutes() if macro.actions.post is not None else None
                fresh = await self._ctx.call(
                    macros.apply_macro, self.ticket_id, macro.id, expected_version=self.ticket.version, minutes=minutes
                )
            except DeskError as error:
                if self.closed:
                    return
                self._say(str(error))
                if isinstance(error, Conflict):
                    await self._load_or_say()
                self.settle_focus()
                return
            if self.closed:
                return
            if minutes is not None:
                self.composer.clear_time()
            self.banner.hide()
            self.show_ticket(fresh)
            self.settle_focus()
            self.ticket_changed.emit(fresh)

    # --- merge, link, split (issue 17) ------------------------------------------------------------------------

    def merge_tickets(self) -> None:
        """Find other tickets and merge them with this one, in a dialog."""
        self._open_relation(MergeDialog, "merged", self._merged, Perm.TICKET_MERGE)

    def link_ticket(self) -> None:
        """Find a related ticket and link it to this one, in a dialog."""
        self._open_relation(LinkDialog, "linked", self._shown_after_change, Perm.TICKET_LINK)

    def split_ticket(self) -> None:
        """Check entries of the thread and move them into a new ticket, in a dialog."""
        self._open_relation(SplitDialog, "split_off", self._split_off, Perm.TICKET_CREATE, Perm.TICKET_EDIT)

    def _open_relation(
        self, kind: Callable[[Context, TicketView, QWidget], RelationDialog], signal: str, slot: Any, *needs: Perm
    ) -> None:
        if self.ticket is None:
            return
        for perm in needs:
            if reason := refusal(self._ctx.agent, self.ticket, (perm, PERM_ACTIONS[perm])):
                self._say(reason)
                return
        self.dialog = kind(self._ctx, self.ticket, self)
        getattr(self.dialog, signal).connect(slot)
        self.dialog.open()

    @async_slot
    async def _merged(self, survivor: TicketView) -> None:
        """This ticket survived: show it. Another did: open that one, and show this one as merged into it."""
        self.ticket_changed.emit(survivor)
        if survivor.id == self.ticket_id:
            self._shown_after_change(survivor)
            return
        self.open_requested.emit(survivor.id)
        await self._load_or_say()

    @async_slot
    async def _split_off(self, new: TicketView) -> None:
        self.ticket_changed.emit(new)
        self.open_requested.emit(new.id)
        await self._load_or_say()

    def _shown_after_change(self, ticket: TicketView) -> None:
        if self.closed:
            return
        self.show_ticket(ticket)
        self.ticket_changed.emit(ticket)

    @async_slot
    async def open_survivor(self) -> None:
        """Open the ticket this one was merged into."""
        if self.ticket is None or self.ticket.merged_into is None:
            return
        try:
            survivor = await self._ctx.call(tickets.find_ticket, self.ticket.merged_into)
        except DeskError as error:
            if not self.closed:
                self._say(str(error))
            return
        self.open_requested.emit(survivor.id)

    def _sent(self, ticket: TicketView) -> None:
        self.banner.hide()
        self.show_ticket(ticket)
        self.settle_focus()
        self.ticket_changed.emit(ticket)

    @async_slot
    async def _composer_failed(self, _message: str) -> None:
        # The composer shows the error and keeps the text; a stale ticket is reloaded so a resend can succeed.
        await self._load_or_say()

    @async_slot
    async def _open_attachment(self, attachment_id: int, save: bool) -> None:
        await open_attachment(self._ctx, self, attachment_id, save=save)

    @async_slot
    async def _fetch_pictures(self, attachment_ids: list[int]) -> None:
        """The thread's `cid:` pictures, fetched after it is shown: a picture that cannot be had stays empty."""
        for start in range(0, len(attachment_ids), entries.MAX_PICTURES):
            try:
                found = await self._ctx.call(
                    entries.pictures, self.ticket_id, tuple(attachment_ids[start : start + entries.MAX_PICTURES])
                )
            except DeskError:
                return
            self.thread_view.add_pictures(found)

    def _say(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()
        self.retry_button.hide()  # shown again by a conflict that keeps a change to retry
        self._retry = None

    @async_slot
    async def _retry_change(self) -> None:
        if self._retry is None:
            return
        service, args, note = self._retry
        self._retry = None
        self.retry_button.hide()
        if note:
            self.properties.note.setText(note)  # _apply takes the note from the panel, as for a first try
        await self._apply(service, *args)

    def _button(self, text: str, icon_name: str, tip: str, slot: Any) -> QPushButton:
        button = QPushButton(icons.icon(icon_name), text)
        button.setToolTip(tip)
        button.setProperty("tip", tip)  # the tooltip again after a refusal's reason
        button.clicked.connect(slot)
        hands_off(button)
        return button
