"""The Administration window's mail templates (what Desk's mail says, previewed with a real ticket) and
notification switches (where each notification is sent at all): desk.services.notifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shiboken6 import isValid

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPlainTextEdit, QPushButton, QSizePolicy, QWidget

from desk.domain.canned import ABOUT, NOTIFICATIONS, MailTemplate, NotificationSwitches
from desk.domain.errors import DeskError
from desk.services import notifications
from desk.ui.admin.editors import StaffEditor, line_edit
from desk.ui.admin.section import Row
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label

PREVIEW_DELAY_MS = 400  # after the last keystroke: a preview is a call (to the Desk server, for a team)


@dataclass(frozen=True)
class TemplateEdit:
    subject: str
    body: str


def _rows(titles: Sequence[tuple[str, str]], text: str) -> list[Row]:
    """Rows numbered from 1 in the order given (these lists are not database rows), narrowed to the text."""
    needle = text.strip().casefold()
    return [Row(number, title, tip=tip) for number, (title, tip) in enumerate(titles, 1) if needle in title.casefold()]


class TemplateEditor(StaffEditor):
    """One kind of mail: its subject and text with variables, and how it reads on a real ticket.

    Signals:
        previewed: the preview shows the text as typed now.
    """

    previewed = Signal()

    noun = "mail template"
    deletable = False  # each is sent by Desk: "Restore the built-in text" instead
    creatable = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.templates: list[MailTemplate] = []
        self.template: MailTemplate | None = None
        self.subject = self.field("subject", "Subject:", line_edit(notifications.MAX_SUBJECT))
        self.body = self.field("body", "Text:", QPlainTextEdit())
        self.body.setMinimumHeight(180)
        self.variables = QComboBox()
        self.variables.setAccessibleName("Insert a variable")
        self.variables.activated.connect(self._insert)
        self.restore = QPushButton("Restore the built-in text")
        self.restore.clicked.connect(self._restore)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.variables)
        tools.addStretch(1)
        tools.addWidget(self.restore)
        row = QWidget()
        row.setLayout(tools)
        self.layout_.addRow("", row)
        self.layout_.addRow(label("Preview", "section"))
        self.ticket = line_edit(40)
        self.ticket.setPlaceholderText("The newest ticket")
        self.ticket.setAccessibleName("Preview with ticket number")
        self.layout_.addRow("With ticket:", self.ticket)
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setAccessibleName("Preview")
        self.preview.setMinimumHeight(160)
        self.preview_note = label("", "muted", wrap=True)
        self.preview_note.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.layout_.addRow("", self.preview_note)
        self.layout_.addRow("", self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.show_preview)
        for edit in (self.subject, self.ticket):
            edit.textChanged.connect(self._preview_timer.start)
        self.body.textChanged.connect(self._preview_timer.start)
        self.subject.textChanged.connect(self.edited)
        self.body.textChanged.connect(self.edited)

    async def rows(self, text: str) -> Sequence[Row]:
        self.templates = list(await self.ctx.call(notifications.mail_templates))
        return _rows([(t.title, t.about) for t in self.templates], text)

    async def fetch(self, row_id: int) -> MailTemplate:
        kind = self.templates[row_id - 1].kind
        fresh = await self.ctx.call(notifications.mail_templates)
        return next(t for t in fresh if t.kind == kind)

    async def store(self, row_id: int | None, form: TemplateEdit) -> MailTemplate:
        assert self.template is not None  # a template is chosen: there is no new one
        return await self.ctx.call(notifications.save_mail_template, self.template.kind, form.subject, form.body)

    def show_details(self, details: MailTemplate | None) -> None:
        self.template = details
        self.heading.setText(details.title if details else "")
        built_in = details is not None and (details.subject, details.body) == (
            details.default_subject,
            details.default_body,
        )
        self.summary.setText(f"{details.about} {'As built in.' if built_in else 'Changed here.'}" if details else "")
        self.subject.setText(details.subject if details else "")
        self.body.setPlainText(details.body if details else "")
        self.variables.clear()
        self.variables.addItem("Insert a variable…")
        for name in details.variables if details else ():
            self.variables.addItem(f"%{{{name}}}", name)
        self.restore.setEnabled(not built_in)
        self.show_preview()

    def form(self) -> TemplateEdit:
        return TemplateEdit(self.subject.text(), self.body.toPlainText())

    def _insert(self, index: int) -> None:
        if index > 0:
            self.body.insertPlainText(f"%{{{self.variables.itemData(index)}}}")
            self.body.setFocus()
        self.variables.setCurrentIndex(0)

    def _restore(self) -> None:
        if self.template is not None:
            self.subject.setText(self.template.default_subject)
            self.body.setPlainText(self.template.default_body)

    @async_slot
    async def show_preview(self) -> None:
        """The text as typed, rendered as it would be sent (nothing is saved)."""
        self._preview_timer.stop()
        if self.template is None:
            return
        asked = (self.template.kind, self.subject.text(), self.body.toPlainText(), self.ticket.text().strip())
        try:
            preview = await self.ctx.call(
                notifications.preview_mail_template, *asked[:3], ticket_number=asked[3] or None
            )
        except DeskError as error:
            if isValid(self):
                self.preview_note.setText(str(error))
                self.preview.clear()
            return
        current = self.template and (self.template.kind, self.subject.text(), self.body.toPlainText())
        if not isValid(self) or current != asked[:3]:  # typed on meanwhile: the next preview is on its way
            return
        self.preview_note.setText(
            f"As ticket #{preview.ticket_number} would get it." if preview.ticket_number else "With example values."
        )
        self.preview.setPlainText(f"Subject: {preview.subject}\n\n{preview.body}")
        self.previewed.emit()


_ON_OFF = (("On", True), ("Off", False))


class NotificationEditor(StaffEditor):
    """Which notifications are sent everywhere, and where a department or help topic differs."""

    noun = "place"
    deletable = False
    creatable = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.places: list[NotificationSwitches] = []
        self.place: NotificationSwitches | None = None
        self.choices: dict[str, QComboBox] = {}
        for kind in NOTIFICATIONS:
            title, about, _ = ABOUT[kind]
            box = QComboBox()
            box.setToolTip(about)
            box.currentIndexChanged.connect(self.edited)
            self.choices[kind] = self.field(kind, f"{title}:", box)

    async def rows(self, text: str) -> Sequence[Row]:
        self.places = list(await self.ctx.call(notifications.notification_switches))
        return _rows([(_place_name(p), _place_tip(p)) for p in self.places], text)

    async def fetch(self, row_id: int) -> NotificationSwitches:
        wanted = self.places[row_id - 1]
        fresh = await self.ctx.call(notifications.notification_switches)
        return next(p for p in fresh if (p.department_id, p.topic_id) == (wanted.department_id, wanted.topic_id))

    async def store(self, row_id: int | None, form: dict[str, bool | None]) -> NotificationSwitches:
        assert self.place is not None
        return await self.ctx.call(
            notifications.set_notifications, form, department_id=self.place.department_id, topic_id=self.place.topic_id
        )

    def show_details(self, details: NotificationSwitches | None) -> None:
        self.place = details
        self.heading.setText(_place_name(details) if details else "")
        self.summary.setText(_place_tip(details) if details else "")
        follows = (
            ()
            if details is None or (details.department_id is None and details.topic_id is None)
            else (("As the ticket's department", None),)
            if details.topic_id is not None
            else (("As everywhere", None),)
        )
        for kind, box in self.choices.items():
            box.blockSignals(True)
            box.clear()
            for text, value in (*follows, *_ON_OFF):
                box.addItem(text, value)
            set_here = details.switches.get(kind) if details else None
            box.setCurrentIndex(max(box.findData(set_here), 0) if set_here is not None else 0)
            box.blockSignals(False)

    def form(self) -> dict[str, bool | None]:
        return {kind: box.currentData() for kind, box in self.choices.items()}


def _place_name(place: NotificationSwitches) -> str:
    if place.topic_id is not None:
        return f"Help topic: {place.name}"
    return f"Department: {place.name}" if place.department_id is not None else place.name


def _place_tip(place: NotificationSwitches) -> str:
    if place.topic_id is not None:
        return "Tickets of this help topic: over their department's switches."
    if place.department_id is not None:
        return "Tickets of this department: over the switches for everywhere."
    return "Every ticket, unless its department or help topic says otherwise."
