"""File → Demo mailbox: the mail the demo would have sent, read in Desk (the demo never uses a mail server).

Replies, notifications and the Support Center's mailed links (confirm an address, open a ticket) land here at
once; a link is plain text to select and copy, or copied with "Copy link", so "Check a ticket" and registration
can be finished in the demo. Only a demo database has this mailbox (the services refuse it elsewhere).
"""

from __future__ import annotations

import re

from shiboken6 import isValid

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError
from desk.domain.views import SentMail
from desk.services.mail import outbound
from desk.ui.labels import tr, when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip

PURPOSE = (
    "This is the demo: Desk sends no mail. What it would have sent — replies, notifications, the Support "
    "Center's links — is kept here. Select a link and copy it, or use “Copy link”."
)
EMPTY = "No mail yet. Send a reply to a ticket, or ask for a link in the Support Center, and it appears here."
COLUMNS = ("Sent", "To", "Subject")
COPIED_MS = 1500  # "Copied" shows this long
REFRESH_MS = 1500  # new mail shows within a second or two while the mailbox is open
LINK = re.compile(r"https?://\S+")


def as_text(mail: SentMail) -> str:
    """The mail as it would have been read: its headers, then its plain-text body."""
    lines = [f"To: {', '.join(mail.to)}"]
    if mail.cc:
        lines.append(f"Copies: {', '.join(mail.cc)}")
    lines += [f"Subject: {mail.subject}", f"Sent: {when(mail.sent_at)}", "", mail.body]
    return "\n".join(lines)


class DemoMailboxDialog(QDialog):
    """The demo's sent mail, newest first: a list, and the chosen mail as plain text beside it."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.mail: tuple[SentMail, ...] = ()
        self.setWindowTitle(tr("Demo mailbox"))
        self.setObjectName("demoMailbox")
        layout = QVBoxLayout(self)
        layout.addWidget(label(tr(PURPOSE), "muted", wrap=True))

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("demoMailList")
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.currentCellChanged.connect(lambda row, *_: self._show(row))

        self.body = QPlainTextEdit()
        self.body.setObjectName("demoMailBody")
        self.body.setReadOnly(True)  # selectable: links are copied from here
        self.body.setAccessibleName(tr("Mail"))
        self.body.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.empty = label(tr(EMPTY), "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.body)
        splitter.setSizes([220, 330])
        self.splitter = splitter
        layout.addWidget(self.empty)
        layout.addWidget(splitter, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.copy_link = QPushButton(tr("Copy link"))
        self.copy_link.setObjectName("demoMailCopyLink")
        self.copy_link.setToolTip(tr("Copy the mail's link, to paste into the browser"))
        self.copy_link.clicked.connect(self._copy_link)
        row = QHBoxLayout()
        row.addWidget(self.copy_link)
        row.addStretch(1)
        row.addWidget(buttons)
        layout.addLayout(row)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.resize(860, 620)
        self._show(-1)

    def start(self) -> None:
        """Load now and again every moment while open."""
        self._timer.start()
        self.refresh()

    @async_slot
    async def refresh(self) -> None:
        try:
            mail = await self._ctx.call(outbound.demo_mailbox)
        except DeskError as error:
            if isValid(self):
                self._timer.stop()
                self.empty.setText(str(error))
                self.empty.show()
                self.splitter.hide()
            return
        if isValid(self) and mail != self.mail:
            self.show_mail(mail)

    def show_mail(self, mail: tuple[SentMail, ...]) -> None:
        chosen = self.mail[self.table.currentRow()].id if 0 <= self.table.currentRow() < len(self.mail) else None
        self.mail = mail
        self.table.setRowCount(len(mail))
        for row, item in enumerate(mail):
            for column, text in enumerate((when(item.sent_at), ", ".join(item.to), item.subject)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(plain_tip(text))
                self.table.setItem(row, column, cell)
        self.empty.setVisible(not mail)
        self.splitter.setVisible(bool(mail))
        ids = [item.id for item in mail]
        self.table.setCurrentCell(ids.index(chosen) if chosen in ids else (0 if mail else -1), 0)

    def link(self) -> str | None:
        """The chosen mail's first link."""
        found = LINK.search(self.body.toPlainText())
        return found.group() if found else None

    def _show(self, row: int) -> None:
        self.body.setPlainText(as_text(self.mail[row]) if 0 <= row < len(self.mail) else "")
        self.copy_link.setEnabled(self.link() is not None)

    def _copy_link(self) -> None:
        link = self.link()
        if link is not None:
            QGuiApplication.clipboard().setText(link)
            self.copy_link.setText(tr("Copied"))
            QTimer.singleShot(COPIED_MS, self._copied_shown)

    def _copied_shown(self) -> None:
        if isValid(self):
            self.copy_link.setText(tr("Copy link"))

    def done(self, result: int) -> None:
        """Override QDialog.done (Escape, Close, the window's close button): stop asking for mail."""
        self._timer.stop()
        super().done(result)
