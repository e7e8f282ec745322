"""Enumerations shared by every layer; their user-visible labels live in the UI."""

from __future__ import annotations

import enum


class StatusState(enum.StrEnum):
    """What a status means to the lifecycle; administrators map their own statuses onto these."""

    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"
    DELETED = "deleted"


class TicketSource(enum.StrEnum):
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    OTHER = "other"


class EntryKind(enum.StrEnum):
    """A thread entry: what the end user wrote, what an agent sent them, or what agents said among themselves."""

    MESSAGE = "message"
    REPLY = "reply"
    NOTE = "note"


class EventKind(enum.StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    RELEASED = "released"
    TEAM_ASSIGNED = "team_assigned"
    TRANSFERRED = "transferred"
    PRIORITY = "priority"
    SLA = "sla"
    TOPIC = "topic"
    STATUS = "status"  # between open statuses (or closed ones), e.g. Open → On hold
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ARCHIVED = "archived"
    DELETED = "deleted"
    MERGED = "merged"
    SPLIT = "split"  # entries moved to a new ticket: {"to": number} on the original, {"from": number} on the new
    LINKED = "linked"
    COLLABORATOR_ADDED = "collaborator_added"
    COLLABORATOR_REMOVED = "collaborator_removed"
    ENTRY_EDITED = "entry_edited"
    OVERDUE = "overdue"
    FEEDBACK = "feedback"
    MAIL_FAILED = "mail_failed"  # an outgoing mail was given up on: agents must reach the person another way
    RULE = "rule"  # a rule acted without changing a field: {"rule", "action", "detail"} (desk.domain.rules)
    MACRO = "macro"  # an agent applied a macro: {"name": …}; each of its changes has its own event after it
    TASK = "task"  # a task of the checklist added, changed, done, to do again or deleted: {"action", "text", …}
    PENDING = "pending"  # set Pending until {"until": iso}; back to Open by itself then (desk.services.pending)
    ESCALATED = "escalated"  # a due time near or reached: {"stage", "deadline", "due", "to": [names]}


# Events that move a ticket to another status; each records {"before": status, "after": status}.
STATUS_EVENTS = frozenset(
    {EventKind.STATUS, EventKind.RESOLVED, EventKind.CLOSED, EventKind.REOPENED, EventKind.ARCHIVED, EventKind.DELETED}
)

# Events an end user may see in their own ticket's history; every other kind is for agents only.
PUBLIC_EVENTS = frozenset(
    {EventKind.CREATED, EventKind.RESOLVED, EventKind.CLOSED, EventKind.REOPENED, EventKind.ARCHIVED, EventKind.MERGED}
)


class AssignMode(enum.StrEnum):
    """How a department or team gives its new unassigned tickets an agent (desk.services.assignment)."""

    OFF = "off"
    ROUND_ROBIN = "round_robin"  # each eligible agent in turn, by id
    LEAST_OPEN = "least_open"  # the eligible agent with the fewest open tickets


class EscalationStage(enum.StrEnum):
    """When an escalation fires: the department's minutes before a due time, or at it."""

    SOON = "soon"
    DUE = "due"


class ActorKind(enum.StrEnum):
    AGENT = "agent"
    USER = "user"
    SYSTEM = "system"


class CollaboratorRole(enum.StrEnum):
    CC = "cc"
    BCC = "bcc"


class Recipients(enum.StrEnum):
    """Who a reply is emailed to."""

    ALL = "all"
    REQUESTER = "requester"
    NONE = "none"


class SortKey(enum.StrEnum):
    NUMBER = "number"
    CREATED = "created"
    UPDATED = "updated"
    DUE = "due"
    PRIORITY = "priority"
    SUBJECT = "subject"
    REQUESTER = "requester"
    ASSIGNEE = "assignee"
    DEPARTMENT = "department"
    STATUS = "status"


class Queue(enum.StrEnum):
    OPEN = "open"
    UNANSWERED = "unanswered"
    ANSWERED = "answered"
    MINE = "mine"
    MY_TEAMS = "my_teams"
    FOLLOWING = "following"  # the open tickets the agent follows (desk.services.following)
    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    ON_HOLD = "on_hold"
    CLOSED = "closed"


class InboundState(enum.StrEnum):
    """Where a fetched message stands; none of these drops it, and every one keeps its raw bytes."""

    NEW = "new"  # stored, not yet threaded
    DONE = "done"  # became a ticket, a message or a note
    IGNORED = "ignored"  # an auto-reply, bounce or loop: kept, never answered
    REJECTED = "rejected"  # from a banned sender
    QUARANTINED = "quarantined"  # could not be parsed or threaded; administrators can retry it
    DISCARDED = "discarded"  # set aside for good by an administrator (spam that got through, a duplicate)


class SenderCheck(enum.StrEnum):
    """How a mailbox decides that mail is from the address in its From header, before posting it as an agent's
    note or into a ticket found by the sender's address (the ticket tag)."""

    TRUSTED_RELAY = "trusted"  # the mail reaches the mailbox only through a relay that verified it already
    REQUIRED = "required"  # the receiving server's Authentication-Results must show DMARC (or aligned DKIM/SPF) pass
    OFF = "off"  # never: such mail is always posted as from an unverified sender


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after the last retry; shown on its ticket


class OutgoingMail(enum.StrEnum):
    """Whether replies and notifications reach people by mail now."""

    SENT = "sent"  # a mailbox to send from, and a worker sending the outbox
    NO_WORKER = "no_worker"  # queued in the outbox, but no worker sends it until one runs
    OFF = "off"  # no mailbox to send from: nothing is mailed
    DEMO = "demo"  # the demo's sink: kept in Desk to be read there, never handed to a mail server
