"""Running service calls off the GUI thread: one database executor, awaited on the qasync loop.

The executor's threads never touch a QObject; they return frozen views, and the coroutine that awaited them
updates the widgets back on the GUI thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import qasync

from desk.client.services import Services
from desk.domain.errors import ServerUnreachable, SignedOut
from desk.domain.permissions import AgentActor
from desk.domain.views import Choices

if TYPE_CHECKING:
    from desk.storage.db import Database
    from desk.ui.offline import ConnectionMonitor

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Context:
    """What every screen of a signed-in agent shares: where the services run, the agent, the executor, the choices.

    Attributes:
        services: the services, in this process on a local file or on the Desk server (desk.client).
        agent: the signed-in agent, passed as the actor of every service call.
        choices: reference data for the ticket fields, loaded at sign-in and on refresh.
        connection: the window's watch over the server (None outside a main window, e.g. in widget tests).
        kept_session: the keyring entry keeping the server session's secret when the agent chose "Stay signed in"
            (quitting then leaves the session open); None otherwise.
    """

    services: Services
    agent: AgentActor
    choices: Choices
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="db")
    )
    connection: ConnectionMonitor | None = None
    kept_session: str | None = None
    closed: bool = field(default=False, init=False)
    # The tasks awaiting a call right now: closing the session cancels them, so no answer reaches a closed screen.
    _callers: set[asyncio.Task[Any]] = field(default_factory=set, init=False, repr=False)

    @property
    def url_label(self) -> str:
        """The connection as shown in the status bar (no password)."""
        return self.services.label

    async def call(self, fn: Callable[Concatenate[Database, AgentActor, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a service as this agent in the executor, in this process or on the server.

        A lost server raises ServerUnreachable, a DeskError, so every screen shows it as a message rather than a
        traceback, and the window's ConnectionMonitor starts watching for the server's return. Once the session is
        closed, a call (a timer or a loader that fired late) is cancelled instead of started.
        """
        if self.closed:
            raise asyncio.CancelledError
        caller = asyncio.current_task()
        if caller is not None:
            self._callers.add(caller)
        try:
            return await run(self.executor, self.services.call, fn, self.agent, *args, **kwargs)
        except ServerUnreachable as error:
            if self.connection is not None:
                self.connection.lost(error)
            raise
        except SignedOut as error:
            if self.connection is not None:
                self.connection.signed_out(error)
            raise
        finally:
            if caller is not None:
                self._callers.discard(caller)

    def close(self) -> None:
        """End the session's background work: the tasks awaiting a call are cancelled (their answers dropped),
        queued calls dropped, and the ones in flight waited for (bounded by the connect and statement timeouts):
        a worker thread that outlived the session could drop the last reference to a Qt object off the GUI thread."""
        self.closed = True
        for caller in self._callers:
            caller.cancel()
        self.executor.shutdown(wait=True, cancel_futures=True)


async def run(executor: ThreadPoolExecutor, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))


def async_slot(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """qasync.asyncSlot, typed: the slot starts the coroutine as a task; uncaught errors reach sys.excepthook."""
    return cast(Callable[P, None], qasync.asyncSlot()(fn))
