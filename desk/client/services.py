"""The one way a screen runs a service: `Services.call(service, actor, *args, **kwargs)`.

`LocalServices` runs it in this process on a local SQLite file (a single seat); `desk.client.remote.RemoteServices`
sends it to `desk serve`, which runs it as the signed-in agent. Screens do not know which. Both are blocking: the
window calls them from its worker threads (desk.ui.tasks.Context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from desk.domain.errors import ServerUnreachable
from desk.domain.permissions import AgentActor
from desk.storage.db import Database, is_unreachable

R = TypeVar("R")

UNREACHABLE = "The database server is unreachable. Desk reconnects by itself as soon as it answers."


class Services(Protocol):
    """Where the services run. `identity` names the help desk (a pending reply belongs to one), `label` is what the
    status bar shows."""

    identity: str
    label: str

    def call(self, service: Callable[..., R], actor: AgentActor, /, *args: Any, **kwargs: Any) -> R: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class LocalServices:
    """The services in this process, on a database this Desk opened itself."""

    def __init__(self, db: Database, label: str) -> None:
        self.db = db
        self.label = label
        self.identity = db.engine.url.render_as_string(hide_password=True)

    def call(self, service: Callable[..., R], actor: AgentActor, /, *args: Any, **kwargs: Any) -> R:
        try:
            return service(self.db, actor, *args, **kwargs)
        except DBAPIError as error:
            if not is_unreachable(error):
                raise
            raise ServerUnreachable(UNREACHABLE) from error

    def ping(self) -> None:
        try:
            self.db.ping()
        except DBAPIError as error:
            raise ServerUnreachable(UNREACHABLE) from error

    def close(self) -> None:
        self.db.dispose()
