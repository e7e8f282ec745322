"""The Administration window's mail quarantine: fetched mail that could not become a ticket or a message, and mail
set aside on purpose (automatic replies, banned senders). The raw message shows why; Retry processes a
quarantined message again (after a fix), Discard sets it aside for good. Nothing is ever dropped."""

from __future__ import annotations

from collections.abc import Sequence

from shiboken6 import isValid

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import InboundState
from desk.domain.errors import DeskError
from desk.domain.views import InboundView
from desk.services.mail import intake
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, message_box, plain_tip

COLUMNS = ("Received", "From", "Subject", "Why")
STATES = (
    ("Quarantined: could not be read or threaded", InboundState.QUARANTINED),
    ("Ignored: automatic replies, bounces, loops", InboundState.IGNORED),
    ("Rejected: from banned senders", InboundState.REJECTED),
    ("Discarded by an administrator", InboundState.DISCARDED),
)
RAW_SHOWN = 512 * 1024  # characters of a raw message shown (a big one's attachments need not all be read)


class Quarantine(QWidget):
    """Fetched mail set aside, by state, newest first.

    Signals:
        listed: the list arrived and is shown.
    """

    listed = Signal()

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self._ctx = ctx
        self.messages: list[InboundView] = []
        self.state = QComboBox()
        for text, state in STATES:
            self.state.addItem(text, state)
        self.state.currentIndexChanged.connect(self.reload)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.show_raw())
        self.empty = label("", "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.raw_button = QPushButton("Show message…")
        self.raw_button.clicked.connect(self.show_raw)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip("Process it again, e.g. after a setting was fixed")
        self.retry_button.clicked.connect(self.retry)
        self.discard_button = QPushButton("Discard…")
        self.discard_button.clicked.connect(self.ask_discard)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        buttons = QHBoxLayout()
        for button in (self.raw_button, self.retry_button, self.discard_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._selection_changed()

    @async_slot
    async def reload(self) -> None:
        await self.load_list()

    async def load_list(self) -> None:
        try:
            messages = await self._ctx.call(intake.quarantined, state=InboundState(self.state.currentData()))
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if isValid(self):
            self._say("")
            self._show(messages)
            self.listed.emit()

    def _show(self, messages: Sequence[InboundView]) -> None:
        self.messages = list(messages)
        self.table.setRowCount(len(self.messages))
        for row, message in enumerate(self.messages):
            for column, text in enumerate(
                (when(message.received_at), message.sender, message.subject, message.reason or "")
            ):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(text))
                self.table.setItem(row, column, item)
        self.empty.setText("Nothing here: all fetched mail became tickets and messages.")
        self.pages.setCurrentWidget(self.table if self.messages else self.empty)
        self._selection_changed()

    def selected(self) -> InboundView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.messages[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        message = self.selected()
        self.raw_button.setEnabled(message is not None)
        quarantined = message is not None and message.state == InboundState.QUARANTINED
        self.retry_button.setEnabled(quarantined)
        self.discard_button.setEnabled(quarantined)

    @async_slot
    async def show_raw(self) -> None:
        message = self.selected()
        if message is None:
            return
        try:
            raw = await self._ctx.call(intake.raw_message, message.id)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if isValid(self):
            RawMessageDialog(message, raw, self).open()

    @async_slot
    async def retry(self) -> None:
        message = self.selected()
        if message is None:
            return
        try:
            outcome = await self._ctx.call(intake.retry, message.id)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if not isValid(self):
            return
        if outcome is None:
            self._say("Only its headers were kept: the next fetch takes the whole message from the mail server again.")
        elif outcome.state == InboundState.QUARANTINED:
            self._say(f"Still quarantined: {outcome.reason}")
        await self.load_list()

    def ask_discard(self) -> None:
        message = self.selected()
        if message is None:
            return
        box = message_box(
            QMessageBox.Icon.Question,
            "Discard message",
            f"Set “{message.subject}” from {message.sender} aside for good? It stays on record, but becomes no ticket.",
            self,
            QMessageBox.StandardButton.Cancel,
        )
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        discard.clicked.connect(lambda: self.discard(message.id))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @async_slot
    async def discard(self, inbound_id: int) -> None:
        try:
            await self._ctx.call(intake.discard, inbound_id)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if isValid(self):
            await self.load_list()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class RawMessageDialog(QDialog):
    """A fetched message as it arrived, as plain text (never rendered: it is untrusted)."""

    def __init__(self, message: InboundView, raw: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Message from {message.sender}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(820, 600)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        shown = raw.decode("utf-8", errors="replace")
        cut = len(shown) > RAW_SHOWN
        self.text.setPlainText(shown[:RAW_SHOWN] + ("\n\n[… the rest is not shown]" if cut else ""))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            label(f"{message.subject} · {message.size:,} bytes · {message.reason or message.state}", "muted", wrap=True)
        )
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
