"""New ticket on behalf of a user (phone call, walk-in, forwarded mail), with an optional first reply or note."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import TicketSource
from desk.domain.errors import DeskError, Invalid
from desk.domain.views import PersonView, Ref, TicketView
from desk.services import entries, reference, tickets
from desk.ui.labels import SOURCES
from desk.ui.tasks import Context, async_slot, run
from desk.ui.ticket.drafts import NEW_TICKET, Draft, DraftStore, read_uploads
from desk.ui.ticket.properties import NONE_ID, fill
from desk.ui.widgets import label, set_role

FOLLOW_UPS = ("No reply yet", "Reply to the user", "Internal note")


class NewTicketDialog(QDialog):
    """Every field of a new ticket; errors appear beside their field and nothing typed is lost on an error.

    Signals:
        created: the new ticket (TicketView).
    """

    created = Signal(object)

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._people: dict[str, PersonView] = {}
        self._files: list[Path] = []
        self._ticket: TicketView | None = None  # once opened, a retry only posts the follow-up
        self._announced = False
        self.setWindowTitle("New ticket")
        self.resize(620, 720)
        choices = ctx.choices

        self.email = QLineEdit(placeholderText="Email or name: type to find the user")
        self._matches = QStringListModel(self)
        completer = QCompleter(self._matches, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self._person_chosen)
        self.email.setCompleter(completer)
        self._lookup = QTimer(self, singleShot=True, interval=250)
        self._lookup.timeout.connect(self._find_people)
        self.email.textEdited.connect(lambda _t: self._lookup.start())
        self.name = QLineEdit(placeholderText="Full name (for a new user)")
        self.phone = QLineEdit(placeholderText="Phone (optional)")
        self.source = QComboBox()
        for source in (TicketSource.PHONE, TicketSource.OTHER, TicketSource.EMAIL):
            self.source.addItem(SOURCES[source], source)
        self.topic = QComboBox()
        fill(self.topic, choices.topics, "— none —")
        self.department = QComboBox()
        fill(self.department, choices.departments, "— from the help topic —")
        self.priority = QComboBox()
        fill(self.priority, [Ref(id=p.id, name=p.name) for p in choices.priorities], "— from the help topic —")
        self.sla = QComboBox()
        fill(self.sla, choices.slas, "— from the help topic —")
        self.assignee = QComboBox()
        fill(self.assignee, choices.agents, "— unassigned —")
        self.subject = QLineEdit()
        self.body = QPlainTextEdit(placeholderText="What the user reported, in their words")
        self.attach_button = QPushButton("Attach files…")
        self.attach_button.clicked.connect(self._attach)
        self.attachments = label(role="muted", wrap=True)
        self.follow_up = QComboBox()
        self.follow_up.addItems(FOLLOW_UPS)
        self.follow_up_text = QPlainTextEdit(placeholderText="The first reply or internal note")
        self.follow_up_text.setEnabled(False)
        self.follow_up.currentIndexChanged.connect(lambda i: self.follow_up_text.setEnabled(i > 0))

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, title, widget in (
            ("email", "Requester", self.email),
            ("name", "Name", self.name),
            ("phone", "Phone", self.phone),
            ("source", "Source", self.source),
            ("topic", "Help topic", self.topic),
            ("department", "Department", self.department),
            ("priority", "Priority", self.priority),
            ("sla", "SLA plan", self.sla),
            ("assignee", "Assignee", self.assignee),
            ("subject", "Subject", self.subject),
            ("body", "Details", self.body),
        ):
            error = label(role="error", wrap=True)
            error.hide()
            self.errors[key] = error
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(widget)
            column.addWidget(error)
            form.addRow(title, column)
        attach_row = QHBoxLayout()
        attach_row.addWidget(self.attach_button)
        attach_row.addWidget(self.attachments, 1)
        form.addRow("Attachments", attach_row)
        form.addRow("Then", self.follow_up)
        form.addRow("", self.follow_up_text)
        self.message = label(role="error", wrap=True)
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Open ticket", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setProperty("role", "primary")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        # What was typed is kept on disk as the agent types, and comes back if Desk closed before it was sent.
        self._drafts = DraftStore()
        self._texts: dict[str, QLineEdit | QPlainTextEdit] = {
            "email": self.email,
            "name": self.name,
            "phone": self.phone,
            "subject": self.subject,
            "body": self.body,
            "follow_up": self.follow_up_text,
        }
        self._restore_draft()
        self._draft_timer = QTimer(self, singleShot=True, interval=500)
        self._draft_timer.timeout.connect(self._save_draft)
        for widget in self._texts.values():
            widget.textChanged.connect(self._draft_timer.start)

    @async_slot
    async def submit(self) -> None:
        """Open the ticket, then post the follow-up; the dialog stays open with the errors if anything fails.

        Once the ticket exists it is never opened again: a failed follow-up leaves only the follow-up to retry.
        """
        self._show_errors({}, "")
        self.create_button.setEnabled(False)
        try:
            if self._ticket is None:
                uploads = await run(self._ctx.executor, read_uploads, self._files)
                self._ticket = await self._ctx.call(
                    tickets.open_ticket,
                    subject=self.subject.text(),
                    body=self.body.toPlainText(),
                    requester_email=self.email.text().strip() or None,
                    requester_name=self.name.text().strip() or None,
                    requester_phone=self.phone.text().strip() or None,
                    source=TicketSource(self.source.currentData()),  # Qt hands the enum back as its str
                    topic_id=_chosen(self.topic),
                    department_id=_chosen(self.department),
                    priority_id=_chosen(self.priority),
                    sla_id=_chosen(self.sla),
                    assignee_id=_chosen(self.assignee),
                    attachments=uploads,
                )
                self._draft_timer.stop()
                self._drafts.delete(self._ctx.agent.id, NEW_TICKET)
            ticket = self._ticket
            follow_up = self.follow_up_text.toPlainText()
            if self.follow_up.currentIndex() > 0 and follow_up.strip():
                service = entries.post_reply if self.follow_up.currentIndex() == 1 else entries.post_note
                try:
                    await self._ctx.call(service, ticket.id, follow_up)
                except DeskError as error:
                    self._show_errors({}, f"Ticket {ticket.number} is open, but the follow-up failed: {error}")
                    self.create_button.setText("Post the follow-up again")
                    self._announce(ticket)
                    return
        except Invalid as error:
            self._show_errors(error.fields, str(error))
            return
        except (DeskError, OSError) as error:
            self._show_errors({}, str(error))
            return
        finally:
            self.create_button.setEnabled(True)
        self._announce(self._ticket)
        self.accept()

    def _announce(self, ticket: TicketView | None) -> None:
        """Tell the window once, so the new ticket opens once (with its follow-up when that went through)."""
        if ticket is not None and not self._announced:
            self._announced = True
            self.created.emit(ticket)

    def _save_draft(self) -> None:
        extra = {key: _text(widget) for key, widget in self._texts.items()}
        self._drafts.save(self._ctx.agent.id, NEW_TICKET, Draft(extra=extra))

    def _restore_draft(self) -> None:
        draft = self._drafts.load(self._ctx.agent.id, NEW_TICKET)
        if draft is None:
            return
        for key, widget in self._texts.items():
            value = str(draft.extra.get(key, ""))
            widget.setPlainText(value) if isinstance(widget, QPlainTextEdit) else widget.setText(value)
        self.message.setText("Restored what you were typing last time.")
        set_role(self.message, "muted")
        self.message.show()

    def _show_errors(self, fields: Mapping[str, str], message: str) -> None:
        for key, error in self.errors.items():
            error.setText(fields.get(key, ""))
            error.setVisible(key in fields)
        set_role(self.message, "error")
        unplaced = [text for key, text in fields.items() if key not in self.errors]
        self.message.setText(" ".join([message, *unplaced]).strip() if not fields or unplaced else "")
        self.message.setVisible(bool(self.message.text()))

    @async_slot
    async def _find_people(self) -> None:
        try:
            found = await self._ctx.call(reference.find_users, self.email.text())
        except DeskError:
            return  # only suggestions: the agent can type the address in full
        self._people = {f"{p.name} <{p.email}>": p for p in found}
        self._matches.setStringList(list(self._people))

    def _person_chosen(self, text: str) -> None:
        person = self._people.get(text)
        if person is not None:
            # The completer put the whole "Name <email>" into the box: keep the address there.
            QTimer.singleShot(0, lambda: self.email.setText(person.email))
            self.name.setText(person.name)
            self.phone.setText(person.phone or "")

    def _attach(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(self, "Attach files")
        self._files += [Path(name) for name in names]
        self.attachments.setText(", ".join(p.name for p in self._files))


def _text(widget: QLineEdit | QPlainTextEdit) -> str:
    return widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()


def _chosen(combo: QComboBox) -> int | None:
    value = combo.currentData()
    return None if value in (None, NONE_ID) else int(value)
