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
    STATUS = "status"
    CLOSED = "closed"
    REOPENED = "reopened"
    MERGED = "merged"
    LINKED = "linked"
    COLLABORATOR_ADDED = "collaborator_added"
    COLLABORATOR_REMOVED = "collaborator_removed"
    ENTRY_EDITED = "entry_edited"
    OVERDUE = "overdue"
    FEEDBACK = "feedback"
    MAIL_FAILED = "mail_failed"  # an outgoing mail was given up on: agents must reach the person another way


# Events an end user may see in their own ticket's history; every other kind is for agents only.
PUBLIC_EVENTS = frozenset({EventKind.CREATED, EventKind.CLOSED, EventKind.REOPENED, EventKind.MERGED})


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


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after the last retry; shown on its ticket
