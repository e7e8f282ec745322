"""Bulk changes on the queue's selection: what each one is, the confirmation that names the count and takes a note,
applying it ticket by ticket through the services, and the undo offered for a few seconds after."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import Conflict, DeskError
from desk.domain.views import TicketView
from desk.services import lifecycle, tickets
from desk.ui.tasks import Context
from desk.ui.widgets import hands_off, label

CONFIRM_OVER = 5  # a change to more tickets than this asks first (closing always asks)
UNDO_SECONDS = 10
Service = Callable[..., Any]  # (db, actor, ticket_id, *args, note=..., expected_version=...) -> TicketView


def counted(n: int) -> str:
    return "1 ticket" if n == 1 else f"{n:,} tickets"


@dataclass(frozen=True)
class Bulk:
    """One bulk change: the service with its value, and how the screens name it (`{n}` is "12 tickets").

    Attributes:
        ask: the confirmation's question, e.g. "Close {n}?".
        done: what was done, for the undo bar, e.g. "Closed {n}".
        closing: it takes tickets out of the open queues, so it is confirmed whatever the count.
    """

    service: Service
    args: tuple[Any, ...]
    ask: str
    done: str
    closing: bool = False

    def needs_confirmation(self, count: int) -> bool:
        return self.closing or count > CONFIRM_OVER

    def question(self, count: int) -> str:
        return self.ask.replace("{n}", counted(count))  # not format(): the names in it may hold braces

    def summary(self, count: int) -> str:
        return self.done.replace("{n}", counted(count))


@dataclass(frozen=True)
class Restore:
    """How to put one ticket back: the calls that undo the change, from the version the change produced (a ticket
    changed since refuses the first call with a Conflict, and stays as it is)."""

    ticket_id: int
    number: str
    version: int
    steps: tuple[tuple[Service, tuple[Any, ...]], ...]


def restore_steps(service: Service, before: TicketView) -> tuple[tuple[Service, tuple[Any, ...]], ...]:
    """The calls that bring back what `service` changed on the ticket as it was (`before`)."""
    if service is tickets.set_priority:
        return ((tickets.set_priority, (before.priority.id,)),)
    if service is tickets.transfer:
        return ((tickets.transfer, (before.department.id,)),)
    if service in (lifecycle.set_status, lifecycle.close):
        return ((lifecycle.set_status, (before.status.id,)),)
    if service is tickets.assign:
        if before.assignee is not None:
            return ((tickets.assign, (before.assignee.id,)),)
        # Releasing drops the team as well: give it back.
        team = ((tickets.assign_team, (before.team.id,)),) if before.team is not None else ()
        return ((tickets.release, ()), *team)
    raise ValueError(f"No undo for {service}")


@dataclass
class Outcome:
    changed: list[int]
    failures: list[tuple[int, str]]  # ticket id, why
    restores: list[Restore]  # of the tickets it really changed (a ticket that had the value already has none)


async def apply_bulk(ctx: Context, bulk: Bulk, ids: Sequence[int], note: str | None) -> Outcome:
    """Apply the change to each ticket in turn, each its own transaction with the services' checks; each ticket is
    read first, so that the change goes with its version and the undo knows what it was."""
    outcome = Outcome([], [], [])
    for ticket_id in ids:
        try:
            before = await ctx.call(tickets.get_ticket, ticket_id)
            after = await ctx.call(bulk.service, ticket_id, *bulk.args, note=note, expected_version=before.version)
        except DeskError as error:
            outcome.failures.append((ticket_id, str(error)))
            continue
        outcome.changed.append(ticket_id)
        if after.version != before.version:
            outcome.restores.append(
                Restore(ticket_id, after.number, after.version, restore_steps(bulk.service, before))
            )
    return outcome


async def undo_bulk(ctx: Context, restores: Sequence[Restore]) -> tuple[list[int], list[tuple[int, str]]]:
    """Put each ticket back through the services; the restored ids, and those that were not with why."""
    restored, failures = [], []
    for restore in restores:
        version = restore.version
        try:
            for service, args in restore.steps:
                view = await ctx.call(service, restore.ticket_id, *args, expected_version=version)
                version = view.version
        except Conflict as conflict:
            failures.append((restore.ticket_id, f"changed by {conflict.info.changed_by or 'someone else'} since"))
            continue
        except DeskError as error:
            failures.append((restore.ticket_id, str(error)))
            continue
        restored.append(restore.ticket_id)
    return restored, failures


class BulkConfirmation(QDialog):
    """Asks before a bulk change, naming how many tickets it changes, with a note that goes with it.

    Signals:
        confirmed: the note (None for none).
    """

    confirmed = Signal(object)

    def __init__(self, bulk: Bulk, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change several tickets")
        self.question = label(bulk.question(count), "heading", wrap=True)
        self.note = QLineEdit(placeholderText="Why, for each ticket's history")
        self.note.setAccessibleName("Note (optional)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton(bulk.question(count).rstrip("?"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(label(f"You can undo it for {UNDO_SECONDS} seconds afterwards.", "muted"))
        layout.addWidget(label("Note (optional)"))
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.accepted.connect(lambda: self.confirmed.emit(self.note.text().strip() or None))
        self.setMinimumWidth(420)
        self.note.setFocus()


class UndoBar(QFrame):
    """After a bulk change: what was done and an Undo button (Ctrl+Z), for a few seconds; then what the undo did.

    Signals:
        undo_requested: the restores to apply (list of Restore).
    """

    undo_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoBar")
        self.setProperty("role", "notice")
        self.text = label(wrap=True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Put the tickets back as they were (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        hands_off(self.undo_button)  # Ctrl+Z reaches it
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.undo_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._restores: list[Restore] = []
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    def offer(self, text: str, restores: list[Restore], seconds: int = UNDO_SECONDS) -> None:
        self._restores = restores
        self.text.setText(text)
        self.undo_button.show()
        self.show()
        self._timer.start(seconds * 1000)

    def tell(self, text: str, seconds: int = UNDO_SECONDS) -> None:
        """Say what the undo did (no button)."""
        self._restores = []
        self.text.setText(text)
        self.undo_button.hide()
        self.show()
        self._timer.start(seconds * 1000)

    def can_undo(self) -> bool:
        return self.isVisible() and bool(self._restores)

    def undo(self) -> None:
        if not self.can_undo():
            return
        restores, self._restores = self._restores, []
        self.text.setText(f"Undoing {counted(len(restores))}…")
        self.undo_button.hide()
        self._timer.stop()
        self.undo_requested.emit(restores)

    def dismiss(self) -> None:
        self._restores = []
        self.hide()
