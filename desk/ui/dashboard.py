"""The dashboard: the agent's own and their departments' key figures for today, live, each opening its tickets.

A dock of the agent window (View › Dashboard, Ctrl+D), above the queue by default: the figures stay in sight
while the agent works the queue, and a click on one shows its tickets there. It follows the change feed as the
sidebar's counts do, and asks only while it is shown.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shiboken6 import isValid

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QGridLayout, QScrollArea, QToolButton, QVBoxLayout, QWidget

from desk.domain.dashboard import MY_FIGURES, Dashboard, Figure, KeyFigures, figure_criteria
from desk.domain.errors import DeskError
from desk.domain.queues import Criteria
from desk.services import dashboard
from desk.ui.tasks import Context
from desk.ui.widgets import label, plain_tip, set_role

# (column heading, what a figure's queue is called, what it shows when empty)
FIGURES: dict[Figure, tuple[str, str, str]] = {
    Figure.OPEN: ("Open", "open", "No open ticket."),
    Figure.OVERDUE: ("Overdue", "overdue", "Nothing is overdue."),
    Figure.DUE_TODAY: ("Due today", "due today", "Nothing is due today."),
    Figure.UNASSIGNED: ("Unassigned", "unassigned", "Every open ticket has an agent."),
    Figure.MINE: ("Mine", "mine", "None of its open tickets is yours."),
    Figure.RESOLVED_TODAY: ("Resolved today", "resolved today", "Nothing was resolved today."),
    Figure.FIRST_RESPONSE: ("First reply today", "first replied today", "No ticket got its first reply today."),
}
MOST_ROWS_SHOWN = 6
# Figures that call for attention when they are not zero.
ALERTS = frozenset({Figure.OVERDUE, Figure.DUE_TODAY, Figure.UNASSIGNED})


def today() -> tuple[datetime, datetime]:
    """This computer's today: from midnight to the next, as aware times (a summer-time change makes 23 or 25 h)."""
    day = date.today()
    return (datetime.combine(day, time()).astimezone(), datetime.combine(day + timedelta(days=1), time()).astimezone())


def median_text(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d}" if hours < 48 else f"{hours / 24:.1f} days"


class DashboardPanel(QWidget):
    """The figures as a grid: a column per figure, the agent's own row first, then a row per department.

    Signals:
        figure_chosen: a figure was clicked: (queue title, criteria, empty text) of its tickets.
        shown: new figures are on screen (tests wait on it).
    """

    figure_chosen = Signal(str, object, str)
    shown = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.figures: Dashboard | None = None
        self.buttons: dict[tuple[int | None, Figure], QToolButton] = {}  # (department id or None: mine, figure)
        self._grid_box = QWidget()
        self._grid = QGridLayout(self._grid_box)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(0)
        self.updated = label("Loading…", "muted")
        self.message = label("", "error", wrap=True)
        self.message.hide()
        self._scroll = scroll = QScrollArea()
        scroll.setWidget(self._grid_box)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 6)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.updated)

    async def refresh(self) -> None:
        """Ask for today's figures and show them; an error is said in the panel, the last figures stay."""
        start, end = today()
        try:
            figures = await self._ctx.call(dashboard.dashboard, start, end)
        except DeskError as error:
            if isValid(self):
                self.message.setText(f"The dashboard could not be updated: {error}")
                self.message.show()
            return
        if not isValid(self):
            return
        self.message.hide()
        self.show_figures(figures)

    def show_figures(self, figures: Dashboard) -> None:
        self.figures = figures
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons.clear()
        headings = [label(FIGURES[figure][0], "section") for figure in Figure]
        for column, heading in enumerate(headings, start=1):
            heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._grid.addWidget(heading, 0, column)
        departments = [(d.name, d.department_id, d.figures) for d in figures.departments]
        rows = [("My tickets", None, figures.mine), *departments]
        for row, (name, department_id, values) in enumerate(rows, start=1):
            name_label = label(name)
            name_label.setStyleSheet("font-weight: 600;" if department_id is None else "")
            self._grid.addWidget(name_label, row, 0)
            for column, figure in enumerate(Figure, start=1):
                if department_id is None and figure not in MY_FIGURES:
                    dash = label("—", "muted")
                    dash.setAlignment(Qt.AlignmentFlag.AlignCenter)
                    self._grid.addWidget(dash, row, column)
                    continue
                button = self._button(name, department_id, figure, values)
                self.buttons[(department_id, figure)] = button
                self._grid.addWidget(button, row, column)
        self._grid.setColumnStretch(len(Figure) + 1, 1)  # the figures stay beside their names
        self._grid.setColumnMinimumWidth(0, 160)
        if not figures.departments:
            self._grid.addWidget(label("You see no department's tickets.", "muted"), len(rows) + 1, 0, 1, -1)
        # Every row in sight up to a handful of departments; more scroll. (From the widgets' own sizes: the grid
        # counts its new widgets only once they are shown.)
        row_height = max(button.sizeHint().height() for button in self.buttons.values()) if self.buttons else 0
        shown = min(len(rows), MOST_ROWS_SHOWN)
        self._scroll.setMinimumHeight(headings[0].sizeHint().height() + shown * row_height + 4)
        self.updated.setText(f"Today so far · updated {datetime.now():%H:%M}")
        self.shown.emit()

    def _button(self, scope: str, department_id: int | None, figure: Figure, values: KeyFigures) -> QToolButton:
        count = values.count(figure)
        if figure == Figure.FIRST_RESPONSE:
            text = median_text(values.first_response_minutes)
            tip = (f"Median time from opening to the first reply, of the {count:,} ticket(s) first answered today"
                   if count else "No ticket got its first reply today")  # fmt: skip
        else:
            text, tip = f"{count:,}", f"{count:,} ticket(s) {FIGURES[figure][1]}"
        button = QToolButton(autoRaise=True)
        button.setText(text)
        button.setToolTip(plain_tip(f"{tip} — {scope}. Click to list them."))  # a department's name, as typed
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        set_role(button, "figure-alert" if figure in ALERTS and count else "figure" if count else "figure-none")
        button.clicked.connect(lambda: self._choose(scope, department_id, figure))
        return button

    def _choose(self, scope: str, department_id: int | None, figure: Figure) -> None:
        assert self.figures is not None
        criteria: Criteria = figure_criteria(
            figure,
            agent_id=self._ctx.agent.id,
            department_id=department_id,
            day_start=self.figures.day_start,
            day_end=self.figures.day_end,
        )
        self.figure_chosen.emit(f"{scope}: {FIGURES[figure][1]}", criteria, FIGURES[figure][2])


class DashboardDock(QDockWidget):
    """The panel as a dock of the agent window, movable, and hidden or shown from the View menu."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__("Dashboard", parent)
        self.setObjectName("dashboard")  # its place is kept with the window's state
        self.panel = DashboardPanel(ctx)
        self.setWidget(self.panel)
        self.setAllowedAreas(Qt.DockWidgetArea.TopDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
                             | Qt.DockWidgetArea.BottomDockWidgetArea)  # fmt: skip
