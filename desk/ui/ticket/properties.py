"""The ticket's properties panel: fields changed in place (each with an optional note), requester, due times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import StatusState
from desk.domain.permissions import PERM_ACTIONS, AgentActor, Perm, status_change
from desk.domain.timespent import format_minutes
from desk.domain.views import Choices, QueueRow, Ref, TicketView
from desk.services import lifecycle, tickets
from desk.ui.labels import SOURCES, when
from desk.ui.ticket.tasks_panel import TaskList
from desk.ui.widgets import ChoiceBox, hands_off, label, plain_tip, set_role, ticket_item

NONE_ID = 0  # the "none" entry of an optional field's combo

Change = Callable[..., Any]  # a service call as (ticket_id, value, note=..., expected_version=...)

# What changing each field needs, in the words a refusal uses (the status depends on the move: status_change).
FIELD_PERMS: dict[str, tuple[Perm, str]] = {
    "priority": (Perm.TICKET_EDIT, "change the priority"),
    "department": (Perm.TICKET_TRANSFER, PERM_ACTIONS[Perm.TICKET_TRANSFER]),
    "help_topic": (Perm.TICKET_EDIT, "change the help topic"),
    "sla_plan": (Perm.TICKET_EDIT, "change the SLA plan"),
    "assignee": (Perm.TICKET_ASSIGN, PERM_ACTIONS[Perm.TICKET_ASSIGN]),
    "team": (Perm.TICKET_ASSIGN, PERM_ACTIONS[Perm.TICKET_ASSIGN]),
    "collaborators": (Perm.TICKET_EDIT, "change collaborators"),
}


def refusal(agent: AgentActor, ticket: TicketView, need: tuple[Perm, str]) -> str | None:
    """Why the agent may not do this on the ticket, in words; None when they may."""
    perm, action = need
    if perm in agent.perms_on(ticket.department.id, ticket.assignee.id if ticket.assignee else None,
                              ticket.team.id if ticket.team else None):  # fmt: skip
        return None
    return agent.cannot(action, ticket.department.id, ticket.department.name)


def allow(widget: QWidget, reason: str | None, tip: str = "") -> None:
    """Enable the control, or disable it with a tooltip that says why."""
    widget.setEnabled(reason is None)
    widget.setToolTip(plain_tip(reason or tip))  # a reason names a department, which an administrator typed


def fill(combo: QComboBox, refs: Sequence[Ref], none_label: str | None = None) -> None:
    combo.clear()
    if none_label is not None:
        combo.addItem(none_label, NONE_ID)
    for ref in refs:
        combo.addItem(ref.name, ref.id)


def select_id(combo: QComboBox, value: int | None) -> None:
    """Show the value without emitting a change (it came from the ticket, not from the agent)."""
    combo.blockSignals(True)
    index = combo.findData(NONE_ID if value is None else value)
    if index < 0 and value is not None:
        index = combo.count()
        combo.addItem(f"(#{value})", value)  # a value the agent may not pick (inactive), shown as it is
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)


class PropertiesPanel(QFrame):
    """Status, priority, department, topic, SLA, assignee, team and collaborators, each applied when changed.

    Signals:
        change_requested: (service function, value or a tuple of arguments): the editor applies it with the note
            and the ticket's version.
        collaborator_added: an email address to add as CC.
        collaborator_removed: a collaborator's user id.
        ticket_requested: another ticket (the requester's, or a linked one), by id, to open.
        link_requested: the agent asked to link this ticket to another (the editor finds it).
        unlink_requested: a linked ticket's id, to unlink.
    """

    change_requested = Signal(object, object)
    collaborator_added = Signal(str)
    collaborator_removed = Signal(int)
    ticket_requested = Signal(int)
    link_requested = Signal()
    unlink_requested = Signal(int)

    def __init__(self, choices: Choices, agent: AgentActor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._agent = agent
        self._states = {status.id: status.state for status in choices.statuses}
        self.setProperty("role", "panel")
        self.setMinimumWidth(280)
        self.setMaximumWidth(360)
        self._ticket: TicketView | None = None

        self.status = ChoiceBox()
        for status in choices.statuses:
            self.status.addItem(status.name, status.id)
        self.priority = ChoiceBox()
        for priority in choices.priorities:
            self.priority.addItem(priority.name, priority.id)
        self.department = ChoiceBox()
        fill(self.department, choices.departments)
        self.topic = ChoiceBox()
        fill(self.topic, choices.topics, "— none —")
        self.sla = ChoiceBox()
        fill(self.sla, choices.slas, "— none —")
        self.assignee = ChoiceBox()
        fill(self.assignee, choices.agents, "— unassigned —")
        self.team = ChoiceBox()
        fill(self.team, choices.teams, "— no team —")
        self.note = QLineEdit(placeholderText="Note for the next change (optional)")
        # A waiting status until a date: Pending (a status that stops the SLA clock) before others on hold.
        paused = {status.id for status in choices.statuses if status.pauses_sla}
        self._waiting = sorted(choices.waiting_statuses, key=lambda i: i not in paused)
        self.until = QDateTimeEdit()
        self.until.setObjectName("pending_until")
        self.until.setAccessibleName("Pending until")
        self.until.setCalendarPopup(True)
        self.until.setDisplayFormat("d MMM yyyy HH:mm")
        self.wait_button = QPushButton("Wait")
        self.wait_button.setObjectName("wait")
        self.wait_button.clicked.connect(self._wait)
        self._fields: list[tuple[str, QComboBox, Change]] = [
            ("Status", self.status, lifecycle.set_status),
            ("Priority", self.priority, tickets.set_priority),
            ("Department", self.department, tickets.transfer),
            ("Help topic", self.topic, tickets.set_topic),
            ("SLA plan", self.sla, tickets.set_sla),
            ("Assignee", self.assignee, tickets.assign),
            ("Team", self.team, tickets.assign_team),
        ]
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for title, combo, service in self._fields:
            combo.setObjectName(title.lower().replace(" ", "_"))
            # A long name (they come from administrators and imports) is elided, never widens the panel.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.setAccessibleName(title)
            combo.activated.connect(lambda _i, c=combo, s=service: self._picked(c, s))
            form.addRow(label(title), combo)
        waiting = QHBoxLayout()
        waiting.addWidget(self.until, 1)
        waiting.addWidget(self.wait_button)
        form.insertRow(1, label("Until"), waiting)  # under the status
        if not self._waiting:  # only ever hidden here: shown before the form is on a widget, they would be windows
            form.setRowVisible(1, False)
        form.addRow("", self.note)

        self.due = label(wrap=True)
        self.time_spent = label(role="muted")
        self.time_spent.setObjectName("timeSpent")
        self.source = label(role="muted")
        self.requester = label(wrap=True, rich=True)  # composed below, every value escaped
        self.requester.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.other_tickets = QListWidget()
        self.other_tickets.setMaximumHeight(140)
        self.other_tickets.itemActivated.connect(self._other_ticket_activated)
        self.collaborators = QListWidget()
        self.collaborators.setMaximumHeight(90)
        self.collaborator_email = QLineEdit(placeholderText="Add CC by email…")
        self.collaborator_email.returnPressed.connect(self._add_collaborator)
        self.remove_collaborator = QPushButton("Remove")
        self.remove_collaborator.clicked.connect(self._remove_collaborator)
        hands_off(self.remove_collaborator)  # the Delete key on the list removes too
        remove_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.collaborators)
        remove_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        remove_key.activated.connect(self._remove_collaborator)
        collaborator_row = QHBoxLayout()
        collaborator_row.addWidget(self.collaborator_email, 1)
        collaborator_row.addWidget(self.remove_collaborator)
        self.linked = QListWidget()
        self.linked.setObjectName("linkedTickets")
        self.linked.setAccessibleName("Linked tickets (Enter opens, Delete unlinks)")
        self.linked.setMaximumHeight(96)
        # A subject wraps within the panel's width instead of hiding behind a horizontal scroll bar.
        self.linked.setWordWrap(True)
        self.linked.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.linked.itemActivated.connect(self._other_ticket_activated)
        self.link_button = QPushButton("Link…")
        self.link_button.clicked.connect(self.link_requested)
        self.unlink_button = QPushButton("Unlink")
        self.unlink_button.clicked.connect(self._unlink)
        hands_off(self.link_button, self.unlink_button)  # Ctrl+Shift+L links; the Delete key on the list unlinks
        unlink_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.linked)
        unlink_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        unlink_key.activated.connect(self._unlink)
        link_row = QHBoxLayout()
        link_row.addStretch(1)
        link_row.addWidget(self.link_button)
        link_row.addWidget(self.unlink_button)

        layout = QVBoxLayout(self)
        layout.addWidget(label("Properties", "section"))
        layout.addLayout(form)
        layout.addWidget(label("Due", "section"))
        layout.addWidget(self.due)
        layout.addWidget(self.time_spent)
        layout.addWidget(label("Tasks", "section"))
        self.tasks = TaskList()
        layout.addWidget(self.tasks)
        layout.addWidget(label("Requester", "section"))
        layout.addWidget(self.requester)
        layout.addWidget(self.source)
        layout.addWidget(label("Their other tickets", "section"))
        layout.addWidget(self.other_tickets)
        layout.addWidget(label("Linked tickets", "section"))
        layout.addWidget(self.linked)
        layout.addLayout(link_row)
        layout.addWidget(label("Collaborators", "section"))
        layout.addWidget(self.collaborators)
        layout.addLayout(collaborator_row)
        layout.addWidget(label("Followers", "section"))
        self.followers = label(wrap=True)
        self.followers.setObjectName("followers")
        layout.addWidget(self.followers)
        layout.addStretch(1)

    def show_ticket(self, ticket: TicketView) -> None:
        self._ticket = ticket
        select_id(self.status, ticket.status.id)
        select_id(self.priority, ticket.priority.id)
        select_id(self.department, ticket.department.id)
        select_id(self.topic, ticket.topic.id if ticket.topic else None)
        select_id(self.sla, ticket.sla.id if ticket.sla else None)
        select_id(self.assignee, ticket.assignee.id if ticket.assignee else None)
        select_id(self.team, ticket.team.id if ticket.team else None)
        self._allow(ticket)
        self.tasks.show_tasks(
            ticket.tasks,
            ticket.tasks_required,
            refusal(self._agent, ticket, (Perm.TICKET_EDIT, "change the ticket's tasks")),
            refusal(self._agent, ticket, (Perm.TICKET_REPLY, "tick off the ticket's tasks")),
        )
        lines = []
        if ticket.first_response_due and ticket.first_responded_at is None:
            lines.append(f"First response by {when(ticket.first_response_due)}")
        if ticket.resolution_due:
            lines.append(f"Resolution by {when(ticket.resolution_due)}")
        if ticket.overdue:
            lines.insert(0, "⚠ Overdue")
        if ticket.pending_until:
            lines.insert(0, f"{ticket.status.name} until {when(ticket.pending_until)}, then back to Open")
        self._show_until(ticket)
        self.due.setText("\n".join(lines) or "No due time (no SLA plan, or paused)")
        set_role(self.due, "error" if ticket.overdue else None)
        self.time_spent.setText(
            f"Time spent: {format_minutes(ticket.time_spent)}" if ticket.time_spent else "Time spent: none entered"
        )
        person = ticket.requester
        details = [
            f"<b>{escape(person.name)}</b>",
            f'<a href="mailto:{escape(person.email, quote=True)}">{escape(person.email)}</a>',
        ]
        if person.phone:
            details.append(escape(person.phone))
        if person.organization:
            details.append(escape(person.organization))
        self.requester.setText("<br>".join(details))
        self.requester.setOpenExternalLinks(True)
        self.source.setText(f"Opened {when(ticket.created_at)} via {SOURCES[ticket.source].lower()}")
        self.collaborators.clear()
        if not ticket.collaborators:
            self.collaborators.addItem(QListWidgetItem("No one in CC. Add an address below."))
        for collaborator in ticket.collaborators:
            item = QListWidgetItem(
                f"{collaborator.user.name} <{collaborator.user.email}> · {collaborator.role.upper()}"
            )
            item.setData(Qt.ItemDataRole.UserRole, collaborator.user.id)
            self.collaborators.addItem(item)
        names = [f"{f.name} (you)" if f.id == self._agent.id else f.name for f in ticket.followers]
        self.followers.setText(
            ", ".join(names) if names else "No one follows this ticket. Follow it, or @mention an agent in a note."
        )
        set_role(self.followers, None if names else "muted")
        self.linked.clear()
        if not ticket.links:
            self.linked.addItem(QListWidgetItem("No linked tickets"))
        for link in ticket.links:
            item = QListWidgetItem(f"{link.number} · {link.subject or '(not in your departments)'}")
            item.setData(Qt.ItemDataRole.UserRole, link.id)
            item.setToolTip(plain_tip(link.subject or f"Ticket {link.number} is outside your departments."))
            self.linked.addItem(item)

    def _show_until(self, ticket: TicketView) -> None:
        """The ticket's date, else tomorrow at 9:00 (a usual "wait for their answer"), local time either way."""
        if ticket.pending_until is not None:
            moment = QDateTime.fromSecsSinceEpoch(int(ticket.pending_until.timestamp()))
        else:
            moment = QDateTime(QDate.currentDate().addDays(1), QTime(9, 0))
        self.until.setDateTime(moment)
        waiting = ticket.status.id in self._waiting
        self.wait_button.setText("Change date" if waiting and ticket.pending_until else "Wait")
        if self._waiting:
            name = self.status.itemText(self.status.findData(self._waiting_status(ticket)))
            self.wait_button.setToolTip(f"Set the ticket {name} until this time; it returns to Open by itself then.")

    def _waiting_status(self, ticket: TicketView) -> int:
        """The status a ticket waits in: its own when it is a waiting one, else the first (Pending)."""
        return ticket.status.id if ticket.status.id in self._waiting else self._waiting[0]

    def _wait(self) -> None:
        if self._ticket is None or not self._waiting:
            return
        until = datetime.fromtimestamp(self.until.dateTime().toSecsSinceEpoch(), UTC)
        self.change_requested.emit(lifecycle.set_status, (self._waiting_status(self._ticket), until))

    def _allow(self, ticket: TicketView) -> None:
        """Disable what the agent's role does not allow on this ticket, each with a tooltip that says why."""
        for title, combo, _service in self._fields:
            if combo is not self.status:
                allow(combo, refusal(self._agent, ticket, FIELD_PERMS[combo.objectName()]), title)
        # The status combo: each status on its own, as moving to it needs (closing, reopening, archiving…).
        model = self.status.model()
        reasons = []
        for row in range(self.status.count()):
            state = self._states.get(self.status.itemData(row), StatusState.OPEN)
            reason = refusal(self._agent, ticket, status_change(ticket.status.state, state))
            if row != self.status.currentIndex():
                reasons.append(reason)
            item = model.item(row)  # type: ignore[attr-defined]  # a combo's own model is a QStandardItemModel
            item.setEnabled(reason is None)
            item.setToolTip(plain_tip(reason or ""))
        chosen = [reason for reason in reasons if reason is not None]
        allow(self.status, chosen[0] if chosen and len(chosen) == len(reasons) else None, "Status")
        waiting = refusal(self._agent, ticket, status_change(ticket.status.state, StatusState.OPEN))
        allow(self.until, waiting, "When the ticket returns to Open by itself")
        self.wait_button.setEnabled(waiting is None)
        people = refusal(self._agent, ticket, FIELD_PERMS["collaborators"])
        for widget in (self.collaborator_email, self.remove_collaborator):
            allow(widget, people)
        linking = refusal(self._agent, ticket, (Perm.TICKET_LINK, PERM_ACTIONS[Perm.TICKET_LINK]))
        allow(self.link_button, linking, "Link a related ticket (Ctrl+Shift+L)")
        allow(self.unlink_button, linking, "Unlink the chosen ticket (Delete)")

    def show_other_tickets(self, rows: Sequence[QueueRow]) -> None:
        self.other_tickets.clear()
        others = [row for row in rows if self._ticket is None or row.id != self._ticket.id]
        for row in others:
            tip = f"{row.subject}\nUpdated {when(row.updated_at)}"
            self.other_tickets.addItem(ticket_item(row.id, row.number, row.status, row.subject, tip))
        if not others:
            self.other_tickets.addItem(QListWidgetItem("No other tickets"))

    def take_note(self) -> str | None:
        note = self.note.text().strip() or None
        self.note.clear()
        return note

    def _picked(self, combo: QComboBox, service: Change) -> None:
        value = combo.currentData()
        if service is tickets.assign and value == NONE_ID:
            service = tickets.release
        self.change_requested.emit(service, None if value == NONE_ID else value)

    def _other_ticket_activated(self, item: QListWidgetItem) -> None:
        ticket_id = item.data(Qt.ItemDataRole.UserRole)
        if ticket_id:
            self.ticket_requested.emit(ticket_id)

    def _unlink(self) -> None:
        item = self.linked.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole) and self.unlink_button.isEnabled():
            self.unlink_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def _add_collaborator(self) -> None:
        email = self.collaborator_email.text().strip()
        if email:
            self.collaborator_added.emit(email)
            self.collaborator_email.clear()

    def _remove_collaborator(self) -> None:
        item = self.collaborators.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self.collaborator_removed.emit(item.data(Qt.ItemDataRole.UserRole))
