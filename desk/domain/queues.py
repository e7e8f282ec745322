"""Which tickets a queue holds, and saved-search criteria, independent of any database."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from desk.domain.enums import Queue, StatusState, TicketSource
from desk.domain.textsearch import fold


@dataclass(frozen=True)
class QueueFacts:
    """The fields of a ticket (or of a tally of identical tickets) that queue membership depends on."""

    state: StatusState
    on_hold: bool
    assignee_id: int | None
    team_id: int | None
    answered: bool
    overdue: bool
    followed: bool = False  # by the agent asking (never true of a tally: the Following queue is counted apart)


def in_queue(queue: Queue, facts: QueueFacts, agent_id: int, team_ids: frozenset[int]) -> bool:
    if queue == Queue.CLOSED:
        return facts.state == StatusState.CLOSED
    if facts.state != StatusState.OPEN:
        return False
    match queue:
        case Queue.OPEN:
            return True
        case Queue.UNANSWERED:
            return not facts.answered
        case Queue.ANSWERED:
            return facts.answered
        case Queue.MINE:
            return facts.assignee_id == agent_id
        case Queue.MY_TEAMS:
            return facts.team_id is not None and facts.team_id in team_ids
        case Queue.FOLLOWING:
            return facts.followed
        case Queue.UNASSIGNED:
            return facts.assignee_id is None
        case Queue.OVERDUE:
            return facts.overdue
        case Queue.ON_HOLD:
            return facts.on_hold
    raise AssertionError(queue)


# Criteria's time bounds: each pair is a range [from, to).
MOMENTS = ("created_from", "created_to", "updated_from", "updated_to", "due_from", "due_to", "closed_from",
           "closed_to", "responded_from", "responded_to")  # fmt: skip


@dataclass(frozen=True)
class Criteria:
    """A saved search or an ad-hoc filter: every given field must match (lists match any of their values)."""

    queue: Queue | None = None
    status_ids: tuple[int, ...] = ()
    department_ids: tuple[int, ...] = ()
    priority_ids: tuple[int, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    unassigned: bool = False
    team_ids: tuple[int, ...] = ()
    topic_ids: tuple[int, ...] = ()
    sources: tuple[TicketSource, ...] = ()
    text: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    closed_from: datetime | None = None  # left the open state (resolved or closed)
    closed_to: datetime | None = None
    responded_from: datetime | None = None  # got its first reply
    responded_to: datetime | None = None
    # Exactly these tickets (the ones behind a report's figure), as far as the other fields and access allow.
    ticket_ids: tuple[int, ...] = ()

    @property
    def is_plain_queue(self) -> bool:
        """Only a queue: its count can come from the tallies."""
        return self == Criteria(queue=self.queue)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v not in (None, (), "", False)}
        for key in MOMENTS:
            if key in data:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Criteria:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "queue":
                values[key] = Queue(value)
            elif key == "sources":
                values[key] = tuple(TicketSource(v) for v in value)
            elif key.endswith("_ids"):
                values[key] = tuple(int(v) for v in value)
            elif key in MOMENTS:
                values[key] = datetime.fromisoformat(value)
            elif key in ("text", "unassigned"):
                values[key] = value
        return cls(**values)


# How long a text sort key is: two texts that fold to the same first characters keep their order by ticket id.
SORT_KEY_LENGTH = 80


def text_sort_key(text: str | None) -> str:
    """The key a text column sorts by, compared code point by code point on every engine.

    One order on SQLite, PostgreSQL and MariaDB whatever their collations: the text folded as search folds it
    (`textsearch.fold`: case and accents ignored, "émile" sorts with "Emile" between "Dupont" and "Faure";
    full-width letters and ligatures as their plain letters), and any run of spaces, controls or invisible marks
    counts as one space. The key ends on a visible character, so MariaDB's PAD SPACE comparison agrees with the
    other engines' byte order.
    """
    kept = "".join(_SORT_CHAR.get(unicodedata.category(c)[:2], c) for c in fold(text or ""))
    return " ".join(kept.split())[:SORT_KEY_LENGTH].rstrip()


# Invisible formatting goes; controls and separators become spaces.
_SORT_CHAR = {"Cf": "", "Cs": "", "Co": "", "Cn": "", "Cc": " ", "Zs": " ", "Zl": " ", "Zp": " "}
