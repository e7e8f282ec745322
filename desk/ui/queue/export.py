"""A queue or search as the table shows it (same tickets, same order), written to CSV a page of 500 at a time with
a progress bar that cancels (File › Export as CSV…; desk.ui.export writes the file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from shiboken6 import isValid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from desk.domain.views import QueueRow
from desk.services import queues
from desk.ui.export import write_csv
from desk.ui.queue.model import QueueQuery
from desk.ui.tasks import Context

HEADER = ("Number", "Subject", "Requester", "Requester email", "Priority", "Status", "Department", "Assignee",
          "Team", "Due", "Overdue", "Opened", "Updated")  # fmt: skip


def _moment(moment: datetime | None) -> str:
    """A time as spreadsheets read it, in this computer's time zone."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def cells(row: QueueRow) -> tuple[str, ...]:
    return (row.number, row.subject, row.requester, row.requester_email, row.priority, row.status, row.department,
            row.assignee or "", row.team or "", _moment(row.due), "yes" if row.overdue else "",
            _moment(row.created_at), _moment(row.updated_at))  # fmt: skip


async def pages(
    ctx: Context, query: QueueQuery, on_total: Callable[[int], None]
) -> AsyncIterator[list[tuple[str, ...]]]:
    """The query's tickets a page at a time, as rows of cells; `on_total` hears how many there are in all."""
    if query.ranked_search is not None:  # a search shows its best matches: those
        found = await ctx.call(queues.search_tickets, query.ranked_search, limit=queues.MAX_PAGE)
        on_total(len(found.rows))
        yield [cells(row) for row in found.rows]
        return
    cursor = None
    while True:
        page = await ctx.call(queues.queue_page, query.criteria, sort=query.sort, descending=query.descending,
                              cursor=cursor, limit=queues.MAX_PAGE)  # fmt: skip
        on_total(page.total)
        yield [cells(row) for row in page.rows]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def export_queue(ctx: Context, query: QueueQuery, path: str | Path, parent: QWidget) -> int:
    """Write the query's tickets to `path` with a progress dialog; how many. Cancelled: desk.ui.export.Cancelled,
    and `path` is left as it was."""
    progress = QProgressDialog("Exporting tickets…", "Cancel", 0, 0, parent)
    progress.setWindowTitle("Export as CSV")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(300)  # a small queue is written before the dialog would show

    def keep_going(written: int) -> bool:
        if not isValid(progress):
            return False
        progress.setValue(min(written, progress.maximum()))
        return not progress.wasCanceled()

    try:
        return await write_csv(path, HEADER, pages(ctx, query, progress.setMaximum), keep_going)
    finally:
        if isValid(progress):
            progress.close()
            progress.deleteLater()
