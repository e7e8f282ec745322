"""Tables written to CSV or XLSX files a page at a time: any queue or search, the audit lists, a report's table.

`export_table(parent, path, header, pages)` is the one way in: the file's kind follows its name (.xlsx, else CSV),
pages are read from the caller's source as they are written, by a thread of the export's own, with a progress dialog
(rows written of how many; Cancel). Nothing is held whole in memory, and no half file is left behind: the file is
written beside `path` and moved there once whole.

CSV is UTF-8 with a byte-order mark, which Excel on Windows needs to read it as UTF-8. XLSX is written by XlsxWriter
in its constant-memory mode (each row goes to a temporary file as it is written). Cells are text, numbers, yes/no
(XLSX: TRUE/FALSE) and times, which both kinds hold in this computer's time zone (XLSX as real date cells).

One rule keeps a cell's text from running as a formula when the file is opened in a spreadsheet (OWASP's "CSV
injection"): text that starts with = + - @, a tab or a carriage return is marked as text — in CSV by a leading
apostrophe, in XLSX by the cell's quote prefix (Excel shows the text as it is and keeps it text when edited).
"""

from __future__ import annotations

import asyncio
import csv
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter
from shiboken6 import isValid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from desk.ui.tasks import run

Cell = str | int | float | bool | datetime | None
Row = Sequence[Cell]
# A table's rows a page at a time; the source tells `on_total` how many rows there are in all once it knows.
PageSource = Callable[[Callable[[int], None]], AsyncIterator[Sequence[Row]]]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_FILTER = "CSV, UTF-8 for Excel (*.csv)"
XLSX_FILTER = "Excel workbook (*.xlsx)"
XLSX_ROWS = 1_048_576  # an XLSX sheet's rows, its header included: more go on a next sheet


class Cancelled(Exception):
    """The export was stopped by the person who asked for it."""


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would read this text as a formula: it is then written marked as text."""
    return text.startswith(FORMULA_STARTS)


class _LocalTimes:
    """UTC moments as this computer's wall-clock time, without a zone (neither kind of file keeps zones).

    Fast, as an export converts three per row: the zone's offset is asked once per quarter hour of UTC (a zone's
    offset only ever changes on a quarter hour) and added, instead of asking the system for every moment."""

    def __init__(self) -> None:
        self._offsets: dict[int, timedelta] = {}

    def __call__(self, moment: datetime) -> datetime:
        utc = moment.astimezone(UTC)
        return (utc + self._offset(utc)).replace(tzinfo=None)

    def text(self, moment: datetime) -> str:
        """The local time to the minute, as spreadsheets read it: 2026-03-29 02:30."""
        utc = moment.astimezone(UTC)
        return (utc + self._offset(utc)).isoformat(" ", "minutes")[:16]

    def _offset(self, utc: datetime) -> timedelta:
        quarter = utc.toordinal() * 96 + utc.hour * 4 + utc.minute // 15
        offset = self._offsets.get(quarter)
        if offset is None:
            if len(self._offsets) > 10_000:  # years of quarters: start again rather than grow
                self._offsets.clear()
            start = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
            offset = self._offsets[quarter] = start.astimezone().utcoffset() or timedelta()
        return offset


local = _LocalTimes()


def csv_cell(value: Cell) -> str | int | float:
    if isinstance(value, str):
        return "'" + value if formula_like(value) else value
    if isinstance(value, datetime):
        return local.text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


class _Sink(Protocol):
    def write(self, rows: Sequence[Row]) -> None: ...
    def close(self) -> None: ...
    def abandon(self) -> None: ...


class _Csv:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._out = csv.writer(self._file)
        self._out.writerow([csv_cell(name) for name in header])

    def write(self, rows: Sequence[Row]) -> None:
        # Plain text (most cells) as it is, without a call per cell.
        plain = str
        self._out.writerows(
            [v if type(v) is plain and not v.startswith(FORMULA_STARTS) else csv_cell(v) for v in row] for row in rows
        )

    def close(self) -> None:
        self._file.close()

    abandon = close


class _Xlsx:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        # XlsxWriter's row files go in a folder of ours, so that an abandoned export leaves none of them behind.
        self._temp = tempfile.TemporaryDirectory(prefix="desk-export-", ignore_cleanup_errors=True)
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": self._temp.name})
        self._header = list(header)
        self._bold = self._book.add_format({"bold": True})
        self._as_text = self._book.add_format({"quote_prefix": True})
        self._moment = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self._sheets: list[Any] = []
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheet = self._book.add_worksheet(f"Sheet{len(self._sheets) + 1}")
        self._sheets.append(self._sheet)
        self._sheet.set_column(0, max(len(self._header) - 1, 0), 18)
        for column, name in enumerate(self._header):
            self._cell(0, column, name, self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def _cell(self, row: int, column: int, value: Cell, style: Any = None) -> None:
        sheet = self._sheet
        if isinstance(value, str):
            sheet.write_string(row, column, value, self._as_text if formula_like(value) else style)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, column, local(value), self._moment)
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value, style)
        elif value is not None:
            sheet.write_number(row, column, value, style)

    def write(self, rows: Sequence[Row]) -> None:
        cell = self._cell
        for row in rows:
            if self._row == XLSX_ROWS:
                self._new_sheet()
            for column, value in enumerate(row):
                cell(self._row, column, value)
            self._row += 1

    def close(self) -> None:
        self._book.close()
        self._temp.cleanup()

    def abandon(self) -> None:
        # XlsxWriter cannot drop a workbook: close its sheets' row files (constant-memory mode) so that their folder
        # can go (Windows keeps a file that is open).
        for sheet in self._sheets:
            if sheet.row_data_fh is not None:
                sheet.row_data_fh.close()
        self._temp.cleanup()


def is_xlsx(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".xlsx"


async def _next(pages: AsyncIterator[Sequence[Row]]) -> Sequence[Row] | None:
    return await anext(pages, None)


async def write_table(
    path: str | Path,
    header: Sequence[str],
    pages: AsyncIterator[Sequence[Row]],
    keep_going: Callable[[int], bool] = lambda _written: True,
) -> int:
    """Write the header and every page's rows to `path` (XLSX for a .xlsx name, else CSV); how many rows.

    Each page is written by the export's own thread while the next one is read. Stopped (`keep_going(rows written)`
    false: Cancelled) or failed, `path` is left as it was and nothing else remains."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
    sink: _Sink | None = None
    upcoming: asyncio.Future[Sequence[Row] | None] | None = None
    whole = False
    written = 0
    try:
        opened: Callable[[Path, Sequence[str]], _Sink] = _Xlsx if is_xlsx(target) else _Csv
        sink = made = await run(writer, opened, partial, header)
        upcoming = asyncio.ensure_future(_next(pages))
        while (rows := await upcoming) is not None:
            upcoming = asyncio.ensure_future(_next(pages))  # read the next page while this one is written
            await run(writer, made.write, rows)
            written += len(rows)
            if not keep_going(written):
                raise Cancelled
        await run(writer, made.close)
        os.replace(partial, target)
        whole = True
    finally:
        if upcoming is not None and not upcoming.done():
            upcoming.cancel()
        elif upcoming is not None and not upcoming.cancelled():
            upcoming.exception()  # a page that failed after the export had stopped: nothing to say of it
        writer.shutdown(wait=True)  # a page being written when the export stopped: milliseconds
        if not whole and sink is not None:
            sink.abandon()
        partial.unlink(missing_ok=True)
    return written


def rows_in_pages(rows: Iterable[Row], size: int = 1000) -> PageSource:
    """A table already at hand (a report's) as a page source."""

    async def pages(on_total: Callable[[int], None]) -> AsyncIterator[Sequence[Row]]:
        listed = rows if isinstance(rows, Sequence) else list(rows)
        on_total(len(listed))
        for start in range(0, len(listed), size):
            yield listed[start : start + size]

    return pages


class ExportProgress(QProgressDialog):
    """Rows written of how many, with Cancel; shown once an export takes longer than a moment. Not modal: the agent
    goes on working while a long export runs."""

    def __init__(self, parent: QWidget, noun: str, name: str) -> None:
        super().__init__(f"Exporting {noun}…", "Cancel", 0, 0, parent)
        self._noun = noun
        self._total: int | None = None  # unknown until the source says: a busy bar meanwhile
        self.setWindowTitle(f"Exporting to {name}")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(300)  # a small table is written before the dialog would show
        self.setMinimumWidth(380)

    def set_total(self, total: int) -> None:
        if isValid(self):
            self._total = total
            self.setMaximum(max(total, 1))

    def keep_going(self, written: int) -> bool:
        """Show `written`; whether to go on (False once cancelled, or once the dialog's window is gone)."""
        if not isValid(self):
            return False
        if self._total is not None:
            self.setValue(min(written, self.maximum()))
        of = "" if self._total is None else f" of {max(self._total, written):,}"
        self.setLabelText(f"Exporting {self._noun}: {written:,}{of}")
        return not self.wasCanceled()


async def export_table(
    parent: QWidget, path: str | Path, header: Sequence[str], pages: PageSource, noun: str = "rows"
) -> int:
    """Write a table to `path` with a progress dialog over `parent`; how many rows. Cancelled: Cancelled, and `path`
    is left as it was."""
    progress = ExportProgress(parent, noun, Path(path).name)
    try:
        return await write_table(path, header, pages(progress.set_total), progress.keep_going)
    finally:
        if isValid(progress):
            progress.close()
            progress.deleteLater()


def ask_path(parent: QWidget, title: str, name: str, chosen: Callable[[str], object]) -> QFileDialog:
    """A save dialog for a table: CSV or XLSX (the name's suffix follows the chosen kind); `chosen(path)` after."""
    chooser = QFileDialog(parent, title, name, f"{CSV_FILTER};;{XLSX_FILTER}")
    chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    chooser.setDefaultSuffix("csv")
    chooser.filterSelected.connect(lambda kind: chooser.setDefaultSuffix("xlsx" if kind == XLSX_FILTER else "csv"))
    chooser.fileSelected.connect(chosen)
    chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    chooser.open()
    return chooser
