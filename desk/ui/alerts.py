"""Agent alerts in the window: the toolbar's bell (unread count, the recent alerts in a popup list), a notification
in the system tray for each new one, and File › My alerts… (how the agent gets each kind: by mail, in Desk).

New alerts arrive through the change feed (desk.services.alerts tells the agent alone, as the `alerts` aspect):
the window hands those changes to `AlertsButton.refresh`, which asks for the agent's alerts and reports the ones it
has not seen before. Where the desktop has no notification area (QSystemTrayIcon.isSystemTrayAvailable() is false:
some window managers, a remote session) the window says a new alert in its status bar instead; the bell's list
is the same either way.
"""

from __future__ import annotations

from shiboken6 import isValid

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.alerts import KINDS, AlertChoice, AlertList, AlertView
from desk.domain.canned import ABOUT
from desk.domain.errors import DeskError
from desk.services import alerts
from desk.ui import icons
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip

TRAY_MS = 8000
ALERT_ID = Qt.ItemDataRole.UserRole
# Notification servers may read a message as markup (the freedesktop spec's body-markup, links and images among
# it): an alert's text is a ticket's subject, from outside, so it never carries a character markup is made of.
TRAY_PLAIN = str.maketrans({"<": "‹", ">": "›", "&": "＆"})


def title_of(kind: str) -> str:
    """An alert kind as the agent reads it: its mail's title without " alert" ("Assignment", "Overdue")."""
    title = ABOUT[kind][0] if kind in ABOUT else kind.removeprefix("alert.").replace("_", " ").capitalize()
    return title.removesuffix(" alert")


def tray_text(text: str) -> str:
    return text.translate(TRAY_PLAIN)


class AlertsPopup(QFrame):
    """The recent alerts, newest first, unread ones in bold; Enter or a click opens the alert's ticket.

    Signals:
        opened: an alert was chosen (the AlertView).
        all_read: "Mark all read" was pressed.
    """

    opened = Signal(object)
    all_read = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("alertsPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.heading = label("Alerts", "heading")
        self.mark_all = QPushButton("Mark all read")
        self.mark_all.clicked.connect(self.all_read)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.mark_all)
        self.list = QListWidget()
        self.list.setAccessibleName("Recent alerts")
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.empty = label("No alerts yet. File › My alerts… chooses which you get here.", "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._shown: dict[int, AlertView] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)
        self.resize(440, 380)

    def show_alerts(self, listed: AlertList) -> None:
        self.list.clear()
        for alert in listed.alerts:
            item = QListWidgetItem(self._line(alert))
            item.setData(ALERT_ID, alert.id)
            item.setToolTip(plain_tip(alert.text))
            if not alert.read:
                font = QFont(self.list.font())
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.heading.setText(f"Alerts · {listed.unread} unread" if listed.unread else "Alerts")
        self.mark_all.setEnabled(listed.unread > 0)
        self.list.setVisible(bool(listed.alerts))
        self.empty.setVisible(not listed.alerts)
        self._shown = {alert.id: alert for alert in listed.alerts}
        if listed.alerts:
            self.list.setCurrentRow(0)

    def _line(self, alert: AlertView) -> str:
        return f"{title_of(alert.kind)} · {when(alert.created_at)}\n{alert.text}"

    def _activated(self, item: QListWidgetItem) -> None:
        """A click, or Enter (where a click also activates, once only: the list is gone after the first)."""
        if self.isVisible():
            self.hide()
            self.opened.emit(self._shown[item.data(ALERT_ID)])


class AlertsButton(QToolButton):
    """The toolbar's bell: how many alerts are unread, and the popup that lists the recent ones.

    Signals:
        ticket_requested: the agent chose an alert in the list (its ticket's id).
        arrived: alerts not seen before, newest first (not those found at the first load): the tray tells of them.
    """

    ticket_requested = Signal(int)
    arrived = Signal(list)

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._latest: int | None = None  # the newest alert id seen; None before the first load
        self._asked = 0  # alerts asked for so far: only the latest answer is shown
        self.listed = AlertList((), 0)
        self.setAccessibleName("Alerts")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.popup = AlertsPopup(self)
        self.popup.opened.connect(self.open_alert)
        self.popup.all_read.connect(self.mark_all_read)
        self.clicked.connect(self.show_popup)
        self._show(self.listed)

    @property
    def loaded(self) -> bool:
        """Whether the alerts have been asked for once (what is newer than then is reported as it arrives)."""
        return self._latest is not None

    async def refresh(self) -> None:
        """Ask for the agent's alerts; report those newer than any seen before (none at the first load)."""
        self._asked += 1
        asked = self._asked
        listed = await self._ctx.call(alerts.my_alerts)
        if not isValid(self) or asked != self._asked:  # a newer answer is on its way (alerts come in bursts)
            return
        fresh = [a for a in listed.alerts if not a.read and self._latest is not None and a.id > self._latest]
        self._latest = max([self._latest or 0, *(a.id for a in listed.alerts)])
        self._show(listed)
        if fresh:
            self.arrived.emit(fresh)

    def show_popup(self) -> None:
        below = self.mapToGlobal(QPoint(self.width() - self.popup.width(), self.height()))
        self.popup.move(below)
        self.popup.show()
        self.popup.list.setFocus()

    @async_slot
    async def open_alert(self, alert: AlertView) -> None:
        """Open the alert's ticket, and mark the alert read."""
        self.ticket_requested.emit(alert.ticket_id)
        if not alert.read:
            await self._mark([alert.id])

    @async_slot
    async def mark_all_read(self) -> None:
        await self._mark(None)

    async def _mark(self, alert_ids: list[int] | None) -> None:
        self._asked += 1  # what a refresh asked for before is older than what this answers
        try:
            listed = await self._ctx.call(alerts.mark_alerts_read, alert_ids)
        except DeskError as error:
            if isValid(self):
                self.setToolTip(str(error))
            return
        if isValid(self):
            self._show(listed)

    def _show(self, listed: AlertList) -> None:
        self.listed = listed
        self.popup.show_alerts(listed)
        self._show_count()

    def _show_count(self) -> None:
        unread = self.listed.unread
        self.setText(str(unread) if unread else "")
        self.setIcon(icons.icon("bell", "accent" if unread else "icon"))
        self.setProperty("role", "unread" if unread else None)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setToolTip(f"{unread} unread alert(s): show the recent alerts" if unread else "Alerts: none unread")


class TrayNotifier(QObject):
    """Tells of new alerts in the system tray while Desk runs; where there is none, through `unseen`.

    Attributes:
        tray: the tray icon, or None where the desktop has no notification area.

    Signals:
        ticket_requested: the agent clicked the tray's message (the id of the ticket it tells of).
        unseen: a new alert's line, for the window's status bar, where there is no tray to show it.
    """

    ticket_requested = Signal(int)
    unseen = Signal(str)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._ticket_id: int | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icons.icon("inbox", "accent"), self)
            self.tray.setToolTip("Desk")
            self.tray.messageClicked.connect(self._clicked)
            self.tray.show()

    def notify(self, fresh: list[AlertView]) -> None:
        """The newest of the alerts (and how many more there are); the taskbar asks for attention too."""
        newest = fresh[0]
        title = f"{title_of(newest.kind)} · {newest.ticket_number}"
        text = newest.text if len(fresh) == 1 else f"{newest.text}\n(and {len(fresh) - 1} more alert(s))"
        self._ticket_id = newest.ticket_id
        if self.tray is not None:
            self.tray.showMessage(title, tray_text(text), QSystemTrayIcon.MessageIcon.Information, TRAY_MS)
        else:
            self.unseen.emit(f"New alert: {newest.text}")
        QApplication.alert(self._window)

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()

    def _clicked(self) -> None:
        if self._ticket_id is not None:
            self.ticket_requested.emit(self._ticket_id)


class AlertChoicesDialog(QDialog):
    """File › My alerts…: for each kind of alert, by mail and in Desk (a notification and the bell's list).

    Attributes:
        boxes: the check boxes by kind, (by mail, in Desk); message: what the service refused.
    """

    def __init__(self, ctx: Context, parent: QWidget | None = None, *, tray: bool = True) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setWindowTitle("My alerts")
        self.boxes: dict[str, tuple[QCheckBox, QCheckBox]] = {}
        intro = (
            "How you hear of each alert about a ticket: by mail, in Desk (a notification and the bell's list in the "
            "toolbar), both or neither. An administrator may switch an alert off for everyone."
        )
        if not tray:
            intro += " This desktop shows no notifications: Desk says new alerts in its status bar."
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(8)
        self.grid.addWidget(label("Alert", "section"), 0, 0)
        self.grid.addWidget(label("By mail", "section"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        self.grid.addWidget(label("In Desk", "section"), 0, 2, Qt.AlignmentFlag.AlignHCenter)
        self.grid.setColumnStretch(0, 1)
        for kind in KINDS:
            self._add_row(kind)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setProperty("role", "primary")
        self.ok.setEnabled(False)  # until the choices are loaded
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label(intro, "muted", wrap=True))
        layout.addLayout(self.grid)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    @async_slot
    async def start(self) -> None:
        """Load the agent's choices into the grid."""
        try:
            chosen = await self._ctx.call(alerts.alert_choices)
        except DeskError as error:
            if isValid(self):
                self._refused(str(error))
            return
        if isValid(self):
            self.show_choices(chosen)

    def show_choices(self, chosen: tuple[AlertChoice, ...]) -> None:
        """Tick each kind's boxes as chosen (a kind this Desk does not know yet, from a newer server, gets a row)."""
        for choice in chosen:
            mail, in_desk = self.boxes.get(choice.kind) or self._add_row(choice.kind)
            mail.setChecked(choice.mail)
            in_desk.setChecked(choice.window)
        for mail, in_desk in self.boxes.values():
            mail.setEnabled(True)
            in_desk.setEnabled(True)
        self.ok.setEnabled(True)

    def _add_row(self, kind: str) -> tuple[QCheckBox, QCheckBox]:
        """A kind's row, its boxes off until the agent's choices are loaded."""
        row = len(self.boxes) + 1
        title = label(title_of(kind))
        if kind in ABOUT:
            title.setToolTip(ABOUT[kind][1])
        boxes = QCheckBox(), QCheckBox()
        for box, way, column in ((boxes[0], "by mail", 1), (boxes[1], "in Desk", 2)):
            box.setAccessibleName(f"{title_of(kind)} {way}")
            box.setEnabled(False)
            self.grid.addWidget(box, row, column, Qt.AlignmentFlag.AlignHCenter)
        self.grid.addWidget(title, row, 0)
        self.boxes[kind] = boxes
        return boxes

    @async_slot
    async def submit(self) -> None:
        self.ok.setEnabled(False)
        wanted = [
            AlertChoice(kind, mail.isChecked(), window.isChecked()) for kind, (mail, window) in self.boxes.items()
        ]
        try:
            await self._ctx.call(alerts.save_own_alert_choices, wanted)
        except DeskError as error:
            if isValid(self):
                self._refused(str(error))
            return
        finally:
            if isValid(self):
                self.ok.setEnabled(bool(self.boxes))
        if isValid(self):
            self.accept()

    def _refused(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
