"""The Administration window's editors for people and structure: agents, teams, roles and departments.

Each says how its section lists, loads, saves and deletes (through desk.services.staff, in this process or on the
server) and lays out its form; desk.ui.admin.section does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from shiboken6 import isValid

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import AssignMode
from desk.domain.errors import DeskError
from desk.domain.permissions import PERM_ACTIONS, RIGHT_ACTIONS, Right
from desk.domain.sla import time_zones
from desk.domain.staff import (
    PERM_GROUPS,
    Access,
    AgentDetails,
    AgentForm,
    DepartmentDetails,
    DepartmentForm,
    RoleDetails,
    RoleForm,
    StaffChoices,
    TeamDetails,
    TeamForm,
)
from desk.domain.views import Ref
from desk.services import staff
from desk.ui.admin.fields import AssignModeChoice, RefChecklist, RefChoice
from desk.ui.admin.password import PasswordDialog
from desk.ui.admin.section import Editor, Row
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, message_box

NO_ACCESS = "No access"
HELP_DESK_ZONE = "The help desk's time zone"


def _sentence(words: str) -> str:
    """Words as a label begins them: the first letter upper-case, the rest as written ("administer Desk")."""
    return words[:1].upper() + words[1:]


def line_edit(max_length: int) -> QLineEdit:
    edit = QLineEdit()
    edit.setMaxLength(max_length)
    return edit


def _date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _date_edit() -> QDateEdit:
    edit = QDateEdit(QDate.currentDate())
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("d MMM yyyy")
    return edit


class StaffEditor(Editor):
    """An editor whose choices (agents, teams, roles, departments…) come from the window's StaffChoices.

    Signals:
        structure_changed: a save or delete changed what other editors offer (a team, role or department).
    """

    structure_changed = Signal()

    def set_choices(self, choices: StaffChoices) -> None:
        """Offer these agents, teams, roles, departments, SLA plans and schedules."""


@dataclass(frozen=True)
class Named:
    """The services of a kind of named row (team, role, department): list, get, save, delete."""

    list: Callable[..., list[Ref]]
    get: Callable[..., Any]
    save: Callable[..., Any]
    delete: Callable[..., None]


class StructureEditor(StaffEditor):
    """An editor of named rows others pick (teams, roles, departments): a save or delete changes the choices."""

    services: ClassVar[Named]

    async def rows(self, text: str) -> Sequence[Row]:
        needle = text.strip().casefold()  # a short list, searched here
        return [Row(r.id, r.name) for r in await self.ctx.call(self.services.list) if needle in r.name.casefold()]

    async def fetch(self, row_id: int) -> Any:
        return await self.ctx.call(self.services.get, row_id)

    async def store(self, row_id: int | None, form: Any) -> Any:
        saved = await self.ctx.call(self.services.save, row_id, form)
        self.structure_changed.emit()
        return saved

    async def remove(self, row_id: int) -> None:
        await self.ctx.call(self.services.delete, row_id)
        self.structure_changed.emit()


class AgentEditor(StaffEditor):
    """An agent: who they are, what they may do (rights, a role per department, teams), and their own settings.

    Attributes:
        status: their state and last sign-in; active_button and password_button act on them at once.
    """

    noun = "agent"
    deletable = False  # agents are deactivated: their replies and notes keep their name
    acted = Signal()  # deactivated, activated or their password reset: the section shows them again

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: AgentDetails | None = None
        self.active_button = QPushButton()
        self.active_button.clicked.connect(self.toggle_active)
        self.password_button = QPushButton("Reset password…")
        self.password_button.clicked.connect(self.ask_password)
        actions = QHBoxLayout()
        actions.addWidget(self.active_button)
        actions.addWidget(self.password_button)
        actions.addStretch(1)
        self.layout_.addRow(actions)
        self.username = self.field("username", "Username:", line_edit(64))
        self.name = self.field("name", "Name:", line_edit(120))
        self.email = self.field("email", "Email:", line_edit(254))
        self.password = self.field("password", "Password:", QLineEdit(echoMode=QLineEdit.EchoMode.Password))
        self.password.setPlaceholderText("at least 8 characters; they can change it after signing in")
        self.rights: dict[Right, QCheckBox] = {}
        rights = QWidget()
        rights_layout = QVBoxLayout(rights)
        rights_layout.setContentsMargins(0, 0, 0, 0)
        for right in Right:
            box = QCheckBox(_sentence(RIGHT_ACTIONS[right]))
            box.toggled.connect(self.edited)
            self.rights[right] = box
            rights_layout.addWidget(box)
        self.field("rights", "May also:", rights)
        self.access_grid = QGridLayout()
        self.access_grid.setContentsMargins(0, 0, 0, 0)
        self.access_grid.setColumnStretch(2, 1)
        self.access: dict[int, RefChoice] = {}
        access = QWidget()
        access.setLayout(self.access_grid)
        self.field("access", "Departments:", access)
        self.teams = self.field("teams", "Teams:", RefChecklist())
        self.signature = self.field("signature", "Signature:", QPlainTextEdit())
        self.signature.setFixedHeight(80)
        self.timezone = self.field("timezone", "Time zone:", RefChoice())
        self.timezone.addItem(HELP_DESK_ZONE, None)
        for zone in time_zones():
            self.timezone.addItem(zone, zone)
        self.away = QCheckBox("Away from")
        self.away_from, self.away_until = _date_edit(), _date_edit()
        away = QWidget()
        away_layout = QHBoxLayout(away)
        away_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.away, self.away_from, label("to"), self.away_until):
            away_layout.addWidget(widget)
        away_layout.addStretch(1)
        self.field("away", "Vacation:", away)
        self.away.toggled.connect(self._away_toggled)
        for edit in (self.username, self.name, self.email, self.password):
            edit.textChanged.connect(self.edited)
        self.signature.textChanged.connect(self.edited)
        self.teams.ticked.connect(self.edited)
        self.timezone.currentIndexChanged.connect(self.edited)
        for date_edit in (self.away_from, self.away_until):
            date_edit.dateChanged.connect(self.edited)

    def set_choices(self, choices: StaffChoices) -> None:
        self.teams.set_refs(choices.teams)
        chosen = {d: box.value() for d, box in self.access.items()}
        while (item := self.access_grid.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.access = {}
        for row, department in enumerate(choices.departments):
            box = RefChoice(NO_ACCESS)
            box.set_refs(choices.roles)
            box.set_value(chosen.get(department.id))
            box.setAccessibleName(f"Role in {department.name}")
            box.currentIndexChanged.connect(self.edited)
            self.access_grid.addWidget(label(department.name), row, 0)
            self.access_grid.addWidget(box, row, 1)
            self.access[department.id] = box

    def _away_toggled(self, on: bool) -> None:
        self.away_from.setEnabled(on)
        self.away_until.setEnabled(on)
        self.edited.emit()

    async def rows(self, text: str) -> Sequence[Row]:
        agents = await self.ctx.call(staff.list_agents, text)
        return [
            Row(
                a.id,
                f"{a.name}{' (administrator)' if a.is_admin else ''}{'' if a.active else ' (deactivated)'}",
                muted=not a.active,
                tip=f"{a.username} · {a.email}",
            )
            for a in agents
        ]

    async def fetch(self, row_id: int) -> AgentDetails:
        return await self.ctx.call(staff.get_agent, row_id)

    async def store(self, row_id: int | None, form: AgentForm) -> AgentDetails:
        password = self.password.text() if row_id is None else None
        saved = await self.ctx.call(staff.save_agent, row_id, form, password=password)
        self.password.clear()
        return saved

    def show_details(self, details: AgentDetails | None) -> None:
        self.details = details
        form = details.form if details else AgentForm(username="", name="", email="")
        self.heading.setText(form.name or "New agent")
        self.summary.setText(_agent_summary(details))
        for widget in (self.active_button, self.password_button):
            widget.setVisible(details is not None)
        self.active_button.setText("Activate" if details and not details.active else "Deactivate…")
        self.active_button.setEnabled(details is not None and details.id != self.ctx.agent.id)
        self.layout_.setRowVisible(self.password, details is None)
        self.username.setText(form.username)
        self.name.setText(form.name)
        self.email.setText(form.email)
        self.password.clear()
        mine = details is not None and details.id == self.ctx.agent.id
        for right, tick in self.rights.items():
            tick.setChecked(right in form.rights)
            tick.setEnabled(not mine)
            tick.setToolTip("Another administrator changes your rights." if mine else "")
        roles = {a.department_id: a.role_id for a in form.access}
        for department_id, choice in self.access.items():
            choice.set_value(roles.get(department_id))
        self.teams.set_values(form.teams)
        self.signature.setPlainText(form.signature or "")
        self.timezone.set_value(None)
        self.timezone.setCurrentIndex(max(self.timezone.findData(form.timezone), 0))
        self.away.setChecked(form.away_from is not None)
        self._away_toggled(form.away_from is not None)
        if form.away_from and form.away_until:
            self.away_from.setDate(QDate(form.away_from.year, form.away_from.month, form.away_from.day))
            self.away_until.setDate(QDate(form.away_until.year, form.away_until.month, form.away_until.day))

    def form(self) -> AgentForm:
        away = self.away.isChecked()
        return AgentForm(
            username=self.username.text(),
            name=self.name.text(),
            email=self.email.text(),
            rights=tuple(right for right, box in self.rights.items() if box.isChecked()),
            access=tuple(
                Access(department_id=d, role_id=role) for d, box in self.access.items() if (role := box.value())
            ),
            teams=self.teams.values(),
            signature=self.signature.toPlainText() or None,
            timezone=self.timezone.currentData(),
            away_from=_date(self.away_from.date()) if away else None,
            away_until=_date(self.away_until.date()) if away else None,
        )

    @async_slot
    async def toggle_active(self) -> None:
        details = self.details
        if details is None:
            return
        try:
            await self.ctx.call(staff.set_agent_active, details.id, not details.active)
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        if isValid(self):
            self.acted.emit()

    def ask_password(self) -> PasswordDialog | None:
        details = self.details
        if details is None:
            return None

        async def send(_current: str | None, password: str) -> object:
            return await self.ctx.call(staff.reset_password, details.id, password)

        dialog = PasswordDialog(
            "Reset password",
            f"Give {details.form.name} a new password and tell it to them. They are signed out everywhere, and "
            "can change it after signing in (File › Change password).",
            send,
            ask_current=False,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.acted)
        dialog.open()
        return dialog


def _agent_summary(details: AgentDetails | None) -> str:
    if details is None:
        return "A new agent signs in with the username and password given here."
    parts = ["Active" if details.active else "Deactivated: cannot sign in"]
    parts.append(f"last signed in {when(details.last_login_at)}" if details.last_login_at else "never signed in")
    if details.locked_until is not None:
        parts.append("locked after failed sign-ins (a password reset unlocks)")
    return " · ".join(parts)


class TeamEditor(StructureEditor):
    noun = "team"
    services = Named(staff.list_teams, staff.get_team, staff.save_team, staff.delete_team)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(120))
        self.lead = self.field("lead", "Lead:", RefChoice("No lead"))
        self.members = self.field("members", "Members:", RefChecklist())
        self.assign_mode = self.field("assign_mode", "Auto-assignment:", AssignModeChoice())
        self.assign_mode.setToolTip("Its tickets without an agent get one of its members (away ones passed over).")
        self.assign_in_hours = self.field(
            "assign_in_hours", "", QCheckBox("Only members in working hours (the ticket's department's)")
        )
        self.name.textChanged.connect(self.edited)
        self.lead.currentIndexChanged.connect(self.edited)
        self.members.ticked.connect(self.edited)
        self.assign_mode.currentIndexChanged.connect(self._assign_mode_changed)
        self.assign_in_hours.toggled.connect(self.edited)

    def _assign_mode_changed(self) -> None:
        self.assign_in_hours.setEnabled(self.assign_mode.value() != AssignMode.OFF)
        self.edited.emit()

    def set_choices(self, choices: StaffChoices) -> None:
        self.lead.set_refs(choices.agents)
        self.members.set_refs(choices.agents)

    def show_details(self, details: TeamDetails | None) -> None:
        form = details.form if details else TeamForm(name="")
        self.heading.setText(form.name or "New team")
        self.summary.setText(
            f"{details.open_tickets:,} open ticket(s) assigned to the team. The lead is always a member."
            if details
            else "Agents see the tickets assigned to their teams, in any department."
        )
        self.name.setText(form.name)
        self.lead.set_value(form.lead_id)
        self.members.set_values(form.members)
        self.assign_mode.set_value(form.assign_mode)
        self.assign_in_hours.setChecked(form.assign_in_hours)
        self.assign_in_hours.setEnabled(form.assign_mode != AssignMode.OFF)

    def form(self) -> TeamForm:
        lead = self.lead.value()
        return TeamForm(
            name=self.name.text(),
            lead_id=lead,
            members=tuple(sorted({*self.members.values(), *([lead] if lead else [])})),
            assign_mode=self.assign_mode.value(),
            assign_in_hours=self.assign_in_hours.isChecked(),
        )


class RoleEditor(StructureEditor):
    noun = "role"
    services = Named(staff.list_roles, staff.get_role, staff.save_role, staff.delete_role)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(64))
        self.name.textChanged.connect(self.edited)
        self.permissions: dict[Any, QCheckBox] = {}
        for group, perms in PERM_GROUPS:
            boxes = QWidget()
            column = QVBoxLayout(boxes)
            column.setContentsMargins(0, 0, 0, 0)
            for perm in perms:
                box = QCheckBox(_sentence(PERM_ACTIONS[perm]))
                box.toggled.connect(self.edited)
                self.permissions[perm] = box
                column.addWidget(box)
            self.layout_.addRow(f"{group}:", boxes)

    def show_details(self, details: RoleDetails | None) -> None:
        form = details.form if details else RoleForm(name="")
        self.heading.setText(form.name or "New role")
        self.summary.setText(
            f"Given to {details.agents:,} agent(s). What a role allows, it allows in each department an agent has "
            "it in; on tickets assigned to them elsewhere agents may reply and close."
            if details
            else "A role is what an agent may do in a department (Agents › Departments gives it)."
        )
        self.name.setText(form.name)
        for perm, box in self.permissions.items():
            box.setChecked(perm in form.permissions)

    def form(self) -> RoleForm:
        return RoleForm(
            name=self.name.text(),
            permissions=tuple(sorted(p for p, box in self.permissions.items() if box.isChecked())),
        )


class DepartmentEditor(StructureEditor):
    """A department; Move tickets… transfers all of its tickets to another (before deleting it, say).

    Signals:
        acted: its tickets were moved: the section shows it again.
    """

    noun = "department"
    services = Named(staff.list_departments, staff.get_department, staff.save_department, staff.delete_department)
    acted = Signal()

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: DepartmentDetails | None = None
        self.move_to = RefChoice("Move all its tickets to…")
        self.move_to.setAccessibleName("Move all its tickets to")
        self.move_to.activated.connect(self._move_chosen)
        moving = QHBoxLayout()
        moving.addWidget(self.move_to)
        moving.addStretch(1)
        self.layout_.addRow(moving)
        self.name = self.field("name", "Name:", line_edit(120))
        self.public = self.field("public", "", QCheckBox("Public: end users may choose it in the Support Center"))
        self.manager = self.field("manager", "Manager:", RefChoice("No manager"))
        self.sla = self.field("sla", "SLA plan:", RefChoice("The help desk's default plan"))
        self.schedule = self.field("schedule", "Business hours:", RefChoice("None"))
        self.schedule.setToolTip("They time the tickets of SLA plans without business hours of their own.")
        self.mailbox = self.field("mailbox_id", "Sends mail from:", RefChoice("A mailbox that brings mail to it"))
        self.mailbox.setToolTip("Else the default mailbox. Replies and notifications about its tickets come from it.")
        self.time_required = self.field(
            "time_required", "", QCheckBox("Time spent must be entered with each reply and note")
        )
        self.time_required.setToolTip("Mail an agent answers is taken without it.")
        self.tasks_required = self.field(
            "tasks_required", "", QCheckBox("Tickets are resolved or closed only when their tasks are done")
        )
        self.tasks_required.setToolTip("Until then, Resolve, Close and closing statuses are refused, saying why.")
        self.signature = self.field("signature", "Signature:", QPlainTextEdit())
        self.signature.setFixedHeight(80)
        self.signature.setToolTip("Agents may sign a reply with it instead of their own.")
        self.layout_.addRow(label("Auto-assignment", "section"))
        self.assign_mode = self.field("assign_mode", "New tickets:", AssignModeChoice())
        self.assign_mode.setToolTip(
            "A ticket that arrives without an agent (new, or transferred here) gets an active agent whose role here "
            "lets them reply, who is not away. A team with auto-assignment of its own goes first."
        )
        self.assign_in_hours = self.field(
            "assign_in_hours", "", QCheckBox("Only agents in working hours (its business hours, in their time zone)")
        )
        self.reassign_away = self.field(
            "reassign_away", "", QCheckBox("Give an agent's open tickets to another on the days they are away")
        )
        self.layout_.addRow(label("Escalation", "section"))
        self.escalate = self.field("escalate_minutes", "Alert:", QSpinBox())
        self.escalate.setRange(-1, staff.MAX_ESCALATE_MINUTES)
        self.escalate.setSpecialValueText("Never")
        self.escalate.setSuffix(" minutes before a due time, and at it")
        self.escalate.setToolTip("The assignee, the team lead and the manager (else the department's agents) are told.")
        self.escalate_priority = self.field("escalate_priority_id", "At due, priority:", RefChoice("Keep it"))
        self.escalate_to = self.field("escalate_to_id", "At due, move to:", RefChoice("Keep it in this department"))
        self.escalate_priority.setToolTip("Raised to this at the due time (never lowered).")
        self.escalate_priority.setAccessibleName("At the due time raise the priority to")
        self.escalate_to.setAccessibleName("At the due time transfer to")
        self.name.textChanged.connect(self.edited)
        self.public.toggled.connect(self.edited)
        self.time_required.toggled.connect(self.edited)
        self.tasks_required.toggled.connect(self.edited)
        self.signature.textChanged.connect(self.edited)
        for box in (self.manager, self.sla, self.schedule, self.mailbox, self.escalate_priority, self.escalate_to):
            box.currentIndexChanged.connect(self.edited)
        for check in (self.assign_in_hours, self.reassign_away):
            check.toggled.connect(self.edited)
        self.assign_mode.currentIndexChanged.connect(self._assignment_changed)
        self.escalate.valueChanged.connect(self._assignment_changed)

    def _assignment_changed(self) -> None:
        """What only means something with auto-assignment or escalation on is offered only then."""
        assigning = self.assign_mode.value() != AssignMode.OFF
        for check in (self.assign_in_hours, self.reassign_away):
            check.setEnabled(assigning)
        for box in (self.escalate_priority, self.escalate_to):
            box.setEnabled(self.escalate.value() >= 0)
        self.edited.emit()

    def set_choices(self, choices: StaffChoices) -> None:
        self.manager.set_refs(choices.agents)
        self.sla.set_refs(choices.slas)
        self.schedule.set_refs(choices.schedules)
        self.mailbox.set_refs(choices.mailboxes)
        self.move_to.set_refs(choices.departments)
        self.escalate_priority.set_refs(choices.priorities)
        self.escalate_to.set_refs(choices.departments)

    def _move_chosen(self, index: int) -> None:
        target = self.move_to.itemData(index)
        self.move_to.setCurrentIndex(0)
        details = self.details
        if target is None or details is None or int(target) == details.id:
            return
        box = message_box(
            QMessageBox.Icon.Question,
            "Move tickets",
            f"Transfer all {details.tickets:,} tickets of {details.form.name} to {self.move_to.itemText(index)}? "
            "Each gets a transfer in its thread, as when an agent transfers it.",
            self,
            QMessageBox.StandardButton.Cancel,
        )
        move = box.addButton("Move them", QMessageBox.ButtonRole.AcceptRole)
        move.clicked.connect(lambda: self.move_tickets(details.id, int(target)))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @async_slot
    async def move_tickets(self, from_id: int, to_id: int) -> None:
        self.move_to.setEnabled(False)
        try:
            await self.ctx.call(staff.move_department_tickets, from_id, to_id)
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        finally:
            if isValid(self):
                self.move_to.setEnabled(True)
        if isValid(self):
            self.acted.emit()

    def show_details(self, details: DepartmentDetails | None) -> None:
        self.details = details
        self.move_to.setVisible(details is not None and details.tickets > 0)
        form = details.form if details else DepartmentForm(name="")
        self.heading.setText(form.name or "New department")
        self.summary.setText(
            f"{details.tickets:,} ticket(s), {details.open_tickets:,} of them open."
            if details
            else "Agents get a role in a department under Agents; its tickets follow its SLA plan."
        )
        self.name.setText(form.name)
        self.public.setChecked(form.public)
        self.manager.set_value(form.manager_id)
        self.sla.set_value(form.sla_id)
        self.schedule.set_value(form.schedule_id)
        self.mailbox.set_value(form.mailbox_id)
        self.time_required.setChecked(form.time_required)
        self.tasks_required.setChecked(form.tasks_required)
        self.signature.setPlainText(form.signature or "")
        self.assign_mode.set_value(form.assign_mode)
        self.assign_in_hours.setChecked(form.assign_in_hours)
        self.reassign_away.setChecked(form.reassign_away)
        self.escalate.setValue(-1 if form.escalate_minutes is None else form.escalate_minutes)
        self.escalate_priority.set_value(form.escalate_priority_id)
        self.escalate_to.set_value(form.escalate_to_id)
        self._assignment_changed()

    def form(self) -> DepartmentForm:
        return DepartmentForm(
            name=self.name.text(),
            public=self.public.isChecked(),
            manager_id=self.manager.value(),
            sla_id=self.sla.value(),
            schedule_id=self.schedule.value(),
            signature=self.signature.toPlainText() or None,
            mailbox_id=self.mailbox.value(),
            time_required=self.time_required.isChecked(),
            tasks_required=self.tasks_required.isChecked(),
            assign_mode=self.assign_mode.value(),
            assign_in_hours=self.assign_in_hours.isChecked(),
            reassign_away=self.reassign_away.isChecked(),
            escalate_minutes=None if self.escalate.value() < 0 else self.escalate.value(),
            escalate_priority_id=self.escalate_priority.value(),
            escalate_to_id=self.escalate_to.value(),
        )
