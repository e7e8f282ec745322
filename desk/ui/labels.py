"""User-visible names for the domain's enums and thread events: one table per enum, all strings in the UI layer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QCoreApplication

from desk.domain.enums import (
    AssignMode,
    EntryKind,
    EventKind,
    OutgoingMail,
    Queue,
    Recipients,
    SortKey,
    TicketSource,
)
from desk.domain.reports import Grouping, ReportKind
from desk.domain.views import EventView


def tr(text: str) -> str:
    return QCoreApplication.translate("desk", text)


QUEUES: dict[Queue, tuple[str, str]] = {  # label, icon
    Queue.OPEN: ("Open", "inbox"),
    Queue.UNANSWERED: ("Unanswered", "unanswered"),
    Queue.ANSWERED: ("Answered", "answered"),
    Queue.MINE: ("My tickets", "user"),
    Queue.MY_TEAMS: ("My teams", "team"),
    Queue.FOLLOWING: ("Following", "follow"),
    Queue.UNASSIGNED: ("Unassigned", "unassigned"),
    Queue.OVERDUE: ("Overdue", "overdue"),
    Queue.ON_HOLD: ("Pending and on hold", "pause"),
    Queue.CLOSED: ("Closed", "closed"),
}

# What an agent should do when the queue is empty.
EMPTY_QUEUES: dict[Queue, str] = {
    Queue.OPEN: "No open tickets. New tickets from email, the Support Center and Ctrl+N appear here.",
    Queue.UNANSWERED: "Every open ticket has an answer.",
    Queue.ANSWERED: "No answered tickets are waiting for the user.",
    Queue.MINE: "Nothing is assigned to you. Pick a ticket from Unassigned and press Ctrl+M to take it.",
    Queue.MY_TEAMS: "Your teams have no open tickets.",
    Queue.FOLLOWING: "You follow no open ticket. Press Ctrl+Shift+F in a ticket to follow it; a @mention follows too.",
    Queue.UNASSIGNED: "Every open ticket has an owner.",
    Queue.OVERDUE: "Nothing is overdue.",
    Queue.ON_HOLD: "No ticket is pending or on hold.",
    Queue.CLOSED: "No closed tickets yet.",
}

ENTRY_KINDS: dict[EntryKind, tuple[str, str]] = {  # label, icon
    EntryKind.MESSAGE: ("Message", "message"),
    EntryKind.REPLY: ("Reply", "reply"),
    EntryKind.NOTE: ("Internal note", "note"),
}

SOURCES: dict[TicketSource, str] = {
    TicketSource.PHONE: "Phone",
    TicketSource.EMAIL: "Email",
    TicketSource.WEB: "Web",
    TicketSource.OTHER: "Other (walk-in, chat)",
}

RECIPIENTS: dict[Recipients, str] = {
    Recipients.ALL: "Email the requester and collaborators",
    Recipients.REQUESTER: "Email the requester only",
    Recipients.NONE: "Don't email",
}
# The recipients choice when nothing can be mailed: the only truth there is to choose.
MAIL_OFF = "Mail is not set up: the reply is only shown in the Support Center"

# Whether replies are mailed: (status bar, note beside the composer's recipients); empty: nothing to say.
OUTGOING_MAIL: dict[OutgoingMail, tuple[str, str]] = {
    OutgoingMail.SENT: ("", ""),
    OutgoingMail.NO_WORKER: (
        "Outgoing mail: no worker running",
        "No worker is running: mail waits in the outbox until one does",
    ),
    OutgoingMail.OFF: ("Outgoing mail: not set up", ""),
    OutgoingMail.DEMO: ("Outgoing mail: demo mailbox", "Demo: mail goes to File › Demo mailbox"),
}

SORTS: dict[SortKey, str] = {
    SortKey.NUMBER: "Number",
    SortKey.CREATED: "Created",
    SortKey.UPDATED: "Last update",
    SortKey.DUE: "Due",
    SortKey.PRIORITY: "Priority",
    SortKey.SUBJECT: "Subject",
    SortKey.REQUESTER: "From",
    SortKey.ASSIGNEE: "Assignee",
    SortKey.DEPARTMENT: "Department",
    SortKey.STATUS: "Status",
}

_CHANGED: dict[EventKind, str] = {
    EventKind.ASSIGNED: "assigned the ticket",
    EventKind.TEAM_ASSIGNED: "set the team",
    EventKind.TRANSFERRED: "transferred the department",
    EventKind.PRIORITY: "changed the priority",
    EventKind.SLA: "changed the SLA plan",
    EventKind.TOPIC: "changed the help topic",
    EventKind.STATUS: "changed the status",
}


_TASK_DONE = {"added": "added", "changed": "changed", "done": "ticked off", "undone": "reopened", "deleted": "deleted"}


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name", "—"))
    return "nobody" if value is None else str(value)


# What a rule did that changed no field (desk.domain.rules.ActionKind values; "detail" fills in the {})
_RULE_DID = {
    "note": "added an internal note",
    "canned": "replied with “{}”",
    "ban": "banned {}",
    "stop": "stopped the rules after it",
}


# How a department or team auto-assigns, as its editor offers it.
ASSIGN_MODES: dict[AssignMode, str] = {
    AssignMode.OFF: "Off: agents take tickets themselves",
    AssignMode.ROUND_ROBIN: "Round-robin: each agent in turn",
    AssignMode.LEAST_OPEN: "Fewest open tickets",
}

_HOW: dict[str, str] = {
    AssignMode.ROUND_ROBIN: "by round-robin",
    AssignMode.LEAST_OPEN: "as the agent with fewest open tickets",
}


def _auto_assignment(data: dict[str, Any]) -> str:
    """How auto-assignment chose: "(by round-robin in department Support, as Ann is away)"."""
    pool = data.get("pool") or {}
    how = _HOW.get(str(data.get("how")), "automatically")
    text = f"{how} in {pool.get('kind', 'department')} {pool.get('name', '')}"
    if data.get("in_hours"):
        text += " among agents in working hours"
    if data.get("reason") == "away":
        text += f", as {_name(data.get('before'))} is away"
    return f"({text.strip()})"


def _moment(iso: Any) -> str:
    return when(datetime.fromisoformat(iso)) if isinstance(iso, str) else "—"


_DEADLINES = {"first_response": "first response", "resolution": "resolution"}


def _escalation(data: dict[str, Any]) -> str:
    """An escalation: "escalated: resolution due at 14:00 — told Ann, Bob; priority raised to High"."""
    deadline = _DEADLINES.get(str(data.get("deadline")), "a deadline")
    at = _moment(data.get("due"))
    text = (
        f"reminded: {deadline} due at {at}" if data.get("stage") == "soon" else f"escalated: {deadline} was due at {at}"
    )
    told = ", ".join(data.get("to") or [])
    parts = [f"told {told}" if told else "no one to tell"]
    if data.get("priority"):
        parts.append(f"priority raised to {data['priority']}")
    if data.get("department"):
        parts.append(f"transferred to {data['department']}")
    return f"{text} — {'; '.join(parts)}"


def describe(event: EventView) -> str:
    """One line for a system event in the thread: who did what, from what to what (a rule's action names the
    rule as who did it)."""
    data = event.data
    if data.get("rule"):
        event = replace(event, actor=f"Rule “{data['rule']}”")
    if event.kind == EventKind.RULE:
        did = _RULE_DID.get(str(data.get("action")), str(data.get("action")))
        return f"{event.actor} {did.format(data.get('detail', ''))}"
    if event.kind in _CHANGED:
        before, after = data.get("before"), data.get("after")
        if event.kind == EventKind.ASSIGNED and "how" in data:
            return f"{event.actor} assigned the ticket to {_name(after)} {_auto_assignment(data)}"
        if event.kind == EventKind.ASSIGNED and before is None:
            return f"{event.actor} assigned the ticket to {_name(after)}"
        return f"{event.actor} {_CHANGED[event.kind]} from {_name(before)} to {_name(after)}"
    fixed = {
        EventKind.CREATED: "opened the ticket",
        EventKind.RELEASED: "released the ticket",
        EventKind.RESOLVED: "resolved the ticket",
        EventKind.CLOSED: "closed the ticket",
        EventKind.REOPENED: "reopened the ticket",
        EventKind.ARCHIVED: "archived the ticket",
        EventKind.DELETED: "deleted the ticket",
        EventKind.OVERDUE: "marked the ticket overdue",
        EventKind.ENTRY_EDITED: "edited an entry",
    }
    if event.kind in fixed:
        return f"{event.actor} {fixed[event.kind]}"
    if event.kind == EventKind.MERGED:
        target = data.get("into") or ", ".join(data.get("from", []))
        verb = "merged this ticket into" if "into" in data else "merged in"
        return f"{event.actor} {verb} {target}"
    if event.kind == EventKind.SPLIT:
        entries = f"{data.get('entries', 0)} {'entry' if data.get('entries') == 1 else 'entries'}"
        if "to" in data:
            return f"{event.actor} split {entries} off into ticket {data['to']}"
        return f"{event.actor} split {entries} off ticket {data.get('from', '')} into this one"
    if event.kind == EventKind.LINKED:
        verb = "linked" if data.get("linked", True) else "unlinked"
        return f"{event.actor} {verb} ticket {data.get('ticket', '')}".rstrip()
    if event.kind == EventKind.COLLABORATOR_ADDED:
        return f"{event.actor} added {data.get('email')} as {str(data.get('role', 'cc')).upper()}"
    if event.kind == EventKind.COLLABORATOR_REMOVED:
        return f"{event.actor} removed collaborator {data.get('email')}"
    if event.kind == EventKind.FEEDBACK:
        return f"{event.actor} rated the help {data.get('rating')} of 5"
    if event.kind == EventKind.MACRO:
        return f"{event.actor} applied the macro “{data.get('name', '')}”"
    if event.kind == EventKind.TASK:
        return f"{event.actor} {_TASK_DONE.get(data.get('action', ''), 'changed')} the task “{data.get('text', '')}”"
    if event.kind == EventKind.PENDING:
        return f"{event.actor} set the ticket {data.get('status', 'pending')} until {_moment(data.get('until'))}"
    if event.kind == EventKind.ESCALATED:
        return f"{event.actor} {_escalation(data)}"
    if event.kind == EventKind.MAIL_FAILED:
        to = ", ".join(data.get("to", [])) or "its recipients"
        return f"Mail “{data.get('subject', '')}” could not be sent to {to}: {data.get('error', 'unknown error')}"
    return f"{event.actor}: {event.kind.value}"


def when(moment: datetime | None, *, now: datetime | None = None) -> str:
    """A UTC time shown in local time, as short as is unambiguous: "14:05", "23 Nov 14:05", "23 Nov 2025"."""
    if moment is None:
        return ""
    local = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone()
    today = (now or datetime.now(UTC)).astimezone()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%d %b %H:%M").lstrip("0")
    return local.strftime("%d %b %Y").lstrip("0")


REPORT_KINDS: dict[ReportKind, str] = {
    ReportKind.VOLUME: "Volume",
    ReportKind.RESPONSIVENESS: "Responsiveness",
    ReportKind.SLA: "SLA compliance",
    ReportKind.BACKLOG: "Backlog",
    ReportKind.AGENTS: "Agents",
    ReportKind.SATISFACTION: "Satisfaction",
}
REPORT_GROUPINGS: dict[Grouping, str] = {
    Grouping.DAY: "Day",
    Grouping.WEEK: "Week",
    Grouping.MONTH: "Month",
    Grouping.DEPARTMENT: "Department",
    Grouping.TOPIC: "Help topic",
    Grouping.CHANNEL: "Channel",
    Grouping.AGENT: "Agent",
    Grouping.TEAM: "Team",
    Grouping.ORGANIZATION: "Organization",
    Grouping.PLAN: "SLA plan",
    Grouping.AGE: "Age (open now)",
}
