"""End users and organizations as the directory shows and edits them (desk.services.people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UserForm:
    name: str
    email: str
    phone: str | None = None
    organization_id: int | None = None


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    organization: str | None
    banned: bool


@dataclass(frozen=True)
class UserPage:
    """A page of the directory, by name; `more` when another page follows (ask with `after` = the last row)."""

    rows: tuple[UserRow, ...]
    more: bool


@dataclass(frozen=True)
class UserDetails:
    id: int
    form: UserForm
    banned: bool
    registered: bool  # has a Support Center password
    confirmed: bool  # proved their address
    created_at: datetime
    tickets: int
    open_tickets: int


@dataclass(frozen=True)
class OrganizationForm:
    name: str
    domains: tuple[str, ...] = ()  # new end users with an address here join by themselves
    shares_tickets: bool = False  # members see each other's tickets in the Support Center


@dataclass(frozen=True)
class OrganizationDetails:
    id: int
    form: OrganizationForm
    members: int
