"""The Administration window (administrators only): a sidebar of sections, each a list and an editor.

Opened from the agent window's File menu; it stays open beside it (non-modal). Everything goes through the same
services as the rest of Desk, in this process or on the Desk server, so the server's checks apply unchanged.
"""

from __future__ import annotations

import functools

from shiboken6 import isValid

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError
from desk.domain.permissions import Right
from desk.services import staff
from desk.ui import icons
from desk.ui.admin.audit_log import AuditLog
from desk.ui.admin.editors import AgentEditor, DepartmentEditor, RoleEditor, StaffEditor, TeamEditor
from desk.ui.admin.macro_editor import MacroEditor
from desk.ui.admin.mail_editors import MailboxEditor
from desk.ui.admin.mail_templates import NotificationEditor, TemplateEditor
from desk.ui.admin.people_editors import CannedEditor, MembersEditor, OrganizationEditor, UserEditor
from desk.ui.admin.quarantine import Quarantine
from desk.ui.admin.rule_editors import RuleEditor
from desk.ui.admin.section import Section
from desk.ui.admin.ticket_editors import (
    PriorityEditor,
    ScheduleEditor,
    SettingsEditor,
    SlaEditor,
    StatusEditor,
    TopicEditor,
)
from desk.ui.tasks import Context, async_slot

GEOMETRY_KEY = "admin/geometry"
EDITORS: dict[str, type[StaffEditor]] = {
    "Agents": AgentEditor,
    "Teams": TeamEditor,
    "Roles": RoleEditor,
    "Department members": MembersEditor,
    "End users": UserEditor,
    "Organizations": OrganizationEditor,
    "Departments": DepartmentEditor,
    "Help topics": TopicEditor,
    "SLA plans": SlaEditor,
    "Business hours": ScheduleEditor,
    "Statuses": StatusEditor,
    "Priorities": PriorityEditor,
    "Canned responses": CannedEditor,
    "Macros": MacroEditor,
    "Rules": RuleEditor,
    "Mailboxes": MailboxEditor,
    "Mail templates": TemplateEditor,
    "Notifications": NotificationEditor,
    "Settings": SettingsEditor,
}
USER_MANAGER = ("End users", "Organizations")
MANAGER = ("Department members", "Canned responses", "Macros")
GROUPS = (
    ("People", ("Agents", "Teams", "Roles", "Department members", "End users", "Organizations")),
    ("Tickets", ("Departments", "Help topics", "SLA plans", "Business hours", "Statuses", "Priorities",
                 "Canned responses", "Macros", "Rules", "Settings")),
    ("Mail", ("Mailboxes", "Mail templates", "Notifications", "Mail quarantine")),
    ("Records", ("Audit log",)),
)  # fmt: skip
SECTION_ICONS = {
    "Agents": "user",
    "Teams": "team",
    "Roles": "key",
    "Department members": "assign-me",
    "Departments": "inbox",
    "Help topics": "saved",
    "SLA plans": "overdue",
    "Business hours": "pause",
    "Statuses": "answered",
    "Priorities": "unanswered",
    "End users": "user",
    "Organizations": "team",
    "Canned responses": "message",
    "Macros": "saved",
    "Rules": "rule",
    "Mailboxes": "inbox",
    "Mail templates": "reply",
    "Notifications": "live",
    "Mail quarantine": "lock",
    "Settings": "settings",
    "Audit log": "event",
}


class AdministrationWindow(QDialog):
    """People (agents, teams, roles), tickets (departments, help topics, SLA plans, business hours, statuses,
    priorities, settings) and the audit log.

    Attributes:
        sections: the editing sections by name ("Agents", …); audit: the audit log.
        sidebar: a row per section under its group's heading (Ctrl+1… chooses the first nine).

    Signals:
        ready: the choices the editors offer arrived, and the first section is listed.
        ticket_requested: a ticket to open in the agent window, by id (an end user's, say).
    """

    ready = Signal()
    ticket_requested = Signal(int)

    def __init__(self, ctx: Context, parent: QWidget | None = None, *, manages: bool = False) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setWindowTitle("Administration")
        self.setWindowIcon(icons.icon("settings"))
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint)
        self.resize(1040, 680)
        # Administrators get every section; agents who manage end users the directory and organizations, and
        # department managers (`manages`) their departments' members and canned responses.
        allowed = {*(USER_MANAGER if Right.USER_MANAGE in ctx.agent.rights else ()), *(MANAGER if manages else ())}
        editors: dict[str, StaffEditor] = {
            name: kind(ctx) for name, kind in EDITORS.items() if ctx.agent.is_admin or name in allowed
        }
        self.sections = {name: Section(editor) for name, editor in editors.items()}
        self.audit = AuditLog(ctx)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sectionList")
        self.sidebar.setAccessibleName("Sections")
        self.sidebar.setSpacing(2)
        self.sidebar.setIconSize(QSize(18, 18))
        self.pages = QStackedWidget()
        self.quarantine = Quarantine(ctx)
        records = {"Audit log": self.audit, "Mail quarantine": self.quarantine} if ctx.agent.is_admin else {}
        pages: dict[str, QWidget] = {**self.sections, **records}
        number = 0
        for group, every in GROUPS:
            names = [name for name in every if name in pages]
            if not names:
                continue
            header = QListWidgetItem(group.upper())
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.sidebar.addItem(header)
            for name in names:
                number += 1
                item = QListWidgetItem(icons.icon(SECTION_ICONS[name]), name)
                item.setData(Qt.ItemDataRole.UserRole, self.pages.addWidget(pages[name]))
                self.sidebar.addItem(item)
                if number <= 9:
                    item.setToolTip(f"Ctrl+{number}")
                    shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
                    shortcut.activated.connect(lambda chosen=name: self.choose(chosen))
        self._listed: set[int] = set()
        self._choices_loaded = False
        self.sidebar.currentItemChanged.connect(self._chosen)
        self.choose(next(iter(self.sections)))
        for editor in editors.values():
            editor.structure_changed.connect(self.refresh_choices)
        for name, editor in editors.items():
            if isinstance(editor, AgentEditor | UserEditor | DepartmentEditor | RuleEditor):
                editor.acted.connect(functools.partial(self._acted, self.sections[name]))
            if isinstance(editor, UserEditor):
                editor.ticket_requested.connect(self.ticket_requested)
        sidebar_box = QWidget()
        sidebar_box.setObjectName("sidebar")
        sidebar_box.setFixedWidth(180)
        sidebar_layout = QVBoxLayout(sidebar_box)
        sidebar_layout.setContentsMargins(6, 10, 6, 10)
        sidebar_layout.addWidget(self.sidebar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 12, 12)
        layout.setSpacing(12)
        layout.addWidget(sidebar_box)
        pages_layout = QVBoxLayout()
        pages_layout.setContentsMargins(0, 12, 0, 0)
        pages_layout.addWidget(self.pages)
        layout.addLayout(pages_layout, 1)
        geometry = QSettings().value(GEOMETRY_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)

    def choose(self, name: str) -> None:
        """Show the section called `name` ("Agents", …, "Audit log")."""
        item = next(self.sidebar.item(r) for r in range(self.sidebar.count()) if self.sidebar.item(r).text() == name)
        self.sidebar.setCurrentItem(item)

    def _chosen(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole) is not None:
            page = int(item.data(Qt.ItemDataRole.UserRole))
            self.pages.setCurrentIndex(page)
            self._list_section(page)

    @async_slot
    async def start(self) -> None:
        await self.load_choices()
        if isValid(self):
            self._choices_loaded = True
            await self.list_section(self.pages.currentIndex())
            self.ready.emit()

    async def load_choices(self) -> None:
        if not self._ctx.agent.is_admin:
            return  # the directory and organizations load their own choices
        try:
            choices = await self._ctx.call(staff.staff_choices)
        except DeskError as error:
            if isValid(self):
                next(iter(self.sections.values())).say(str(error))
            return
        if isValid(self):
            for section in self.sections.values():
                editor = section.editor
                assert isinstance(editor, StaffEditor)
                editor.set_choices(choices)

    @async_slot
    async def refresh_choices(self) -> None:
        await self.load_choices()

    @async_slot
    async def _acted(self, section: Section) -> None:
        """An agent, end user or department was acted on (deactivated, banned, merged, its tickets moved…): list
        and show it again."""
        await section.load_list()
        if section.current_id is not None:
            await section.open(section.current_id)

    @async_slot
    async def _list_section(self, index: int) -> None:
        await self.list_section(index)

    async def list_section(self, index: int) -> None:
        """List a page's rows the first time it is chosen (once the editors know their choices)."""
        if index in self._listed or index < 0 or not self._choices_loaded:
            return
        self._listed.add(index)
        page = self.pages.widget(index)
        if isinstance(page, Section | AuditLog | Quarantine):
            await page.load_list()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Override QDialog.closeEvent: ask before unsaved changes go (the section with them comes forward)."""
        dirty = next((s for s in self.sections.values() if s.is_dirty()), None)
        if dirty is None:
            QSettings().setValue(GEOMETRY_KEY, self.saveGeometry())
            super().closeEvent(event)
            return
        event.ignore()
        self.choose(next(name for name, section in self.sections.items() if section is dirty))
        self._close_if_discarded(dirty)

    @async_slot
    async def _close_if_discarded(self, section: Section) -> None:
        if await section.confirm_discard() and isValid(self):
            section.loaded_form = None
            self.close()

    def reject(self) -> None:
        """Override QDialog.reject: Escape closes as the close button does (asking about unsaved changes)."""
        self.close()
