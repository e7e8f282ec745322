"""The queue model's loader: the services, called in the database executor, answers posted back to the model."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from PySide6.QtCore import QObject, Signal

from desk.domain.errors import DeskError
from desk.domain.views import QueuePage
from desk.services import queues
from desk.ui.queue.model import IdWindow, QueueModel, QueueQuery
from desk.ui.tasks import Context


class ServiceQueueLoader(QObject):
    """Runs the model's fetches as tasks on the qasync loop; a newer query cancels the older one's tasks.

    Signals:
        failed: a fetch failed with a message for the agent (the database is unreachable, the filter is invalid).
    """

    failed = Signal(str)

    def __init__(self, ctx: Context, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.model: QueueModel | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._generation = 0
        self._stopped = False

    def load_first(self, generation: int, query: QueueQuery, limit: int) -> None:
        self._start(generation, self._first(generation, query, limit))

    def load_ids(self, generation: int, query: QueueQuery, window: IdWindow) -> None:
        self._start(generation, self._ids(generation, query, window))

    def load_tail(self, generation: int, query: QueueQuery, limit: int) -> None:
        self._start(generation, self._tail(generation, query, limit))

    def load_rows(self, generation: int, first: int, last: int, ids: Sequence[int]) -> None:
        self._start(generation, self._rows(generation, first, last, list(ids)))

    def cancel(self) -> None:
        """Stop every fetch, and start none later (the pane is closing: a view painting as it is torn down would
        otherwise ask for rows once the loop has stopped): nothing they return is used."""
        self._stopped = True
        for task in self._tasks:
            task.cancel()

    # --- private ----------------------------------------------------------------------------------------------

    def _start(self, generation: int, work: Coroutine[Any, Any, None]) -> None:
        if self._stopped:
            work.close()
            return
        if generation > self._generation:
            # Latest wins: the threads finish their statement, but nothing they return is used.
            self._generation = generation
            for task in self._tasks:
                task.cancel()
        task = asyncio.ensure_future(self._guarded(generation, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before its first step never starts `work`: close it, or Python warns it was never awaited.
        task.add_done_callback(lambda _task: work.close())

    async def _guarded(self, generation: int, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except (DeskError, SQLAlchemyError) as error:
            # A database error that is not a lost server (SQLite busy, a pool timeout) must not leave the queue
            # "loading" for ever: say it, and the next refresh tries again.
            assert self.model is not None
            self.model.load_failed(generation)
            detail = str(error) if isinstance(error, DeskError) else f"The queue could not be read: {error}"
            self.failed.emit(detail)

    async def _first(self, generation: int, query: QueueQuery, limit: int) -> None:
        if query.ranked_search is not None:
            page = await self._ctx.call(queues.search_tickets, query.ranked_search, limit=queues.MAX_PAGE)
        else:
            page = await self._page(query, limit=limit)
        assert self.model is not None
        self.model.first_loaded(generation, page)

    async def _ids(self, generation: int, query: QueueQuery, window: IdWindow) -> None:
        ids, next_cursor = await self._ctx.call(
            queues.queue_ids,
            query.criteria,
            sort=query.sort,
            descending=query.descending != window.backward,  # backward: the queue's other order
            cursor=window.after,
            skip=window.skip,
            limit=window.count,
        )
        assert self.model is not None
        self.model.ids_loaded(generation, window, ids[::-1] if window.backward else ids, next_cursor)

    async def _tail(self, generation: int, query: QueueQuery, limit: int) -> None:
        page = await self._page(replace(query, descending=not query.descending), limit=limit)
        assert self.model is not None
        self.model.tail_loaded(generation, list(reversed(page.rows)), page.next_cursor)

    async def _rows(self, generation: int, first: int, last: int, ids: list[int]) -> None:
        rows = await self._ctx.call(queues.rows_for_ids, ids)
        assert self.model is not None
        self.model.rows_loaded(generation, first, last, rows)

    async def _page(self, query: QueueQuery, *, limit: int) -> QueuePage:
        return await self._ctx.call(
            queues.queue_page, query.criteria, sort=query.sort, descending=query.descending, limit=limit
        )
