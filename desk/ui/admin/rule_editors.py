"""The Administration window's rules: the list in the order they run (a failing one marked, a disabled one muted),
the editor of one rule (when it runs, its conditions, its actions, its place in the order) and the test dialog,
which shows what the rules would do with a pasted message or an existing ticket without changing anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError, Invalid
from desk.domain.rules import (
    CHOICE_OPS,
    MAX_VALUE,
    TARGETED,
    TEXT_FIELDS,
    Action,
    ActionKind,
    Channel,
    Condition,
    Field,
    Op,
    RuleDetails,
    RuleForm,
    RuleOutcome,
    RuleSample,
    Trigger,
)
from desk.domain.staff import StaffChoices
from desk.domain.views import Ref
from desk.services import canned, rules
from desk.ui import icons, theme
from desk.ui.admin.editors import StaffEditor, line_edit
from desk.ui.admin.section import Row
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip

FIELDS = {
    Field.SENDER: "Sender's address",
    Field.SENDER_DOMAIN: "Sender's domain",
    Field.ORGANIZATION: "Organization",
    Field.SUBJECT: "Subject",
    Field.BODY: "Message text",
    Field.CHANNEL: "Channel",
    Field.MAILBOX: "Mailbox",
    Field.TOPIC: "Help topic",
    Field.PRIORITY: "Priority",
    Field.DEPARTMENT: "Department",
    Field.STATUS: "Status",
    Field.BUSINESS_HOURS: "Received",
}
OPS = {Op.IS: "is", Op.IS_NOT: "is not", Op.CONTAINS: "contains", Op.STARTS_WITH: "starts with",
       Op.REGEX: "matches regex"}  # fmt: skip
HOURS_OPS = {Op.IS: "within the business hours", Op.IS_NOT: "outside the business hours"}
CHANNELS = {Channel.MAIL: "Mail", Channel.PORTAL: "Support Center", Channel.API: "API", Channel.AGENT: "An agent"}
ACTIONS = {
    ActionKind.DEPARTMENT: "Set the department",
    ActionKind.TOPIC: "Set the help topic",
    ActionKind.PRIORITY: "Set the priority",
    ActionKind.SLA: "Set the SLA plan",
    ActionKind.TEAM: "Assign to the team",
    ActionKind.ASSIGNEE: "Assign to the agent",
    ActionKind.STATUS: "Set the status",
    ActionKind.COLLABORATOR: "Add a collaborator",
    ActionKind.NOTE: "Add an internal note",
    ActionKind.CANNED: "Reply with a canned response",
    ActionKind.REJECT: "Reject the ticket (new tickets only)",
    ActionKind.BAN: "Ban the sender",
    ActionKind.STOP: "Stop: no later rule runs",
}
TRIGGERS = {Trigger.NEW_TICKET: "As a new ticket", Trigger.MESSAGE: "As a new message on it"}


def _combo(items: Sequence[tuple[str, Any]]) -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    for text, data in items:
        combo.addItem(text, data)
    return combo


def _choose(combo: QComboBox, data: Any) -> None:
    combo.setCurrentIndex(max(combo.findData(data), 0))


def _remove_button(what: str) -> QPushButton:
    button = QPushButton("Remove")
    button.setAccessibleName(f"Remove this {what}")
    return button


class _Part(QWidget):
    """A condition's or action's row: its widgets side by side, and a line under them for what Save refused.

    Signals:
        changed: something in it changed; removed: its Remove button was pressed.
    """

    changed = Signal()
    removed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.line = QHBoxLayout()
        self.line.setContentsMargins(0, 0, 0, 0)
        self.error = label("", "error", wrap=True)
        self.error.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(self.line)
        column.addWidget(self.error)

    def say(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))


class ConditionRow(_Part):
    """One condition: a field, how it compares and the value (text, or one of the field's choices)."""

    def __init__(self, choices: dict[Field, Sequence[tuple[str, str]]], condition: Condition) -> None:
        super().__init__()
        self._choices = choices
        self.field_ = _combo([(text, f) for f, text in FIELDS.items()])
        self.op = QComboBox()
        self.text = QLineEdit()
        self.text.setMaxLength(MAX_VALUE)
        self.choice = QComboBox()
        self.value = QStackedWidget()
        self.value.addWidget(self.text)
        self.value.addWidget(self.choice)
        self.value.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.value.setFixedHeight(self.text.sizeHint().height())
        remove = _remove_button("condition")
        for widget in (self.field_, self.op, self.value, remove):
            self.line.addWidget(widget)
        self.line.setStretchFactor(self.value, 1)
        _choose(self.field_, condition.field)
        self._field_chosen()
        _choose(self.op, condition.op)
        if condition.field in TEXT_FIELDS:
            self.text.setText(condition.value)
        else:
            _choose(self.choice, condition.value)
        self.field_.currentIndexChanged.connect(self._field_chosen)
        for combo in (self.field_, self.op, self.choice):
            combo.currentIndexChanged.connect(self.changed)
        self.text.textChanged.connect(self.changed)
        remove.clicked.connect(self.removed)

    def _field_chosen(self) -> None:
        field_ = Field(self.field_.currentData())
        ops = OPS if field_ in TEXT_FIELDS else HOURS_OPS if field_ == Field.BUSINESS_HOURS else {
            op: OPS[op] for op in CHOICE_OPS
        }  # fmt: skip
        chosen = self.op.currentData()
        self.op.blockSignals(True)
        self.op.clear()
        for op, text in ops.items():
            self.op.addItem(text, op)
        _choose(self.op, chosen)
        self.op.blockSignals(False)
        self.choice.blockSignals(True)
        self.choice.clear()
        for text, value in self._choices.get(field_, ()):
            self.choice.addItem(text, value)
        self.choice.blockSignals(False)
        self.value.setCurrentWidget(self.text if field_ in TEXT_FIELDS else self.choice)

    def condition(self) -> Condition:
        field_ = Field(self.field_.currentData())
        value = self.text.text() if field_ in TEXT_FIELDS else str(self.choice.currentData() or "")
        return Condition(field_, Op(self.op.currentData()), value)


class ActionRow(_Part):
    """One action: what to do, and what with (a choice, an address, a note's text, or nothing)."""

    def __init__(self, choices: dict[ActionKind, Sequence[Ref]], action: Action) -> None:
        super().__init__()
        self._choices = choices
        self.kind = _combo([(text, kind) for kind, text in ACTIONS.items()])
        self.target = QComboBox()
        self.address = QLineEdit(placeholderText="name@example.com")
        self.address.setMaxLength(254)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("The note agents read in the thread")
        self.note.setFixedHeight(70)
        remove = _remove_button("action")
        self.line.addWidget(self.kind, 0, Qt.AlignmentFlag.AlignTop)
        for widget in (self.target, self.address, self.note):
            self.line.addWidget(widget, 1)
        self.gap = QWidget()
        self.line.addWidget(self.gap, 1)
        self.line.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)
        _choose(self.kind, action.kind)
        self._kind_chosen()
        _choose(self.target, action.target_id)
        self.address.setText(action.text if action.kind == ActionKind.COLLABORATOR else "")
        self.note.setPlainText(action.text if action.kind == ActionKind.NOTE else "")
        self.kind.currentIndexChanged.connect(self._kind_chosen)
        for combo in (self.kind, self.target):
            combo.currentIndexChanged.connect(self.changed)
        self.address.textChanged.connect(self.changed)
        self.note.textChanged.connect(self.changed)
        remove.clicked.connect(self.removed)

    def _kind_chosen(self) -> None:
        kind = ActionKind(self.kind.currentData())
        self.target.blockSignals(True)
        self.target.clear()
        for ref in self._choices.get(kind, ()):
            self.target.addItem(ref.name, ref.id)
        self.target.blockSignals(False)
        self.target.setVisible(kind in TARGETED)
        self.address.setVisible(kind == ActionKind.COLLABORATOR)
        self.note.setVisible(kind == ActionKind.NOTE)
        self.gap.setVisible(kind not in TARGETED and kind not in (ActionKind.COLLABORATOR, ActionKind.NOTE))

    def action(self) -> Action:
        kind = ActionKind(self.kind.currentData())
        target = self.target.currentData() if kind in TARGETED else None
        text = {ActionKind.COLLABORATOR: self.address.text().strip(), ActionKind.NOTE: self.note.toPlainText()}
        return Action(kind, int(target) if target is not None else None, text.get(kind, ""))


class _Parts(QWidget):
    """The rows of a rule's conditions or actions, with a button that adds one.

    Signals:
        changed: a row was added, removed or changed.
    """

    changed = Signal()

    def __init__(self, add: str) -> None:
        super().__init__()
        self.rows: list[_Part] = []
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(6)
        self.empty = label("", "muted")
        self.column.addWidget(self.empty)
        self.add_button = QPushButton(add)
        self.add_button.setIcon(icons.icon("new"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        self.column.addLayout(buttons)

    def set_rows(self, rows: Sequence[_Part]) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        for row in rows:
            self.append(row, quietly=True)
        self._shown()

    def append(self, row: _Part, *, quietly: bool = False) -> None:
        self.column.insertWidget(len(self.rows), row)
        row.show()  # at once: a widget added to a shown one is otherwise shown by a queued call
        self.rows.append(row)
        row.changed.connect(self.changed)
        row.removed.connect(lambda: self._remove(row))
        if not quietly:
            self._shown()
            self.changed.emit()

    def _remove(self, row: _Part) -> None:
        self.rows.remove(row)
        row.deleteLater()
        self._shown()
        self.changed.emit()

    def _shown(self) -> None:
        self.empty.setVisible(not self.rows)

    def say(self, errors: dict[int, str]) -> None:
        for index, row in enumerate(self.rows):
            row.say(errors.get(index, ""))


class RuleEditor(StaffEditor):
    """A rule: its name, whether and when it runs, its conditions (all or any), its actions in order; its place
    in the order (Move up, Move down) and the test of all the rules.

    Signals:
        acted: the rule was moved: the section lists it again.
    """

    noun = "rule"
    acted = Signal()

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.details: RuleDetails | None = None
        self.staff: StaffChoices | None = None
        self.canned: tuple[Ref, ...] = ()
        self.dialog: RuleTestDialog | None = None
        self.failure = label("", "error", wrap=True)
        self.failure.hide()
        self.layout_.addRow(self.failure)
        self.up_button, self.down_button = QPushButton("Move up"), QPushButton("Move down")
        self.test_button = QPushButton("Test the rules…")
        self.test_button.setToolTip("What the rules would do with a message or a ticket, changing nothing")
        order = QHBoxLayout()
        order.addWidget(self.up_button)
        order.addWidget(self.down_button)
        order.addStretch(1)
        order.addWidget(self.test_button)
        self.layout_.addRow(order)
        self.name = self.field("name", "Name:", line_edit(120))
        self.enabled = self.field("enabled", "", QCheckBox("Enabled: runs on what arrives"))
        runs = QWidget()
        runs_layout = QHBoxLayout(runs)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        self.on_new_ticket = QCheckBox("New tickets")
        self.on_message = QCheckBox("New messages from users")
        self.on_change = QCheckBox("Agents' changes")
        self.on_change.setToolTip("When an agent changes the department, help topic, priority, status, team…")
        for box in (self.on_new_ticket, self.on_message, self.on_change):
            runs_layout.addWidget(box)
        runs_layout.addStretch(1)
        self.field("triggers", "Runs on:", runs)
        self.match = self.field("match_all", "When:", _combo([("All the conditions hold", True),
                                                              ("Any condition holds", False)]))  # fmt: skip
        self.condition_rows = self.field("conditions", "Conditions:", _Parts("Add condition"))
        self.condition_rows.empty.setText("None: the rule acts on everything it runs on.")
        self.action_rows = self.field("actions", "Actions:", _Parts("Add action"))
        self.action_rows.empty.setText("None yet: add what the rule does.")
        self.condition_rows.add_button.clicked.connect(
            lambda: self.condition_rows.append(self._condition(Condition(Field.SUBJECT, Op.CONTAINS, "")))
        )
        self.action_rows.add_button.clicked.connect(
            lambda: self.action_rows.append(self._action(Action(ActionKind.DEPARTMENT)))
        )
        self.name.textChanged.connect(self.edited)
        for box in (self.enabled, self.on_new_ticket, self.on_message, self.on_change):
            box.toggled.connect(self.edited)
        self.match.currentIndexChanged.connect(self.edited)
        self.condition_rows.changed.connect(self.edited)
        self.action_rows.changed.connect(self.edited)
        self.up_button.clicked.connect(lambda: self.move_by(-1))
        self.down_button.clicked.connect(lambda: self.move_by(1))
        self.test_button.clicked.connect(self.open_test)

    # --- the section's -----------------------------------------------------------------------------------------

    def set_choices(self, choices: StaffChoices) -> None:
        self.staff = choices
        self._refresh_rows()

    async def prepare(self) -> None:
        self.canned = tuple(await self.ctx.call(canned.list_canned))
        self._refresh_rows()

    async def rows(self, text: str) -> Sequence[Row]:
        needle = text.strip().casefold()
        listed = await self.ctx.call(rules.list_rules)
        return [
            Row(
                r.id,
                f"{place}. {r.name}{'' if r.enabled else ' (off)'}{' — failing' if r.error else ''}",
                muted=not r.enabled,
                tip=f"Failed {when(r.failed_at)}: {r.error}" if r.error else "",
            )
            for place, r in enumerate(listed, 1)
            if needle in r.name.casefold()
        ]

    async def fetch(self, row_id: int) -> RuleDetails:
        return await self.ctx.call(rules.get_rule, row_id)

    async def store(self, row_id: int | None, form: RuleForm) -> RuleDetails:
        return await self.ctx.call(rules.save_rule, row_id, form)

    async def remove(self, row_id: int) -> None:
        await self.ctx.call(rules.delete_rule, row_id)

    def show_errors(self, fields: Any) -> bool:
        """Show each refused field's message beside it, a condition's or action's under its row."""
        named = super().show_errors({k: v for k, v in fields.items() if "." not in k})
        for key, parts in (("conditions", self.condition_rows), ("actions", self.action_rows)):
            parts.say({int(k.split(".")[1]): v for k, v in fields.items() if k.startswith(f"{key}.")})
            named = named or any(k.startswith(f"{key}.") for k in fields)
        return named

    def show_details(self, details: RuleDetails | None) -> None:
        self.details = details
        form = details.form if details else RuleForm("", actions=())
        self.heading.setText(form.name or "New rule")
        self.summary.setText(
            f"Number {details.position + 1} in the order; changed {when(details.updated_at)}."
            if details
            else "Rules run in order on what arrives; a new rule runs after the others."
        )
        failing = details is not None and details.error is not None
        self.failure.setText(f"Failed {when(details.failed_at)} and was skipped: {details.error}" if failing else "")  # type: ignore[union-attr]
        self.failure.setVisible(failing)
        self.up_button.setEnabled(details is not None)
        self.down_button.setEnabled(details is not None)
        self.name.setText(form.name)
        self.enabled.setChecked(form.enabled)
        self.on_new_ticket.setChecked(form.on_new_ticket)
        self.on_message.setChecked(form.on_message)
        self.on_change.setChecked(form.on_change)
        _choose(self.match, form.match_all)
        self._show_parts(form)

    def form(self) -> RuleForm:
        return RuleForm(
            name=self.name.text(),
            conditions=tuple(row.condition() for row in self.condition_rows.rows if isinstance(row, ConditionRow)),
            actions=tuple(row.action() for row in self.action_rows.rows if isinstance(row, ActionRow)),
            match_all=bool(self.match.currentData()),
            on_new_ticket=self.on_new_ticket.isChecked(),
            on_message=self.on_message.isChecked(),
            on_change=self.on_change.isChecked(),
            enabled=self.enabled.isChecked(),
        )

    # --- rows --------------------------------------------------------------------------------------------------

    def condition_choices(self) -> dict[Field, Sequence[tuple[str, str]]]:
        staff = self.staff
        refs: dict[Field, Sequence[Ref]] = {}
        if staff is not None:
            refs = {Field.MAILBOX: staff.mailboxes, Field.TOPIC: staff.topics, Field.PRIORITY: staff.priorities,
                    Field.DEPARTMENT: staff.departments, Field.STATUS: staff.statuses,
                    Field.BUSINESS_HOURS: staff.schedules}  # fmt: skip
        choices: dict[Field, Sequence[tuple[str, str]]] = {
            f: [(r.name, str(r.id)) for r in rs] for f, rs in refs.items()
        }
        choices[Field.CHANNEL] = [(text, channel.value) for channel, text in CHANNELS.items()]
        return choices

    def action_choices(self) -> dict[ActionKind, Sequence[Ref]]:
        staff = self.staff
        choices: dict[ActionKind, Sequence[Ref]] = {ActionKind.CANNED: self.canned}
        if staff is not None:
            choices |= {ActionKind.DEPARTMENT: staff.departments, ActionKind.TOPIC: staff.topics,
                        ActionKind.PRIORITY: staff.priorities, ActionKind.SLA: staff.slas, ActionKind.TEAM: staff.teams,
                        ActionKind.ASSIGNEE: staff.agents, ActionKind.STATUS: staff.statuses}  # fmt: skip
        return choices

    def _condition(self, condition: Condition) -> ConditionRow:
        return ConditionRow(self.condition_choices(), condition)

    def _action(self, action: Action) -> ActionRow:
        return ActionRow(self.action_choices(), action)

    def _show_parts(self, form: RuleForm) -> None:
        self.condition_rows.set_rows([self._condition(c) for c in form.conditions])
        self.action_rows.set_rows([self._action(a) for a in form.actions])

    def _refresh_rows(self) -> None:
        """New choices: the rows again, with what they had chosen."""
        self.blockSignals(True)
        try:
            self._show_parts(self.form())
        finally:
            self.blockSignals(False)

    # --- acting at once ------------------------------------------------------------------------------------------

    @async_slot
    async def move_by(self, by: int) -> None:
        if self.details is None:
            return
        try:
            await self.ctx.call(rules.move_rule, self.details.id, max(0, self.details.position + by))
        except DeskError as error:
            if isValid(self):
                self.failed.emit(str(error))
            return
        if isValid(self):
            self.acted.emit()

    def open_test(self) -> None:
        if self.dialog is None or not isValid(self.dialog):
            self.dialog = RuleTestDialog(self.ctx, self.staff.mailboxes if self.staff else (), self)
        self.dialog.show()
        self.dialog.sender_edit.setFocus()


class RuleTestDialog(QDialog):
    """Runs the enabled rules on a message typed or pasted here, or on an existing ticket, and lists what each would
    do; nothing is changed (desk.services.rules.try_rules).

    Signals:
        tested: the outcomes arrived and are listed.
    """

    tested = Signal()

    def __init__(self, ctx: Context, mailboxes: Sequence[Ref], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setWindowTitle("Test the rules")
        self.resize(640, 620)
        self.message_choice = QRadioButton("A message")
        self.ticket_choice = QRadioButton("An existing ticket")
        self.message_choice.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.message_choice)
        group.addButton(self.ticket_choice)
        choice = QHBoxLayout()
        choice.addWidget(self.message_choice)
        choice.addWidget(self.ticket_choice)
        choice.addStretch(1)
        self.trigger = _combo([(text, trigger) for trigger, text in TRIGGERS.items()])
        self.channel = _combo([(text, channel) for channel, text in CHANNELS.items()])
        self.mailbox = _combo([("Any", None), *((m.name, m.id) for m in mailboxes)])
        self.sender_edit = QLineEdit(placeholderText="name@example.com")
        self.subject = QLineEdit()
        self.body = QPlainTextEdit()
        self.body.setPlaceholderText("Paste the message's text")
        self.number = QLineEdit(placeholderText="e.g. 123456")
        self.form = QFormLayout()
        self.form.addRow(choice)
        self.form.addRow("Test it:", self.trigger)
        self.form.addRow("Ticket number:", self.number)
        self.form.addRow("Channel:", self.channel)
        self.form.addRow("Mailbox:", self.mailbox)
        self.form.addRow("From:", self.sender_edit)
        self.form.addRow("Subject:", self.subject)
        self.form.addRow("Text:", self.body)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.results = QListWidget()
        self.results.setAccessibleName("What the rules would do")
        self.results.setWordWrap(True)
        self.verdict = label("Nothing is changed: the rules are only tried.", "muted", wrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.test_button = buttons.addButton("Test", QDialogButtonBox.ButtonRole.ActionRole)
        self.test_button.setProperty("role", "primary")
        self.test_button.setDefault(True)
        self.test_button.clicked.connect(self.run)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(label("What would happen", "section"))
        layout.addWidget(self.results, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(buttons)
        self.message_choice.toggled.connect(self._mode)
        self.channel.currentIndexChanged.connect(self._mode)
        self._mode()

    def _mode(self) -> None:
        by_message = self.message_choice.isChecked()
        for widget in (self.sender_edit, self.subject):
            self.form.setRowVisible(widget, by_message)
        self.form.setRowVisible(self.number, not by_message)
        self.form.setRowVisible(self.mailbox, Channel(self.channel.currentData()) == Channel.MAIL)

    def sample(self) -> RuleSample:
        trigger, channel = Trigger(self.trigger.currentData()), Channel(self.channel.currentData())
        mailbox = self.mailbox.currentData()
        if self.ticket_choice.isChecked():
            return RuleSample(trigger, channel, body=self.body.toPlainText(), mailbox_id=mailbox,
                              ticket_number=self.number.text().strip())  # fmt: skip
        return RuleSample(trigger, channel, self.sender_edit.text().strip(), self.subject.text(),
                          self.body.toPlainText(), mailbox)  # fmt: skip

    @async_slot
    async def run(self) -> None:
        self.message.hide()
        self.test_button.setEnabled(False)
        try:
            outcomes = await self._ctx.call(rules.try_rules, self.sample())
        except (Invalid, DeskError) as error:
            if isValid(self):
                self.message.setText(str(error))
                self.message.show()
            return
        finally:
            if isValid(self):
                self.test_button.setEnabled(True)
        if isValid(self):
            self.show_outcomes(outcomes)
            self.tested.emit()

    def show_outcomes(self, outcomes: Sequence[RuleOutcome]) -> None:
        self.results.clear()
        for outcome in outcomes:
            if outcome.error:
                text, token = f"⚠ {outcome.rule}: would fail and be skipped: {outcome.error}", "danger"
            elif outcome.matched:
                text, token = f"✓ {outcome.rule}: would {'; '.join(outcome.actions)}", "text"
            else:
                text, token = f"– {outcome.rule}: does not match", "text.muted"
            item = QListWidgetItem(text)
            item.setToolTip(plain_tip(text))
            item.setForeground(theme.color(token))
            self.results.addItem(item)
        acting = sum(1 for o in outcomes if o.matched and not o.error)
        if not outcomes:
            self.verdict.setText("No enabled rule runs on this. Nothing was changed.")
        else:
            self.verdict.setText(f"{acting} of {len(outcomes)} rule(s) would act. Nothing was changed.")
