"""Typed errors a person can act on; anything else escaping a service is a bug."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DeskError(Exception):
    """An expected failure whose message is shown to the user as it is."""


class PermissionDenied(DeskError):
    pass


class NotFound(DeskError):
    pass


class Invalid(DeskError):
    """Bad input. `fields` maps a field name to what to fix there, for forms that show errors beside the field."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields: Mapping[str, str] = dict(fields or {})


@dataclass(frozen=True)
class FieldChange:
    """One field someone else changed since the caller loaded the ticket."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ConflictInfo:
    changed_by: str | None
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)


class Conflict(DeskError):
    """A stale write: someone changed the ticket since it was loaded. Carries who and what, so nothing is lost."""

    def __init__(self, message: str, info: ConflictInfo | None = None) -> None:
        super().__init__(message)
        self.info = info or ConflictInfo(changed_by=None)


class Locked(Conflict):
    """Another agent is writing a reply to the ticket and holds its lock until `until`.

    The lock is advisory: the GUI shows who holds it (and a take-over button when `can_take_over`), but sending
    is still possible; the ticket's version check stays the guard against lost updates.
    """

    def __init__(self, message: str, holder_id: int, holder_name: str, until: datetime, can_take_over: bool) -> None:
        super().__init__(message, ConflictInfo(changed_by=holder_name))
        self.holder_id = holder_id
        self.holder_name = holder_name
        self.until = until
        self.can_take_over = can_take_over


class Rejected(PermissionDenied):
    """A rule refused a new ticket (desk.services.rules makes these). What was refused is kept all the same, once
    the refused transaction is rolled back: see `keep`."""

    @property
    def reason(self) -> str:
        """Why it was refused, as the kept record says."""
        return str(self)

    def keep(self, session: Any, *, copy: bool = True) -> None:
        """Keep the refused submission in this session (`copy`: a copy of it, where nothing else stores it, as
        mail intake stores its mail) and ban its sender when the rule says so."""


class SchemaMismatch(DeskError):
    """The database schema is older or newer than this version of Desk."""


class SignedOut(DeskError):
    """The agent's session on the Desk server has ended (signed out, expired, idle, ended by an administrator, or the
    agent deactivated): sign in again."""


SESSION_ENDED = (
    "Your session on the Desk server has ended (signed out, timed out or ended by an administrator). Sign in again."
)


class ServerUnreachable(DeskError):
    """The server did not answer; whether a change reached it is unknown (hence the client keys)."""


class DatabaseUnavailable(ServerUnreachable):
    """The Desk server answers but cannot reach its database."""


class ConnectionProblem(DeskError):
    """The help desk cannot be used; the message says why and what to do.

    Attributes:
        field: the dialog field the problem is about ("address", "path"), if any.
        schema: True when the database answered but its schema is not this Desk's.
    """

    def __init__(self, message: str, *, field: str | None = None, schema: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.schema = schema
