"""Mail in the status bar, checked every minute. Every agent sees whether replies are mailed at all (not set up,
no worker running, the demo's mailbox); the administrator also sees what to act on: a mailbox that cannot be
fetched, no worker running, mail that could not be sent, messages in quarantine (hidden while all is well)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from desk.domain.enums import OutgoingMail
from desk.domain.errors import DeskError
from desk.services import worker
from desk.services.mail import outbound
from desk.ui import icons, labels
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip

CHECK_EVERY_MS = 60_000


class MailHealth(QWidget):
    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName("mailHealth")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(4)
        mark = label()
        mark.setPixmap(icons.icon("overdue", "danger").pixmap(14, 14))
        self.text = label("", "error")
        layout.addWidget(mark)
        layout.addWidget(self.text)
        self.problems: list[str] = []
        self.hide()
        self.outgoing = label("", "muted")  # whether replies are mailed, for every agent (the window places it)
        self.outgoing.setObjectName("outgoingMail")
        self.show_outgoing(ctx.choices.outgoing_mail)
        self._timer = QTimer(self, interval=CHECK_EVERY_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()
        self.check()

    def stop(self) -> None:
        self._timer.stop()

    @async_slot
    async def check(self) -> None:
        try:
            outgoing = await self._ctx.call(outbound.outgoing_mail_now)
            # Problems only for administrators: the others can do nothing about them.
            status = await self._ctx.call(worker.status) if self._ctx.agent.is_admin else None
        except DeskError:
            return  # the connection's own message says the server is gone
        self.show_outgoing(outgoing)
        if status is not None:
            self.show_problems(status.problems())

    def show_outgoing(self, state: OutgoingMail) -> None:
        """Say it in the status bar, and in the composers of the tickets opened from now on."""
        self._ctx.choices = replace(self._ctx.choices, outgoing_mail=state)
        self.outgoing.setText(labels.tr(labels.OUTGOING_MAIL[state][0]))
        self._place()

    def _place(self) -> None:
        # An administrator's problems say more (and the status bar has room for one of them only).
        self.outgoing.setVisible(bool(self.outgoing.text()) and not self.problems)

    def show_problems(self, problems: list[str]) -> None:
        self.problems = problems
        self._place()
        if not problems:
            self.hide()
            return
        first = problems[0] if len(problems[0]) <= 90 else problems[0][:89] + "…"
        self.text.setText(first + (f"  (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
        self.setToolTip(plain_tip("\n".join(problems)))
        self.show()
