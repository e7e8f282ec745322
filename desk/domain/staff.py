"""What an administrator edits about the people and structure of a help desk (agents, teams, roles, departments),
the forms they send and the views they get back, and the audit of every administrative change."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from desk.domain.enums import AssignMode
from desk.domain.permissions import Perm, Right
from desk.domain.views import Ref


class AuditKind(enum.StrEnum):
    AGENT = "agent"
    TEAM = "team"
    ROLE = "role"
    DEPARTMENT = "department"
    SLA = "SLA plan"
    SCHEDULE = "schedule"
    TOPIC = "help topic"
    STATUS = "status"
    PRIORITY = "priority"
    SETTINGS = "settings"
    USER = "end user"
    ORGANIZATION = "organization"
    CANNED = "canned response"
    MACRO = "macro"
    RULE = "rule"
    MAILBOX = "mailbox"
    MAIL_TEMPLATE = "mail template"
    NOTIFICATIONS = "notifications"


class AuditAction(enum.StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    DELETED = "deleted"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    PASSWORD = "password"  # reset by an administrator or changed by its agent (never the password itself)
    BANNED = "banned"
    UNBANNED = "unbanned"
    MERGED = "merged"  # an end user's tickets and messages moved to another of the same person


# What each role key allows, grouped as an administrator thinks of them (the keys' words are PERM_ACTIONS).
PERM_GROUPS: tuple[tuple[str, tuple[Perm, ...]], ...] = (
    ("Tickets", (Perm.TICKET_CREATE, Perm.TICKET_EDIT, Perm.TICKET_REPLY, Perm.TICKET_CLOSE)),
    ("Assignment", (Perm.TICKET_ASSIGN, Perm.TICKET_RELEASE, Perm.TICKET_TRANSFER)),
    ("Housekeeping", (Perm.TICKET_MERGE, Perm.TICKET_LINK, Perm.THREAD_EDIT, Perm.TICKET_DELETE)),
)


@dataclass(frozen=True)
class Access:
    """An agent's role in one department."""

    department_id: int
    role_id: int


@dataclass(frozen=True)
class AgentForm:
    """An agent as the administrator's editor sends it (a new agent's password goes beside it)."""

    username: str
    name: str
    email: str
    rights: tuple[Right, ...] = ()
    access: tuple[Access, ...] = ()
    teams: tuple[int, ...] = ()
    signature: str | None = None
    timezone: str | None = None
    away_from: date | None = None
    away_until: date | None = None


@dataclass(frozen=True)
class AgentSummary:
    id: int
    username: str
    name: str
    email: str
    active: bool
    is_admin: bool


@dataclass(frozen=True)
class AgentDetails:
    """An agent as the editor shows it: the form's fields plus what only Desk sets."""

    id: int
    form: AgentForm
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None


@dataclass(frozen=True)
class TeamForm:
    name: str
    lead_id: int | None = None
    members: tuple[int, ...] = ()
    assign_mode: AssignMode = AssignMode.OFF  # its tickets without an agent get one of its members
    assign_in_hours: bool = False  # only members in the ticket's department's business hours


@dataclass(frozen=True)
class TeamDetails:
    id: int
    form: TeamForm
    open_tickets: int


@dataclass(frozen=True)
class RoleForm:
    name: str
    permissions: tuple[Perm, ...] = ()


@dataclass(frozen=True)
class RoleDetails:
    id: int
    form: RoleForm
    agents: int  # how many agents have this role in some department


@dataclass(frozen=True)
class DepartmentForm:
    name: str
    public: bool = True
    manager_id: int | None = None
    sla_id: int | None = None
    schedule_id: int | None = None
    signature: str | None = None  # an agent may sign a reply with it instead of their own
    mailbox_id: int | None = (
        None  # its tickets' mail is sent from it (None: one that brings mail to it, else the default)
    )
    time_required: bool = False  # agents' replies and notes to its tickets need the time spent
    tasks_required: bool = False  # its tickets are resolved or closed only when their tasks are done
    assign_mode: AssignMode = AssignMode.OFF  # its new unassigned tickets get an agent (desk.services.assignment)
    assign_in_hours: bool = False  # only agents in its business hours, in their own time zone
    reassign_away: bool = False  # an agent's open tickets go to another on the days they are away
    escalate_minutes: int | None = None  # None: no escalations; else alert this long before a due time and at it
    escalate_priority_id: int | None = None  # at a due time, raise the priority to this
    escalate_to_id: int | None = None  # at a due time, transfer the ticket to this department


@dataclass(frozen=True)
class DepartmentDetails:
    id: int
    form: DepartmentForm
    tickets: int
    open_tickets: int


@dataclass(frozen=True)
class StaffChoices:
    """What the administrator's editors offer in their lists."""

    agents: tuple[Ref, ...]
    teams: tuple[Ref, ...]
    roles: tuple[Ref, ...]
    departments: tuple[Ref, ...]
    slas: tuple[Ref, ...]
    schedules: tuple[Ref, ...]
    priorities: tuple[Ref, ...] = ()
    statuses: tuple[Ref, ...] = ()
    topics: tuple[Ref, ...] = ()  # by full name, "Parent / Child"
    mailboxes: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: AuditAction
    kind: AuditKind
    target_id: int | None
    target: str
    changes: dict[str, tuple[str | None, str | None]]  # field: (before, after), as shown to people


@dataclass(frozen=True)
class SignInEntry:
    """One attempt to sign in, as the sign-in log shows it."""

    id: int
    at: datetime
    kind: str  # "agent" or "user" (an end user, in the Support Center)
    principal: str  # the username or address typed
    success: bool
    reason: str | None  # why it was refused: password, unknown, locked, inactive, directory…
    client_address: str | None  # where from (None: Desk on this machine)


@dataclass(frozen=True)
class Member:
    """An agent's role in a department."""

    agent: Ref
    role: Ref


@dataclass(frozen=True)
class MemberForm:
    """An agent's role in the department being edited."""

    agent_id: int
    role_id: int


@dataclass(frozen=True)
class DepartmentMembers:
    """Who works in a department, with which role, and whom a manager may add."""

    department: Ref
    members: tuple[Member, ...]
    agents: tuple[Ref, ...]  # every active agent
    roles: tuple[Ref, ...]
