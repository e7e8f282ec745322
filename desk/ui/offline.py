"""Working through a lost server: sends kept on disk until the server is back, and the watch that notices it is.

When a service call finds the server unreachable (the database, or the Desk server: `ServerUnreachable` from
`desk.client`), the window goes offline: the composer's send becomes a `PendingAction`,
written atomically to one JSON file under `data_dir()/pending` (so it survives a crash or a restart of Desk),
and the `ConnectionMonitor` tries the server again after 1, 2, 4 … 30 s. Once it answers, the pending actions
are sent in the order they were made; each carries the client key made when Send was pressed, so one whose
first attempt did reach the server (the connection broke during COMMIT) is found there, not posted twice. An
action the ticket now refuses (changed meanwhile, no longer allowed) is reported; its text stays in the draft.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desk import config
from desk.domain.enums import EntryKind, Recipients
from desk.domain.errors import DatabaseUnavailable, DeskError, ServerUnreachable, SignedOut
from desk.domain.views import TicketView
from desk.services import entries
from desk.ui.tasks import Context, run
from desk.ui.ticket.drafts import Draft, DraftStore, read_uploads
from desk.ui.ticket.rich import picture_uploads

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


def backoff_delays(first: float = FIRST_DELAY_S, ceiling: float = MAX_DELAY_S) -> Iterator[float]:
    """Seconds to wait before each new attempt: 1, 2, 4, 8, 16, 30, 30, … (doubling, capped, never ending).

    Doubling finds a server back from a restart within seconds, and the cap keeps a long outage to one cheap
    connection attempt per half minute per desktop.
    """
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, ceiling)


@dataclass(frozen=True)
class PendingAction:
    """A reply or note the agent sent while the server was unreachable.

    Attributes:
        client_key: the send's idempotency key, made when Send was pressed; also the file's name.
        database: the help desk it is for (`Services.identity`).
        agent_id: who sent it (only they apply it).
        ticket_id: the ticket it answers.
        kind: "reply" or "note".
        body: the text as it is to be posted (a reply's signature included).
        body_html: its rich text, None for plain text (its pictures are the draft's).
        recipients: who a reply goes to (Recipients value).
        status_id: the status to set with it, or None.
        attachments: paths of the files to attach, read again when it is applied.
        expected_version: the ticket version the agent saw: a ticket changed since refuses it as a conflict.
        minutes: the time spent entered with it, or None.
        draft: the composer's draft (Draft.to_json), so a refused action gives the agent their input back.
        created_at: when Send was pressed (ISO 8601, UTC).
        order: sorts actions in the order they were made (nanoseconds since the epoch).
    """

    client_key: str
    database: str
    agent_id: int
    ticket_id: int
    kind: str
    body: str
    recipients: str = Recipients.ALL.value
    status_id: int | None = None
    attachments: tuple[str, ...] = ()
    expected_version: int | None = None
    minutes: int | None = None
    draft: dict[str, Any] = field(default_factory=dict)
    body_html: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    order: int = field(default_factory=time.time_ns)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["attachments"] = list(self.attachments)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingAction:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["attachments"] = tuple(str(path) for path in known.get("attachments", ()))
        return cls(**known)

    def saved_draft(self) -> Draft:
        return Draft.from_json(self.draft) if self.draft else Draft(mode=EntryKind(self.kind), body=self.body)


class PendingStore:
    """Pending actions as files `<client_key>.json` in one folder (by default `data_dir()/pending`).

    Files, not QSettings or the database: they must be written while the database is gone and be read by the
    next run of Desk; one file per action, replaced atomically, so a crash leaves whole actions only.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        # Resolved on use, so DESK_DATA_DIR set after construction (tests, a profile switch) is honoured.
        return self._folder if self._folder is not None else config.data_dir() / "pending"

    def add(self, action: PendingAction) -> None:
        config.write_json(self.folder / f"{action.client_key}.json", action.to_json())

    def remove(self, client_key: str) -> None:
        (self.folder / f"{client_key}.json").unlink(missing_ok=True)

    def actions(self, database: str | None = None, agent_id: int | None = None) -> list[PendingAction]:
        """The kept actions (of this database and agent, when given), oldest first; unreadable files are skipped
        and logged, never deleted: they are someone's words."""
        found = []
        for path in self.folder.glob("*.json"):
            try:
                action = PendingAction.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError) as error:
                log.warning("Cannot read the pending action %s: %s", path, error)
                continue
            if (database is None or action.database == database) and (agent_id is None or action.agent_id == agent_id):
                found.append(action)
        return sorted(found, key=lambda action: (action.order, action.client_key))

    def for_ticket(self, database: str, agent_id: int, ticket_id: int) -> PendingAction | None:
        return next((a for a in self.actions(database, agent_id) if a.ticket_id == ticket_id), None)


async def apply_action(ctx: Context, action: PendingAction) -> TicketView:
    """Send one kept action now (raises ServerUnreachable while the server is still away)."""
    uploads = await asyncio.to_thread(read_uploads, [Path(path) for path in action.attachments])
    if action.body_html:
        uploads += picture_uploads(action.saved_draft().pictures, action.body_html)
    if action.kind == EntryKind.REPLY.value:
        return await ctx.call(
            entries.post_reply,
            action.ticket_id,
            action.body,
            body_html=action.body_html,
            recipients=Recipients(action.recipients),
            status_id=action.status_id,
            attachments=uploads,
            expected_version=action.expected_version,
            client_key=action.client_key,
            minutes=action.minutes,
        )
    return await ctx.call(
        entries.post_note,
        action.ticket_id,
        action.body,
        body_html=action.body_html,
        status_id=action.status_id,
        attachments=uploads,
        expected_version=action.expected_version,
        client_key=action.client_key,
        minutes=action.minutes,
    )


class ConnectionMonitor(QObject):
    """Whether the server answers, the watch for its return, and the sends kept until then.

    One per signed-in window, reachable as `ctx.connection`; `Context.call` tells it (`lost`) when a call found
    the server unreachable. All its work runs on the qasync loop; the database round trips in the executor.

    Signals:
        online_changed(bool): the server was lost (False) or answers again (True).
        retry_scheduled(float): the next attempt to reach the server is in this many seconds.
        action_applied(object, object): a kept action (PendingAction) was posted; the ticket (TicketView).
        action_refused(object, str): a kept action (PendingAction) was refused, and why; its draft is kept.

    Attributes:
        store: where the pending actions are kept.
    """

    online_changed = Signal(bool)
    retry_scheduled = Signal(float)
    session_ended = Signal(str)
    action_applied = Signal(object, object)
    action_refused = Signal(object, str)

    def __init__(
        self,
        ctx: Context,
        store: PendingStore | None = None,
        drafts: DraftStore | None = None,
        parent: QObject | None = None,
        *,
        delays: Callable[[], Iterator[float]] = backoff_delays,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.store = store if store is not None else PendingStore()
        self._drafts = drafts if drafts is not None else DraftStore()
        self._delays = delays
        self._sleep = sleep
        self._online = True
        # Through a Desk server: whether it answered but could not reach its database (the window says so, rather
        # than "server unreachable": the agent's network is fine, whoever runs the server should look).
        self.database_down = False
        self._probe: asyncio.Task[None] | None = None
        self._applying = asyncio.Lock()
        self.database = ctx.services.identity  # ticket ids mean nothing on another help desk
        self._ended = False

    @property
    def online(self) -> bool:
        return self._online

    def lost(self, error: ServerUnreachable | None = None) -> None:
        """A call found the server unreachable (`error` says whether the Desk server's database was the trouble):
        go offline and start watching for its return (once)."""
        if error is not None:
            self.database_down = isinstance(error, DatabaseUnavailable)
        if self._online:
            self._online = False
            self.online_changed.emit(False)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._watch())

    def signed_out(self, error: SignedOut) -> None:
        """The session on the Desk server has ended (timed out, ended by an administrator): say so once."""
        if not self._ended:
            self._ended = True
            self.session_ended.emit(str(error))

    def pending_for(self, ticket_id: int) -> PendingAction | None:
        return self.store.for_ticket(self.database, self._ctx.agent.id, ticket_id)

    async def keep(self, action: PendingAction) -> None:
        """Keep a send for later (written off the GUI thread) and make sure the watch is running."""
        await asyncio.to_thread(self.store.add, action)
        self.lost()

    async def apply_pending(self) -> None:
        """Send this agent's kept actions for this database, oldest first; stop at the first that finds the
        server gone again (the watch is restarted by Context.call)."""
        async with self._applying:  # the watch and the start-up must not send the same action twice at once
            actions = await asyncio.to_thread(self.store.actions, self.database, self._ctx.agent.id)
            for action in actions:
                try:
                    ticket = await apply_action(self._ctx, action)
                except ServerUnreachable:
                    return
                except (DeskError, OSError) as error:
                    await asyncio.to_thread(self._refused, action)
                    message = str(error) if isinstance(error, DeskError) else f"{error.strerror}: {error.filename}"
                    self.action_refused.emit(action, message)
                    continue
                await asyncio.to_thread(self._applied, action)
                self.action_applied.emit(action, ticket)

    def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()

    # --- private ----------------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await self._until_reachable()
            self._online = True
            self.online_changed.emit(True)
            await self.apply_pending()
            if self._online:
                return
            # The server went away again while the kept actions were sent (lost() found this watch still
            # running and started none): watch again, or the rest would wait for the next send or a restart.

    async def _until_reachable(self) -> None:
        for delay in self._delays():
            self.retry_scheduled.emit(delay)
            await self._sleep(delay)
            try:
                await run(self._ctx.executor, self._ctx.services.ping)
            except ServerUnreachable as error:
                self.database_down = isinstance(error, DatabaseUnavailable)
                continue
            except DeskError as error:
                log.warning("The server answers, but not as expected: %s", error)
                continue
            return

    def _applied(self, action: PendingAction) -> None:
        self.store.remove(action.client_key)
        # The draft is what was sent; one typed after it (the composer allows none while it is pending) is kept.
        draft = self._drafts.load(action.agent_id, action.ticket_id)
        if draft is None or draft.body == action.saved_draft().body:
            self._drafts.delete(action.agent_id, action.ticket_id)

    def _refused(self, action: PendingAction) -> None:
        if self._drafts.load(action.agent_id, action.ticket_id) is None:
            self._drafts.save(action.agent_id, action.ticket_id, action.saved_draft())
        self.store.remove(action.client_key)
