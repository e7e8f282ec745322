"""The Administration window's editors for how tickets are handled: help topics, SLA plans, business hours,
statuses, priorities and the help desk's settings (through desk.services.ticket_setup)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import QDate, Qt, QTime, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from desk.domain.attachments import split_types
from desk.domain.enums import StatusState
from desk.domain.errors import DeskError
from desk.domain.sla import time_zones
from desk.domain.staff import StaffChoices
from desk.domain.ticket_setup import (
    DeskSettings,
    DuePreview,
    HolidayForm,
    Interval,
    PriorityDetails,
    PriorityForm,
    ScheduleDetails,
    ScheduleForm,
    SlaDetails,
    SlaForm,
    StatusDetails,
    StatusForm,
    TopicDetails,
    TopicForm,
)
from desk.services import ticket_setup
from desk.ui.admin.editors import Named, StaffEditor, StructureEditor, line_edit
from desk.ui.admin.fields import RefChoice
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PREVIEW_DELAY_MS = 300
PREVIEW_HOURS = 8  # a working day: when it ends shows the schedule at work


def _moment(value: datetime) -> str:
    """A due time as the preview says it, in this computer's time zone: "Mon 9 Dec, 11:00"."""
    return value.astimezone().strftime("%a %d %b, %H:%M").replace(" 0", " ")


def _hours(maximum: float = 8760) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0, maximum)
    spin.setDecimals(1)
    spin.setSingleStep(0.5)
    spin.setSuffix(" h")
    return spin


class SlaEditor(StructureEditor):
    noun = "SLA plan"
    services = Named(ticket_setup.list_slas, ticket_setup.get_sla, ticket_setup.save_sla, ticket_setup.delete_sla)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(100))
        self.first_response = self.field("first_response_hours", "First response:", _hours())
        self.first_response.setSpecialValueText("No target")  # 0 h
        self.resolution = self.field("resolution_hours", "Resolution:", _hours())
        self.schedule = self.field(
            "schedule_id", "Counted in:", RefChoice("Around the clock (or the department's hours)")
        )
        self.grace = self.field("grace_minutes", "Overdue after:", QSpinBox())
        self.grace.setRange(0, ticket_setup.MOST_GRACE_MINUTES)
        self.grace.setSingleStep(5)
        self.grace.setPrefix("+ ")
        self.grace.setSuffix(" min")
        self.grace.setSpecialValueText("At the due time")  # 0 min
        self.grace.setToolTip("Minutes of grace past a due time before a ticket is flagged overdue; it stays due then.")
        self.active = self.field("active", "", QCheckBox("Active: offered for new tickets"))
        self.preview = label("", "muted")
        self.layout_.addRow("If opened now:", self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh_preview)
        for spin in (self.first_response, self.resolution, self.grace):
            spin.valueChanged.connect(self.edited)
        self.name.textChanged.connect(self.edited)
        self.schedule.currentIndexChanged.connect(self.edited)
        self.active.toggled.connect(self.edited)
        self.edited.connect(self._preview_timer.start)

    def set_choices(self, choices: StaffChoices) -> None:
        self.schedule.set_refs(choices.schedules)

    def show_details(self, details: SlaDetails | None) -> None:
        form = details.form if details else SlaForm(name="", resolution_hours=24, first_response_hours=4)
        self.heading.setText(form.name or "New SLA plan")
        self.summary.setText(
            f"{details.open_tickets:,} open ticket(s) follow it. A change times the tickets opened from now on."
            if details
            else "Targets in hours, counted in business hours or around the clock."
        )
        self.name.setText(form.name)
        self.first_response.setValue(form.first_response_hours or 0)
        self.resolution.setValue(form.resolution_hours)
        self.schedule.set_value(form.schedule_id)
        self.grace.setValue(form.grace_minutes)
        self.active.setChecked(form.active)
        self._preview_timer.start()

    def form(self) -> SlaForm:
        first = self.first_response.value()
        return SlaForm(
            self.name.text(),
            self.resolution.value(),
            first or None,
            self.schedule.value(),
            self.active.isChecked(),
            self.grace.value(),
        )

    def _show_preview(self, preview: DuePreview | None) -> None:
        if preview is None:
            self.preview.setText("")
            return
        first = f"first response by {_moment(preview.first_response)} · " if preview.first_response else ""
        late = f"\nflagged overdue {self.grace.value()} min after each" if self.grace.value() else ""
        self.preview.setText(f"{first}resolved by {_moment(preview.resolution)}{late}")

    @async_slot
    async def refresh_preview(self) -> None:
        try:
            preview = await self.ctx.call(ticket_setup.preview_sla, self.form())
        except DeskError:
            preview = None  # Save says what to fix
        if isValid(self):
            self._show_preview(preview)


class ScheduleEditor(StructureEditor):
    """Business hours: one span per weekday (ticked: open), the time zone, and holidays in a table."""

    noun = "schedule"
    services = Named(
        ticket_setup.list_schedules, ticket_setup.get_schedule, ticket_setup.save_schedule, ticket_setup.delete_schedule
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(100))
        self.timezone = self.field("timezone", "Time zone:", QComboBox())
        self.timezone.addItems(time_zones())
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.days: list[tuple[QCheckBox, QTimeEdit, QTimeEdit]] = []
        for row, day in enumerate(DAYS):
            open_ = QCheckBox(day)
            start, end = QTimeEdit(QTime(9, 0)), QTimeEdit(QTime(17, 0))
            for edit in (start, end):
                edit.setDisplayFormat("HH:mm")
                edit.timeChanged.connect(self.edited)
            open_.toggled.connect(self.edited)
            open_.toggled.connect(start.setEnabled)
            open_.toggled.connect(end.setEnabled)
            grid.addWidget(open_, row, 0)
            grid.addWidget(start, row, 1)
            grid.addWidget(label("to"), row, 2)
            grid.addWidget(end, row, 3)
            self.days.append((open_, start, end))
        grid.setColumnStretch(4, 1)
        hours = QWidget()
        hours.setLayout(grid)
        hours.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.field("hours", "Open:", hours)
        self.holidays = QTableWidget(0, 2)
        self.holidays.setHorizontalHeaderLabels(("Day", "Holiday"))
        self.holidays.verticalHeader().hide()
        self.holidays.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.holidays.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.holidays.setFixedHeight(150)
        self.holidays.itemChanged.connect(lambda _item: self.edited.emit())
        add, remove = QPushButton("Add holiday"), QPushButton("Remove")
        add.clicked.connect(lambda: self._add_holiday(HolidayForm(date.today(), "")))
        remove.clicked.connect(self._remove_holiday)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        holidays = QWidget()
        holidays.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        column = QVBoxLayout(holidays)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.holidays)
        column.addLayout(buttons)
        self.field("holidays", "Holidays:", holidays)
        self.preview = label("", "muted")
        self.layout_.addRow("8 business hours:", self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self.edited.connect(self._preview_timer.start)
        self.name.textChanged.connect(self.edited)
        self.timezone.currentIndexChanged.connect(self.edited)

    @async_slot
    async def refresh_preview(self) -> None:
        try:
            preview = await self.ctx.call(ticket_setup.preview_schedule, self.form(), PREVIEW_HOURS)
        except DeskError:
            preview = None  # Save says what to fix
        if isValid(self):
            self.preview.setText(f"from now, end {_moment(preview.resolution)}" if preview else "")

    def _add_holiday(self, holiday: HolidayForm) -> None:
        row = self.holidays.rowCount()
        self.holidays.insertRow(row)
        day = QDateEdit(QDate(holiday.day.year, holiday.day.month, holiday.day.day))
        day.setCalendarPopup(True)
        day.setDisplayFormat("d MMM yyyy")
        day.dateChanged.connect(self.edited)
        self.holidays.setCellWidget(row, 0, day)
        self.holidays.setItem(row, 1, QTableWidgetItem(holiday.name))
        self.edited.emit()

    def _remove_holiday(self) -> None:
        rows = sorted({index.row() for index in self.holidays.selectedIndexes()}, reverse=True)
        for row in rows or [self.holidays.rowCount() - 1]:
            if row >= 0:
                self.holidays.removeRow(row)
        self.edited.emit()

    def show_details(self, details: ScheduleDetails | None) -> None:
        nine_to_five = tuple(Interval(day, 9 * 60, 17 * 60) for day in range(5))
        form = details.form if details else ScheduleForm(name="", timezone="UTC", hours=nine_to_five)
        self.heading.setText(form.name or "New schedule")
        self.summary.setText(
            f"Times {details.plans:,} SLA plan(s) and {details.departments:,} department(s). Tickets already open "
            "keep their due times."
            if details
            else "Business hours in one time zone; holidays have none."
        )
        self.name.setText(form.name)
        self.timezone.setCurrentText(form.timezone)
        spans = {i.weekday: i for i in form.hours}
        for weekday, (open_, start, end) in enumerate(self.days):
            span = spans.get(weekday)
            open_.setChecked(span is not None)
            start.setEnabled(span is not None)
            end.setEnabled(span is not None)
            start.setTime(_clock(span.start_minute if span else 9 * 60))
            end.setTime(_clock(span.end_minute if span else 17 * 60))
        self.holidays.blockSignals(True)
        self.holidays.setRowCount(0)
        for holiday in form.holidays:
            self._add_holiday(holiday)
        self.holidays.blockSignals(False)
        self._preview_timer.start()

    def form(self) -> ScheduleForm:
        hours = tuple(
            Interval(weekday, _minutes(start.time()), _minutes(end.time()) or 1440)
            for weekday, (open_, start, end) in enumerate(self.days)
            if open_.isChecked()
        )
        holidays = []
        for row in range(self.holidays.rowCount()):
            day = self.holidays.cellWidget(row, 0)
            name = self.holidays.item(row, 1)
            if isinstance(day, QDateEdit):
                value = day.date()
                holidays.append(
                    HolidayForm(date(value.year(), value.month(), value.day()), name.text() if name else "")
                )
        return ScheduleForm(self.name.text(), self.timezone.currentText(), hours, tuple(holidays))


def _clock(minute: int) -> QTime:
    return QTime(0, 0) if minute >= 1440 else QTime(minute // 60, minute % 60)


def _minutes(time: QTime) -> int:
    return time.hour() * 60 + time.minute()


class TopicEditor(StructureEditor):
    noun = "help topic"
    services = Named(
        ticket_setup.list_topics, ticket_setup.get_topic, ticket_setup.save_topic, ticket_setup.delete_topic
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(120))
        self.parent_topic = self.field("parent_id", "Below:", RefChoice("The top level"))
        self.department = self.field("department_id", "Department:", RefChoice())
        self.priority = self.field("priority_id", "Priority:", RefChoice("The default priority"))
        self.sla = self.field("sla_id", "SLA plan:", RefChoice("The department's plan"))
        self.agent = self.field("assign", "Assign to:", RefChoice("Nobody (or a team)"))
        self.team = RefChoice("No team")
        self.layout_.addRow("or team:", self.team)
        self.public = self.field("public", "", QCheckBox("Public: end users choose it in the Support Center"))
        self.active = self.field("active", "", QCheckBox("Active: offered for new tickets"))
        self.name.textChanged.connect(self.edited)
        for box in (self.parent_topic, self.department, self.priority, self.sla, self.agent, self.team):
            box.currentIndexChanged.connect(self.edited)
        for tick in (self.public, self.active):
            tick.toggled.connect(self.edited)

    def set_choices(self, choices: StaffChoices) -> None:
        self.parent_topic.set_refs(choices.topics)
        self.department.set_refs(choices.departments)
        self.priority.set_refs(choices.priorities)
        self.sla.set_refs(choices.slas)
        self.agent.set_refs(choices.agents)
        self.team.set_refs(choices.teams)

    def show_details(self, details: TopicDetails | None) -> None:
        first = self.department.itemData(0)
        form = details.form if details else TopicForm(name="", department_id=int(first) if first is not None else 0)
        self.heading.setText(details.full_name if details else "New help topic")
        self.summary.setText(
            f"{details.tickets:,} ticket(s) have it." if details else "New tickets with this topic get what it says."
        )
        self.name.setText(form.name)
        for box, value in ((self.parent_topic, form.parent_id), (self.department, form.department_id),
                           (self.priority, form.priority_id), (self.sla, form.sla_id),
                           (self.agent, form.assign_agent_id), (self.team, form.assign_team_id)):  # fmt: skip
            box.set_value(value)
        self.public.setChecked(form.public)
        self.active.setChecked(form.active)

    def form(self) -> TopicForm:
        return TopicForm(
            name=self.name.text(),
            department_id=self.department.value() or 0,
            parent_id=self.parent_topic.value(),
            priority_id=self.priority.value(),
            sla_id=self.sla.value(),
            assign_agent_id=self.agent.value(),
            assign_team_id=self.team.value(),
            public=self.public.isChecked(),
            active=self.active.isChecked(),
        )


class StatusEditor(StructureEditor):
    noun = "status"
    services = Named(
        ticket_setup.list_statuses, ticket_setup.get_status, ticket_setup.save_status, ticket_setup.delete_status
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(50))
        self.state = self.field("state", "State:", QComboBox())
        for state in StatusState:
            self.state.addItem(state.value.capitalize(), state)
        self.pauses = self.field("pauses_sla", "", QCheckBox("Pauses the SLA clock (waiting for the customer)"))
        self.on_hold = self.field("on_hold", "", QCheckBox("On hold: not counted as waiting for an agent"))
        self.reopens = self.field("allows_reopen", "", QCheckBox("A reply from the customer reopens it"))
        self.reopen_as = self.field("reopen_status_id", "Reopens as:", RefChoice("—"))
        self.sort = self.field("sort", "Order:", QSpinBox())
        self.sort.setRange(-1000, 1000)
        self.name.textChanged.connect(self.edited)
        self.state.currentIndexChanged.connect(self.edited)
        for tick in (self.pauses, self.on_hold, self.reopens):
            tick.toggled.connect(self.edited)
        self.reopens.toggled.connect(self.reopen_as.setEnabled)
        self.reopen_as.currentIndexChanged.connect(self.edited)
        self.sort.valueChanged.connect(self.edited)

    def set_choices(self, choices: StaffChoices) -> None:
        self.reopen_as.set_refs(choices.statuses)

    def show_details(self, details: StatusDetails | None) -> None:
        form = details.form if details else StatusForm(name="", state=StatusState.OPEN)
        self.heading.setText(form.name or "New status")
        self.summary.setText(
            f"{details.tickets:,} ticket(s) have it." if details else "The state decides the queues its tickets are in."
        )
        self.name.setText(form.name)
        self.state.setCurrentIndex(self.state.findData(form.state))
        self.pauses.setChecked(form.pauses_sla)
        self.on_hold.setChecked(form.on_hold)
        self.reopens.setChecked(form.allows_reopen)
        self.reopen_as.set_value(form.reopen_status_id)
        self.reopen_as.setEnabled(form.allows_reopen)
        self.sort.setValue(form.sort)

    def form(self) -> StatusForm:
        reopens = self.reopens.isChecked()
        return StatusForm(
            name=self.name.text(),
            state=StatusState(self.state.currentData()),
            pauses_sla=self.pauses.isChecked(),
            on_hold=self.on_hold.isChecked(),
            allows_reopen=reopens,
            reopen_status_id=self.reopen_as.value() if reopens else None,
            sort=self.sort.value(),
        )


class PriorityEditor(StructureEditor):
    noun = "priority"
    services = Named(
        ticket_setup.list_priorities,
        ticket_setup.get_priority,
        ticket_setup.save_priority,
        ticket_setup.delete_priority,
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.name = self.field("name", "Name:", line_edit(50))
        self.level = self.field("level", "Level:", QSpinBox())
        self.level.setRange(1, 100)
        self.level.setToolTip("Higher is more urgent: queues sorted by priority put it first.")
        self.colour = line_edit(7)
        self.swatch = QPushButton("Choose…")
        self.swatch.clicked.connect(self.choose_colour)
        colour = QWidget()
        row = QHBoxLayout(colour)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.colour)
        row.addWidget(self.swatch)
        row.addStretch(1)
        self.field("colour", "Colour:", colour)
        self.default = self.field("is_default", "", QCheckBox("The default for new tickets"))
        self.name.textChanged.connect(self.edited)
        self.level.valueChanged.connect(self.edited)
        self.colour.textChanged.connect(self.edited)
        self.colour.textChanged.connect(self._paint_swatch)
        self.default.toggled.connect(self.edited)

    def _paint_swatch(self, text: str) -> None:
        valid = QColor.isValidColorName(text) and len(text) == 7
        self.swatch.setStyleSheet(f"QPushButton {{ border-left: 14px solid {text}; }}" if valid else "")

    def choose_colour(self) -> None:
        chooser = QColorDialog(QColor(self.colour.text()), self)
        chooser.colorSelected.connect(lambda colour: self.colour.setText(colour.name()))
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.open()

    def show_details(self, details: PriorityDetails | None) -> None:
        form = details.form if details else PriorityForm(name="", level=5, colour="#4a6fa5")
        self.heading.setText(form.name or "New priority")
        self.summary.setText(f"{details.tickets:,} ticket(s) have it." if details else "")
        self.name.setText(form.name)
        self.level.setValue(form.level)
        self.colour.setText(form.colour)
        self.default.setChecked(form.is_default)

    def form(self) -> PriorityForm:
        return PriorityForm(self.name.text(), self.level.value(), self.colour.text(), self.default.isChecked())


class SettingsEditor(StaffEditor):
    """The help desk's settings: one form, no list."""

    noun = "settings"
    deletable = False
    single = True

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.heading.setText("Settings")
        self.summary.setText("For the whole help desk; agents' windows pick them up at their next call.")
        self.number_format = self.field("number_format", "Ticket numbers:", line_edit(20))
        self.number_format.setToolTip("Each # is a digit, e.g. ###### or T-#####.")
        self.number_mode = self.field("number_mode", "Numbered:", QComboBox())
        self.number_mode.addItem("At random (hard to guess)", "random")
        self.number_mode.addItem("In sequence", "sequence")
        self.department = self.field("default_department_id", "Default department:", RefChoice())
        self.sla = self.field("default_sla_id", "Default SLA plan:", RefChoice("None"))
        self.numbers: dict[str, QSpinBox] = {}
        for field, (_, least, most, unit) in ticket_setup.NUMBERS.items():
            spin = QSpinBox()
            spin.setRange(least, most)
            spin.setSuffix(f" {unit}")
            spin.valueChanged.connect(self.edited)
            self.numbers[field] = self.field(field, SETTING_LABELS[field], spin)
            if field == "attachment_max_mb":  # the types beside the size
                self.attachment_types = self.field("attachment_types", "Attachment types:", line_edit(2000))
        self.attachment_types.setPlaceholderText("e.g. pdf, png, docx; empty: any type")
        self.attachment_types.setToolTip(
            "The file types agents, end users and mail may attach, by the end of their names. Files of other types "
            "are refused; mail keeps the message and says which files it dropped. The Support Center and the API "
            "take only documents, pictures, logs and archives, whatever this lists."
        )
        self.numbers["autoclose_days"].setSpecialValueText("Never")
        self.numbers["lock_minutes"].setSpecialValueText("No reply locks")
        self.number_format.textChanged.connect(self.edited)
        self.attachment_types.textChanged.connect(self.edited)
        for box in (self.number_mode, self.department, self.sla):
            box.currentIndexChanged.connect(self.edited)

    def set_choices(self, choices: StaffChoices) -> None:
        self.department.set_refs(choices.departments)
        self.sla.set_refs(choices.slas)

    async def rows(self, text: str) -> list[Any]:
        return []

    async def fetch(self, row_id: int) -> DeskSettings:
        return await self.ctx.call(ticket_setup.get_settings)

    async def store(self, row_id: int | None, form: DeskSettings) -> DeskSettings:
        return await self.ctx.call(ticket_setup.save_settings, form)

    def show_details(self, details: DeskSettings | None) -> None:
        if details is None:
            return
        self.number_format.setText(details.number_format)
        self.number_mode.setCurrentIndex(self.number_mode.findData(details.number_mode))
        self.department.set_value(details.default_department_id)
        self.sla.set_value(details.default_sla_id)
        for field, spin in self.numbers.items():
            spin.setValue(getattr(details, field))
        self.attachment_types.setText(", ".join(details.attachment_types))

    def form(self) -> DeskSettings:
        return DeskSettings(
            number_format=self.number_format.text(),
            number_mode=str(self.number_mode.currentData()),
            default_department_id=self.department.value(),
            default_sla_id=self.sla.value(),
            attachment_types=split_types(self.attachment_types.text()),
            **{field: spin.value() for field, spin in self.numbers.items()},
        )


SETTING_LABELS = {
    "autoclose_days": "Close resolved tickets after:",
    "lock_minutes": "Reply locks last:",
    "attachment_max_mb": "Largest attachment:",
    "login_max_failures": "Lock sign-in after:",
    "login_lockout_minutes": "Locked for:",
    "session_idle_hours": "Sign agents out when idle for:",
    "session_max_days": "Sign agents out after:",
}
