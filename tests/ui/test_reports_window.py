"""View › Reports…: a supervisor picks a report and its rows, reads the chart and the table, clicks a figure to see
its tickets as a queue, exports the table to CSV and saves the report as PDF."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import openpyxl
import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desk.domain.reports import Grouping, ReportKind
from desk.services import reports
from desk.ui.main_window import MainWindow
from desk.ui.queue.model import QueueRole
from desk.ui.reports.window import ReportsWindow, preset_range
from desk.ui.tasks import Context
from tests.ui.conftest import POPUP, db_of, make_context, queue_loaded, run, until


def cells(window: ReportsWindow) -> list[list[str]]:
    table = window.table
    return [
        [item.text() if (item := table.item(r, c)) else "" for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def heading(window: ReportsWindow, column: int) -> str:
    item = window.table.horizontalHeaderItem(column)
    return item.text() if item is not None else ""


async def shown(window: ReportsWindow, kind: ReportKind, grouping: Grouping, preset: str = "This year") -> None:
    window.kind.setCurrentIndex(window.kind.findData(kind.value))
    window.preset.setCurrentText(preset)
    window.grouping.setCurrentIndex(window.grouping.findData(grouping.value))
    await until(
        lambda: (
            window.table_data is not None
            and window.table_data.query == window.query()
            and window.status.text() != "Counting…"
        ),
        what="the report",
    )


def test_the_presets_cover_days_up_to_today() -> None:
    from datetime import date

    today = date(2026, 12, 9)  # a Wednesday
    assert preset_range("Today", today) == (today, today)
    assert preset_range("This week", today) == (date(2026, 12, 7), today)
    assert preset_range("This month", today) == (date(2026, 12, 1), today)
    assert preset_range("Last 30 days", today) == (date(2026, 11, 10), today)
    assert preset_range("This year", today) == (date(2026, 1, 1), today)
    assert preset_range("Custom", today) is None


@POPUP  # the main window raised to show the tickets
def test_the_table_shows_the_service_figures_and_a_click_opens_their_tickets(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        main = MainWindow(ctx)
        qtbot.addWidget(main)
        main.show()
        await main.start()
        assert main.reports_action.isVisible()
        window = main.show_reports()
        qtbot.addWidget(window)
        await shown(window, ReportKind.VOLUME, Grouping.DEPARTMENT)
        expected = reports.report(db_of(ctx), ctx.agent, window.query())
        assert expected.rows, "the demo has tickets this year"
        header = [heading(window, c) for c in range(window.table.columnCount())]
        assert header == ["Department", "Opened", "Resolved", "Closed", "Reopened"]
        assert [row[0] for row in cells(window)] == [row.label for row in expected.rows] + ["Total"]
        assert cells(window)[0][1] == f"{expected.rows[0].values[0]:,}"

        # A click on the first department's "Opened" figure lists those tickets in the main window.
        item = window.table.item(0, 1)
        assert item is not None
        rect = window.table.visualItemRect(item)
        QTest.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        await until(lambda: main.queue.model.query is not None and main.queue.model.query.criteria.ticket_ids)
        await queue_loaded(main.queue)
        ids = {main.queue.model.index(r, 0).data(QueueRole.TICKET_ID) for r in range(main.queue.model.rowCount())}
        wanted = reports.report_ticket_ids(db_of(ctx), ctx.agent, window.query(), expected.rows[0].key, "opened")
        assert ids == set(wanted) and len(ids) == expected.rows[0].values[0]

        # A bar of the chart does the same for its row.
        bar = window.chart.bar_rects()[0]
        QTest.mouseClick(window.chart, Qt.MouseButton.LeftButton, pos=bar.center().toPoint())
        await until(lambda: main.queue.title_label.text().startswith("Volume: Opened"), what="the bar's queue")
        await queue_loaded(main.queue)
        main.close()  # its queue's fetches end with it (the reports window, its child, closes with it too)

    run(loop, scenario())


def test_another_report_by_period_and_its_csv_and_pdf(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario() -> None:
        window = ReportsWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        await shown(window, ReportKind.RESPONSIVENESS, Grouping.MONTH)
        assert heading(window, 2) == "Reply median (h)"
        assert window.table_data is not None and window.table_data.total is not None
        assert any(v for v in window.table_data.total.values)

        window.export(tmp_path / "report.csv")
        await until(lambda: (tmp_path / "report.csv").exists(), what="the CSV")
        with (tmp_path / "report.csv").open(encoding="utf-8-sig") as file:
            written = list(csv.reader(file))
        assert written[0] == ["Month", *window.table_data.column_labels]
        assert len(written) == len(window.table_data.rows) + 2  # the header and the total
        window.export(tmp_path / "report.xlsx")
        await until(lambda: (tmp_path / "report.xlsx").exists(), what="the workbook")
        sheet = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True).worksheets[0]
        assert [cell.value for cell in next(sheet.iter_rows())] == written[0]

        pages = window.printer().write_pdf(tmp_path / "report.pdf")
        assert pages >= 1
        text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True).stdout
        assert "Responsiveness by month" in text and "First replies" in text and "Total" in text

    run(loop, scenario())


def test_an_agent_without_the_reports_right_has_no_reports_menu(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    john = make_context(db_of(ctx), "john")
    try:
        main = MainWindow(john)
        qtbot.addWidget(main)
        assert not hasattr(main, "reports_action")
    finally:
        john.close()


@pytest.mark.parametrize("kind", [ReportKind.SLA, ReportKind.BACKLOG, ReportKind.SATISFACTION])
def test_each_report_kind_shows_a_table(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot, kind: ReportKind) -> None:
    async def scenario() -> None:
        window = ReportsWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        from desk.domain.reports import GROUPINGS

        await shown(window, kind, GROUPINGS[kind][0])
        assert window.table.rowCount() >= 1 and window.status.property("role") != "error"
        QTest.mouseMove(window.chart, QPoint(10, 10))

    run(loop, scenario())
