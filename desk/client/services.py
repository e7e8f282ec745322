"""The one way a screen runs a service: `Services.call(service, actor, *args, **kwargs)`.

`desk.client.local.LocalServices` runs it in this process on a local SQLite file (a single seat);
`desk.client.remote.RemoteServices` sends it to `desk serve`, which runs it as the signed-in agent. Screens do
not know which. Both are blocking: the window calls them from its worker threads (desk.ui.tasks.Context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from desk.domain.permissions import AgentActor

R = TypeVar("R")


class Services(Protocol):
    """Where the services run. `identity` names the help desk (a pending reply belongs to one), `label` is what the
    status bar shows."""

    identity: str
    label: str

    def sign_in(self, username: str, password: str, *, client: str = "Desk") -> AgentActor:
        """The agent whose password this is; a server also opens a session for them (`client` names this Desk)."""
        ...

    def needs_administrator(self) -> bool:
        """Whether the help desk is new, without any agent: its first step is creating its administrator."""
        ...

    def create_administrator(
        self, username: str, name: str, email: str, password: str, *, code: str = "", client: str = "Desk"
    ) -> AgentActor:
        """The new help desk's first administrator, signed in; a server also wants the set-up code it printed."""
        ...

    def call(self, service: Callable[..., R], actor: AgentActor, /, *args: Any, **kwargs: Any) -> R: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...
