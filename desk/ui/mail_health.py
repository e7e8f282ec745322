"""The administrator's warning in the status bar: a mailbox that cannot be fetched, no worker running, mail that
could not be sent, messages in quarantine. Hidden while all is well; checked every minute."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from desk.domain.errors import DeskError
from desk.services import worker
from desk.ui import icons
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
        self._timer = QTimer(self, interval=CHECK_EVERY_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        if self._ctx.agent.is_admin:  # the others can do nothing about it
            self._timer.start()
            self.check()

    @async_slot
    async def check(self) -> None:
        try:
            status = await self._ctx.call(worker.status)
        except DeskError:
            return  # the connection's own message says the server is gone
        self.show_problems(status.problems())

    def show_problems(self, problems: list[str]) -> None:
        self.problems = problems
        if not problems:
            self.hide()
            return
        first = problems[0] if len(problems[0]) <= 90 else problems[0][:89] + "…"
        self.text.setText(first + (f"  (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
        self.setToolTip(plain_tip("\n".join(problems)))
        self.show()
