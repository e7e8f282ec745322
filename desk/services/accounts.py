"""Agents and end users: creating them, argon2id passwords, sign-in with lockout and an audit of every attempt."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, CompoundSelect, func, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import NAME_LENGTH, PHONE_LENGTH, is_one_line, literal, one_line
from desk.domain.permissions import RIGHT_ACTIONS, Actor, AgentActor, Perm, Right, SystemActor, UserActor
from desk.domain.views import PersonView
from desk.services import directory, settings
from desk.services.base import command, now, query, require_agent, within
from desk.services.views import person
from desk.storage.db import Database
from desk.storage.models import (
    Agent,
    AgentAccess,
    Department,
    LoginAudit,
    Organization,
    Role,
    RolePermission,
    TeamMember,
    User,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Each argon2id hash takes 64 MiB and a core for ~50 ms: a burst of sign-ins (an office arriving at 9, 50 Desks
# reconnecting after a restart) would otherwise take memory by the gigabyte. Extra ones wait their turn.
_hashing = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
MIN_PASSWORD = 8
# One answer to every refused end-user sign-in (unknown, unconfirmed, wrong or locked), so it tells nobody which.
USER_REFUSAL = (
    "Wrong email address or password. After {failures} failed attempts an account waits {minutes} minutes; "
    "“Forgot your password?” opens it at once."
)
AGENT_REFUSAL = "Wrong username or password."


def normalize_email(email: str) -> str:
    """The address lower-cased; Invalid unless it is one printable address a mail header can carry."""
    address = email.strip().lower()
    if not _EMAIL.match(address) or not address.isprintable() or len(address) > 254:
        raise Invalid(f"“{email}” is not an email address.", {"email": "Enter an address like name@example.com."})
    return address


def person_errors(name: str | None, phone: str | None = None, organization: str | None = None) -> dict[str, str]:
    """What to fix in a person's name, phone number and organization (each checked when given): one line each,
    since they go into mail headers and one-line fields, and within its column."""
    errors = {}
    for field, value, limit in (
        ("name", name, NAME_LENGTH),
        ("phone", phone, PHONE_LENGTH),
        ("organization", organization, NAME_LENGTH),
    ):
        if value is None:
            continue
        if not is_one_line(value):
            errors[field] = "Use one line, without control characters."
        elif len(value.strip()) > limit:
            errors[field] = f"Use at most {limit} characters."
    return errors


def check_person(name: str | None, phone: str | None = None, organization: str | None = None) -> None:
    """Invalid, naming each field to fix, unless `person_errors` finds nothing."""
    if errors := person_errors(name, phone, organization):
        raise Invalid(" ".join(f"The {field}: {problem}" for field, problem in errors.items()), errors)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            f"The password is too short: use at least {MIN_PASSWORD} characters.",
            {"password": f"Use at least {MIN_PASSWORD} characters."},
        )
    return _hash(password)


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        return False
    try:
        with _hashing:
            return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def organization_for(session: Session, address: str) -> int | None:
    """The organization whose mail domains hold this address's domain: a new end user joins it."""
    domain = literal(address.rsplit("@", 1)[-1])
    spaced = " " + func.coalesce(Organization.domains, "") + " "
    return session.scalar(
        select(Organization.id).where(spaced.like(f"% {domain} %", escape="\\")).order_by(Organization.id).limit(1)
    )


def find_or_create_user(session: Session, email: str, name: str | None, phone: str | None = None) -> User:
    """The end user with this address, created if unknown (addresses compare case-insensitively)."""
    address = normalize_email(email)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        check_person(name, phone)
        display = (name or "").strip() or address.split("@")[0][:NAME_LENGTH]
        try:
            with session.begin_nested():
                user = User(email=address, name=display, phone=(phone or "").strip() or None, created_at=now(),
                            organization_id=organization_for(session, address))  # fmt: skip
                session.add(user)
        except IntegrityError:  # created by a concurrent transaction that has committed since: use that one
            user = session.scalar(select(User).where(User.email == address))
            assert user is not None
    if user.banned:
        raise PermissionDenied(f"{address} is banned from opening tickets.")
    return user


def require_right(actor: Actor, right: Right) -> None:
    if isinstance(actor, SystemActor):
        return
    agent = require_agent(actor)
    if not agent.is_admin and right not in agent.rights:
        raise PermissionDenied(f"Only agents allowed to {RIGHT_ACTIONS[right]} can do this.")


@command
def add_agent(
    session: Session,
    actor: Actor,
    *,
    username: str,
    name: str,
    email: str,
    password: str,
    access: Mapping[str, str] | None = None,
    rights: Iterable[Right] = (),
    teams: Iterable[int] = (),
) -> AgentActor:
    """Create an agent; `access` maps department names to role names."""
    require_right(actor, Right.ADMIN)
    login, name, address = agent_identity(session, username, name, email)
    agent = Agent(
        username=login,
        name=name,
        email=address,
        password_hash=hash_password(password),
        rights=" ".join(sorted(right.value for right in rights)),
        created_at=now(),
    )
    session.add(agent)
    session.flush()
    for department_name, role_name in (access or {}).items():
        department = session.scalar(select(Department).where(Department.name == department_name))
        role = session.scalar(select(Role).where(Role.name == role_name))
        if department is None or role is None:
            raise Invalid(f"Unknown department “{department_name}” or role “{role_name}”.")
        session.add(AgentAccess(agent_id=agent.id, department_id=department.id, role_id=role.id))
    for team_id in teams:
        session.add(TeamMember(team_id=team_id, agent_id=agent.id))
    session.flush()
    return agent_actor(session, agent)


def agent_identity(
    session: Session, username: str, name: str, email: str, *, agent_id: int | None = None
) -> tuple[str, str, str]:
    """The username, name and address an agent (`agent_id`, or a new one) is saved with; Invalid naming each field
    to fix, a username or address another agent has included."""
    login = username.strip().lower()
    errors: dict[str, str] = {}
    if not _USERNAME.match(login):
        errors["username"] = f"“{username}” cannot be a username: use 2–64 lower-case letters, digits, ., - or _."
    if not name.strip():
        errors["name"] = "Enter the agent's name."
    elif problem := person_errors(name).get("name"):
        errors["name"] = f"The name: {problem}"
    try:
        address = normalize_email(email)
    except Invalid as error:
        errors["email"] = str(error)
    if not errors:
        others = select(Agent.username, Agent.email).where(
            (Agent.username == login) | (Agent.email == address), Agent.id != (agent_id or 0)
        )
        for other_login, other_address in session.execute(others):
            if other_login == login:
                errors["username"] = f"An agent with username {login} exists already."
            if other_address == address:
                errors["email"] = f"An agent with address {address} exists already."
    if errors:
        raise Invalid(" ".join(errors.values()), errors)
    return login, name.strip(), address


def set_access(session: Session, agent_id: int, wanted: Mapping[int, int]) -> None:
    """Give the agent exactly these roles (department id -> role id), changing only the rows that differ."""
    wanted = dict(wanted)
    for row in session.scalars(select(AgentAccess).where(AgentAccess.agent_id == agent_id)):
        if row.department_id not in wanted:
            session.delete(row)
        else:
            row.role_id = wanted.pop(row.department_id)
    session.add_all(AgentAccess(agent_id=agent_id, department_id=d, role_id=r) for d, r in wanted.items())


@command
def add_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    phone: str | None = None,
    password: str | None = None,
    organization: str | None = None,
) -> PersonView:
    """Create an end user (with a Support Center password when given)."""
    require_right(actor, Right.USER_MANAGE)
    address = normalize_email(email)
    check_person(name, phone, organization)
    organization = (organization or "").strip()
    if session.scalar(select(User.id).where(User.email == address)):
        raise Invalid(f"An end user with address {address} exists already.", {"email": "Use another address."})
    org_id = organization_for(session, address)
    if organization:
        org = session.scalar(select(Organization).where(Organization.name == organization))
        if org is None:
            org = Organization(name=organization)
            session.add(org)
            session.flush()
        org_id = org.id
    user = User(
        email=address,
        name=name.strip() or address.split("@")[0][:NAME_LENGTH],
        phone=(phone or "").strip() or None,
        organization_id=org_id,
        password_hash=hash_password(password) if password else None,
        created_at=now(),
        email_confirmed_at=now() if password else None,  # the administrator vouches for the address
    )
    session.add(user)
    session.flush()
    return person(session, user)


def agent_actor(session: Session, agent: Agent) -> AgentActor:
    """The agent's access as one immutable value: role permissions per department, teams and rights."""
    grants = cast(Iterable[Grant], session.execute(grants_of(agent.id)))
    return actor_from(agent.id, agent.name, agent.rights, grants)


# What an agent's access is read from: (agent_id, department_id, permission, team_id) rows, one per permission in
# a department (permission None: the department without any), or one per team.
Grant = tuple[int, int | None, str | None, int | None]


def grants_of(agent_id: int | ColumnElement[int]) -> CompoundSelect[Any]:
    """The agent's grants in one statement: their departments' permissions (by role) and their teams."""
    access = (
        select(AgentAccess.agent_id, AgentAccess.department_id, RolePermission.permission, null().label("team_id"))
        .join(RolePermission, RolePermission.role_id == AgentAccess.role_id, isouter=True)
        .where(AgentAccess.agent_id == agent_id)
    )
    memberships = select(TeamMember.agent_id, null(), null(), TeamMember.team_id).where(TeamMember.agent_id == agent_id)
    return union_all(access, memberships)


def actor_from(agent_id: int, name: str, rights: str, grants: Iterable[Grant]) -> AgentActor:
    """The agent's access from their columns and their grants (rows as `grants_of` reads them)."""
    departments: dict[int, set[Perm]] = {}
    teams: set[int] = set()
    for _, department_id, permission, team_id in grants:
        if team_id is not None:
            teams.add(team_id)
        elif department_id is not None:
            granted = departments.setdefault(department_id, set())
            if permission is not None:
                granted.add(Perm(permission))
    return AgentActor(
        id=agent_id,
        name=name,
        departments={department: frozenset(perms) for department, perms in departments.items()},
        teams=frozenset(teams),
        rights=frozenset(Right(value) for value in rights.split()),
    )


def user_actor(session: Session, user: User) -> UserActor:
    org = session.get(Organization, user.organization_id) if user.organization_id else None
    return UserActor(
        id=user.id,
        name=user.name,
        email=user.email,
        organization_id=user.organization_id,
        sees_organization=bool(org and org.shares_tickets),
    )


@query
def agent_by_username(session: Session, username: str) -> AgentActor:
    """An agent's identity without a password check: for the CLI run by an administrator on the server."""
    agent = session.scalar(select(Agent).where(Agent.username == username.strip().lower()))
    if agent is None or not agent.active:
        raise NotFound(f"There is no active agent {username}.")
    return agent_actor(session, agent)


@query
def agent_named(session: Session, username: str) -> tuple[int, str]:
    """An agent's id and name, active or not: for the administrator's commands that (de)activate them."""
    agent = session.scalar(select(Agent).where(Agent.username == username.strip().lower()))
    if agent is None:
        raise NotFound(f"There is no agent {username}.")
    return agent.id, agent.name


def check_sign_in(
    session: Session,
    kind: str,
    principal: str,
    row: Agent | User | None,
    password: str,
    client_address: str | None = None,
) -> str | None:
    """Check a password, locking the account after repeated failures; every attempt lands in the login audit.

    Returns None on success, else what to tell the person (never whether the account exists).
    """
    at = now()
    max_failures, lockout = _lockout_policy(session)
    refusal = (
        AGENT_REFUSAL
        if kind == "agent"
        else USER_REFUSAL.format(failures=max_failures, minutes=int(lockout.total_seconds() // 60))
    )
    reason: str | None = None
    if (
        row is None
        or (isinstance(row, Agent) and not row.active)
        or (isinstance(row, User) and (row.banned or row.email_confirmed_at is None))
    ):
        reason = "unknown"
        _hash(password)  # as long as checking a password: the time must not tell who has an account
    elif (locked := _locked_for(row, at)) is not None:
        reason = "locked"
        _hash(password)
        if kind == "agent":  # staff are told; to the public a locked account looks like any refusal
            refusal = locked
    elif not verify_password(row.password_hash, password):
        reason = "password"
        _count_failure(session, row, at)
    else:
        _signed_in(row, at)
        if _hasher.check_needs_rehash(row.password_hash or ""):
            row.password_hash = _hash(password)
    _audit(session, at, kind, principal, reason, client_address)
    return None if reason is None else refusal


def _lockout_policy(session: Session) -> tuple[int, timedelta]:
    """How many failed sign-ins in a row lock an account, and for how long."""
    return (
        int(settings.get(session, "login.max_failures")),
        timedelta(minutes=int(settings.get(session, "login.lockout_minutes"))),
    )


def _locked_for(row: Agent | User, at: datetime) -> str | None:
    """What to tell a person whose account is locked at `at`; None when it is not."""
    if row.locked_until is None or row.locked_until <= at:
        return None
    minutes = max(1, round((row.locked_until - at).total_seconds() / 60))
    return f"Too many failed sign-ins: this account is locked for {minutes} more minute(s)."


def _count_failure(session: Session, row: Agent | User, at: datetime) -> None:
    max_failures, lockout = _lockout_policy(session)
    row.failed_logins += 1
    if row.failed_logins >= max_failures:
        row.locked_until, row.failed_logins = at + lockout, 0


def _signed_in(row: Agent | User, at: datetime) -> None:
    row.failed_logins, row.locked_until = 0, None
    if isinstance(row, Agent):
        row.last_login_at = at


def _audit(
    session: Session, at: datetime, kind: str, principal: str, reason: str | None, client_address: str | None
) -> None:
    # As typed, made one line and cut to its column: a sign-in form takes any text, which is refused, never fails.
    principal = one_line(principal)[:254]
    session.add(
        LoginAudit(
            at=at,
            principal_kind=kind,
            principal=principal,
            success=reason is None,
            reason=reason,
            client_address=client_address,
        )
    )


def _agent_named(session: Session, login: str) -> Agent | None:
    """The agent with this username; None for text no username has (nor any engine can look up: lone surrogates)."""
    if not is_one_line(login):
        return None
    return session.scalar(select(Agent).where(Agent.username == login))


# Sign-in commits its audit row and failure count even when it refuses, so it returns the refusal instead of raising.
@command
def _attempt_agent(session: Session, username: str, password: str, client_address: str | None) -> AgentActor | str:
    login = username.strip().lower()
    agent = _agent_named(session, login)
    refusal = check_sign_in(session, "agent", login, agent, password, client_address)
    if refusal is not None or agent is None:
        return refusal or AGENT_REFUSAL
    return agent_actor(session, agent)


def authenticate_agent(db: Database, username: str, password: str, *, client_address: str | None = None) -> AgentActor:
    """The one sign-in of agents (the window, `desk serve`): with Desk's password, or with the directory's when the
    config file has [directory] settings (the agents its local_agents names keep Desk's). Every attempt is audited;
    a refusal raises PermissionDenied with what to tell the person."""
    login = username.strip().lower()
    conf = directory.configured()
    if conf is None or login in conf.local_agents:
        result = _attempt_agent(db, username, password, client_address)
    elif (refusal := _refuse_locked(db, login, client_address)) is not None:
        result = refusal
    else:
        # Outside any transaction: the directory may take seconds to answer, or its timeout to fail.
        answer = _ask_directory(conf, username.strip(), password)
        result = _attempt_directory(db, login, answer, conf, client_address)
    if isinstance(result, str):
        raise PermissionDenied(result)
    return result


# --- sign-in with the directory -------------------------------------------------------------------------------------


@command
def _refuse_locked(session: Session, login: str, client_address: str | None) -> str | None:
    """The audited refusal of a locked agent, given before their password reaches the directory (which may lock the
    directory account in turn); None when no agent with this username is locked."""
    at = now()
    agent = _agent_named(session, login)
    refusal = _locked_for(agent, at) if agent is not None else None
    if refusal is not None:
        _audit(session, at, "agent", login, "locked", client_address)
    return refusal


@command
def _attempt_directory(
    session: Session,
    login: str,
    answer: directory.Answer,
    conf: directory.DirectorySettings,
    client_address: str | None,
) -> AgentActor | str:
    """What the directory's answer means in Desk, audited like any sign-in: the agent it maps to (created if the
    settings say so), locked and deactivated agents refused, wrong passwords counted, access from the groups."""
    at = now()
    account = answer.account
    agent = _directory_agent(session, account) if account is not None else _agent_named(session, login)
    reason: str | None
    refusal = AGENT_REFUSAL
    if agent is not None and (locked := _locked_for(agent, at)) is not None:
        reason, refusal = "locked", locked
    elif answer.outcome is directory.Outcome.UNAVAILABLE:  # not the person's fault: nothing counted
        reason, refusal = "directory", f"Desk cannot check your password: {answer.problem}."
    elif answer.outcome is not directory.Outcome.ACCEPTED or account is None:
        reason = answer.outcome.value
        if answer.outcome is directory.Outcome.WRONG_PASSWORD and agent is not None:
            _count_failure(session, agent, at)
    elif agent is None and not conf.create_agents:
        reason = "unmapped"
        refusal = (
            "Your directory account is not a Desk agent: ask a Desk administrator to add you with your directory "
            "username or address."
        )
    elif agent is not None and not agent.active:
        reason, refusal = "inactive", "Your Desk account is deactivated: ask a Desk administrator."
    else:
        try:
            with session.begin_nested():  # all or nothing; the audit row stays either way
                agent = agent or _create_directory_agent(session, account)
                _apply_groups(session, agent, conf, account.groups)
        except Invalid as error:
            reason, refusal = "mapping", f"Desk cannot sign you in: {error} Ask a Desk administrator."
        else:
            reason = None
            _signed_in(agent, at)
    _audit(session, at, "agent", login, reason, client_address)
    if reason is not None or agent is None:
        return refusal
    return agent_actor(session, agent)


def _directory_agent(session: Session, account: directory.Account) -> Agent | None:
    """The agent a directory account is: the one with its username, else the one with its address."""
    for column, value in ((Agent.username, account.username), (Agent.email, account.mail)):
        if value and (agent := session.scalar(select(Agent).where(column == value.strip().lower()))) is not None:
            return agent
    return None


def _create_directory_agent(session: Session, account: directory.Account) -> Agent:
    """A new agent with the account's username, name and address. Its Desk password is random and never shown:
    the directory checks this agent's password."""
    if not account.mail:
        raise Invalid("your directory account has no address, which an agent needs.")
    name = one_line(account.name or account.username or account.mail)[:NAME_LENGTH]
    created = within(add_agent)(
        session,
        SystemActor(),
        username=account.username or "",
        name=name,
        email=account.mail,
        password=secrets.token_urlsafe(32),
    )
    return session.get_one(Agent, created.id)


def _access_names(session: Session, agent_id: int) -> dict[str, str]:
    """The agent's role in each of their departments, by name."""
    rows = session.execute(
        select(Department.name, Role.name)
        .join(AgentAccess, AgentAccess.department_id == Department.id)
        .join(Role, Role.id == AgentAccess.role_id)
        .where(AgentAccess.agent_id == agent_id)
    )
    return {department: role for department, role in rows}


def _apply_groups(session: Session, agent: Agent, conf: directory.DirectorySettings, groups: tuple[str, ...]) -> None:
    """Set what the group mapping decides (the rights and departments it names) from the groups the account is in."""
    if not conf.groups:
        return
    rights, access = conf.access_for(
        groups, frozenset(Right(value) for value in agent.rights.split()), _access_names(session, agent.id)
    )
    departments = {name: id_ for name, id_ in session.execute(select(Department.name, Department.id))}
    roles = {name: id_ for name, id_ in session.execute(select(Role.name, Role.id))}
    missing = sorted((access.keys() - departments.keys()) | (set(access.values()) - roles.keys()))
    if missing:
        raise Invalid(f"the directory's group mapping names {', '.join(missing)}, which Desk does not have.")
    agent.rights = " ".join(sorted(right.value for right in rights))
    set_access(session, agent.id, {departments[name]: roles[role] for name, role in access.items()})


@dataclass(frozen=True)
class DirectoryCheck:
    """What signing in with the directory would do, for `desk directory test`: the directory's answer, the agent
    it maps to (None: none yet) and that agent's access after the sign-in."""

    answer: directory.Answer
    agent: str | None
    active: bool
    rights: frozenset[Right]
    access: Mapping[str, str]


def check_directory(
    db: Database, actor: Actor, conf: directory.DirectorySettings, username: str, password: str
) -> DirectoryCheck:
    """Ask the directory as a sign-in does and say what Desk would make of it, changing nothing (no audit, no
    failure counted): for administrators setting up the directory sign-in."""
    require_right(actor, Right.ADMIN)
    return _directory_check(db, conf, _ask_directory(conf, username.strip(), password))


def _ask_directory(conf: directory.DirectorySettings, username: str, password: str) -> directory.Answer:
    from desk.services import directory_ldap  # ldap3 and its imports: only once a directory is asked

    return directory_ldap.check_password(conf, username, password)


@query
def _directory_check(session: Session, conf: directory.DirectorySettings, answer: directory.Answer) -> DirectoryCheck:
    agent = _directory_agent(session, answer.account) if answer.account is not None else None
    rights = frozenset(Right(value) for value in agent.rights.split()) if agent is not None else frozenset()
    access = _access_names(session, agent.id) if agent is not None else {}
    if answer.account is not None:
        rights, access = conf.access_for(answer.account.groups, rights, access)
    return DirectoryCheck(answer, agent.username if agent else None, agent is not None and agent.active, rights, access)
