"""The macro editor: a macro's name, whom it is for, and what it does (each field left at "No change" leaves that
part of the ticket be); the Administration window's Macros section, and File › My macros… for an agent's own."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QPlainTextEdit, QSizePolicy

from desk.domain.enums import EntryKind
from desk.domain.macros import MacroActions, MacroDetails, MacroForm
from desk.domain.staff import StaffChoices
from desk.domain.views import Ref
from desk.services import macros, staff
from desk.ui.admin.editors import Named, StructureEditor, line_edit
from desk.ui.admin.fields import RefChoice
from desk.ui.admin.people_editors import VARIABLES
from desk.ui.labels import when
from desk.ui.tasks import Context
from desk.ui.widgets import label

NO_CHANGE = "No change"
ME = -1  # the assignee choice "the agent applying it" (never an agent's id)
# A combo's choices by their position: what each means, and its text.
FOLLOW: tuple[tuple[bool | None, str], ...] = (
    (None, NO_CHANGE),
    (True, "Follow the ticket"),
    (False, "Stop following it"),
)
POSTS: tuple[tuple[EntryKind | None, str], ...] = (
    (None, "Nothing"),
    (EntryKind.REPLY, "A reply to the requester"),
    (EntryKind.NOTE, "An internal note"),
)


def _choice(items: tuple[tuple[object, str], ...]) -> QComboBox:
    combo = QComboBox()
    combo.addItems([text for _, text in items])
    return combo


class MacroEditor(StructureEditor):
    """A shared macro: administrators keep those for every department, a department's manager their department's."""

    noun = "macro"
    services = Named(macros.list_macros, macros.get_macro, macros.save_macro, macros.delete_macro)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        choices = ctx.choices
        self.name = self.field("name", "Name:", line_edit(120))
        self.name.setPlaceholderText("e.g. Close as duplicate")
        self.department = self.field(
            "department_id", "For:", RefChoice("Every department" if ctx.agent.is_admin else "")
        )
        self.department.set_refs(choices.departments)
        self.layout_.addRow("", label("What it does, in this order:", "section"))
        self.topic = self._ref("topic_id", "Help topic:", choices.topics)
        self.priority = self._ref("priority_id", "Priority:", [Ref(p.id, p.name) for p in choices.priorities])
        self.sla = self._ref("sla_id", "SLA plan:", choices.slas)
        self.team = self._ref("team_id", "Team:", choices.teams)
        self.assignee = self._ref("assignee_id", "Assignee:", [Ref(ME, "Me (whoever applies it)"), *choices.agents])
        self.follow = self.field("follow", "Following:", _choice(FOLLOW))
        self.post = self.field("post", "Post:", _choice(POSTS))
        self.text = self.field("text", "Text:", QPlainTextEdit())
        self.text.setMinimumHeight(120)
        self.text.setPlaceholderText("The reply or note it posts")
        variables = label(f"Variables: {VARIABLES}", "muted", wrap=True)
        variables.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.layout_.addRow("", variables)
        self.status = self._ref("status_id", "Status:", [Ref(s.id, s.name) for s in choices.statuses])
        self.status.setToolTip("Set with the reply or note when there is one")
        self.transfer = self._ref("transfer_to", "Transfer to:", choices.departments)
        self.transfer.setToolTip("Last: the ticket may leave the reach of the agent applying it")
        self.active = self.field("active", "", QCheckBox("Active: offered on tickets"))
        self.name.textChanged.connect(self.edited)
        self.text.textChanged.connect(self.edited)
        self.active.toggled.connect(self.edited)
        for combo in (self.department, self.follow, self.post):
            combo.currentIndexChanged.connect(self.edited)

    def _ref(self, name: str, title: str, refs: list[Ref] | tuple[Ref, ...]) -> RefChoice:
        combo = self.field(name, title, RefChoice(NO_CHANGE))
        combo.set_refs(refs)
        combo.currentIndexChanged.connect(self.edited)
        return combo

    def set_choices(self, choices: StaffChoices) -> None:
        self.department.set_refs(choices.departments)

    async def prepare(self) -> None:
        if not self.ctx.agent.is_admin:  # the window's choices are the administrators'
            self.department.set_refs(await self.ctx.call(staff.managed_departments))

    def show_details(self, details: MacroDetails | None) -> None:
        form = details.form if details else MacroForm(name="", actions=MacroActions())
        actions = form.actions
        self.heading.setText(form.name or "New macro")
        self.summary.setText(
            f"Changed {when(details.updated_at)}." if details else "Agents apply it on a ticket in one click."
        )
        self.name.setText(form.name)
        self.department.set_value(form.department_id)
        for combo, value in (
            (self.topic, actions.topic_id),
            (self.priority, actions.priority_id),
            (self.sla, actions.sla_id),
            (self.team, actions.team_id),
            (self.assignee, ME if actions.assign_to_me else actions.assignee_id),
            (self.status, actions.status_id),
            (self.transfer, actions.department_id),
        ):
            combo.set_value(value)
        self.follow.setCurrentIndex([value for value, _ in FOLLOW].index(actions.follow))
        self.post.setCurrentIndex([value for value, _ in POSTS].index(actions.post))
        self.text.setPlainText(actions.text)
        self.active.setChecked(form.active)

    def form(self) -> MacroForm:
        assignee = self.assignee.value()
        actions = MacroActions(
            topic_id=self.topic.value(),
            priority_id=self.priority.value(),
            sla_id=self.sla.value(),
            team_id=self.team.value(),
            assign_to_me=assignee == ME,
            assignee_id=None if assignee == ME else assignee,
            follow=FOLLOW[self.follow.currentIndex()][0],
            post=POSTS[self.post.currentIndex()][0],
            text=self.text.toPlainText(),
            status_id=self.status.value(),
            department_id=self.transfer.value(),
        )
        return MacroForm(self.name.text(), actions, self.department.value(), self.active.isChecked())


class OwnMacroEditor(MacroEditor):
    """The agent's own macros (File › My macros…): for them alone, on every ticket."""

    services = Named(macros.list_own_macros, macros.get_macro, macros.save_macro, macros.delete_macro)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.layout_.setRowVisible(self.department, False)

    async def prepare(self) -> None:
        """Nothing to load: an agent's own macros are for every department."""

    def show_details(self, details: MacroDetails | None) -> None:
        super().show_details(details)
        if details is None:
            self.summary.setText("Only you see it: you apply it on any ticket you may change as it does.")

    def form(self) -> MacroForm:
        shared = super().form()
        return MacroForm(shared.name, shared.actions, None, shared.active, personal=True)
