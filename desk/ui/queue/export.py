"""A queue or search as the table shows it (same tickets, same order), exported to CSV or XLSX (File › Export the
list…): read through `queues.export_page` in keyset pages of up to 5,000, written by desk.ui.export as they arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desk.services import queues
from desk.ui.export import PageSource, Row, export_table
from desk.ui.queue.model import QueueQuery
from desk.ui.tasks import Context

# The columns of desk.domain.views.ExportRow.
HEADER = ("Number", "Subject", "Requester", "Requester email", "Priority", "Status", "Department", "Assignee",
          "Team", "Due", "Overdue", "Opened", "Updated")  # fmt: skip


def ticket_pages(ctx: Context, query: QueueQuery) -> PageSource:
    """The query's tickets a page at a time, as rows of cells (desk.ui.export.PageSource)."""

    async def pages(on_total: Callable[[int], None]) -> AsyncIterator[Sequence[Row]]:
        if query.ranked_search is not None:  # a search shows its best matches: those
            found = await ctx.call(queues.export_search, query.ranked_search)
            on_total(found.total)
            yield found.rows
            return
        cursor = None
        while True:
            page = await ctx.call(queues.export_page, query.criteria, sort=query.sort, descending=query.descending,
                                  cursor=cursor, limit=queues.EXPORT_PAGE)  # fmt: skip
            if cursor is None:
                on_total(page.total)
            yield page.rows
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return pages


async def export_queue(ctx: Context, query: QueueQuery, path: str | Path, parent: QWidget) -> int:
    """Write the query's tickets to `path` (CSV, or XLSX for a .xlsx name) with a progress dialog; how many.
    Cancelled: desk.ui.export.Cancelled, and `path` is left as it was."""
    return await export_table(parent, path, HEADER, ticket_pages(ctx, query), noun="tickets")
