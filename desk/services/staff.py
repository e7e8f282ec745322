"""Administering the people and structure of a help desk: agents, teams, roles and departments.

Administrators only (the `admin` right; the system for the command line). Each save or delete is one transaction
with its audit row (desk.services.audit), refuses bad input with a message per field, and refuses to delete what
is still in use, saying how much uses it and what to do instead.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain import sla
from desk.domain.enums import AssignMode, StatusState
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import check_search, literal
from desk.domain.permissions import PERM_ACTIONS, RIGHT_ACTIONS, Actor, AgentActor, Perm, Right
from desk.domain.staff import (
    Access,
    AgentDetails,
    AgentForm,
    AgentSummary,
    AuditAction,
    AuditKind,
    DepartmentDetails,
    DepartmentForm,
    DepartmentMembers,
    Member,
    MemberForm,
    RoleDetails,
    RoleForm,
    StaffChoices,
    TeamDetails,
    TeamForm,
)
from desk.domain.views import Ref
from desk.services import audit, settings, tickets
from desk.services.accounts import (
    agent_actor,
    agent_identity,
    hash_password,
    set_access,
    verify_password,
)
from desk.services.agent_sessions import end_all
from desk.services.audit import Shown, differences
from desk.services.base import MAX_NOTE, command, now, query, require_agent, within
from desk.services.editing import (
    audit_save,
    count,
    get_row,
    known,
    listing,
    managed,
    names_of,
    refuse_in_use,
    require_admin,
    require_manager,
    to_save,
    unique_name,
)
from desk.services.reference import topic_names
from desk.storage.db import Database
from desk.storage.models import (
    Agent,
    AgentAccess,
    Department,
    HelpTopic,
    Mailbox,
    Priority,
    Role,
    RolePermission,
    Schedule,
    Setting,
    SlaPlan,
    Status,
    Team,
    TeamMember,
    Ticket,
)


@query
def staff_choices(session: Session, actor: Actor) -> StaffChoices:
    """What the administration's forms offer: agents, teams, roles, departments, plans, schedules and more."""
    require_admin(actor)
    topics = topic_names(list(session.scalars(select(HelpTopic))))
    return StaffChoices(
        agents=tuple(
            Ref(id=i, name=n)
            for i, n in session.execute(select(Agent.id, Agent.name).where(Agent.active).order_by(Agent.name))
        ),
        teams=tuple(listing(session, Team)),
        roles=tuple(listing(session, Role)),
        departments=tuple(listing(session, Department)),
        slas=tuple(listing(session, SlaPlan)),
        schedules=tuple(listing(session, Schedule)),
        priorities=tuple(listing(session, Priority, Priority.level)),
        statuses=tuple(listing(session, Status, Status.sort)),
        topics=tuple(sorted((Ref(id=i, name=n) for i, n in topics.items()), key=lambda r: r.name.casefold())),
        mailboxes=tuple(listing(session, Mailbox)),
    )


# --- the first administrator -----------------------------------------------------------------------------------

FIRST_ADMINISTRATOR = "setup.first_administrator"  # a settings key: whose the first administrator was, set once


@query
def needs_first_administrator(session: Session) -> bool:
    """Whether this help desk has no agent yet: the first start of a new database, whose first step is making its
    administrator."""
    return session.scalar(select(Agent.id).limit(1)) is None


@command
def create_first_administrator(session: Session, *, username: str, name: str, email: str, password: str) -> AgentActor:
    """The new help desk's first agent, an administrator; refused once any agent exists (also to a concurrent
    caller: the settings row it writes has one key)."""
    if not within(needs_first_administrator)(session):
        raise PermissionDenied("This help desk has its administrator already: sign in, or ask them for an account.")
    login, name, address = agent_identity(session, username, name, email)
    agent = Agent(
        username=login,
        name=name,
        email=address,
        password_hash=hash_password(password),
        rights=Right.ADMIN.value,
        created_at=now(),
    )
    try:
        with session.begin_nested():
            session.add(Setting(key=FIRST_ADMINISTRATOR, value=login))
            session.add(agent)
    except IntegrityError as error:
        raise PermissionDenied("This help desk has its administrator already: sign in.") from error
    actor = agent_actor(session, agent)
    audit.record(
        session,
        actor,
        AuditAction.CREATED,
        AuditKind.AGENT,
        agent.id,
        name,
        differences(
            {}, _shown_agent(session, AgentForm(username=login, name=name, email=address, rights=(Right.ADMIN,)))
        ),
    )
    return actor


# --- agents -------------------------------------------------------------------------------------------------------


@query
def list_agents(session: Session, actor: Actor, text: str = "") -> list[AgentSummary]:
    """Every agent, active or not, by name; `text` narrows to those whose name, username or address holds it."""
    require_admin(actor)
    statement = select(Agent).order_by(Agent.name, Agent.id)
    if needle := check_search(" ".join(text.split())).lower():  # line breaks between words are spaces here
        pattern = f"%{literal(needle)}%"
        statement = statement.where(
            func.lower(Agent.name).like(pattern, escape="\\")
            | Agent.username.like(pattern, escape="\\")
            | Agent.email.like(pattern, escape="\\")
        )
    return [
        AgentSummary(
            id=a.id,
            username=a.username,
            name=a.name,
            email=a.email,
            active=a.active,
            is_admin=Right.ADMIN.value in a.rights.split(),
        )
        for a in session.scalars(statement)
    ]


def _agent_details(session: Session, agent: Agent) -> AgentDetails:
    access = session.execute(
        select(AgentAccess.department_id, AgentAccess.role_id)
        .join(Department, Department.id == AgentAccess.department_id)
        .where(AgentAccess.agent_id == agent.id)
        .order_by(Department.name)
    )
    teams = session.scalars(
        select(TeamMember.team_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.agent_id == agent.id)
        .order_by(Team.name)
    )
    return AgentDetails(
        id=agent.id,
        form=AgentForm(
            username=agent.username,
            name=agent.name,
            email=agent.email,
            rights=tuple(Right(value) for value in agent.rights.split()),
            access=tuple(Access(department_id=d, role_id=r) for d, r in access),
            teams=tuple(teams),
            signature=agent.signature,
            timezone=agent.timezone,
            away_from=agent.away_from,
            away_until=agent.away_until,
        ),
        active=agent.active,
        created_at=agent.created_at,
        last_login_at=agent.last_login_at,
        locked_until=agent.locked_until if agent.locked_until and agent.locked_until > now() else None,
    )


def _shown_agent(session: Session, form: AgentForm) -> dict[str, Shown]:
    """An agent's fields as the audit shows them: names, not ids; the signature's length, not its text."""
    departments = names_of(session, Department, (a.department_id for a in form.access))
    roles = names_of(session, Role, (a.role_id for a in form.access))
    teams = names_of(session, Team, form.teams)
    return {
        "username": form.username,
        "name": form.name,
        "email": form.email,
        "rights": ", ".join(RIGHT_ACTIONS[r] for r in sorted(form.rights)) or None,
        "access": "; ".join(
            sorted(f"{departments.get(a.department_id, '?')}: {roles.get(a.role_id, '?')}" for a in form.access)
        )
        or None,
        "teams": ", ".join(sorted(teams.values())) or None,
        "signature": _length(form.signature),
        "time zone": form.timezone,
        "away": f"{form.away_from} – {form.away_until}" if form.away_from and form.away_until else None,
    }


def _signature(text: str | None) -> str | None:
    """A signature (an agent's or a department's) as saved: trimmed, None when empty; Invalid when too long."""
    signature = (text or "").strip() or None
    if signature is not None and len(signature) > MAX_NOTE:
        problem = f"A signature holds at most {MAX_NOTE:,} characters."
        raise Invalid(problem, {"signature": problem})
    return signature


def _length(text: str | None) -> Shown:
    """A long text as the audit shows it: how long it is, not what it says."""
    return f"{len(text):,} characters" if text else None


def _check_agent_form(session: Session, form: AgentForm) -> None:
    errors: dict[str, str] = {}
    departments = [a.department_id for a in form.access]
    if len(set(departments)) != len(departments):
        errors["access"] = "Give the agent one role per department."
    if form.timezone is not None and form.timezone not in sla.time_zones():
        errors["timezone"] = f"“{form.timezone}” is not a time zone: choose one from the list, e.g. Europe/Berlin."
    if (form.away_from is None) != (form.away_until is None):
        errors["away"] = "Give both the first and the last day away, or neither."
    elif form.away_from and form.away_until and form.away_from > form.away_until:
        errors["away"] = "The first day away comes after the last: swap them."
    if errors:
        raise Invalid(" ".join(errors.values()), errors)
    known(session, Department, departments, "access", "department")
    known(session, Role, (a.role_id for a in form.access), "access", "role")
    known(session, Team, form.teams, "teams", "team")


def _other_active_admins(session: Session, agent_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Agent.active, Agent.rights.contains(Right.ADMIN.value), Agent.id != agent_id)
        )
        or 0
    )


@command
def save_agent(
    session: Session, actor: Actor, agent_id: int | None, form: AgentForm, *, password: str | None = None
) -> AgentDetails:
    """Create an agent (`agent_id` None; a password is needed) or change one: identity, rights, a role per
    department, teams, signature, time zone and days away. Administrators cannot change their own rights (another
    administrator does), so that nobody locks the help desk out of its administration by mistake."""
    require_admin(actor)
    login, name, address = agent_identity(session, form.username, form.name, form.email, agent_id=agent_id)
    _check_agent_form(session, form)
    signature = _signature(form.signature)
    form = AgentForm(
        **{
            **vars(form),
            "username": login,
            "name": name,
            "email": address,
            "signature": signature,
            "rights": tuple(sorted(set(form.rights))),
            "teams": tuple(sorted(set(form.teams))),
        }
    )
    if agent_id is None and password is None:
        raise Invalid("Give the new agent a password.", {"password": "Enter a password."})
    if isinstance(actor, AgentActor) and actor.id == agent_id and set(actor.rights) != set(form.rights):
        raise PermissionDenied("You cannot change your own rights: ask another administrator.")
    agent, before = to_save(session, Agent, agent_id, lambda a: _shown_agent(session, _agent_details(session, a).form))
    if password is not None and agent_id is None:
        agent.password_hash, agent.created_at = hash_password(password), now()
    agent.username, agent.name, agent.email, agent.signature = login, name, address, signature
    agent.rights = " ".join(right.value for right in form.rights)
    agent.timezone, agent.away_from, agent.away_until = form.timezone, form.away_from, form.away_until
    session.flush()
    set_access(session, agent.id, {a.department_id: a.role_id for a in form.access})
    _set_members(session, TeamMember.agent_id == agent.id, {(t, agent.id) for t in form.teams})
    if agent_id is not None and Right.ADMIN not in form.rights and not _other_active_admins(session, 0):
        raise Invalid("Desk needs at least one active administrator: keep this agent's administration right.")
    audit_save(session, actor, agent_id, AuditKind.AGENT, agent.id, name, before, _shown_agent(session, form))
    session.flush()
    return _agent_details(session, agent)


@query
def get_agent(session: Session, actor: Actor, agent_id: int) -> AgentDetails:
    """An agent to edit: identity, rights, access, teams, signature, time zone and days away."""
    require_admin(actor)
    return _agent_details(session, get_row(session, Agent, agent_id))


@command
def set_agent_active(session: Session, actor: Actor, agent_id: int, active: bool) -> int:
    """Deactivate an agent (they can no longer sign in; their sessions and API tokens stop working at once) or
    activate them again. Agents are never deleted: their replies and notes keep their name. How many sessions were
    ended."""
    require_admin(actor)
    if isinstance(actor, AgentActor) and actor.id == agent_id and not active:
        raise Invalid("You cannot deactivate yourself: ask another administrator.")
    agent = get_row(session, Agent, agent_id)
    if not active and Right.ADMIN.value in agent.rights.split() and not _other_active_admins(session, agent_id):
        raise Invalid(f"{agent.name} is the only active administrator: make another agent an administrator first.")
    if agent.active != active:
        agent.active = active
        action = AuditAction.ACTIVATED if active else AuditAction.DEACTIVATED
        audit.record(session, actor, action, AuditKind.AGENT, agent.id, agent.name)
    return 0 if active else end_all(session, agent_id)


@command
def reset_password(session: Session, actor: Actor, agent_id: int, password: str) -> int:
    """Set another agent's password (they forgot it, or it leaked) and unlock them; their sessions end, so whoever
    held the old password is out. How many sessions were ended."""
    require_admin(actor)
    agent = get_row(session, Agent, agent_id)
    agent.password_hash = hash_password(password)
    agent.failed_logins, agent.locked_until = 0, None
    audit.record(
        session, actor, AuditAction.PASSWORD, AuditKind.AGENT, agent.id, agent.name, {"password": (None, "reset")}
    )
    return end_all(session, agent_id)


@command
def change_own_password(session: Session, actor: Actor, current: str, new: str) -> None:
    """An agent changes their own password, proving the current one (the window stays signed in)."""
    me = require_agent(actor)
    agent = get_row(session, Agent, me.id)
    if not verify_password(agent.password_hash, current):
        raise Invalid("The current password is wrong.", {"current": "Enter your current password."})
    if new == current:
        raise Invalid("Choose a new password, not the current one.", {"password": "Enter a different password."})
    agent.password_hash = hash_password(new)
    audit.record(
        session, actor, AuditAction.PASSWORD, AuditKind.AGENT, agent.id, agent.name, {"password": (None, "changed")}
    )


@command
def save_own_signature(session: Session, actor: Actor, signature: str | None) -> str | None:
    """An agent sets the signature their replies may carry (empty: none); the signature as saved."""
    me = require_agent(actor)
    agent = get_row(session, Agent, me.id)
    saved = _signature(signature)
    changes = differences({"signature": _length(agent.signature)}, {"signature": _length(saved)})
    if saved != agent.signature:
        agent.signature = saved
        audit.record(session, actor, AuditAction.CHANGED, AuditKind.AGENT, agent.id, agent.name, changes or None)
    return saved


# --- teams --------------------------------------------------------------------------------------------------------


def _set_members(session: Session, whose: object, wanted: set[tuple[int, int]]) -> None:
    """Make the team memberships `whose` selects exactly `wanted` (team id, agent id) pairs."""
    have = {(m.team_id, m.agent_id): m for m in session.scalars(select(TeamMember).where(whose))}  # type: ignore[arg-type]
    for pair, member in have.items():
        if pair not in wanted:
            session.delete(member)
    session.add_all(TeamMember(team_id=t, agent_id=a) for t, a in wanted - have.keys())
    session.flush()


def _open_tickets(session: Session, *where: object) -> int:
    return count(session, Ticket, Ticket.state == StatusState.OPEN, *where)


def _team_details(session: Session, team: Team) -> TeamDetails:
    members = session.scalars(
        select(TeamMember.agent_id)
        .join(Agent, Agent.id == TeamMember.agent_id)
        .where(TeamMember.team_id == team.id)
        .order_by(Agent.name)
    )
    form = TeamForm(
        name=team.name,
        lead_id=team.lead_id,
        members=tuple(members),
        assign_mode=AssignMode(team.assign_mode),
        assign_in_hours=team.assign_in_hours,
    )
    return TeamDetails(id=team.id, form=form, open_tickets=_open_tickets(session, Ticket.team_id == team.id))


def _shown_team(session: Session, form: TeamForm) -> dict[str, Shown]:
    agents = names_of(session, Agent, (*form.members, *([form.lead_id] if form.lead_id else [])))
    return {
        "name": form.name,
        "lead": agents.get(form.lead_id) if form.lead_id else None,
        "members": ", ".join(sorted(agents[m] for m in form.members if m in agents)) or None,
        **_shown_assignment(form.assign_mode, form.assign_in_hours),
    }


def _shown_assignment(mode: AssignMode, in_hours: bool) -> dict[str, Shown]:
    return {"auto-assignment": mode.value.replace("_", " "), "only in working hours": "yes" if in_hours else "no"}


@query
def list_teams(session: Session, actor: Actor) -> list[Ref]:
    """The teams, by name."""
    require_admin(actor)
    return listing(session, Team)


@query
def get_team(session: Session, actor: Actor, team_id: int) -> TeamDetails:
    """A team to edit: its lead and members."""
    require_admin(actor)
    return _team_details(session, get_row(session, Team, team_id))


@command
def save_team(session: Session, actor: Actor, team_id: int | None, form: TeamForm) -> TeamDetails:
    """Create or change a team: its name, lead (a member by that) and members."""
    require_admin(actor)
    name = unique_name(session, Team, form.name, team_id, "team")
    members = set(form.members) | ({form.lead_id} if form.lead_id else set())
    known(session, Agent, members, "members", "agent")
    form = TeamForm(**{**vars(form), "name": name, "members": tuple(sorted(members))})
    team, before = to_save(session, Team, team_id, lambda t: _shown_team(session, _team_details(session, t).form))
    team.name, team.lead_id = name, form.lead_id
    team.assign_mode, team.assign_in_hours = AssignMode(form.assign_mode).value, form.assign_in_hours
    session.flush()
    _set_members(session, TeamMember.team_id == team.id, {(team.id, m) for m in members})
    audit_save(session, actor, team_id, AuditKind.TEAM, team.id, name, before, _shown_team(session, form))
    return _team_details(session, team)


@command
def delete_team(session: Session, actor: Actor, team_id: int) -> None:
    """Delete a team nothing uses any more (its members stay agents)."""
    require_admin(actor)
    team = get_row(session, Team, team_id)
    assigned = count(session, Ticket, Ticket.team_id == team_id)
    topics = count(session, HelpTopic, HelpTopic.assign_team_id == team_id)
    refuse_in_use(
        team.name,
        {"ticket": assigned, "help topic that assigns to it": topics},
        "assign its tickets to another team or nobody and change those help topics first",
    )
    session.delete(team)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.TEAM, team_id, team.name)


# --- roles --------------------------------------------------------------------------------------------------------


def _role_details(session: Session, role: Role) -> RoleDetails:
    permissions = session.scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id))
    agents = session.scalar(
        select(func.count(func.distinct(AgentAccess.agent_id))).where(AgentAccess.role_id == role.id)
    )
    form = RoleForm(name=role.name, permissions=tuple(sorted(Perm(p) for p in permissions)))
    return RoleDetails(id=role.id, form=form, agents=agents or 0)


def _shown_role(form: RoleForm) -> dict[str, Shown]:
    return {"name": form.name, "allows": ", ".join(PERM_ACTIONS[p] for p in sorted(form.permissions)) or "nothing"}


@query
def list_roles(session: Session, actor: Actor) -> list[Ref]:
    """The roles, by name."""
    require_admin(actor)
    return listing(session, Role)


@query
def get_role(session: Session, actor: Actor, role_id: int) -> RoleDetails:
    """A role to edit: its permissions."""
    require_admin(actor)
    return _role_details(session, get_row(session, Role, role_id))


@command
def save_role(session: Session, actor: Actor, role_id: int | None, form: RoleForm) -> RoleDetails:
    """Create or change a role: its name and what it allows in each department it is given in."""
    require_admin(actor)
    name = unique_name(session, Role, form.name, role_id, "role")
    form = RoleForm(name=name, permissions=tuple(sorted(set(form.permissions))))
    role, before = to_save(session, Role, role_id, lambda r: _shown_role(_role_details(session, r).form))
    role.name = name
    session.execute(delete(RolePermission).where(RolePermission.role_id == role_id))
    session.flush()
    session.add_all(RolePermission(role_id=role.id, permission=p.value) for p in form.permissions)
    session.flush()
    audit_save(session, actor, role_id, AuditKind.ROLE, role.id, name, before, _shown_role(form))
    return _role_details(session, role)


@command
def delete_role(session: Session, actor: Actor, role_id: int) -> None:
    """Delete a role that no agent has in any department."""
    require_admin(actor)
    role = get_row(session, Role, role_id)
    agents = session.scalar(
        select(func.count(func.distinct(AgentAccess.agent_id))).where(AgentAccess.role_id == role_id)
    )
    refuse_in_use(role.name, {"agent": agents or 0}, "give them another role in those departments first")
    session.delete(role)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.ROLE, role_id, role.name)


# --- departments --------------------------------------------------------------------------------------------------


MAX_ESCALATE_MINUTES = 7 * 24 * 60  # a week before a due time at most


def _department_details(session: Session, department: Department) -> DepartmentDetails:
    form = DepartmentForm(
        name=department.name,
        public=department.public,
        manager_id=department.manager_id,
        sla_id=department.sla_id,
        schedule_id=department.schedule_id,
        signature=department.signature,
        mailbox_id=department.mailbox_id,
        time_required=department.time_required,
        tasks_required=department.tasks_required,
        assign_mode=AssignMode(department.assign_mode),
        assign_in_hours=department.assign_in_hours,
        reassign_away=department.reassign_away,
        escalate_minutes=department.escalate_minutes,
        escalate_priority_id=department.escalate_priority_id,
        escalate_to_id=department.escalate_to_id,
    )
    mine = Ticket.department_id == department.id
    total = count(session, Ticket, mine)
    return DepartmentDetails(id=department.id, form=form, tickets=total, open_tickets=_open_tickets(session, mine))


def _shown_department(session: Session, form: DepartmentForm) -> dict[str, Shown]:
    return {
        "name": form.name,
        "public": "yes" if form.public else "no",
        "manager": names_of(session, Agent, [form.manager_id]).get(form.manager_id or 0),
        "SLA plan": names_of(session, SlaPlan, [form.sla_id]).get(form.sla_id or 0),
        "schedule": names_of(session, Schedule, [form.schedule_id]).get(form.schedule_id or 0),
        "signature": _length(form.signature),
        "sends from": names_of(session, Mailbox, [form.mailbox_id]).get(form.mailbox_id or 0),
        "time spent required": "yes" if form.time_required else "no",
        "tasks done before closing": "yes" if form.tasks_required else "no",
        **_shown_assignment(form.assign_mode, form.assign_in_hours),
        "re-assign when away": "yes" if form.reassign_away else "no",
        "escalate": None if form.escalate_minutes is None else f"{form.escalate_minutes} minutes before due and at it",
        "escalate to priority": names_of(session, Priority, [form.escalate_priority_id]).get(
            form.escalate_priority_id or 0
        ),
        "escalate to department": names_of(session, Department, [form.escalate_to_id]).get(form.escalate_to_id or 0),
    }


@query
def list_departments(session: Session, actor: Actor) -> list[Ref]:
    """The departments, by name."""
    require_admin(actor)
    return listing(session, Department)


@query
def get_department(session: Session, actor: Actor, department_id: int) -> DepartmentDetails:
    """A department to edit, with how many tickets it has."""
    require_admin(actor)
    return _department_details(session, get_row(session, Department, department_id))


@command
def save_department(
    session: Session, actor: Actor, department_id: int | None, form: DepartmentForm
) -> DepartmentDetails:
    """Create or change a department: name, public (offered in the Support Center) or private, manager, default
    SLA plan, business-hours schedule, signature, the mailbox its mail is sent from, and whether agents must enter
    the time spent with each reply and note, and whether its tickets are resolved or closed only when their tasks are
    done."""
    require_admin(actor)
    name = unique_name(session, Department, form.name, department_id, "department")
    known(session, Agent, [form.manager_id], "manager", "agent")
    known(session, SlaPlan, [form.sla_id], "sla", "SLA plan")
    known(session, Schedule, [form.schedule_id], "schedule", "schedule")
    known(session, Mailbox, [form.mailbox_id], "mailbox_id", "mailbox")
    known(session, Priority, [form.escalate_priority_id], "escalate_priority_id", "priority")
    known(session, Department, [form.escalate_to_id], "escalate_to_id", "department")
    if form.escalate_minutes is not None and not 0 <= form.escalate_minutes <= MAX_ESCALATE_MINUTES:
        raise Invalid(
            f"Escalate from 0 to {MAX_ESCALATE_MINUTES:,} minutes before a due time.",
            {"escalate_minutes": f"Enter 0 to {MAX_ESCALATE_MINUTES:,} minutes."},
        )
    if department_id is not None and form.escalate_to_id == department_id:
        raise Invalid(
            "A department cannot escalate its tickets to itself.",
            {"escalate_to_id": "Choose another department, or none."},
        )
    signature = _signature(form.signature)
    form = DepartmentForm(**{**vars(form), "name": name, "signature": signature})
    department, before = to_save(
        session, Department, department_id, lambda d: _shown_department(session, _department_details(session, d).form)
    )
    department.name, department.public, department.manager_id = name, form.public, form.manager_id
    department.sla_id, department.schedule_id = form.sla_id, form.schedule_id
    department.signature, department.mailbox_id = signature, form.mailbox_id
    department.time_required, department.tasks_required = form.time_required, form.tasks_required
    department.assign_mode, department.assign_in_hours = AssignMode(form.assign_mode).value, form.assign_in_hours
    department.reassign_away, department.escalate_minutes = form.reassign_away, form.escalate_minutes
    department.escalate_priority_id, department.escalate_to_id = form.escalate_priority_id, form.escalate_to_id
    session.flush()
    after = _shown_department(session, form)
    audit_save(session, actor, department_id, AuditKind.DEPARTMENT, department.id, name, before, after)
    return _department_details(session, department)


MOVE_CHUNK = 500  # tickets moved per transaction: each one wholly, and no transaction long enough to hold others up


@command
def _move_some(session: Session, actor: Actor, from_id: int, to_id: int) -> int:
    """Transfer up to MOVE_CHUNK of the department's tickets, each as a transfer is (its event, feed row, alerts)."""
    require_admin(actor)
    ids = list(
        session.scalars(select(Ticket.id).where(Ticket.department_id == from_id).order_by(Ticket.id).limit(MOVE_CHUNK))
    )
    source = get_row(session, Department, from_id)
    for ticket_id in ids:
        within(tickets.transfer)(session, actor, ticket_id, to_id, note=f"Moved with all of {source.name}'s tickets.")
    return len(ids)


def move_department_tickets(db: Database, actor: Actor, from_id: int, to_id: int) -> int:
    """Transfer every ticket of a department to another (so that it can be deleted); how many. A few hundred per
    transaction, so that nothing waits long on a big department; were it interrupted, the tickets moved are moved
    wholly and running it again moves the rest."""
    if from_id == to_id:
        raise Invalid("Choose another department to move the tickets to.", {"to": "Choose another department."})
    moved = 0
    while count := _move_some(db, actor, from_id, to_id):
        moved += count
    return moved


@command
def delete_department(session: Session, actor: Actor, department_id: int) -> None:
    """Delete a department no ticket, help topic or mailbox uses (its agents lose their role there)."""
    require_admin(actor)
    department = get_row(session, Department, department_id)
    if settings.get(session, "ticket.default_department_id") == department_id:
        raise Invalid(f"{department.name} is the default department for new tickets: make another the default first.")
    mine = Ticket.department_id == department_id
    uses = {
        "ticket": count(session, Ticket, mine),
        "help topic": count(session, HelpTopic, HelpTopic.department_id == department_id),
        "mailbox": count(session, Mailbox, Mailbox.department_id == department_id),
    }
    refuse_in_use(
        department.name,
        uses,
        "move its tickets to another department (Move tickets…) and change those help topics and mailboxes first, "
        "or make it private",
    )
    try:
        with session.begin_nested():
            session.delete(department)
    except IntegrityError as error:  # used since the counts were read, by a concurrent transaction
        raise Invalid(f"{department.name} came into use meanwhile: look again.") from error
    audit.record(session, actor, AuditAction.DELETED, AuditKind.DEPARTMENT, department_id, department.name)


# --- a department's members (administrators, and the department's manager) -------------------------------------


@query
def managed_departments(session: Session, actor: Actor) -> list[Ref]:
    """The departments whose members and canned responses the actor may handle: every one for an administrator,
    a manager's own, none for others."""
    departments = managed(session, actor)
    return [d for d in listing(session, Department) if departments is None or d.id in departments]


def _members(session: Session, department: Department) -> DepartmentMembers:
    rows = session.execute(
        select(Agent.id, Agent.name, Role.id, Role.name)
        .join(AgentAccess, AgentAccess.agent_id == Agent.id)
        .join(Role, Role.id == AgentAccess.role_id)
        .where(AgentAccess.department_id == department.id)
        .order_by(Agent.name)
    )
    active = session.execute(select(Agent.id, Agent.name).where(Agent.active).order_by(Agent.name))
    return DepartmentMembers(
        department=Ref(department.id, department.name),
        members=tuple(Member(Ref(a, an), Ref(r, rn)) for a, an, r, rn in rows),
        agents=tuple(Ref(i, n) for i, n in active),
        roles=tuple(listing(session, Role)),
    )


@query
def department_members(session: Session, actor: Actor, department_id: int) -> DepartmentMembers:
    """A department's members: every active agent with their role there, or none."""
    require_manager(session, actor, department_id)
    return _members(session, get_row(session, Department, department_id))


@command
def set_members(
    session: Session, actor: Actor, department_id: int, members: tuple[MemberForm, ...]
) -> DepartmentMembers:
    """Make the department's members exactly these agents, each with their role, in one change. A manager does
    this for their own department, never for themselves: their own access is an administrator's to change."""
    require_manager(session, actor, department_id)
    department = get_row(session, Department, department_id)
    wanted = {m.agent_id: m.role_id for m in members}
    if len(wanted) != len(members):
        raise Invalid("Give each agent one role in the department.", {"members": "An agent is listed twice."})
    known(session, Agent, wanted, "members", "agent")
    known(session, Role, wanted.values(), "members", "role")
    have = {
        a.agent_id: a for a in session.scalars(select(AgentAccess).where(AgentAccess.department_id == department_id))
    }
    changed = {
        agent for agent in wanted.keys() | have.keys() if wanted.get(agent) != getattr(have.get(agent), "role_id", None)
    }
    me = actor.id if isinstance(actor, AgentActor) and not actor.is_admin else None
    if me in changed:
        raise PermissionDenied("You cannot change your own access: ask an administrator.")
    roles = names_of(session, Role, [*wanted.values(), *(a.role_id for a in have.values())])
    agents = names_of(session, Agent, changed)
    for agent_id in sorted(changed):
        before = roles.get(have[agent_id].role_id) if agent_id in have else None
        after = roles.get(wanted[agent_id]) if agent_id in wanted else None
        if agent_id not in wanted:
            session.delete(have[agent_id])
        elif agent_id in have:
            have[agent_id].role_id = wanted[agent_id]
        else:
            session.add(AgentAccess(agent_id=agent_id, department_id=department_id, role_id=wanted[agent_id]))
        change = {f"access in {department.name}": (before, after)}
        audit.record(session, actor, AuditAction.CHANGED, AuditKind.AGENT, agent_id, agents[agent_id], change)
    session.flush()
    return _members(session, department)
