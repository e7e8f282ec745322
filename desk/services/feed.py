"""The change feed as an agent reads it: what changed on the tickets they may see, and who changed it.

Every service that changes a ticket writes a `changes` row in its own transaction (desk/storage/changes.py).
Clients read the rows after the last one they saw. Ids are handed out when a row is inserted, not when its
transaction commits: on every engine a transaction holding id 41 can commit after another one holding id 42
(PostgreSQL sequences and InnoDB auto-increment alike), so "id > the last id I saw" alone can skip 41 for good.
`FeedReader` therefore re-reads a window of recent ids and drops the ones it has already seen.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from desk.domain.enums import ActorKind
from desk.domain.permissions import Actor
from desk.domain.views import ChangeView
from desk.services.base import query, require_agent, visible_to
from desk.storage import changes
from desk.storage.db import Database
from desk.storage.models import Agent, Change, Ticket, User

MAX_LIMIT = 5_000
# How long a change row may stay uncommitted after a later one has committed, and still be seen. Desk's
# transactions are short (one user action each); a transaction open for longer than this after writing its
# change row is shown by the next manual refresh instead.
OVERLAP_SECONDS = 5.0


@query
def latest_change_id(session: Session, actor: Actor) -> int:
    """The newest committed change id (0 for an empty feed): where an agent starts reading."""
    require_agent(actor)
    return changes.latest_id(session)


@query
def changes_since(session: Session, actor: Actor, after_id: int, limit: int = 500) -> list[ChangeView]:
    """Changes with an id above `after_id`, oldest first, to the tickets this agent may see (and those told to
    this agent alone: their alerts)."""
    agent = require_agent(actor)
    statement = (
        select(Change, Agent.name, User.name)
        .outerjoin(Agent, and_(Change.actor_kind == ActorKind.AGENT.value, Agent.id == Change.actor_id))
        .outerjoin(User, and_(Change.actor_kind == ActorKind.USER.value, User.id == Change.actor_id))
        .where(Change.id > after_id, or_(Change.agent_id.is_(None), Change.agent_id == agent.id))
        .order_by(Change.id)
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    condition = visible_to(agent)
    if condition is not None:
        statement = statement.outerjoin(Ticket, Ticket.id == Change.ticket_id).where(
            or_(Change.ticket_id.is_(None), condition)
        )
    return [
        ChangeView(
            id=change.id,
            ticket_id=change.ticket_id,
            aspect=change.aspect,
            actor_kind=ActorKind(change.actor_kind),
            actor_id=change.actor_id,
            actor=agent_name or user_name or ("System" if change.actor_kind == ActorKind.SYSTEM.value else "Someone"),
            created_at=change.created_at,
        )
        for change, agent_name, user_name in session.execute(statement)
    ]


class FeedReader:
    """Reads the feed for one agent, each change once, including changes that commit out of id order.

    Each `read()` notes the newest committed id (a horizon) with the time it was read. Any id at or below a
    horizon was either committed then or belonged to a transaction still open; such a transaction commits
    within OVERLAP_SECONDS, so reading from the newest horizon at least that old finds it. Ids already
    returned are remembered (until they fall below that floor) and not returned twice.

    Plain and blocking: call it in the database executor, one call at a time.
    """

    def __init__(
        self,
        db: Database,
        actor: Actor,
        *,
        overlap_seconds: float = OVERLAP_SECONDS,
        limit: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._actor = actor
        self._overlap = overlap_seconds
        self._limit = limit
        self._clock = clock
        self._floor: int | None = None
        self._horizons: deque[tuple[float, int]] = deque()
        self._seen: set[int] = set()

    @property
    def started(self) -> bool:
        return self._floor is not None

    @property
    def floor(self) -> int:
        """Every change at or below this id has been returned or was committed before the reader started: where a
        reader that takes over (a reconnecting client) starts, to miss nothing."""
        return self._floor or 0

    def start(self, after: int | None = None) -> None:
        """Read from now on, or from after the change `after` (a reconnecting client's floor): changes committed
        before are in what the window loads anyway."""
        latest = latest_change_id(self._db, self._actor)
        self._floor = latest if after is None else min(max(after, 0), latest)
        self._horizons.append((self._clock(), self._floor))

    def read(self) -> list[ChangeView]:
        """Changes not returned before, oldest first."""
        if self._floor is None:
            self.start()
        now = self._clock()
        latest = latest_change_id(self._db, self._actor)
        self._horizons.append((now, latest))
        while len(self._horizons) > 1 and self._horizons[1][0] <= now - self._overlap:
            self._horizons.popleft()
        if self._horizons[0][0] <= now - self._overlap:
            self._floor = max(self._floor or 0, self._horizons[0][1])
        floor = self._floor or 0
        self._seen = {i for i in self._seen if i > floor}
        fresh: list[ChangeView] = []
        after = floor
        while True:
            page = changes_since(self._db, self._actor, after, self._limit)
            fresh.extend(change for change in page if change.id not in self._seen)
            if len(page) < self._limit:
                break
            after = page[-1].id
        self._seen.update(change.id for change in fresh)
        return fresh
