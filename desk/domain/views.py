"""Immutable views that services return; ORM objects never leave a service call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from desk.domain.enums import (
    ActorKind,
    CollaboratorRole,
    EntryKind,
    EventKind,
    OutgoingMail,
    StatusState,
    TicketSource,
)
from desk.domain.permissions import AgentActor


@dataclass(frozen=True)
class Ref:
    """A named row: enough to show it and to pick it again."""

    id: int
    name: str


@dataclass(frozen=True)
class PriorityView:
    id: int
    name: str
    level: int
    colour: str


@dataclass(frozen=True)
class StatusView:
    id: int
    name: str
    state: StatusState
    pauses_sla: bool


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    email: str
    phone: str | None = None
    organization: str | None = None


@dataclass(frozen=True)
class AttachmentView:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None = None  # the entry's HTML shows it in place, as `cid:` this


def format_size(size: int) -> str:
    """A file size for people: "512 bytes", "12 KB", "3.4 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class Upload:
    """A file the user attaches to a new entry."""

    name: str
    content_type: str
    data: bytes
    content_id: str | None = None  # the HTML of its entry shows it in place (desk.services.richtext)


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: EntryKind
    author_kind: ActorKind
    author: str
    created_at: datetime
    body_text: str
    body_html: str | None
    recipients: tuple[str, ...] = ()
    edited_at: datetime | None = None
    attachments: tuple[AttachmentView, ...] = ()
    sender_unverified: bool = False  # mail whose From address nothing vouched for (Mailbox.sender_check)
    minutes: int | None = None  # the time the agent spent, entered with it (never shown to end users)


@dataclass(frozen=True)
class EventView:
    id: int
    kind: EventKind
    actor_kind: ActorKind
    actor: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


ThreadItem = EntryView | EventView


@dataclass(frozen=True)
class CollaboratorView:
    user: PersonView
    role: CollaboratorRole


@dataclass(frozen=True)
class LinkedTicket:
    """A ticket linked to the one shown; its subject only when the actor may open it (None otherwise)."""

    id: int
    number: str
    subject: str | None


@dataclass(frozen=True)
class TaskView:
    """One item of a ticket's checklist (agents' views only)."""

    id: int
    text: str
    assignee: Ref | None
    due_on: date | None
    done_at: datetime | None  # None: still to do
    done_by: Ref | None


@dataclass(frozen=True)
class TicketView:
    """One ticket as a screen shows it, with its thread as the actor may see it."""

    id: int
    number: str
    subject: str
    requester: PersonView
    department: Ref
    topic: Ref | None
    priority: PriorityView
    status: StatusView
    sla: Ref | None
    assignee: Ref | None
    team: Ref | None
    source: TicketSource
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    answered: bool
    overdue: bool
    closed_at: datetime | None
    reopen_count: int
    last_message_at: datetime | None
    last_response_at: datetime | None
    merged_into: str | None
    version: int
    collaborators: tuple[CollaboratorView, ...] = ()
    links: tuple[LinkedTicket, ...] = ()
    followers: tuple[Ref, ...] = ()  # the agents following it (agents' views only), by name
    following: bool = False  # whether the agent the view was made for follows it
    thread: tuple[ThreadItem, ...] = ()
    time_spent: int = 0  # the minutes entered with its replies and notes, in total (0 for end users)
    time_required: bool = False  # agents' replies and notes need the time spent (shown to agents only)
    tasks: tuple[TaskView, ...] = ()  # its checklist, in the order added (agents' views only)
    tasks_required: bool = False  # its department refuses to resolve or close it before every task is done
    pending_until: datetime | None = None  # in an on-hold status until then, then back to Open by itself

    @property
    def linked(self) -> tuple[str, ...]:
        """The linked tickets' numbers."""
        return tuple(link.number for link in self.links)

    @property
    def due(self) -> datetime | None:
        """The next deadline: first response until it is given, then resolution."""
        if self.first_responded_at is None and self.first_response_due is not None:
            return self.first_response_due
        return self.resolution_due


@dataclass(frozen=True)
class QueueRow:
    """One line of a queue table."""

    id: int
    number: str
    subject: str
    requester: str
    requester_email: str
    priority: str
    priority_level: int
    priority_colour: str
    assignee: str | None
    team: str | None
    department: str
    status: str
    status_state: StatusState
    due: datetime | None
    overdue: bool
    answered: bool
    created_at: datetime
    updated_at: datetime
    pending_until: datetime | None = None  # see TicketView


@dataclass(frozen=True)
class QueuePage:
    """A page of a queue in a stable order; `next_cursor` continues it, None at the end."""

    rows: tuple[QueueRow, ...]
    total: int
    next_cursor: str | None


# An exported ticket (queues.export_page): number, subject, requester, requester's email, priority, status,
# department, assignee, team, due (None: no deadline), overdue, opened, updated.
ExportRow = tuple[str, str, str, str, str, str, str, str | None, str | None, datetime | None, bool, datetime, datetime]


@dataclass(frozen=True)
class ExportPage:
    """A page of tickets being exported, in the queue's order; `next_cursor` continues it, None at the end. The
    total is counted for the first page only (-1 after it)."""

    rows: tuple[ExportRow, ...]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class ChangeView:
    """One committed change from the change feed: which ticket, what kind of change, who made it and when."""

    id: int
    ticket_id: int | None
    aspect: str  # an EventKind value, or an entry kind ("reply", "note") for thread entries
    actor_kind: ActorKind
    actor_id: int | None
    actor: str  # the agent's or end user's name; "System" for the worker and mail intake
    created_at: datetime


@dataclass(frozen=True)
class LockView:
    ticket_id: int
    agent: Ref
    expires_at: datetime


@dataclass(frozen=True)
class FeedbackView:
    ticket_id: int
    rating: int
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class DepartmentSignature:
    department_id: int
    text: str


@dataclass(frozen=True)
class Choices:
    """What an agent may pick from when editing a ticket: the reference data, in display order."""

    statuses: tuple[StatusView, ...]
    priorities: tuple[PriorityView, ...]
    departments: tuple[Ref, ...]
    topics: tuple[Ref, ...]  # nested topics named "Parent / Child"
    slas: tuple[Ref, ...]
    agents: tuple[Ref, ...]
    teams: tuple[Ref, ...]
    signature: str | None  # the calling agent's, for the composer
    attachment_limit: int  # bytes a file may have
    attachment_types: tuple[str, ...]  # extensions a file may have (desk.domain.attachments); empty: any type
    outgoing_mail: OutgoingMail  # whether replies are mailed (the composer says so); as at sign-in
    department_signatures: tuple[DepartmentSignature, ...] = ()  # a reply may be signed with its department's
    waiting_statuses: tuple[int, ...] = ()  # open statuses on hold (Pending…): a ticket waits in one until a date


@dataclass(frozen=True)
class SentMail:
    """A mail the demo "sent" into its sink, as its mailbox shows it."""

    id: int
    sent_at: datetime
    to: tuple[str, ...]
    cc: tuple[str, ...]  # copies, blind ones included
    subject: str
    body: str  # plain text
    ticket_number: str | None


@dataclass(frozen=True)
class InboundView:
    """A fetched message as administrators see it in the quarantine."""

    id: int
    received_at: datetime
    sender: str
    subject: str
    state: str
    reason: str | None
    size: int
    ticket_id: int | None


@dataclass(frozen=True)
class AgentSessionView:
    id: int
    agent_id: int
    agent: str
    client: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewAgentSession:
    """A session just opened, with its secret: handed to the signing-in Desk once, never stored on the server."""

    secret: str
    agent: AgentActor
    session: AgentSessionView
