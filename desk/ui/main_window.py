"""The agent window: sidebar of queues, the queue table, open tickets in tabs, search, shortcuts, status bar."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desk.domain.alerts import ASPECT as ALERTS_ASPECT
from desk.domain.enums import ActorKind, EntryKind, OutgoingMail, Queue, SortKey
from desk.domain.errors import DeskError
from desk.domain.permissions import Right
from desk.domain.queues import Criteria
from desk.domain.textsearch import parse_query
from desk.domain.views import ChangeView, TicketView
from desk.services import staff
from desk.ui import icons
from desk.ui.admin.macro_editor import OwnMacroEditor
from desk.ui.admin.password import PasswordDialog
from desk.ui.admin.window import AdministrationWindow
from desk.ui.alerts import AlertChoicesDialog, AlertsButton, TrayNotifier
from desk.ui.api_tokens import ApiTokensDialog
from desk.ui.dashboard import DashboardDock
from desk.ui.demo_mailbox import DemoMailboxDialog
from desk.ui.export import Cancelled, ask_path
from desk.ui.live import LiveUpdates
from desk.ui.mail_health import MailHealth
from desk.ui.offline import ConnectionMonitor, PendingAction
from desk.ui.own_canned import OwnCannedDialog
from desk.ui.queue.export import export_queue
from desk.ui.queue.model import QueueQuery
from desk.ui.queue.sidebar import Sidebar
from desk.ui.queue.widget import QueueWidget
from desk.ui.reports.window import ReportsWindow
from desk.ui.signature import SignatureDialog
from desk.ui.tasks import Context, async_slot
from desk.ui.ticket.editor import TicketEditor
from desk.ui.ticket.new_ticket import NewTicketDialog
from desk.ui.ticket.printing import PrintTicketDialog
from desk.ui.widgets import label, message_box, plain_tip, set_role

# Live updates arrive in bursts (a bulk action is one change per ticket): counts and the queue's id list are
# asked again once per burst, not once per change.
COUNTS_DELAY_MS = 300
REQUERY_DELAY_MS = 200
# Changes after which a ticket keeps its place in any queue or search (other changes may move it in or out).
IN_PLACE_ASPECTS = frozenset(
    {"note", "entry_edited", "linked", "collaborator_added", "collaborator_removed", "task", "macro"}
)
# (Following: "followers" is not among them, as it moves tickets in and out of the Following queue.)

# The properties a shortcut focuses (Alt+1…), in the panel's order: (the field's object name, in words).
FIELD_KEYS = (
    ("status", "status"),
    ("priority", "priority"),
    ("department", "department"),
    ("help_topic", "help topic"),
    ("sla_plan", "SLA plan"),
    ("assignee", "assignee"),
    ("team", "team"),
)

# (action name, shortcut, what it does): one table for the actions and the Help window.
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("new_ticket", "Ctrl+N", "New ticket"),
    ("reply", "Ctrl+R", "Reply to the open ticket"),
    ("note", "Ctrl+Shift+N", "Internal note on the open ticket"),
    ("canned", "Ctrl+Shift+T", "Insert a canned response (or type / on an empty line)"),
    ("claim", "Ctrl+M", "Assign the open ticket to me"),
    ("resolve", "Ctrl+Shift+R", "Resolve the open ticket"),
    ("close_ticket", "Ctrl+Shift+C", "Close the open ticket"),
    ("reopen", "Ctrl+Shift+O", "Reopen the open ticket"),
    ("follow", "Ctrl+Shift+F", "Follow or unfollow the open ticket"),
    ("merge", "Ctrl+Shift+M", "Merge other tickets with the open one…"),
    ("link", "Ctrl+Shift+L", "Link the open ticket to another…"),
    ("split", "Ctrl+Shift+S", "Split entries of the open ticket into a new one…"),
    ("macro", "Ctrl+Shift+A", "Apply a macro to the open ticket…"),
    ("add_task", "Ctrl+Shift+K", "Add a task to the open ticket's checklist…"),
    *((f"field_{name}", f"Alt+{number}", f"Change the {title}") for number, (name, title) in enumerate(FIELD_KEYS, 1)),
    ("next_message", "Alt+Shift+Down", "Next message in the thread"),
    ("previous_message", "Alt+Shift+Up", "Previous message in the thread"),
    ("search", "Ctrl+F", "Search all tickets"),
    ("next_ticket", "Alt+Down", "Next ticket in the queue"),
    ("previous_ticket", "Alt+Up", "Previous ticket in the queue"),
    ("refresh", "F5", "Refresh the queue and counts"),
    ("next_queue", "Ctrl+PgDown", "Next queue"),
    ("previous_queue", "Ctrl+PgUp", "Previous queue"),
    ("show_queue", "Ctrl+0", "Back to the queue"),
    ("dashboard", "Ctrl+D", "Show or hide the dashboard"),
    ("print_ticket", "Ctrl+P", "Print the open ticket or save it as PDF"),
    ("close_tab", "Ctrl+W", "Close the ticket tab"),
    ("shortcuts", "F1", "Keyboard shortcuts"),
)


class MainWindow(QMainWindow):
    """The agent's workspace for one signed-in session.

    Signals:
        ticket_opened: an editor finished loading a ticket (its id): tests and the benchmark wait on it.
        closed: the window closed, its background work ended; True when the agent signed out to switch agent.
    """

    ticket_opened = Signal(int)
    closed = Signal(bool)

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self._ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()
        self._signing_out = False
        self._administration: AdministrationWindow | None = None
        self.setWindowTitle(f"Desk — {ctx.agent.name}")
        self.setWindowIcon(icons.icon("inbox", "accent"))

        self.sidebar = Sidebar(ctx)
        self.sidebar.chosen.connect(self._queue_chosen)
        sidebar_box = QWidget()
        sidebar_box.setObjectName("sidebar")
        sidebar_layout = QVBoxLayout(sidebar_box)
        sidebar_layout.setContentsMargins(6, 8, 6, 6)
        sidebar_layout.addWidget(label("QUEUES", "section"))
        sidebar_layout.addWidget(self.sidebar, 1)

        self.queue = QueueWidget(ctx)
        self.queue.ticket_activated.connect(self.open_ticket)
        self.queue.tickets_changed.connect(lambda _ids: self._spawn(self.refresh_counts()))
        self.queue.search_saved.connect(lambda _name: self._spawn(self.sidebar.load_saved_searches()))
        self.tabs = QTabWidget(documentMode=True, tabsClosable=True, movable=True)
        self.tabs.addTab(self.queue, icons.icon("inbox"), "Queue")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        self.tabs.currentChanged.connect(lambda _index: self._settle_focus())

        splitter = QSplitter()
        splitter.addWidget(sidebar_box)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        sidebar_box.setMinimumWidth(200)
        splitter.setSizes([230, 1100])
        self.setCentralWidget(splitter)

        self.search_edit = QLineEdit(placeholderText="Search tickets…  (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMaximumWidth(340)
        self.search_edit.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.returnPressed.connect(self.run_search)
        self.actions_by_name = self._make_actions()
        toolbar = QToolBar("Main", movable=False)
        toolbar.setObjectName("main")  # the window's state (desk.ui.dashboard's dock) is kept by object names
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.actions_by_name["new_ticket"])
        toolbar.addAction(self.actions_by_name["refresh"])
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy())
        toolbar.addWidget(spacer)
        toolbar.addWidget(self.search_edit)
        # The agent's alerts: the bell lists them, the tray tells of new ones (desk.ui.alerts).
        self.alerts = AlertsButton(ctx)
        self.alerts.ticket_requested.connect(self.open_ticket)
        self.notifier = TrayNotifier(self)
        self.alerts.arrived.connect(self.notifier.notify)
        self.notifier.ticket_requested.connect(self._open_from_elsewhere)
        self.notifier.unseen.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        toolbar.addWidget(self.alerts)
        self.addToolBar(toolbar)
        self.dashboard = DashboardDock(ctx, self)
        self.dashboard.panel.figure_chosen.connect(self._figure_chosen)
        self.dashboard.visibilityChanged.connect(self._dashboard_shown)
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, self.dashboard)
        self._make_menus()

        self.connection_label = label(ctx.url_label)
        self.agent_label = label(f"Signed in as {ctx.agent.name}")
        self.live = LiveUpdates(ctx, self)
        self.live.changed.connect(self._live_changed)
        self.live_label = label(self.live.state, "muted")
        self.live.state_changed.connect(self.live_label.setText)
        self.mail_health = MailHealth(ctx)
        status = self.statusBar()
        health = self.mail_health
        for widget in (health, health.outgoing, self.connection_label, self.agent_label, self.live_label):
            status.addPermanentWidget(widget)
        # The watch over the server (issue 5): Context.call tells it when the server is lost, and the composers
        # keep their sends with it until the server is back.
        self.connection = ConnectionMonitor(ctx, parent=self)
        ctx.connection = self.connection
        self.connection.online_changed.connect(self._online_changed)
        self.connection.session_ended.connect(self._session_ended)
        self.connection.retry_scheduled.connect(self._retry_scheduled)
        self.connection.action_applied.connect(self._pending_applied)
        self.connection.action_refused.connect(self._pending_refused)
        self._counts_timer = QTimer(self, singleShot=True, interval=COUNTS_DELAY_MS)
        self._counts_timer.timeout.connect(lambda: self._spawn(self.refresh_counts()))
        self._requery_timer = QTimer(self, singleShot=True, interval=REQUERY_DELAY_MS)
        self._requery_timer.timeout.connect(self._requery)
        self._restore_geometry()

    # --- start and refresh ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Live updates from now on, first data (counts and saved searches), then the Open queue."""
        self.live.start()
        self.mail_health.start()
        await asyncio.gather(self.refresh_counts(), self._said(self.sidebar.load_saved_searches()))
        self.sidebar.select_queue(Queue.OPEN)
        self._spawn(self.connection.apply_pending())  # sends kept by an earlier run, while the server was away
        self._spawn(self._offer_administration())
        self._spawn(self.alerts.refresh())

    async def _offer_administration(self) -> None:
        """Offer File › Administration to a department's manager too (their department's members and canned
        responses)."""
        if self._ctx.agent.is_admin:
            return
        try:
            self._manages = bool(await self._ctx.call(staff.managed_departments))
        except DeskError:
            return  # the menu stays as it is; the next start asks again
        if self._manages:
            self.administration_action.setVisible(True)

    async def refresh_counts(self) -> None:
        """The sidebar's counts, and the dashboard's figures while it is shown (it says its own errors)."""
        if self.dashboard.isVisible():
            self._spawn(self.dashboard.panel.refresh())
        try:
            await self.sidebar.refresh_counts()
        except DeskError as error:
            self.statusBar().showMessage(str(error), 10_000)

    def _dashboard_shown(self, shown: bool) -> None:
        if shown:
            self._spawn(self.dashboard.panel.refresh())

    def _requery(self) -> None:
        """Re-query the queue after others' changes, one at a time: while the previous re-query's first page is
        still on its way, changes that keep coming wait for it rather than piling up statements in the database
        threads. (Its remaining ids are not waited for: on a busy desk that would hold every re-query for the
        seconds a 150,000-ticket queue takes to list.)"""
        if self.queue.model.is_loading:
            self._requery_timer.start()
        else:
            self.queue.refresh_live()

    def refresh(self) -> None:
        self.queue.refresh()
        self._spawn(self.refresh_counts())
        editor = self.current_editor()
        if editor is not None:
            self._spawn(editor.load())

    def _live_changed(self, changes: list[ChangeView]) -> None:
        """Other agents' (and our own) committed changes: counts, queue rows and open tickets follow them; the
        agent's alerts, told to them alone, the bell."""
        if any(c.aspect == ALERTS_ASPECT for c in changes):
            self._spawn(self.alerts.refresh())
            changes = [c for c in changes if c.aspect != ALERTS_ASPECT]
            if not changes:
                return
        me = self._ctx.agent.id
        changed = list(dict.fromkeys(c.ticket_id for c in changes if c.ticket_id is not None))
        # Who changed each ticket last, for the marks; our own changes are shown already and not marked.
        by_others = {
            c.ticket_id: c.actor
            for c in changes
            if c.ticket_id is not None and not (c.actor_kind == ActorKind.AGENT and c.actor_id == me)
        }
        self._counts_timer.start()
        model = self.queue.model
        model.invalidate(changed)
        for ticket_id, who in by_others.items():
            model.mark(ticket_id, who)
        query = model.query
        listed = all(model.row_of(i) is not None for i in changed)
        in_place = all(c.aspect in IN_PLACE_ASPECTS for c in changes)
        if query is not None and not (listed and in_place and query.sort != SortKey.UPDATED):
            self._requery_timer.start()
        for index in range(1, self.tabs.count()):
            editor = self.tabs.widget(index)
            if isinstance(editor, TicketEditor) and editor.ticket_id in by_others:
                editor.show_updated_by(by_others[editor.ticket_id])
                self._spawn(self._reload(editor))

    async def _reload(self, editor: TicketEditor) -> None:
        """Show the ticket's new version; the composer keeps what the agent is typing."""
        try:
            await editor.load()
        except DeskError as error:  # e.g. transferred to a department this agent does not see
            self.statusBar().showMessage(str(error), 10_000)

    # --- connection loss ------------------------------------------------------------------------------------

    def _online_changed(self, online: bool) -> None:
        if online:
            set_role(self.connection_label, None)
            self.connection_label.setText(self._ctx.url_label)
            self.statusBar().showMessage("Connected to the server again.", 6000)
            self._spawn(self._reload_after_outage())
        else:
            set_role(self.connection_label, "error")
            self.connection_label.setText(f"⚠ {self._outage()}")
            # Short: the permanent connection label beside it needs the room; the composer explains the rest.
            self.statusBar().showMessage(f"{self._outage()}: what you send is kept until it is back.", 15_000)

    def _session_ended(self, reason: str) -> None:
        """The Desk server ended this session: say why, then back to the sign-in (drafts stay on this computer)."""
        box = message_box(
            QMessageBox.Icon.Information,
            "Signed out",
            reason,
            self,
            informative="What you typed is kept in your drafts and comes back when you sign in again.",
        )
        box.finished.connect(box.deleteLater)
        box.finished.connect(lambda _code: self.sign_out())
        box.open()

    def _retry_scheduled(self, seconds: float) -> None:
        self.connection_label.setText(f"⚠ {self._outage()} · trying again in {seconds:.0f} s")

    def _outage(self) -> str:
        if self.connection.database_down:
            return "The server cannot reach its database"
        return "Server unreachable"

    async def _reload_after_outage(self) -> None:
        """What was shown may be stale after an outage: the queue, the counts and the open ticket again."""
        self.queue.refresh()
        await self.refresh_counts()
        editor = self.current_editor()
        if editor is not None:
            try:
                await editor.load()
            except DeskError as error:
                self.statusBar().showMessage(str(error), 10_000)

    def _pending_applied(self, action: PendingAction, ticket: TicketView) -> None:
        self.queue.refresh()
        self._spawn(self.refresh_counts())
        kind = "reply" if action.kind == EntryKind.REPLY.value else "note"
        self.statusBar().showMessage(f"Your {kind} to ticket {ticket.number} was sent.", 8000)

    def _pending_refused(self, action: PendingAction, message: str) -> None:
        kind = "reply" if action.kind == EntryKind.REPLY.value else "note"
        self.statusBar().showMessage(
            f"Your {kind} kept while offline was not sent: {message} Its text is kept in the ticket's draft.", 20_000
        )

    # --- queues, search, tickets ------------------------------------------------------------------------------

    def _queue_chosen(self, title: str, criteria: Criteria, empty_text: str) -> None:
        self.tabs.setCurrentWidget(self.queue)
        self.queue.show_query(title, QueueQuery(criteria), empty_text)

    def _figure_chosen(self, title: str, criteria: Criteria, empty_text: str) -> None:
        """A dashboard figure's tickets, in the queue (no sidebar queue is theirs)."""
        self.sidebar.clearSelection()
        self._queue_chosen(title, criteria, empty_text)

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def run_search(self) -> None:
        text = self.search_edit.text().strip()
        if parse_query(text).is_empty:
            self.statusBar().showMessage("Type at least one word of three or more letters to search.", 6000)
            return
        self.sidebar.clearSelection()
        self.tabs.setCurrentWidget(self.queue)
        self.queue.show_query(
            f"Search: {text}",
            QueueQuery(Criteria(), ranked_search=text),
            "No ticket matches every word. Try fewer or shorter words.",
        )
        self.queue.table.setFocus()

    def _open_from_elsewhere(self, ticket_id: int) -> None:
        """A ticket asked for from another window (the administration's) or the tray's alert: here, in front."""
        self.raise_()
        self.activateWindow()
        self.open_ticket(ticket_id)

    @async_slot
    async def open_ticket(self, ticket_id: int) -> None:
        """Open the ticket in its tab (or switch to it if it is open already)."""
        for index in range(1, self.tabs.count()):
            editor = self.tabs.widget(index)
            if isinstance(editor, TicketEditor) and editor.ticket_id == ticket_id:
                self.tabs.setCurrentIndex(index)
                return
        editor = TicketEditor(self._ctx, ticket_id)
        editor.ticket_changed.connect(self._ticket_changed)
        editor.open_requested.connect(self.open_ticket)
        row = self.queue.model.queue_row(ticket_id)
        index = self.tabs.addTab(editor, icons.icon("message"), row.number if row else "…")
        self.tabs.setCurrentIndex(index)
        try:
            await editor.load()
        except DeskError as error:
            self.statusBar().showMessage(str(error), 10_000)
            if editor.ticket is None:  # nothing to show; a ticket shown already stays (its agent may be typing)
                if not editor.closed:
                    self._close_tab(self.tabs.indexOf(editor))
                return
        if editor.closed:  # closed (or stepped past) while it loaded
            return
        if editor.ticket is not None:
            self.tabs.setTabText(self.tabs.indexOf(editor), editor.ticket.number)
            self.tabs.setTabToolTip(self.tabs.indexOf(editor), plain_tip(editor.ticket.subject))
        editor.settle_focus()
        self.ticket_opened.emit(ticket_id)

    def _settle_focus(self) -> None:
        """A ticket tab just shown takes the keyboard in its composer, never on one of its buttons or fields."""
        editor = self.current_editor()
        if editor is not None:
            editor.settle_focus()

    def current_editor(self) -> TicketEditor | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, TicketEditor) else None

    def _ticket_changed(self, ticket: TicketView) -> None:
        self.queue.refresh()
        self._spawn(self.refresh_counts())

    def _step_ticket(self, step: int) -> None:
        """Next or previous ticket of the queue; from a ticket tab, it opens in the same tab."""
        editor = self.current_editor()
        ticket_id = self.queue.move_current(step)
        if ticket_id is None:
            return
        if editor is None:
            return
        self._close_tab(self.tabs.indexOf(editor))
        self.open_ticket(ticket_id)

    def _close_tab(self, index: int) -> None:
        if index > 0:
            widget = self.tabs.widget(index)
            self.tabs.removeTab(index)
            if isinstance(widget, TicketEditor):
                widget.close_editor()

    def new_ticket(self) -> None:
        dialog = NewTicketDialog(self._ctx, self)
        dialog.created.connect(self._ticket_created)
        dialog.open()

    def _ticket_created(self, ticket: TicketView) -> None:
        self.queue.refresh()
        self._spawn(self.refresh_counts())
        self.open_ticket(ticket.id)

    # --- actions, menus, shortcuts ----------------------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        def on_editor(fn: Callable[[TicketEditor], object]) -> Callable[[], None]:
            def run() -> None:
                editor = self.current_editor()
                if editor is not None:
                    fn(editor)
                else:
                    self.statusBar().showMessage("Open a ticket first (Enter on a queue row).", 5000)

            return run

        handlers: dict[str, Callable[[], object]] = {
            "new_ticket": self.new_ticket,
            "reply": on_editor(lambda e: e.start_reply(EntryKind.REPLY)),
            "note": on_editor(lambda e: e.start_reply(EntryKind.NOTE)),
            "canned": on_editor(lambda e: e.composer.open_canned()),
            "claim": on_editor(lambda e: e.claim()),
            "resolve": on_editor(lambda e: e.resolve()),
            "close_ticket": on_editor(lambda e: e.close_ticket()),
            "reopen": on_editor(lambda e: e.reopen()),
            "follow": on_editor(lambda e: e.toggle_follow()),
            "merge": on_editor(lambda e: e.merge_tickets()),
            "link": on_editor(lambda e: e.link_ticket()),
            "split": on_editor(lambda e: e.split_ticket()),
            "macro": on_editor(lambda e: e.open_macros()),
            "add_task": on_editor(lambda e: e.edit_task()),
            **{
                f"field_{name}": on_editor(functools.partial(TicketEditor.focus_field, name=name))
                for name, _ in FIELD_KEYS
            },
            "next_message": on_editor(lambda e: e.thread_view.step_message(1)),
            "previous_message": on_editor(lambda e: e.thread_view.step_message(-1)),
            "search": self.focus_search,
            "next_ticket": lambda: self._step_ticket(1),
            "previous_ticket": lambda: self._step_ticket(-1),
            "refresh": self.refresh,
            "next_queue": lambda: self.sidebar.select_by_offset(1),
            "previous_queue": lambda: self.sidebar.select_by_offset(-1),
            "show_queue": lambda: self.tabs.setCurrentWidget(self.queue),
            "dashboard": lambda: self.dashboard.setVisible(not self.dashboard.isVisible()),
            "print_ticket": on_editor(self.print_ticket),
            "close_tab": lambda: self._close_tab(self.tabs.currentIndex()),
            "shortcuts": self.show_shortcuts,
        }
        icon_names = {"new_ticket": "new", "refresh": "refresh", "search": "search", "shortcuts": "keyboard"}
        actions = {}
        for name, keys, text in SHORTCUTS:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if name in icon_names:
                action.setIcon(icons.icon(icon_names[name]))
            action.triggered.connect(lambda _=False, run=handlers[name]: run())
            self.addAction(action)
            actions[name] = action
        actions["new_ticket"].setText("New ticket")
        actions["refresh"].setText("Refresh")
        return actions

    def _make_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.actions_by_name["new_ticket"])
        file_menu.addAction(icons.icon("saved"), "Export the list (CSV or Excel)…", self.ask_export)
        file_menu.addSeparator()
        self.api_tokens_action = file_menu.addAction(icons.icon("key"), "API tokens…", self.show_api_tokens)
        self.demo_mailbox_action = file_menu.addAction(icons.icon("message"), "Demo mailbox…", self.show_demo_mailbox)
        self.demo_mailbox_action.setVisible(self._ctx.choices.outgoing_mail == OutgoingMail.DEMO)
        self.administration_action = file_menu.addAction(
            icons.icon("settings"), "Administration…", self.show_administration
        )
        # Administrators, agents who manage end users, and department managers (start() finds those out).
        self.administration_action.setVisible(self._ctx.agent.is_admin or Right.USER_MANAGE in self._ctx.agent.rights)
        self._manages = False
        file_menu.addAction(icons.icon("note"), "My signature…", self.show_signature)
        file_menu.addAction(icons.icon("message"), "My canned responses…", self.show_own_canned)
        self.my_alerts_action = file_menu.addAction(icons.icon("bell"), "My alerts…", self.show_alert_choices)
        file_menu.addAction(icons.icon("saved"), "My macros…", self.show_own_macros)
        file_menu.addAction(icons.icon("lock"), "Change password…", self.show_change_password)
        file_menu.addSeparator()
        self.sign_out_action = file_menu.addAction(icons.icon("user"), "Sign out (switch agent)", self.sign_out)
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)
        ticket_menu = menus.addMenu("&Ticket")
        for name in (
            "reply",
            "note",
            "claim",
            "resolve",
            "close_ticket",
            "reopen",
            "merge",
            "link",
            "split",
            "macro",
            "add_task",
            "next_ticket",
            "previous_ticket",
            "print_ticket",
            "close_tab",
        ):
            ticket_menu.addAction(self.actions_by_name[name])
        view_menu = menus.addMenu("&View")
        for name in ("refresh", "search", "next_queue", "previous_queue", "show_queue", "dashboard"):
            view_menu.addAction(self.actions_by_name[name])
        if self._ctx.agent.is_admin or Right.REPORTS_VIEW in self._ctx.agent.rights:
            view_menu.addSeparator()
            self.reports_action = view_menu.addAction(icons.icon("saved"), "Reports…", self.show_reports)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self.actions_by_name["shortcuts"])

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).open()

    def show_reports(self) -> ReportsWindow:
        """View › Reports…: the figures of the agent's departments; a figure clicked opens its tickets here."""
        window = ReportsWindow(self._ctx, self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.tickets_requested.connect(self.show_tickets)
        window.show()
        window.refresh()
        return window

    def show_tickets(self, title: str, ids: list[int]) -> None:
        """Listed tickets (those behind a report's figure) as a queue."""
        self.sidebar.clearSelection()
        self.raise_()
        self.activateWindow()
        self._queue_chosen(title, Criteria(ticket_ids=tuple(ids)), "None of these tickets is yours to see any more.")

    def show_api_tokens(self) -> ApiTokensDialog:
        """The agent's own tokens for the JSON API (an administrator handles others' with `desk token`)."""
        dialog = ApiTokensDialog(self._ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # with the secret it may show
        dialog.open()
        dialog.refresh()
        return dialog

    def show_administration(self) -> AdministrationWindow:
        """Agents, teams, roles, departments and the audit log; one window, brought forward when open already."""
        if self._administration is not None and isValid(self._administration):
            self._administration.raise_()
            self._administration.activateWindow()
            return self._administration
        self._administration = AdministrationWindow(self._ctx, self, manages=self._manages)
        self._administration.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._administration.ticket_requested.connect(self._open_from_elsewhere)
        self._administration.show()
        self._administration.start()
        return self._administration

    def ask_export(self) -> QFileDialog | None:
        """File › Export the list…: the queue or search the list shows, as it shows it, to CSV or XLSX."""
        query = self.queue.model.query
        if query is None:
            return None
        return ask_path(self, "Export the list", "tickets.csv", lambda path: self.export_list(query, path))

    @async_slot
    async def export_list(self, query: QueueQuery, path: str) -> None:
        try:
            written = await export_queue(self._ctx, query, path, self)
        except Cancelled:
            said = "Export cancelled: nothing was written."
        except (DeskError, OSError) as error:
            said = f"The export stopped: {error}"
        else:
            said = f"Exported {written:,} ticket(s) to {path}."
        if isValid(self):
            self.statusBar().showMessage(said, 10_000)

    def print_ticket(self, editor: TicketEditor) -> PrintTicketDialog | None:
        """Ticket › Print…: the open ticket as loaded, on paper or as PDF."""
        if editor.ticket is None:
            return None
        dialog = PrintTicketDialog(editor.ticket, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_own_macros(self) -> OwnCannedDialog:
        dialog = OwnCannedDialog(self._ctx, self, OwnMacroEditor(self._ctx), "My macros")
        dialog.resize(900, 760)  # a macro's form is a long one: all of it in sight
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    def show_own_canned(self) -> OwnCannedDialog:
        dialog = OwnCannedDialog(self._ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    def show_signature(self) -> SignatureDialog:
        dialog = SignatureDialog(self._ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_alert_choices(self) -> AlertChoicesDialog:
        dialog = AlertChoicesDialog(self._ctx, self, tray=self.notifier.tray is not None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        dialog.start()
        return dialog

    def show_change_password(self) -> PasswordDialog:
        async def send(current: str | None, password: str) -> object:
            return await self._ctx.call(staff.change_own_password, current or "", password)

        dialog = PasswordDialog(
            "Change password",
            "Your new password is asked for the next time you sign in; this window stays signed in.",
            send,
            ask_current=True,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_demo_mailbox(self) -> DemoMailboxDialog:
        """The demo's mail, read in Desk: non-modal, so the agent keeps working while mail arrives."""
        dialog = DemoMailboxDialog(self._ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    # --- window state -----------------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run in the background, keeping a reference so the task is not collected midway; an expected error
        (the server unreachable, a ticket gone) is said in the status bar, a bug still reaches the crash hook."""
        task = asyncio.ensure_future(self._said(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before its first step never starts `work`: close it, or Python warns it was never awaited.
        task.add_done_callback(lambda _task: work.close())

    async def _said(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except DeskError as error:
            self.statusBar().showMessage(str(error), 10_000)

    def _restore_geometry(self) -> None:
        geometry = QSettings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        state = QSettings().value("window/state")  # where the dashboard is, and whether it is shown
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Remember the window's place and size, and end everything it runs in the background."""
        QSettings().setValue("window/geometry", self.saveGeometry())
        QSettings().setValue("window/state", self.saveState())
        self.stop()
        super().closeEvent(event)
        self.closed.emit(self._signing_out)

    def sign_out(self) -> None:
        """Close this agent's window; Desk then asks who signs in next."""
        self._signing_out = True
        if not self.close():
            self._signing_out = False

    def stop(self) -> None:
        """End the window's background work: live updates, the server watch, the queue's fetches, the mail check,
        the timers that would start more, and the window's own tasks; open tickets give their reply locks back."""
        self.connection.stop()
        self._counts_timer.stop()
        self._requery_timer.stop()
        self.live.stop()
        self.notifier.hide()
        self.mail_health.stop()
        self.queue.stop()
        for task in self._tasks:
            task.cancel()
        while self.tabs.count() > 1:
            self._close_tab(self.tabs.count() - 1)


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: the same table the actions are made from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (_name, keys, text) in enumerate(SHORTCUTS):
            shown = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
            table.setItem(row, 0, QTableWidgetItem(shown))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.table = table
        self.resize(460, 460)
