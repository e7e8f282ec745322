"""The composer's side of the ticket lock: taken on the first keystroke, renewed while typing, released on leaving.

Every call runs in the Context's database executor and its outcome comes back to the GUI thread by a queued signal
of a courier that lives as long as the application (never the composer's own: the worker thread would touch an
object the GUI thread may have deleted meanwhile), so neither the GUI thread nor the typing ever waits for it; a
lock call that fails is logged and forgotten (the lock is advisory, the text is the composer's and is never touched
here). Merely opening a ticket takes nothing: locks held by agents who only browsed are a known osTicket pain
(osTicket#1434).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from shiboken6 import isValid

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from desk.domain.errors import Locked
from desk.domain.views import LockView
from desk.services import locks
from desk.ui.tasks import Context

log = logging.getLogger(__name__)

RENEW_SECONDS = 30.0  # renew at most this often while typing; far below the shortest useful lock (1 minute)


class ReplyLock(QObject):
    """The lock on the ticket the composer writes for.

    Signals:
        holder_changed(object, object, bool): another agent's name, until when (datetime) and whether this agent
            may take over; (None, None, False) when this agent holds the lock or nobody does.
    """

    holder_changed = Signal(object, object, bool)

    def __init__(self, ctx: Context, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._ticket_id: int | None = None
        self._held_since: float | None = None  # monotonic time of the last successful acquire or renewal
        self._tried_at = float("-inf")  # monotonic time of the last attempt, so a refusal is not retried per key
        self._busy = False

    def set_ticket(self, ticket_id: int | None) -> None:
        """Write for another ticket (or none): the lock on the previous one is released."""
        if ticket_id == self._ticket_id:
            return
        self.release()
        self._ticket_id = ticket_id
        self._tried_at = float("-inf")
        self.holder_changed.emit(None, None, False)
        if ticket_id is not None:
            # Say at once who is writing here, before the agent types a word.
            self._call(locks.holder, ticket_id, self._on_looked_up)

    def typing(self) -> None:
        """The agent changed the reply: take the lock, or renew it when the last renewal is old enough."""
        if self._ticket_id is None or self._busy or time.monotonic() - self._tried_at < RENEW_SECONDS:
            return
        self._submit(locks.renew if self._held_since is not None else locks.acquire)

    def take_over(self) -> None:
        """Take the lock from the agent holding it (the service checks the role)."""
        if self._ticket_id is not None and not self._busy:
            self._submit(locks.take_over)

    def release(self) -> None:
        """Give the lock back (sent, left the ticket, closed the tab); nothing to do when it is not held."""
        ticket_id = self._ticket_id
        if ticket_id is None or (self._held_since is None and not self._busy):
            return
        self._held_since = None
        self._tried_at = float("-inf")
        future = self._ctx.executor.submit(self._ctx.services.call, locks.release, self._ctx.agent, ticket_id)
        future.add_done_callback(_log_failure)

    def holds(self) -> bool:
        return self._held_since is not None

    def _submit(self, service: Any) -> None:
        ticket_id = self._ticket_id
        assert ticket_id is not None
        self._busy = True
        self._tried_at = time.monotonic()
        self._call(service, ticket_id, self._on_finished)

    def _call(self, service: Any, ticket_id: int, then: Callable[[int, object], None]) -> None:
        """Run the lock service in the executor; `then(ticket_id, its value or error)` in the GUI thread, unless
        the composer has been deleted by then (its lock expires by itself)."""
        courier, answered = _courier(), functools.partial(self._answered, ticket_id, then)  # made in this thread
        future = self._ctx.executor.submit(self._ctx.services.call, service, self._ctx.agent, ticket_id)
        future.add_done_callback(lambda done: courier.delivered.emit(answered, done))

    def _answered(self, ticket_id: int, then: Callable[[int, object], None], done: Future[Any]) -> None:
        if not isValid(self):
            return
        outcome = done.exception() if not done.cancelled() else RuntimeError("cancelled")
        then(ticket_id, outcome if outcome is not None else done.result())

    def _on_finished(self, ticket_id: int, outcome: object) -> None:
        self._busy = False
        if ticket_id != self._ticket_id:  # the agent moved on while it was taken: give it back at once
            if not isinstance(outcome, Exception):
                self._ctx.executor.submit(
                    self._ctx.services.call, locks.release, self._ctx.agent, ticket_id
                ).add_done_callback(_log_failure)
            return
        if isinstance(outcome, Locked):
            self._held_since = None
            self.holder_changed.emit(outcome.holder_name, outcome.until, outcome.can_take_over)
        elif isinstance(outcome, Exception):
            log.warning("Ticket lock call failed: %s", outcome)  # advisory: typing and sending go on
            self._held_since = None
        else:
            self._held_since = time.monotonic()
            self.holder_changed.emit(None, None, False)

    def _on_looked_up(self, ticket_id: int, outcome: object) -> None:
        if ticket_id != self._ticket_id or self._tried_at != float("-inf"):
            return  # the agent has typed meanwhile: the answer to that attempt says more (take over or not)
        if isinstance(outcome, LockView) and outcome.agent.id != self._ctx.agent.id:
            # Whether this agent may take over is known once they try (the service decides); until then no button.
            self.holder_changed.emit(outcome.agent.name, outcome.expires_at, False)
        elif isinstance(outcome, Exception):
            log.warning("Looking up the ticket's lock failed: %s", outcome)


def until_text(until: datetime) -> str:
    """A lock's end in the agent's local time, as the notice shows it."""
    return until.astimezone().strftime("%H:%M")


def _log_failure(done: Future[Any]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("Releasing the ticket lock failed: %s", done.exception())


class _Courier(QObject):
    """Carries a worker thread's answer to the GUI thread, where it lives (a queued signal)."""

    delivered = Signal(object, object)  # (what to call with it, the finished Future)

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self.delivered.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, answered: Callable[[Future[Any]], None], done: Future[Any]) -> None:
        answered(done)


@functools.cache
def _courier() -> _Courier:
    """The application's courier, made in the GUI thread at the first lock call."""
    return _Courier(QCoreApplication.instance())
