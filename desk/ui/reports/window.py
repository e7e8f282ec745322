"""The Reports window (View › Reports…): a report's kind, rows and filters; its chart beside its table; clicking a
bar or a figure opens those tickets as a queue in the main window; CSV export, printing and PDF."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import QDate, Qt, QTimeZone, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.domain.enums import TicketSource
from desk.domain.errors import DeskError
from desk.domain.reports import GROUPINGS, Grouping, ReportKind, ReportQuery, ReportTable
from desk.services import reports
from desk.ui import icons, labels
from desk.ui.export import Cancelled, ask_path, export_table, rows_in_pages
from desk.ui.reports.chart import BarChart, figure_text
from desk.ui.reports.printing import ReportPrinter
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, set_role

PRESETS = ("Today", "This week", "This month", "Last 30 days", "This year", "Custom")


def preset_range(preset: str, today: date) -> tuple[date, date] | None:
    """The days a preset covers, up to today; None for Custom (the dates as chosen)."""
    starts = {
        "Today": today,
        "This week": today - timedelta(days=today.weekday()),
        "This month": today.replace(day=1),
        "Last 30 days": today - timedelta(days=29),
        "This year": today.replace(month=1, day=1),
    }
    return (starts[preset], today) if preset in starts else None


def _day(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def viewer_zone() -> str:
    """This machine's time zone (the viewer's days), as an IANA name."""
    return bytes(QTimeZone.systemTimeZoneId().data()).decode() or "UTC"


class ReportsWindow(QMainWindow):
    """Reports for supervisors, as the agent may see them (their departments).

    Signals:
        tickets_requested: the tickets behind a figure (title, ids) to show as a queue in the main window.
        loaded: a report arrived and is shown (tests wait on it).
    """

    tickets_requested = Signal(str, list)
    loaded = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._generation = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.table_data: ReportTable | None = None
        self.tz = viewer_zone()
        self.setWindowTitle(labels.tr("Reports"))
        self.setWindowIcon(icons.icon("saved", "accent"))

        self.kind = QComboBox()
        self.kind.setAccessibleName("Report")
        for kind, name in labels.REPORT_KINDS.items():
            self.kind.addItem(name, kind)
        self.grouping = QComboBox()
        self.grouping.setAccessibleName("Rows")
        self.preset = QComboBox()
        self.preset.setAccessibleName("Range")
        self.preset.addItems(PRESETS)
        self.preset.setCurrentText("This month")
        self.start, self.end = QDateEdit(), QDateEdit()
        for edit, name in ((self.start, "From"), (self.end, "To")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
        choices = ctx.choices
        mine = [d for d in choices.departments if ctx.agent.is_admin or d.id in ctx.agent.departments]
        self.department = self._filter("All departments", [(d.name, d.id) for d in mine])
        self.topic = self._filter("All help topics", [(t.name, t.id) for t in choices.topics])
        self.agent = self._filter("All agents", [(a.name, a.id) for a in choices.agents])
        self.team = self._filter("All teams", [(t.name, t.id) for t in choices.teams])
        self.channel = self._filter("All channels", [(labels.SOURCES[s], s.value) for s in TicketSource])

        self.chart = BarChart()
        self.chart.bar_clicked.connect(lambda row: self.open_figure(row, self._charted))
        self._charted: int = 0  # the column the chart shows (a click on a column's header picks another)
        self._charted_kind: ReportKind | None = None
        self.table = QTableWidget()
        self.table.setAccessibleName("Figures")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.cellClicked.connect(lambda row, column: self.open_figure(row, column - 1))
        self.table.horizontalHeader().sectionClicked.connect(self._chart_column)
        self.comments = QListWidget()
        self.comments.setAccessibleName("Comments")
        self.comments.hide()
        self.status = label("", "muted", wrap=True)

        self.export_button = QPushButton(icons.icon("saved"), labels.tr("Export…"))
        self.print_button = QPushButton(labels.tr("Print…"))
        self.pdf_button = QPushButton(labels.tr("Save as PDF…"))
        self.export_button.clicked.connect(self.ask_export)
        self.print_button.clicked.connect(lambda: self.printer().print_report())
        self.pdf_button.clicked.connect(lambda: self.printer().ask_pdf_path())

        top = QHBoxLayout()
        for caption, widget in (("Report", self.kind), ("Rows", self.grouping), ("Range", self.preset)):
            top.addWidget(label(caption, "muted"))
            top.addWidget(widget)
        top.addWidget(self.start)
        top.addWidget(label("to", "muted"))
        top.addWidget(self.end)
        top.addStretch(1)
        for button in (self.export_button, self.print_button, self.pdf_button):
            top.addWidget(button)
        filters = QHBoxLayout()
        for widget in (self.department, self.topic, self.agent, self.team, self.channel):
            filters.addWidget(widget)
        filters.addStretch(1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.table, 3)
        right_layout.addWidget(self.comments, 1)
        splitter = QSplitter()
        splitter.addWidget(self.chart)
        splitter.addWidget(right)
        splitter.setSizes([420, 940])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self.setCentralWidget(central)
        self.resize(1200, 680)

        self._fill_groupings()
        self._apply_preset()
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        for changed in (self.start.dateChanged, self.end.dateChanged):
            changed.connect(self._date_edited)
        for combo in (self.grouping, self.department, self.topic, self.agent, self.team, self.channel):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())

    # --- the query ----------------------------------------------------------------------------------------------

    def query(self) -> ReportQuery:
        """The report the controls describe."""

        def chosen(combo: QComboBox) -> tuple[int, ...]:
            value = combo.currentData()
            return () if value is None else (value,)

        channel = self.channel.currentData()
        return ReportQuery(
            kind=ReportKind(self.kind.currentData()),  # Qt hands an enum's value back as a plain str
            grouping=Grouping(self.grouping.currentData()),
            start=_day(self.start.date()),
            end=_day(self.end.date()),
            tz=self.tz,
            department_ids=chosen(self.department),
            topic_ids=chosen(self.topic),
            agent_ids=chosen(self.agent),
            team_ids=chosen(self.team),
            sources=() if channel is None else (TicketSource(channel),),
        )

    def refresh(self) -> None:
        """Ask for the report again (the latest request wins)."""
        self._generation += 1
        task = asyncio.ensure_future(self._load(self._generation, self.query()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, generation: int, asked: ReportQuery) -> None:
        self.status.setText(labels.tr("Counting…"))
        set_role(self.status, "muted")
        try:
            table = await self._ctx.call(reports.report, asked)
        except DeskError as error:
            if isValid(self) and generation == self._generation:
                self.status.setText(str(error))
                set_role(self.status, "error")
            return
        if isValid(self) and generation == self._generation:
            self.show_table(table)

    def show_table(self, table: ReportTable) -> None:
        self.table_data = table
        header = [labels.REPORT_GROUPINGS[table.query.grouping], *table.column_labels]
        rows = [*table.rows, *([table.total] if table.total is not None else [])]
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(header)
        for r, row in enumerate(rows):
            name = QTableWidgetItem(row.label)
            if row is table.total:
                font = name.font()
                font.setBold(True)
                name.setFont(font)
            self.table.setItem(r, 0, name)
            for c, value in enumerate(row.values, start=1):
                item = QTableWidgetItem(figure_text(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if value:
                    item.setToolTip(labels.tr("Click to open these tickets"))
                self.table.setItem(r, c, item)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The names take the spare width, so each figure stays beside its heading (a stretched last column put
        # the last figures far from the others), and no empty band is left beside a narrow table.
        columns.setStretchLastSection(False)
        columns.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if self._charted_kind != table.query.kind:  # durations chart their median, other reports their first column
            self._charted_kind = table.query.kind
            self._charted = 1 if table.query.kind == ReportKind.RESPONSIVENESS else 0
        self._charted = min(self._charted, max(0, len(table.columns) - 1))
        self._draw_chart()
        self.comments.setVisible(bool(table.comments))
        self.comments.clear()
        for comment in table.comments:
            self.comments.addItem(f"{comment.number} · {'★' * comment.rating} · {comment.comment}")
        shown = len(table.rows)
        self.status.setText(
            labels.tr("No tickets in this range.")
            if not shown
            else f"{shown} row(s) · days in {self.tz} · click a bar or a figure to open its tickets"
        )
        set_role(self.status, "muted")
        self.loaded.emit()

    def _draw_chart(self) -> None:
        table = self.table_data
        if table is None or not table.columns:
            return
        at = self._charted
        self.chart.set_data(
            f"{table.column_labels[at]} by {labels.REPORT_GROUPINGS[table.query.grouping].lower()}",
            [row.label for row in table.rows],
            [row.values[at] for row in table.rows],
        )

    def _chart_column(self, section: int) -> None:
        if section > 0 and self.table_data is not None:
            self._charted = section - 1
            self._draw_chart()

    # --- drill-down ---------------------------------------------------------------------------------------------

    def open_figure(self, row: int, column: int) -> None:
        """The tickets behind the figure in this row (the total's: all of the column's) and column."""
        table = self.table_data
        if table is None or not 0 <= column < len(table.columns) or not 0 <= row <= len(table.rows):
            return
        is_total = row == len(table.rows)
        if is_total and table.total is None:
            return
        figure = table.total if is_total else table.rows[row]
        assert figure is not None  # checked above
        if not figure.values[column]:
            return
        title = f"{labels.REPORT_KINDS[table.query.kind]}: {table.column_labels[column]} · {figure.label}"
        self._spawn(self._open(table.query, None if is_total else figure.key, table.columns[column], title))

    async def _open(self, asked: ReportQuery, row_key: str | None, column: str, title: str) -> None:
        try:
            ids = await self._ctx.call(reports.report_ticket_ids, asked, row_key, column)
        except DeskError as error:
            self.status.setText(str(error))
            return
        self.tickets_requested.emit(title, ids)

    # --- export and print ---------------------------------------------------------------------------------------

    def csv_rows(self) -> tuple[list[str], list[list[str]]]:
        """The table as the CSV export writes it: the header, and each row (the total last)."""
        table = self.table_data
        if table is None:
            return [], []
        header = [labels.REPORT_GROUPINGS[table.query.grouping], *table.column_labels]
        rows = [*table.rows, *([table.total] if table.total is not None else [])]
        return header, [[row.label, *("" if v is None else str(v) for v in row.values)] for row in rows]

    def ask_export(self) -> QFileDialog | None:
        if self.table_data is None:
            return None
        name = f"{self.table_data.query.kind.value}-report.csv"
        return ask_path(self, labels.tr("Export the report"), name, lambda path: self.export(Path(path)))

    @async_slot
    async def export(self, path: Path) -> None:
        """The report's table (and its total) to CSV or, for a .xlsx name, an Excel workbook."""
        header, rows = self.csv_rows()
        try:
            written = await export_table(self, path, header, rows_in_pages(rows), noun="rows")
        except Cancelled:
            return
        except OSError as error:
            self.status.setText(f"The export stopped: {error}")
            return
        self.status.setText(f"Exported {written} row(s) to {path}.")

    def printer(self) -> ReportPrinter:
        assert self.table_data is not None  # the buttons work once a report is shown
        return ReportPrinter(self.table_data, self.chart, self)

    # --- controls -----------------------------------------------------------------------------------------------

    def _filter(self, everything: str, values: Sequence[tuple[str, object]]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(everything)
        combo.addItem(labels.tr(everything), None)
        for name, value in values:
            combo.addItem(name, value)
        return combo

    def _fill_groupings(self) -> None:
        kind = ReportKind(self.kind.currentData())
        self.grouping.blockSignals(True)
        self.grouping.clear()
        for grouping in GROUPINGS[kind]:
            self.grouping.addItem(labels.REPORT_GROUPINGS[grouping], grouping)
        self.grouping.blockSignals(False)

    def _kind_changed(self) -> None:
        self._fill_groupings()
        self.refresh()

    def _preset_changed(self) -> None:
        self._apply_preset()
        self.refresh()

    def _apply_preset(self) -> None:
        found = preset_range(self.preset.currentText(), _day(QDate.currentDate()))
        custom = found is None
        self.start.setEnabled(custom)
        self.end.setEnabled(custom)
        if found is not None:
            for edit, day in zip((self.start, self.end), found, strict=True):
                edit.blockSignals(True)
                edit.setDate(QDate(day.year, day.month, day.day))
                edit.blockSignals(False)

    def _date_edited(self) -> None:
        if self.preset.currentText() == "Custom":
            self.refresh()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Override QMainWindow.closeEvent: drop the answers still on their way."""
        self._generation += 1
        for task in self._tasks:
            task.cancel()
        super().closeEvent(event)
