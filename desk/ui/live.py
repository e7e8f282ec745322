"""Live updates: other agents' changes reach the window without a refresh.

Through a Desk server (desk.client.remote), the server pushes them: one stream of server-sent events, read in a
thread of its own and handed to the loop; a dropped stream is opened again from the last event's id, so nothing
is missed. On a database this Desk opened itself, it watches the feed: on PostgreSQL each change's transaction
sends NOTIFY on `desk_changes` when it commits (desk/storage/changes.py); a psycopg AsyncConnection in autocommit
LISTENs on the qasync loop, and every batch of notifications leads to one read of the change feed. MariaDB and
SQLite have no such channel: the feed is read every `poll_seconds`. Either way the feed itself is the truth (a
notification only says "read now"), read by a `FeedReader` in the database executor, so a missed or coalesced
notification costs latency, never a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from PySide6.QtCore import QObject, Signal

from desk.client.local import LocalServices
from desk.client.remote import ChangeEvent, RemoteServices
from desk.domain.errors import DeskError, ServerUnreachable, SignedOut
from desk.services.feed import FeedReader
from desk.storage.changes import CHANNEL
from desk.ui.tasks import Context, run

if TYPE_CHECKING:
    import psycopg

POLL_SECONDS = 1.0
BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)

NOTIFY_STATE = "Live updates on (PostgreSQL notifications)"
PUSHED_STATE = "Live updates on (from the Desk server)"
PAUSED_STATE = "Live updates paused: server unreachable"
STOPPED_STATE = "Live updates off"


def polling_state(seconds: float) -> str:
    shown = f"{seconds:g} s"
    return f"Live updates on (checking every {shown})"


class LiveUpdates(QObject):
    """Reads the change feed as soon as it may have changed, and says what it found.

    Signals:
        changed: changes not reported before (list of ChangeView, oldest first).
        state_changed: the text for the status bar (see `state`).
    """

    changed = Signal(list)
    state_changed = Signal(str)

    def __init__(self, ctx: Context, parent: QObject | None = None, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._poll_seconds = poll_seconds
        services = ctx.services
        self._remote = services if isinstance(services, RemoteServices) else None
        self._local = services if isinstance(services, LocalServices) else None
        self._reader = FeedReader(self._local.db, ctx.agent) if self._local is not None else None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = False
        self._state = STOPPED_STATE
        self.uses_notify = self._local is not None and self._local.db.dialect == "postgresql"
        self._stopping = threading.Event()  # tells the remote stream's thread to finish

    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def start(self) -> None:
        """Begin reading the feed from now on (idempotent)."""
        if self.running:
            return
        if self._remote is not None:
            self._stopping.clear()
            self._tasks = [asyncio.ensure_future(self._stream_loop(self._remote))]
            return
        self._tasks = [asyncio.ensure_future(self._read_loop())]
        if self.uses_notify:
            self._tasks.append(asyncio.ensure_future(self._listen_loop()))

    def wake(self) -> None:
        """Read the feed now rather than at the next notification or poll."""
        self._wake.set()

    def stop(self) -> None:
        """Cancel the reading; `aclose()` also waits until the listening connection is closed."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        self._set_state(STOPPED_STATE)

    async def aclose(self) -> None:
        """Stop and wait for every task to finish, so nothing is left pending on the loop."""
        tasks, self._tasks = self._tasks, []
        self._stopping.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(STOPPED_STATE)

    # --- private ----------------------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    async def _stream_loop(self, remote: RemoteServices) -> None:
        """Show what the server pushes; when the stream drops, open it again (with backoff) from where it was."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[ChangeEvent | BaseException | None] = asyncio.Queue()
        after: int | None = None
        failures = 0
        while True:
            thread = threading.Thread(
                target=self._read_stream, args=(remote, after, loop, events), name="desk-live", daemon=True
            )
            thread.start()
            while (event := await events.get()) is not None and not isinstance(event, BaseException):
                failures = 0
                self._set_state(PUSHED_STATE)
                after = event.resume_after if event.resume_after is not None else after
                if event.changes:
                    self.changed.emit(event.changes)
            if isinstance(event, SignedOut):
                self._set_state(STOPPED_STATE)
                if self._ctx.connection is not None:
                    self._ctx.connection.signed_out(event)
                return
            self._set_state(PAUSED_STATE)
            if isinstance(event, ServerUnreachable) and self._ctx.connection is not None:
                self._ctx.connection.lost(event)
            await asyncio.sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
            failures += 1

    def _read_stream(
        self,
        remote: RemoteServices,
        after: int | None,
        loop: asyncio.AbstractEventLoop,
        events: asyncio.Queue[ChangeEvent | BaseException | None],
    ) -> None:
        """In its own thread (a stream blocks between events): hand each event to the loop; None when the stream
        ends, the error when it fails. Stops at the next event (keep-alives come every 15 s) once told to."""
        outcome: BaseException | None = None
        try:
            for event in remote.changes(after):
                if self._stopping.is_set():
                    return
                _hand_over(loop, events, event)
        except (DeskError, OSError) as error:
            outcome = error
        if not self._stopping.is_set():
            _hand_over(loop, events, outcome)

    async def _read_loop(self) -> None:
        """Read the feed whenever woken, and on a timer when nothing wakes us (polling, or LISTEN down)."""
        assert self._reader is not None
        failures = 0
        while True:
            try:
                fresh = await run(self._ctx.executor, self._reader.read)
            except (DeskError, DBAPIError, OSError):
                # The offline handling elsewhere tells the agent; here we only slow down and keep trying.
                self._set_state(PAUSED_STATE)
                await self._sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            if self.uses_notify and self._listening:
                self._set_state(NOTIFY_STATE)
            elif not self.uses_notify:
                self._set_state(polling_state(self._poll_seconds))
            if fresh:
                self.changed.emit(fresh)
            # While LISTEN works, a notification wakes us; otherwise (polling, or LISTEN reconnecting) the timer.
            await self._sleep(None if self.uses_notify and self._listening else self._poll_seconds)

    async def _sleep(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _listen_loop(self) -> None:
        """Keep a LISTEN connection open, reconnecting with backoff; each batch of notifications wakes the reader."""
        import psycopg  # only a window on its own PostgreSQL database listens: the others never load the driver

        failures = 0
        while True:
            connection: psycopg.AsyncConnection[Any] | None = None
            try:
                connection = await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True)
                await connection.execute(f"LISTEN {CHANNEL}")
                self._listening = True
                failures = 0
                self.wake()  # whatever committed while we were not listening
                async for _notify in connection.notifies():
                    # Notifications that arrive while the reader is busy only set the flag again: one read each.
                    self.wake()
            except psycopg.Error:
                pass
            finally:
                self._listening = False
                if connection is not None:
                    await _close_quietly(connection)
            self._set_state(PAUSED_STATE)
            self.wake()  # the reader falls back to its timer until we are back
            await asyncio.sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
            failures += 1

    def _conninfo(self) -> str:
        assert self._local is not None
        url = self._local.db.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def _hand_over(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: object) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting any more
        loop.call_soon_threadsafe(queue.put_nowait, item)


async def _close_quietly(connection: psycopg.AsyncConnection[Any]) -> None:
    import psycopg  # loaded already by the listener that opened the connection

    with contextlib.suppress(psycopg.Error, OSError):
        await asyncio.shield(connection.close())
