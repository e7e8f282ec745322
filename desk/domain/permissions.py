"""Who may do what: role permission keys per department, agent-wide rights, and ticket visibility."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from desk.domain.enums import StatusState


class Perm(enum.StrEnum):
    """Keys a role grants within one department."""

    TICKET_CREATE = "ticket.create"
    TICKET_EDIT = "ticket.edit"
    TICKET_ASSIGN = "ticket.assign"
    TICKET_RELEASE = "ticket.release"
    TICKET_TRANSFER = "ticket.transfer"
    TICKET_MERGE = "ticket.merge"
    TICKET_LINK = "ticket.link"
    TICKET_REPLY = "ticket.reply"
    TICKET_CLOSE = "ticket.close"
    TICKET_DELETE = "ticket.delete"
    THREAD_EDIT = "thread.edit"


class Right(enum.StrEnum):
    """Agent-wide rights, independent of department."""

    ADMIN = "admin"
    USER_MANAGE = "user.manage"
    SEARCH_ALL = "search.all"
    REPORTS_VIEW = "reports.view"


# What an agent may do on a ticket outside their departments that is assigned to them or their team.
ASSIGNEE_PERMS = frozenset({Perm.TICKET_REPLY, Perm.TICKET_CLOSE})

# What each key allows, in words: refusals and the GUI's tooltips say these, never the keys themselves.
PERM_ACTIONS: Mapping[Perm, str] = {
    Perm.TICKET_CREATE: "open tickets",
    Perm.TICKET_EDIT: "edit tickets",
    Perm.TICKET_ASSIGN: "assign tickets",
    Perm.TICKET_RELEASE: "release tickets assigned to others",
    Perm.TICKET_TRANSFER: "transfer tickets",
    Perm.TICKET_MERGE: "merge tickets",
    Perm.TICKET_LINK: "link tickets",
    Perm.TICKET_REPLY: "reply to tickets",
    Perm.TICKET_CLOSE: "close or reopen tickets",
    Perm.TICKET_DELETE: "archive or delete tickets",
    Perm.THREAD_EDIT: "edit the thread",
}
RIGHT_ACTIONS: Mapping[Right, str] = {
    Right.ADMIN: "administer Desk",
    Right.USER_MANAGE: "manage end users",
    Right.SEARCH_ALL: "search every department",
    Right.REPORTS_VIEW: "see the reports",
}


def status_change(old: StatusState, new: StatusState) -> tuple[Perm, str]:
    """What moving a ticket between statuses of these states needs, and its words: archiving and deleting need
    ticket.delete, closing and reopening ticket.close, moves between open statuses ticket.edit."""
    if new in (StatusState.ARCHIVED, StatusState.DELETED):
        return Perm.TICKET_DELETE, PERM_ACTIONS[Perm.TICKET_DELETE]
    if new == StatusState.CLOSED or old != StatusState.OPEN:
        return Perm.TICKET_CLOSE, PERM_ACTIONS[Perm.TICKET_CLOSE]
    return Perm.TICKET_EDIT, "change the status"


@dataclass(frozen=True)
class AgentActor:
    """A signed-in agent with their access, resolved once per session and passed to every service call."""

    id: int
    name: str
    departments: Mapping[int, frozenset[Perm]] = field(default_factory=dict)
    teams: frozenset[int] = frozenset()
    rights: frozenset[Right] = frozenset()

    @property
    def is_admin(self) -> bool:
        return Right.ADMIN in self.rights

    def can_see(self, department_id: int, assignee_id: int | None, team_id: int | None) -> bool:
        return (
            self.is_admin
            or department_id in self.departments
            or assignee_id == self.id
            or (team_id is not None and team_id in self.teams)
        )

    def perms_on(self, department_id: int, assignee_id: int | None, team_id: int | None) -> frozenset[Perm]:
        if self.is_admin:
            return frozenset(Perm)
        if department_id in self.departments:
            return self.departments[department_id]
        if self.can_see(department_id, assignee_id, team_id):
            return ASSIGNEE_PERMS
        return frozenset()

    def may_in(self, perm: Perm, department_id: int) -> bool:
        """Permission within a department as such, e.g. to open a ticket there or transfer one into it."""
        return self.is_admin or perm in self.departments.get(department_id, frozenset())

    def cannot(self, action: str, department_id: int, department: str) -> str:
        """Why this agent may not do `action` (words such as "change the priority") on a ticket of a department."""
        if department_id in self.departments:
            return f"Your role in {department} cannot {action}."
        return (
            f"You have no role in {department}, so you cannot {action} there; on its tickets assigned to you or "
            "your team you may reply and close."
        )


@dataclass(frozen=True)
class UserActor:
    """An end user: sees their own tickets, and their organization's when the organization shares them.

    Signed in through a one-time ticket link rather than with a password, they see that one ticket only.
    """

    id: int
    name: str
    email: str
    organization_id: int | None = None
    sees_organization: bool = False
    only_ticket_id: int | None = None

    def can_see(
        self, ticket_id: int, requester_id: int, requester_org_id: int | None, collaborator_ids: frozenset[int]
    ) -> bool:
        if self.only_ticket_id is not None and ticket_id != self.only_ticket_id:
            return False
        if requester_id == self.id or self.id in collaborator_ids:
            return True
        return self.sees_organization and self.organization_id is not None and requester_org_id == self.organization_id


@dataclass(frozen=True)
class SystemActor:
    """The worker and mail intake acting on their own: allowed everything, recorded as the system."""

    name: str = "System"
    rule: str | None = None  # acting for this rule: every event it records names the rule


Actor = AgentActor | UserActor | SystemActor
