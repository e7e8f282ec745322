"""Macros: a named set of changes an agent applies to a ticket in one action ("Close as duplicate", "Ask for logs →
Pending"); and what an agent writes of a task on a ticket's checklist."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from desk.domain.enums import EntryKind


@dataclass(frozen=True)
class MacroActions:
    """What a macro does; each field left at its default leaves that part of the ticket be.

    Applied in this order, each as the agent's own action with its own permission and thread event: help topic,
    priority, SLA plan, team, assignee, following, the reply or note with the status (the status alone when there is
    neither), and the transfer to another department last (it may take the ticket out of the agent's reach).
    """

    topic_id: int | None = None
    priority_id: int | None = None
    sla_id: int | None = None
    team_id: int | None = None
    assign_to_me: bool = False  # the agent applying it; else assignee_id
    assignee_id: int | None = None
    follow: bool | None = None  # True: follow the ticket, False: stop following it
    post: EntryKind | None = None  # a reply to the requester or an internal note, of `text`
    text: str = ""  # with canned responses' variables (%{ticket.number}…) filled in
    status_id: int | None = None
    department_id: int | None = None

    def is_empty(self) -> bool:
        return self == MacroActions()

    def to_json(self) -> dict[str, Any]:
        given = {name: value for name, value in asdict(self).items() if value != getattr(EMPTY_ACTIONS, name)}
        return {name: value.value if isinstance(value, EntryKind) else value for name, value in given.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MacroActions:
        """The actions as stored (a key no longer known is passed over)."""
        known = {item.name: data[item.name] for item in fields(cls) if item.name in data}
        if known.get("post") is not None:
            known["post"] = EntryKind(known["post"])
        return cls(**known)


EMPTY_ACTIONS = MacroActions()


@dataclass(frozen=True)
class MacroForm:
    name: str
    actions: MacroActions
    department_id: int | None = None  # None: offered on every department's tickets
    active: bool = True
    personal: bool = False  # the saving agent's own: only they see and apply it (on any ticket)


@dataclass(frozen=True)
class MacroDetails:
    id: int
    form: MacroForm
    updated_at: datetime


@dataclass(frozen=True)
class MacroChoice:
    """A macro as offered on one ticket: its reply or note with that ticket's values filled in, as it would be
    posted."""

    id: int
    name: str
    actions: MacroActions
    personal: bool


@dataclass(frozen=True)
class TaskForm:
    text: str
    assignee_id: int | None = None
    due_on: date | None = None
