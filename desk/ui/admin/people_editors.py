"""The Administration window's end users, organizations and canned responses (desk.services.people, .canned).

End users and organizations are for agents who manage end users as well as administrators; the directory lists a
page of end users at a time (a million of them: the search narrows it)."""

from __future__ import annotations

from collections.abc import Sequence

from shiboken6 import isValid

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desk.domain.canned import CANNED_VARIABLES
from desk.domain.errors import DeskError
from desk.domain.people import OrganizationDetails, OrganizationForm, UserDetails, UserForm, UserRow
from desk.domain.staff import DepartmentMembers, MemberForm, StaffChoices
from desk.domain.ticket_setup import CannedDetails, CannedForm
from desk.services import canned, people, reference, staff
from desk.ui.admin.editors import Named, StaffEditor, StructureEditor, line_edit
from desk.ui.admin.fields import LIST_ROWS, RefChoice
from desk.ui.admin.section import Row
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, ticket_item

# What desk.services.canned fills in. A word joiner after each "%" keeps "%{user.email}" whole where the label wraps
# (Qt broke the line between "%" and "{"); a label's text is not selectable, so it is never copied into a response.
VARIABLES = ", ".join(f"%\u2060{{{name}}}" for name in CANNED_VARIABLES)


def _user_row(user: UserRow) -> Row:
    organization = f" · {user.organization}" if user.organization else ""
    return Row(user.id, f"{user.name} <{user.email}>{' (banned)' if user.banned else ''}", muted=user.banned,
               tip=f"{user.email}{organization}")  # fmt: skip


TICKETS_SHOWN = 20


class UserEditor(StaffEditor):
    """An end user: name, address, phone, organization; banning, and merging another account into this one.

    Signals:
        acted: banned, unbanned or merged: the section shows the list and the user again.
        ticket_requested: one of their tickets (activated in the list), by id.
    """

    noun = "end user"
    deletable = False  # their tickets keep them: merge or ban instead
    acted = Signal()
    ticket_requested = Signal(int)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: UserDetails | None = None
        self.ban_button = QPushButton()
        self.ban_button.clicked.connect(self.toggle_ban)
        self.merge_button = QPushButton("Merge another account into this…")
        self.merge_button.clicked.connect(self.ask_merge)
        actions = QHBoxLayout()
        actions.addWidget(self.ban_button)
        actions.addWidget(self.merge_button)
        actions.addStretch(1)
        self.layout_.addRow(actions)
        self.name = self.field("name", "Name:", line_edit(120))
        self.email = self.field("email", "Email:", line_edit(254))
        self.phone = self.field("phone", "Phone:", line_edit(40))
        self.organization = self.field("organization_id", "Organization:", RefChoice("None"))
        self.tickets = self.field("tickets", "Latest tickets:", QListWidget())
        self.tickets.setAccessibleName("Their latest tickets")
        self.tickets.setToolTip("Those you may see, most recently updated first; open one with Enter or a double-click")
        self.tickets.setFixedHeight(LIST_ROWS * 24)
        self.tickets.itemActivated.connect(self._ticket_activated)
        for edit in (self.name, self.email, self.phone):
            edit.textChanged.connect(self.edited)
        self.organization.currentIndexChanged.connect(self.edited)
        self.more = False  # the last list was cut at a page

    async def prepare(self) -> None:
        self.organization.set_refs(await self.ctx.call(people.list_organizations))

    async def rows(self, text: str) -> Sequence[Row]:
        page = await self.ctx.call(people.list_users, text)
        self.more = page.more
        return [_user_row(user) for user in page.rows]

    async def fetch(self, row_id: int) -> UserDetails:
        return await self.ctx.call(people.get_end_user, row_id)

    async def store(self, row_id: int | None, form: UserForm) -> UserDetails:
        return await self.ctx.call(people.save_user, row_id, form)

    def show_details(self, details: UserDetails | None) -> None:
        self.details = details
        form = details.form if details else UserForm(name="", email="")
        self.heading.setText(form.name or "New end user")
        self.summary.setText(_user_summary(details))
        for button in (self.ban_button, self.merge_button):
            button.setVisible(details is not None)
        self.ban_button.setText("Lift the ban" if details and details.banned else "Ban…")
        self.name.setText(form.name)
        self.email.setText(form.email)
        self.phone.setText(form.phone or "")
        self.organization.set_value(form.organization_id)
        self.tickets.clear()
        self.layout_.setRowVisible(self.tickets, details is not None)
        if details is not None:
            self.list_tickets(details.id)

    @async_slot
    async def list_tickets(self, user_id: int) -> None:
        try:
            rows = await self.ctx.call(reference.requester_tickets, user_id, limit=TICKETS_SHOWN)
        except DeskError as error:
            rows, problem = [], str(error)
        else:
            problem = "No tickets you may see" if not rows else ""
        if not isValid(self) or self.details is None or self.details.id != user_id:  # another user chosen meanwhile
            return
        self.tickets.clear()
        for row in rows:
            tip = f"{row.subject}\n{row.department} · updated {when(row.updated_at)}"
            self.tickets.addItem(ticket_item(row.id, row.number, row.status, row.subject, tip))
        if problem:
            self.tickets.addItem(QListWidgetItem(problem))

    def _ticket_activated(self, item: QListWidgetItem) -> None:
        if ticket_id := item.data(Qt.ItemDataRole.UserRole):
            self.ticket_requested.emit(int(ticket_id))

    def form(self) -> UserForm:
        phone = self.phone.text().strip()
        return UserForm(self.name.text(), self.email.text(), phone or None, self.organization.value())

    @async_slot
    async def toggle_ban(self) -> None:
        details = self.details
        if details is None:
            return
        try:
            await self.ctx.call(people.set_banned, details.id, not details.banned)
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        if isValid(self):
            self.acted.emit()

    def ask_merge(self) -> MergeDialog | None:
        if self.details is None:
            return None
        dialog = MergeDialog(self.ctx, self.details, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.merged.connect(self.acted)
        dialog.open()
        return dialog


def _user_summary(details: UserDetails | None) -> str:
    if details is None:
        return "An end user opens tickets by mail and in the Support Center; agents open them on their behalf."
    parts = [f"{details.tickets:,} ticket(s), {details.open_tickets:,} open"]
    parts.append("registered in the Support Center" if details.registered else "not registered")
    if details.banned:
        parts.append("banned: their mail and requests open no tickets")
    parts.append(f"known since {when(details.created_at)}")
    return " · ".join(parts)


class MergeDialog(QDialog):
    """Find the other account of the same person and merge it into this one (which stays).

    Signals:
        merged: the merge went through.
    """

    merged = Signal()

    def __init__(self, ctx: Context, keep: UserDetails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._keep = ctx, keep
        self.setWindowTitle("Merge end users")
        self.setMinimumWidth(520)
        self.search = QLineEdit(placeholderText="Name or address of the other account")
        self.search.textChanged.connect(self.look_up)
        self.results = QListWidget()
        self.results.currentItemChanged.connect(self._chosen)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.outcome = label("", "muted", wrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.merge_button = buttons.addButton("Merge", QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setEnabled(False)
        buttons.accepted.connect(self.merge)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"Keep {keep.form.name} <{keep.form.email}>, and move into it:", wrap=True))
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.outcome)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    @async_slot
    async def look_up(self, text: str) -> None:
        if len(text.strip()) < 2:
            self.results.clear()
            return
        try:
            page = await self._ctx.call(people.list_users, text, limit=20)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if not isValid(self) or text != self.search.text():
            return  # another search was typed meanwhile
        self.results.clear()
        for user in page.rows:
            if user.id != self._keep.id:
                item = QListWidgetItem(_user_row(user).text)
                item.setData(Qt.ItemDataRole.UserRole, user.id)
                self.results.addItem(item)

    def _chosen(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self.merge_button.setEnabled(item is not None)
        self.outcome.setText(
            f"{item.text()}: their tickets, messages and collaborations become {self._keep.form.name}'s, and that "
            "account is deleted. This cannot be undone."
            if item is not None
            else ""
        )

    @async_slot
    async def merge(self) -> None:
        items = self.results.selectedItems()
        if not items:
            return
        item = items[0]
        try:
            await self._ctx.call(people.merge_users, self._keep.id, int(item.data(Qt.ItemDataRole.UserRole)))
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if isValid(self):
            self.merged.emit()
            self.accept()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class OrganizationEditor(StructureEditor):
    noun = "organization"
    services = Named(
        people.list_organizations, people.get_organization, people.save_organization, people.delete_organization
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(120))
        self.domains = self.field("domains", "Mail domains:", line_edit(500))
        self.domains.setPlaceholderText("e.g. acme.example acme.co.uk")
        self.shares = self.field(
            "shares_tickets", "", QCheckBox("Members see each other's tickets in the Support Center")
        )
        self.name.textChanged.connect(self.edited)
        self.domains.textChanged.connect(self.edited)
        self.shares.toggled.connect(self.edited)

    def show_details(self, details: OrganizationDetails | None) -> None:
        form = details.form if details else OrganizationForm(name="")
        self.heading.setText(form.name or "New organization")
        self.summary.setText(
            f"{details.members:,} member(s). New end users with an address in its domains join it."
            if details
            else "End users join an organization by their mail domain, or when an agent sets it."
        )
        self.name.setText(form.name)
        self.domains.setText(" ".join(form.domains))
        self.shares.setChecked(form.shares_tickets)

    def form(self) -> OrganizationForm:
        return OrganizationForm(
            self.name.text(), tuple(self.domains.text().replace(",", " ").split()), self.shares.isChecked()
        )


class CannedEditor(StructureEditor):
    noun = "canned response"
    services = Named(canned.list_canned, canned.get_canned, canned.save_canned, canned.delete_canned)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.title = self.field("title", "Title:", line_edit(120))
        # Shared responses are the administrators'; a manager writes their own department's.
        self.department = self.field(
            "department_id", "For:", RefChoice("Every department" if ctx.agent.is_admin else "")
        )
        self.body = self.field("body", "Text:", QPlainTextEdit())
        self.body.setMinimumHeight(220)
        variables = label(f"Variables: {VARIABLES}", "muted", wrap=True)
        variables.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.layout_.addRow("", variables)
        self.active = self.field("active", "", QCheckBox("Active: offered in the composer"))
        self.title.textChanged.connect(self.edited)
        self.department.currentIndexChanged.connect(self.edited)
        self.body.textChanged.connect(self.edited)
        self.active.toggled.connect(self.edited)

    def set_choices(self, choices: StaffChoices) -> None:
        self.department.set_refs(choices.departments)

    async def prepare(self) -> None:
        if not self.ctx.agent.is_admin:  # the window's choices are the administrators'
            self.department.set_refs(await self.ctx.call(staff.managed_departments))

    def show_details(self, details: CannedDetails | None) -> None:
        form = details.form if details else CannedForm(title="", body="")
        self.heading.setText(form.title or "New canned response")
        self.summary.setText(f"Changed {when(details.updated_at)}." if details else "Agents insert it in a reply.")
        self.title.setText(form.title)
        self.department.set_value(form.department_id)
        self.body.setPlainText(form.body)
        self.active.setChecked(form.active)

    def form(self) -> CannedForm:
        return CannedForm(self.title.text(), self.body.toPlainText(), self.department.value(), self.active.isChecked())


class MembersEditor(StaffEditor):
    """A department's members: every active agent with a role there or none. For administrators, and for a
    department's manager (who cannot change their own)."""

    noun = "department"
    deletable = False
    creatable = False  # departments are made under Departments

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: DepartmentMembers | None = None
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(2, 1)
        members = QWidget()
        members.setLayout(self.grid)
        self.field("members", "Agents:", members)
        self.roles: dict[int, RefChoice] = {}

    async def rows(self, text: str) -> Sequence[Row]:
        needle = text.strip().casefold()
        departments = await self.ctx.call(staff.managed_departments)
        return [Row(d.id, d.name) for d in departments if needle in d.name.casefold()]

    async def fetch(self, row_id: int) -> DepartmentMembers:
        return await self.ctx.call(staff.department_members, row_id)

    async def store(self, row_id: int | None, members: tuple[MemberForm, ...]) -> DepartmentMembers:
        assert row_id is not None  # a department is chosen: there is no new one here
        return await self.ctx.call(staff.set_members, row_id, members)

    def show_details(self, details: DepartmentMembers | None) -> None:
        self.details = details
        while (item := self.grid.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.roles = {}
        if details is None:
            return
        self.heading.setText(details.department.name)
        self.summary.setText(f"{len(details.members):,} member(s). A role says what they may do with its tickets.")
        current = {m.agent.id: m.role.id for m in details.members}
        for row, agent in enumerate(details.agents):
            choice = RefChoice("Not a member")
            choice.set_refs(details.roles)
            choice.set_value(current.get(agent.id))
            choice.setAccessibleName(f"Role of {agent.name}")
            mine = agent.id == self.ctx.agent.id and not self.ctx.agent.is_admin
            choice.setEnabled(not mine)
            choice.setToolTip("An administrator changes your own access." if mine else "")
            choice.currentIndexChanged.connect(self.edited)
            self.grid.addWidget(label(agent.name), row, 0)
            self.grid.addWidget(choice, row, 1)
            self.roles[agent.id] = choice

    def form(self) -> tuple[MemberForm, ...]:
        return tuple(
            MemberForm(agent, role) for agent, choice in sorted(self.roles.items()) if (role := choice.value())
        )


class OwnCannedEditor(CannedEditor):
    """The agent's own canned responses (File › My canned responses…): for them alone, in every department."""

    services = Named(canned.list_own_canned, canned.get_canned, canned.save_canned, canned.delete_canned)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.layout_.setRowVisible(self.department, False)

    async def prepare(self) -> None:
        """Nothing to load: an agent's own responses are for every department."""

    def show_details(self, details: CannedDetails | None) -> None:
        super().show_details(details)
        if details is None:
            self.summary.setText("Only you see it: the composer offers it in your replies on every ticket.")

    def form(self) -> CannedForm:
        return CannedForm(self.title.text(), self.body.toPlainText(), None, self.active.isChecked(), personal=True)
