"""Any table exported (desk.ui.export): text that a spreadsheet would run as a formula is kept as text in CSV and
XLSX alike; the progress dialog counts the rows and cancels, and a cancelled export leaves no file behind."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWidget

from desk.ui.export import (
    Cancelled,
    ExportProgress,
    Row,
    _LocalTimes,
    export_table,
    formula_like,
    rows_in_pages,
    write_table,
)
from tests.ui.conftest import run, until

# Text as people type it, with the characters a formula starts with over-represented; no control characters but
# tab, line feed and carriage return (XML, and so XLSX, cannot hold the others).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("=+-@\t\r\n\"',;"),
    max_size=30,
)


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def unescaped(text: str) -> str:
    """A workbook's text as Excel reads it: OOXML writes a character XML cannot hold (a carriage return) as _xHHHH_
    (and a literal "_x" as _x005F_x), which openpyxl leaves as it is."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda code: chr(int(code[1], 16)), text)


async def pages_of(rows: Sequence[Row]) -> AsyncIterator[Sequence[Row]]:
    yield rows


@pytest.fixture
def own_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder XlsxWriter's row files go to, to see that none is left."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=20))
def test_text_is_never_a_formula(texts: list[str], loop: qasync.QEventLoop, tmp_path: Path) -> None:
    rows = [(text, len(text)) for text in texts]
    csv_path, xlsx_path = tmp_path / "cells.csv", tmp_path / "cells.xlsx"
    for path in (csv_path, xlsx_path):
        assert run(loop, write_table(path, ("Text", "Length"), pages_of(rows))) == len(rows)

    # CSV: a leading apostrophe marks formula-like text, as OWASP advises; everything else is as written.
    read = read_csv(csv_path)
    assert read[0] == ["Text", "Length"]
    assert read[1:] == [["'" + t if formula_like(t) else t, str(len(t))] for t in texts]

    # XLSX: the text itself, never a formula, with the quote prefix that keeps Excel from reading it as one.
    book = openpyxl.load_workbook(xlsx_path)
    sheet = book.worksheets[0]
    for number, text in enumerate(texts, start=2):
        cell = sheet.cell(number, 1)
        assert cell.data_type == "s"
        assert unescaped(cell.value) == text
        assert bool(cell.quotePrefix) == formula_like(text)
        assert sheet.cell(number, 2).value == len(text)
    book.close()


@pytest.fixture
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """This computer's zone set to one with summer time, for the test (and back after)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


# Paris: summer time; St John's: a half-hour offset with summer time; Lord Howe: summer time of half an hour.
@pytest.mark.parametrize("zone", ["Europe/Paris", "America/St_Johns", "Australia/Lord_Howe"], indirect=True)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moments=st.lists(
        st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
        max_size=20,
    )
)
def test_times_are_written_in_this_computers_zone_across_its_changes(zone: str, moments: list[datetime]) -> None:
    """The export's quick conversion agrees with the system's, summer time and its changes included."""
    local = _LocalTimes()
    for moment in moments:
        assert local(moment) == moment.astimezone().replace(tzinfo=None), zone
        assert local.text(moment) == moment.astimezone().strftime("%Y-%m-%d %H:%M"), zone


def test_formula_like_text_is_what_starts_like_one() -> None:
    assert [formula_like(t) for t in ("=1+1", "+33 1 23", "-5", "@SUM(A1)", "\tx", "\rx")] == [True] * 6
    assert [formula_like(t) for t in ("1+1", "a=b", "", " =1", "'=1", "—")] == [False] * 6


def test_a_cancelled_export_leaves_the_file_as_it_was(loop: qasync.QEventLoop, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("yesterday's export")

    async def pages() -> AsyncIterator[list[tuple[str, str]]]:
        for number in range(3):
            yield [(str(number), "row")]

    with pytest.raises(Cancelled):
        run(loop, write_table(path, ("Number", "What"), pages(), keep_going=lambda written: written < 2))
    assert path.read_text() == "yesterday's export"
    assert list(tmp_path.iterdir()) == [path]  # no part-written file either
    assert run(loop, write_table(path, ("Number", "What"), pages())) == 3
    assert read_csv(path) == [["Number", "What"], ["0", "row"], ["1", "row"], ["2", "row"]]


def slow_source(total: int, page: int = 100) -> Callable[[Callable[[int], None]], AsyncIterator[list[Row]]]:
    """Pages that take a while to come, as a big queue's do."""

    async def pages(on_total: Callable[[int], None]) -> AsyncIterator[list[Row]]:
        on_total(total)
        for start in range(0, total, page):
            await asyncio.sleep(0.02)
            yield [(f"#{n}", n) for n in range(start, min(start + page, total))]

    return pages


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_the_progress_dialog_counts_and_cancel_removes_the_file(
    loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, own_temp: Path, suffix: str
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    path = tmp_path / f"big.{suffix}"

    async def scenario() -> None:
        export = asyncio.ensure_future(export_table(parent, path, ("Number", "n"), slow_source(100_000), "tickets"))
        dialog = await until(lambda: next((d for d in parent.findChildren(ExportProgress) if d.isVisible()), None))
        assert not dialog.isModal()  # the window goes on working meanwhile
        assert dialog.windowTitle() == f"Exporting to big.{suffix}"
        await until(lambda: dialog.value() >= 1000)
        assert dialog.labelText().startswith("Exporting tickets: ")
        assert dialog.labelText().endswith(" of 100,000")
        # Part written: CSV beside the file, XLSX in XlsxWriter's row files until the workbook is put together.
        assert (tmp_path / "big.csv.part").exists() if suffix == "csv" else any(own_temp.iterdir())
        cancel = dialog.findChild(QPushButton)
        assert cancel.text() == "Cancel"
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
        with pytest.raises(Cancelled):
            await export
        assert not parent.findChildren(ExportProgress) or not dialog.isVisible()

    run(loop, scenario())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["temp"]  # neither the file nor its part
    assert list(own_temp.iterdir()) == []  # nor XlsxWriter's row files


def test_a_table_at_hand_is_exported_whole(loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    """A report's table (rows in memory) goes through the same export."""
    parent = QWidget()
    qtbot.addWidget(parent)
    rows = [("Support", 12, 3.5), ("Billing", 0, None)]
    path = tmp_path / "report.xlsx"
    assert run(loop, export_table(parent, path, ("Department", "Opened", "Hours"), rows_in_pages(rows, size=1))) == 2
    book = openpyxl.load_workbook(path, read_only=True)
    assert [list(r) for r in book.worksheets[0].iter_rows(values_only=True)] == [
        ["Department", "Opened", "Hours"],
        ["Support", 12, 3.5],
        ["Billing", 0, None],
    ]
    book.close()
