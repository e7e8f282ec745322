"""Directory sign-in: an agent's password checked by the office's LDAP directory (Active Directory, OpenLDAP).

The `[directory]` table of the config file on the machine that runs the services (the server, or a single seat)
says where the directory is, how to find an account and which groups give which Desk access. This module reads
that table and says what a directory's answer is; `directory_ldap` asks over LDAP; `accounts.authenticate_agent`
decides what an answer means for Desk (which agent, lockout, audit, access). A password only travels over TLS with
the server's certificate checked (LDAPS or StartTLS), except to a directory on the same machine.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from desk import config
from desk.domain.errors import Invalid, NotFound
from desk.domain.hosts import is_loopback
from desk.domain.permissions import Right

PLACEHOLDER = re.compile(r"\{(username|dn)\}")
_TYPES: Mapping[str, type] = {
    "url": str,
    "start_tls": bool,
    "ca_file": str,
    "bind_dn": str,
    "bind_password": str,
    "user_dn": str,
    "search_base": str,
    "search_filter": str,
    "username_attribute": str,
    "mail_attribute": str,
    "name_attribute": str,
    "groups": dict,
    "group_filter": str,
    "create_agents": bool,
    "local_agents": list,
    "timeout": int,
}
_REQUIRED = ("url", "search_base", "search_filter")

Grant = Right | tuple[str, str]  # an agent-wide right, or (department, role) as `desk agent add --access` takes it


@dataclass(frozen=True)
class DirectorySettings:
    """The `[directory]` table, checked. Group grants keep the file's order: the first group listed that gives
    a role in a department decides it."""

    url: str
    search_base: str
    search_filter: str
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = field(default=None, repr=False)  # never in a log or a traceback
    user_dn: str | None = None
    username_attribute: str = "uid"
    mail_attribute: str = "mail"
    name_attribute: str = "cn"
    groups: tuple[tuple[str, tuple[Grant, ...]], ...] = ()
    group_filter: str = "(member={dn})"
    create_agents: bool = False
    local_agents: frozenset[str] = frozenset()
    timeout: int = 5  # seconds for each step (connect, TLS, each answer); ldap3 takes whole seconds

    def access_for(
        self, groups: tuple[str, ...], rights: frozenset[Right], access: Mapping[str, str]
    ) -> tuple[frozenset[Right], dict[str, str]]:
        """An agent's rights and role per department after signing in as a member of `groups`: what the mapping
        names (rights, departments) the groups decide, the rest stays as set in Desk."""
        managed_rights: set[Right] = set()
        managed_departments: set[str] = set()
        granted_rights: set[Right] = set()
        granted: dict[str, str] = {}
        for group, grants in self.groups:
            for grant in grants:
                if isinstance(grant, Right):
                    managed_rights.add(grant)
                    if group in groups:
                        granted_rights.add(grant)
                else:
                    managed_departments.add(grant[0])
                    if group in groups:
                        granted.setdefault(*grant)
        kept = {department: role for department, role in access.items() if department not in managed_departments}
        return frozenset((rights - managed_rights) | granted_rights), kept | granted


def configured() -> DirectorySettings | None:
    """The config file's `[directory]` settings; None when it has none (agents then sign in with Desk's passwords).
    Invalid, saying what to fix, when they are wrong: a sign-in must not quietly fall back to Desk's passwords."""
    path = config.config_file()
    try:
        table = config.config_table("directory")
    except (tomllib.TOMLDecodeError, OSError) as error:
        raise Invalid(f"Desk cannot read its config file {path}: {error}") from error
    return None if table is None else load(table, str(path))


def required() -> DirectorySettings:
    """The `[directory]` settings, or NotFound saying where they go."""
    settings = configured()
    if settings is None:
        raise NotFound(f"{config.config_file()} has no [directory] settings: agents sign in with Desk's passwords.")
    return settings


def load(table: Any, source: str) -> DirectorySettings:
    """Check a `[directory]` table (from `source`, for messages)."""

    def wrong(problem: str) -> Invalid:
        return Invalid(f"The [directory] settings in {source}: {problem}")

    if not isinstance(table, dict):
        raise wrong("directory must be a table ([directory]).")
    for key, value in table.items():
        if key not in _TYPES:
            raise wrong(f"unknown setting {key!r} (known: {', '.join(_TYPES)}).")
        if not isinstance(value, _TYPES[key]) or (isinstance(value, bool) and _TYPES[key] is not bool):
            raise wrong(f"{key} has the wrong type ({type(value).__name__}).")
    for key in _REQUIRED:
        if not table.get(key):
            raise wrong(f"{key} is missing.")
    values = dict(table)
    url = urlsplit(values["url"])
    if url.scheme not in ("ldap", "ldaps") or not url.hostname:
        raise wrong(f"url must look like ldaps://dc1.example.com or ldap://dc1.example.com, not {values['url']!r}.")
    if url.scheme == "ldaps" and values.get("start_tls"):
        raise wrong("start_tls is for ldap:// URLs; an ldaps:// connection is encrypted from the start.")
    if url.scheme == "ldap" and not values.get("start_tls") and not is_loopback(url.hostname):
        raise wrong(
            "passwords would cross the network unencrypted: use ldaps://, or ldap:// with start_tls = true "
            "(plain ldap:// only reaches a directory on this machine)."
        )
    if values.get("ca_file") and not Path(values["ca_file"]).is_file():
        raise wrong(f"ca_file {values['ca_file']} is not a file.")
    if values.get("user_dn") and values.get("bind_dn"):
        raise wrong("use either bind_dn (search for the account, then bind as it) or user_dn (bind at once).")
    if bool(values.get("bind_dn")) != bool(values.get("bind_password")):
        raise wrong("bind_dn and bind_password go together.")
    for key in ("search_filter", "user_dn", "group_filter"):
        if key in values and not set(PLACEHOLDER.findall(values[key])) & (
            {"username", "dn"} if key == "group_filter" else {"username"}
        ):
            raise wrong(f"{key} must contain {{username}}{' or {dn}' if key == 'group_filter' else ''}.")
    values["groups"] = tuple((dn, _grants(dn, value, wrong)) for dn, value in values.get("groups", {}).items())
    values["local_agents"] = frozenset(str(name).strip().lower() for name in values.get("local_agents", ()))
    if not 1 <= values.get("timeout", 5) <= 120:
        raise wrong("timeout is in whole seconds, from 1 to 120.")
    return DirectorySettings(**values)


def _grants(group: str, value: Any, wrong: Callable[[str], Invalid]) -> tuple[Grant, ...]:
    """A group's grants: "admin" (or another right) and "Department=Role", one or a list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        raise wrong(f'group {group!r} must map to "Department=Role", a right such as "admin", or a list of them.')
    grants: list[Grant] = []
    for item in items:
        if item in {right.value for right in Right}:
            grants.append(Right(item))
        elif "=" in item and all(part.strip() for part in item.split("=", 1)):
            department, role = item.split("=", 1)
            grants.append((department.strip(), role.strip()))
        else:
            rights = ", ".join(right.value for right in Right)
            raise wrong(f'group {group!r}: {item!r} is neither "Department=Role" nor a right ({rights}).')
    return tuple(grants)


# --- what the directory answers --------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG_PASSWORD = "password"
    UNKNOWN = "unknown"  # no such account (or more than one)
    UNAVAILABLE = "unavailable"  # the directory could not be asked: down, untrusted, misconfigured


@dataclass(frozen=True)
class Account:
    """A directory account as Desk maps it: by username, else by mail."""

    dn: str
    username: str | None
    mail: str | None
    name: str | None
    groups: tuple[str, ...] = ()  # the mapped groups it is in (read once its password is proved)


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    account: Account | None = None  # whom the directory found, when it says
    problem: str = ""  # why it could not be asked (UNAVAILABLE), in words for the person signing in
